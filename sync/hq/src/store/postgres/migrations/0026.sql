-- 26: walk-in sales returned twice (issue 24). A sale with no member
-- refunded beyond what was sold has no member's conflict queue: ingest
-- flags it here, in the batch's transaction, when its excess grows. The
-- sale, the terminal that sold it, those that returned it (comma-
-- separated), the lines (`line N: sold S, refunded R`, `; `-separated),
-- the uploading terminal and the event's seq that raised it, when head
-- office detected it (RFC 3339); open until a head-office user
-- acknowledges it (who, when). No personal data: a walk-in has none.
CREATE TABLE walk_in_returns (flag_no BIGSERIAL PRIMARY KEY,
   sale_id TEXT NOT NULL, sold_at TEXT NOT NULL, returned_at TEXT NOT NULL,
   lines TEXT NOT NULL, terminal_id TEXT NOT NULL, seq BIGINT NOT NULL,
   at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open', acknowledged_by TEXT,
   acknowledged_at TEXT);
CREATE INDEX walk_in_returns_sale ON walk_in_returns (sale_id);
CREATE INDEX walk_in_returns_open ON walk_in_returns (state, flag_no);
