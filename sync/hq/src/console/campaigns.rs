//! Campaigns in the console (`/console/campaigns`): the list of campaigns
//! with what each has reached, one campaign's figures
//! (`/console/campaigns/{code}`: issued, redeemed, the treated and control
//! groups side by side), and for users whose role has `Campaigns` the
//! forms: create (the definition typed in fields, read into a
//! [`CampaignSpec`] here and given to [`Hq::create_campaign`], the admin
//! API's operation), "Run now" ([`Hq::run_campaign`] at this moment) and
//! "Stop" with a reason. Every form passes the session, CSRF and role
//! checks first ([`super::forms`]).
//!
//! The page shows money as yuan (`¥20.00`) and rates as percentages; the
//! service's basis points and fen never reach the template raw. A
//! definition the form cannot read (a budget that is not a number) is
//! refused like one the service finds wrong, `invalid_campaign` with every
//! problem listed, and nothing is written.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};
use tillcard_rules::money::Money;
use tillcard_rules::program::{CategoryScope, CouponKind, CouponTemplate};

use super::forms::{FormsOf, Posted, Submission, notice};
use super::pages::Visit;
use super::program::moment;
use crate::campaigns::figures::{CampaignFigures, GroupFigures};
use crate::campaigns::rfm::RfmSegment;
use crate::campaigns::{CampaignRecord, CampaignSpec, Segment};
use crate::error::HqError;
use crate::figures::in_business_offset;
use crate::service::Hq;
use crate::service::roles::Operation;

/// The list's page.
pub(super) const PATH: &str = "/console/campaigns";

const FORMS: FormsOf = FormsOf {
    back: PATH,
    operation: Operation::Campaigns,
};

/// Campaigns' console routes.
pub(super) fn routes() -> Router<Arc<Hq>> {
    Router::new()
        .route(PATH, get(list).post(create))
        .route("/console/campaigns/{code}", get(show))
        .route("/console/campaigns/{code}/run", post(run_now))
        .route("/console/campaigns/{code}/stop", post(stop))
}

/// Basis points as a percentage (`1250` → `12.5%`), `-` without a base.
fn percent(bp: Option<u64>) -> String {
    match bp {
        None => "-".into(),
        Some(bp) if bp % 100 == 0 => format!("{}%", bp / 100),
        Some(bp) => {
            let fraction = format!("{:02}", bp % 100);
            format!("{}.{}%", bp / 100, fraction.trim_end_matches('0'))
        }
    }
}

fn yuan(fen: i64) -> String {
    Money::from_fen(fen).to_string()
}

/// A moment as the store-local minute it is (`2026-12-01 00:00`).
fn local(at: tillcard_rules::ids::Timestamp) -> String {
    in_business_offset(at).format("%Y-%m-%d %H:%M").to_string()
}

/// A campaign's row in the list.
fn row(c: &CampaignRecord) -> Value {
    context! {
        code => c.spec.code,
        name => c.spec.name,
        state => c.state,
        starts_at => local(c.spec.starts_at),
        ends_at => local(c.spec.ends_at),
        issued => c.issued,
        budget => c.spec.budget,
        treated => c.treated,
        control => c.control,
        control_pct => percent(Some(u64::from(c.spec.control_bp))),
    }
}

/// A group's figures in words.
fn group(g: &GroupFigures) -> Value {
    context! {
        members => g.members,
        buyers => g.buyers,
        purchase_rate => percent(g.purchase_rate_bp),
        sales => yuan(g.sales_fen),
        sleeping => g.sleeping,
        reactivated => g.reactivated,
        reactivation_rate => percent(g.reactivation_rate_bp),
    }
}

/// The segment's conditions as (text key, value) pairs, in the form's
/// order; RFM segments apart (their names are translated by the page).
fn segment_terms(segment: &Segment) -> Vec<Value> {
    let mut terms = Vec::new();
    let mut term = |key: &str, value: String| terms.push(context! { key => key, value => value });
    if !segment.tiers.is_empty() {
        term("term_tiers", segment.tiers.join(", "));
    }
    if !segment.tags.is_empty() {
        term("term_tags", segment.tags.join(", "));
    }
    if !segment.stores.is_empty() {
        term("term_stores", segment.stores.join(", "));
    }
    if let Some(days) = segment.min_days_since_purchase {
        term("term_min_days", days.to_string());
    }
    if let Some(days) = segment.max_days_since_purchase {
        term("term_max_days", days.to_string());
    }
    if let Some(spend) = segment.min_spend {
        term("term_min_spend", spend.to_string());
    }
    if let Some(spend) = segment.max_spend {
        term("term_max_spend", spend.to_string());
    }
    if segment.birthday_month {
        term("term_birthday_month", String::new());
    }
    terms
}

fn figures(f: &CampaignFigures) -> Value {
    context! {
        issued => f.issued,
        redeemed => f.redeemed,
        redemption_rate => percent(f.redemption_rate_bp),
        redeeming_orders => f.redeeming_orders,
        redeeming_sales => yuan(f.redeeming_sales_fen),
        treated => group(&f.treated),
        control => f.control.as_ref().map(group),
    }
}

/// What the page shows: every campaign, the RFM segments the form offers,
/// and, on a campaign's page, its definition and figures.
async fn context_of(hq: &Hq, code: Option<&str>) -> Result<Value, HqError> {
    let campaigns: Vec<Value> = hq.campaigns().await?.iter().map(row).collect();
    let rfm: Vec<&str> = RfmSegment::ALL.iter().map(|s| s.name()).collect();
    let view = match code {
        None => None,
        Some(code) => {
            let view = hq.campaign_view(code).await?;
            let spec = &view.campaign.spec;
            let coupon = match &spec.coupon.kind {
                CouponKind::AmountOff { off, min_spend } => format!("{off} / {min_spend}"),
                CouponKind::PercentOff {
                    off_bp,
                    cap,
                    min_spend,
                } => format!(
                    "{} ≤ {cap} / {min_spend}",
                    percent(u64::try_from(*off_bp).ok())
                ),
                CouponKind::FreeGift {
                    name,
                    value,
                    min_spend,
                    ..
                } => format!("{name} ({value}) / {min_spend}"),
            };
            Some(context! {
                campaign => row(&view.campaign),
                coupon => coupon,
                valid_days => spec.coupon.valid_days,
                per_member => spec.per_member,
                segment => segment_terms(&spec.segment),
                segment_rfm => spec.segment.rfm.iter().map(|s| s.name()).collect::<Vec<_>>(),
                figures => figures(&view.figures),
            })
        }
    };
    Ok(context! { campaigns => campaigns, rfm => rfm, view => view })
}

async fn list(visit: Visit) -> Result<Response, HqError> {
    visit
        .show(
            "campaigns",
            Some(Operation::ReadBackOffice),
            async |hq, _| context_of(hq, None).await,
        )
        .await
}

async fn show(Path(code): Path<String>, visit: Visit) -> Result<Response, HqError> {
    visit
        .show(
            "campaigns",
            Some(Operation::ReadBackOffice),
            async |hq, _| context_of(hq, Some(&code)).await,
        )
        .await
}

/// Reads the form's fields into a definition: every field it cannot read
/// is one problem.
fn spec_of(posted: &Posted) -> Result<CampaignSpec, Vec<String>> {
    let mut problems = Vec::new();
    let mut money = |name: &str, required: bool| -> Option<Money> {
        match posted.field(name) {
            "" if !required => None,
            text => match text.parse::<Money>() {
                Ok(m) if m >= Money::ZERO => Some(m),
                _ => {
                    problems.push(format!("{name}: yuan with at most two decimals (20.00)"));
                    None
                }
            },
        }
    };
    let off = money("off", false);
    let min_spend = money("min_spend", false).unwrap_or(Money::ZERO);
    let cap = money("cap", false);
    // A percentage with at most two decimals is read as yuan are: its
    // hundredths are basis points (12.5 → 1250).
    let percent_off = money("percent_off", false);
    let control = money("control_pct", false).unwrap_or(Money::ZERO);
    let seg_min_spend = money("seg_min_spend", false);
    let seg_max_spend = money("seg_max_spend", false);
    let kind = match posted.field("coupon_kind") {
        "percent_off" => match (percent_off, cap) {
            (Some(p), Some(cap)) => Some(CouponKind::PercentOff {
                off_bp: p.fen(),
                cap,
                min_spend,
            }),
            _ => {
                problems.push("coupon: percent off and its cap (¥)".into());
                None
            }
        },
        _ => match off {
            Some(off) => Some(CouponKind::AmountOff { off, min_spend }),
            None => {
                problems.push("coupon: the amount off (¥)".into());
                None
            }
        },
    };
    let mut number = |name: &str, required: bool| -> Option<u64> {
        match posted.field(name) {
            "" if !required => None,
            text => text.parse::<u64>().ok().or_else(|| {
                problems.push(format!("{name}: a whole number"));
                None
            }),
        }
    };
    let valid_days = number("valid_days", true);
    let per_member = number("per_member", false).unwrap_or(1);
    let budget = number("budget", true);
    let min_days = number("min_days", false);
    let max_days = number("max_days", false);
    let mut at = |name: &str| {
        let found = moment(posted.field(name));
        if found.is_none() {
            problems.push(format!("{name}: a store-local date and time"));
        }
        found
    };
    let starts_at = at("starts_at");
    let ends_at = at("ends_at");
    let rfm: Vec<RfmSegment> = posted
        .all("rfm")
        .iter()
        .filter_map(|name| RfmSegment::from_name(name))
        .collect();
    let list = |name: &str| -> Vec<String> {
        posted
            .field(name)
            .split([',', '，'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let fits = |n: Option<u64>, name: &str, problems: &mut Vec<String>| {
        n.and_then(|n| {
            u32::try_from(n)
                .map_err(|_| problems.push(format!("{name}: too large")))
                .ok()
        })
    };
    let segment = Segment {
        tiers: list("tiers"),
        tags: list("tags"),
        stores: list("stores"),
        min_days_since_purchase: fits(min_days, "min_days", &mut problems),
        max_days_since_purchase: fits(max_days, "max_days", &mut problems),
        birthday_month: posted.field("birthday_month") == "on",
        min_spend: seg_min_spend,
        max_spend: seg_max_spend,
        rfm,
    };
    let valid_days = fits(valid_days, "valid_days", &mut problems);
    let budget = fits(budget, "budget", &mut problems);
    let per_member = u16::try_from(per_member).unwrap_or(u16::MAX);
    let control_bp = u16::try_from(control.fen()).unwrap_or(u16::MAX);
    match (kind, valid_days, starts_at, ends_at, budget) {
        (Some(kind), Some(valid_days), Some(starts_at), Some(ends_at), Some(budget))
            if problems.is_empty() =>
        {
            Ok(CampaignSpec {
                code: posted.field("code").to_string(),
                name: posted.field("name").to_string(),
                coupon: CouponTemplate {
                    code: posted.field("code").to_string(),
                    kind,
                    scope: CategoryScope::default(),
                    valid_days,
                    stacks_with_tier_discount: true,
                },
                segment,
                starts_at,
                ends_at,
                per_member,
                budget,
                control_bp,
            })
        }
        _ => Err(problems),
    }
}

async fn create(form: Submission) -> Result<Response, HqError> {
    form.submit(FORMS, async |hq, posted| {
        let spec = spec_of(posted).map_err(|problems| {
            HqError::Refused(
                StatusCode::BAD_REQUEST,
                "invalid_campaign",
                problems.join("; "),
            )
        })?;
        hq.create_campaign(&posted.session.actor, &spec)
            .await
            .map(|_| notice("campaign_created"))
    })
    .await
}

async fn run_now(Path(code): Path<String>, form: Submission) -> Result<Response, HqError> {
    form.submit(FORMS, async |hq, posted| {
        let run = hq.run_campaign(&code, chrono::Utc::now().fixed_offset());
        let run = run.await?;
        tracing::info!(campaign = %code, actor = %posted.session.actor.name, coupons = run.coupons, "campaign run from the console");
        Ok(notice("campaign_ran"))
    })
    .await
}

async fn stop(Path(code): Path<String>, form: Submission) -> Result<Response, HqError> {
    form.submit(FORMS, async |hq, posted| {
        hq.stop_campaign(&posted.session.actor, &code, posted.field("reason"))
            .await
            .map(|()| notice("campaign_stopped_notice"))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_percentages() {
        assert_eq!(percent(Some(3000)), "30%");
        assert_eq!(percent(Some(1250)), "12.5%");
        assert_eq!(percent(Some(1)), "0.01%");
        assert_eq!(percent(Some(6667)), "66.67%");
        assert_eq!(percent(None), "-");
    }
}
