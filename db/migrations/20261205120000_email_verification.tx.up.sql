-- A player's email is confirmed once a link sent to it is opened; NULL is
-- unconfirmed.
ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at timestamptz;
--bun:split
-- A vote of an unconfirmed account, recorded but left out of counts and
-- rankings until its voter confirms the email.
ALTER TABLE votes ADD COLUMN IF NOT EXISTS pending boolean NOT NULL DEFAULT false;
--bun:split
CREATE INDEX IF NOT EXISTS votes_pending_user ON votes (user_id) WHERE pending;
--bun:split
-- Confirmation links: only the SHA-256 of each link's random part is kept,
-- so a copy of the table confirms nobody. A link serves once.
CREATE TABLE IF NOT EXISTS email_verifications (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
--bun:split
CREATE INDEX IF NOT EXISTS email_verifications_user ON email_verifications (user_id, created_at DESC);
--bun:split
-- Mail waiting to be sent, written in the transaction of what it tells
-- (a signup) and delivered by the relay with retries: each row is claimed
-- for a while (next_attempt_at moves ahead), so a relay that dies while
-- sending leaves it to another after the claim ends.
CREATE TABLE IF NOT EXISTS outbox_mail (
    id              bigserial PRIMARY KEY,
    template        text NOT NULL,
    recipient       text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz
);
--bun:split
CREATE INDEX IF NOT EXISTS outbox_mail_pending ON outbox_mail (next_attempt_at) WHERE sent_at IS NULL;
--bun:split
-- Pending votes that start to count change their video's detail and the
-- voter's gallery: announced as a new vote is.
DROP TRIGGER IF EXISTS votes_counted_event ON votes;
--bun:split
CREATE TRIGGER votes_counted_event AFTER UPDATE OF pending ON votes
    FOR EACH ROW WHEN (OLD.pending AND NOT NEW.pending)
    EXECUTE FUNCTION notify_vote_owner();
