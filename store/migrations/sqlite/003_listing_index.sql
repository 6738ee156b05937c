-- The listing (/blog, the home page) reads titles, excerpts, authors and
-- dates in (date_created, id) order. In the posts table those columns sit
-- behind the Markdown and HTML bodies, so every listed row meant reading its
-- overflow pages to reach the excerpt: a page of 20 posts touched some 60
-- pages, scattered across the file. Carrying the listed columns in the
-- ordering index makes the listing an index-only walk of two or three pages,
-- whatever the size of the table or the depth of the page.
DROP INDEX posts_date_idx;
CREATE INDEX posts_date_idx ON posts (date_created DESC, id DESC, user_created, title, excerpt, date_updated);
