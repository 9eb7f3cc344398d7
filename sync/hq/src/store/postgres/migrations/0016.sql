-- 15: keys by purpose and withdrawn card keys (issue 21). A terminal's
-- member-card key as head office certified it (the `TrustedKey` JSON it
-- sends down: key id, public key, validity window, and `revoked_at` once
-- the terminal is revoked), and the terminal that enrolled each member:
-- the members whose card a withdrawn key signed, whom head office
-- re-issues a card signed with its own key.
ALTER TABLE terminals ADD COLUMN card_key TEXT;
ALTER TABLE members ADD COLUMN enrolled_by TEXT;
CREATE INDEX members_enrolled_by ON members (enrolled_by);
