ALTER TABLE members ADD COLUMN enrolled_at_ms BIGINT, ADD COLUMN enrolled_on TEXT,
        ADD COLUMN tier BIGINT, ADD COLUMN sv_principal BIGINT, ADD COLUMN sv_bonus BIGINT,
        ADD COLUMN points_positive BIGINT, ADD COLUMN points_debt BIGINT,
        ADD COLUMN points_min_expiry_ms BIGINT;
     CREATE INDEX members_enrolled_on ON members (enrolled_on);
     -- Members enrolled before this migration: their consent time is their
     -- enrollment time (sales before it cannot be recovered: event bodies
     -- are not kept).
     UPDATE members SET enrolled_on = substr(consent_at, 1, 10),
        enrolled_at_ms = (extract(epoch FROM consent_at::timestamptz) * 1000)::bigint
        WHERE consent_at IS NOT NULL;
     ALTER TABLE terminals ADD COLUMN last_batch_at_ms BIGINT, ADD COLUMN outbox_head_seq BIGINT;
     CREATE TABLE sales (terminal_id TEXT NOT NULL, sale_id TEXT NOT NULL, seq BIGINT NOT NULL,
        member_id TEXT, at_ms BIGINT NOT NULL, total_fen BIGINT NOT NULL, lines TEXT NOT NULL,
        PRIMARY KEY (terminal_id, sale_id));
     CREATE INDEX sales_at ON sales (at_ms);
     CREATE INDEX sales_member ON sales (member_id, at_ms);
     CREATE INDEX sales_id ON sales (sale_id);
     CREATE TABLE refunds (terminal_id TEXT NOT NULL, refund_id TEXT NOT NULL,
        sale_id TEXT NOT NULL, seq BIGINT NOT NULL, at_ms BIGINT NOT NULL, lines TEXT NOT NULL,
        PRIMARY KEY (terminal_id, refund_id));
     CREATE INDEX refunds_at ON refunds (at_ms);
     CREATE INDEX refunds_sale ON refunds (sale_id);
     CREATE TABLE hq_users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL);
     CREATE TABLE hq_sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL,
        expires_at_ms BIGINT NOT NULL);