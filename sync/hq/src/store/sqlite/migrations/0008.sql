-- 8: campaigns (issue 20). A campaign's definition as JSON (`spec`), its
-- state and running counts; every member it reached, treated (coupons in
-- their ledger under `source`) or held back in its control group, once
-- each; and each member's RFM segment from the last nightly run.
CREATE TABLE campaigns (code TEXT PRIMARY KEY, spec TEXT NOT NULL,
   state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'stopped')),
   budget INTEGER NOT NULL, issued INTEGER NOT NULL DEFAULT 0,
   treated INTEGER NOT NULL DEFAULT 0, control INTEGER NOT NULL DEFAULT 0,
   created_by TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE campaign_members (campaign TEXT NOT NULL REFERENCES campaigns (code),
   member_id TEXT NOT NULL, treated INTEGER NOT NULL CHECK (treated IN (0, 1)),
   sleeping INTEGER NOT NULL CHECK (sleeping IN (0, 1)), reached_at_ms INTEGER NOT NULL,
   source TEXT, coupons INTEGER NOT NULL, PRIMARY KEY (campaign, member_id));
CREATE TABLE member_rfm (member_id TEXT PRIMARY KEY, r INTEGER NOT NULL,
   f INTEGER NOT NULL, m INTEGER NOT NULL, segment TEXT NOT NULL, day TEXT NOT NULL);
