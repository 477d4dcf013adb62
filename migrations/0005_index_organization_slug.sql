-- Candidate release (contract): build the index that will back the UNIQUE
-- constraint. CONCURRENTLY keeps writes flowing during the build; it cannot
-- run inside a transaction, so it is alone in its migration. If the build
-- fails it leaves an INVALID index: drop it and run this migration again.
CREATE UNIQUE INDEX CONCURRENTLY organizations_slug_key ON organizations (slug);
