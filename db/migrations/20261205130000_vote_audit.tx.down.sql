DROP TRIGGER IF EXISTS votes_excluded_event ON votes;
--bun:split
DROP TABLE IF EXISTS vote_audits;
--bun:split
DROP TABLE IF EXISTS vote_exclusions;
--bun:split
ALTER TABLE votes DROP COLUMN IF EXISTS excluded_reason,
    DROP COLUMN IF EXISTS excluded_by,
    DROP COLUMN IF EXISTS excluded_at;
--bun:split
DROP INDEX IF EXISTS users_signup_network;
--bun:split
DROP INDEX IF EXISTS users_email_key_key;
--bun:split
-- email_verified_at may belong to email confirmation too: it stays.
ALTER TABLE users DROP COLUMN IF EXISTS signup_network,
    DROP COLUMN IF EXISTS email_key;
