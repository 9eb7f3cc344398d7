//! Campaigns: head office giving coupons to a segment of members, as pure
//! functions (the service runs them, the store keeps what they decide).
//!
//! A campaign names a coupon (a [`CouponTemplate`], the same shape the
//! program's welcome and birthday coupons take), a [`Segment`], a window
//! (`starts_at` to `ends_at`), how many coupons each member gets, a budget
//! (the most coupons it ever issues) and the share of the segment held back
//! as a control group.
//!
//! How it runs: the daily `campaigns` job (and "run now" in the console)
//! asks, for every campaign in its window, which members match the segment
//! *at that moment* and have not been reached yet ([`issue::plan`]). Each
//! is drawn into the treated group (coupons issued as `coupon_issued`
//! ledger entries under one action id per campaign and member) or the
//! control group (nothing issued, only remembered, so the figures can
//! compare). A campaign that runs for a month therefore reaches a member
//! the day they start to match: a birthday campaign at the start of each
//! member's birthday month, a sleeping-member campaign the day a member
//! falls asleep. Nobody is reached twice; issuing stops at the budget.
//!
//! The coupons travel as ledger entries: the member's next snapshot on the
//! downlink carries them, and every terminal honours them offline with the
//! rules every coupon has (single use, validity window, scope, minimum
//! spend, coupons per order). Two stores using the same coupon offline is
//! caught by head office as for any coupon (`coupon_used_twice`).

pub mod figures;
pub mod issue;
pub mod rfm;
pub mod segment;

use serde::{Deserialize, Serialize};
use tillcard_rules::Program;
use tillcard_rules::ids::Timestamp;
use tillcard_rules::program::CouponTemplate;

pub use segment::{MemberFacts, Segment};

/// The most coupons one campaign gives one member.
pub const MAX_PER_MEMBER: u16 = 10;
/// The largest budget (coupons) a campaign may have.
pub const MAX_BUDGET: u32 = 100_000_000;
/// The largest control group, in basis points of the segment (50%).
pub const MAX_CONTROL_BP: u16 = 5_000;
/// The most characters of a campaign's name.
pub const MAX_NAME_CHARS: usize = 80;
/// The most characters of a campaign's code.
pub const MAX_CODE_CHARS: usize = 40;

/// A campaign as an operator defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Stable code, lower-case letters, digits and `-` (`sleepers-2026-12`);
    /// it becomes the coupons' code.
    pub code: String,
    /// What operators call it.
    pub name: String,
    /// The coupon each treated member gets (its `code` is replaced by the
    /// campaign's).
    pub coupon: CouponTemplate,
    /// Who it is for.
    #[serde(default)]
    pub segment: Segment,
    /// First moment it issues (RFC 3339).
    #[schemars(with = "String")]
    pub starts_at: Timestamp,
    /// It issues strictly before this moment; its figures count sales up to
    /// it.
    #[schemars(with = "String")]
    pub ends_at: Timestamp,
    /// Coupons each treated member gets (1 to 10).
    #[serde(default = "one")]
    pub per_member: u16,
    /// The most coupons the campaign ever issues: issuing stops there.
    pub budget: u32,
    /// Share of the segment held back as a control group, in basis points
    /// (1000 = 10%); 0 for none.
    #[serde(default)]
    pub control_bp: u16,
}

fn one() -> u16 {
    1
}

/// A campaign as head office keeps it: the definition and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CampaignRecord {
    /// The definition.
    #[serde(flatten)]
    pub spec: CampaignSpec,
    /// `active`, or `stopped` by an operator before its end.
    pub state: String,
    /// Coupons issued so far.
    pub issued: u64,
    /// Members reached: treated (given coupons).
    pub treated: u64,
    /// Members reached: held back in the control group.
    pub control: u64,
    /// Who created it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
}

impl CampaignRecord {
    /// Whether the campaign issues at `at`: active, in its window, budget
    /// left.
    pub fn issues_at(&self, at: Timestamp) -> bool {
        self.state == "active"
            && self.spec.starts_at <= at
            && at < self.spec.ends_at
            && self.issued < u64::from(self.spec.budget)
    }

    /// Coupons it may still issue.
    pub fn room(&self) -> u64 {
        u64::from(self.spec.budget).saturating_sub(self.issued)
    }
}

/// Everything wrong with a campaign definition under the program in
/// force, in words for the operator (empty when it is good).
pub fn problems(spec: &CampaignSpec, program: &Program) -> Vec<String> {
    let mut out = Vec::new();
    let code_ok = !spec.code.is_empty()
        && spec.code.chars().count() <= MAX_CODE_CHARS
        && spec
            .code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !code_ok {
        out.push(format!(
            "code: 1 to {MAX_CODE_CHARS} lower-case letters, digits or '-'"
        ));
    }
    let name = spec.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        out.push(format!("name: 1 to {MAX_NAME_CHARS} characters"));
    }
    if spec.ends_at <= spec.starts_at {
        out.push("ends_at: must be after starts_at".into());
    }
    if spec.per_member == 0 || spec.per_member > MAX_PER_MEMBER {
        out.push(format!("per_member: 1 to {MAX_PER_MEMBER}"));
    }
    if spec.budget == 0 || spec.budget > MAX_BUDGET {
        out.push(format!("budget: 1 to {MAX_BUDGET} coupons"));
    }
    if spec.control_bp > MAX_CONTROL_BP {
        out.push(format!(
            "control_bp: at most {MAX_CONTROL_BP} (half the segment)"
        ));
    }
    // The coupon is held to the program's own rules for a coupon template
    // (amounts within bounds, a validity), by validating a copy of the
    // program whose welcome coupon is this one.
    let mut probe = program.clone();
    let mut coupon = spec.coupon.clone();
    coupon.code.clone_from(&spec.code);
    probe.coupons.welcome = Some(coupon);
    for problem in probe.problems() {
        if problem.field.starts_with("coupons.welcome") {
            out.push(format!(
                "coupon{}: {}",
                problem.field.trim_start_matches("coupons.welcome"),
                problem.problem
            ));
        }
    }
    out.extend(spec.segment.problems(program));
    out
}

/// The template a campaign issues: its coupon under the campaign's code.
pub fn coupon_template(spec: &CampaignSpec) -> CouponTemplate {
    let mut template = spec.coupon.clone();
    template.code.clone_from(&spec.code);
    template
}
