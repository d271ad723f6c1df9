DROP TRIGGER IF EXISTS votes_owner_event ON votes;
--bun:split
DROP FUNCTION IF EXISTS notify_vote_owner();
--bun:split
DROP TRIGGER IF EXISTS videos_owner_event ON videos;
--bun:split
DROP FUNCTION IF EXISTS notify_owner_event();
