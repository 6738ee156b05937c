-- SQLite's 003 widens posts_date_idx so the listing reads no table rows (its
-- rows keep the excerpt behind the bodies). PostgreSQL stores large values
-- out of line (TOAST), so its rows stay small and the existing index already
-- serves the listing; this version exists so both dialects share one schema
-- version (quire copy requires it).
SELECT 1;
