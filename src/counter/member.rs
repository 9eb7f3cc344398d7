//! The member as the clerk sees them: masked name and phone, tier with the
//! progress to the next one, points with what expires soonest, stored value,
//! coupons, tags and the birthday-month marker. Built by a pure function
//! from what the store returns, in the clerk's language.

use chrono::Datelike;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::ledger::Coupon;
use tillcard_rules::program::{CouponKind, Program};
use tillcard_rules::tier::progress_to_next_tier;
use tillcard_rules::{MemberId, Timestamp};

use super::text::{discount, pick, tier_name, yuan};
use crate::format::Language;
use crate::store::members::MemberRecord;

/// What the store hands the counter about one member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSnapshot {
    /// The member as cached here (masked fields only).
    pub record: MemberRecord,
    /// Balances: head office's last snapshot plus this terminal's events.
    pub account: MemberAccount,
    /// The program in force (tier names, thresholds).
    pub program: Program,
    /// When the snapshot was taken.
    pub at: Timestamp,
    /// The card head office re-issued for the member (its text, signed
    /// here), when the member was found by phone: the card they carry may
    /// be the one revoked, so the member screen shows the new one to scan
    /// or print. `None` for a member found by scanning a card, or whose
    /// card was never re-issued.
    pub new_card: Option<String>,
}

impl MemberSnapshot {
    /// The member's id.
    pub fn id(&self) -> MemberId {
        self.record.id
    }
}

/// One coupon as listed to the clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponView {
    /// What it gives, e.g. "满50减10".
    pub label: String,
    /// Until when, e.g. "2026-12-29".
    pub valid_until: String,
}

/// The member screen's data.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    /// `张*` (or "Member" when no name was given).
    pub name: String,
    /// `138****5678`.
    pub phone: String,
    /// Tier name.
    pub tier: String,
    /// Tier discount label ("9折" / "10% off"), empty for none.
    pub tier_discount: String,
    /// "¥3,200.00 more to 金卡", or a line saying the top tier is reached.
    pub next_tier: String,
    /// Progress to the next tier, 0.0-1.0.
    pub tier_progress: f32,
    /// Points that can be spent now.
    pub points: i64,
    /// "300 points expire on 2026-12-31", empty when none expire.
    pub points_expiry: String,
    /// Stored value total.
    pub stored_value: String,
    /// "principal ¥500.00 · bonus ¥50.00".
    pub stored_value_split: String,
    /// Usable coupons.
    pub coupons: Vec<CouponView>,
    /// Tags from head office.
    pub tags: Vec<String>,
    /// This is the member's birthday month.
    pub birthday_month: bool,
    /// Balances are not known here (a verified card new to this store).
    pub balances_unknown: bool,
    /// Frozen by head office: no points or stored value redeemed.
    pub frozen: bool,
    /// A review flag is raised (e.g. a balance gone negative).
    pub flagged: bool,
}

/// "满50减10" / "¥10 off ¥50".
pub fn coupon_label(language: Language, coupon: &Coupon) -> String {
    match &coupon.kind {
        CouponKind::AmountOff { off, min_spend } => match language {
            Language::ZhCn => format!(
                "满{}减{}",
                min_spend.whole_yuan(),
                off.to_plain_string().trim_end_matches(".00")
            ),
            Language::En => format!("{} off {}", yuan(*off), yuan(*min_spend)),
        },
        CouponKind::PercentOff { off_bp, cap, .. } => match language {
            Language::ZhCn => format!("{}（最高减{}）", discount(language, *off_bp), yuan(*cap)),
            Language::En => format!("{} (up to {})", discount(language, *off_bp), yuan(*cap)),
        },
        CouponKind::FreeGift { name, .. } => match language {
            Language::ZhCn => format!("赠品：{name}"),
            Language::En => format!("Free gift: {name}"),
        },
    }
}

/// Builds the member screen's data.
pub fn member_view(snapshot: &MemberSnapshot, language: Language) -> MemberView {
    let MemberSnapshot {
        record,
        account,
        program,
        at,
        new_card: _,
    } = snapshot;
    let now = *at;
    let tier = program.tier(account.tier);
    let (next_tier, tier_progress) = match progress_to_next_tier(program, account, now) {
        Some((level, missing)) => {
            let next = program.tier(level);
            let threshold = next.map_or(missing, |t| t.qualifying_spend);
            let name = next.map(|t| tier_name(language, t)).unwrap_or_default();
            let progress = if threshold.fen() > 0 {
                1.0 - (missing.fen() as f64 / threshold.fen() as f64)
            } else {
                1.0
            };
            let text = match language {
                Language::ZhCn => format!("再消费{}升级{name}", yuan(missing)),
                Language::En => format!("{} more to {name}", yuan(missing)),
            };
            (text, progress.clamp(0.0, 1.0) as f32)
        }
        None => (pick(language, "已是最高等级", "Top tier reached"), 1.0),
    };
    let points_expiry = match account.next_expiry(now) {
        Some((when, points)) => match language {
            Language::ZhCn => format!("{points}积分将于{}到期", when.format("%Y-%m-%d")),
            Language::En => format!("{points} points expire on {}", when.format("%Y-%m-%d")),
        },
        None => String::new(),
    };
    let sv = account.stored_value;
    MemberView {
        name: if record.name_masked.is_empty() {
            pick(language, "会员", "Member")
        } else {
            record.name_masked.clone()
        },
        phone: record.phone_masked.clone(),
        tier: tier.map(|t| tier_name(language, t)).unwrap_or_default(),
        tier_discount: tier
            .filter(|t| t.discount_bp > 0)
            .map(|t| discount(language, t.discount_bp))
            .unwrap_or_default(),
        next_tier,
        tier_progress,
        points: account.points_balance(now),
        points_expiry,
        stored_value: yuan(sv.total()),
        stored_value_split: match language {
            Language::ZhCn => format!("本金{} · 赠送{}", yuan(sv.principal), yuan(sv.bonus)),
            Language::En => format!(
                "principal {} · bonus {}",
                yuan(sv.principal),
                yuan(sv.bonus)
            ),
        },
        coupons: account
            .usable_coupons(now)
            .map(|c| CouponView {
                label: coupon_label(language, c),
                valid_until: c.valid_until.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        tags: record.tags.clone(),
        birthday_month: record
            .birthday
            .is_some_and(|b| u32::from(b.month) == now.month()),
        balances_unknown: !record.balances_known,
        frozen: record.frozen,
        flagged: !account.flags.is_empty(),
    }
}
