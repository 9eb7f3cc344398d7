//! The terminal database's schema as numbered migrations, applied in order
//! at start-up. `PRAGMA user_version` records how many have been applied, so
//! a file from any earlier version is brought up to date, and a file from a
//! newer version is refused rather than misread.

/// One migration: what it is for, and its SQL.
pub struct Migration {
    /// Why it exists.
    pub purpose: &'static str,
    /// Statements, run in one transaction.
    pub sql: &'static str,
}

/// All migrations; migration `n` (1-based) brings the file to version `n`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        purpose: "terminal identity, member cache, ledger, sales, refunds, outbox",
        sql: r#"
CREATE TABLE terminal (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    terminal_id TEXT NOT NULL,
    -- Key for the keyed phone hash; never leaves the terminal.
    phone_key   BLOB NOT NULL,
    -- Next outbox sequence number: gapless because it only moves inside the
    -- transaction that writes the event.
    next_seq    INTEGER NOT NULL
);
CREATE TABLE program (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
-- Members known to this terminal. No raw phone, no full name, no birth year:
-- only what a clerk may see (masked) and a keyed hash to look phones up.
CREATE TABLE members (
    member_id      TEXT PRIMARY KEY,
    phone_hash     BLOB UNIQUE,
    phone_masked   TEXT NOT NULL,
    name_masked    TEXT NOT NULL,
    birthday_month INTEGER,
    birthday_day   INTEGER,
    referred_by    TEXT,
    tags           TEXT NOT NULL DEFAULT '[]',
    -- Opening state from head office's last snapshot (JSON MemberAccount),
    -- NULL for members enrolled here and not yet confirmed.
    snapshot       TEXT,
    balances_known INTEGER NOT NULL DEFAULT 1,
    enrolled_at    TEXT NOT NULL,
    consent_at     TEXT
) WITHOUT ROWID;
CREATE TABLE outbox (
    seq            INTEGER PRIMARY KEY,
    event_id       TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    wall_time      TEXT NOT NULL,
    monotonic_ms   INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT NOT NULL,
    acked          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE ledger (
    id        INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES outbox(seq),
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX ledger_by_member ON ledger(member_id, id);
CREATE INDEX ledger_by_member_kind ON ledger(member_id, kind, id);
CREATE INDEX ledger_by_source ON ledger(source_id);
CREATE TABLE sales (
    sale_id   TEXT PRIMARY KEY,
    member_id TEXT,
    at        TEXT NOT NULL,
    clerk_id  TEXT NOT NULL,
    total     INTEGER NOT NULL,
    quote     TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES outbox(seq)
) WITHOUT ROWID;
CREATE TABLE refunds (
    refund_id   TEXT PRIMARY KEY,
    sale_id     TEXT NOT NULL REFERENCES sales(sale_id),
    at          TEXT NOT NULL,
    clerk_id    TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    lines       TEXT NOT NULL,
    event_seq   INTEGER NOT NULL REFERENCES outbox(seq)
) WITHOUT ROWID;
CREATE INDEX refunds_by_sale ON refunds(sale_id);
CREATE INDEX sales_by_member ON sales(member_id, at);
"#,
    },
    Migration {
        purpose: "clerks with hashed PINs and lockout; hash-chained audit log",
        sql: r#"
CREATE TABLE clerks (
    clerk_id        TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash        TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT
) WITHOUT ROWID;
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    clerk_id  TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
);
-- The chain's head, written with every audit row: deleting the newest rows
-- leaves a head that no longer matches.
ALTER TABLE terminal ADD COLUMN audit_head_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE terminal ADD COLUMN audit_head_hash BLOB;
"#,
    },
    Migration {
        purpose: "fast listing of the events still waiting for head office",
        sql: r#"
CREATE INDEX outbox_pending ON outbox(acked, seq);
"#,
    },
    Migration {
        purpose: "provisioning by head office; what the downlink sends: cursor, card keys, revocations",
        sql: r#"
-- Written once when the terminal redeems its enrollment code.
CREATE TABLE credentials (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    terminal_id       TEXT NOT NULL,
    store             TEXT NOT NULL,
    signing_key       BLOB NOT NULL,
    hq_box_public_key TEXT NOT NULL,
    lookup_key        TEXT NOT NULL,
    provisioned_at    TEXT NOT NULL
);
CREATE TABLE downlink (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor TEXT NOT NULL
);
CREATE TABLE trusted_keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL
);
CREATE TABLE revocations (
    member_id   TEXT,
    card_serial TEXT
);
"#,
    },
    Migration {
        purpose: "the key this terminal signs member cards with at enrollment",
        sql: r#"
-- One Ed25519 seed; key_id is written into every card it signs. Terminals
-- trust it through head office's trusted keys; this terminal trusts it
-- itself, so a card issued offline scans here at once.
CREATE TABLE card_issuer (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    key_id  INTEGER NOT NULL,
    seed    BLOB NOT NULL
);
"#,
    },
    Migration {
        purpose: "staff set up by head office: clerks without a PIN yet, deactivated clerks",
        sql: r#"
-- pin_hash becomes optional (a clerk head office created has none until
-- they set it with their setup code); active = 0 refuses the clerk at
-- sign-in; from_hq marks the clerks the downlink owns. SQLite cannot drop
-- a NOT NULL, so the table is rebuilt with its rows.
CREATE TABLE clerks_v6 (
    clerk_id        TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash        TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    from_hq         INTEGER NOT NULL DEFAULT 0 CHECK (from_hq IN (0, 1))
) WITHOUT ROWID;
INSERT INTO clerks_v6 (clerk_id, display_name, role, pin_hash, failed_attempts, locked_until)
    SELECT clerk_id, display_name, role, pin_hash, failed_attempts, locked_until FROM clerks;
DROP TABLE clerks;
ALTER TABLE clerks_v6 RENAME TO clerks;
"#,
    },
    Migration {
        purpose: "program versions published by head office, each with the moment it takes effect",
        sql: r#"
-- Every version received, kept: a sale is priced with the version in force
-- at its moment (rules::program::in_force_at), also when the terminal was
-- offline across a change. The program table keeps the version without a
-- moment (the default program, a demo's).
CREATE TABLE program_versions (
    version        INTEGER PRIMARY KEY,
    effective_from TEXT NOT NULL,
    body           TEXT NOT NULL
);
"#,
    },
    Migration {
        purpose: "members frozen by head office (member care): served, but redeeming no points or stored value",
        sql: r#"
ALTER TABLE members ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1));
"#,
    },
    Migration {
        purpose: "member care at head office: a member's re-issued card serial, an account merged into another",
        sql: r#"
-- NULL while the member holds the card from their enrollment (serial 1);
-- head office's serial once it re-issued their card (the card before is
-- revoked), so this terminal prints the member a card with it.
ALTER TABLE members ADD COLUMN card_serial INTEGER;
-- The member this account was merged into at head office (one phone's two
-- accounts): a lookup of this id serves that member.
ALTER TABLE members ADD COLUMN merged_into TEXT;
"#,
    },
    Migration {
        purpose: "an erasure reaches the files saved for the member: their card and the receipts of their actions, deleted once the erasure commits",
        sql: r#"
-- One row per erased member whose files are still to delete: the ids of
-- their actions (a receipt is saved under its sale's id), as JSON.
CREATE TABLE erased_files (member_id TEXT PRIMARY KEY, sources TEXT NOT NULL);
"#,
    },
    Migration {
        purpose: "PIN lockouts timed on the monotonic clock, escalating (issue 21)",
        sql: r#"
-- failed_attempts now counts wrong PINs in a row until a right one (a
-- lockout no longer resets it). lock_ms is the lockout armed at the
-- monotonic reading lock_at_mono; at start-up every running lockout is
-- re-armed in full (the monotonic clock starts again). The wall-clock
-- locked_until is no longer read: a lockout from before becomes 5 minutes.
ALTER TABLE clerks ADD COLUMN lock_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clerks ADD COLUMN lock_at_mono INTEGER NOT NULL DEFAULT 0;
UPDATE clerks SET lock_ms = 300000 WHERE locked_until IS NOT NULL;
UPDATE clerks SET locked_until = NULL;
"#,
    },
    Migration {
        purpose: "the audit chain keyed with the terminal's audit key; the head head office acknowledged (issue 21)",
        sql: r#"
-- A random 32-byte key of this purpose alone, made at the first start
-- after this migration (store::audit::ensure_key), which also re-chains
-- the rows written before under it (HMAC-SHA256 instead of SHA-256) and
-- appends an audit_keyed row saying how many and whether their unkeyed
-- chain was intact. audit_acked_n: the newest row whose link head office
-- acknowledged; the next upload's links start there.
ALTER TABLE terminal ADD COLUMN audit_key BLOB;
ALTER TABLE terminal ADD COLUMN audit_acked_n INTEGER NOT NULL DEFAULT 0;
"#,
    },
    Migration {
        purpose: "keys by purpose (issue 21): certified card-key windows and withdrawals, head office's pinned downlink key, cards head office re-issued, refused downlink changes",
        sql: r#"
-- The window head office certified a card key for, and when it withdrew
-- it (Unix seconds; NULL: no bound).
ALTER TABLE trusted_keys ADD COLUMN valid_from INTEGER;
ALTER TABLE trusted_keys ADD COLUMN valid_until INTEGER;
ALTER TABLE trusted_keys ADD COLUMN revoked_at INTEGER;
-- Head office's downlink-signing public key (base64), pinned at
-- registration: trust-bearing changes must carry its signature.
ALTER TABLE credentials ADD COLUMN downlink_key TEXT;
-- A card head office signed for the member because the key that signed
-- their card was withdrawn: handed over at their next visit.
ALTER TABLE members ADD COLUMN head_office_card TEXT;
-- Trust-bearing changes refused for a missing or bad signature (skipped:
-- never applied; the downlink moves on).
CREATE TABLE downlink_refusals (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    kind   TEXT NOT NULL,
    reason TEXT NOT NULL
);
"#,
    },
    Migration {
        purpose: "head office's certificate pinned at registration from the enrollment QR (issue 21)",
        sql: r#"
-- SHA-256 of head office's TLS certificate (32 bytes) from the enrollment
-- QR: every connection to head office accepts that certificate only. NULL
-- for a registration keyed by hand (the platform's roots verify).
ALTER TABLE credentials ADD COLUMN hq_cert_sha256 BLOB;
"#,
    },
    Migration {
        purpose: "outbox retention: when head office acknowledged each event (issue 21)",
        sql: r#"
-- The wall time the acknowledgement was recorded; NULL while pending. An
-- acknowledged event's body is pruned once this is older than the
-- retention (store::retention). Events acknowledged before this migration
-- count from the migration.
ALTER TABLE outbox ADD COLUMN acked_at TEXT;
UPDATE outbox SET acked_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE acked = 1;
-- Pruned: the body is gone; the row stays as the ledger's, sales' and
-- refunds' event_seq (foreign keys) and keeps the sequence gapless.
ALTER TABLE outbox ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0 CHECK (pruned IN (0, 1));
"#,
    },
    Migration {
        purpose: "one index page fewer per sale: tier changes indexed apart (partial index)",
        sql: r#"
-- Only the latest tier change per member is looked up by kind
-- (members::current_tier); a full (member, kind, id) index made every ledger
-- row, three per sale, write one more page (encrypted, authenticated).
DROP INDEX ledger_by_member_kind;
CREATE INDEX ledger_tier_changes ON ledger(member_id, id) WHERE kind = 'tier_changed';
"#,
    },
    Migration {
        purpose: "pruning finds what it prunes without reading what it pruned before (issue 22)",
        sql: r#"
-- Acknowledged events whose bodies are still kept, in order: the retention
-- step (store::retention, every idle round) reads these alone; through
-- (acked, seq) it walked every event ever pruned first.
CREATE INDEX outbox_unpruned ON outbox(seq) WHERE acked = 1 AND pruned = 0;
"#,
    },
    Migration {
        purpose: "the daily offline allowance read without parsing the day's quotes (issue 22)",
        sql: r#"
-- What each offline sale drew on the member's daily offline allowance (fen:
-- points at their value plus stored value; 0 online). Before, pricing parsed
-- every quote of the member's day: a member with n sales a day cost O(n)
-- per sale. Sales from before are read from their quotes once, here.
ALTER TABLE sales ADD COLUMN offline_used INTEGER NOT NULL DEFAULT 0 CHECK (offline_used >= 0);
UPDATE sales SET offline_used =
    COALESCE(json_extract(quote, '$.points_value'), 0)
  + COALESCE(json_extract(quote, '$.stored_value_principal'), 0)
  + COALESCE(json_extract(quote, '$.stored_value_bonus'), 0)
WHERE json_extract(quote, '$.offline') = 1;
CREATE INDEX sales_offline_use ON sales(member_id, at, offline_used) WHERE offline_used > 0;
"#,
    },
    Migration {
        purpose: "outbox epochs: waiting events renumbered after the store was rolled back (issue 22)",
        sql: r#"
-- One row per renumbering (store::epochs): head office held up to held_seq,
-- more than this store had issued (restored from a backup, reimaged, a lost
-- write), so the waiting events from from_seq on were renumbered from
-- first_seq = held_seq + 1 in epoch `epoch`. No row: epoch 0 from seq 1.
CREATE TABLE outbox_epochs (
    epoch      INTEGER PRIMARY KEY CHECK (epoch >= 1),
    first_seq  INTEGER NOT NULL,
    held_seq   INTEGER NOT NULL,
    from_seq   INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    opened_at  TEXT NOT NULL
);
"#,
    },
    Migration {
        purpose: "events head office can never take, quarantined with their reason (issue 22)",
        sql: r#"
-- An event head office refused on its own with class `never` (too large,
-- bad_event): its body kept here with head office's code and words, while
-- its outbox row carries a placeholder under the same event_id and seq
-- (store::quarantine), so the queue moves on and stays gapless.
CREATE TABLE outbox_quarantine (
    seq            INTEGER PRIMARY KEY REFERENCES outbox(seq),
    event_id       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    code           TEXT NOT NULL,
    detail         TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
);
"#,
    },
    Migration {
        purpose: "head office's time survives a restart offline (issue 22, clock skew)",
        sql: r#"
-- Head office's time minus this terminal's wall clock (ms), as last learned
-- from an answer (server_time::CorrectedClock): a restart offline starts its
-- corrected clock from the wall clock plus it (store::clock_offset).
CREATE TABLE clock_offset (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms  INTEGER NOT NULL,
    learned_at TEXT NOT NULL
);
"#,
    },
    Migration {
        purpose: "the registration certificate, to re-introduce the terminal to a restored head office (issue 22)",
        sql: r#"
-- What head office registered for this terminal, signed with its downlink
-- key (tillcard_protocol::registration), as JSON; NULL for terminals
-- registered by an older head office.
ALTER TABLE credentials ADD COLUMN registration TEXT;
"#,
    },
    Migration {
        purpose: "pruning finds the events past the retention without reading the rest (issue 22, backlog)",
        sql: r#"
-- Acknowledged events whose bodies are kept, by acknowledgement time: the
-- prune at every idle round reads only those past the retention
-- (store::retention::Store::prune_outbox names it). It replaces schema 17's
-- index by seq, which the planner passed over for the pending index and
-- which could not stop at the retention anyway.
DROP INDEX outbox_unpruned;
CREATE INDEX outbox_unpruned_by_ack ON outbox(acked_at) WHERE acked = 1 AND pruned = 0;
"#,
    },
    Migration {
        purpose: "the chain's product catalog from head office (issue 24)",
        sql: r#"
-- One row per item (tillcard_rules::catalog::CatalogItem as JSON in body),
-- replaced by the downlink's `item` changes (store::catalog). `code` is the
-- barcode's catalog key (ItemCode::key: UPC-A as its EAN-13), NULL when the
-- item has none; a scan looks it up by this index.
CREATE TABLE catalog_items (
    sku    TEXT PRIMARY KEY,
    code   TEXT,
    active INTEGER NOT NULL,
    body   TEXT NOT NULL
);
CREATE INDEX catalog_items_by_code ON catalog_items(code) WHERE code IS NOT NULL;
"#,
    },
    Migration {
        purpose: "tenders on sales and refunds; the shift close (Z report) (issue 24)",
        sql: r#"
-- How a sale was paid (tillcard_rules::tenders::Payment as JSON); NULL for
-- sales from before tenders were recorded (their refunds go back in cash).
ALTER TABLE sales ADD COLUMN payment TEXT;
-- The money a refund handed back over the sale's tenders (JSON list of
-- tillcard_rules::tenders::Tender); NULL for refunds from before.
ALTER TABLE refunds ADD COLUMN tenders TEXT;
-- What each booking counts for the shift close (store::shift): the
-- figures (tillcard_rules::shift::ShiftAction as JSON) and who booked it,
-- by its event. event_seq is not unique here so that renumbering the
-- outbox (store::epochs) can move it like the ledger's.
CREATE TABLE shift_actions (
    id        INTEGER PRIMARY KEY,
    event_seq INTEGER NOT NULL REFERENCES outbox(seq),
    at        TEXT NOT NULL,
    clerk_id  TEXT NOT NULL,
    action    TEXT NOT NULL
);
CREATE INDEX shift_actions_by_seq ON shift_actions(event_seq);
-- Each close covers the actions after the previous close's event.
CREATE TABLE shift_closes (
    shift_id  TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL,
    clerk_id  TEXT NOT NULL,
    report    TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES outbox(seq)
) WITHOUT ROWID;
CREATE INDEX shift_closes_by_seq ON shift_closes(event_seq);
"#,
    },
    Migration {
        purpose: "returns at any store from a receipt's signed code (issue 24)",
        sql: r#"
-- Refunds this terminal booked of another terminal's sale, from the sale's
-- receipt code (store::returns). Apart from `refunds`, whose sale_id must
-- be a sale of this terminal's own ledger. `summary` is the verified
-- receipt (tillcard_protocol::receipt::ReceiptSummary as JSON): a later
-- return of the same receipt here is checked against what was returned
-- before. `money_back` is the money handed back per tender (JSON).
CREATE TABLE receipt_refunds (
    refund_id     TEXT PRIMARY KEY,
    sale_id       TEXT NOT NULL,
    sale_terminal TEXT NOT NULL,
    at            TEXT NOT NULL,
    clerk_id      TEXT NOT NULL,
    approved_by   TEXT NOT NULL,
    lines         TEXT NOT NULL,
    money_back    TEXT NOT NULL,
    summary       TEXT NOT NULL,
    event_seq     INTEGER NOT NULL REFERENCES outbox(seq)
) WITHOUT ROWID;
CREATE INDEX receipt_refunds_by_sale ON receipt_refunds(sale_id);
"#,
    },
];

/// The schema version this code writes.
pub fn latest_version() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}
