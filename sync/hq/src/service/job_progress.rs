//! A daily job's run as it goes (issue 23: jobs over millions of members,
//! resumable): where it starts, and each page recorded with the lease's
//! renewal. A run that finds its lease taken stops at once rather than
//! book beside the process that took it up; a process taking a run up goes
//! on after the last page the earlier attempt recorded (members up to it
//! are done; the run's action id keeps a page booked but not recorded from
//! being booked twice).

use std::sync::Arc;
use std::time::Instant;

use tillcard_rules::ids::MemberId;

use crate::error::HqError;
use crate::store::{JobClaim, Store};

/// A claimed run's progress.
pub struct RunProgress {
    store: Arc<dyn Store>,
    claim: JobClaim,
    lease_ms: i64,
    started: Instant,
    from: Option<MemberId>,
}

impl RunProgress {
    /// The run `claim` names, leased `lease_ms` at a time, starting after
    /// what an earlier attempt recorded (read from the store).
    pub async fn resume(
        store: Arc<dyn Store>,
        claim: JobClaim,
        lease_ms: i64,
    ) -> Result<RunProgress, HqError> {
        let from = store
            .job_progress(&claim.job, &claim.day)
            .await?
            .and_then(|text| uuid::Uuid::parse_str(&text).ok().map(MemberId));
        Ok(RunProgress {
            store,
            claim,
            lease_ms,
            started: Instant::now(),
            from,
        })
    }

    /// The last member an earlier attempt finished a page with.
    pub fn from(&self) -> Option<MemberId> {
        self.from
    }

    /// Records that every member up to `last` is done and renews the lease
    /// from now; refused (409) when another process holds the run now.
    pub async fn page_done(&self, last: MemberId) -> Result<(), HqError> {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now_ms = self.claim.now_ms.saturating_add(elapsed);
        let renewed = JobClaim {
            lease_until_ms: now_ms.saturating_add(self.lease_ms),
            now_ms,
            ..self.claim.clone()
        };
        if self
            .store
            .record_job_progress(&renewed, &last.to_string())
            .await?
        {
            Ok(())
        } else {
            Err(HqError::Conflict(format!(
                "{} {}: the run's lease passed and another process took it up; this one stops",
                self.claim.job, self.claim.day
            )))
        }
    }
}
