//! The program editor (`/console/program`): the versions published, and a
//! draft of the next one, written as TOML (the program's own fields, the
//! same file `tillcard-hq program import` reads), with the store-local
//! moment it takes effect.
//!
//! "Preview" answers the page itself (not a redirect), keeping the draft:
//! every problem that would refuse it, each beside the line of the draft
//! that holds its field ([`super::draft_problems`]), and the sample basket
//! priced for a
//! member of each tier under the version in force at that moment and under
//! the draft ([`super::preview`]), the rows that change marked. "Publish"
//! publishes it through [`Hq::publish_program`] (the admin API's
//! operation, audited) and redirects with a notice; refused, the page comes
//! back with the draft and the problems. Nothing is half published.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDateTime, TimeZone};
use minijinja::context;
use tillcard_rules::Program;
use tillcard_rules::ids::Timestamp;
use tillcard_rules::program::in_force_at;

use super::draft_problems::{self, DraftProblem, EFFECTIVE_FROM};
use super::forms::{Posted, Submission, accept};
use super::preview::{PreviewRow, preview};
use super::{Flash, html, redirect, render};
use crate::error::HqError;
use crate::figures::{BUSINESS_OFFSET_SECONDS, in_business_offset};
use crate::service::Hq;
use crate::service::roles::Operation;

/// Where the editor lives.
pub(super) const PATH: &str = "/console/program";

/// The program as the editor's TOML (version and moment left out: the
/// editor's own fields set them).
pub(super) fn to_toml(program: &Program) -> String {
    let draft = Program {
        version: 0,
        effective_from: None,
        ..program.clone()
    };
    toml::to_string(&draft).unwrap_or_default()
}

/// A store-local `YYYY-MM-DDTHH:MM` (a `datetime-local` input's value) as
/// a moment in the business offset.
pub(super) fn moment(text: &str) -> Option<Timestamp> {
    let local = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M").ok()?;
    chrono::FixedOffset::east_opt(BUSINESS_OFFSET_SECONDS)?
        .from_local_datetime(&local)
        .single()
}

/// The page's context: the versions published and the draft's state.
pub(super) async fn page(
    hq: &Hq,
    draft: &str,
    from: &str,
    problems: &[DraftProblem],
    rows: &[PreviewRow],
) -> Result<minijinja::Value, HqError> {
    let now = chrono::Utc::now().fixed_offset();
    let programs = hq.programs().await?;
    let in_force = in_force_at(&programs, now).map(|p| p.version);
    let versions: Vec<_> = programs
        .iter()
        .map(|p| {
            let from = p.effective_from.map(|f| in_business_offset(f).to_rfc3339());
            let state = if Some(p.version) == in_force {
                "in_force"
            } else if p.effective_from.is_some_and(|f| f > now) {
                "scheduled"
            } else {
                "superseded"
            };
            context! { version => p.version, from => from, points_per_yuan => p.earning.points_per_yuan, tiers => p.tiers.len(), state => state }
        })
        .collect();
    // The moment's problems sit beside the moment's input, the others
    // beside the lines of the draft, in the order of those lines.
    let (moment_problems, mut field_problems): (Vec<&DraftProblem>, Vec<&DraftProblem>) =
        problems.iter().partition(|p| p.field == EFFECTIVE_FROM);
    field_problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    Ok(context! {
        versions => versions,
        draft => draft,
        from => from,
        problems => field_problems,
        moment_problems => moment_problems,
        rows => rows,
        previewed => !rows.is_empty() || !problems.is_empty(),
    })
}

/// `POST /console/program`: preview or publish the draft.
pub(super) async fn post(form: Submission) -> Result<Response, HqError> {
    let (hq, headers, body) = form.parts();
    let posted: Posted = match accept(hq, headers, body, PATH, Operation::WriteProgram).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let draft_text = posted.field("program").to_string();
    let from_text = posted.field("effective_from").to_string();
    let now = chrono::Utc::now().fixed_offset();
    let (draft, mut problems) = match toml::from_str::<Program>(&draft_text) {
        Ok(mut draft) => {
            draft.effective_from = moment(&from_text);
            let problems = draft_problems::of_draft(&draft_text, &draft, now);
            (Some(draft), problems)
        }
        Err(e) => (None, vec![draft_problems::of_unreadable(&draft_text, &e)]),
    };
    if posted.field("action") == "publish"
        && problems.is_empty()
        && let Some(draft) = &draft
    {
        match hq.publish_program(&posted.session.actor, draft).await {
            Ok(published) => {
                tracing::info!(
                    version = published.version,
                    "program version published from the console"
                );
                super::keep_flash(
                    hq,
                    &posted.session,
                    &Flash {
                        notice: Some("program_published".to_owned()),
                        ..Flash::default()
                    },
                )
                .await?;
                return Ok(redirect(PATH));
            }
            Err(e @ (HqError::Internal(_) | HqError::Unavailable(_))) => return Err(e),
            Err(e) => problems.push(draft_problems::unplaced(e.to_string())),
        }
    }
    // Previewed only when the program itself is valid: pricing is only
    // defined for programs within their bounds.
    let rows = match &draft {
        Some(draft) if draft.validate().is_ok() => {
            let at = draft.effective_from.unwrap_or(now);
            preview(&hq.program_at(at).await?, draft, at)
        }
        _ => Vec::new(),
    };
    let page = page(hq, &draft_text, &from_text, &problems, &rows).await?;
    let body = render(
        "program.html",
        posted.lang,
        &posted.session,
        "program",
        None,
        page,
    )?;
    // 200 with the problems on the page: htmx swaps only successful
    // answers, and this page is the answer.
    Ok(html(StatusCode::OK, body, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editors_toml_reads_back_as_the_program() {
        let program = Program::default();
        let text = to_toml(&program);
        let read: Program = toml::from_str(&text).unwrap();
        assert_eq!(
            read,
            Program {
                version: 0,
                ..program
            }
        );
    }

    #[test]
    fn a_gift_catalogue_reads_back_from_the_editors_toml() {
        let mut program = Program::default();
        program.gifts.push(tillcard_rules::program::Gift {
            code: "mug".into(),
            name: "保温杯".into(),
            points: 400,
            active: false,
        });
        let text = to_toml(&program);
        assert!(text.contains("[[gifts]]"), "{text}");
        let read: Program = toml::from_str(&text).unwrap();
        assert_eq!(read.gifts, program.gifts);
    }

    #[test]
    fn a_store_local_moment_is_in_the_business_offset() {
        let at = moment("2026-12-06T09:30").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-06T09:30:00+08:00");
        assert_eq!(moment("tomorrow"), None);
    }
}
