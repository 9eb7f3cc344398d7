//! The PostgreSQL schema's numbered migrations, in order: each
//! `migrations/NNNN.sql` with why it came (from 21 on, each file's first
//! lines say). The runner lives with the store (`mod.rs`); the list lives
//! here so that the store's file holds the store.

/// Numbered migrations (`postgres/migrations/NNNN.sql`), applied in order
/// at start-up, each once (public for the test that upgrades data written
/// under an older schema).
pub const MIGRATIONS: &[&str] = &[
    // 1: the whole head-office schema.
    include_str!("migrations/0001.sql"),
    // 2: the dashboard. Summary columns beside each member's cached fold so
    // the figures sum in SQL; sales and refunds (walk-ins included, so keyed
    // by terminal like events) for member share of sales; when each terminal
    // last sent a batch and its outbox head; head-office users and their
    // sessions (hashed tokens): small reference tables. Times the figures
    // compare are integers (ms since the epoch).
    include_str!("migrations/0002.sql"),
    // 3: the upload path. `ledger_terminal` served no batch, only test
    // support (deleting a terminal's later entries), yet every ledger row
    // paid for it. A member's cached fold is rewritten by every batch that
    // touches the member: lz4 (PostgreSQL 14+, when built with it) compresses
    // it several times faster than the default pglz.
    include_str!("migrations/0003.sql"),
    // 4: a member's ledger in chunks. A batch appends one row per member it
    // books entries for, holding those entries in order, each with the seq
    // of the event that booked it (`[[seq, entry], ...]`; seq null for
    // head office's own jobs). A sale books several entries for its member
    // (points, stored value, coupon), so one row per event became several
    // per event; now it is at most one, fewer when a batch has several
    // events of one member. `seq` is the chunk's highest, `entry_count` its
    // length. Existing rows become chunks of one entry (the table is
    // rewritten once, inside the migration's transaction).
    include_str!("migrations/0004.sql"),
    // 5: room on each page for the next version of a row updated in place.
    include_str!("migrations/0005.sql"),
    // 6: operating a chain (issue 18). Stores (the stores terminals and
    // enrollment codes already name become stores, in China's time zone
    // until someone says otherwise); staff, the stores each works at and
    // their PIN set-up (Argon2id hashes only; `name_key` is the display
    // name trimmed and lower-cased, unique within a store); the audit trail
    // of every back-office change; head-office users' roles (existing users
    // were all admins); enrollment codes that expire and record when they
    // were used (`redeemed_by` already names the terminal): small
    // reference tables.
    include_str!("migrations/0006.sql"),
    // 7: the version of each terminal's software (issue 18), as it said
    // with its latest batch that said one; null until then (older
    // terminals never say).
    include_str!("migrations/0007.sql"),
    // 8: head office's daily jobs (issue 19), one row a job a business
    // day, claimed under a lease.
    include_str!("migrations/0008.sql"),
    // 9: members frozen by head office (member care).
    include_str!("migrations/0009.sql"),
    // 10: conflicts as a work queue.
    include_str!("migrations/0010.sql"),
    // 11: campaigns, the members each reached, RFM segments.
    include_str!("migrations/0011.sql"),
    // 12: member care: a member's current card serial (re-issue), the
    // member an account was merged into.
    include_str!("migrations/0012.sql"),
    // 13: member money waiting for a second approver.
    include_str!("migrations/0013.sql"),
    // 14: dead letters and terminal flags as a work queue; a dead
    // letter's wall time and schema version (re-apply).
    include_str!("migrations/0014.sql"),
    // 15: each terminal's audit head and last reported break (issue 21).
    include_str!("migrations/0015.sql"),
    // 16: a terminal's certified card key (window, withdrawal); the
    // terminal that enrolled each member.
    include_str!("migrations/0016.sql"),
    // 17: members' personal data encrypted at rest (issue 21): the
    // ciphertext columns, the plain birthday month, the wrapped data keys.
    // The plain columns are encrypted and dropped by
    // [`PgStore::seal_plaintext_members`] at start-up.
    include_str!("migrations/0017.sql"),
    // 18: outbox epochs of rolled-back terminals (issue 22), and events
    // found by id (a renumbered event is not applied twice).
    include_str!("migrations/0018.sql"),
    // 19: each terminal's clock skew as it reported it (issue 22).
    include_str!("migrations/0019.sql"),
    // 20: sign-in throttles and console notices in the database, shared by
    // every head-office node (issue 23).
    include_str!("migrations/0020.sql"),
    // 21 on: each file's first lines say what it is for.
    include_str!("migrations/0021.sql"),
    include_str!("migrations/0022.sql"),
    include_str!("migrations/0023.sql"),
    include_str!("migrations/0024.sql"),
    include_str!("migrations/0025.sql"),
    include_str!("migrations/0026.sql"),
    include_str!("migrations/0027.sql"),
];
