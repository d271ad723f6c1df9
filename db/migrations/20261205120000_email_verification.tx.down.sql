DROP TRIGGER IF EXISTS votes_counted_event ON votes;
--bun:split
DROP TABLE IF EXISTS outbox_mail;
--bun:split
DROP TABLE IF EXISTS email_verifications;
--bun:split
DROP INDEX IF EXISTS votes_pending_user;
--bun:split
ALTER TABLE votes DROP COLUMN IF EXISTS pending;
--bun:split
ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at;
