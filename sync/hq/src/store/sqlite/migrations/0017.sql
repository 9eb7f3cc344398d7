-- 17: what several head-office nodes on one database must agree on (issue
-- 23). Failed sign-ins counted by key (a client address, everyone, a user
-- name) in fixed windows, with the user lockout's end; and the console's
-- one-time notices by session, so the page after a form shows its notice
-- whichever node serves it.
CREATE TABLE hq_throttles (key TEXT PRIMARY KEY, window_start_ms INTEGER NOT NULL,
   failures INTEGER NOT NULL, locked_until_ms INTEGER);
CREATE INDEX hq_throttles_window ON hq_throttles (window_start_ms);
CREATE TABLE hq_flashes (session_hash TEXT PRIMARY KEY, body TEXT NOT NULL,
   at_ms INTEGER NOT NULL);
CREATE INDEX hq_flashes_at ON hq_flashes (at_ms);
