-- 23: the downlink scoped to the stores that need a member (issue 23,
-- `store::scope`): which stores have seen each member, and each member
-- change written once per store in scope (`changes.store`; none: for every
-- terminal, as the changes before this migration). Stores are backfilled
-- from every store whose terminals booked for the member or enrolled them,
-- seen on the day of the migration. No index on `seen_on`: the daily job
-- walks the key in pages (a batch's generic plan took such an index to read
-- every active scope). Withdrawn card keys, which every
-- downlink page that sends members reads, found without a scan.
CREATE TABLE member_scope (member_id TEXT NOT NULL, store TEXT NOT NULL,
   seen_on TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT true,
   PRIMARY KEY (member_id, store));
ALTER TABLE changes ADD COLUMN store TEXT;
CREATE INDEX changes_store ON changes (store, xid, position);
INSERT INTO member_scope (member_id, store, seen_on)
   SELECT DISTINCT l.member_id, t.store, to_char(current_date, 'YYYY-MM-DD') FROM ledger l
     JOIN terminals t ON t.terminal_id = l.terminal_id
   ON CONFLICT DO NOTHING;
INSERT INTO member_scope (member_id, store, seen_on)
   SELECT m.member_id, t.store, to_char(current_date, 'YYYY-MM-DD') FROM members m
     JOIN terminals t ON t.terminal_id = m.enrolled_by
   ON CONFLICT DO NOTHING;
CREATE INDEX terminals_withdrawn ON terminals (terminal_id) WHERE revoked AND card_key IS NOT NULL;
