//! The `tillcard-hq` command line (clap): `serve` (the default), and the
//! back office for whoever runs head office's machine: stores, staff,
//! enrollment codes, terminals, head-office users and the audit trail.
//! Every change is audited with the actor `cli`. Output is for scripts:
//! one tab-separated line per record on standard output (or `--json`, the
//! admin API's JSON); logs go to standard error.

use std::path::PathBuf;

use tillcard_protocol::wire::TerminalId;

mod campaigns;
mod commands;
mod member_money;

pub use commands::{
    AuditArgs, Cli, CodeCommand, Command, JobsCommand, MemberCommand, MergeArgs, ProgramCommand,
    StaffCommand, StandingArgs, StoreCommand, TerminalCommand, UserCommand,
};

use crate::admin;
use crate::error::HqError;
use crate::service::{Actor, Hq};

/// Why a command failed: head office's refusal, with its stable code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Head office refused or failed.
    #[error("{}: {}", .0.code(), .0)]
    Hq(#[from] HqError),
    /// Standard input or output failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// JSON output failed.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// `jobs run --at` with something that is not an RFC 3339 moment.
    #[error("invalid_moment: {0:?} is not an RFC 3339 moment (2026-12-05T03:00:00+08:00)")]
    InvalidMoment(String),
    /// `jobs run --at` in the future.
    #[error("moment_in_future: {0} is later than now; a day's jobs do not run before their day")]
    MomentInFuture(String),
    /// A daily job's run failed (it is retried later).
    #[error("job_failed: {0}")]
    JobFailed(String),
    /// A program file could not be read as a program.
    #[error("{0}: not a program: {1}")]
    ProgramFile(PathBuf, String),
}

/// A program version as a line: number, moment it takes effect.
fn program_line(program: &tillcard_rules::Program) -> String {
    let from = program.effective_from.map(|f| f.to_rfc3339());
    format!("{}\t{}", program.version, opt(from.as_deref()))
}

fn opt(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

/// What a back-office command prints: the records, tab-separated or JSON.
struct Out {
    json: bool,
    lines: Vec<String>,
}

impl Out {
    fn print<T: serde::Serialize>(&mut self, value: &T, line: String) -> Result<(), CliError> {
        if self.json {
            self.lines.push(serde_json::to_string(value)?);
        } else {
            self.lines.push(line);
        }
        Ok(())
    }
}

/// `member freeze|unfreeze`: the change, then its line.
async fn set_frozen(
    hq: &Hq,
    actor: &Actor,
    out: &mut Out,
    args: StandingArgs,
    frozen: bool,
) -> Result<(), CliError> {
    let member = tillcard_rules::ids::MemberId(args.member);
    hq.set_member_frozen(actor, member, frozen, &args.reason)
        .await?;
    let state = if frozen { "frozen" } else { "unfrozen" };
    let record = serde_json::json!({ "member": member, "state": state });
    out.print(&record, format!("{member}\t{state}"))
}

fn staff_line(s: &admin::StaffView) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        s.staff_id,
        s.display_name,
        s.role.as_str(),
        if s.active { "active" } else { "inactive" },
        s.stores.join(","),
        if s.pin_set { "pin" } else { "no-pin" }
    )
}

fn setup_line(s: &admin::SetupCode) -> String {
    format!(
        "{}\t{}\t{}",
        s.staff.staff_id, s.setup_code, s.setup_expires_at
    )
}

/// Runs a back-office command (anything but `serve`) on `hq`; the lines to
/// print on standard output. `stdin` gives a password when one is needed.
pub async fn run_office(
    hq: &Hq,
    command: Command,
    json: bool,
    stdin: &mut dyn std::io::BufRead,
) -> Result<Vec<String>, CliError> {
    let actor = Actor::cli();
    let mut out = Out {
        json,
        lines: Vec::new(),
    };
    let read_password = |stdin: &mut dyn std::io::BufRead| -> Result<String, CliError> {
        let mut password = String::new();
        stdin.read_line(&mut password)?;
        Ok(password.trim_end_matches(['\r', '\n']).to_string())
    };
    match command {
        Command::Serve => {}
        Command::Store(StoreCommand::Add {
            code,
            name,
            time_zone,
            address,
        }) => {
            let request = admin::NewStore {
                code,
                name,
                time_zone,
                address,
            };
            let s = hq.create_store(&actor, &request).await?;
            out.print(&s, s.code.clone())?;
        }
        Command::Program(ProgramCommand::Import { file }) => {
            let text = std::fs::read_to_string(&file)?;
            let program: tillcard_rules::Program = toml::from_str(&text)
                .map_err(|e| CliError::ProgramFile(file.clone(), e.to_string()))?;
            let published = hq.publish_program(&actor, &program).await?;
            let line = program_line(&published);
            out.print(&published, line)?;
        }
        Command::Jobs(JobsCommand::Run { at }) => {
            let now = chrono::Utc::now().fixed_offset();
            let at = match at {
                None => now,
                Some(text) => {
                    let at = chrono::DateTime::parse_from_rfc3339(&text)
                        .map_err(|_| CliError::InvalidMoment(text.clone()))?;
                    if at > now {
                        return Err(CliError::MomentInFuture(text));
                    }
                    at
                }
            };
            let holder = crate::jobs::holder_name();
            let ran = crate::jobs::run_due(hq, hq.jobs_config(), &holder, at).await?;
            let mut failed = Vec::new();
            for run in &ran {
                let (outcome, detail) = match &run.outcome {
                    Ok(n) => ("ok", n.to_string()),
                    Err(e) => {
                        failed.push(format!("{} {}: {e}", run.job.name(), run.day));
                        ("failed", e.clone())
                    }
                };
                let line = format!("{}\t{}\t{outcome}\t{detail}", run.job.name(), run.day);
                let record = serde_json::json!({
                    "job": run.job.name(),
                    "day": run.day.to_string(),
                    "holder": holder,
                    "outcome": outcome,
                    "detail": detail,
                });
                out.print(&record, line)?;
            }
            if !failed.is_empty() {
                return Err(CliError::JobFailed(failed.join("; ")));
            }
        }
        Command::Campaign(command) => {
            for (value, line) in campaigns::run(hq, &actor, command).await? {
                out.print(&value, line)?;
            }
        }
        Command::Member(MemberCommand::Money(command)) => {
            for (value, line) in member_money::run(hq, &actor, command).await? {
                out.print(&value, line)?;
            }
        }
        Command::Member(MemberCommand::Freeze(args)) => {
            set_frozen(hq, &actor, &mut out, args, true).await?;
        }
        Command::Member(MemberCommand::Unfreeze(args)) => {
            set_frozen(hq, &actor, &mut out, args, false).await?;
        }
        Command::Member(MemberCommand::ReissueCard(args)) => {
            let member = tillcard_rules::ids::MemberId(args.member);
            let serial = hq.reissue_card(&actor, member, &args.reason).await?;
            let record = serde_json::json!({ "member": member, "card_serial": serial });
            out.print(&record, format!("{member}\t{serial}"))?;
        }
        Command::Member(MemberCommand::Merge(args)) => {
            let (merged, into) = (
                tillcard_rules::ids::MemberId(args.member),
                tillcard_rules::ids::MemberId(args.into),
            );
            hq.merge_members(&actor, merged, into, &args.reason).await?;
            let record = serde_json::json!({ "member": merged, "merged_into": into });
            out.print(&record, format!("{merged}\tmerged into\t{into}"))?;
        }
        Command::Jobs(JobsCommand::List) => {
            let runs = hq
                .store()
                .job_runs(crate::jobs::schedule::RUNS_SHOWN)
                .await
                .map_err(HqError::from)?;
            for r in runs {
                let line = format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r.job,
                    r.day,
                    r.holder,
                    opt(r.outcome.as_deref()),
                    r.attempts,
                    opt(r.detail.as_deref())
                );
                out.print(&r, line)?;
            }
        }
        Command::Program(ProgramCommand::List) => {
            for p in hq.programs().await? {
                let line = program_line(&p);
                out.print(&p, line)?;
            }
        }
        Command::Store(StoreCommand::List) => {
            for s in hq.list_stores().await? {
                let line = format!(
                    "{}\t{}\t{}\t{}\t{}",
                    s.code, s.name, s.time_zone, s.address, s.created_at
                );
                out.print(&s, line)?;
            }
        }
        Command::Store(StoreCommand::Update {
            code,
            name,
            time_zone,
            address,
        }) => {
            let change = admin::StoreChange {
                name,
                time_zone,
                address,
            };
            let s = hq.update_store(&actor, &code, &change).await?;
            out.print(&s, s.code.clone())?;
        }
        Command::Staff(StaffCommand::Add {
            name,
            role,
            stores,
            id,
        }) => {
            let request = admin::NewStaff {
                staff_id: id,
                display_name: name,
                role,
                stores,
            };
            let created = hq.create_staff(&actor, &request).await?;
            out.print(&created, setup_line(&created))?;
        }
        Command::Staff(StaffCommand::List { store }) => {
            for s in hq.list_staff(store.as_deref()).await? {
                let line = staff_line(&s);
                out.print(&s, line)?;
            }
        }
        Command::Staff(StaffCommand::Deactivate { id }) => {
            let s = hq.set_staff_active(&actor, &id, false).await?;
            out.print(&s, staff_line(&s))?;
        }
        Command::Staff(StaffCommand::Activate { id }) => {
            let s = hq.set_staff_active(&actor, &id, true).await?;
            out.print(&s, staff_line(&s))?;
        }
        Command::Staff(StaffCommand::ResetPin { id }) => {
            let reset = hq.reset_staff_pin(&actor, &id).await?;
            out.print(&reset, setup_line(&reset))?;
        }
        Command::Staff(StaffCommand::Move { id, stores }) => {
            let s = hq.set_staff_stores(&actor, &id, &stores).await?;
            out.print(&s, staff_line(&s))?;
        }
        Command::Staff(StaffCommand::Rename { id, name }) => {
            let s = hq.rename_staff(&actor, &id, &name).await?;
            out.print(&s, staff_line(&s))?;
        }
        Command::Code(CodeCommand::Issue {
            store,
            days,
            qr_url,
            qr_certificate,
        }) => {
            // The QR's inputs are checked before a code is spent on them.
            let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
            let qr = match (qr_url, qr_certificate) {
                (Some(url), Some(path)) => {
                    let file = std::fs::read(&path)?;
                    let pin = tillcard_protocol::enrollment::CertificatePin::of_certificate_file(
                        &file,
                    )
                    .ok_or_else(|| bad(format!("{} holds no certificate", path.display())))?;
                    let url = url.trim().trim_end_matches('/').to_owned();
                    if !url.to_ascii_lowercase().starts_with("https://") {
                        return Err(bad(format!(
                            "{url}: the enrollment QR's address must be https"
                        ))
                        .into());
                    }
                    Some((url, pin))
                }
                _ => None,
            };
            let issued = hq.issue_enroll_code(&actor, &store, Some(days)).await?;
            let qr = match qr {
                Some((url, pin)) => {
                    let text = tillcard_protocol::enrollment::EnrollmentText {
                        url,
                        code: issued.code.chars().filter(char::is_ascii_digit).collect(),
                        pin,
                    };
                    let line = text.to_text();
                    // Refused here if the address is not https.
                    tillcard_protocol::enrollment::EnrollmentText::parse(&line)
                        .map_err(|e| bad(e.to_string()))?;
                    Some(line)
                }
                None => None,
            };
            if json {
                let mut value = serde_json::to_value(&issued)?;
                if let (Some(line), Some(map)) = (&qr, value.as_object_mut()) {
                    map.insert("enrollment_qr".into(), line.clone().into());
                }
                out.lines.push(value.to_string());
            } else {
                out.lines.push(issued.code.clone());
                out.lines
                    .push(format!("{}\t{}", issued.code_id, issued.expires_at));
                if let Some(line) = qr {
                    out.lines.push(line);
                }
            }
        }
        Command::Code(CodeCommand::List) => {
            for c in hq.list_enroll_codes().await? {
                let line = format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    c.code_id,
                    c.store,
                    c.state,
                    c.issued_at,
                    opt(c.expires_at.as_deref()),
                    opt(c.used_at.as_deref()),
                    opt(c.used_by.as_deref())
                );
                out.print(&c, line)?;
            }
        }
        Command::Terminal(TerminalCommand::List) => {
            for t in hq.list_terminals().await? {
                let line = format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.terminal_id,
                    t.store,
                    t.registered_at,
                    opt(t.last_seen.as_deref()),
                    opt(t.app_version.as_deref()),
                    t.acked_seq,
                    t.pending_events.map_or("-".to_string(), |n| n.to_string()),
                    if t.revoked { "revoked" } else { "active" }
                );
                out.print(&t, line)?;
            }
        }
        Command::Terminal(TerminalCommand::Revoke { id }) => {
            hq.revoke_terminal(&actor, TerminalId(id)).await?;
            out.lines.push(format!("terminal {id} revoked"));
        }
        Command::User(UserCommand::Add { name, role }) => {
            let password = read_password(stdin)?;
            hq.save_user(&actor, &name, &password, role).await?;
            out.lines.push(format!("head-office user {name} saved"));
        }
        Command::AddUser { name } => {
            let password = read_password(stdin)?;
            hq.save_user(&actor, &name, &password, None).await?;
            out.lines.push(format!("dashboard user {name} saved"));
        }
        Command::User(UserCommand::Role { name, role }) => {
            hq.set_user_role(&actor, &name, role).await?;
            out.lines
                .push(format!("head-office user {name} is now {}", role.as_str()));
        }
        Command::User(UserCommand::List) => {
            for u in hq.list_users().await? {
                let line = format!("{}\t{}\t{}", u.username, u.role, u.created_at);
                out.print(&u, line)?;
            }
        }
        Command::Audit(AuditArgs { subject, limit }) => {
            for a in hq.audit_trail(subject.as_deref(), Some(limit)).await? {
                let line = format!(
                    "{}\t{}\t{}\t{}\t{}",
                    a.at, a.actor, a.action, a.subject, a.detail
                );
                out.print(&a, line)?;
            }
        }
        Command::IssueCode { store } => {
            let issued = hq.issue_enroll_code(&actor, &store, None).await?;
            out.lines.push(issued.code);
        }
    }
    Ok(out.lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_serves_and_old_names_still_parse() {
        assert!(
            Cli::try_parse_from(["tillcard-hq"])
                .unwrap()
                .command
                .is_none()
        );
        let old = Cli::try_parse_from(["tillcard-hq", "issue-code", "--store", "S001"]).unwrap();
        assert!(matches!(old.command, Some(Command::IssueCode { .. })));
        let add = Cli::try_parse_from([
            "tillcard-hq",
            "--config",
            "hq.toml",
            "staff",
            "add",
            "--name",
            "王芳",
            "--role",
            "cashier",
            "--store",
            "S001",
            "--store",
            "S002",
        ])
        .unwrap();
        assert!(matches!(
            add.command,
            Some(Command::Staff(StaffCommand::Add { ref stores, .. })) if stores.len() == 2
        ));
        assert!(
            Cli::try_parse_from([
                "tillcard-hq",
                "staff",
                "add",
                "--name",
                "x",
                "--role",
                "boss",
                "--store",
                "S"
            ])
            .is_err()
        );
    }
}
