-- 11: campaigns (issue 20). A campaign's definition as JSON (`spec`), its
-- state and running counts; every member it reached, treated (coupons in
-- their ledger under `source`) or held back in its control group, once
-- each; and each member's RFM segment from the last nightly run.
CREATE TABLE campaigns (code TEXT PRIMARY KEY, spec TEXT NOT NULL,
   state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'stopped')),
   budget BIGINT NOT NULL, issued BIGINT NOT NULL DEFAULT 0,
   treated BIGINT NOT NULL DEFAULT 0, control BIGINT NOT NULL DEFAULT 0,
   created_by TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE campaign_members (campaign TEXT NOT NULL REFERENCES campaigns (code),
   member_id TEXT NOT NULL, treated BOOLEAN NOT NULL, sleeping BOOLEAN NOT NULL,
   reached_at_ms BIGINT NOT NULL, source TEXT, coupons BIGINT NOT NULL,
   PRIMARY KEY (campaign, member_id));
CREATE TABLE member_rfm (member_id TEXT PRIMARY KEY, r BIGINT NOT NULL,
   f BIGINT NOT NULL, m BIGINT NOT NULL, segment TEXT NOT NULL, day TEXT NOT NULL);
