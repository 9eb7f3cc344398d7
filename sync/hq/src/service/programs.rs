//! Program versions at head office: the versions published so far, the
//! one in force at a moment, and publishing a new one.
//!
//! A version is published ahead of the moment it takes effect (its
//! `effective_from`, in store time) and travels down to every terminal on
//! its next sync, like every program before it (the change log's `program`
//! rows). Terminals and head office then price each sale with the version
//! in force at the sale's own moment (`rules::program::in_force_at`), so a
//! terminal offline across the change agrees with one that was online, and
//! re-verification (`ingest`) agrees with both.
//!
//! Publishing refuses, with every problem listed, a program that does not
//! validate, and one whose moment is missing or less than a minute ahead
//! ([`LEAD`]): a version taking effect in the past would re-price sales
//! already made, and every head-office process must know a version before
//! it takes effect (each reads them again every [`CACHED_FOR`]).
//! The number, the change and the audit row are one transaction.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tillcard_rules::Program;
use tillcard_rules::ids::Timestamp;
use tillcard_rules::program::in_force_at;

use super::back_office::Actor;
use super::{Hq, now};
use crate::error::HqError;

/// How long a process keeps the versions it read before reading them
/// again. A version takes effect at least [`LEAD`] after it is published,
/// longer than this, so every head-office process sharing the database
/// knows a version before its first sale.
pub const CACHED_FOR: Duration = Duration::from_secs(20);

/// The least time between publishing a version and its moment.
pub const LEAD: chrono::Duration = chrono::Duration::minutes(1);

/// The versions as last read, and when. Every upload re-prices its sales
/// with them: reading and parsing every version per batch cost about a
/// tenth of PostgreSQL ingest's throughput (hq.ingest_ratio).
#[derive(Debug, Default)]
pub(super) struct ProgramCache(Mutex<Option<(Instant, Arc<Vec<Program>>)>>);

impl Hq {
    /// Every version published, oldest first (the default program that
    /// head office put down at its first start is the first).
    pub async fn programs(&self) -> Result<Vec<Program>, HqError> {
        Ok(self.store.programs().await?)
    }

    /// [`Hq::programs`], read at most every [`CACHED_FOR`].
    pub async fn programs_cached(&self) -> Result<Arc<Vec<Program>>, HqError> {
        if let Ok(cache) = self.programs.0.lock()
            && let Some((read_at, programs)) = cache.as_ref()
            && read_at.elapsed() < CACHED_FOR
        {
            return Ok(Arc::clone(programs));
        }
        let programs = Arc::new(self.programs().await?);
        if let Ok(mut cache) = self.programs.0.lock() {
            *cache = Some((Instant::now(), Arc::clone(&programs)));
        }
        Ok(programs)
    }

    /// The version in force at `at` (the default program when none is).
    pub async fn program_at(&self, at: Timestamp) -> Result<Program, HqError> {
        Ok(in_force_at(&self.programs_cached().await?, at)
            .cloned()
            .unwrap_or_default())
    }

    /// The version in force now.
    pub async fn program(&self) -> Result<Program, HqError> {
        self.program_at(now()).await
    }

    /// Publishes `program` as the next version, taking effect at its
    /// `effective_from`; returns it with its number. Refused: a program
    /// that does not validate (`invalid_program`, every problem listed), no
    /// moment (`effective_from_missing`), a moment not after now
    /// (`effective_from_past`).
    pub async fn publish_program(
        &self,
        actor: &Actor,
        program: &Program,
    ) -> Result<Program, HqError> {
        check_publishable(program, now())?;
        let from = program
            .effective_from
            .map(|f| f.to_rfc3339())
            .unwrap_or_default();
        let audit = actor.audit(
            "program_published",
            "program".into(),
            format!("takes effect {from}"),
        );
        let published = self.store.publish_program(program, &audit).await?;
        if let Ok(mut cache) = self.programs.0.lock() {
            *cache = None;
        }
        tracing::info!(version = published.version, effective_from = %from, actor = %actor.name, "program version published");
        Ok(published)
    }
}

/// Every reason `program` may not be published at `now`, in words, the
/// program's problems first, then its moment's (the console lists them).
pub fn publish_problems(program: &Program, now: Timestamp) -> Vec<String> {
    let mut problems: Vec<String> = match program.validate() {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid.0.iter().map(ToString::to_string).collect(),
    };
    if let Some((_, why)) = moment_problem(program, now) {
        problems.push(why);
    }
    problems
}

/// What is wrong with the program's moment, if anything: its code and why.
pub(crate) fn moment_problem(program: &Program, now: Timestamp) -> Option<(&'static str, String)> {
    match program.effective_from {
        None => Some((
            "effective_from_missing",
            "a program version needs the moment it takes effect (effective_from)".to_string(),
        )),
        Some(from) if from < now + LEAD => Some((
            "effective_from_past",
            format!(
                "effective_from {} is not a minute or more in the future: a version cannot take effect for sales already made, and every head office must know it first",
                from.to_rfc3339()
            ),
        )),
        Some(_) => None,
    }
}

/// A program that does not validate is refused as `invalid_program` with
/// every problem, its moment's too; a valid one with a bad moment with the
/// moment's own code.
pub fn check_publishable(program: &Program, now: Timestamp) -> Result<(), HqError> {
    let refused = |code, message| HqError::Refused(StatusCode::BAD_REQUEST, code, message);
    match (program.validate(), moment_problem(program, now)) {
        (Err(invalid), None) => Err(refused("invalid_program", invalid.to_string())),
        (Err(invalid), Some((_, why))) => {
            Err(refused("invalid_program", format!("{invalid}; {why}")))
        }
        (Ok(()), Some((code, why))) => Err(refused(code, why)),
        (Ok(()), None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    fn code(result: Result<(), HqError>) -> &'static str {
        match result {
            Ok(()) => "ok",
            Err(HqError::Refused(_, code, _)) => code,
            Err(_) => "other",
        }
    }

    #[test]
    fn a_version_needs_a_future_moment_and_a_valid_program() {
        let now = at("2026-12-04T10:00:00+08:00");
        let with = |from: Option<&str>| Program {
            effective_from: from.map(at),
            ..Program::default()
        };
        assert_eq!(
            code(check_publishable(&with(None), now)),
            "effective_from_missing"
        );
        assert_eq!(
            code(check_publishable(
                &with(Some("2026-12-04T10:00:00+08:00")),
                now
            )),
            "effective_from_past"
        );
        assert_eq!(
            code(check_publishable(
                &with(Some("2026-12-04T10:00:59+08:00")),
                now
            )),
            "effective_from_past",
            "less than a minute ahead"
        );
        assert_eq!(
            code(check_publishable(
                &with(Some("2026-12-04T10:01:00+08:00")),
                now
            )),
            "ok"
        );
        let mut broken = with(Some("2026-12-05T00:00:00+08:00"));
        broken.redemption.step = 0;
        broken.referral.points_each = -5;
        let Err(HqError::Refused(_, "invalid_program", message)) = check_publishable(&broken, now)
        else {
            panic!("an invalid program was accepted");
        };
        assert!(
            message.contains("redemption step") && message.contains("referral points"),
            "every problem listed: {message}"
        );
        broken.effective_from = Some(now);
        let Err(HqError::Refused(_, "invalid_program", message)) = check_publishable(&broken, now)
        else {
            panic!("an invalid program was accepted");
        };
        assert!(
            message.contains("not a minute or more in the future"),
            "the moment too: {message}"
        );
    }
}
