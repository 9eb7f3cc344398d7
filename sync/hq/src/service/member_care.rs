//! Member care: head office changing one member's standing, each change
//! with who made it and why in the audit trail (the member's personal data
//! never: the subject is `member:<id>`, the detail the operator's reason).
//!
//! A frozen member (suspected fraud, a dispute, a lost card not yet
//! re-issued) still buys, earns and uses coupons; terminals redeem neither
//! points nor stored value for them (`rules::pricing` refuses with
//! `member_frozen`). The freeze travels as a member change: every terminal's
//! next sync brings the member's snapshot with `frozen`, and a terminal
//! enforces it offline from then on; a phone lookup answers the same
//! snapshot.
//!
//! Finding a member (by exact phone or member id) shows their phone and
//! balances to the operator, so each look-up needs a reason and leaves one
//! `member_viewed` audit row per member shown: who, when, why.

use serde::Serialize;
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::MemberId;
use tillcard_rules::ledger::{EntryKind, LedgerEntry};

use super::back_office::Actor;
use super::checks::{answer, bad, check_text};
use super::{Hq, now};
use crate::error::HqError;

/// The most ledger entries a look-up shows, newest first.
pub const HISTORY_SHOWN: usize = 50;

/// A member as member care shows them: personal data included, so only
/// after an audited look-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberCareView {
    /// The member id.
    pub member: String,
    /// Masked name (`张*`).
    pub masked_name: Option<String>,
    /// The phone, whole.
    pub phone: Option<String>,
    /// Birthday, `MM-DD`.
    pub birthday: Option<String>,
    /// Tags set at head office.
    pub tags: Vec<String>,
    /// Frozen by head office.
    pub frozen: bool,
    /// The member this one duplicates by phone, if any.
    pub duplicate_of: Option<String>,
    /// The serial of the member's current card (1 until a re-issue).
    pub card_serial: u16,
    /// The member this account was merged into, if it was.
    pub merged_into: Option<String>,
    /// The accounts merged into this one.
    pub merged_from: Vec<String>,
    /// Tier code under the program in force.
    pub tier: String,
    /// Points that can be used now.
    pub points: i64,
    /// Stored value, principal and bonus (`¥1,234.50`).
    pub stored_value: String,
    /// Its principal.
    pub principal: String,
    /// Its bonus.
    pub bonus: String,
    /// The newest ledger entries, newest first.
    pub history: Vec<HistoryRow>,
}

/// One ledger entry as member care lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    /// When (RFC 3339, as booked).
    pub at: String,
    /// The entry's kind (`points_earned`, `stored_value_debited`, ...).
    pub kind: String,
    /// Its figures in words (`+120 points`, `-¥30.00`).
    pub figures: String,
}

/// The most characters of a reason for a change of standing.
pub const MAX_REASON_CHARS: usize = 200;
/// The most tags a member carries.
pub const MAX_TAGS: usize = 10;
/// The most characters of one tag (clerks read them on a small screen).
pub const MAX_TAG_CHARS: usize = 20;

impl Hq {
    /// The members `query` names (a member id, or a phone's digits: two
    /// members when one phone was enrolled twice), each look-up audited as
    /// `member_viewed` with `why` for each member shown. Refused:
    /// `invalid_query`, `invalid_reason`. None found is an empty list (and
    /// no audit row: nothing personal was shown).
    pub async fn look_up_member(
        &self,
        actor: &Actor,
        query: &str,
        why: &str,
    ) -> Result<Vec<MemberCareView>, HqError> {
        let (query, why) = (query.trim(), why.trim());
        check_text("invalid_reason", "reason", why, MAX_REASON_CHARS, false)?;
        let members = if let Ok(id) = uuid::Uuid::parse_str(query) {
            vec![MemberId(id)]
        } else if looks_like_phone(query) {
            let key = self.ingest_keys.personal.phone_key(query);
            self.store.members_by_phone_key(&key).await?
        } else {
            return Err(bad(
                "invalid_query",
                "a member id, or a phone number's digits (6 to 20)",
            ));
        };
        let at = now();
        let program = self.program_at(at).await?;
        let mut views = Vec::new();
        for member in members {
            let Some((record, entries)) = self.store.member(member).await? else {
                continue;
            };
            if record.erased {
                continue;
            }
            let audit = actor.audit("member_viewed", format!("member:{member}"), why.to_string());
            self.store.record_audit(&audit).await?;
            tracing::info!(member = %member, actor = %actor.name, "member viewed in member care");
            let account = MemberAccount::fold(MemberAccount::new(member), &entries);
            let sv = account.stored_value;
            let merged_from = self
                .store
                .merges_of(&[member])
                .await?
                .into_iter()
                .filter(|(_, survivor)| *survivor == member)
                .map(|(merged, _)| merged.to_string())
                .collect();
            let personal = self.personal_data(member, &record.personal)?;
            views.push(MemberCareView {
                member: member.to_string(),
                masked_name: record.masked_name,
                phone: personal.phone,
                birthday: personal
                    .birthday
                    .map(|b| format!("{:02}-{:02}", b.month, b.day)),
                tags: record.tags,
                frozen: record.frozen,
                duplicate_of: record.duplicate_of.map(|m| m.to_string()),
                card_serial: record.card_serial,
                merged_into: record.merged_into.map(|m| m.to_string()),
                merged_from,
                tier: program
                    .tier(account.tier)
                    .map_or_else(String::new, |t| t.code.clone()),
                points: account.points_balance(at),
                stored_value: (sv.principal + sv.bonus).to_string(),
                principal: sv.principal.to_string(),
                bonus: sv.bonus.to_string(),
                history: history(&entries),
            });
        }
        Ok(views)
    }

    /// Replaces a member's tags (`VIP`, `员工`): trimmed, blanks and repeats
    /// dropped, at most [`MAX_TAGS`] of at most [`MAX_TAG_CHARS`] characters
    /// each; every terminal shows them to its clerks after its next sync.
    /// Refused: `invalid_tags`, `unknown_member`. Returns the tags set.
    pub async fn set_member_tags(
        &self,
        actor: &Actor,
        member: MemberId,
        tags: &[String],
    ) -> Result<Vec<String>, HqError> {
        let mut kept: Vec<String> = Vec::new();
        for tag in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if tag.chars().count() > MAX_TAG_CHARS || tag.chars().any(char::is_control) {
                return Err(bad(
                    "invalid_tags",
                    format!("a tag is at most {MAX_TAG_CHARS} characters, no control characters"),
                ));
            }
            if !kept.iter().any(|k| k == tag) {
                kept.push(tag.to_string());
            }
        }
        if kept.len() > MAX_TAGS {
            return Err(bad(
                "invalid_tags",
                format!("at most {MAX_TAGS} tags a member"),
            ));
        }
        let audit = actor.audit(
            "member_tags_set",
            format!("member:{member}"),
            kept.join(", "),
        );
        answer(self.store.set_member_tags(member, &kept, &audit).await?)?;
        tracing::info!(member = %member, tags = kept.len(), actor = %actor.name, "member's tags set");
        Ok(kept)
    }

    /// Freezes (`frozen`) or unfreezes a member, with `reason` in the audit
    /// trail; every terminal learns it on its next sync. Refused:
    /// `invalid_reason` (blank or too long), `unknown_member` (no such
    /// member, or erased).
    pub async fn set_member_frozen(
        &self,
        actor: &Actor,
        member: MemberId,
        frozen: bool,
        reason: &str,
    ) -> Result<(), HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let action = if frozen {
            "member_frozen"
        } else {
            "member_unfrozen"
        };
        let audit = actor.audit(action, format!("member:{member}"), reason.to_string());
        answer(self.store.set_member_frozen(member, frozen, &audit).await?)?;
        tracing::info!(member = %member, frozen, actor = %actor.name, "member's standing changed");
        Ok(())
    }
}

/// Digits, spaces, dashes and a leading `+` only, with 6 to 20 digits.
fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits)
        && text
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (i == 0 && c == '+'))
}

/// The newest [`HISTORY_SHOWN`] entries, newest first.
fn history(entries: &[LedgerEntry]) -> Vec<HistoryRow> {
    entries
        .iter()
        .rev()
        .take(HISTORY_SHOWN)
        .map(|e| HistoryRow {
            at: e.at.to_rfc3339(),
            kind: serde_json::to_value(&e.kind)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                .unwrap_or_default(),
            figures: figures(&e.kind),
        })
        .collect()
}

fn figures(kind: &EntryKind) -> String {
    let drawn = |draws: &[tillcard_rules::ledger::LotDraw]| -> i64 {
        draws.iter().map(|d| d.points).fold(0, i64::saturating_add)
    };
    match kind {
        EntryKind::PointsEarned { points, .. } => format!("+{points} points"),
        EntryKind::PointsRedeemed { draws } | EntryKind::PointsReversed { draws } => {
            format!("-{} points", drawn(draws))
        }
        EntryKind::PointsRedeemedForGift { gift, draws } => {
            format!("-{} points ({gift})", drawn(draws))
        }
        EntryKind::PointsReturned { draws } => format!("+{} points", drawn(draws)),
        EntryKind::PointsExpired { points, .. } => format!("-{points} points"),
        EntryKind::StoredValueCredited {
            principal, bonus, ..
        }
        | EntryKind::StoredValueReturned { principal, bonus } => {
            format!("+{} ({principal} + {bonus} bonus)", *principal + *bonus)
        }
        EntryKind::StoredValueDebited { principal, bonus } => {
            format!("-{} ({principal} + {bonus} bonus)", *principal + *bonus)
        }
        EntryKind::StoredValueCashedOut { principal, bonus } => {
            format!(
                "-{} ({principal} paid back, {bonus} bonus forfeited)",
                *principal + *bonus
            )
        }
        EntryKind::CouponIssued { coupon } => coupon.code.clone(),
        EntryKind::QualifyingSpend { amount } => amount.to_string(),
        EntryKind::TierChanged { from, to, .. } => format!("{} → {}", from.0, to.0),
        _ => String::new(),
    }
}
