//! The embedded demo: the default program, a demo member and a priced demo
//! basket, printed for a newcomer. Later the demo data also seeds the
//! terminal's local store.

use std::fmt::Write as _;

use tillcard_rules::Money;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::booking::{self, Authority};
use tillcard_rules::expiry::lot_expiry;
use tillcard_rules::ids::{LotId, MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{EarnReason, EntryKind, LedgerEntry};
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, PricingRequest, Quote, Shopper,
    StoredValueRequest, TenderRequest,
};
use tillcard_rules::program::{Program, TierLevel};
use uuid::Uuid;

use crate::format::{Language, discount_label, mask_name, mask_phone, money};

/// The demo member's opening ledger: gold tier, 1,200 points, ¥550 stored
/// value (充500送50) and the welcome coupon.
pub fn demo_member_ledger(program: &Program, member: MemberId, now: Timestamp) -> Vec<LedgerEntry> {
    let id = |n: u128| SourceId(Uuid::from_u128(0xD3E0_0000 + n));
    let earlier = now - chrono::Duration::days(40);
    let entry = |n: u128, kind: EntryKind| LedgerEntry {
        member,
        source: id(n),
        at: earlier,
        kind,
    };
    let mut entries = vec![
        entry(
            1,
            EntryKind::TierChanged {
                from: TierLevel(0),
                to: TierLevel(2),
                provisional: false,
            },
        ),
        entry(
            2,
            EntryKind::PointsEarned {
                lot: LotId(id(2)),
                points: 1_200,
                expires_at: lot_expiry(program.expiry, earlier),
                reason: EarnReason::Purchase,
            },
        ),
        entry(
            3,
            EntryKind::StoredValueCredited {
                principal: Money::from_yuan(500),
                bonus: Money::from_yuan(50),
                package: Some("500+50".into()),
            },
        ),
    ];
    entries.extend(booking::book_enrollment(
        program,
        member,
        now - chrono::Duration::days(2),
        id(4),
    ));
    entries
}

/// The demo basket.
pub fn demo_basket() -> Basket {
    let line = |sku: &str, name: &str, category: &str, quantity, yuan: &str| BasketLine {
        sku: sku.into(),
        name: name.into(),
        category: category.into(),
        quantity,
        unit_price: yuan.parse().unwrap_or_default(),
    };
    Basket {
        lines: vec![
            line("6901", "东北大米 5kg", "grocery", 1, "59.90"),
            line("6902", "花生油 1.8L", "grocery", 2, "32.50"),
            line("6903", "矿泉水 24瓶", "drinks", 1, "28.00"),
            line("6904", "香烟", "tobacco", 1, "25.00"),
        ],
    }
}

/// Prices the demo basket for the demo member at `now` and renders the
/// program and the quote as text.
pub fn demo_text(now: Timestamp) -> Result<String, pricing::PricingError> {
    let program = Program::default();
    let member = MemberId(Uuid::from_u128(0xD3E0));
    let account = MemberAccount::fold(
        MemberAccount::new(member),
        &demo_member_ledger(&program, member, now),
    );
    let profile = MemberProfile {
        id: member,
        birthday: None,
        referred_by: None,
        balances_known: true,
    };
    let tender = TenderRequest {
        coupons: account.usable_coupons(now).map(|c| c.id).collect(),
        redeem_points: 500,
        stored_value: StoredValueRequest::UpTo(Money::from_yuan(50)),
    };
    let quote = pricing::price(&PricingRequest {
        quote_id: SourceId(Uuid::from_u128(0xD3E0_1000)),
        program: &program,
        basket: &demo_basket(),
        shopper: Some(Shopper {
            profile: &profile,
            account: &account,
        }),
        context: Context {
            now,
            offline: true,
            offline_allowance_left: program.offline.allowance_per_member_per_day,
        },
        tender: &tender,
    })?;
    let mut out = String::new();
    let _ = writeln!(out, "Tillcard demo — program v{}", program.version);
    for tier in &program.tiers {
        let _ = writeln!(
            out,
            "  {:<6} {:<8} from {:>10}  {:<8} {:<8} points ×{}",
            tier.name_zh,
            tier.name_en,
            money(tier.qualifying_spend),
            if tier.discount_bp == 0 {
                "-".to_string()
            } else {
                discount_label(tier.discount_bp, Language::ZhCn)
            },
            if tier.discount_bp == 0 {
                "-".to_string()
            } else {
                discount_label(tier.discount_bp, Language::En)
            },
            tier.points_multiplier_milli as f64 / 1000.0,
        );
    }
    let _ = writeln!(
        out,
        "\nMember {} {} — {} — {} points — stored value {} (principal {}, bonus {})",
        mask_name("张伟"),
        mask_phone("13812345678"),
        program
            .tier(account.tier)
            .map_or("?", |t| t.name_zh.as_str()),
        account.points_available(now),
        money(account.stored_value.total()),
        money(account.stored_value.principal),
        money(account.stored_value.bonus),
    );
    render_quote(&mut out, &quote);
    let entries = booking::book_sale(&program, &quote, &profile, &account, Authority::Terminal)
        .unwrap_or_default();
    let after = MemberAccount::fold(account, &entries);
    let _ = writeln!(
        out,
        "\nAfter the sale: {} points, stored value {} ({} ledger entries booked)",
        after.points_available(now),
        money(after.stored_value.total()),
        entries.len()
    );
    Ok(out)
}

fn render_quote(out: &mut String, quote: &Quote) {
    let _ = writeln!(
        out,
        "\n{:<16} {:>4} {:>10} {:>10} {:>10}",
        "item", "qty", "gross", "discount", "net"
    );
    for line in &quote.lines {
        let _ = writeln!(
            out,
            "{:<16} {:>4} {:>10} {:>10} {:>10}",
            line.item.name,
            line.item.quantity,
            money(line.gross),
            money(line.tier_discount + line.member_day_discount + line.coupon_discount),
            money(line.net),
        );
    }
    let _ = writeln!(out, "{:<32} {:>10}", "subtotal", money(quote.subtotal));
    if let Some(d) = &quote.tier_discount {
        let label = format!(
            "tier discount {} / {}",
            discount_label(d.rate_bp, Language::ZhCn),
            discount_label(d.rate_bp, Language::En)
        );
        let _ = writeln!(out, "{label:<32} {:>10}", money(-d.amount));
    }
    if let Some(c) = &quote.coupon {
        let _ = writeln!(
            out,
            "{:<32} {:>10}",
            format!("coupon {}", c.code),
            money(-c.amount)
        );
    }
    let _ = writeln!(out, "{:<32} {:>10}", "total", money(quote.total));
    if quote.points_redeemed > 0 {
        let _ = writeln!(
            out,
            "{:<32} {:>10}",
            format!("{} points", quote.points_redeemed),
            money(-quote.points_value)
        );
    }
    if !quote.stored_value_used().is_zero() {
        let _ = writeln!(
            out,
            "{:<32} {:>10}",
            format!(
                "stored value (principal {}, bonus {})",
                money(quote.stored_value_principal),
                money(quote.stored_value_bonus)
            ),
            money(-quote.stored_value_used())
        );
    }
    let _ = writeln!(out, "{:<32} {:>10}", "DUE", money(quote.amount_due));
    let _ = writeln!(
        out,
        "points earned: {} (¥{} paid on earning items × {} tier{})",
        quote.earn.points,
        quote.earn.eligible_paid.whole_yuan(),
        quote.earn.tier_multiplier_milli as f64 / 1000.0,
        quote
            .earn
            .occasion
            .map(|o| format!(
                " × {} {o:?}",
                quote.earn.occasion_multiplier_milli as f64 / 1000.0
            ))
            .unwrap_or_default()
    );
    for refusal in &quote.refusals {
        let _ = writeln!(out, "note: {}", refusal.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_prices_the_basket_with_gold_discount_coupon_points_and_stored_value() {
        let now = Timestamp::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap();
        let text = demo_text(now).unwrap();
        assert!(text.contains("9折 / 10% off"), "{text}");
        assert!(text.contains("coupon welcome-10-off-50"), "{text}");
        assert!(text.contains("500 points"), "{text}");
        assert!(text.contains("张* 138****5678"), "{text}");
        assert!(!text.contains("13812345678"), "raw phone shown: {text}");
    }
}
