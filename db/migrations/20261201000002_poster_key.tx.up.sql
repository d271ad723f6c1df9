-- The still image shown before a processed video plays, written beside it
-- by the worker; older videos have none.
ALTER TABLE videos ADD COLUMN poster_key text;
