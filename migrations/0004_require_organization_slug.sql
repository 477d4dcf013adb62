-- Candidate release (contract): make slug required. Every release still
-- running writes slug (v1.1.0 onwards) and v1.2.0 backfilled the old rows, so
-- nobody is left writing NULL.
--
-- A plain SET NOT NULL would scan the whole table under ACCESS EXCLUSIVE,
-- blocking reads and writes. Instead: a NOT VALID check binds new writes at
-- once with a brief lock; VALIDATE scans under SHARE UPDATE EXCLUSIVE, which
-- lets reads and writes continue; SET NOT NULL then uses the validated check
-- instead of scanning (PostgreSQL 12+), and the check is no longer needed.
ALTER TABLE organizations
    ADD CONSTRAINT organizations_slug_not_null CHECK (slug IS NOT NULL) NOT VALID;
ALTER TABLE organizations VALIDATE CONSTRAINT organizations_slug_not_null;
ALTER TABLE organizations ALTER COLUMN slug SET NOT NULL;
ALTER TABLE organizations DROP CONSTRAINT organizations_slug_not_null;
