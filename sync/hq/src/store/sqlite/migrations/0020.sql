-- 20: the downlink scoped to the stores that need a member (issue 23,
-- `store::scope`): which stores have seen each member, and each member
-- change written once per store in scope (`changes.store`; none: for every
-- terminal, as the changes before this migration). Stores are backfilled
-- from every store whose terminals booked for the member or enrolled them,
-- seen on the day of the migration. No index on `seen_on`: the daily job
-- walks the key in pages (a batch's generic plan took such an index to read
-- every active scope). Withdrawn card keys, which every
-- downlink page that sends members reads, found without a scan.
CREATE TABLE member_scope (member_id TEXT NOT NULL, store TEXT NOT NULL,
   seen_on TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
   PRIMARY KEY (member_id, store)) WITHOUT ROWID;
ALTER TABLE changes ADD COLUMN store TEXT;
CREATE INDEX changes_store ON changes (store, position);
INSERT OR IGNORE INTO member_scope (member_id, store, seen_on)
   SELECT DISTINCT l.member_id, t.store, date('now') FROM ledger l
     JOIN terminals t ON t.terminal_id = l.terminal_id;
INSERT OR IGNORE INTO member_scope (member_id, store, seen_on)
   SELECT m.member_id, t.store, date('now') FROM members m
     JOIN terminals t ON t.terminal_id = m.enrolled_by;
CREATE INDEX terminals_withdrawn ON terminals (terminal_id) WHERE card_key IS NOT NULL AND revoked = 1;
