-- 7: conflicts as a work queue (issue 20): open until an operator
-- resolves (with the action taken) or dismisses (with the reason) it, once;
-- who it is assigned to meanwhile.
ALTER TABLE conflicts ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
ALTER TABLE conflicts ADD COLUMN assignee TEXT;
ALTER TABLE conflicts ADD COLUMN resolution TEXT;
ALTER TABLE conflicts ADD COLUMN note TEXT;
ALTER TABLE conflicts ADD COLUMN closed_by TEXT;
ALTER TABLE conflicts ADD COLUMN closed_at TEXT;
