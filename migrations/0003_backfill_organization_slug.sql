-- Release v1.2.0 (backfill): v1.1.0 code already writes slug on every insert
-- and update, so once v1.1.0 was fully deployed no writer leaves it NULL and
-- this backfill misses nothing. The WHERE clause makes it safe to rerun and to
-- split into batches (add "AND id BETWEEN $1 AND $2" for large tables).
UPDATE organizations SET slug = lower(name) WHERE slug IS NULL;
