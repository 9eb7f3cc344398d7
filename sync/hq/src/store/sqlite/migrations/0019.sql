-- 19: a daily job's progress (issue 23): the last member a run booked a
-- page up to. Written with the lease's renewal after each page, read by a
-- process taking the run up, which goes on from there.
ALTER TABLE job_runs ADD COLUMN progress TEXT;
