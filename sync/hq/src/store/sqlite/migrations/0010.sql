-- 10: member money at head office (issue 20): a stored-value cash-out or a
-- points adjustment above its threshold waits here for a second
-- head-office user's approval (or rejection, with the reason); once
-- approved, `source` names the action booked in the member's ledger.
CREATE TABLE member_money_requests (request_no INTEGER PRIMARY KEY AUTOINCREMENT,
   member_id TEXT NOT NULL, kind TEXT NOT NULL, amount_fen INTEGER, points INTEGER,
   reason TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
   state TEXT NOT NULL DEFAULT 'pending', decided_by TEXT, decided_at TEXT,
   decision_note TEXT, source TEXT);
CREATE INDEX member_money_requests_state ON member_money_requests (state, request_no);
