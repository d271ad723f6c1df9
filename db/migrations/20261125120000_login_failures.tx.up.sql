-- Failed logins per account, shared by every API instance. The key is the
-- SHA-256 of the lower-cased email: attempts on unknown emails are counted
-- like the others (a lockout says nothing about which emails exist) and no
-- email typed by a stranger is stored.
CREATE TABLE login_failures (
    email_hash   bytea PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL
);
-- Expired windows are pruned by age.
CREATE INDEX login_failures_window ON login_failures (window_start);
