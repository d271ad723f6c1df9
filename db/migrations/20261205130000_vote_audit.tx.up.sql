-- One mailbox is one account: email_key is the address as the mailbox
-- provider reads it (lower case; Gmail without dots and "+tag"), written by
-- the signup; email keeps the address as typed (in lower case), for
-- display and mail.
ALTER TABLE users ADD COLUMN IF NOT EXISTS email_key text;
-- The network (IPv4 /24, IPv6 /64) the account signed up from, evidence for
-- the vote audit; empty for accounts older than this column.
ALTER TABLE users ADD COLUMN IF NOT EXISTS signup_network text NOT NULL DEFAULT '';
-- NULL while the address is unconfirmed (email confirmation sets it).
ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at timestamptz;
--bun:split
-- Existing accounts get their key. Where some already are one Gmail
-- mailbox, the one whose address is that key (else the earliest) gets it
-- and the others keep their lower-case address, which no key equals (a
-- Gmail key has no dots or '+'): every account stays usable.
WITH keyed AS (
    SELECT id, created_at, lower(email) AS plain,
        CASE WHEN split_part(lower(email), '@', 2) IN ('gmail.com', 'googlemail.com')
            THEN replace(split_part(split_part(lower(email), '@', 1), '+', 1), '.', '') || '@gmail.com'
            ELSE lower(email)
        END AS k
    FROM users WHERE email_key IS NULL
), ranked AS (
    SELECT id, plain, k,
        row_number() OVER (PARTITION BY k ORDER BY plain = k DESC, created_at, id) AS n
    FROM keyed
)
UPDATE users u SET email_key = CASE WHEN r.n = 1 THEN r.k ELSE r.plain END
FROM ranked r WHERE u.id = r.id;
--bun:split
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key_key ON users (email_key);
--bun:split
-- The audit groups voters by the network they signed up from.
CREATE INDEX IF NOT EXISTS users_signup_network ON users (signup_network) WHERE signup_network <> '';

--bun:split
-- An excluded vote stays recorded (it still shows as voted to its voter)
-- but no count or ranking includes it; an undo clears the three columns.
ALTER TABLE votes ADD COLUMN IF NOT EXISTS excluded_at timestamptz;
ALTER TABLE votes ADD COLUMN IF NOT EXISTS excluded_by text;
ALTER TABLE votes ADD COLUMN IF NOT EXISTS excluded_reason text;

--bun:split
-- Every exclusion and undo, with who, when, why and how many votes it
-- changed: the votes' columns say what holds now, this says how it came to.
CREATE TABLE IF NOT EXISTS vote_exclusions (
    id         bigserial PRIMARY KEY,
    video_id   uuid NOT NULL,
    -- NULL: every vote for the video; else the votes of these voters.
    account_ids uuid[],
    undo       boolean NOT NULL,
    reason     text NOT NULL,
    done_by    text NOT NULL,
    done_at    timestamptz NOT NULL DEFAULT now(),
    votes      integer NOT NULL
);
CREATE INDEX IF NOT EXISTS vote_exclusions_video ON vote_exclusions (video_id, done_at);

--bun:split
-- Each run of the audit; the ranking page shows the last one.
CREATE TABLE IF NOT EXISTS vote_audits (
    id       bigserial PRIMARY KEY,
    ran_at   timestamptz NOT NULL DEFAULT now(),
    ran_by   text NOT NULL,
    clusters integer NOT NULL,
    votes    integer NOT NULL
);

--bun:split
-- An exclusion or its undo changes the counts in the video's detail: the
-- owner (and the voter) are announced as for a new vote.
DROP TRIGGER IF EXISTS votes_excluded_event ON votes;
--bun:split
CREATE TRIGGER votes_excluded_event AFTER UPDATE OF excluded_at ON votes
    FOR EACH ROW WHEN (OLD.excluded_at IS DISTINCT FROM NEW.excluded_at)
    EXECUTE FUNCTION notify_vote_owner();
