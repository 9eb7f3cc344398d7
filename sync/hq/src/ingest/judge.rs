//! What planning a batch judges beyond validation: a balance gone
//! negative, a sale booked beyond what the program version in force gives
//! (re-verified), an action already booked or a balance out of bounds.

use std::collections::{BTreeSet, HashMap};

use chrono::Datelike;

use tillcard_rules::MemberAccount;
use tillcard_rules::ids::MemberId;
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::pricing::{MonthDay, Occasion, Quote};
use tillcard_rules::program::{Program, in_force_at};
use tillcard_rules::reverify::{Excess, Held, reverify_sale};

use tillcard_protocol::wire::EventBody;

use super::validate::{Poison, PoisonCode};

/// A conflict for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Member concerned.
    pub member: MemberId,
    /// Kind: `negative_balance`, `coupon_used_twice`, `seen_at_two_stores`,
    /// `duplicate_phone`, `beyond_program`.
    pub kind: String,
    /// Reason in words (no personal data).
    pub reason: String,
    /// Event that raised it.
    pub seq: u64,
}

pub(super) fn negative(account: &MemberAccount) -> Option<String> {
    // A lot awaiting its earning is not debt: its earning is on its way
    // (events out of order).
    let points: i128 = account
        .lots
        .iter()
        .filter(|l| !l.awaiting_earning)
        .map(|l| i128::from(l.remaining.min(0)))
        .sum();
    let sv = account.stored_value;
    let mut parts = Vec::new();
    if points < 0 {
        parts.push(format!("points {points}"));
    }
    if sv.principal.fen() < 0 || sv.bonus.fen() < 0 {
        parts.push(format!(
            "stored value principal {} fen, bonus {} fen",
            sv.principal.fen(),
            sv.bonus.fen()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Re-verification of a member's sale ([`reverify_sale`]) under the
/// program version in force at the sale's moment: a
/// `beyond_program` conflict naming every figure booked beyond what the
/// program gives, both figures each, or `None`. The entries are booked as
/// sent all the same (the counter already served the member; see
/// PROTOCOL.md, "What head office does with applied events"). `accounts`
/// holds the member's account before the sale. Head office does not load
/// birthdays to plan a batch, so a quote that claims the birthday month is
/// re-priced with it (a forged birthday month is not caught here).
/// Walk-in sales book no entries and are not re-verified.
pub(super) fn beyond_program(
    programs: &[Program],
    quote: &Quote,
    entries: &[LedgerEntry],
    accounts: &HashMap<MemberId, MemberAccount>,
) -> Option<Conflict> {
    let member = quote.member?;
    let default = Program::default();
    let program = judging_version(programs, quote).unwrap_or(&default);
    let claimed_birthday =
        (quote.earn.occasion == Some(Occasion::BirthdayMonth)).then(|| MonthDay {
            month: u8::try_from(quote.at.month()).unwrap_or(1),
            day: 1,
        });
    let held = Held {
        account: accounts.get(&member),
        birthday: claimed_birthday,
    };
    // A quote that cannot be priced at all was refused by validation.
    let excess = reverify_sale(program, quote, entries, held).ok()?;
    if excess.is_empty() {
        return None;
    }
    Some(Conflict {
        member,
        kind: "beyond_program".into(),
        reason: format!(
            "sale {}: {}",
            quote.id,
            excess
                .iter()
                .map(Excess::describe)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        seq: 0,
    })
}

/// The program version a sale is judged by: the one its quote names, when
/// head office published it and it is not newer than the version in force
/// at the sale's moment (an honest terminal that had not yet received the
/// newer version priced with the one before); otherwise the version in
/// force at the sale's moment (a quote from before versions were named, or
/// one naming a version head office never published or that was not yet in
/// force).
pub(super) fn judging_version<'p>(programs: &'p [Program], quote: &Quote) -> Option<&'p Program> {
    let in_force = in_force_at(programs, quote.at);
    let named = quote
        .program_version
        .and_then(|v| programs.iter().find(|p| p.version == v));
    match (named, in_force) {
        (Some(named), Some(in_force)) if named.version <= in_force.version => Some(named),
        _ => in_force,
    }
}

/// Why an event that passed [`validate`] still cannot be applied to the
/// accounts as they stand: one of its actions is already booked, or it
/// would take a balance out of bounds.
pub(super) fn refused_by_history(
    body: &EventBody,
    accounts: &HashMap<MemberId, MemberAccount>,
) -> Option<Poison> {
    let entries = body.entries();
    if let Some(entry) = entries.iter().find(|e| {
        accounts
            .get(&e.member)
            .is_some_and(|a| a.has_booked(e.source))
    }) {
        return Some(Poison::new(
            PoisonCode::AlreadyBooked,
            format!("action {} is already in the member's ledger", entry.source),
        ));
    }
    let members: BTreeSet<MemberId> = entries.iter().map(|e| e.member).collect();
    members.into_iter().find_map(|member| {
        let fresh;
        let account = match accounts.get(&member) {
            Some(account) => account,
            None => {
                fresh = MemberAccount::new(member);
                &fresh
            }
        };
        account
            .check_entries(entries)
            .err()
            .map(|e| Poison::new(PoisonCode::BalanceOutOfBounds, e.to_string()))
    })
}
