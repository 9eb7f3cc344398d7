//! The sale's receipt for the thermal printer (issue 24): the same rows the
//! screen showed (`counter::receipt`), as the printer crate's
//! printer-neutral [`Receipt`]: store, till, clerk, items with their
//! quantities, the totals, what was paid with points and stored value,
//! the member's masked name with points earned and used and the balances
//! after the sale, the coupon used, a QR code of the receipt.
//!
//! A return from a receipt's QR code prints a refund slip in the same
//! layout ([`printed_return`]): titled as one, the lines returned, their
//! value, and what was handed back per tender kind; no member block and no
//! QR code (the sale's own receipt keeps its code).
//!
//! Only masked personal data reaches paper, as on screen. The store's code
//! and the till's id are filled in by the terminal, which knows them.

use tillcard_print::{ItemLine, Labels, MemberBlock, Receipt, TotalRow};
use tillcard_rules::pricing::Quote;
use tillcard_rules::tenders::Payment;

use tillcard_rules::refund::RefundLine;

use super::forms::ReturnForm;
use super::member::member_view;
use super::messages::{ReturnDone, SaleDone};
use super::receipt::quote_rows;
use super::text::{self, payment_rows, pick, yuan};
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
        title: None,
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

/// The refund slip of a return booked from a receipt: `lines` of the
/// form's receipt returned by `clerk`, with what `done` handed back.
pub fn printed_return(
    form: &ReturnForm,
    lines: &[RefundLine],
    done: &ReturnDone,
    clerk: &str,
    language: Language,
) -> Receipt {
    let summary = &form.scanned.receipt.summary;
    let row = |label: String, amount: String, strong: bool| TotalRow {
        label,
        amount,
        strong,
    };
    let mut totals = vec![row(
        pick(language, "退货金额", "Returned value"),
        yuan(form.value_of(lines)),
        true,
    )];
    totals.extend(
        text::return_notes(language, &done.refund.outcome)
            .into_iter()
            .map(|note| row(note, String::new(), false)),
    );
    Receipt {
        store: String::new(),
        title: Some(text::slip_title(language)),
        terminal: String::new(),
        clerk: clerk.to_string(),
        at: done.at.format("%Y-%m-%d %H:%M").to_string(),
        sale_ref: summary.sale.0.to_string(),
        lines: lines
            .iter()
            .filter_map(|r| {
                let sold = summary.lines.get(r.line)?;
                Some(ItemLine {
                    name: form.line_name(r.line, language),
                    qty_text: format!(
                        "-{} / {}",
                        text::return_quantity(form.weighed(r.line), r.quantity),
                        text::return_quantity(form.weighed(r.line), sold.quantity)
                    ),
                    amount_text: yuan(-form.value_of(std::slice::from_ref(r))),
                })
            })
            .collect(),
        totals,
        tenders: text::money_back_rows(language, &done.refund)
            .into_iter()
            .map(|(label, amount)| row(label, amount, false))
            .collect(),
        member: None,
        qr_payload: None,
        reprint: false,
        footer: vec![text::slip_original_sale(language, &form.scanned)],
        labels: match language {
            Language::ZhCn => Labels::zh_cn(),
            Language::En => Labels::en(),
        },
    }
}
