//! The catalog's worked cases: member prices per tier, weighed lines, refusals,
//! the JSON shape, and a member-priced line left out of the tier discount.

use super::*;
use crate::Program;
use crate::ids::{MemberId, SourceId, Timestamp};
use crate::pricing::{
    Basket, Context, MemberProfile, PricingRequest, Shopper, TenderRequest, price,
};
use crate::{MemberAccount, TierLevel};

fn cola() -> CatalogItem {
    CatalogItem {
        sku: "A-0001".into(),
        barcode: Some("6901028075831".into()),
        name_zh: "可口可乐 330ml".into(),
        name_en: "Coca-Cola 330 ml".into(),
        category: "drinks".into(),
        price: Money::from_fen(350),
        member_prices: vec![TierPrice {
            tier: "gold".into(),
            price: Money::from_fen(300),
        }],
        sold_by_weight: false,
        active: true,
    }
}

fn apples() -> CatalogItem {
    CatalogItem {
        sku: "F-0100".into(),
        barcode: None,
        name_zh: "富士苹果".into(),
        name_en: "Fuji apples".into(),
        category: "fresh".into(),
        price: Money::from_fen(1298),
        member_prices: vec![TierPrice {
            tier: "silver".into(),
            price: Money::from_fen(1198),
        }],
        sold_by_weight: true,
        active: true,
    }
}

#[test]
fn a_member_of_a_priced_tier_pays_the_member_price_and_keeps_the_shelf_price() {
    let line = cola()
        .line(Quantity::Units(3), Some("gold"), false)
        .unwrap();
    assert_eq!(line.quantity, 3);
    assert_eq!(line.unit_price, Money::from_fen(300));
    assert_eq!(line.list_price, Some(Money::from_fen(350)));
    assert_eq!(line.name, "可口可乐 330ml");
    // Another tier and a walk-in pay the shelf price.
    for tier in [Some("silver"), None] {
        let line = cola().line(Quantity::Units(1), tier, true).unwrap();
        assert_eq!(
            (line.unit_price, line.list_price),
            (Money::from_fen(350), None)
        );
        assert_eq!(line.name, "Coca-Cola 330 ml");
    }
}

#[test]
fn a_weighed_item_is_one_line_at_its_weights_price_rounded_half_up() {
    // 0.535 kg at ¥12.98/kg = 694.43 fen -> 694; at ¥11.98 = 640.93 -> 641.
    let line = apples()
        .line(Quantity::Grams(535), Some("silver"), false)
        .unwrap();
    assert_eq!(line.quantity, 1);
    assert_eq!(line.unit_price, Money::from_fen(641));
    assert_eq!(line.list_price, Some(Money::from_fen(694)));
    assert_eq!(line.name, "富士苹果 0.535kg");
    assert_eq!(
        apples().line(Quantity::Units(2), None, false),
        Err(CatalogError::WrongQuantity("by weight"))
    );
    assert_eq!(
        cola().line(Quantity::Grams(100), None, false),
        Err(CatalogError::WrongQuantity("by the unit"))
    );
    assert!(apples().line(Quantity::Grams(0), None, false).is_err());
    assert!(
        apples()
            .line(Quantity::Grams(MAX_GRAMS + 1), None, false)
            .is_err()
    );
}

#[test]
fn an_inactive_or_invalid_item_is_not_rung_up() {
    let mut item = cola();
    item.active = false;
    assert_eq!(
        item.line(Quantity::Units(1), None, false),
        Err(CatalogError::Inactive)
    );
    let mut item = cola();
    item.price = Money::from_fen(-1);
    assert!(item.line(Quantity::Units(1), None, false).is_err());
    assert!(cola().line(Quantity::Units(0), None, false).is_err());
}

#[test]
fn problems_are_listed_all_at_once() {
    let item = CatalogItem {
        sku: "has space".into(),
        barcode: Some("6901028075832".into()),
        name_zh: " ".into(),
        name_en: String::new(),
        category: String::new(),
        price: Money::from_fen(100),
        member_prices: vec![
            TierPrice {
                tier: "gold".into(),
                price: Money::from_fen(150),
            },
            TierPrice {
                tier: "gold".into(),
                price: Money::from_fen(90),
            },
        ],
        sold_by_weight: false,
        active: true,
    };
    let problems: Vec<String> = item.problems().iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 6, "{problems:?}");
    assert!(problems[0].starts_with("sku:"));
    assert!(problems[1].contains("check digit"));
    assert!(problems.iter().any(|p| p.contains("above the shelf price")));
    assert!(problems.iter().any(|p| p.contains("one member price")));
    assert!(cola().problems().is_empty());
    assert_eq!(cola().code().unwrap().key(), "6901028075831");
}

#[test]
fn an_item_is_json_with_optional_fields_left_out() {
    let json = serde_json::to_value(apples()).unwrap();
    assert!(json.get("barcode").is_none());
    let back: CatalogItem = serde_json::from_value(json).unwrap();
    assert_eq!(back, apples());
    // Unknown fields are refused, not dropped.
    let mut json = serde_json::to_value(cola()).unwrap();
    json["colour"] = "red".into();
    assert!(serde_json::from_value::<CatalogItem>(json).is_err());
}

/// A member-priced line is not discounted again by the tier; the other
/// lines of the same basket are.
#[test]
fn a_member_priced_line_is_not_discounted_again_by_the_tier() {
    let program = Program::default();
    let gold = program
        .tiers
        .iter()
        .position(|t| t.discount_bp > 0)
        .expect("the default program has a discounting tier");
    let tier = &program.tiers[gold];
    let mut item = cola();
    item.member_prices[0].tier = tier.code.clone();
    let mut plain = cola();
    plain.sku = "A-0002".into();
    plain.member_prices.clear();
    let basket = Basket {
        lines: vec![
            item.line(Quantity::Units(2), Some(&tier.code), false)
                .unwrap(),
            plain
                .line(Quantity::Units(2), Some(&tier.code), false)
                .unwrap(),
        ],
    };
    let member = MemberId(uuid::Uuid::from_u128(7));
    let mut account = MemberAccount::new(member);
    account.tier = TierLevel(u8::try_from(gold).unwrap());
    let profile = MemberProfile {
        id: member,
        birthday: None,
        referred_by: None,
        balances_known: true,
        frozen: false,
    };
    let now = Timestamp::parse_from_rfc3339("2026-12-01T10:00:00+08:00").unwrap();
    let quote = price(&PricingRequest {
        quote_id: SourceId(uuid::Uuid::from_u128(8)),
        program: &program,
        basket: &basket,
        shopper: Some(Shopper {
            profile: &profile,
            account: &account,
        }),
        context: Context {
            now,
            offline: false,
            offline_allowance_left: Money::ZERO,
        },
        tender: &TenderRequest::default(),
    })
    .unwrap();
    // Only the plain line (2 × ¥3.50) is discounted at the tier's rate.
    let expected = Money::from_fen(700).percent_bp_half_up(tier.discount_bp);
    assert_eq!(
        quote.tier_discount.as_ref().map(|d| d.amount),
        Some(expected)
    );
    assert_eq!(quote.subtotal, Money::from_fen(600 + 700));
}
