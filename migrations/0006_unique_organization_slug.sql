-- Candidate release (contract): turn the index into the UNIQUE constraint.
-- USING INDEX reuses the index built concurrently above, so this takes only a
-- brief lock instead of building a new index while blocking writes.
ALTER TABLE organizations
    ADD CONSTRAINT organizations_slug_unique UNIQUE USING INDEX organizations_slug_key;
