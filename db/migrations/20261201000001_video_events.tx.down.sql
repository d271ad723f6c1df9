DROP TRIGGER IF EXISTS videos_delete_event ON videos;
--bun:split
DROP TRIGGER IF EXISTS videos_status_event ON videos;
--bun:split
DROP FUNCTION IF EXISTS notify_video_event();
