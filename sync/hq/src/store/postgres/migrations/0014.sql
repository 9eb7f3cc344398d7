-- 14: dead letters and terminal flags join the review queue (issue 20):
-- each open until an operator closes it once (a dead letter dismissed
-- with the reason, or re-applied, which deletes its row; a flag accepted
-- as a false alarm, resolved by revoking the terminal, or dismissed), and
-- who it is assigned to meanwhile. A dead letter also keeps the event's
-- terminal wall time (RFC 3339) and schema version, to rebuild the event
-- when it is re-applied (rows from before read `at` and the current
-- schema version instead).
ALTER TABLE dead_letters
    ADD COLUMN state TEXT NOT NULL DEFAULT 'open',
    ADD COLUMN assignee TEXT,
    ADD COLUMN note TEXT,
    ADD COLUMN closed_by TEXT,
    ADD COLUMN closed_at TEXT,
    ADD COLUMN wall_time TEXT,
    ADD COLUMN schema_version INTEGER;
ALTER TABLE terminal_flags
    ADD COLUMN state TEXT NOT NULL DEFAULT 'open',
    ADD COLUMN assignee TEXT,
    ADD COLUMN resolution TEXT,
    ADD COLUMN note TEXT,
    ADD COLUMN closed_by TEXT,
    ADD COLUMN closed_at TEXT;
