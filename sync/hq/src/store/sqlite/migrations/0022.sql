-- 22: tenders and shift closes (issue 24). A sale keeps how it was paid
-- (`tillcard_rules::tenders::Payment` as JSON) and a refund the money it
-- handed back by tender (JSON), NULL when the terminal did not say (older
-- terminals). A terminal's shift close (Z report, `shift_closed` event)
-- keeps its report as JSON under the store the terminal uploaded from,
-- listed per store by `GET /v1/admin/shift-closes`.
ALTER TABLE sales ADD COLUMN payment TEXT;
ALTER TABLE refunds ADD COLUMN tenders TEXT;
CREATE TABLE shift_closes (terminal_id TEXT NOT NULL, shift_id TEXT NOT NULL,
   seq INTEGER NOT NULL, store TEXT NOT NULL, closed_at_ms INTEGER NOT NULL,
   closed_by TEXT NOT NULL, report TEXT NOT NULL,
   PRIMARY KEY (terminal_id, shift_id));
CREATE INDEX shift_closes_store ON shift_closes (store, closed_at_ms);
