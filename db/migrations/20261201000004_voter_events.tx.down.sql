CREATE OR REPLACE FUNCTION notify_vote_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('owner_videos', v.user_id::text) FROM videos v WHERE v.id = NEW.video_id;
    RETURN NULL;
END
$$;
