//! Which members a campaign reaches at a moment and what each gets: pure.
//!
//! A member of the segment is drawn into the control group when their
//! bucket (a hash of the campaign's code and the member id, 0-9999) falls
//! below the campaign's `control_bp`: the draw is the same at every run, on
//! every head-office process, and independent between campaigns. A treated
//! member gets `per_member` coupons under one action id derived from the
//! campaign and the member, so issuing the same grant twice (a run taken up
//! again after a crash) is recognised by the store and booked once.

use sha2::{Digest, Sha256};
use tillcard_rules::booking;
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;

use super::segment::{MemberFacts, ResolvedSegment};
use super::{CampaignRecord, coupon_template};
use crate::figures::ACTIVE_WINDOW_DAYS;

/// One member reached by a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The member.
    pub member: MemberId,
    /// Treated (given coupons) or held back (control).
    pub treated: bool,
    /// Asleep when reached (no purchase in [`ACTIVE_WINDOW_DAYS`] days): counted
    /// as reactivated when they buy within the campaign.
    pub sleeping: bool,
    /// The coupons' `coupon_issued` entries (none for control).
    pub entries: Vec<LedgerEntry>,
}

/// The member's bucket for a campaign, 0-9999.
pub fn bucket(campaign: &str, member: MemberId) -> u16 {
    let digest = Sha256::digest(format!("tillcard-campaign/{campaign}/{member}"));
    let n = u16::from_be_bytes([digest[0], digest[1]]);
    n % 10_000
}

/// Whether the member is held back from a campaign with this control share.
pub fn in_control(campaign: &str, member: MemberId, control_bp: u16) -> bool {
    bucket(campaign, member) < control_bp
}

/// The action id under which a campaign issues a member's coupons (a UUID
/// v7 at the moment of issue, its random part from the campaign and
/// member).
pub fn issue_source(campaign: &str, member: MemberId, at: Timestamp) -> SourceId {
    let digest = Sha256::digest(format!("tillcard-campaign-issue/{campaign}/{member}"));
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    SourceId(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
}

/// The grants of `campaign` at `at` among `facts` (members not reached
/// yet): every member the segment matches, treated or control. The budget
/// is the store's to enforce (it knows what other runs issued).
pub fn plan(
    campaign: &CampaignRecord,
    segment: &ResolvedSegment,
    facts: &[MemberFacts],
    at: Timestamp,
) -> Vec<Grant> {
    if !campaign.issues_at(at) {
        return Vec::new();
    }
    let spec = &campaign.spec;
    let template = coupon_template(spec);
    let now_ms = at.timestamp_millis();
    facts
        .iter()
        .filter(|f| segment.matches(f, at))
        .map(|f| {
            let treated = !in_control(&spec.code, f.member, spec.control_bp);
            let entries = if treated {
                let source = issue_source(&spec.code, f.member, at);
                (0..spec.per_member)
                    .map(|index| booking::issue_coupon(&template, f.member, at, source, index))
                    .collect()
            } else {
                Vec::new()
            };
            Grant {
                member: f.member,
                treated,
                sleeping: f
                    .days_since_purchase(now_ms)
                    .is_some_and(|d| d >= ACTIVE_WINDOW_DAYS),
                entries,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::segment::Segment;
    use crate::campaigns::{CampaignSpec, coupon_template};
    use tillcard_rules::Program;
    use tillcard_rules::ledger::EntryKind;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    pub(crate) fn record(control_bp: u16) -> CampaignRecord {
        let program = Program::default();
        let coupon = program.coupons.welcome.clone().unwrap();
        CampaignRecord {
            spec: CampaignSpec {
                code: "sleepers".into(),
                name: "Come back".into(),
                coupon,
                segment: Segment {
                    min_days_since_purchase: Some(90),
                    ..Segment::default()
                },
                starts_at: at("2026-12-01T00:00:00+08:00"),
                ends_at: at("2027-01-01T00:00:00+08:00"),
                per_member: 2,
                budget: 1_000,
                control_bp,
            },
            state: "active".into(),
            issued: 0,
            treated: 0,
            control: 0,
            created_by: "ops".into(),
            created_at: "2026-11-30T00:00:00+00:00".into(),
        }
    }

    fn sleeper(n: u128) -> MemberFacts {
        MemberFacts {
            member: MemberId(uuid::Uuid::from_u128(n)),
            tier: None,
            tags: vec![],
            last_store: None,
            birthday_month: None,
            last_purchase_ms: Some(at("2026-06-01T00:00:00+08:00").timestamp_millis()),
            enrolled_at_ms: None,
            spend_fen: 0,
            rfm: None,
        }
    }

    #[test]
    fn treated_members_get_per_member_coupons_under_one_action_and_control_none() {
        let campaign = record(2_000);
        let segment = campaign.spec.segment.resolve(&Program::default());
        let facts: Vec<MemberFacts> = (0..1_000).map(sleeper).collect();
        let now = at("2026-12-02T03:00:00+08:00");
        let grants = plan(&campaign, &segment, &facts, now);
        assert_eq!(grants.len(), 1_000);
        let control = grants.iter().filter(|g| !g.treated).count();
        assert!(
            (150..=250).contains(&control),
            "about 20% held back: {control}"
        );
        for g in &grants {
            assert!(g.sleeping);
            if g.treated {
                assert_eq!(g.entries.len(), 2);
                let source = issue_source("sleepers", g.member, now);
                for (i, e) in g.entries.iter().enumerate() {
                    assert_eq!(e.source, source);
                    let EntryKind::CouponIssued { coupon } = &e.kind else {
                        panic!("{e:?}")
                    };
                    assert_eq!(coupon.code, "sleepers");
                    assert_eq!(usize::from(coupon.id.index), i);
                    assert_eq!(coupon.kind, coupon_template(&campaign.spec).kind);
                }
            } else {
                assert!(g.entries.is_empty());
            }
        }
        let again = plan(&campaign, &segment, &facts, now);
        assert_eq!(grants, again, "the draw is the same every run");
    }

    #[test]
    fn nothing_is_planned_outside_the_window_or_once_the_budget_is_spent() {
        let mut campaign = record(0);
        let segment = campaign.spec.segment.resolve(&Program::default());
        let facts = vec![sleeper(1)];
        assert!(plan(&campaign, &segment, &facts, at("2026-11-30T23:59:59+08:00")).is_empty());
        assert!(plan(&campaign, &segment, &facts, at("2027-01-01T00:00:00+08:00")).is_empty());
        assert_eq!(
            plan(&campaign, &segment, &facts, at("2026-12-05T00:00:00+08:00")).len(),
            1
        );
        campaign.issued = 1_000;
        assert!(plan(&campaign, &segment, &facts, at("2026-12-05T00:00:00+08:00")).is_empty());
        campaign.issued = 0;
        campaign.state = "stopped".into();
        assert!(plan(&campaign, &segment, &facts, at("2026-12-05T00:00:00+08:00")).is_empty());
    }
}
