//! The `tillcard-hq` command line's grammar (clap): every subcommand, its
//! arguments and their help. What each one does is `run_office`'s.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tillcard_protocol::staff::StaffRole;

use crate::service::roles::Role;

/// Tillcard head office: receives the terminals' batches, holds the
/// chain's ledger, sends changes back down, and runs the back office.
#[derive(Debug, Parser)]
#[command(name = "tillcard-hq", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (also `TILLCARD_HQ_CONFIG`); environment
    /// variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print records as the admin API's JSON instead of tab-separated lines.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API until SIGTERM or Ctrl-C (the default).
    Serve,
    /// Stores of the chain.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Clerks, the stores they work at, and their PIN set-up.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// One-time terminal enrollment codes.
    #[command(subcommand)]
    Code(CodeCommand),
    /// Registered terminals.
    #[command(subcommand)]
    Terminal(TerminalCommand),
    /// Head-office (dashboard and console) users.
    #[command(subcommand)]
    User(UserCommand),
    /// The membership program's versions.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// The daily jobs (tier evaluation, points expiry).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Member care: a member's standing.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Campaigns: coupons for a segment of members, with a control group.
    #[command(subcommand)]
    Campaign(super::campaigns::CampaignCommand),
    /// The audit trail of back-office changes, newest first.
    Audit(AuditArgs),
    /// Old name of `code issue --store STORE`: prints a code.
    #[command(hide = true)]
    IssueCode {
        /// The store.
        #[arg(long)]
        store: String,
    },
    /// Old name of `user add NAME`: password on standard input.
    #[command(hide = true)]
    AddUser {
        /// The user name.
        name: String,
    },
}

/// `program ...`
#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// Publish a program version from a TOML file (the program's fields,
    /// amounts in fen, with `effective_from` an RFC 3339 moment in the
    /// future); prints its number and moment. Refused with every problem
    /// listed.
    Import {
        /// The TOML file.
        file: PathBuf,
    },
    /// List the versions: number, takes effect (`-`: from the start).
    List,
}

/// `member ...`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Freeze a member: they buy and earn, but terminals redeem no points
    /// or stored value for them after their next sync.
    Freeze(StandingArgs),
    /// Unfreeze a member.
    Unfreeze(StandingArgs),
    /// Re-issue a member's card: the card before is revoked at every
    /// terminal after its next sync; the terminal that next serves the
    /// member prints the new one. Prints the new serial.
    ReissueCard(StandingArgs),
    /// Merge a member into another of the same phone: the ledger moves to
    /// the survivor (`--into`); every terminal learns it after its next
    /// sync.
    Merge(MergeArgs),
    /// Member money: cash-out, points adjustment, their approval.
    #[command(flatten)]
    Money(super::member_money::MoneyCommand),
}

/// `member merge ID --into SURVIVOR --reason R`
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The member merged away (UUID).
    pub member: uuid::Uuid,
    /// The member that survives (UUID).
    #[arg(long)]
    pub into: uuid::Uuid,
    /// Why (kept in the audit trail; never personal data).
    #[arg(long)]
    pub reason: String,
}

/// `member freeze|unfreeze|reissue-card ID --reason R`
#[derive(Debug, Args)]
pub struct StandingArgs {
    /// The member id (UUID).
    pub member: uuid::Uuid,
    /// Why (kept in the audit trail; never personal data).
    #[arg(long)]
    pub reason: String,
}

/// `jobs ...`
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Run the days owed now, as `serve`'s scheduler does every minute
    /// (after an outage, without waiting for it), under the same lease: a
    /// day another process holds or has run is left alone. Prints one line
    /// per run made: job, day, outcome, what it did. Fails when a run did.
    Run {
        /// Run as of this RFC 3339 moment instead of now: the days owed by
        /// then (catching up an earlier moment). Never in the future: a
        /// day's jobs do not run before their day.
        #[arg(long, value_name = "MOMENT")]
        at: Option<String>,
    },
    /// The newest runs, newest day first: job, day, holder, outcome,
    /// attempts, what it did.
    List,
}

/// `store ...`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Create a store.
    Add {
        /// Its code: 1 to 32 ASCII letters, digits, `.`, `_` or `-`.
        #[arg(long)]
        code: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its IANA time zone.
        #[arg(long, default_value = "Asia/Shanghai")]
        time_zone: String,
        /// Its address.
        #[arg(long, default_value = "")]
        address: String,
    },
    /// List the stores: code, name, time zone, address, created at.
    List,
    /// Change a store's name, time zone or address.
    Update {
        /// The store's code.
        code: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new IANA time zone.
        #[arg(long)]
        time_zone: Option<String>,
        /// A new address.
        #[arg(long)]
        address: Option<String>,
    },
}

/// `staff ...`
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a clerk; prints their id, the one-time setup code (shown only
    /// now) and when it expires, tab-separated.
    Add {
        /// The name on the sign-in button, unique within each store.
        #[arg(long)]
        name: String,
        /// `cashier` or `manager`.
        #[arg(long, value_parser = parse_staff_role)]
        role: StaffRole,
        /// A store they work at (repeat for several).
        #[arg(long = "store", required = true)]
        stores: Vec<String>,
        /// Their id (default: one made up).
        #[arg(long)]
        id: Option<String>,
    },
    /// List clerks: id, name, role, active, stores, PIN set.
    List {
        /// Only those working at this store.
        #[arg(long)]
        store: Option<String>,
    },
    /// Deactivate a clerk: refused at sign-in after the terminals' next sync.
    Deactivate {
        /// The clerk's id.
        id: String,
    },
    /// Reactivate a clerk.
    Activate {
        /// The clerk's id.
        id: String,
    },
    /// Clear a clerk's PIN and print a new setup code (and its expiry).
    ResetPin {
        /// The clerk's id.
        id: String,
    },
    /// Set the stores a clerk works at (a move is the new set).
    Move {
        /// The clerk's id.
        id: String,
        /// A store they work at from now on (repeat for several).
        #[arg(long = "store", required = true)]
        stores: Vec<String>,
    },
    /// Rename a clerk.
    Rename {
        /// The clerk's id.
        id: String,
        /// The new name on the sign-in button.
        #[arg(long)]
        name: String,
    },
}

/// `code ...`
#[derive(Debug, Subcommand)]
pub enum CodeCommand {
    /// Issue a one-time enrollment code for an existing store: the code
    /// alone on the first line (then its listing id and expiry).
    Issue {
        /// The store.
        #[arg(long)]
        store: String,
        /// Days until it expires unused (1 to 90).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Head office's https address as terminals reach it: with
        /// `--qr-certificate`, a third line gives the enrollment QR's text
        /// (`TCE1:<url>|<code>|<certificate SHA-256>`), which a till scans
        /// so its registration trusts that certificate only.
        #[arg(long, requires = "qr_certificate")]
        qr_url: Option<String>,
        /// The certificate file (PEM or DER) head office's TLS front serves.
        #[arg(long, requires = "qr_url")]
        qr_certificate: Option<std::path::PathBuf>,
    },
    /// List enrollment codes: id, store, state (unused, used, expired),
    /// issued, expires, used at, used by. Never the codes themselves.
    List,
}

/// `terminal ...`
#[derive(Debug, Subcommand)]
pub enum TerminalCommand {
    /// List terminals: id, store, registered, last seen, software version
    /// ("-" if it never said), acked seq, pending events, revoked.
    List,
    /// Revoke a terminal: its requests are refused from now on.
    Revoke {
        /// The terminal's id.
        id: uuid::Uuid,
    },
}

/// `user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user or set a new password, read from the first line of
    /// standard input.
    Add {
        /// The user name.
        name: String,
        /// Their role: admin, store_ops, marketing, analyst, auditor
        /// (default: analyst for a new user; an existing one keeps theirs).
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
    /// Change a user's role.
    Role {
        /// The user name.
        name: String,
        /// admin, store_ops, marketing, analyst or auditor.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// List users: name, role, created at.
    List,
}

/// `audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only rows about this subject (`staff:wang`, `store:S001`, ...).
    #[arg(long)]
    pub subject: Option<String>,
    /// At most this many rows (1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

fn parse_staff_role(text: &str) -> Result<StaffRole, String> {
    StaffRole::parse(text).ok_or_else(|| "cashier or manager".to_string())
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "admin, store_ops, marketing, analyst or auditor".to_string())
}
