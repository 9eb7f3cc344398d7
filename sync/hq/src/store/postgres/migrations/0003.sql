DROP INDEX ledger_terminal;
     DO $$ BEGIN
        ALTER TABLE members ALTER COLUMN account SET COMPRESSION lz4;
     EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL;
     END $$;