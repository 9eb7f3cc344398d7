//! Head office's daily jobs: two head offices on one PostgreSQL, a fake
//! clock across three days, each job run exactly once a day (in one test
//! process, and as two `tillcard-hq` OS processes); a missed day
//! caught up; a run whose holder died taken up once its lease passes; a
//! run retried books nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use tillcard_hq::jobs::{self, Job, JobsConfig, Ran, schedule};
use tillcard_hq::service::Hq;
use tillcard_hq::store::postgres::PgStore;
use tillcard_hq::store::{JobClaim, JobRunRecord};
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::EntryKind;
use tillcard_rules::{LedgerEntry, MemberAccount};
use util::{Backend, Harness, harness, harness_postgres, new_member};

/// A member with a lot of points earned at the till's clock; the business
/// day the lot's expiry falls on.
async fn member_with_points(h: &Harness) -> (MemberId, NaiveDate) {
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, account) = till.enroll_account(member, "13500135000");
    let (added, entries) = till.add_points(&account, 300);
    let (status, _) = h.upload(&till, vec![enrolled, added]).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    let expires_at = entries
        .iter()
        .find_map(|e| match e.kind {
            EntryKind::PointsEarned { expires_at, .. } => Some(expires_at),
            _ => None,
        })
        .unwrap();
    (member, schedule::business_day(expires_at))
}

async fn ledger(hq: &Hq, member: MemberId) -> Vec<LedgerEntry> {
    hq.store().member(member).await.unwrap().unwrap().1
}

fn count(ran: &[Ran], job: Job) -> usize {
    ran.iter().filter(|r| r.job == job).count()
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The job's recorded runs, oldest day first.
fn runs_of(runs: &[JobRunRecord], job: Job) -> Vec<&JobRunRecord> {
    let mut of: Vec<_> = runs.iter().filter(|r| r.job == job.name()).collect();
    of.sort_by(|a, b| a.day.cmp(&b.day));
    of
}

/// `recorded` (one job's runs) is one finished, good, first-attempt run for
/// each of `days`.
fn assert_one_good_run_a_day(recorded: &[&JobRunRecord], days: &[NaiveDate]) {
    assert_eq!(
        recorded.iter().map(|r| r.day.clone()).collect::<Vec<_>>(),
        days.iter().copied().map(day_text).collect::<Vec<_>>(),
        "one run a day, each day"
    );
    for run in recorded {
        assert_eq!(run.outcome.as_deref(), Some("ok"));
        assert_eq!(run.attempts, 1, "no run was taken up twice");
        assert!(run.finished_at_ms.unwrap() >= run.started_at_ms);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_head_offices_on_one_postgres_run_each_job_exactly_once_a_day_for_three_days() {
    let (h, url) = harness_postgres().await;
    let other = Hq::open(Arc::new(PgStore::connect(&url).await.unwrap()), None)
        .await
        .unwrap();
    let (member, expiry_day) = member_with_points(&h).await;
    let config = JobsConfig::default();
    // Three business days: the day before the lot expires, the day it
    // does, the day after. The clock starts at the first day's moment.
    let first = expiry_day - Duration::days(1);
    let days: Vec<NaiveDate> = first.iter_days().take(3).collect();
    let start = schedule::moment(first, config.time_of_day).unwrap();
    let end = start + Duration::days(3);
    let (mut by_a, mut by_b) = (Vec::new(), Vec::new());
    let mut now: Timestamp = start;
    let mut ticks = 0;
    while now < end {
        let (a, b) = tokio::join!(
            jobs::run_due(&h.hq, &config, "hq-a", now),
            jobs::run_due(&other, &config, "hq-b", now)
        );
        by_a.extend(a.unwrap());
        by_b.extend(b.unwrap());
        now += Duration::minutes(15);
        ticks += 1;
    }
    let runs = h.hq.store().job_runs(100).await.unwrap();
    let entries = ledger(&h.hq, member).await;
    let expiries: Vec<_> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::PointsExpired { .. }))
        .collect();
    for job in Job::ALL {
        println!(
            "jobs: {} over {ticks} ticks of both head offices: {} runs by a, {} by b, recorded {:?}",
            job.name(),
            count(&by_a, job),
            count(&by_b, job),
            runs_of(&runs, job)
                .iter()
                .map(|r| (r.day.as_str(), r.holder.as_str(), r.outcome.as_deref()))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            count(&by_a, job) + count(&by_b, job),
            3,
            "{} ran exactly three times in three days",
            job.name()
        );
        assert_one_good_run_a_day(&runs_of(&runs, job), &days);
    }
    assert_eq!(expiries.len(), 1, "the lot expired once: {expiries:?}");
    let moment = schedule::moment(expiry_day, config.time_of_day).unwrap();
    assert_eq!(
        expiries[0].source,
        schedule::run_id("points_expiry", expiry_day, moment),
        "expired by the run of the day the lot expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_days_are_caught_up_in_order_and_a_dead_holders_run_is_taken_up_after_its_lease() {
    let h = harness(Backend::Sqlite).await;
    let (member, expiry_day) = member_with_points(&h).await;
    let config = JobsConfig::default();
    let day1 = expiry_day - Duration::days(2);
    let at = |day: NaiveDate, minutes: i64| {
        schedule::moment(day, config.time_of_day).unwrap() + Duration::minutes(minutes)
    };
    let first = jobs::run_due(&h.hq, &config, "hq", at(day1, 5))
        .await
        .unwrap();
    assert_eq!(
        first.len(),
        Job::ALL.len(),
        "every job ran for the first day: {first:?}"
    );

    // Head office is down for three days; back up at 10:00 on day 4.
    let day4 = day1 + Duration::days(3);
    let caught_up = jobs::run_due(&h.hq, &config, "hq", at(day4, 7 * 60))
        .await
        .unwrap();
    println!("jobs: back after three days: {caught_up:?}");
    for job in Job::ALL {
        let days: Vec<NaiveDate> = caught_up
            .iter()
            .filter(|r| r.job == job)
            .map(|r| r.day)
            .collect();
        assert_eq!(
            days,
            (1..=3)
                .map(|n| day1 + Duration::days(n))
                .collect::<Vec<_>>(),
            "{}: the missed days, oldest first",
            job.name()
        );
    }
    assert!(caught_up.iter().all(|r| r.outcome.is_ok()));
    let expired = |entries: &[LedgerEntry]| {
        entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::PointsExpired { .. }))
            .count()
    };
    assert_eq!(expired(&ledger(&h.hq, member).await), 1);

    // Running a day's expiry again under its run id books nothing more.
    let moment = schedule::moment(expiry_day, config.time_of_day).unwrap();
    let again =
        h.hq.expire_points_as(
            moment,
            schedule::run_id("points_expiry", expiry_day, moment),
        )
        .await
        .unwrap();
    assert_eq!(again, 0, "a retried run books nothing twice");
    let tiers_again =
        h.hq.evaluate_tiers_as(
            moment,
            schedule::run_id("tier_evaluation", expiry_day, moment),
        )
        .await
        .unwrap();
    assert_eq!(tiers_again, 0);
    let entries = ledger(&h.hq, member).await;
    assert_eq!(expired(&entries), 1);
    let account = MemberAccount::fold(MemberAccount::new(member), &entries);
    assert_eq!(account.points_balance(at(day4, 60)), 0);

    // Day 5: a process claims the expiry and dies; the other waits out the
    // lease, then takes the run up.
    let day5 = day4 + Duration::days(1);
    let claimed_at = at(day5, 1);
    let store = h.hq.store();
    let lease = config.lease.num_milliseconds();
    assert!(
        store
            .claim_job(&JobClaim {
                job: "points_expiry".into(),
                day: day_text(day5),
                holder: "dead".into(),
                now_ms: claimed_at.timestamp_millis(),
                lease_until_ms: claimed_at.timestamp_millis() + lease,
            })
            .await
            .unwrap()
    );
    let during = jobs::run_due(&h.hq, &config, "hq", at(day5, 10))
        .await
        .unwrap();
    let others: Vec<Job> = Job::ALL
        .into_iter()
        .filter(|j| *j != Job::PointsExpiry)
        .collect();
    assert_eq!(
        during.iter().map(|r| r.job).collect::<Vec<_>>(),
        others,
        "the expiry waits while the dead holder's lease runs; the other jobs run"
    );
    let after = jobs::run_due(&h.hq, &config, "hq", at(day5, 32))
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|r| r.job).collect::<Vec<_>>(),
        vec![Job::PointsExpiry]
    );
    let runs = store.job_runs(100).await.unwrap();
    let taken_up = runs
        .iter()
        .find(|r| r.job == "points_expiry" && r.day == day_text(day5))
        .unwrap();
    println!("jobs: taken up after the lease: {taken_up:?}");
    assert_eq!(taken_up.holder, "hq");
    assert_eq!(taken_up.attempts, 2);
    assert_eq!(taken_up.outcome.as_deref(), Some("ok"));
}

/// `tillcard-hq jobs run --at MOMENT` against the PostgreSQL at `url`: what
/// it printed, one line per run it made.
fn jobs_run_process(url: &str, at: Timestamp) -> std::process::Child {
    // The personal-data key head office refuses to start without (the
    // tests' fixed one), a file per process started (two start at once).
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let key = std::env::temp_dir().join(format!("tillcard-hq-jobs-{}-{n}.key", std::process::id()));
    std::fs::write(&key, [0x5a; 32]).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_tillcard-hq"))
        .args(["jobs", "run", "--at", &at.to_rfc3339()])
        .env("TILLCARD_HQ_PERSONAL_KEY_FILE", &key)
        .env("TILLCARD_HQ_DATABASE_URL", url)
        .env_remove("TILLCARD_HQ_DATABASE_URL_FILE")
        .env_remove("TILLCARD_HQ_SQLITE")
        .env_remove("TILLCARD_HQ_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The same as the in-process test above, with two `tillcard-hq` OS
/// processes: at each tick of a fake clock across three past days, two
/// processes run the jobs owed at that moment side by side (`jobs run
/// --at`, the scheduler's own `run_due`), racing for each day's lease in
/// one PostgreSQL. Each job runs exactly once a day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tillcard_hq_processes_on_one_postgres_run_each_job_once_a_day_across_three_days() {
    let (h, url) = harness_postgres().await;
    let config = JobsConfig::default();
    // Three days ending the day before yesterday: every tick is in the past
    // (the command refuses a moment in the future).
    let today = schedule::business_day(chrono::Utc::now().fixed_offset());
    let days: Vec<NaiveDate> = (today - Duration::days(4)).iter_days().take(3).collect();
    let mut printed = Vec::new();
    let mut ticks = 0;
    for day in &days {
        let moment = schedule::moment(*day, config.time_of_day).unwrap();
        // At the moment itself both race; a minute later and hours later
        // there is nothing left to run.
        for at in [
            moment,
            moment + Duration::minutes(1),
            moment + Duration::hours(5),
        ] {
            let (a, b) = (jobs_run_process(&url, at), jobs_run_process(&url, at));
            for child in [a, b] {
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "jobs run --at {at}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                printed.extend(
                    String::from_utf8(out.stdout)
                        .unwrap()
                        .lines()
                        .map(str::to_owned),
                );
            }
            ticks += 1;
        }
    }
    let runs = h.hq.store().job_runs(100).await.unwrap();
    for job in Job::ALL {
        let lines: Vec<&String> = printed
            .iter()
            .filter(|l| l.split('\t').next() == Some(job.name()))
            .collect();
        let recorded = runs_of(&runs, job);
        let holders: BTreeSet<&str> = recorded.iter().map(|r| r.holder.as_str()).collect();
        println!(
            "jobs (two processes): {} over {ticks} ticks, 2 processes each: printed {} runs, recorded {:?} by {} distinct processes",
            job.name(),
            lines.len(),
            recorded
                .iter()
                .map(|r| (r.day.as_str(), r.outcome.as_deref(), r.attempts))
                .collect::<Vec<_>>(),
            holders.len()
        );
        assert_eq!(
            lines.len(),
            3,
            "{} ran exactly three times: {lines:?}",
            job.name()
        );
        assert_one_good_run_a_day(&recorded, &days);
        for run in recorded {
            assert!(
                run.holder.starts_with("pid"),
                "run by a process: {}",
                run.holder
            );
        }
    }
    // A moment in the future is refused: a day's jobs never run early.
    let later = chrono::Utc::now().fixed_offset() + Duration::days(1);
    let out = jobs_run_process(&url, later).wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("moment_in_future"));
}

/// `n` members enrolled at one store and raised to silver 400 days before
/// the tests' moment, with no spend since: a tier evaluation takes each
/// down one tier. Sorted by id (the order the jobs walk them in).
async fn silver_members(h: &Harness, n: usize) -> Vec<MemberId> {
    use tillcard_rules::TierLevel;
    use tillcard_rules::ids::SourceId;
    let mut till = h.provision("S001").await;
    let mut members: Vec<MemberId> = (0..n).map(|_| new_member()).collect();
    for (c, chunk) in members.chunks(500).enumerate() {
        let events = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| till.enroll(*m, &format!("1390{:07}", c * 500 + i)).0)
            .collect();
        let (status, _) = h.upload(&till, events).await;
        assert_eq!(status, axum::http::StatusCode::OK);
    }
    let raised: Vec<(MemberId, Vec<LedgerEntry>)> = members
        .iter()
        .map(|m| {
            let entry = LedgerEntry {
                member: *m,
                source: SourceId(uuid::Uuid::now_v7()),
                at: util::t0() - Duration::days(400),
                kind: EntryKind::TierChanged {
                    from: TierLevel(0),
                    to: TierLevel(1),
                    provisional: false,
                },
            };
            (*m, vec![entry])
        })
        .collect();
    h.hq.store().append_entries_many(&raised).await.unwrap();
    members.sort_by_key(|m| m.to_string());
    members
}

async fn tier_of(h: &Harness, member: MemberId) -> u8 {
    MemberAccount::fold(MemberAccount::new(member), &ledger(&h.hq, member).await)
        .tier
        .0
}

/// Tier evaluation walks members a page at a time ([`JOB_PAGE`]): 2,500
/// members (three pages), each at silver with no spend, all go down one
/// tier in one run, the pages booked together (`append_entries_many`);
/// the same run again books nothing.
async fn tiers_by_pages(backend: Backend) {
    use tillcard_hq::service::JOB_PAGE;
    let h = harness(backend).await;
    const MEMBERS: usize = 2_500;
    assert!(MEMBERS as i64 > 2 * JOB_PAGE, "spans pages");
    let members = silver_members(&h, MEMBERS).await;
    let at = util::t0();
    let run = schedule::run_id("tier_evaluation", schedule::business_day(at), at);
    let changed = h.hq.evaluate_tiers_as(at, run).await.unwrap();
    let again = h.hq.evaluate_tiers_as(at, run).await.unwrap();
    println!(
        "[{backend:?}] {MEMBERS} members in pages of {JOB_PAGE}: {changed} tier changes, {again} on the same run again"
    );
    assert_eq!(changed, MEMBERS);
    assert_eq!(again, 0);
    for m in [members[0], members[MEMBERS / 2], members[MEMBERS - 1]] {
        assert_eq!(tier_of(&h, m).await, 0);
    }
}

/// A claimed run records each page with its lease renewed; a process
/// taking the run up goes on after the last page recorded (the members
/// before it are not read again: here the dead holder recorded a page it
/// never booked, and those members keep their tier); a run whose lease
/// another process holds now stops after the page in hand.
async fn runs_resume_and_stop(backend: Backend) {
    use tillcard_hq::service::job_progress::RunProgress;
    let h = harness(backend).await;
    let members = silver_members(&h, 2_500).await;
    let store = Arc::clone(h.hq.store());
    let at = util::t0();
    let day = schedule::business_day(at);
    let run = schedule::run_id("tier_evaluation", day, at);
    let now_ms = at.timestamp_millis();
    let claim = |holder: &str, now_ms: i64| JobClaim {
        job: "tier_evaluation".into(),
        day: day_text(day),
        holder: holder.into(),
        now_ms,
        lease_until_ms: now_ms + 60_000,
    };
    // A process claims the run, records its first page (never booked, as
    // if it died between) and dies.
    assert!(store.claim_job(&claim("dead", now_ms)).await.unwrap());
    let dead = claim("dead", now_ms);
    assert!(
        store
            .record_job_progress(&dead, &members[999].to_string())
            .await
            .unwrap()
    );
    // Its lease passes; another process takes the run up.
    let later = now_ms + 120_000;
    assert!(store.claim_job(&claim("alive", later)).await.unwrap());
    // The dead process, had it only stalled, stops at its next page: it
    // books that page under the run's id, then finds the run another's.
    let stale = RunProgress::resume(Arc::clone(&store), dead, 60_000)
        .await
        .unwrap();
    let stopped = h.hq.evaluate_tiers_in(at, run, Some(&stale)).await;
    assert!(
        matches!(stopped, Err(tillcard_hq::error::HqError::Conflict(_))),
        "{stopped:?}"
    );
    // The process holding it goes on after the last page recorded: the
    // page the stalled one booked without recording is skipped by the
    // run's id, the rest booked once.
    let progress = RunProgress::resume(Arc::clone(&store), claim("alive", later), 60_000)
        .await
        .unwrap();
    assert_eq!(progress.from(), Some(members[999]));
    let changed =
        h.hq.evaluate_tiers_in(at, run, Some(&progress))
            .await
            .unwrap();
    println!(
        "[{backend:?}] 2,500 members, the first 1,000 recorded by a dead holder: a stalled \
         holder stopped with {stopped:?}; the taker-up booked {changed}"
    );
    assert_eq!(
        changed, 500,
        "the last page; the one before was booked once already"
    );
    assert_eq!(
        tier_of(&h, members[0]).await,
        1,
        "before the recorded page: not read again"
    );
    assert_eq!(tier_of(&h, members[999]).await, 1);
    for m in [members[1000], members[1999], members[2000], members[2499]] {
        assert_eq!(tier_of(&h, m).await, 0);
        let changes = ledger(&h.hq, m)
            .await
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::TierChanged { .. }))
            .count();
        assert_eq!(changes, 2, "raised once, lowered once");
    }
    assert_eq!(
        store
            .job_progress("tier_evaluation", &day_text(day))
            .await
            .unwrap(),
        Some(members[2_499].to_string())
    );
}

#[tokio::test]
async fn a_claimed_run_resumes_after_its_last_recorded_page_and_stops_when_its_lease_is_taken_sqlite()
 {
    runs_resume_and_stop(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_claimed_run_resumes_after_its_last_recorded_page_and_stops_when_its_lease_is_taken_postgres()
 {
    runs_resume_and_stop(Backend::Postgres).await;
}

#[tokio::test]
async fn tier_evaluation_walks_members_by_pages_and_books_each_once_sqlite() {
    tiers_by_pages(Backend::Sqlite).await;
}

#[tokio::test]
async fn tier_evaluation_walks_members_by_pages_and_books_each_once_postgres() {
    tiers_by_pages(Backend::Postgres).await;
}
