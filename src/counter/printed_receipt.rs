//! The sale's receipt for the thermal printer (issue 24): the same rows the
//! screen showed (`counter::receipt`), as the printer crate's
//! printer-neutral [`Receipt`]: store, till, clerk, items with their
//! quantities, the totals, what was paid with points and stored value,
//! the member's masked name with points earned and used and the balances
//! after the sale, the coupon used, a QR code of the receipt.
//!
//! Only masked personal data reaches paper, as on screen. The store's code
//! and the till's id are filled in by the terminal, which knows them.

use tillcard_print::{ItemLine, Labels, MemberBlock, Receipt, TotalRow};
use tillcard_rules::pricing::Quote;
use tillcard_rules::tenders::Payment;

use super::member::member_view;
use super::messages::SaleDone;
use super::receipt::quote_rows;
use super::text::{payment_rows, pick, yuan};
use crate::format::Language;

/// The QR code printed on a receipt when the store has no signed receipt
/// token for it: the sale's id, for a lookup at head office.
pub fn sale_reference(quote: &Quote) -> String {
    format!("TCS:{}", quote.id.0)
}

/// The printed receipt of a committed sale, rung up by `clerk`.
pub fn printed_receipt(
    done: &SaleDone,
    payment: &Payment,
    clerk: &str,
    language: Language,
) -> Receipt {
    let quote = &done.receipt.quote;
    let rows = quote_rows(quote, language);
    // The totals block up to the total; what paid it after (points,
    // stored value, the amount due in money).
    let split = rows
        .iter()
        .position(|r| r.strong)
        .map_or(rows.len(), |i| i + 1);
    let total_row = |r: &super::receipt::Row| TotalRow {
        label: r.label.clone(),
        amount: r.amount.clone(),
        strong: r.strong,
    };
    let member = done.member_after.as_ref().map(|m| {
        let view = member_view(m, language);
        MemberBlock {
            masked_name: view.name,
            points_earned: format!("+{}", quote.earn.points),
            points_used: if quote.points_redeemed > 0 {
                format!("-{}", quote.points_redeemed)
            } else {
                "0".into()
            },
            points_balance: view.points.to_string(),
            stored_value_balance: view.stored_value,
            coupon_used: quote.coupon.as_ref().map(|c| c.code.clone()),
        }
    });
    let mut footer = vec![pick(language, "谢谢惠顾", "Thank you")];
    if quote.offline && member.is_some() {
        footer.push(pick(
            language,
            "离线交易：余额以总部确认为准",
            "Offline sale: balances are confirmed by head office",
        ));
    }
    Receipt {
        store: String::new(),
        terminal: String::new(),
        clerk: clerk.to_string(),
        at: quote.at.format("%Y-%m-%d %H:%M").to_string(),
        sale_ref: quote.id.0.to_string(),
        lines: quote
            .lines
            .iter()
            .map(|l| ItemLine {
                name: l.item.name.clone(),
                qty_text: format!("{} x {}", l.item.quantity, yuan(l.item.unit_price)),
                amount_text: yuan(l.net),
            })
            .collect(),
        totals: rows[..split].iter().map(total_row).collect(),
        tenders: rows[split..]
            .iter()
            .map(total_row)
            .chain(
                payment_rows(language, payment)
                    .into_iter()
                    .map(|(label, amount)| TotalRow {
                        label,
                        amount,
                        strong: false,
                    }),
            )
            .collect(),
        member,
        qr_payload: Some(
            done.receipt_code
                .clone()
                .unwrap_or_else(|| sale_reference(quote)),
        ),
        reprint: false,
        footer,
        labels: match language {
            Language::ZhCn => Labels::zh_cn(),
            Language::En => Labels::en(),
        },
    }
}
