-- 18: outbox epochs of rolled-back terminals (issue 22; sync/hq/src/ingest/epoch.rs).
-- A terminal whose store was rolled back renumbers its waiting events above
-- the highest seq head office held, in a new epoch: one row per epoch a
-- terminal opened (none: epoch 0 from seq 1). An event renumbered is found
-- by its id (events_by_id) and not applied twice; its new seq is stored
-- with status 'renumbered'.
CREATE TABLE terminal_epochs (terminal_id TEXT NOT NULL, epoch BIGINT NOT NULL,
   first_seq BIGINT NOT NULL, held_seq BIGINT NOT NULL, opened_at TEXT NOT NULL,
   PRIMARY KEY (terminal_id, epoch));
CREATE INDEX events_by_id ON events (terminal_id, event_id);
