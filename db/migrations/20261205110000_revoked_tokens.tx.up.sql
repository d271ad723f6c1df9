-- Access tokens signed out before they expire, shared by every API
-- instance. A row is needed only until its token would have expired.
CREATE TABLE IF NOT EXISTS revoked_tokens (
    id         uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS revoked_tokens_expires ON revoked_tokens (expires_at);
--bun:split
-- Every revocation is announced on the revoked_tokens channel, at commit,
-- so each instance refuses the token from memory moments later.
CREATE OR REPLACE FUNCTION notify_revoked_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('revoked_tokens', NEW.id::text);
    RETURN NULL;
END
$$;
--bun:split
DROP TRIGGER IF EXISTS revoked_tokens_event ON revoked_tokens;
--bun:split
CREATE TRIGGER revoked_tokens_event AFTER INSERT ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_revoked_token();
