-- Every write to a player's videos (a new upload, any update, a removal)
-- is announced on the owner_videos channel with the player's id, at
-- commit, so that every API instance can drop what it keeps in memory of
-- that player's videos.
CREATE FUNCTION notify_owner_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('owner_videos', OLD.user_id::text);
    ELSE
        PERFORM pg_notify('owner_videos', NEW.user_id::text);
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER videos_owner_event AFTER INSERT OR UPDATE OR DELETE ON videos
    FOR EACH ROW EXECUTE FUNCTION notify_owner_event();
--bun:split
-- A vote changes the count in its video's detail: its owner is announced.
CREATE FUNCTION notify_vote_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('owner_videos', v.user_id::text) FROM videos v WHERE v.id = NEW.video_id;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER votes_owner_event AFTER INSERT ON votes
    FOR EACH ROW EXECUTE FUNCTION notify_vote_owner();
