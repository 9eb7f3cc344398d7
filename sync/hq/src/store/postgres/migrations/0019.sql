-- 18: each terminal's clock skew (issue 22): its wall clock minus head
-- office's (ms, positive when ahead), as it reported it on its latest
-- signed request (x-tillcard-clock-skew) or as its signed timestamp showed
-- it, and when head office recorded it; NULL until then.
ALTER TABLE terminals ADD COLUMN clock_skew_ms BIGINT, ADD COLUMN clock_skew_at TEXT;
