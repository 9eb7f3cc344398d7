-- 9: members frozen by head office (member care, issue 20): a frozen
-- member buys and earns, but terminals redeem no points or stored value
-- for them once their snapshot says so.
ALTER TABLE members ADD COLUMN frozen BOOLEAN NOT NULL DEFAULT FALSE;
