-- Every change of a video's status or progress, and its removal, is
-- announced on the video_events channel with the video's id, at commit, so
-- any API instance can push it to the players watching. A trigger covers
-- every writer, the worker's and any repair run by hand.
CREATE FUNCTION notify_video_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('video_events', OLD.id::text);
    ELSE
        PERFORM pg_notify('video_events', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER videos_status_event AFTER UPDATE OF status, progress ON videos
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress)
    EXECUTE FUNCTION notify_video_event();
--bun:split
CREATE TRIGGER videos_delete_event AFTER DELETE ON videos
    FOR EACH ROW EXECUTE FUNCTION notify_video_event();
