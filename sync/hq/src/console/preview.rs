//! The program editor's preview: one sample basket priced for a member of
//! each tier under the version in force and under the draft, at the
//! draft's moment, with the same pricing code terminals run. Pure.
//!
//! The basket holds a line of each kind of category the program's levers
//! touch: groceries, fresh produce, tobacco (excluded from discounts and
//! earning by default) and a gift card; and any category the draft or the
//! current version gives a points rate of its own.

use serde::Serialize;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, PricingRequest, Shopper, TenderRequest,
};
use tillcard_rules::{Money, Program, TierLevel};
use uuid::Uuid;

/// One tier's figures under both versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewRow {
    /// The tier's code.
    pub tier: String,
    /// Order total, fen, now and under the draft.
    pub total_now: i64,
    /// Under the draft.
    pub total_draft: i64,
    /// Points earned now.
    pub points_now: i64,
    /// Under the draft.
    pub points_draft: i64,
    /// Whether any figure differs.
    pub changed: bool,
}

/// The sample basket (see the module's doc).
pub fn sample_basket(current: &Program, draft: &Program) -> Basket {
    let mut categories: Vec<String> = ["grocery", "fresh", "tobacco", "gift_card"]
        .iter()
        .map(|c| (*c).to_string())
        .collect();
    for rate in current
        .earning
        .category_rates
        .iter()
        .chain(&draft.earning.category_rates)
    {
        if !categories.contains(&rate.category) {
            categories.push(rate.category.clone());
        }
    }
    Basket {
        lines: categories
            .into_iter()
            .enumerate()
            .map(|(i, category)| BasketLine {
                sku: format!("sample-{i}"),
                name: format!("sample {category}"),
                category,
                quantity: 1,
                unit_price: Money::from_fen(5_990 + 2_000 * i64::try_from(i).unwrap_or(0)),
                list_price: None,
            })
            .collect(),
    }
}

/// The sample basket priced for a member of each of the draft's tiers at
/// `at`, under `current` and `draft` (a tier the current version lacks is
/// priced at its highest).
pub fn preview(current: &Program, draft: &Program, at: Timestamp) -> Vec<PreviewRow> {
    let basket = sample_basket(current, draft);
    let member = MemberId(Uuid::nil());
    let profile = MemberProfile {
        id: member,
        birthday: None,
        referred_by: None,
        balances_known: true,
        frozen: false,
    };
    let price = |program: &Program, tier: TierLevel| {
        let mut account = MemberAccount::new(member);
        account.tier = tier;
        pricing::price(&PricingRequest {
            quote_id: SourceId(Uuid::nil()),
            program,
            basket: &basket,
            shopper: Some(Shopper {
                profile: &profile,
                account: &account,
            }),
            context: Context {
                now: at,
                offline: false,
                offline_allowance_left: Money::ZERO,
            },
            tender: &TenderRequest::default(),
        })
        .ok()
    };
    draft
        .tiers
        .iter()
        .enumerate()
        .filter_map(|(i, tier)| {
            let level = TierLevel(u8::try_from(i).ok()?);
            let now = price(current, level)?;
            let new = price(draft, level)?;
            Some(PreviewRow {
                tier: tier.code.clone(),
                total_now: now.total.fen(),
                total_draft: new.total.fen(),
                points_now: now.earn.points,
                points_draft: new.earn.points,
                changed: now.total != new.total || now.earn.points != new.earn.points,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_the_points_shows_on_every_tier_and_nothing_else_moves() {
        let current = Program::default();
        let mut draft = Program::default();
        draft.earning.points_per_yuan = 2;
        let at = Timestamp::parse_from_rfc3339("2026-12-10T10:00:00+08:00").unwrap();
        let rows = preview(&current, &draft, at);
        assert_eq!(rows.len(), current.tiers.len());
        for row in &rows {
            assert!(row.changed);
            assert_eq!(row.total_now, row.total_draft, "{row:?}");
            assert!(
                (row.points_draft - 2 * row.points_now).abs() <= 2,
                "doubled, give or take rounding: {row:?}"
            );
        }
        assert!(preview(&current, &current, at).iter().all(|r| !r.changed));
    }
}
