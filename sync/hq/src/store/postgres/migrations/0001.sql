CREATE TABLE hq_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE enroll_codes (code_hash TEXT PRIMARY KEY, store TEXT NOT NULL,
        issued_at TEXT NOT NULL, redeemed_by TEXT);
     CREATE TABLE terminals (terminal_id TEXT PRIMARY KEY, store TEXT NOT NULL,
        public_key TEXT NOT NULL, lookup_key TEXT NOT NULL,
        acked_seq BIGINT NOT NULL DEFAULT 0, revoked BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TEXT NOT NULL);
     CREATE TABLE terminal_flags (terminal_id TEXT NOT NULL, id BIGSERIAL,
        reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (terminal_id, id));
     CREATE TABLE events (terminal_id TEXT NOT NULL, seq BIGINT NOT NULL,
        event_id TEXT NOT NULL, content_hash TEXT NOT NULL, kind TEXT NOT NULL,
        status TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (terminal_id, seq));
     CREATE TABLE dead_letters (terminal_id TEXT NOT NULL, seq BIGINT NOT NULL,
        event_id TEXT NOT NULL, reason TEXT NOT NULL, body TEXT, at TEXT NOT NULL,
        PRIMARY KEY (terminal_id, seq));
     CREATE TABLE members (member_id TEXT PRIMARY KEY, masked_name TEXT, masked_phone TEXT,
        phone TEXT, name TEXT, phone_key TEXT, birthday TEXT, consent_at TEXT, referrer TEXT,
        tags TEXT NOT NULL DEFAULT '[]', duplicate_of TEXT, last_store TEXT,
        last_seen_at TEXT, erased_at TEXT, account TEXT);
     CREATE INDEX members_phone_key ON members (phone_key);
     CREATE TABLE ledger (member_id TEXT NOT NULL, entry_no BIGSERIAL,
        source TEXT NOT NULL, terminal_id TEXT, seq BIGINT, entry TEXT NOT NULL,
        PRIMARY KEY (member_id, entry_no));
     CREATE INDEX ledger_terminal ON ledger (terminal_id, seq);
     CREATE TABLE conflicts (member_id TEXT NOT NULL, conflict_no BIGSERIAL,
        kind TEXT NOT NULL, reason TEXT NOT NULL, terminal_id TEXT, seq BIGINT,
        at TEXT NOT NULL, PRIMARY KEY (member_id, conflict_no));
     CREATE TABLE changes (position BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL,
        member_id TEXT, payload TEXT,
        xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint));
     CREATE INDEX changes_order ON changes (xid, position);