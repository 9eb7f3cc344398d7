//! The daily jobs' statements, one text for both backends: placeholders
//! `$1`, `$2`, ... appear in order, which PostgreSQL reads as positions and
//! SQLite numbers the same way (a `$name` parameter takes the next number),
//! so both bind the same values by position.

/// Claims a day's run: a new row, or a failed or abandoned run whose lease
/// has passed taken up again; `RETURNING` answers only the caller that got
/// it. On PostgreSQL `INSERT ... ON CONFLICT` locks the row it conflicts
/// on, so of two head offices claiming at once the second sees the first's
/// lease; SQLite serializes writers. Binds: job, day, holder, now (ms),
/// lease until (ms).
pub(crate) const CLAIM: &str =
    "INSERT INTO job_runs (job, day, holder, started_at_ms, lease_until_ms)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (job, day) DO UPDATE SET
        holder = excluded.holder, lease_until_ms = excluded.lease_until_ms,
        started_at_ms = excluded.started_at_ms, finished_at_ms = NULL, outcome = NULL,
        detail = NULL, attempts = job_runs.attempts + 1
     WHERE job_runs.lease_until_ms < excluded.started_at_ms
       AND (job_runs.outcome IS NULL OR job_runs.outcome = 'failed')
     RETURNING attempts";

/// Finishes a run the holder still holds. Binds: finished (ms), outcome,
/// detail, retry after (ms), job, day, holder.
pub(crate) const FINISH: &str = "UPDATE job_runs
     SET finished_at_ms = $1, outcome = $2, detail = $3, lease_until_ms = $4
     WHERE job = $5 AND day = $6 AND holder = $7 AND finished_at_ms IS NULL";

/// Records how far a run got and renews its lease, while the holder still
/// holds it. Binds: progress, lease until (ms), job, day, holder.
pub(crate) const PROGRESS: &str = "UPDATE job_runs
     SET progress = $1, lease_until_ms = $2
     WHERE job = $3 AND day = $4 AND holder = $5 AND finished_at_ms IS NULL";

/// How far a day's run got. Binds: job, day.
pub(crate) const PROGRESS_OF: &str = "SELECT progress FROM job_runs WHERE job = $1 AND day = $2";

/// The last day a job ran well. Binds: job.
pub(crate) const LAST_OK_DAY: &str =
    "SELECT max(day) FROM job_runs WHERE job = $1 AND outcome = 'ok'";
