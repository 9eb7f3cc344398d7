-- 10: conflicts as a work queue (issue 20): open until an operator
-- resolves (with the action taken) or dismisses (with the reason) it, once;
-- who it is assigned to meanwhile.
ALTER TABLE conflicts
    ADD COLUMN state TEXT NOT NULL DEFAULT 'open',
    ADD COLUMN assignee TEXT,
    ADD COLUMN resolution TEXT,
    ADD COLUMN note TEXT,
    ADD COLUMN closed_by TEXT,
    ADD COLUMN closed_at TEXT;
