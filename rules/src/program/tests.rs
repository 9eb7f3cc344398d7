//! The program's own tests: defaults, validation, serde.

use super::*;

#[test]
fn default_program_is_valid_and_matches_the_spec() {
    let program = Program::default();
    assert_eq!(program.validate(), Ok(()));
    assert_eq!(program.tiers[2].name_zh, "金卡");
    assert_eq!(program.tiers[2].discount_bp, 1000);
    assert_eq!(
        program.tier_for_spend(Money::from_yuan(4_999)),
        TierLevel(1)
    );
    assert_eq!(
        program.tier_for_spend(Money::from_yuan(5_000)),
        TierLevel(2)
    );
}

#[test]
fn overlapping_tiers_negative_rates_and_caps_over_100_percent_are_refused() {
    let mut program = Program::default();
    program.tiers[2].qualifying_spend = Money::from_yuan(800);
    program.earning.points_per_yuan = -1;
    program.redemption.max_share_bp = 12_000;
    let Err(InvalidProgram(problems)) = program.validate() else {
        panic!("a broken program validated");
    };
    assert!(problems.iter().any(|p| matches!(
        p,
        ProgramProblem::OverlappingTiers { higher, .. } if higher == "gold"
    )));
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, ProgramProblem::Negative { value: -1, .. }))
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, ProgramProblem::OverHundredPercent { value: 12_000, .. }))
    );
    let message = InvalidProgram(problems).to_string();
    assert!(message.contains("tiers overlap"), "{message}");
}

#[test]
fn a_figure_above_its_bound_is_refused_and_the_largest_allowed_price_without_overflow() {
    use crate::limits::{MAX_FEN, MAX_MULTIPLIER_MILLI, MAX_POINTS};
    let mut huge = Program::default();
    huge.earning.points_per_yuan = i64::MAX;
    huge.tiers[3].points_multiplier_milli = i64::MAX;
    huge.referral.points_each = i64::MAX;
    let Err(InvalidProgram(problems)) = huge.validate() else {
        panic!("a program with i64::MAX figures validated");
    };
    let too_large = problems
        .iter()
        .filter(|p| matches!(p, ProgramProblem::TooLarge { value, .. } if *value == i64::MAX))
        .count();
    assert_eq!(too_large, 3, "{problems:?}");

    // Every rate and multiplier at its bound: valid, and pricing the
    // largest basket the protocol allows with it does not overflow.
    let mut largest = Program::default();
    largest.earning.points_per_yuan = bounds::MAX_EARN_POINTS_PER_YUAN;
    for tier in &mut largest.tiers {
        tier.points_multiplier_milli = MAX_MULTIPLIER_MILLI;
    }
    largest.birthday.points_multiplier_milli = MAX_MULTIPLIER_MILLI;
    largest.redemption.points_per_yuan = bounds::MAX_REDEEM_POINTS_PER_YUAN;
    largest.redemption.step = bounds::MAX_REDEEM_POINTS_PER_YUAN;
    largest.referral.points_each = MAX_POINTS;
    largest.offline.allowance_per_member_per_day = Money::from_fen(MAX_FEN);
    assert_eq!(largest.validate(), Ok(()));
    let member = crate::ids::MemberId(uuid::Uuid::from_u128(1));
    let at = crate::ids::Timestamp::parse_from_rfc3339("2026-03-10T10:00:00+08:00").unwrap();
    let profile = crate::pricing::MemberProfile {
        id: member,
        birthday: Some(crate::pricing::MonthDay { month: 3, day: 1 }),
        referred_by: None,
        balances_known: true,
        frozen: false,
    };
    let mut account = crate::account::MemberAccount::new(member);
    account.tier = TierLevel(3);
    let basket = crate::pricing::Basket {
        lines: vec![crate::pricing::BasketLine {
            sku: "all".into(),
            name: "everything".into(),
            category: "grocery".into(),
            quantity: 1,
            unit_price: Money::from_fen(MAX_FEN),
            list_price: None,
        }],
    };
    let quote = crate::pricing::price(&crate::pricing::PricingRequest {
        quote_id: crate::ids::SourceId(uuid::Uuid::from_u128(2)),
        program: &largest,
        basket: &basket,
        shopper: Some(crate::pricing::Shopper {
            profile: &profile,
            account: &account,
        }),
        context: crate::pricing::Context {
            now: at,
            offline: false,
            offline_allowance_left: Money::ZERO,
        },
        tender: &crate::pricing::TenderRequest::default(),
    })
    .unwrap();
    assert!(quote.earn.points > 0);
}

#[test]
fn validating_a_program_with_every_number_at_an_extreme_never_panics() {
    // A program comes from outside; validation is what refuses it, so it
    // must itself survive any figure (the admin API's fuzzing once sent a
    // redemption step of i64::MAX, and `step * 100` overflowed).
    for extreme in [i64::MIN, -1, 0, 1, i64::MAX - 1, i64::MAX] {
        let mut p = Program::default();
        p.earning.points_per_yuan = extreme;
        p.redemption.points_per_yuan = extreme;
        p.redemption.step = extreme;
        p.redemption.max_share_bp = extreme;
        p.redemption.max_points_per_order = Some(extreme);
        p.redemption.max_points_per_day = Some(extreme);
        p.referral.points_each = extreme;
        p.birthday.points_multiplier_milli = extreme;
        p.offline.allowance_per_member_per_day = Money::from_fen(extreme);
        for tier in &mut p.tiers {
            tier.discount_bp = extreme;
            tier.points_multiplier_milli = extreme;
            tier.qualifying_spend = Money::from_fen(extreme);
        }
        for package in &mut p.top_up_packages {
            package.pay = Money::from_fen(extreme);
            package.bonus = Money::from_fen(extreme);
        }
        p.earning.category_rates = vec![CategoryRate {
            category: "fresh".into(),
            rate_milli: extreme,
        }];
        assert!(
            p.validate().is_err(),
            "{extreme}: some figure is out of bounds"
        );
    }
}

/// Every problem names its field, and the name is a true path into the
/// program's own JSON (and so its TOML): the console places a problem
/// beside the line holding that field.
#[test]
fn every_problem_names_a_field_that_exists_in_the_program() {
    let mut program = Program::default();
    program.tiers[1].discount_bp = 12_000;
    program.tiers[2].qualifying_spend = Money::from_yuan(800);
    program.tiers[3].code = "silver".into();
    program.earning.points_per_yuan = -1;
    program.earning.category_rates = vec![
        CategoryRate {
            category: "fresh".into(),
            rate_milli: -5,
        },
        CategoryRate {
            category: "fresh".into(),
            rate_milli: 2000,
        },
    ];
    program.redemption.step = 0;
    program.redemption.max_points_per_day = Some(i64::MAX);
    program.top_up_packages[1].code = program.top_up_packages[0].code.clone();
    if let Some(welcome) = program.coupons.welcome.as_mut() {
        welcome.valid_days = 0;
        welcome.kind = CouponKind::AmountOff {
            off: Money::ZERO,
            min_spend: Money::from_fen(-1),
        };
    }
    program.member_day = Some(MemberDay {
        day: MemberDayRule::Weekday { weekday: 9 },
        points_multiplier_milli: 1000,
        extra_discount_bp: 0,
    });
    program.tier_evaluation.window_months = 0;

    let problems = program.problems();
    let json = serde_json::to_value(&program).unwrap();
    let resolve = |path: &str| {
        let mut at = &json;
        for part in path.split('.') {
            let (key, index) = match part.split_once('[') {
                Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (part, None),
            };
            at = at.get(key)?;
            if let Some(i) = index {
                at = at.get(i)?;
            }
        }
        Some(at)
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    for problem in &problems {
        assert!(
            resolve(&problem.field).is_some(),
            "{} names {:?}, not a field of the program",
            problem.problem,
            problem.field
        );
    }
    for expected in [
        "tiers[1].discount_bp",
        "tiers[2].qualifying_spend",
        "tiers[3].code",
        "earning.points_per_yuan",
        "earning.category_rates[0].rate_milli",
        "earning.category_rates[1].category",
        "redemption.step",
        "redemption.max_points_per_day",
        "top_up_packages[1].code",
        "coupons.welcome.valid_days",
        "coupons.welcome.kind.off",
        "coupons.welcome.kind.min_spend",
        "member_day.day",
        "tier_evaluation.window_months",
    ] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    // The same problems as validate, in the same order.
    let Err(InvalidProgram(listed)) = program.validate() else {
        panic!("a broken program validated");
    };
    assert_eq!(
        listed,
        problems.into_iter().map(|p| p.problem).collect::<Vec<_>>()
    );
}

#[test]
fn the_gift_catalogue_is_held_to_its_bounds_each_problem_at_its_field() {
    let gift = |code: &str, name: &str, points: i64| Gift {
        code: code.into(),
        name: name.into(),
        points,
        active: true,
    };
    let mut program = Program::default();
    program.gifts.extend([
        gift("mug", "保温杯", 400),
        gift("mug", "马克杯", 1),
        gift("", "无码", 10),
        gift(&"c".repeat(41), "长码", 10),
        gift("bag", &"袋".repeat(41), 10),
        gift("pen", "", 10),
        gift("zero", "零", 0),
        gift("dear", "贵", 1_000_001),
        gift("top", &"顶".repeat(40), 1_000_000),
    ]);
    let fields: Vec<(String, String)> = program
        .problems()
        .into_iter()
        .map(|p| (p.field, p.problem.to_string()))
        .collect();
    let at = |field: &str| fields.iter().filter(|(f, _)| f == field).count();
    assert_eq!(at("gifts[1].code"), 1, "a repeated code");
    assert_eq!(at("gifts[2].code"), 1, "an empty code");
    assert_eq!(at("gifts[3].code"), 1, "a code of 41 characters");
    assert_eq!(at("gifts[4].name"), 1, "a name of 41 characters");
    assert_eq!(at("gifts[5].name"), 1, "an empty name");
    assert_eq!(at("gifts[6].points"), 1, "a price of 0");
    assert_eq!(at("gifts[7].points"), 1, "a price above 1,000,000");
    assert_eq!(
        fields.len(),
        7,
        "the first and last gifts are fine: {fields:#?}"
    );

    program.gifts = (0..=MAX_GIFTS)
        .map(|i| gift(&format!("g{i}"), "礼品", 100))
        .collect();
    let problems = program.problems();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "gifts");
    program.gifts.pop();
    assert_eq!(program.validate(), Ok(()), "200 gifts are allowed");
}

#[test]
fn a_program_without_gifts_writes_no_gifts_key_and_one_with_them_reads_back() {
    let program = Program::default();
    let json = serde_json::to_value(&program).unwrap();
    assert!(
        json.get("gifts").is_none(),
        "programs before the catalogue keep their form"
    );
    let mut with = program.clone();
    with.gifts.push(Gift {
        code: "mug".into(),
        name: "保温杯".into(),
        points: 400,
        active: true,
    });
    let text = serde_json::to_string(&with).unwrap();
    let back: Program = serde_json::from_str(&text).unwrap();
    assert_eq!(back, with);
    let without_active: Program =
        serde_json::from_str(r#"{"gifts":[{"code":"mug","name":"保温杯","points":400}]}"#).unwrap();
    assert!(without_active.gifts[0].active, "active by default");
}
