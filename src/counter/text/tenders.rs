//! Words of paying at the checkout (issue 24): the tenders' names, the
//! tenders taken so far, the change, and the refusals.

use tillcard_rules::Money;
use tillcard_rules::tenders::{Payment, TenderKind};

use super::{phrases, pick, yuan};
use crate::format::Language;

phrases! {
    /// A second cash tender.
    cash_once => "现金只能收一次：请在一次中输入顾客给的全部现金", "Cash is taken once: key all the cash the customer hands over";
    /// A card or wallet tender above what is still due.
    tender_beyond_due => "超过应付余额：银行卡和电子支付只收应付部分", "More than is due: a card or wallet pays at most the rest";
}

/// A tender's name.
pub fn tender_name(language: Language, kind: TenderKind) -> String {
    let (zh, en) = kind.names();
    pick(language, zh, en)
}

/// The receipt's lines for how the sale was paid: each tender, then the
/// cash handed over and the change when there was cash.
pub fn payment_rows(language: Language, payment: &Payment) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = payment
        .tenders
        .iter()
        .map(|t| (tender_name(language, t.kind), yuan(t.amount)))
        .collect();
    if let Some(given) = payment.cash_given.filter(|g| *g > payment.cash()) {
        rows.push((pick(language, "实收现金", "Cash given"), yuan(given)));
        rows.push((pick(language, "找零", "Change"), yuan(payment.change())));
    }
    rows
}

/// The checkout's line about the tenders taken: "微信支付 ¥50.00 · 还需 ¥38.00".
pub fn tenders_taken(language: Language, payment: &Payment, rest: Money) -> String {
    if payment.tenders.is_empty() {
        return String::new();
    }
    let taken: Vec<String> = payment
        .tenders
        .iter()
        .map(|t| format!("{} {}", tender_name(language, t.kind), yuan(t.amount)))
        .collect();
    match language {
        Language::ZhCn => format!("{} · 还需 {}", taken.join(" · "), yuan(rest)),
        Language::En => format!("{} · {} to pay", taken.join(" · "), yuan(rest)),
    }
}
