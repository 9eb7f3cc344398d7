-- 8: head office's daily jobs (issue 19): one row a job a business day,
-- claimed by one head-office process at a time (the lease) and finished
-- with its outcome. Times in ms since the epoch.
CREATE TABLE job_runs (
    job TEXT NOT NULL,
    day TEXT NOT NULL,
    holder TEXT NOT NULL,
    lease_until_ms BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    finished_at_ms BIGINT,
    outcome TEXT,
    detail TEXT,
    attempts BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (job, day)
);
