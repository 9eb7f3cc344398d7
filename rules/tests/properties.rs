//! Property tests over random members, baskets and tenders: the invariants
//! the rules promise whatever the input.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use chrono::Duration;
use proptest::prelude::*;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::booking::{self, Authority, BookingError};
use tillcard_rules::expiry::{expire_due, lot_expiry};
use tillcard_rules::gifts::{self, GiftError};
use tillcard_rules::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{Coupon, EarnReason, EntryKind, LedgerEntry};
use tillcard_rules::money::{Money, allocate_by_largest_remainder};
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, PricingRequest, Quote, Shopper,
    StoredValueRequest, TenderRequest,
};
use tillcard_rules::program::{CategoryScope, CouponKind, Gift, Program, TierLevel};
use tillcard_rules::refund::{self, PastRefund, RefundLine, SaleHistory};
use tillcard_rules::reverify::{Excess, Held, reverify_sale};
use tillcard_rules::tier;
use uuid::Uuid;

const CATEGORIES: [&str; 4] = ["grocery", "drinks", "tobacco", "gift_card"];

fn now() -> Timestamp {
    Timestamp::parse_from_rfc3339("2026-06-15T12:00:00+08:00").unwrap()
}

fn member() -> MemberId {
    MemberId(Uuid::from_u128(1))
}

fn source(n: u128) -> SourceId {
    SourceId(Uuid::from_u128(n))
}

/// A member's opening ledger, as generated.
#[derive(Debug, Clone)]
struct MemberSeed {
    tier: u8,
    lots: Vec<(i64, i64)>, // (points, days ago earned)
    principal: i64,
    bonus: i64,
    coupon: Option<(CouponKind, bool)>, // (kind, stacks)
    spend: Vec<(i64, i64)>,             // (fen, days ago)
}

fn member_seed() -> impl Strategy<Value = MemberSeed> {
    let coupon = prop_oneof![
        (1i64..5_000, 0i64..20_000).prop_map(|(off, min)| CouponKind::AmountOff {
            off: Money::from_fen(off),
            min_spend: Money::from_fen(min),
        }),
        (1i64..=10_000, 1i64..10_000).prop_map(|(bp, cap)| CouponKind::PercentOff {
            off_bp: bp,
            cap: Money::from_fen(cap),
            min_spend: Money::ZERO,
        }),
    ];
    (
        0u8..4,
        prop::collection::vec((1i64..3_000, 0i64..800), 0..5),
        0i64..100_000,
        0i64..20_000,
        prop::option::of((coupon, any::<bool>())),
        prop::collection::vec((0i64..1_000_000, 0i64..500), 0..4),
    )
        .prop_map(|(tier, lots, principal, bonus, coupon, spend)| MemberSeed {
            tier,
            lots,
            principal,
            bonus,
            coupon,
            spend,
        })
}

fn opening_entries(program: &Program, seed: &MemberSeed) -> Vec<LedgerEntry> {
    let mut entries: Vec<LedgerEntry> = Vec::new();
    // Each entry's source is the next number; lots and coupons are named
    // after the entry that creates them.
    let next = |entries: &Vec<LedgerEntry>| source(101 + entries.len() as u128);
    let push = |entries: &mut Vec<LedgerEntry>, at: Timestamp, kind: EntryKind| {
        let source = next(entries);
        entries.push(LedgerEntry {
            member: member(),
            source,
            at,
            kind,
        });
    };
    let long_ago = now() - Duration::days(900);
    if seed.tier > 0 {
        push(
            &mut entries,
            long_ago,
            EntryKind::TierChanged {
                from: TierLevel(0),
                to: TierLevel(seed.tier),
                provisional: false,
            },
        );
    }
    for (points, days) in &seed.lots {
        let at = now() - Duration::days(*days);
        let lot = LotId(next(&entries));
        push(
            &mut entries,
            at,
            EntryKind::PointsEarned {
                lot,
                points: *points,
                expires_at: lot_expiry(program.expiry, at),
                reason: EarnReason::Purchase,
            },
        );
    }
    if seed.principal + seed.bonus > 0 {
        push(
            &mut entries,
            long_ago,
            EntryKind::StoredValueCredited {
                principal: Money::from_fen(seed.principal),
                bonus: Money::from_fen(seed.bonus),
                package: None,
            },
        );
    }
    for (fen, days) in &seed.spend {
        push(
            &mut entries,
            now() - Duration::days(*days),
            EntryKind::QualifyingSpend {
                amount: Money::from_fen(*fen),
            },
        );
    }
    if let Some((kind, stacks)) = &seed.coupon {
        let issued_by = next(&entries);
        push(
            &mut entries,
            now() - Duration::days(1),
            EntryKind::CouponIssued {
                coupon: Coupon {
                    id: CouponId {
                        issued_by,
                        index: 0,
                    },
                    code: "test".into(),
                    kind: kind.clone(),
                    scope: CategoryScope::All,
                    valid_from: now() - Duration::days(1),
                    valid_until: now() + Duration::days(30),
                    stacks_with_tier_discount: *stacks,
                },
            },
        );
    }
    entries
}

fn basket() -> impl Strategy<Value = Basket> {
    prop::collection::vec((0usize..4, 1i64..6, 0i64..50_000), 1..7).prop_map(|lines| Basket {
        lines: lines
            .into_iter()
            .enumerate()
            .map(|(i, (category, quantity, price))| BasketLine {
                sku: format!("sku{i}"),
                name: format!("item {i}"),
                category: CATEGORIES[category].into(),
                quantity,
                unit_price: Money::from_fen(price),
                list_price: None,
            })
            .collect(),
    })
}

#[derive(Debug, Clone)]
struct TenderSeed {
    use_coupon: bool,
    points: i64,
    stored_value: StoredValueRequest,
    offline: bool,
    allowance: i64,
}

fn tender_seed() -> impl Strategy<Value = TenderSeed> {
    (
        any::<bool>(),
        0i64..12_000,
        prop_oneof![
            Just(StoredValueRequest::None),
            Just(StoredValueRequest::AsMuchAsPossible),
            (1i64..200_000).prop_map(|f| StoredValueRequest::UpTo(Money::from_fen(f))),
        ],
        any::<bool>(),
        0i64..60_000,
    )
        .prop_map(
            |(use_coupon, points, stored_value, offline, allowance)| TenderSeed {
                use_coupon,
                points,
                stored_value,
                offline,
                allowance,
            },
        )
}

struct Scenario {
    program: Program,
    profile: MemberProfile,
    account: MemberAccount,
    quote: Quote,
    context: Context,
}

fn scenario(seed: &MemberSeed, basket: &Basket, tender: &TenderSeed) -> Scenario {
    let program = Program::default();
    let account = MemberAccount::fold(
        MemberAccount::new(member()),
        &opening_entries(&program, seed),
    );
    let profile = MemberProfile {
        id: member(),
        birthday: None,
        referred_by: None,
        balances_known: true,
        frozen: false,
    };
    let coupons = if tender.use_coupon {
        account.coupons.iter().map(|c| c.coupon.id).collect()
    } else {
        Vec::new()
    };
    let request = TenderRequest {
        coupons,
        redeem_points: tender.points,
        stored_value: tender.stored_value,
    };
    let context = Context {
        now: now(),
        offline: tender.offline,
        offline_allowance_left: Money::from_fen(tender.allowance),
    };
    let quote = pricing::price(&PricingRequest {
        quote_id: source(1),
        program: &program,
        basket,
        shopper: Some(Shopper {
            profile: &profile,
            account: &account,
        }),
        context,
        tender: &request,
    })
    .unwrap();
    Scenario {
        program,
        profile,
        account,
        quote,
        context,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn an_honest_sale_is_never_beyond_the_program_and_inflated_points_always_are(seed in member_seed(), basket in basket(), tender in tender_seed()) {
        let s = scenario(&seed, &basket, &tender);
        let Ok(mut entries) = booking::book_sale(&s.program, &s.quote, &s.profile, &s.account, Authority::Terminal) else {
            return Ok(());
        };
        let held = Held { account: Some(&s.account), birthday: None };
        let honest = reverify_sale(&s.program, &s.quote, &entries, held).unwrap();
        prop_assert_eq!(honest, Vec::<Excess>::new());
        let mut inflated = false;
        for entry in &mut entries {
            if let EntryKind::PointsEarned { points, reason: EarnReason::Purchase, .. } = &mut entry.kind {
                *points += 1;
                inflated = true;
            }
        }
        if inflated {
            let excess = reverify_sale(&s.program, &s.quote, &entries, held).unwrap();
            prop_assert_eq!(excess, vec![Excess::PointsEarned { booked: s.quote.earn.points + 1, allowed: s.quote.earn.points }]);
        }
    }

    #[test]
    fn a_discount_or_redemption_beyond_the_program_is_always_named(seed in member_seed(), basket in basket(), tender in tender_seed()) {
        let s = scenario(&seed, &basket, &tender);
        let held = Held { account: Some(&s.account), birthday: None };
        let mut quote = s.quote.clone();
        // One fen more off the first line that has one to give, the total
        // kept consistent.
        if let Some(line) = quote.lines.iter_mut().find(|l| l.money > Money::ZERO) {
            line.tier_discount += Money::from_fen(1);
            line.net -= Money::from_fen(1);
            line.money -= Money::from_fen(1);
            quote.total -= Money::from_fen(1);
            quote.amount_due -= Money::from_fen(1);
            let excess = reverify_sale(&s.program, &quote, &[], held).unwrap();
            prop_assert!(
                excess.contains(&Excess::Discount { booked: s.quote.discount_total() + Money::from_fen(1), allowed: s.quote.discount_total() }),
                "{:?}", excess
            );
        }
        let mut quote = s.quote.clone();
        quote.points_value += Money::from_fen(1);
        let excess = reverify_sale(&s.program, &quote, &[], held).unwrap();
        prop_assert!(
            excess.contains(&Excess::PointsRedeemed { booked: quote.points_value, allowed: s.quote.points_value }),
            "{:?}", excess
        );
    }

    #[test]
    fn line_amounts_always_sum_to_the_order_total(seed in member_seed(), basket in basket(), tender in tender_seed()) {
        let s = scenario(&seed, &basket, &tender);
        let q = &s.quote;
        prop_assert_eq!(q.lines.iter().map(|l| l.net).sum::<Money>(), q.total);
        prop_assert_eq!(q.lines.iter().map(|l| l.gross).sum::<Money>(), q.subtotal);
        prop_assert_eq!(q.lines.iter().map(|l| l.points_value).sum::<Money>(), q.points_value);
        prop_assert_eq!(q.lines.iter().map(|l| l.points).sum::<i64>(), q.points_redeemed);
        prop_assert_eq!(q.lines.iter().map(|l| l.stored_value_principal).sum::<Money>(), q.stored_value_principal);
        prop_assert_eq!(q.lines.iter().map(|l| l.stored_value_bonus).sum::<Money>(), q.stored_value_bonus);
        prop_assert_eq!(q.lines.iter().map(|l| l.money).sum::<Money>(), q.amount_due);
        for line in &q.lines {
            prop_assert_eq!(
                line.points_value + line.stored_value_principal + line.stored_value_bonus + line.money,
                line.net
            );
        }
        prop_assert_eq!(q.total - q.points_value - q.stored_value_used(), q.amount_due);
    }

    #[test]
    fn no_discount_makes_a_line_negative(seed in member_seed(), basket in basket(), tender in tender_seed()) {
        let s = scenario(&seed, &basket, &tender);
        for line in &s.quote.lines {
            prop_assert!(line.tier_discount >= Money::ZERO);
            prop_assert!(line.coupon_discount >= Money::ZERO);
            prop_assert!(line.net >= Money::ZERO, "line net {:?}", line.net);
            prop_assert!(line.net <= line.gross);
            prop_assert!(line.money >= Money::ZERO);
            prop_assert!(line.points >= 0);
            prop_assert!(line.stored_value_principal >= Money::ZERO);
            prop_assert!(line.stored_value_bonus >= Money::ZERO);
        }
    }

    #[test]
    fn points_redeemed_never_exceed_cap_balance_or_offline_allowance(seed in member_seed(), basket in basket(), tender in tender_seed()) {
        let s = scenario(&seed, &basket, &tender);
        let q = &s.quote;
        let r = &s.program.redemption;
        prop_assert!(q.points_redeemed >= 0);
        prop_assert!(q.points_redeemed <= tender.points);
        prop_assert_eq!(q.points_redeemed % r.step, 0);
        prop_assert!(q.points_redeemed <= s.account.points_available(s.context.now));
        prop_assert!(q.points_value <= q.total.mul_ratio_floor(r.max_share_bp, 10_000));
        prop_assert!(q.stored_value_principal <= s.account.stored_value.principal.clamp_non_negative());
        prop_assert!(q.stored_value_bonus <= s.account.stored_value.bonus.clamp_non_negative());
        if s.context.offline {
            prop_assert!(q.points_value + q.stored_value_used() <= s.context.offline_allowance_left);
        }
    }

    #[test]
    fn a_sale_followed_by_its_full_refund_restores_every_balance(seed in member_seed(), basket in basket(), tender in tender_seed()) {
        let s = scenario(&seed, &basket, &tender);
        let entries = booking::book_sale(&s.program, &s.quote, &s.profile, &s.account, Authority::Terminal).unwrap();
        let after_sale = MemberAccount::fold(s.account.clone(), &entries);
        let all: Vec<RefundLine> = s.quote.lines.iter().enumerate()
            .map(|(line, l)| RefundLine { line, quantity: l.item.quantity }).collect();
        let refund_at = s.context.now + Duration::minutes(5);
        let outcome = refund::refund(
            SaleHistory { quote: &s.quote, entries: &entries, refunds: &[] },
            Some(&after_sale), &all, refund_at, source(2),
        ).unwrap();
        let restored = MemberAccount::fold(after_sale, &outcome.entries);
        prop_assert_eq!(restored.points_balance(refund_at), s.account.points_balance(refund_at));
        prop_assert_eq!(restored.stored_value, s.account.stored_value);
        prop_assert_eq!(restored.usable_coupons(refund_at).count(), s.account.usable_coupons(refund_at).count());
        prop_assert_eq!(restored.rolling_spend(refund_at, 12), s.account.rolling_spend(refund_at, 12));
        prop_assert_eq!(outcome.money, s.quote.amount_due);
        prop_assert!(!outcome.flagged_negative);
    }

    #[test]
    fn partial_refunds_add_up_to_the_full_refund(seed in member_seed(), basket in basket(), tender in tender_seed(), split in prop::collection::vec(0i64..6, 7)) {
        let s = scenario(&seed, &basket, &tender);
        let entries = booking::book_sale(&s.program, &s.quote, &s.profile, &s.account, Authority::Terminal).unwrap();
        let mut account = MemberAccount::fold(s.account.clone(), &entries);
        let first: Vec<RefundLine> = s.quote.lines.iter().enumerate()
            .map(|(line, l)| RefundLine { line, quantity: split[line].min(l.item.quantity) }).collect();
        let second: Vec<RefundLine> = s.quote.lines.iter().enumerate()
            .map(|(line, l)| RefundLine { line, quantity: l.item.quantity - first[line].quantity }).collect();
        let at = s.context.now + Duration::minutes(5);
        let mut past: Vec<PastRefund> = Vec::new();
        let (mut money, mut principal, mut bonus, mut returned, mut reversed) = (Money::ZERO, Money::ZERO, Money::ZERO, 0, 0);
        for (n, part) in [first, second].into_iter().enumerate() {
            if part.iter().all(|r| r.quantity == 0) { continue; }
            let outcome = refund::refund(
                SaleHistory { quote: &s.quote, entries: &entries, refunds: &past },
                Some(&account), &part, at, source(10 + n as u128),
            ).unwrap();
            money += outcome.money;
            principal += outcome.stored_value_principal;
            bonus += outcome.stored_value_bonus;
            returned += outcome.points_returned;
            reversed += outcome.points_reversed;
            account = MemberAccount::fold(account, &outcome.entries);
            past.push(PastRefund { lines: part, entries: outcome.entries });
        }
        prop_assert_eq!(money, s.quote.amount_due);
        prop_assert_eq!(principal, s.quote.stored_value_principal);
        prop_assert_eq!(bonus, s.quote.stored_value_bonus);
        prop_assert_eq!(returned, s.quote.points_redeemed);
        prop_assert_eq!(reversed, s.quote.earn.points);
        prop_assert_eq!(account.points_balance(at), s.account.points_balance(at));
        prop_assert_eq!(account.stored_value, s.account.stored_value);
    }

    #[test]
    fn booking_the_same_quote_twice_is_detected(seed in member_seed(), basket in basket(), tender in tender_seed()) {
        let s = scenario(&seed, &basket, &tender);
        let entries = booking::book_sale(&s.program, &s.quote, &s.profile, &s.account, Authority::Terminal).unwrap();
        prop_assert!(entries.iter().all(|e| e.source == s.quote.id));
        let after = MemberAccount::fold(s.account.clone(), &entries);
        if !entries.is_empty() {
            let again = booking::book_sale(&s.program, &s.quote, &s.profile, &after, Authority::Terminal);
            prop_assert_eq!(again, Err(BookingError::AlreadyBooked(s.quote.id)));
        }
    }

    #[test]
    fn expiry_never_consumes_a_lot_not_yet_expired(seed in member_seed(), days_later in 0i64..900) {
        let program = Program::default();
        let account = MemberAccount::fold(MemberAccount::new(member()), &opening_entries(&program, &seed));
        let at = now() + Duration::days(days_later);
        let expired = expire_due(&account, at, source(3));
        for entry in &expired {
            let EntryKind::PointsExpired { lot, points } = entry.kind else {
                panic!("expiry booked something else: {entry:?}");
            };
            let held = account.lots.iter().find(|l| l.lot == lot).unwrap();
            prop_assert!(held.expires_at <= at);
            prop_assert_eq!(points, held.remaining);
        }
        let after = MemberAccount::fold(account.clone(), &expired);
        prop_assert_eq!(after.points_balance(at), account.points_balance(at));
        for lot in after.lots.iter().filter(|l| l.expires_at > at) {
            let before = account.lots.iter().find(|b| b.lot == lot.lot).unwrap();
            prop_assert_eq!(lot.remaining, before.remaining);
        }
    }

    #[test]
    fn tier_never_drops_more_than_one_level_per_evaluation(seed in member_seed(), months_later in 0i64..40) {
        let program = Program::default();
        let account = MemberAccount::fold(MemberAccount::new(member()), &opening_entries(&program, &seed));
        let at = now() + Duration::days(30 * months_later);
        if let Some(change) = tier::evaluate(&program, &account, at, source(4)) {
            let EntryKind::TierChanged { from, to, .. } = change.kind else {
                panic!("evaluation booked something else");
            };
            prop_assert_eq!(from, account.tier);
            prop_assert!(to.0 + 1 >= from.0, "dropped from {:?} to {:?}", from, to);
            prop_assert_ne!(from, to);
        }
    }

    #[test]
    fn largest_remainder_parts_sum_to_total_and_never_exceed_weights(total in 0i64..1_000_000, weights in prop::collection::vec(0i64..1_000_000, 1..10)) {
        let sum: i64 = weights.iter().sum();
        let total = if sum == 0 { 0 } else { total % (sum + 1) };
        let parts = allocate_by_largest_remainder(total, &weights);
        prop_assert_eq!(parts.iter().sum::<i64>(), total);
        for (part, weight) in parts.iter().zip(&weights) {
            prop_assert!(*part >= 0 && *part <= *weight);
        }
    }

    #[test]
    fn cash_outs_pay_at_most_the_principal_and_end_with_nothing_left(principal in 1i64..100_000_000, bonus in 0i64..20_000_000, parts in prop::collection::vec(1i64..100_000_000, 0..5)) {
        let mut account = MemberAccount::new(member());
        account.stored_value.principal = Money::from_fen(principal);
        account.stored_value.bonus = Money::from_fen(bonus);
        let (mut paid, mut forfeited) = (0i64, 0i64);
        for (n, part) in parts.iter().enumerate() {
            let before = account.stored_value;
            match booking::book_cash_out(&account, Some(Money::from_fen(*part)), now(), source(n as u128 + 1)) {
                Ok(entries) => {
                    prop_assert!(*part <= before.principal.fen());
                    if let [LedgerEntry { kind: EntryKind::StoredValueCashedOut { principal: p, bonus: b }, .. }] = entries.as_slice() {
                        prop_assert_eq!(p.fen(), *part);
                        prop_assert!(b.fen() >= 0 && *b <= before.bonus);
                        paid += p.fen();
                        forfeited += b.fen();
                    } else {
                        prop_assert!(false, "one cash-out entry");
                    }
                    account = MemberAccount::fold(account, &entries);
                }
                Err(BookingError::CashOutAboveBalance { .. }) => {
                    prop_assert!(*part > before.principal.fen());
                }
                Err(other) => prop_assert!(false, "unexpected refusal {other}"),
            }
            prop_assert!(!account.stored_value.principal.is_negative());
            prop_assert!(!account.stored_value.bonus.is_negative());
        }
        // Whatever was left goes in one last cash-out of the rest.
        if account.stored_value.principal.fen() > 0 {
            let entries = booking::book_cash_out(&account, None, now(), source(99)).unwrap();
            if let [LedgerEntry { kind: EntryKind::StoredValueCashedOut { principal: p, bonus: b }, .. }] = entries.as_slice() {
                paid += p.fen();
                forfeited += b.fen();
            }
            account = MemberAccount::fold(account, &entries);
        }
        prop_assert_eq!(paid, principal, "every fen of principal paid back once");
        prop_assert_eq!(forfeited, bonus, "every fen of bonus forfeited once");
        prop_assert!(account.stored_value.total().is_zero());
    }

    #[test]
    fn gift_redemptions_never_drive_points_negative_and_take_oldest_lots_first(seed in member_seed(), prices in prop::collection::vec(1i64..4_000, 1..8)) {
        let program = Program {
            gifts: prices
                .iter()
                .enumerate()
                .map(|(i, points)| Gift { code: format!("gift-{i}"), name: format!("礼品{i}"), points: *points, active: true })
                .collect(),
            ..Program::default()
        };
        program.validate().unwrap();
        let profile = MemberProfile { id: member(), birthday: None, referred_by: None, balances_known: true, frozen: false };
        let mut account = MemberAccount::fold(MemberAccount::new(member()), &opening_entries(&program, &seed));
        let (mut redeemed, mut refused) = (0, 0);
        for (n, gift) in program.gifts.iter().enumerate() {
            let before = account.points_available(now());
            let lots: Vec<(LotId, i64)> = account.spendable_lots(now()).iter().map(|l| (l.lot, l.remaining)).collect();
            match gifts::book_gift_redemption(&program, &profile, &account, &gift.code, now(), source(9_000 + n as u128)) {
                Ok(entries) => {
                    redeemed += 1;
                    prop_assert!(gift.points <= before);
                    let [LedgerEntry { kind: EntryKind::PointsRedeemedForGift { gift: code, draws }, .. }] = entries.as_slice() else {
                        panic!("one gift entry, got {entries:?}");
                    };
                    prop_assert_eq!(code, &gift.code);
                    prop_assert_eq!(draws.iter().map(|d| d.points).sum::<i64>(), gift.points);
                    // Oldest first: the draws are a prefix of the spendable
                    // lots in age order, each but the last taken whole.
                    prop_assert!(draws.len() <= lots.len());
                    for (i, draw) in draws.iter().enumerate() {
                        prop_assert_eq!(draw.lot, lots[i].0, "draw {} is the {}th oldest lot", i, i);
                        prop_assert!(draw.points > 0 && draw.points <= lots[i].1);
                        if i + 1 < draws.len() {
                            prop_assert_eq!(draw.points, lots[i].1, "an older lot is emptied before a newer one is touched");
                        }
                    }
                    account = MemberAccount::fold(account, &entries);
                    prop_assert_eq!(account.points_available(now()), before - gift.points);
                }
                Err(GiftError::NotEnoughPoints { price, available }) => {
                    refused += 1;
                    prop_assert_eq!(price, gift.points);
                    prop_assert_eq!(available, before);
                    prop_assert!(gift.points > before);
                }
                Err(other) => prop_assert!(false, "unexpected refusal {other}"),
            }
            prop_assert!(account.points_balance(now()) >= 0, "points never negative");
            prop_assert!(account.lots.iter().all(|l| l.remaining >= 0), "no lot below zero");
        }
        prop_assert_eq!(redeemed + refused, prices.len());
    }
}
