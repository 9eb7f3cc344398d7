//! Words of the customer-facing second display (issue 24): the welcome,
//! the basket, what the member saves, the points, the thanks. Addressed to
//! the customer, not the clerk, so they are polite and short.

use tillcard_rules::Money;

use super::{phrases, yuan};
use crate::format::Language;

phrases! {
    /// No sale on the counter.
    welcome => "欢迎光临", "Welcome";
    /// The title over the basket.
    basket => "您的购物清单", "Your basket";
    /// The label of the amount due.
    total => "应付", "To pay";
    /// The label of the amount paid, after the sale.
    paid => "已付", "Paid";
    /// The total while the till is pricing the basket.
    pricing => "计算中…", "Calculating…";
    /// The title after the sale.
    thanks => "谢谢惠顾，欢迎再来", "Thank you, see you soon";
}

/// "王* · 金卡会员" / "Wang* · Gold member".
pub fn member(language: Language, masked_name: &str, tier: &str) -> String {
    match language {
        Language::ZhCn => format!("{masked_name} · {tier}会员"),
        Language::En => format!("{masked_name} · {tier} member"),
    }
}

/// "本单为您节省 ¥12.80" / "You save ¥12.80".
pub fn you_save(language: Language, saved: Money) -> String {
    match language {
        Language::ZhCn => format!("本单为您节省 {}", yuan(saved)),
        Language::En => format!("You save {}", yuan(saved)),
    }
}

/// A line's discount: "省¥1.20" / "save ¥1.20".
pub fn line_saving(language: Language, saved: Money) -> String {
    match language {
        Language::ZhCn => format!("省{}", yuan(saved)),
        Language::En => format!("save {}", yuan(saved)),
    }
}

/// A member-priced line: "会员价 省¥2.00" / "member price, save ¥2.00".
pub fn member_price_saving(language: Language, saved: Money) -> String {
    match language {
        Language::ZhCn => format!("会员价 省{}", yuan(saved)),
        Language::En => format!("member price, save {}", yuan(saved)),
    }
}

/// After the sale: "本单获得 128 积分" / "128 points earned".
pub fn points_earned(language: Language, points: i64) -> String {
    match language {
        Language::ZhCn => format!("本单获得 {points} 积分"),
        Language::En => format!("{points} points earned"),
    }
}

/// The member's balances after the sale.
pub fn balances(language: Language, points: i64, stored_value: &str) -> String {
    match language {
        Language::ZhCn => format!("积分余额 {points} · 储值余额 {stored_value}"),
        Language::En => format!("Points {points} · Stored value {stored_value}"),
    }
}

/// Change handed back: "找零 ¥3.50" / "Change ¥3.50".
pub fn change(language: Language, change: Money) -> String {
    match language {
        Language::ZhCn => format!("找零 {}", yuan(change)),
        Language::En => format!("Change {}", yuan(change)),
    }
}

/// Points and stored value paying part of the sale: "积分抵扣 1000分
/// ¥10.00 · 储值 ¥5.00"; empty when neither.
pub fn spent(language: Language, points: i64, points_value: Money, stored_value: Money) -> String {
    let mut parts = Vec::new();
    if points > 0 {
        parts.push(match language {
            Language::ZhCn => format!("积分抵扣 {points}分 {}", yuan(points_value)),
            Language::En => format!("{points} points {}", yuan(points_value)),
        });
    }
    if stored_value > Money::ZERO {
        parts.push(match language {
            Language::ZhCn => format!("储值支付 {}", yuan(stored_value)),
            Language::En => format!("Stored value {}", yuan(stored_value)),
        });
    }
    parts.join(" · ")
}
