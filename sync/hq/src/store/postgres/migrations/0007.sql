ALTER TABLE terminals ADD COLUMN app_version TEXT;
