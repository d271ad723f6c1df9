-- Public lists and rankings filter players by city, case-insensitively.
CREATE INDEX users_city_lower ON users (lower(city));
-- Rankings sum the votes of each player's published videos.
CREATE INDEX videos_published_user ON videos (user_id) WHERE status = 'processed';
