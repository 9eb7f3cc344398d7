-- 4: the version of each terminal's software (issue 18), as it said with
-- its latest batch that said one; null until then (older terminals never
-- say).
ALTER TABLE terminals ADD COLUMN app_version TEXT;
