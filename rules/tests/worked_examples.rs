//! Runs every worked example in `tests/examples/*.toml`.
//!
//! Each file states a member, a sequence of actions (sales, refunds,
//! top-ups, adjustments, tier evaluations, expiry runs, program checks) and,
//! after each, the expected figures in plain numbers. Only the figures a file
//! states are checked, so each example says exactly what it is about.
//! See `tests/examples/README.md` for the format.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::booking::{self, Authority, TopUp};
use tillcard_rules::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{Coupon, EarnReason, EntryKind, LedgerEntry};
use tillcard_rules::money::{Money, allocate_by_largest_remainder};
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, MonthDay, PricingRequest, Quote, Shopper,
    StoredValueRequest, TenderRequest,
};
use tillcard_rules::program::{CategoryScope, CouponKind, Program, TierLevel};
use tillcard_rules::refund::{self, PastRefund, RefundLine, SaleHistory};
use tillcard_rules::{expiry, gifts, tier};
use uuid::Uuid;

/// An amount as the examples write it: a string of yuan (`"12.50"`) or an
/// integer number of fen. The wire takes fen only; these files are for
/// people, so they say amounts the way people read them.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Amount(Money);

impl std::fmt::Debug for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq<Money> for Amount {
    fn eq(&self, other: &Money) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        tillcard_rules::money::fen_or_yuan(deserializer).map(Amount)
    }
}

/// A [`Program`] as the examples write it: amounts may be strings of yuan,
/// which become integer fen (the program's own, wire form) before the
/// program is read. Only strings that read as an amount are touched, and no
/// program field holds a string of that shape.
fn program_in_yuan<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Program>, D::Error> {
    let value = toml::Value::deserialize(deserializer)?;
    program_of(value)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Later program versions, each as [`program_in_yuan`] reads one.
fn versions_in_yuan<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Program>, D::Error> {
    Vec::<toml::Value>::deserialize(deserializer)?
        .into_iter()
        .map(|value| program_of(value).map_err(serde::de::Error::custom))
        .collect()
}

fn program_of(mut value: toml::Value) -> Result<Program, toml::de::Error> {
    fn to_fen(value: &mut toml::Value) {
        match value {
            toml::Value::String(text) => {
                if let Ok(amount) = text.parse::<Money>() {
                    *value = toml::Value::Integer(amount.fen());
                }
            }
            toml::Value::Array(items) => items.iter_mut().for_each(to_fen),
            toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| to_fen(v)),
            _ => {}
        }
    }
    to_fen(&mut value);
    value.try_into()
}

/// [`CouponKind`] with its amounts as [`Amount`]s.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum CouponKindSpec {
    AmountOff {
        off: Amount,
        min_spend: Amount,
    },
    PercentOff {
        off_bp: i64,
        cap: Amount,
        #[serde(default)]
        min_spend: Amount,
    },
    FreeGift {
        sku: String,
        name: String,
        value: Amount,
        #[serde(default)]
        min_spend: Amount,
    },
}

impl CouponKindSpec {
    fn to_kind(&self) -> CouponKind {
        match self {
            CouponKindSpec::AmountOff { off, min_spend } => CouponKind::AmountOff {
                off: off.0,
                min_spend: min_spend.0,
            },
            CouponKindSpec::PercentOff {
                off_bp,
                cap,
                min_spend,
            } => CouponKind::PercentOff {
                off_bp: *off_bp,
                cap: cap.0,
                min_spend: min_spend.0,
            },
            CouponKindSpec::FreeGift {
                sku,
                name,
                value,
                min_spend,
            } => CouponKind::FreeGift {
                sku: sku.clone(),
                name: name.clone(),
                value: value.0,
                min_spend: min_spend.0,
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Example {
    title: String,
    #[serde(default, deserialize_with = "program_in_yuan")]
    program: Option<Program>,
    /// Versions published after `program`, each with its `version` and
    /// `effective_from`: a sale is priced with the one in force at its
    /// moment among those its terminal holds.
    #[serde(default, deserialize_with = "versions_in_yuan")]
    versions: Vec<Program>,
    #[serde(default)]
    member: Option<MemberSpec>,
    actions: Vec<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberSpec {
    #[serde(default = "regular")]
    tier: String,
    #[serde(default)]
    birthday: Option<String>,
    #[serde(default)]
    referred: bool,
    #[serde(default = "yes")]
    balances_known: bool,
    #[serde(default)]
    frozen: bool,
    #[serde(default)]
    principal: Amount,
    #[serde(default)]
    bonus: Amount,
    #[serde(default)]
    lots: Vec<LotSpec>,
    #[serde(default)]
    coupons: Vec<CouponSpec>,
    #[serde(default)]
    spend: Vec<SpendSpec>,
}

fn regular() -> String {
    "regular".into()
}
fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LotSpec {
    points: i64,
    earned: Timestamp,
    expires: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CouponSpec {
    code: String,
    kind: CouponKindSpec,
    #[serde(default)]
    only_categories: Option<Vec<String>>,
    valid_from: Timestamp,
    valid_until: Timestamp,
    #[serde(default = "yes")]
    stacks: bool,
    #[serde(default)]
    used: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendSpec {
    at: Timestamp,
    amount: Amount,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineSpec {
    #[serde(default = "sku")]
    sku: String,
    #[serde(default = "grocery")]
    category: String,
    #[serde(default = "one")]
    qty: i64,
    price: Amount,
    /// The shelf price when `price` is a member price (会员价).
    #[serde(default)]
    list_price: Option<Amount>,
}

fn sku() -> String {
    "item".into()
}
fn grocery() -> String {
    "grocery".into()
}
fn one() -> i64 {
    1
}

#[derive(Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant, reason = "read once from a file")]
enum Action {
    Sale {
        at: Timestamp,
        /// Which till sells, named in failures (the examples' tills differ
        /// only in the versions they hold).
        #[serde(default)]
        terminal: Option<String>,
        /// The program versions this till had received (default: all).
        #[serde(default)]
        holds: Option<Vec<u32>>,
        #[serde(default)]
        offline: bool,
        #[serde(default)]
        offline_allowance_left: Option<Amount>,
        basket: Vec<LineSpec>,
        #[serde(default)]
        coupons: Vec<usize>,
        #[serde(default)]
        points: i64,
        #[serde(default)]
        stored_value: Option<String>,
        expect: SaleExpect,
        #[serde(default)]
        after: Option<BalanceExpect>,
    },
    Refund {
        at: Timestamp,
        #[serde(default)]
        sale: usize,
        lines: Vec<(usize, i64)>,
        expect: RefundExpect,
        #[serde(default)]
        after: Option<BalanceExpect>,
    },
    TopUp {
        at: Timestamp,
        #[serde(default)]
        package: Option<String>,
        #[serde(default)]
        amount: Option<Amount>,
        after: BalanceExpect,
    },
    Adjust {
        at: Timestamp,
        points: i64,
        #[serde(default)]
        refused: Option<String>,
        #[serde(default)]
        after: Option<BalanceExpect>,
    },
    CashOut {
        at: Timestamp,
        /// The principal to pay back; all of it when absent.
        #[serde(default)]
        amount: Option<Amount>,
        /// Expected: principal paid back and bonus forfeited.
        #[serde(default)]
        paid: Option<Amount>,
        #[serde(default)]
        forfeited: Option<Amount>,
        #[serde(default)]
        refused: Option<String>,
        #[serde(default)]
        after: Option<BalanceExpect>,
    },
    /// A gift of the catalogue taken for points at the counter.
    RedeemGift {
        at: Timestamp,
        gift: String,
        /// Expected: points spent, and from each lot (in the member's
        /// `lots` order) how many.
        #[serde(default)]
        spent: Option<i64>,
        #[serde(default)]
        from_lots: Option<Vec<i64>>,
        #[serde(default)]
        refused: Option<String>,
        #[serde(default)]
        after: Option<BalanceExpect>,
    },
    Evaluate {
        at: Timestamp,
        tier: String,
    },
    Expire {
        at: Timestamp,
        expired: i64,
        after: BalanceExpect,
    },
    Enroll {
        at: Timestamp,
        after: BalanceExpect,
    },
    Allocate {
        total: i64,
        weights: Vec<i64>,
        parts: Vec<i64>,
    },
    RejectProgram {
        problem: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SaleExpect {
    program_version: Option<u32>,
    subtotal: Option<Amount>,
    tier_discount: Option<Amount>,
    member_day_discount: Option<Amount>,
    coupon_discount: Option<Amount>,
    gift: Option<String>,
    total: Option<Amount>,
    points_redeemed: Option<i64>,
    points_value: Option<Amount>,
    stored_value_principal: Option<Amount>,
    stored_value_bonus: Option<Amount>,
    amount_due: Option<Amount>,
    points_earned: Option<i64>,
    qualifying_spend: Option<Amount>,
    line_net: Option<Vec<Amount>>,
    line_tier_discount: Option<Vec<Amount>>,
    line_coupon_discount: Option<Vec<Amount>>,
    refusals: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefundExpect {
    money: Option<Amount>,
    stored_value_principal: Option<Amount>,
    stored_value_bonus: Option<Amount>,
    points_returned: Option<i64>,
    points_reversed: Option<i64>,
    coupon_restored: Option<bool>,
    flagged_negative: Option<bool>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BalanceExpect {
    points: Option<i64>,
    principal: Option<Amount>,
    bonus: Option<Amount>,
    tier: Option<String>,
    usable_coupons: Option<usize>,
    flags: Option<usize>,
    rolling_spend: Option<Amount>,
}

struct Run {
    program: Program,
    /// `program` and every later version.
    versions: Vec<Program>,
    profile: Option<MemberProfile>,
    account: Option<MemberAccount>,
    coupon_ids: Vec<CouponId>,
    /// The member's opening lots, in the example's order.
    lot_ids: Vec<LotId>,
    sales: Vec<(Quote, Vec<LedgerEntry>, Vec<PastRefund>)>,
    next_id: u128,
    failures: Vec<String>,
}

fn tier_level(program: &Program, code: &str) -> TierLevel {
    let index = program
        .tiers
        .iter()
        .position(|t| t.code == code)
        .unwrap_or_else(|| panic!("no tier {code:?}"));
    TierLevel(u8::try_from(index).unwrap())
}

impl Run {
    fn id(&mut self) -> SourceId {
        self.next_id += 1;
        SourceId(Uuid::from_u128(self.next_id))
    }

    fn check<E: PartialEq<A> + std::fmt::Debug, A: std::fmt::Debug>(
        &mut self,
        what: &str,
        expected: Option<E>,
        actual: A,
    ) {
        if let Some(expected) = expected.filter(|e| *e != actual) {
            self.failures
                .push(format!("{what}: expected {expected:?}, got {actual:?}"));
        }
    }

    fn book(&mut self, entries: &[LedgerEntry]) {
        if let Some(account) = self.account.as_mut() {
            for entry in entries {
                account.apply(entry);
            }
        }
    }

    fn check_balances(&mut self, step: &str, now: Timestamp, expect: Option<BalanceExpect>) {
        let Some(expect) = expect else { return };
        let account = self.account.clone().expect("balance checks need a member");
        let tier_code = self.program.tier(account.tier).unwrap().code.clone();
        let window = self.program.tier_evaluation.window_months;
        self.check(
            &format!("{step} points"),
            expect.points,
            account.points_balance(now),
        );
        self.check(
            &format!("{step} principal"),
            expect.principal,
            account.stored_value.principal,
        );
        self.check(
            &format!("{step} bonus"),
            expect.bonus,
            account.stored_value.bonus,
        );
        self.check(&format!("{step} tier"), expect.tier, tier_code);
        self.check(
            &format!("{step} usable coupons"),
            expect.usable_coupons,
            account.usable_coupons(now).count(),
        );
        self.check(&format!("{step} flags"), expect.flags, account.flags.len());
        self.check(
            &format!("{step} rolling spend"),
            expect.rolling_spend,
            account.rolling_spend(now, window),
        );
    }
}

fn setup(example: &Example) -> Run {
    let program = example.program.clone().unwrap_or_default();
    let mut versions = vec![program.clone()];
    versions.extend(example.versions.iter().cloned());
    let mut run = Run {
        program,
        versions,
        profile: None,
        account: None,
        coupon_ids: Vec::new(),
        lot_ids: Vec::new(),
        sales: Vec::new(),
        next_id: 1000,
        failures: Vec::new(),
    };
    let Some(spec) = &example.member else {
        return run;
    };
    let member = MemberId(Uuid::from_u128(1));
    let referrer = MemberId(Uuid::from_u128(2));
    let birthday = spec.birthday.as_ref().map(|text| {
        let (month, day) = text.split_once('-').expect("birthday as MM-DD");
        MonthDay {
            month: month.parse().unwrap(),
            day: day.parse().unwrap(),
        }
    });
    run.profile = Some(MemberProfile {
        id: member,
        birthday,
        referred_by: spec.referred.then_some(referrer),
        balances_known: spec.balances_known,
        frozen: spec.frozen,
    });
    // The opening state is itself built from ledger entries, so the example
    // exercises the same fold the store uses.
    let mut opening = Vec::new();
    let epoch = Timestamp::parse_from_rfc3339("2020-01-01T00:00:00+08:00").unwrap();
    let mut entry = |run: &mut Run, at: Timestamp, kind: EntryKind| {
        let source = run.id();
        opening.push(LedgerEntry {
            member,
            source,
            at,
            kind,
        });
        source
    };
    let tier = tier_level(&run.program, &spec.tier);
    if tier != TierLevel(0) {
        entry(
            &mut run,
            epoch,
            EntryKind::TierChanged {
                from: TierLevel(0),
                to: tier,
                provisional: false,
            },
        );
    }
    if !(spec.principal.0 + spec.bonus.0).is_zero() {
        entry(
            &mut run,
            epoch,
            EntryKind::StoredValueCredited {
                principal: spec.principal.0,
                bonus: spec.bonus.0,
                package: None,
            },
        );
    }
    for lot in &spec.lots {
        let next = SourceId(Uuid::from_u128(run.next_id + 1));
        run.lot_ids.push(LotId(next));
        entry(
            &mut run,
            lot.earned,
            EntryKind::PointsEarned {
                lot: LotId(next),
                points: lot.points,
                expires_at: lot.expires,
                reason: EarnReason::Purchase,
            },
        );
    }
    for spend in &spec.spend {
        entry(
            &mut run,
            spend.at,
            EntryKind::QualifyingSpend {
                amount: spend.amount.0,
            },
        );
    }
    for coupon in &spec.coupons {
        let issued_by = SourceId(Uuid::from_u128(run.next_id + 1));
        let id = CouponId {
            issued_by,
            index: 0,
        };
        run.coupon_ids.push(id);
        entry(
            &mut run,
            coupon.valid_from,
            EntryKind::CouponIssued {
                coupon: Coupon {
                    id,
                    code: coupon.code.clone(),
                    kind: coupon.kind.to_kind(),
                    scope: coupon
                        .only_categories
                        .clone()
                        .map_or(CategoryScope::All, CategoryScope::Only),
                    valid_from: coupon.valid_from,
                    valid_until: coupon.valid_until,
                    stacks_with_tier_discount: coupon.stacks,
                },
            },
        );
        if coupon.used {
            entry(
                &mut run,
                coupon.valid_from,
                EntryKind::CouponUsed { coupon: id },
            );
        }
    }
    run.account = Some(MemberAccount::fold(MemberAccount::new(member), &opening));
    run
}

fn rule_code(rule: pricing::Rule) -> String {
    serde_json::to_value(rule)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn run_example(example: Example) -> Vec<String> {
    let mut run = setup(&example);
    for (step, action) in example.actions.into_iter().enumerate() {
        let step = format!("action {}", step + 1);
        match action {
            Action::Sale {
                at,
                terminal,
                holds,
                offline,
                offline_allowance_left,
                basket,
                coupons,
                points,
                stored_value,
                expect,
                after,
            } => {
                let basket = Basket {
                    lines: basket
                        .into_iter()
                        .map(|l| BasketLine {
                            name: l.sku.clone(),
                            sku: l.sku,
                            category: l.category,
                            quantity: l.qty,
                            unit_price: l.price.0,
                            list_price: l.list_price.map(|p| p.0),
                        })
                        .collect(),
                };
                let tender = TenderRequest {
                    coupons: coupons.iter().map(|i| run.coupon_ids[*i]).collect(),
                    redeem_points: points,
                    stored_value: match stored_value.as_deref() {
                        None => StoredValueRequest::None,
                        Some("all") => StoredValueRequest::AsMuchAsPossible,
                        Some(amount) => StoredValueRequest::UpTo(amount.parse().unwrap()),
                    },
                };
                let step = match &terminal {
                    Some(till) => format!("{step} (till {till})"),
                    None => step,
                };
                // The version in force at the sale's moment among those the
                // till holds, as the terminal's store chooses it.
                let held: Vec<Program> = run
                    .versions
                    .iter()
                    .filter(|p| holds.as_ref().is_none_or(|h| h.contains(&p.version)))
                    .cloned()
                    .collect();
                let program = tillcard_rules::program::in_force_at(&held, at)
                    .cloned()
                    .unwrap_or_else(|| run.program.clone());
                let quote_id = run.id();
                let shopper = run
                    .profile
                    .as_ref()
                    .zip(run.account.as_ref())
                    .map(|(profile, account)| Shopper { profile, account });
                let quote = pricing::price(&PricingRequest {
                    quote_id,
                    program: &program,
                    basket: &basket,
                    shopper,
                    context: Context {
                        now: at,
                        offline,
                        offline_allowance_left: offline_allowance_left
                            .map_or(program.offline.allowance_per_member_per_day, |a| a.0),
                    },
                    tender: &tender,
                })
                .unwrap();
                let s = &step;
                run.check(
                    &format!("{s} program version"),
                    expect.program_version,
                    quote.program_version.unwrap_or(0),
                );
                run.check(&format!("{s} subtotal"), expect.subtotal, quote.subtotal);
                run.check(
                    &format!("{s} tier discount"),
                    expect.tier_discount,
                    quote
                        .tier_discount
                        .as_ref()
                        .map_or(Money::ZERO, |d| d.amount),
                );
                run.check(
                    &format!("{s} member-day discount"),
                    expect.member_day_discount,
                    quote
                        .member_day_discount
                        .as_ref()
                        .map_or(Money::ZERO, |d| d.amount),
                );
                run.check(
                    &format!("{s} coupon discount"),
                    expect.coupon_discount,
                    quote.coupon.as_ref().map_or(Money::ZERO, |c| c.amount),
                );
                run.check(
                    &format!("{s} gift"),
                    expect.gift,
                    quote
                        .coupon
                        .as_ref()
                        .and_then(|c| c.gift.as_ref())
                        .map_or(String::new(), |g| g.sku.clone()),
                );
                run.check(&format!("{s} total"), expect.total, quote.total);
                run.check(
                    &format!("{s} points redeemed"),
                    expect.points_redeemed,
                    quote.points_redeemed,
                );
                run.check(
                    &format!("{s} points value"),
                    expect.points_value,
                    quote.points_value,
                );
                run.check(
                    &format!("{s} stored value principal"),
                    expect.stored_value_principal,
                    quote.stored_value_principal,
                );
                run.check(
                    &format!("{s} stored value bonus"),
                    expect.stored_value_bonus,
                    quote.stored_value_bonus,
                );
                run.check(
                    &format!("{s} amount due"),
                    expect.amount_due,
                    quote.amount_due,
                );
                run.check(
                    &format!("{s} points earned"),
                    expect.points_earned,
                    quote.earn.points,
                );
                run.check(
                    &format!("{s} qualifying spend"),
                    expect.qualifying_spend,
                    quote.qualifying_spend,
                );
                run.check(
                    &format!("{s} line net"),
                    expect.line_net,
                    quote.lines.iter().map(|l| l.net).collect::<Vec<_>>(),
                );
                run.check(
                    &format!("{s} line tier discount"),
                    expect.line_tier_discount,
                    quote
                        .lines
                        .iter()
                        .map(|l| l.tier_discount)
                        .collect::<Vec<_>>(),
                );
                run.check(
                    &format!("{s} line coupon discount"),
                    expect.line_coupon_discount,
                    quote
                        .lines
                        .iter()
                        .map(|l| l.coupon_discount)
                        .collect::<Vec<_>>(),
                );
                run.check(
                    &format!("{s} refusals"),
                    expect.refusals,
                    quote
                        .refusals
                        .iter()
                        .map(|r| rule_code(r.rule))
                        .collect::<Vec<_>>(),
                );
                let entries = match (&run.profile, &run.account) {
                    (Some(profile), Some(account)) => {
                        booking::book_sale(&program, &quote, profile, account, Authority::Terminal)
                            .unwrap()
                    }
                    _ => Vec::new(),
                };
                run.book(&entries);
                run.sales.push((quote, entries, Vec::new()));
                run.check_balances(&step, at, after);
            }
            Action::Refund {
                at,
                sale,
                lines,
                expect,
                after,
            } => {
                let source = run.id();
                let request: Vec<RefundLine> = lines
                    .iter()
                    .map(|(line, quantity)| RefundLine {
                        line: *line,
                        quantity: *quantity,
                    })
                    .collect();
                let (quote, entries, past) = &run.sales[sale];
                let result = refund::refund(
                    SaleHistory {
                        quote,
                        entries,
                        refunds: past,
                    },
                    run.account.as_ref(),
                    &request,
                    at,
                    source,
                );
                match result {
                    Err(error) => {
                        let text = error.to_string();
                        match &expect.error {
                            Some(needle) if text.contains(needle.as_str()) => {}
                            _ => run.failures.push(format!("{step}: refund failed: {text}")),
                        }
                    }
                    Ok(outcome) => {
                        if let Some(needle) = &expect.error {
                            run.failures
                                .push(format!("{step}: refund should fail with {needle:?}"));
                        }
                        run.check(&format!("{step} money"), expect.money, outcome.money);
                        run.check(
                            &format!("{step} principal back"),
                            expect.stored_value_principal,
                            outcome.stored_value_principal,
                        );
                        run.check(
                            &format!("{step} bonus back"),
                            expect.stored_value_bonus,
                            outcome.stored_value_bonus,
                        );
                        run.check(
                            &format!("{step} points returned"),
                            expect.points_returned,
                            outcome.points_returned,
                        );
                        run.check(
                            &format!("{step} points reversed"),
                            expect.points_reversed,
                            outcome.points_reversed,
                        );
                        run.check(
                            &format!("{step} coupon restored"),
                            expect.coupon_restored,
                            outcome.coupon_restored,
                        );
                        run.check(
                            &format!("{step} flagged"),
                            expect.flagged_negative,
                            outcome.flagged_negative,
                        );
                        run.book(&outcome.entries);
                        run.sales[sale].2.push(PastRefund {
                            lines: request,
                            entries: outcome.entries,
                        });
                    }
                }
                run.check_balances(&step, at, after);
            }
            Action::TopUp {
                at,
                package,
                amount,
                after,
            } => {
                let source = run.id();
                let top_up = match (package, amount) {
                    (Some(code), _) => TopUp::Package(code),
                    (None, Some(amount)) => TopUp::Amount(amount.0),
                    (None, None) => panic!("top_up needs a package or an amount"),
                };
                let account = run.account.as_ref().unwrap();
                let entries =
                    booking::book_top_up(&run.program, account, &top_up, at, source).unwrap();
                run.book(&entries);
                run.check_balances(&step, at, Some(after));
            }
            Action::Adjust {
                at,
                points,
                refused,
                after,
            } => {
                let source = run.id();
                let account = run.account.as_ref().unwrap();
                match booking::book_points_adjustment(&run.program, account, points, at, source) {
                    Ok(entries) => {
                        if let Some(needle) = refused {
                            run.failures
                                .push(format!("{step}: adjustment should be refused ({needle})"));
                        }
                        run.book(&entries);
                    }
                    Err(error) => {
                        let text = error.to_string();
                        if !refused.is_some_and(|n| text.contains(n.as_str())) {
                            run.failures
                                .push(format!("{step}: adjustment refused: {text}"));
                        }
                    }
                }
                run.check_balances(&step, at, after);
            }
            Action::CashOut {
                at,
                amount,
                paid,
                forfeited,
                refused,
                after,
            } => {
                let source = run.id();
                let account = run.account.as_ref().unwrap();
                match booking::book_cash_out(account, amount.map(|a| a.0), at, source) {
                    Ok(entries) => {
                        if let Some(needle) = refused {
                            run.failures
                                .push(format!("{step}: cash-out should be refused ({needle})"));
                        }
                        let (principal, bonus) = match entries.as_slice() {
                            [
                                LedgerEntry {
                                    kind: EntryKind::StoredValueCashedOut { principal, bonus },
                                    ..
                                },
                            ] => (*principal, *bonus),
                            other => panic!("{step}: a cash-out books one entry, got {other:?}"),
                        };
                        run.check(&format!("{step} paid"), paid.map(|a| a.0), principal);
                        run.check(&format!("{step} forfeited"), forfeited.map(|a| a.0), bonus);
                        run.book(&entries);
                    }
                    Err(error) => {
                        let text = error.to_string();
                        if !refused.is_some_and(|n| text.contains(n.as_str())) {
                            run.failures
                                .push(format!("{step}: cash-out refused: {text}"));
                        }
                    }
                }
                run.check_balances(&step, at, after);
            }
            Action::RedeemGift {
                at,
                gift,
                spent,
                from_lots,
                refused,
                after,
            } => {
                let source = run.id();
                let account = run.account.as_ref().unwrap();
                let profile = run.profile.as_ref().unwrap();
                match gifts::book_gift_redemption(&run.program, profile, account, &gift, at, source)
                {
                    Ok(entries) => {
                        if let Some(needle) = refused {
                            run.failures
                                .push(format!("{step}: gift should be refused ({needle})"));
                        }
                        let draws = match entries.as_slice() {
                            [
                                LedgerEntry {
                                    kind: EntryKind::PointsRedeemedForGift { draws, .. },
                                    ..
                                },
                            ] => draws.clone(),
                            other => panic!("{step}: a gift books one entry, got {other:?}"),
                        };
                        let total: i64 = draws.iter().map(|d| d.points).sum();
                        run.check(&format!("{step} spent"), spent, total);
                        let per_lot: Vec<i64> = run
                            .lot_ids
                            .iter()
                            .map(|lot| {
                                draws
                                    .iter()
                                    .filter(|d| d.lot == *lot)
                                    .map(|d| d.points)
                                    .sum()
                            })
                            .collect();
                        run.check(&format!("{step} from lots"), from_lots, per_lot);
                        run.book(&entries);
                    }
                    Err(error) => {
                        let text = error.to_string();
                        if !refused.is_some_and(|n| text.contains(n.as_str())) {
                            run.failures.push(format!("{step}: gift refused: {text}"));
                        }
                    }
                }
                run.check_balances(&step, at, after);
            }
            Action::Evaluate { at, tier: expected } => {
                let source = run.id();
                let account = run.account.as_ref().unwrap();
                if let Some(change) = tier::evaluate(&run.program, account, at, source) {
                    run.book(&[change]);
                }
                let level = run.account.as_ref().unwrap().tier;
                let code = run.program.tier(level).unwrap().code.clone();
                run.check(&format!("{step} tier"), Some(expected), code);
            }
            Action::Expire { at, expired, after } => {
                let source = run.id();
                let account = run.account.as_ref().unwrap();
                let entries = expiry::expire_due(account, at, source);
                let total: i64 = entries
                    .iter()
                    .map(|e| match e.kind {
                        EntryKind::PointsExpired { points, .. } => points,
                        _ => 0,
                    })
                    .sum();
                run.check(&format!("{step} expired"), Some(expired), total);
                run.book(&entries);
                run.check_balances(&step, at, Some(after));
            }
            Action::Enroll { at, after } => {
                let source = run.id();
                let member = run.profile.as_ref().unwrap().id;
                let entries = booking::book_enrollment(&run.program, member, at, source);
                run.book(&entries);
                run.check_balances(&step, at, Some(after));
            }
            Action::Allocate {
                total,
                weights,
                parts,
            } => {
                let actual = allocate_by_largest_remainder(total, &weights);
                run.check(&format!("{step} parts"), Some(parts), actual);
            }
            Action::RejectProgram { problem } => match run.program.validate() {
                Ok(()) => run
                    .failures
                    .push(format!("{step}: program accepted, expected {problem:?}")),
                Err(error) => {
                    if !error.to_string().contains(&problem) {
                        run.failures.push(format!(
                            "{step}: program refused with {error}, expected {problem:?}"
                        ));
                    }
                }
            },
        }
    }
    run.failures
}

#[test]
fn worked_examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut failures = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let example: Example = match toml::from_str(&text) {
            Ok(example) => example,
            Err(error) => {
                failures.insert(name, vec![format!("cannot read: {error}")]);
                continue;
            }
        };
        let title = example.title.clone();
        let problems = run_example(example);
        if !problems.is_empty() {
            failures.insert(format!("{name} ({title})"), problems);
        }
    }
    println!(
        "worked examples: {} files, {} failing",
        files.len(),
        failures.len()
    );
    assert!(
        files.len() >= 30,
        "expected at least 30 worked examples, found {}",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "worked examples failing:\n{failures:#?}"
    );
}
