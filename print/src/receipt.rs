//! The receipt as the printer should say it, with no printer in it: every
//! text already formatted by the caller (money, dates, masked names belong to
//! the terminal, which formats them the same way on screen), so this crate
//! only decides where things go on paper.
//!
//! A `Receipt` is plain data with serde, so the terminal can keep the last
//! one, save it beside a sale, or hand it to the virtual printer in a test.

use serde::{Deserialize, Serialize};

/// One receipt, printer-neutral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The store's name, printed large at the top ("Tillcard 徐汇店").
    pub store: String,
    /// What this paper is when it is not a sale's receipt, printed bold
    /// under the store's name ("退货单 RETURN" on a refund slip); none on
    /// a sale's receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The terminal's name or number ("T03").
    pub terminal: String,
    /// The clerk who made the sale, as the clerk is shown on screen.
    pub clerk: String,
    /// The sale's moment, already formatted ("2026-12-07 14:05").
    pub at: String,
    /// The sale's reference the member can quote back ("S-0001-000123").
    pub sale_ref: String,
    /// The items, in basket order.
    pub lines: Vec<ItemLine>,
    /// Subtotal, each discount, total: the same rows the checkout screen
    /// showed (`counter::receipt::quote_rows` in the terminal).
    pub totals: Vec<TotalRow>,
    /// How it was paid: points, stored value, cash, card.
    pub tenders: Vec<TotalRow>,
    /// The member's block, for a member's sale.
    pub member: Option<MemberBlock>,
    /// What the QR code at the bottom holds (a link or the sale reference);
    /// none prints no code.
    pub qr_payload: Option<String>,
    /// A copy printed again: the receipt says so at the top.
    pub reprint: bool,
    /// Closing lines, centred ("谢谢惠顾", a returns policy).
    pub footer: Vec<String>,
    /// The words around the caller's texts, in the receipt's language.
    pub labels: Labels,
}

/// One item of the sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemLine {
    /// The item's name ("乌龙茶 500ml").
    pub name: String,
    /// Quantity and unit price as the caller words it ("2 x ¥6.50").
    pub qty_text: String,
    /// The line's amount ("¥13.00").
    pub amount_text: String,
}

/// A label on the left, an amount on the right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalRow {
    /// What it is ("会员折扣 9折").
    pub label: String,
    /// The amount ("-¥12.80").
    pub amount: String,
    /// Printed bold (the total, the amount due).
    pub strong: bool,
}

/// What the member is told about their account after the sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberBlock {
    /// The member's name, masked as on screen ("张*华").
    pub masked_name: String,
    /// Points this sale earned ("128").
    pub points_earned: String,
    /// Points this sale spent ("500"), or empty when none.
    pub points_used: String,
    /// The points balance after the sale.
    pub points_balance: String,
    /// The stored-value balance after the sale ("¥88.00").
    pub stored_value_balance: String,
    /// The coupon this sale used, as the checkout screen named it.
    pub coupon_used: Option<String>,
}

/// The fixed words of a receipt in one language. The terminal picks the set
/// for the sale's language; everything else on the receipt is its own text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// The marker on a reprinted copy.
    pub reprint: String,
    /// Before the terminal's name.
    pub terminal: String,
    /// Before the clerk's name.
    pub clerk: String,
    /// Before the sale's reference.
    pub sale_ref: String,
    /// The member block's heading.
    pub member: String,
    /// Points earned by this sale.
    pub points_earned: String,
    /// Points spent on this sale.
    pub points_used: String,
    /// The points balance.
    pub points_balance: String,
    /// The stored-value balance.
    pub stored_value_balance: String,
    /// The coupon used.
    pub coupon_used: String,
}

impl Labels {
    /// Simplified Chinese, the counter's default.
    pub fn zh_cn() -> Self {
        Self {
            reprint: "*** 重印 ***".to_owned(),
            terminal: "终端".to_owned(),
            clerk: "收银员".to_owned(),
            sale_ref: "单号".to_owned(),
            member: "会员".to_owned(),
            points_earned: "本单积分".to_owned(),
            points_used: "积分抵扣".to_owned(),
            points_balance: "积分余额".to_owned(),
            stored_value_balance: "储值余额".to_owned(),
            coupon_used: "已用优惠券".to_owned(),
        }
    }

    /// English.
    pub fn en() -> Self {
        Self {
            reprint: "*** REPRINT ***".to_owned(),
            terminal: "Till".to_owned(),
            clerk: "Clerk".to_owned(),
            sale_ref: "Sale".to_owned(),
            member: "Member".to_owned(),
            points_earned: "Points earned".to_owned(),
            points_used: "Points used".to_owned(),
            points_balance: "Points balance".to_owned(),
            stored_value_balance: "Stored value".to_owned(),
            coupon_used: "Coupon used".to_owned(),
        }
    }
}

impl Default for Labels {
    fn default() -> Self {
        Self::zh_cn()
    }
}

impl Receipt {
    /// A sample receipt with Chinese and English, a member, a coupon and a
    /// QR code: what the docs' images show and what tests print.
    pub fn sample() -> Self {
        let row = |label: &str, amount: &str, strong| TotalRow {
            label: label.to_owned(),
            amount: amount.to_owned(),
            strong,
        };
        let item = |name: &str, qty: &str, amount: &str| ItemLine {
            name: name.to_owned(),
            qty_text: qty.to_owned(),
            amount_text: amount.to_owned(),
        };
        Self {
            store: "Tillcard 徐汇店".to_owned(),
            title: None,
            terminal: "T03".to_owned(),
            clerk: "王小明".to_owned(),
            at: "2026-12-07 14:05".to_owned(),
            sale_ref: "S-0003-000123".to_owned(),
            lines: vec![
                item("乌龙茶 500ml", "2 x ¥6.50", "¥13.00"),
                item("Espresso beans, dark roast 1kg", "1 x ¥128.00", "¥128.00"),
                item("全麦面包（切片）家庭装", "1 x ¥18.80", "¥18.80"),
            ],
            totals: vec![
                row("小计 Subtotal", "¥159.80", false),
                row("会员折扣 9折", "-¥15.98", false),
                row("优惠券 WELCOME10", "-¥10.00", false),
                row("应付合计 Total", "¥133.82", true),
            ],
            tenders: vec![
                row("积分抵扣 500分", "-¥5.00", false),
                row("储值支付", "-¥28.82", false),
                row("现金 Cash", "¥100.00", true),
            ],
            member: Some(MemberBlock {
                masked_name: "张*华".to_owned(),
                points_earned: "+133".to_owned(),
                points_used: "-500".to_owned(),
                points_balance: "2,480".to_owned(),
                stored_value_balance: "¥71.18".to_owned(),
                coupon_used: Some("WELCOME10 新会员券".to_owned()),
            }),
            qr_payload: Some("https://tillcard.example/r/S-0003-000123".to_owned()),
            reprint: false,
            footer: vec![
                "谢谢惠顾 Thank you".to_owned(),
                "7天内凭小票退换".to_owned(),
            ],
            labels: Labels::zh_cn(),
        }
    }
}
