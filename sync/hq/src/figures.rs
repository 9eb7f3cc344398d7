//! The chain's figures for head office (SPEC section 5): members by tier,
//! enrollments per day, active and sleeping members, member share of sales
//! (会员GMV占比), repeat purchase rate, points and stored-value liability,
//! sync lag and pending events per terminal, and the conflicts queue.
//!
//! Split in two so that it scales and stays testable:
//! - each storage backend answers a [`FigureQuery`] with [`FigureRows`]:
//!   SQL aggregates (counts and sums over `members`, `sales`, `refunds`,
//!   `terminals`) plus the few rows SQL cannot sum exactly (members whose
//!   summary columns are missing or whose points have started to expire,
//!   refunds valued against their sale's lines);
//! - [`compute`] turns those rows into [`Figures`] with pure functions.
//!
//! Definitions (also in `docs/DASHBOARD.md`):
//! - Windows end at `now` (inclusive) and reach back whole days of 24 h:
//!   sales and repeat rate over [`SALES_WINDOW_DAYS`], activity over
//!   [`ACTIVE_WINDOW_DAYS`]; enrollments per day over the last
//!   [`ENROLLMENT_DAYS`] calendar days in `now`'s offset.
//! - Event times are the terminal's wall time of the event.
//! - Tiers and balances are head office's current state (not as of `now`).

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::refund::RefundLine;
use tillcard_rules::{MemberAccount, Program};

use tillcard_protocol::wire::TerminalId;

/// Sales, member share and repeat rate look back this many days.
pub const SALES_WINDOW_DAYS: i64 = 30;
/// A member with a purchase in this many days is active; otherwise sleeping.
pub const ACTIVE_WINDOW_DAYS: i64 = 90;
/// Enrollments per day cover this many calendar days, today included.
pub const ENROLLMENT_DAYS: i64 = 30;
/// The conflicts queue shows at most this many (the newest).
pub const CONFLICTS_SHOWN: usize = 100;

/// Milliseconds since the Unix epoch, the unit of every time column the
/// figures read (comparable across offsets, in SQL and in Rust).
pub fn millis(at: Timestamp) -> i64 {
    at.timestamp_millis()
}

/// The offset of the chain's business day, China Standard Time (UTC+08:00,
/// no daylight saving): the calendar days of the figures (the enrollment
/// series, "today") are a store's days, whatever head office's server
/// clock runs in. A caller that wants another calendar passes a moment in
/// its own offset.
pub const BUSINESS_OFFSET_SECONDS: i32 = 8 * 3600;

/// `at` in the chain's business offset ([`BUSINESS_OFFSET_SECONDS`]).
pub fn in_business_offset(at: Timestamp) -> Timestamp {
    match chrono::FixedOffset::east_opt(BUSINESS_OFFSET_SECONDS) {
        Some(offset) => at.with_timezone(&offset),
        None => at,
    }
}

/// What the store is asked, derived from `now` by [`FigureQuery::at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureQuery {
    /// `now` in ms.
    pub now_ms: i64,
    /// Purchases after this are recent (activity window start).
    pub active_since_ms: i64,
    /// Sales and refunds after this count (sales window start).
    pub sales_since_ms: i64,
    /// First calendar day of the enrollment series (`YYYY-MM-DD`).
    pub first_day: String,
    /// Last calendar day of the enrollment series (today in `now`'s offset).
    pub last_day: String,
    /// A day before `now`, in UTC to the second (`YYYY-MM-DDTHH:MM:SS`):
    /// head office records conflicts, dead letters and terminal flags at
    /// its own clock in UTC, so their moments compare as text.
    pub day_ago: String,
    /// A week before `now`, likewise.
    pub week_ago: String,
}

impl FigureQuery {
    /// The query for figures as of `now`.
    pub fn at(now: Timestamp) -> FigureQuery {
        let today = now.date_naive();
        FigureQuery {
            now_ms: millis(now),
            active_since_ms: millis(now - Duration::days(ACTIVE_WINDOW_DAYS)),
            sales_since_ms: millis(now - Duration::days(SALES_WINDOW_DAYS)),
            first_day: (today - Duration::days(ENROLLMENT_DAYS - 1)).to_string(),
            last_day: today.to_string(),
            day_ago: utc_seconds(now - Duration::days(1)),
            week_ago: utc_seconds(now - Duration::days(7)),
        }
    }
}

/// `at` in UTC to the second, as the review items' moments begin.
fn utc_seconds(at: Timestamp) -> String {
    at.with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Balances of one member as summary columns beside the cached fold, so
/// that SQL can sum them. Points are split so that the balance at any `now`
/// before `points_min_expiry` is `points_positive + points_debt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberSummary {
    /// Tier level.
    pub tier: i64,
    /// Stored-value principal, fen.
    pub sv_principal: i64,
    /// Stored-value bonus, fen.
    pub sv_bonus: i64,
    /// Σ remaining of lots with points left.
    pub points_positive: i64,
    /// Σ remaining of lots below zero (debt from refunds; never expires).
    pub points_debt: i64,
    /// Earliest expiry (ms) among lots with points left, if any: from then
    /// on the sum above overstates the balance and the member is folded.
    pub points_min_expiry_ms: Option<i64>,
}

impl MemberSummary {
    /// The summary of a folded account.
    pub fn of(account: &MemberAccount) -> MemberSummary {
        let positive = account.lots.iter().filter(|l| l.remaining > 0);
        MemberSummary {
            tier: i64::from(account.tier.0),
            sv_principal: account.stored_value.principal.fen(),
            sv_bonus: account.stored_value.bonus.fen(),
            points_positive: positive.clone().map(|l| l.remaining).sum(),
            points_debt: account
                .lots
                .iter()
                .filter(|l| l.remaining < 0)
                .map(|l| l.remaining)
                .sum(),
            points_min_expiry_ms: positive.map(|l| millis(l.expires_at)).min(),
        }
    }
}

/// A member the store could not sum in SQL (no summary columns yet, or
/// points started to expire since it was written): folded here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The member's current account.
    pub account: MemberAccount,
    /// Erased on request (counted in liabilities, not in member counts).
    pub erased: bool,
}

/// Activity counts over non-erased members enrolled by `now`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct ActivityRows {
    /// Last purchase within the activity window.
    pub active: u64,
    /// Purchased, but not within the window.
    pub lapsed: u64,
    /// Never purchased, enrolled before the window (or enrollment unknown).
    pub never_purchased_old: u64,
    /// Never purchased, enrolled within the window.
    pub never_purchased_new: u64,
}

/// Sums of sales in the sales window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SalesRows {
    /// Σ totals of member sales, fen.
    pub member_fen: i128,
    /// Member sales.
    pub member_count: u64,
    /// Σ totals of walk-in sales, fen.
    pub walk_in_fen: i128,
    /// Walk-in sales.
    pub walk_in_count: u64,
}

/// A sale that has a refund in the sales window, with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundedSale {
    /// The sale.
    pub sale: SourceId,
    /// Whether a member bought it.
    pub member: bool,
    /// Per line: (quantity, net fen).
    pub lines: Vec<(i64, i64)>,
}

/// A refund of a sale in [`FigureRows::refunded_sales`] (every refund of
/// that sale, so earlier ones telescope correctly), or of a sale head office
/// has not received yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRow {
    /// The refund.
    pub refund: SourceId,
    /// The sale.
    pub sale: SourceId,
    /// When (ms).
    pub at_ms: i64,
    /// Lines and quantities.
    pub lines: Vec<RefundLine>,
}

/// A terminal's sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRow {
    /// Terminal.
    pub terminal_id: TerminalId,
    /// Store.
    pub store: String,
    /// Highest contiguous seq stored.
    pub acked_seq: u64,
    /// When head office last received a batch (its clock, ms).
    pub last_batch_at_ms: Option<i64>,
    /// Outbox head the terminal last reported.
    pub outbox_head_seq: Option<u64>,
    /// Revoked.
    pub revoked: bool,
    /// Software version the terminal last reported.
    pub app_version: Option<String>,
    /// Its wall clock minus head office's (ms) as last recorded.
    pub clock_skew_ms: Option<i64>,
}

/// A conflict waiting for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConflictItem {
    /// Member concerned (an id, never personal data).
    pub member_id: MemberId,
    /// Kind (`negative_balance`, `coupon_used_twice`, `seen_at_two_stores`,
    /// `duplicate_phone`, `beyond_program`).
    pub kind: String,
    /// Reason in words (no personal data).
    pub reason: String,
    /// Terminal that uploaded the event.
    pub terminal_id: Option<TerminalId>,
    /// Its seq.
    pub seq: Option<u64>,
    /// When head office recorded it (RFC 3339).
    pub at: String,
}

/// Everything the store answers for one [`FigureQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FigureRows {
    /// (tier level, members) over summarized, non-erased members.
    pub tiers: Vec<(i64, u64)>,
    /// Σ stored-value principal of summarized members, fen (sums of the
    /// chain are `i128`: bounded members, but many of them).
    pub sv_principal: i128,
    /// Σ stored-value bonus of summarized members, fen.
    pub sv_bonus: i128,
    /// Σ points of summarized members.
    pub points: i128,
    /// Members not summed in SQL.
    pub accounts: Vec<AccountRow>,
    /// (local date, enrollments) in the enrollment series' days.
    pub enrollments: Vec<(String, u64)>,
    /// Activity counts.
    pub activity: ActivityRows,
    /// Sales in the window.
    pub sales: SalesRows,
    /// Sales with a refund in the window.
    pub refunded_sales: Vec<RefundedSale>,
    /// Refunds of those sales (all of them), and refunds in the window
    /// whose sale is unknown.
    pub refunds: Vec<RefundRow>,
    /// Members with at least one purchase in the window.
    pub buyers: u64,
    /// Members with at least two.
    pub repeat_buyers: u64,
    /// Terminals.
    pub terminals: Vec<TerminalRow>,
    /// Conflicts, newest first, at most [`CONFLICTS_SHOWN`].
    pub conflicts: Vec<ConflictItem>,
    /// All conflicts.
    pub conflicts_total: u64,
    /// What waits for review by kind and age (the queue's counts).
    pub review_ages: Vec<AgeCount>,
}

/// The chain's figures (served as JSON at `GET /v1/admin/figures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Figures {
    /// The moment the figures are computed as of (RFC 3339).
    pub as_of: String,
    /// Window lengths in days.
    pub windows: Windows,
    /// Members by tier, lowest tier first (every tier of the program).
    pub members_by_tier: Vec<TierCount>,
    /// Members (not erased).
    pub members_total: u64,
    /// New enrollments per calendar day, oldest first, today last.
    pub enrollments_per_day: Vec<DayCount>,
    /// Active and sleeping members.
    pub activity: Activity,
    /// Member share of sales.
    pub sales: Sales,
    /// Repeat purchase rate.
    pub repeat: Repeat,
    /// Outstanding liabilities.
    pub liabilities: Liabilities,
    /// Per-terminal sync state.
    pub terminals: Vec<TerminalSync>,
    /// The conflicts queue.
    pub conflicts: Conflicts,
    /// Which database the figures were read from, and how current it was.
    pub read_from: ReadFrom,
}

/// Where the figures were read (issue 23): head office's database (the
/// primary), or its streaming standby when one is configured
/// (`database.read_url`), which may trail the primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReadFrom {
    /// `primary` or `standby`.
    pub database: String,
    /// How far the standby trailed the primary, in milliseconds: 0 when it
    /// had replayed everything it was streamed, else the age of the last
    /// transaction it replayed. None when read from the primary.
    pub behind_ms: Option<i64>,
    /// Set when a standby is configured but did not answer, so the
    /// primary was read instead.
    pub standby_unavailable: bool,
}

impl ReadFrom {
    /// Read from the primary (no standby configured).
    pub fn primary() -> ReadFrom {
        ReadFrom {
            database: "primary".into(),
            behind_ms: None,
            standby_unavailable: false,
        }
    }
}

/// Window lengths in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Windows {
    /// [`SALES_WINDOW_DAYS`].
    pub sales_days: i64,
    /// [`ACTIVE_WINDOW_DAYS`].
    pub active_days: i64,
    /// [`ENROLLMENT_DAYS`].
    pub enrollment_days: i64,
}

/// Members holding one tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TierCount {
    /// Level (0 = entry tier).
    pub level: i64,
    /// Code (`gold`).
    pub code: String,
    /// Name in zh-CN.
    pub name_zh: String,
    /// Name in en.
    pub name_en: String,
    /// Members.
    pub members: u64,
}

/// Enrollments on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Enrollments.
    pub count: u64,
}

/// Active and sleeping members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Activity {
    /// A purchase within the activity window.
    pub active: u64,
    /// No purchase within the window: `lapsed + never_purchased`.
    pub sleeping: u64,
    /// Sleeping members who purchased before the window.
    pub sleeping_lapsed: u64,
    /// Sleeping members who never purchased and enrolled before the window.
    pub sleeping_never_purchased: u64,
    /// Enrolled within the window and no purchase yet: neither active nor
    /// sleeping (too new to be asleep).
    pub new_not_yet_purchased: u64,
}

/// Sales in the sales window, net of refunds made in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sales {
    /// Member sales, net, fen.
    pub member_fen: i128,
    /// Walk-in sales, net, fen.
    pub walk_in_fen: i128,
    /// All sales, net, fen.
    pub total_fen: i128,
    /// Refunds deducted from member sales, fen.
    pub member_refunds_fen: i128,
    /// Refunds deducted from walk-in sales, fen.
    pub walk_in_refunds_fen: i128,
    /// Member sales booked.
    pub member_sales: u64,
    /// Walk-in sales booked.
    pub walk_in_sales: u64,
    /// 会员GMV占比 in basis points (6250 = 62.50%); `None` when all sales
    /// net to zero or less.
    pub member_share_bp: Option<i64>,
    /// Refunds in the window whose sale head office has not received yet
    /// (not deducted until it arrives).
    pub refunds_awaiting_sale: u64,
}

/// Repeat purchase rate in the sales window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Repeat {
    /// Members with at least one purchase.
    pub buyers: u64,
    /// Members with at least two.
    pub repeat_buyers: u64,
    /// `repeat_buyers / buyers` in basis points; `None` without buyers.
    pub rate_bp: Option<i64>,
}

/// What the chain owes its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Liabilities {
    /// Points members can still redeem (unexpired lots less debts).
    pub points: i128,
    /// Their value at the program's redemption rate, fen.
    pub points_value_fen: i128,
    /// Stored value paid in by members (refundable), fen.
    pub stored_value_principal_fen: i128,
    /// Stored value given as top-up bonus (spendable only), fen.
    pub stored_value_bonus_fen: i128,
}

/// A terminal's sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TerminalSync {
    /// Terminal.
    pub terminal_id: TerminalId,
    /// Store.
    pub store: String,
    /// Highest contiguous seq head office holds.
    pub acked_seq: u64,
    /// Outbox head the terminal reported with its last batch.
    pub outbox_head_seq: Option<u64>,
    /// Events waiting at the terminal as of its last batch
    /// (`outbox_head_seq - acked_seq`); `None` if it never said.
    pub pending: Option<u64>,
    /// Last batch received (RFC 3339), if any.
    pub last_batch_at: Option<String>,
    /// Seconds from the last batch to `now`; `None` if never.
    pub lag_seconds: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Software version the terminal reported with its latest batch that
    /// said one; `None` if it never did.
    pub app_version: Option<String>,
    /// The terminal's wall clock minus head office's, in milliseconds
    /// (positive when ahead), as last recorded; `None` until recorded.
    /// Beyond 120 s either way the terminal is flagged (`clock_skew`).
    pub clock_skew_ms: Option<i64>,
}

/// The conflicts queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Conflicts {
    /// Conflicts recorded.
    pub total: u64,
    /// The newest, at most [`CONFLICTS_SHOWN`].
    pub items: Vec<ConflictItem>,
    /// What waits for review, by kind and age: each conflict kind (open
    /// conflicts only), `dead_letter`, `terminal_flag` and `walk_in_return`
    /// (a walk-in sale returned beyond what was sold, not acknowledged);
    /// kinds in name order, none when nothing waits.
    pub by_kind_and_age: Vec<AgeCount>,
}

/// Items of one kind waiting for review, by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgeCount {
    /// A conflict kind, `dead_letter`, `terminal_flag` or `walk_in_return`.
    pub kind: String,
    /// Recorded under a day ago.
    pub under_a_day: u64,
    /// A day to a week ago.
    pub under_a_week: u64,
    /// Over a week ago.
    pub older: u64,
}

/// `part / whole` in basis points, rounded half up; `None` if `whole <= 0`.
pub fn basis_points(part: i128, whole: i128) -> Option<i64> {
    (whole > 0).then(|| {
        let (p, w) = (part, whole);
        let rounded = p.saturating_mul(20_000).saturating_add(w) / w.saturating_mul(2);
        i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
    })
}

/// `amount × part / whole` rounded half up (the rules' refund share).
fn share(amount: i128, part: i128, whole: i128) -> i128 {
    if whole == 0 {
        return 0;
    }
    let (a, p, w) = (amount, part, whole);
    let n = a.saturating_mul(p);
    // Half up, away from zero for negatives, as the rules do.
    let twice_whole = w.saturating_mul(2);
    if n >= 0 {
        n.saturating_mul(2).saturating_add(w) / twice_whole
    } else {
        -(n.saturating_mul(-2).saturating_add(w) / twice_whole)
    }
}

/// Value (fen) of each refund: the telescoped share of each refunded line's
/// net, exactly as the rules split a refund (`tillcard_rules::refund`), so
/// that all refunds of a line sum to its net. Refunds of one sale are taken
/// in time order. Returns (refund, sale's member flag, fen) for refunds of
/// known sales; unknown sales are skipped.
pub fn refund_values(sales: &[RefundedSale], refunds: &[RefundRow]) -> Vec<(SourceId, bool, i128)> {
    let by_sale: HashMap<SourceId, &RefundedSale> = sales.iter().map(|s| (s.sale, s)).collect();
    let mut ordered: Vec<&RefundRow> = refunds.iter().collect();
    ordered.sort_by_key(|r| (r.at_ms, r.refund));
    let mut refunded: HashMap<SourceId, Vec<i64>> = HashMap::new();
    let mut out = Vec::new();
    for r in ordered {
        let Some(sale) = by_sale.get(&r.sale) else {
            continue;
        };
        let before = refunded
            .entry(r.sale)
            .or_insert_with(|| vec![0; sale.lines.len()]);
        let mut fen: i128 = 0;
        for line in &r.lines {
            let (Some(&(quantity, net)), Some(done)) =
                (sale.lines.get(line.line), before.get_mut(line.line))
            else {
                continue;
            };
            let after = done.saturating_add(line.quantity).min(quantity);
            let (net, whole) = (i128::from(net), i128::from(quantity));
            fen += share(net, i128::from(after), whole) - share(net, i128::from(*done), whole);
            *done = after;
        }
        out.push((r.refund, sale.member, fen));
    }
    out
}

/// Turns the store's rows into the figures as of `now`.
pub fn compute(program: &Program, rows: FigureRows, now: Timestamp) -> Figures {
    let query = FigureQuery::at(now);
    // Tiers: SQL counts plus folded members.
    let mut tiers: BTreeMap<i64, u64> = rows.tiers.iter().copied().collect();
    let (mut points, mut principal, mut bonus) = (rows.points, rows.sv_principal, rows.sv_bonus);
    for row in &rows.accounts {
        if !row.erased {
            *tiers.entry(i64::from(row.account.tier.0)).or_default() += 1;
        }
        points += i128::from(row.account.points_balance(now));
        principal += i128::from(row.account.stored_value.principal.fen());
        bonus += i128::from(row.account.stored_value.bonus.fen());
    }
    let mut members_by_tier: Vec<TierCount> = program
        .tiers
        .iter()
        .enumerate()
        .map(|(level, tier)| {
            let level = i64::try_from(level).unwrap_or(i64::MAX);
            TierCount {
                level,
                code: tier.code.clone(),
                name_zh: tier.name_zh.clone(),
                name_en: tier.name_en.clone(),
                members: tiers.remove(&level).unwrap_or(0),
            }
        })
        .collect();
    // A level the program no longer has (a program change) still counts.
    members_by_tier.extend(tiers.into_iter().map(|(level, members)| TierCount {
        level,
        code: format!("level-{level}"),
        name_zh: format!("等级{level}"),
        name_en: format!("Level {level}"),
        members,
    }));
    let members_total = members_by_tier.iter().map(|t| t.members).sum();

    // Enrollments: a full series of days, zero where none.
    let counts: HashMap<&str, u64> = rows
        .enrollments
        .iter()
        .map(|(d, n)| (d.as_str(), *n))
        .collect();
    let mut enrollments_per_day = Vec::new();
    if let (Ok(first), Ok(last)) = (
        query.first_day.parse::<NaiveDate>(),
        query.last_day.parse::<NaiveDate>(),
    ) {
        let mut day = first;
        while day <= last {
            let date = day.to_string();
            let count = counts.get(date.as_str()).copied().unwrap_or(0);
            enrollments_per_day.push(DayCount { date, count });
            day += Duration::days(1);
        }
    }

    let a = rows.activity;
    let activity = Activity {
        active: a.active,
        sleeping: a.lapsed + a.never_purchased_old,
        sleeping_lapsed: a.lapsed,
        sleeping_never_purchased: a.never_purchased_old,
        new_not_yet_purchased: a.never_purchased_new,
    };

    let (mut member_refunds, mut walk_in_refunds) = (0, 0);
    let values = refund_values(&rows.refunded_sales, &rows.refunds);
    let valued: std::collections::HashSet<SourceId> = values.iter().map(|v| v.0).collect();
    let in_window = |r: &RefundRow| r.at_ms > query.sales_since_ms && r.at_ms <= query.now_ms;
    let window_refunds: HashMap<SourceId, &RefundRow> = rows
        .refunds
        .iter()
        .filter(|r| in_window(r))
        .map(|r| (r.refund, r))
        .collect();
    for (refund, member, fen) in &values {
        if window_refunds.contains_key(refund) {
            if *member {
                member_refunds += fen;
            } else {
                walk_in_refunds += fen;
            }
        }
    }
    let refunds_awaiting_sale = window_refunds
        .keys()
        .filter(|r| !valued.contains(*r))
        .count();
    let s = rows.sales;
    let member_fen = s.member_fen - member_refunds;
    let walk_in_fen = s.walk_in_fen - walk_in_refunds;
    let total_fen = member_fen + walk_in_fen;
    let sales = Sales {
        member_fen,
        walk_in_fen,
        total_fen,
        member_refunds_fen: member_refunds,
        walk_in_refunds_fen: walk_in_refunds,
        member_sales: s.member_count,
        walk_in_sales: s.walk_in_count,
        member_share_bp: basis_points(member_fen, total_fen),
        refunds_awaiting_sale: u64::try_from(refunds_awaiting_sale).unwrap_or(u64::MAX),
    };

    let repeat = Repeat {
        buyers: rows.buyers,
        repeat_buyers: rows.repeat_buyers,
        rate_bp: basis_points(i128::from(rows.repeat_buyers), i128::from(rows.buyers)),
    };

    let per_yuan = program.redemption.points_per_yuan.max(1);
    let liabilities = Liabilities {
        points,
        points_value_fen: share(points, 100, i128::from(per_yuan)),
        stored_value_principal_fen: principal,
        stored_value_bonus_fen: bonus,
    };

    let terminals = rows
        .terminals
        .into_iter()
        .map(|t| TerminalSync {
            pending: t.outbox_head_seq.map(|h| h.saturating_sub(t.acked_seq)),
            last_batch_at: t.last_batch_at_ms.and_then(|ms| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .map(|d| d.with_timezone(now.offset()).to_rfc3339())
            }),
            lag_seconds: t
                .last_batch_at_ms
                .map(|ms| (query.now_ms - ms).max(0) / 1000),
            terminal_id: t.terminal_id,
            store: t.store,
            acked_seq: t.acked_seq,
            outbox_head_seq: t.outbox_head_seq,
            revoked: t.revoked,
            app_version: t.app_version,
            clock_skew_ms: t.clock_skew_ms,
        })
        .collect();

    Figures {
        as_of: now.to_rfc3339(),
        windows: Windows {
            sales_days: SALES_WINDOW_DAYS,
            active_days: ACTIVE_WINDOW_DAYS,
            enrollment_days: ENROLLMENT_DAYS,
        },
        members_by_tier,
        members_total,
        enrollments_per_day,
        activity,
        sales,
        repeat,
        liabilities,
        terminals,
        conflicts: Conflicts {
            total: rows.conflicts_total,
            items: rows.conflicts,
            by_kind_and_age: rows.review_ages,
        },
        read_from: ReadFrom::primary(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn id(n: u128) -> SourceId {
        SourceId(Uuid::from_u128(n))
    }

    #[test]
    fn the_business_day_is_chinas_whatever_the_servers_clock() {
        // 21:30 UTC is already 05:30 the next morning in Shanghai: the
        // enrollment series ends on the store's today, not the server's.
        let late_utc = Timestamp::parse_from_rfc3339("2026-12-03T21:30:00+00:00").unwrap();
        let query = FigureQuery::at(in_business_offset(late_utc));
        assert_eq!(query.last_day, "2026-12-04");
        assert_eq!(query.now_ms, millis(late_utc), "the same moment");
    }

    #[test]
    fn basis_points_round_half_up() {
        assert_eq!(basis_points(1, 3), Some(3333));
        assert_eq!(basis_points(2, 3), Some(6667));
        assert_eq!(basis_points(5, 0), None);
        assert_eq!(basis_points(0, 7), Some(0));
    }

    #[test]
    fn partial_refunds_of_a_line_sum_to_its_net() {
        // One line of 3 items netting 1000 fen, refunded one item at a time.
        let sale = RefundedSale {
            sale: id(1),
            member: true,
            lines: vec![(3, 1000)],
        };
        let refunds: Vec<RefundRow> = (0..3)
            .map(|i| RefundRow {
                refund: id(10 + i),
                sale: id(1),
                at_ms: i64::try_from(i).unwrap(),
                lines: vec![RefundLine {
                    line: 0,
                    quantity: 1,
                }],
            })
            .collect();
        let values = refund_values(&[sale], &refunds);
        let fens: Vec<i128> = values.iter().map(|v| v.2).collect();
        assert_eq!(fens, vec![333, 334, 333]);
        assert_eq!(fens.iter().sum::<i128>(), 1000);
    }

    #[test]
    fn refund_of_unknown_sale_is_not_valued() {
        let refunds = vec![RefundRow {
            refund: id(2),
            sale: id(99),
            at_ms: 0,
            lines: vec![RefundLine {
                line: 0,
                quantity: 1,
            }],
        }];
        assert!(refund_values(&[], &refunds).is_empty());
    }
}
