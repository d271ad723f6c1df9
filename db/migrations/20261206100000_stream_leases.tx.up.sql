-- The event streams open at once on the whole site, one row per stream,
-- so the caps per player and per video hold whatever instance serves
-- each. A stream deletes its row when it ends; a row whose instance died
-- counts until expires_at, a little after a stream's longest life, and is
-- then deleted by the next taker or the periodic prune.
CREATE TABLE IF NOT EXISTS stream_leases (
    id         uuid PRIMARY KEY,
    player_id  text NOT NULL,
    video_id   text NOT NULL,
    instance   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS stream_leases_player ON stream_leases (player_id);
CREATE INDEX IF NOT EXISTS stream_leases_video ON stream_leases (video_id);
CREATE INDEX IF NOT EXISTS stream_leases_expires ON stream_leases (expires_at);
