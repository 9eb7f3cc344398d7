-- 6: members frozen by head office (member care, issue 20): a frozen
-- member buys and earns, but terminals redeem no points or stored value
-- for them once their snapshot says so.
ALTER TABLE members ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1));
