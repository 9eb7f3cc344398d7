//! What makes an event poison: the checks head office runs on each decoded
//! event before planning, and the reason it keeps when one fails.
//!
//! Every rule here is stated in `sync/PROTOCOL.md` ("What each event must
//! contain" and "Bounds"); `tests/wire_contract.rs` holds head office to
//! each of them. A poison event is dead-lettered with its [`Poison`]: it
//! counts as received (the queue drains) and is never applied.

use std::fmt;

use tillcard_rules::ledger::{EarnReason, EntryKind, LedgerEntry};
use tillcard_rules::limits::{self, OutOfBounds};
use tillcard_rules::money::Money;
use tillcard_rules::pricing::MonthDay;
use tillcard_rules::tenders::{self, Tender, TenderError};

use tillcard_protocol::wire::{Envelope, EventBody, MAX_SEALED_CHARS, MAX_SEQ};

/// Why an event was dead-lettered: a stable code, and details in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    /// What kind of problem.
    pub code: PoisonCode,
    /// What exactly, for whoever reviews the dead letter. For
    /// [`PoisonCode::Undecodable`] this is the decoder's message, which may
    /// quote the event; every other detail is written by head office and
    /// names fields, numbers and ids only.
    pub detail: String,
}

impl Poison {
    /// A poison of `code` with `detail`.
    pub fn new(code: PoisonCode, detail: impl Into<String>) -> Poison {
        Poison {
            code,
            detail: detail.into(),
        }
    }

    /// The reason as stored: `<code>: <detail>` (read back by
    /// [`Poison::parse_stored`]).
    pub fn stored(&self) -> String {
        format!("{}: {}", self.code.as_str(), self.detail)
    }

    /// A stored reason read back as (code, detail). Reasons stored before
    /// codes existed read as code `unclassified`.
    pub fn parse_stored(stored: &str) -> (&str, &str) {
        match stored.split_once(": ") {
            Some((code, detail)) if PoisonCode::parse(code).is_some() => (code, detail),
            _ => ("unclassified", stored),
        }
    }

    /// The details when they may go to a log line (never the decoder's
    /// message, which may quote personal data).
    pub fn loggable_detail(&self) -> Option<&str> {
        (self.code != PoisonCode::Undecodable).then_some(self.detail.as_str())
    }
}

/// `detail` with what it quotes withheld: strings in double quotes and
/// numbers in backticks (how serde's messages quote a value) become `…`;
/// field names, which serde puts in backticks, stay. For showing a decoder's
/// message, which may quote personal data, to an operator.
pub fn withhold_quoted(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    let mut rest = detail;
    while let Some(start) = rest.find(['"', '`']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        out.push_str(&rest[..=start]);
        let after = &rest[start + 1..];
        let Some(len) = after.find(quote) else {
            out.push_str(after);
            return out;
        };
        let quoted = &after[..len];
        let is_value = quote == '"' || quoted.parse::<f64>().is_ok();
        out.push_str(if is_value { "…" } else { quoted });
        out.push(quote);
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    out
}

impl fmt::Display for Poison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl From<OutOfBounds> for Poison {
    fn from(e: OutOfBounds) -> Self {
        Poison::new(PoisonCode::OutOfBounds, e.to_string())
    }
}

/// The kinds of poison, as their stable codes name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoisonCode {
    /// The body is not an event body (JSON of another shape).
    Undecodable,
    /// `schema_version` is not one head office reads.
    UnsupportedSchema,
    /// A number, count, text or moment outside the protocol's bounds.
    OutOfBounds,
    /// Breaks a rule of what an event must contain.
    Invalid,
    /// Sealed personal data does not open with head office's key.
    Sealed,
    /// The action is already in the member's ledger.
    AlreadyBooked,
    /// Applying it would take a member's balance out of bounds.
    BalanceOutOfBounds,
    /// A terminal's placeholder for an event head office refused with
    /// class `never` (`tillcard_protocol::refusal::Quarantined`): the
    /// event itself stays in the terminal's quarantine.
    Quarantined,
}

impl PoisonCode {
    /// Every code.
    pub const ALL: [PoisonCode; 8] = [
        PoisonCode::Undecodable,
        PoisonCode::UnsupportedSchema,
        PoisonCode::OutOfBounds,
        PoisonCode::Invalid,
        PoisonCode::Sealed,
        PoisonCode::AlreadyBooked,
        PoisonCode::BalanceOutOfBounds,
        PoisonCode::Quarantined,
    ];

    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            PoisonCode::Undecodable => "undecodable",
            PoisonCode::UnsupportedSchema => "unsupported_schema",
            PoisonCode::OutOfBounds => "out_of_bounds",
            PoisonCode::Invalid => "invalid",
            PoisonCode::Sealed => "sealed",
            PoisonCode::AlreadyBooked => "already_booked",
            PoisonCode::BalanceOutOfBounds => "balance_out_of_bounds",
            PoisonCode::Quarantined => "quarantined",
        }
    }

    /// The code named `text`, if any.
    pub fn parse(text: &str) -> Option<PoisonCode> {
        PoisonCode::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

fn invalid(detail: impl Into<String>) -> Poison {
    Poison::new(PoisonCode::Invalid, detail)
}

/// Checks an event's envelope beyond what the batch checks (the batch
/// refuses a sequence number out of bounds as a whole).
pub fn validate_envelope(envelope: &Envelope) -> Result<(), Poison> {
    limits::check_time("wall_time", envelope.wall_time)?;
    if envelope.monotonic_ms > MAX_SEQ {
        return Err(Poison::new(
            PoisonCode::OutOfBounds,
            format!(
                "monotonic_ms {} is outside the bound: at most {MAX_SEQ}",
                envelope.monotonic_ms
            ),
        ));
    }
    Ok(())
}

/// Checks an event against the protocol's bounds and the rules' invariants
/// that head office can see without the member's history.
pub fn validate(body: &EventBody) -> Result<(), Poison> {
    check_bounds(body)?;
    check_contents(body)?;
    check_entries_belong(body)?;
    check_amounts(body.entries())
}

fn check_bounds(body: &EventBody) -> Result<(), Poison> {
    limits::check_entries("entries", body.entries())?;
    match body {
        EventBody::MemberEnrolled {
            masked_name,
            masked_phone,
            phone_sealed,
            name_sealed,
            consent,
            ..
        } => {
            if let Some(name) = masked_name {
                limits::check_short_text("masked_name", name)?;
            }
            limits::check_short_text("masked_phone", masked_phone)?;
            limits::check_text("phone_sealed", phone_sealed, MAX_SEALED_CHARS)?;
            if let Some(sealed) = name_sealed {
                limits::check_text("name_sealed", sealed, MAX_SEALED_CHARS)?;
            }
            limits::check_time("consent.at", consent.at)?;
        }
        EventBody::SaleBooked { quote, payment, .. } => {
            limits::check_quote("quote", quote)?;
            if let Some(payment) = payment {
                check_tenders("payment.tenders", &payment.tenders)?;
                if let Some(given) = payment.cash_given {
                    limits::check_money_not_negative("payment.cash_given", given)?;
                }
            }
        }
        EventBody::Refunded {
            lines,
            approved_by,
            tenders,
            ..
        } => {
            if let Some(tenders) = tenders {
                check_tenders("tenders", tenders)?;
            }
            limits::check_count("lines", lines.len())?;
            for (i, line) in lines.iter().enumerate() {
                limits::check_quantity(format_args!("lines[{i}].quantity"), line.quantity)?;
                limits::check_range(
                    format_args!("lines[{i}].line"),
                    i64::try_from(line.line).unwrap_or(i64::MAX),
                    0,
                    i64::try_from(limits::MAX_ITEMS).unwrap_or(i64::MAX) - 1,
                )?;
            }
            limits::check_short_text("approved_by", approved_by)?;
        }
        EventBody::TopUp {
            principal,
            bonus,
            package,
            ..
        } => {
            limits::check_money_not_negative("principal", *principal)?;
            limits::check_money_not_negative("bonus", *bonus)?;
            if let Some(code) = package {
                limits::check_short_text("package", code)?;
            }
        }
        EventBody::ManualAdjustment {
            reason,
            approved_by,
            ..
        } => {
            limits::check_text("reason", reason, limits::MAX_LONG_TEXT_CHARS)?;
            limits::check_short_text("approved_by", approved_by)?;
        }
        EventBody::GiftRedeemed { gift, points, .. } => {
            limits::check_short_text("gift", gift)?;
            limits::check_points_not_negative("points", *points)?;
        }
        EventBody::ShiftClosed {
            closed_by, report, ..
        } => {
            limits::check_short_text("closed_by", closed_by)?;
            report.check_bounds("report")?;
        }
        EventBody::CouponIssued { .. } | EventBody::MemberErased { .. } => {}
    }
    Ok(())
}

/// Tenders within the protocol's bounds: at most
/// [`tenders::MAX_TENDERS`], each amount within the money bound (their sum
/// is then far from overflowing, and is taken checked anyway).
fn check_tenders(field: &str, list: &[Tender]) -> Result<(), Poison> {
    if list.len() > tenders::MAX_TENDERS {
        return Err(OutOfBounds {
            field: field.to_owned(),
            found: format!("{} tenders", list.len()),
            bound: format!("at most {}", tenders::MAX_TENDERS),
        }
        .into());
    }
    let mut sum = Money::ZERO;
    for (i, t) in list.iter().enumerate() {
        limits::check_money_not_negative(format_args!("{field}[{i}].amount"), t.amount)?;
        sum = sum.checked_add(t.amount).ok_or_else(|| {
            Poison::new(
                PoisonCode::OutOfBounds,
                format!("{field}: the amounts overflow"),
            )
        })?;
    }
    limits::check_money_not_negative(format_args!("{field} (sum)"), sum)?;
    Ok(())
}

/// A masked phone shows at most 7 digits (`138****5678`); anything else
/// could be the phone itself, which must only travel sealed.
fn masked_phone_is_masked(masked: &str) -> bool {
    masked.chars().all(|c| c.is_ascii_digit() || c == '*')
        && masked.chars().filter(char::is_ascii_digit).count() <= 7
        && masked.contains('*')
}

/// A masked name shows its first character only (`张*`).
fn masked_name_is_masked(masked: &str) -> bool {
    let mut chars = masked.chars();
    chars.next().is_some() && {
        let rest: Vec<char> = chars.collect();
        !rest.is_empty() && rest.iter().all(|c| *c == '*')
    }
}

/// Whether `month`/`day` is a day of some year (29 February included).
fn is_calendar_day(birthday: MonthDay) -> bool {
    chrono::NaiveDate::from_ymd_opt(2024, u32::from(birthday.month), u32::from(birthday.day))
        .is_some()
}

fn check_contents(body: &EventBody) -> Result<(), Poison> {
    let entries = body.entries();
    // Only head office cashes stored value out (member care, with its
    // approval); a terminal's event that books one is poison.
    if entries
        .iter()
        .any(|e| matches!(e.kind, EntryKind::StoredValueCashedOut { .. }))
    {
        return Err(invalid(
            "a terminal's event never books a stored-value cash-out (head office's alone)",
        ));
    }
    match body {
        EventBody::MemberEnrolled {
            masked_name,
            masked_phone,
            birthday,
            consent,
            ..
        } => {
            if !consent.given {
                return Err(invalid("enrollment without recorded consent"));
            }
            if !masked_phone_is_masked(masked_phone) {
                return Err(invalid(
                    "masked_phone must be masked: digits and '*' only, at most 7 digits shown",
                ));
            }
            if masked_name
                .as_deref()
                .is_some_and(|n| !masked_name_is_masked(n))
            {
                return Err(invalid(
                    "masked_name must be masked: one character, then '*' only",
                ));
            }
            if birthday.is_some_and(|b| !is_calendar_day(b)) {
                return Err(invalid("birthday is not a day of the calendar"));
            }
            if entries
                .iter()
                .any(|e| !matches!(e.kind, EntryKind::CouponIssued { .. }))
            {
                return Err(invalid("an enrollment's entries may only issue coupons"));
            }
        }
        EventBody::SaleBooked { quote, payment, .. } => {
            if quote.member.is_none() && !entries.is_empty() {
                return Err(invalid("a walk-in sale (no member) books no entries"));
            }
            if let Some(payment) = payment
                && let Err(e) = payment.check(quote.amount_due)
            {
                return Err(match e {
                    TenderError::OutOfBounds(e) => e.into(),
                    other => invalid(format!("payment: {other}")),
                });
            }
        }
        EventBody::Refunded { lines, tenders, .. } => {
            if lines.is_empty() {
                return Err(invalid("a refund names at least one line"));
            }
            if tenders
                .as_deref()
                .is_some_and(|list| list.iter().any(|t| t.amount.fen() <= 0))
            {
                return Err(invalid("a refund's tenders each give back more than 0"));
            }
        }
        EventBody::TopUp {
            member,
            principal,
            bonus,
            package,
            ..
        } => {
            if principal.fen() <= 0 {
                return Err(invalid("a top-up's principal must be more than 0"));
            }
            let credits_exactly = match entries {
                [entry] => {
                    entry.member == *member
                        && entry.kind
                            == EntryKind::StoredValueCredited {
                                principal: *principal,
                                bonus: *bonus,
                                package: package.clone(),
                            }
                }
                _ => false,
            };
            if !credits_exactly {
                return Err(invalid(
                    "a top-up's entries must be exactly one stored_value_credited entry \
                     for its member with its principal, bonus and package",
                ));
            }
        }
        EventBody::GiftRedeemed {
            member,
            gift,
            points,
            ..
        } => {
            if *points <= 0 {
                return Err(invalid("a gift redemption's points must be more than 0"));
            }
            // In i128: the draws come from outside (each within the bounds,
            // their sum need not be).
            let redeems_exactly = match entries {
                [entry] => {
                    entry.member == *member
                        && matches!(
                            &entry.kind,
                            EntryKind::PointsRedeemedForGift { gift: code, draws }
                                if code == gift
                                    && draws.iter().map(|d| i128::from(d.points)).sum::<i128>()
                                        == i128::from(*points)
                        )
                }
                _ => false,
            };
            if !redeems_exactly {
                return Err(invalid(
                    "a gift redemption's entries must be exactly one points_redeemed_for_gift \
                     entry for its member naming its gift, its draws summing to its points",
                ));
            }
        }
        EventBody::ManualAdjustment { .. } | EventBody::CouponIssued { .. } => {
            if entries.is_empty() {
                return Err(invalid("this kind of event books at least one entry"));
            }
        }
        EventBody::MemberErased { .. } | EventBody::ShiftClosed { .. } => {}
    }
    // Points go to a gift only through a gift redemption, which says
    // which gift and what it cost.
    if !matches!(body, EventBody::GiftRedeemed { .. })
        && entries
            .iter()
            .any(|e| matches!(e.kind, EntryKind::PointsRedeemedForGift { .. }))
    {
        return Err(invalid(
            "only a gift_redeemed event books points_redeemed_for_gift",
        ));
    }
    if let EventBody::CouponIssued { .. } = body
        && entries
            .iter()
            .any(|e| !matches!(e.kind, EntryKind::CouponIssued { .. }))
    {
        return Err(invalid(
            "a coupon_issued event's entries may only issue coupons",
        ));
    }
    Ok(())
}

fn check_entries_belong(body: &EventBody) -> Result<(), Poison> {
    let member = body.member();
    let entries = body.entries();
    if let Some(first) = entries.first()
        && entries.iter().any(|e| e.source != first.source)
    {
        return Err(invalid("entries of one action carry different sources"));
    }
    match body {
        EventBody::SaleBooked { quote, .. } if entries.iter().any(|e| e.source != quote.id) => {
            return Err(invalid(
                "sale entries do not carry the quote's id as source",
            ));
        }
        EventBody::Refunded { refund, .. } if entries.iter().any(|e| e.source != *refund) => {
            return Err(invalid(
                "refund entries do not carry the refund's id as source",
            ));
        }
        _ => {}
    }
    // The one entry of a sale that may be for someone else: the referrer's
    // reward on a referred member's first purchase (booking::book_sale),
    // for one other member at most.
    let is_sale = matches!(body, EventBody::SaleBooked { .. });
    let mut others = entries
        .iter()
        .filter(|e| member.is_some_and(|m| m != e.member));
    if let Some(other) = others.next() {
        let referral = |e: &LedgerEntry| {
            is_sale
                && e.member == other.member
                && matches!(
                    e.kind,
                    EntryKind::PointsEarned {
                        reason: EarnReason::Referral,
                        ..
                    }
                )
        };
        if !referral(other) || others.any(|e| !referral(e)) {
            return Err(invalid("an entry is for another member than the event"));
        }
    }
    Ok(())
}

/// Amounts that must be positive: points in every entry and draw, a
/// stored-value movement's total (each part at least 0), and a non-zero
/// qualifying spend.
fn check_amounts(entries: &[LedgerEntry]) -> Result<(), Poison> {
    for (i, entry) in entries.iter().enumerate() {
        let bad = match &entry.kind {
            EntryKind::PointsEarned { points, .. } | EntryKind::PointsExpired { points, .. } => {
                *points <= 0
            }
            EntryKind::PointsRedeemed { draws }
            | EntryKind::PointsReturned { draws }
            | EntryKind::PointsReversed { draws }
            | EntryKind::PointsRedeemedForGift { draws, .. } => {
                draws.is_empty() || draws.iter().any(|d| d.points <= 0)
            }
            EntryKind::StoredValueCredited {
                principal, bonus, ..
            }
            | EntryKind::StoredValueDebited { principal, bonus }
            | EntryKind::StoredValueCashedOut { principal, bonus }
            | EntryKind::StoredValueReturned { principal, bonus } => {
                principal.fen() < 0 || bonus.fen() < 0 || (principal.is_zero() && bonus.is_zero())
            }
            EntryKind::QualifyingSpend { amount } => amount.is_zero(),
            _ => false,
        };
        if bad {
            return Err(invalid(format!(
                "entries[{i}] carries a zero or negative amount"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_values_are_withheld_and_field_names_kept() {
        use super::withhold_quoted;
        assert_eq!(
            withhold_quoted(r#"invalid type: string "13800138000", expected u64 at line 1"#),
            r#"invalid type: string "…", expected u64 at line 1"#
        );
        assert_eq!(
            withhold_quoted("invalid value: integer `13800138000`, expected `member`"),
            "invalid value: integer `…`, expected `member`"
        );
        assert_eq!(
            withhold_quoted("missing field `member`"),
            "missing field `member`"
        );
        assert_eq!(withhold_quoted(r#"unclosed "abc"#), r#"unclosed "abc"#);
    }

    use super::*;

    #[test]
    fn masks_are_checked_so_a_phone_never_arrives_in_clear() {
        assert!(masked_phone_is_masked("138****5678"));
        assert!(!masked_phone_is_masked("13812345678"));
        assert!(!masked_phone_is_masked("138-1234-5678"));
        assert!(!masked_phone_is_masked("1381***5678x"));
        assert!(masked_name_is_masked("张*"));
        assert!(masked_name_is_masked("A****"));
        assert!(!masked_name_is_masked("张三"));
        assert!(!masked_name_is_masked("张"));
    }

    #[test]
    fn stored_reasons_read_back_with_their_code() {
        let poison = Poison::new(PoisonCode::OutOfBounds, "principal 5 is outside: x");
        assert_eq!(
            Poison::parse_stored(&poison.stored()),
            ("out_of_bounds", "principal 5 is outside: x")
        );
        assert_eq!(
            Poison::parse_stored("unsupported schema_version 2"),
            ("unclassified", "unsupported schema_version 2")
        );
        for code in PoisonCode::ALL {
            assert_eq!(PoisonCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn birthdays_are_calendar_days() {
        assert!(is_calendar_day(MonthDay { month: 2, day: 29 }));
        assert!(!is_calendar_day(MonthDay { month: 2, day: 30 }));
        assert!(!is_calendar_day(MonthDay { month: 13, day: 1 }));
        assert!(!is_calendar_day(MonthDay { month: 0, day: 1 }));
    }
}
