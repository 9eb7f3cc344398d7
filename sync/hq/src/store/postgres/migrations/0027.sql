-- 27: the chain-wide log (`changes` with no store: programs, card keys,
-- revocations, staff) read by its own index. Every downlink page reads it
-- after the terminal's cursor; without this the planner walked
-- `changes_order` from the cursor through every store's changes, filtering
-- for no store: about 4 ms a poll at 3,600 stores with cursors a few
-- seconds old (issue 23, `hq.chain_ack_p99_ms`), against 0.1 ms by this
-- index.
CREATE INDEX changes_chain ON changes (xid, position) WHERE store IS NULL;
