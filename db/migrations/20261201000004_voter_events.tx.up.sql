-- A vote is announced under its voter too, so that every API instance
-- drops the voter's kept votes (the `voted` flags of their gallery).
CREATE OR REPLACE FUNCTION notify_vote_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('owner_videos', v.user_id::text) FROM videos v WHERE v.id = NEW.video_id;
    PERFORM pg_notify('owner_videos', NEW.user_id::text);
    RETURN NULL;
END
$$;
