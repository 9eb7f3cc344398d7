ALTER TABLE ledger RENAME COLUMN entry TO entries;
     ALTER TABLE ledger ADD COLUMN entry_count INT NOT NULL DEFAULT 1;
     UPDATE ledger SET entries = '[[' || coalesce(seq::text, 'null') || ',' || entries || ']]';
     ALTER TABLE ledger DROP COLUMN source;
     DO $$ BEGIN
        ALTER TABLE ledger ALTER COLUMN entries SET COMPRESSION lz4;
     EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL;
     END $$;