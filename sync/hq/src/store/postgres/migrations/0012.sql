-- 12: member care (issue 20). The serial of the member's current card:
-- terminals issue serial 1 at enrollment; a re-issue raises it and revokes
-- the card before. The member an account was merged into (two accounts of
-- one phone): its ledger moved there, and it serves no more.
ALTER TABLE members ADD COLUMN card_serial INTEGER NOT NULL DEFAULT 1;
ALTER TABLE members ADD COLUMN merged_into TEXT;
CREATE INDEX members_merged_into ON members (merged_into) WHERE merged_into IS NOT NULL;
