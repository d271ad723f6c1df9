DROP TRIGGER IF EXISTS revoked_tokens_event ON revoked_tokens;
--bun:split
DROP FUNCTION IF EXISTS notify_revoked_token();
--bun:split
DROP TABLE IF EXISTS revoked_tokens;
