-- 2: the dashboard. Summary columns beside each member's cached fold so
-- the figures sum in SQL; sales and refunds (walk-ins included) for
-- member share of sales; when each terminal last sent a batch and its
-- outbox head; head-office users and their sessions (hashed tokens).
-- Times the figures compare are integers (ms since the epoch).
ALTER TABLE members ADD COLUMN enrolled_at_ms INTEGER;
ALTER TABLE members ADD COLUMN enrolled_on TEXT;
ALTER TABLE members ADD COLUMN tier INTEGER;
ALTER TABLE members ADD COLUMN sv_principal INTEGER;
ALTER TABLE members ADD COLUMN sv_bonus INTEGER;
ALTER TABLE members ADD COLUMN points_positive INTEGER;
ALTER TABLE members ADD COLUMN points_debt INTEGER;
ALTER TABLE members ADD COLUMN points_min_expiry_ms INTEGER;
CREATE INDEX members_enrolled_on ON members (enrolled_on);
-- Members enrolled before this migration: their consent time is their
-- enrollment time (sales before it cannot be recovered: event bodies
-- are not kept).
UPDATE members SET enrolled_on = substr(consent_at, 1, 10),
   enrolled_at_ms = CAST(unixepoch(consent_at, 'subsec') * 1000 AS INTEGER)
   WHERE consent_at IS NOT NULL;
ALTER TABLE terminals ADD COLUMN last_batch_at_ms INTEGER;
ALTER TABLE terminals ADD COLUMN outbox_head_seq INTEGER;
CREATE TABLE sales (terminal_id TEXT NOT NULL, sale_id TEXT NOT NULL, seq INTEGER NOT NULL,
   member_id TEXT, at_ms INTEGER NOT NULL, total_fen INTEGER NOT NULL, lines TEXT NOT NULL,
   PRIMARY KEY (terminal_id, sale_id));
CREATE INDEX sales_at ON sales (at_ms);
CREATE INDEX sales_member ON sales (member_id, at_ms);
CREATE INDEX sales_id ON sales (sale_id);
CREATE TABLE refunds (terminal_id TEXT NOT NULL, refund_id TEXT NOT NULL,
   sale_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, lines TEXT NOT NULL,
   PRIMARY KEY (terminal_id, refund_id));
CREATE INDEX refunds_at ON refunds (at_ms);
CREATE INDEX refunds_sale ON refunds (sale_id);
CREATE TABLE hq_users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
   created_at TEXT NOT NULL);
CREATE TABLE hq_sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL,
   expires_at_ms INTEGER NOT NULL);
