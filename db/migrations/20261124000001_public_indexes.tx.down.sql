DROP INDEX IF EXISTS videos_published_user;
DROP INDEX IF EXISTS users_city_lower;
