//! How a quote reads, line by line, on the checkout screen, on the receipt
//! screen and on the printed receipt: the same rows everywhere, so what the
//! member was shown is what they get on paper.

use std::fmt::Write as _;

use tillcard_rules::Money;
use tillcard_rules::pricing::{Occasion, Quote};

use super::member::member_view;
use super::messages::SaleDone;
use super::text::{discount, pick, yuan};
use crate::format::Language;

/// One row of the totals block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What it is ("会员折扣 9折").
    pub label: String,
    /// The amount ("-¥12.80").
    pub amount: String,
    /// Emphasised (the amount due).
    pub strong: bool,
}

fn row(label: String, amount: Money, strong: bool) -> Row {
    Row {
        label,
        amount: yuan(amount),
        strong,
    }
}

/// The totals block of a quote: subtotal, each discount, each tender, due.
pub fn quote_rows(quote: &Quote, language: Language) -> Vec<Row> {
    let l = |zh: &str, en: &str| pick(language, zh, en);
    let mut rows = vec![row(l("小计", "Subtotal"), quote.subtotal, false)];
    if let Some(d) = &quote.tier_discount {
        rows.push(row(
            format!(
                "{} {}",
                l("会员折扣", "Tier discount"),
                discount(language, d.rate_bp)
            ),
            -d.amount,
            false,
        ));
    }
    if let Some(d) = &quote.member_day_discount {
        rows.push(row(
            format!(
                "{} {}",
                l("会员日", "Member day"),
                discount(language, d.rate_bp)
            ),
            -d.amount,
            false,
        ));
    }
    if let Some(c) = &quote.coupon {
        let label = match &c.gift {
            Some(g) => format!("{} {}", l("赠品券", "Gift coupon"), g.name),
            None => format!("{} {}", l("优惠券", "Coupon"), c.code),
        };
        rows.push(row(label, -c.amount, false));
    }
    rows.push(row(l("应付合计", "Total"), quote.total, true));
    if quote.points_redeemed > 0 {
        rows.push(row(
            match language {
                Language::ZhCn => format!("积分抵扣 {}分", quote.points_redeemed),
                Language::En => format!("{} points", quote.points_redeemed),
            },
            -quote.points_value,
            false,
        ));
    }
    if !quote.stored_value_used().is_zero() {
        rows.push(row(
            l("储值支付", "Stored value"),
            -quote.stored_value_used(),
            false,
        ));
    }
    rows.push(row(l("还需支付", "Due"), quote.amount_due, true));
    rows
}

/// "本单可得 128 积分（生日月双倍）" / "Earns 128 points (birthday month ×2)".
pub fn earn_line(quote: &Quote, language: Language) -> String {
    if quote.member.is_none() {
        return String::new();
    }
    let occasion = match quote.earn.occasion {
        Some(Occasion::BirthdayMonth) => {
            pick(language, "（生日月加倍）", " (birthday month bonus)")
        }
        Some(Occasion::MemberDay) => pick(language, "（会员日加倍）", " (member day bonus)"),
        None => String::new(),
    };
    match language {
        Language::ZhCn => format!("本单可得{}积分{occasion}", quote.earn.points),
        Language::En => format!("Earns {} points{occasion}", quote.earn.points),
    }
}

/// The printable receipt.
pub fn receipt_text(done: &SaleDone, language: Language) -> String {
    let quote = &done.receipt.quote;
    let l = |zh: &str, en: &str| pick(language, zh, en);
    let mut out = String::new();
    let _ = writeln!(out, "{}", l("Tillcard 会员小票", "Tillcard receipt"));
    let _ = writeln!(out, "{}", quote.at.format("%Y-%m-%d %H:%M"));
    let _ = writeln!(out, "{} {}", l("单号", "Sale"), quote.id.0);
    let _ = writeln!(out, "{}", "-".repeat(32));
    for line in &quote.lines {
        let _ = writeln!(
            out,
            "{} x{}  {}",
            line.item.name,
            line.item.quantity,
            yuan(line.net)
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(32));
    for r in quote_rows(quote, language) {
        let _ = writeln!(out, "{:<20}{:>12}", r.label, r.amount);
    }
    if let Some(member) = &done.member_after {
        let view = member_view(member, language);
        let _ = writeln!(out, "{}", "-".repeat(32));
        let _ = writeln!(out, "{} {} {}", view.name, view.phone, view.tier);
        let _ = writeln!(out, "{}", earn_line(quote, language));
        let _ = writeln!(out, "{} {}", l("积分余额", "Points balance"), view.points);
        let _ = writeln!(
            out,
            "{} {}",
            l("储值余额", "Stored value"),
            view.stored_value
        );
        if quote.offline {
            let _ = writeln!(
                out,
                "{}",
                l(
                    "离线交易：余额以总部确认为准",
                    "Offline sale: balances are confirmed by head office"
                )
            );
        }
    }
    out
}
