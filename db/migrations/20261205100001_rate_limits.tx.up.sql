-- Rate limits that hold for the whole site, shared by every API instance
-- (failed logins and login attempts per address, signups per address ...).
-- One row per (scope, key) holds a token bucket as the time at which it
-- is full again (GCRA's theoretical arrival time): a row whose time has
-- passed is the same as no row and is pruned. The key is the SHA-256 of
-- what is counted (an address, an email), so no email typed by a
-- stranger is stored.
CREATE TABLE IF NOT EXISTS rate_limits (
    scope text NOT NULL,
    key   bytea NOT NULL,
    tat   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS rate_limits_tat ON rate_limits (tat);
