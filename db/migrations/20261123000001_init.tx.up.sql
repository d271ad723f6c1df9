CREATE TABLE users (
    id            uuid PRIMARY KEY,
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    city          text NOT NULL,
    country       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are stored lower-case; the index makes the rule hold under races.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE videos (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    title         text NOT NULL,
    status        text NOT NULL CHECK (status IN ('uploaded', 'processing', 'processed', 'failed')),
    original_key  text NOT NULL,
    processed_key text,
    workflow_id   text NOT NULL UNIQUE,
    progress      integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error         text,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz
);
CREATE INDEX videos_user_uploaded ON videos (user_id, uploaded_at DESC);
CREATE INDEX videos_published ON videos (processed_at DESC) WHERE status = 'processed';

CREATE TABLE votes (
    video_id   uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, user_id)
);

-- Transactional outbox: a request to process a video is written with the
-- video row and published to Kafka afterwards by the relay.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    topic      text NOT NULL,
    key        text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
