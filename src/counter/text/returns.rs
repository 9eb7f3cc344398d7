//! Words of a return from a receipt's QR code (issue 24): a receipt code
//! refused (forged, from no till of this chain, damaged...), a receipt with
//! nothing left, the sale it names (store, till, moment, member, tenders),
//! each line's sold and left, and what a booked return hands back per
//! tender kind, on screen and on the refund slip.

use tillcard_protocol::receipt::ReceiptError;
use tillcard_rules::refund::RefundOutcome;
use tillcard_rules::tenders::TenderKind;

use super::{phrases, pick, store_error, tender_name, yuan};
use crate::counter::messages::ScannedReceipt;
use crate::format::Language;
use crate::store::StoreError;
use crate::store::returns::ReceiptRefund;

phrases! {
    /// A receipt code scanned, before the store's verdict.
    checking_receipt => "正在核验小票二维码…", "Checking the receipt's code…";
    /// A receipt whose every line this till has returned already.
    nothing_left_to_return => "这张小票的商品已在本机全部退货，没有可退的了",
        "Everything on this receipt was already returned at this till: nothing is left to return";
    /// The return confirmed with no quantity picked.
    pick_return_lines => "请用＋选择要退的商品和数量", "Pick what is returned with + on its line";
    /// A return booked.
    return_booked => "退货已记账：请按下列方式退款", "Return booked: give back as listed";
    /// The refund slip's title.
    slip_title => "退货单", "RETURN";
    /// The line under a return's lines when the sale was paid in points
    /// and stored value only.
    paid_without_money => "未用现金或银行卡支付（积分、储值）", "Paid with no money tender (points, stored value)";
    /// The sale is this till's own.
    sold_at_this_till => "本机售出", "Sold at this till";
}

/// Why a scanned receipt code is refused, for the clerk: nothing is
/// booked and the screen stays as it was.
pub fn receipt_refused(language: Language, error: &StoreError) -> String {
    let receipt = match error {
        StoreError::Receipt(receipt) => receipt,
        StoreError::AlreadyReturned { line, left } => {
            return match language {
                Language::ZhCn => format!(
                    "第{}行已在本机退过货，最多还可退{left}：请重新扫码查看",
                    line + 1
                ),
                Language::En => format!(
                    "Line {} was already returned at this till: {left} left at most. Scan the receipt again to see what is left.",
                    line + 1
                ),
            };
        }
        StoreError::ReceiptTooLarge(_) => {
            return pick(
                language,
                "这笔销售过大，小票没有退货码：请在原收银机退货",
                "This sale is too large for a return code: return it at its own till",
            );
        }
        other => return store_error(language, other),
    };
    let (zh, en) = match receipt {
        ReceiptError::NotAReceipt => (
            "这不是本系统的小票二维码",
            "This is not a Tillcard receipt code",
        ),
        ReceiptError::Damaged => (
            "小票二维码损坏或不完整：请重新扫描",
            "The receipt's code is damaged or incomplete: scan it again",
        ),
        ReceiptError::NewerVersion(_) => (
            "这张小票来自更新版本的收银机：请升级本机",
            "This receipt comes from a newer till: this till needs an update",
        ),
        ReceiptError::UnknownTill(_) => (
            "这张小票不是本连锁的收银机打印的：不能退货",
            "This receipt was not printed by a till of this chain: no return",
        ),
        ReceiptError::BadSignature => (
            "小票签名不符（已被改动或伪造）：不能退货",
            "This receipt's signature does not match (altered or forged): no return",
        ),
        ReceiptError::OutsideKeyWindow => (
            "打印这张小票的收银机在销售时未获总部认可：不能退货，请联系总部",
            "The till that printed this receipt was not trusted at the time of the sale: no return; call head office",
        ),
        ReceiptError::KeyWithdrawn => (
            "打印这张小票的收银机已被吊销（疑似伪造）：不能退货，请联系总部",
            "The till that printed this receipt was withdrawn before the sale (likely forged): no return; call head office",
        ),
        ReceiptError::OutOfBounds(_) => (
            "小票中的数值超出本连锁的限额：不能退货，请联系总部",
            "The receipt holds values beyond the chain's limits: no return; call head office",
        ),
    };
    pick(language, zh, en)
}

/// A till's id as the return screen names it: its last eight hex digits
/// (a terminal id is a UUIDv7, whose first digits are the moment it was
/// made, alike for tills registered the same day).
pub fn till_short(terminal: uuid::Uuid) -> String {
    let hex = terminal.simple().to_string();
    hex[hex.len() - 8..].to_owned()
}

/// A quantity as the screen and the slip show it: units, or kilograms
/// for a weighed line (its quantity is in grams).
pub fn return_quantity(weighed: bool, quantity: i64) -> String {
    if weighed {
        format!("{}.{:03} kg", quantity / 1000, quantity % 1000)
    } else {
        quantity.to_string()
    }
}

/// A line's sold and left: "售出 3 · 可退 2" / "sold 3 · left 2".
pub fn return_line_detail(language: Language, weighed: bool, sold: i64, left: i64) -> String {
    let (sold, left) = (
        return_quantity(weighed, sold),
        return_quantity(weighed, left),
    );
    match language {
        Language::ZhCn => format!("售出 {sold} · 可退 {left}"),
        Language::En => format!("sold {sold} · left {left}"),
    }
}

/// The sale a receipt names, in lines: where and when it was sold, whose
/// it was, how it was paid.
pub fn return_sale_info(language: Language, scanned: &ScannedReceipt) -> Vec<String> {
    let summary = &scanned.receipt.summary;
    let store = if summary.store.is_empty() {
        "—".to_owned()
    } else {
        summary.store.clone()
    };
    let till = if summary.terminal.is_nil() {
        "—".to_owned()
    } else {
        till_short(summary.terminal)
    };
    let at = summary.at().format("%Y-%m-%d %H:%M");
    let mut info = vec![match language {
        Language::ZhCn => format!(
            "门店 {store} · 收银机 {till} · {at} · 合计 {}",
            yuan(summary.total)
        ),
        Language::En => format!(
            "Store {store} · till {till} · {at} · total {}",
            yuan(summary.total)
        ),
    }];
    if scanned.receipt.sold_here {
        info.push(sold_at_this_till(language));
    }
    info.push(match (&summary.member, &scanned.member) {
        (None, _) => pick(language, "非会员销售", "Walk-in sale"),
        (Some(_), Some(m)) => match language {
            Language::ZhCn => format!("会员 {} {}", m.name_masked, m.phone_masked),
            Language::En => format!("Member {} {}", m.name_masked, m.phone_masked),
        },
        (Some(_), None) => pick(
            language,
            "会员销售（本机无该会员资料，积分和储值由总部核算）",
            "Member's sale (not on this till: head office settles points and stored value)",
        ),
    });
    if summary.tenders.is_empty() {
        info.push(paid_without_money(language));
    } else {
        let paid: Vec<String> = summary
            .tenders
            .iter()
            .map(|t| format!("{} {}", tender_name(language, t.kind), yuan(t.amount)))
            .collect();
        info.push(match language {
            Language::ZhCn => format!("支付：{}", paid.join(" · ")),
            Language::En => format!("Paid: {}", paid.join(" · ")),
        });
    }
    info
}

/// What a booked return hands back, one row per tender kind with an
/// amount: the money over the sale's own tenders (cash, bank card, WeChat
/// Pay, Alipay), stored value back on the member's card, redeemed points
/// given back, earned points taken back.
pub fn money_back_rows(language: Language, refund: &ReceiptRefund) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for kind in TenderKind::ALL {
        let amount = refund
            .money_back
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.amount)
            .sum::<tillcard_rules::Money>();
        if !amount.is_zero() {
            rows.push((tender_name(language, kind), yuan(amount)));
        }
    }
    let o = &refund.outcome;
    let stored_value = o.stored_value_principal + o.stored_value_bonus;
    if !stored_value.is_zero() {
        rows.push((
            pick(language, "退回储值", "Stored value back"),
            yuan(stored_value),
        ));
    }
    if o.points_returned > 0 {
        rows.push((
            pick(language, "退回积分", "Points given back"),
            format!("+{}", o.points_returned),
        ));
    }
    if o.points_reversed > 0 {
        rows.push((
            pick(language, "扣回积分", "Earned points taken back"),
            format!("-{}", o.points_reversed),
        ));
    }
    if rows.is_empty() {
        rows.push((
            pick(language, "无需退款", "Nothing to give back"),
            yuan(o.money),
        ));
    }
    rows
}

/// The notes under a booked return: the coupon restored, points gone
/// negative.
pub fn return_notes(language: Language, outcome: &RefundOutcome) -> Vec<String> {
    let mut notes = Vec::new();
    if outcome.coupon_restored {
        notes.push(pick(language, "优惠券已恢复", "The coupon is usable again"));
    }
    if outcome.flagged_negative {
        notes.push(pick(
            language,
            "积分已为负，已提交总部复核",
            "Points went negative: flagged for head office",
        ));
    }
    notes
}

/// The refund slip's line naming the sale returned: "原单 门店 S001 · 收银机 1a2b3c4d · 2026-11-30 10:30".
pub fn slip_original_sale(language: Language, scanned: &ScannedReceipt) -> String {
    let info = return_sale_info(language, scanned);
    format!(
        "{} {}",
        pick(language, "原单", "Sale returned:"),
        info.first().cloned().unwrap_or_default()
    )
}
