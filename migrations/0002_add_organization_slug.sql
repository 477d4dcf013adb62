-- Release v1.1.0 (expand): add slug as a nullable column. The release still
-- serving traffic does not know it and keeps inserting rows without it, so it
-- must accept NULL for now. No default, so no rewrite and only a brief lock.
ALTER TABLE organizations ADD COLUMN slug text;
