-- Resumable uploads: a player's multipart upload straight to S3, from its
-- start to its completion (completed_video_id) or its expiry.
CREATE TABLE IF NOT EXISTS upload_sessions (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title              text NOT NULL,
    filename           text NOT NULL,
    size               bigint NOT NULL CHECK (size > 0),
    part_size          bigint NOT NULL CHECK (part_size > 0),
    part_count         integer NOT NULL CHECK (part_count > 0),
    s3_upload_id       text NOT NULL,
    object_key         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    completed_video_id uuid
);
-- The open sessions of a player (a limit) and the expired ones (the reconcile run).
CREATE INDEX IF NOT EXISTS upload_sessions_open ON upload_sessions (user_id) WHERE completed_video_id IS NULL;
CREATE INDEX IF NOT EXISTS upload_sessions_expiry ON upload_sessions (expires_at) WHERE completed_video_id IS NULL;
