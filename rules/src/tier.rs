//! Tiers: the immediate upgrade after a purchase and the periodic evaluation
//! that downgrades at most one tier at a time.

use crate::account::MemberAccount;
use crate::ids::{SourceId, Timestamp};
use crate::ledger::{EntryKind, LedgerEntry};
use crate::program::{Program, TierLevel};

/// The upgrade earned by the spend in `account` (which already includes the
/// purchase just booked), if the rolling spend crossed a higher threshold.
/// Upgrades may jump several tiers; they apply from the next transaction.
pub fn upgrade_after_purchase(
    program: &Program,
    account: &MemberAccount,
    now: Timestamp,
    source: SourceId,
    provisional: bool,
) -> Option<LedgerEntry> {
    let spend = account.rolling_spend(now, program.tier_evaluation.window_months);
    let target = program.tier_for_spend(spend);
    (target > account.tier).then_some(LedgerEntry {
        member: account.member,
        source,
        at: now,
        kind: EntryKind::TierChanged {
            from: account.tier,
            to: target,
            provisional,
        },
    })
}

/// The periodic evaluation: if the rolling spend no longer holds the current
/// tier, go down exactly one tier; if it reaches a higher tier (spend synced
/// from other stores), go up to it. `None` when the tier stands.
pub fn evaluate(
    program: &Program,
    account: &MemberAccount,
    now: Timestamp,
    source: SourceId,
) -> Option<LedgerEntry> {
    let spend = account.rolling_spend(now, program.tier_evaluation.window_months);
    let earned = program.tier_for_spend(spend);
    let current = account.tier;
    let to = if earned < current {
        TierLevel(current.0 - 1)
    } else if earned > current {
        earned
    } else {
        return None;
    };
    Some(LedgerEntry {
        member: account.member,
        source,
        at: now,
        kind: EntryKind::TierChanged {
            from: current,
            to,
            provisional: false,
        },
    })
}

/// Spend still needed to reach the next tier, and that tier, if any.
pub fn progress_to_next_tier(
    program: &Program,
    account: &MemberAccount,
    now: Timestamp,
) -> Option<(TierLevel, crate::Money)> {
    let next = usize::from(account.tier.0) + 1;
    let tier = program.tiers.get(next)?;
    let spend = account.rolling_spend(now, program.tier_evaluation.window_months);
    Some((
        TierLevel(u8::try_from(next).unwrap_or(u8::MAX)),
        (tier.qualifying_spend - spend).clamp_non_negative(),
    ))
}
