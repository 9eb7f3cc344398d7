//! Who a campaign is for: a [`Segment`] of conditions, all of which a
//! member must meet, tested against the [`MemberFacts`] head office holds
//! about them at a moment. Pure: the facts come from the store, the moment
//! from the caller.
//!
//! An empty list or an absent bound means "any". Days since the last
//! purchase count from the member's enrollment when they never bought
//! (a member who enrolled 200 days ago and never came back is asleep).
//! Spend is what the member's sales totalled over the last 365 days.

use serde::{Deserialize, Serialize};
use tillcard_rules::Program;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::money::Money;

use super::rfm::RfmSegment;

/// A day in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// The most entries of each list a segment names.
pub const MAX_LIST: usize = 50;
/// Spend is counted over this many days.
pub const SPEND_DAYS: i64 = 365;

/// The conditions a member must meet, all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Segment {
    /// Tier codes, any of (`gold`); empty for every tier.
    pub tiers: Vec<String>,
    /// Tags, any of; empty for any.
    pub tags: Vec<String>,
    /// Store codes where the member last shopped, any of; empty for any.
    pub stores: Vec<String>,
    /// At least this many days since the last purchase (a sleeping-member
    /// campaign: 90).
    pub min_days_since_purchase: Option<u32>,
    /// At most this many days since the last purchase.
    pub max_days_since_purchase: Option<u32>,
    /// Only members whose birthday month it is at the moment of issue.
    pub birthday_month: bool,
    /// At least this much spent over the last 365 days.
    pub min_spend: Option<Money>,
    /// At most this much spent over the last 365 days.
    pub max_spend: Option<Money>,
    /// RFM segments (from the nightly RFM job), any of; empty for any.
    pub rfm: Vec<RfmSegment>,
}

/// What head office knows about one member for segmenting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    /// The member.
    pub member: MemberId,
    /// Tier level, when the member's cached fold has one.
    pub tier: Option<u8>,
    /// Tags set at head office.
    pub tags: Vec<String>,
    /// The store of the member's last visit.
    pub last_store: Option<String>,
    /// Birthday month (1-12), if given.
    pub birthday_month: Option<u8>,
    /// The moment of the last purchase (ms since the epoch), if any.
    pub last_purchase_ms: Option<i64>,
    /// Enrollment (ms since the epoch), if known.
    pub enrolled_at_ms: Option<i64>,
    /// Spend over the last [`SPEND_DAYS`] days, fen.
    pub spend_fen: i64,
    /// The member's RFM segment from the last nightly run, if any.
    pub rfm: Option<RfmSegment>,
}

impl MemberFacts {
    /// Whole days from the last purchase (or enrollment) to `now_ms`.
    pub fn days_since_purchase(&self, now_ms: i64) -> Option<i64> {
        let since = self.last_purchase_ms.or(self.enrolled_at_ms)?;
        Some(now_ms.saturating_sub(since).max(0) / DAY_MS)
    }
}

/// A segment with its tier codes resolved to levels under a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSegment {
    segment: Segment,
    tier_levels: Vec<u8>,
}

impl Segment {
    /// Everything wrong with the segment under `program`.
    pub fn problems(&self, program: &Program) -> Vec<String> {
        let mut out = Vec::new();
        for (name, len) in [
            ("tiers", self.tiers.len()),
            ("tags", self.tags.len()),
            ("stores", self.stores.len()),
            ("rfm", self.rfm.len()),
        ] {
            if len > MAX_LIST {
                out.push(format!("segment.{name}: at most {MAX_LIST}"));
            }
        }
        for code in &self.tiers {
            if !program.tiers.iter().any(|t| &t.code == code) {
                out.push(format!("segment.tiers: no tier {code} in the program"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_days_since_purchase, self.max_days_since_purchase)
            && min > max
        {
            out.push("segment: min_days_since_purchase above max_days_since_purchase".into());
        }
        if let (Some(min), Some(max)) = (self.min_spend, self.max_spend)
            && min > max
        {
            out.push("segment: min_spend above max_spend".into());
        }
        if self.min_spend.is_some_and(|m| m < Money::ZERO)
            || self.max_spend.is_some_and(|m| m < Money::ZERO)
        {
            out.push("segment: spend bounds cannot be negative".into());
        }
        out
    }

    /// The segment with its tier codes as levels under `program` (a code
    /// the program no longer has matches nobody).
    pub fn resolve(&self, program: &Program) -> ResolvedSegment {
        let tier_levels = program
            .tiers
            .iter()
            .enumerate()
            .filter(|(_, t)| self.tiers.contains(&t.code))
            .filter_map(|(i, _)| u8::try_from(i).ok())
            .collect();
        ResolvedSegment {
            segment: self.clone(),
            tier_levels,
        }
    }
}

impl ResolvedSegment {
    /// Whether `facts` meet every condition at `now`.
    pub fn matches(&self, facts: &MemberFacts, now: Timestamp) -> bool {
        let s = &self.segment;
        if !s.tiers.is_empty() {
            // A member whose cached fold has no tier yet counts as the
            // lowest tier (every member starts there).
            let level = facts.tier.unwrap_or(0);
            if !self.tier_levels.contains(&level) {
                return false;
            }
        }
        if !s.tags.is_empty() && !s.tags.iter().any(|t| facts.tags.contains(t)) {
            return false;
        }
        if !s.stores.is_empty()
            && !facts
                .last_store
                .as_ref()
                .is_some_and(|store| s.stores.contains(store))
        {
            return false;
        }
        let now_ms = now.timestamp_millis();
        if s.min_days_since_purchase.is_some() || s.max_days_since_purchase.is_some() {
            let Some(days) = facts.days_since_purchase(now_ms) else {
                return false;
            };
            if s.min_days_since_purchase
                .is_some_and(|min| days < i64::from(min))
            {
                return false;
            }
            if s.max_days_since_purchase
                .is_some_and(|max| days > i64::from(max))
            {
                return false;
            }
        }
        if s.birthday_month {
            use chrono::Datelike;
            if facts.birthday_month.map(u32::from) != Some(now.month()) {
                return false;
            }
        }
        let spend = Money::from_fen(facts.spend_fen);
        if s.min_spend.is_some_and(|min| spend < min) || s.max_spend.is_some_and(|max| spend > max)
        {
            return false;
        }
        if !s.rfm.is_empty() && !facts.rfm.is_some_and(|r| s.rfm.contains(&r)) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    fn facts() -> MemberFacts {
        MemberFacts {
            member: MemberId(uuid::Uuid::from_u128(7)),
            tier: Some(1),
            tags: vec!["vip".into()],
            last_store: Some("sh-001".into()),
            birthday_month: Some(12),
            last_purchase_ms: Some(at("2026-08-01T10:00:00+08:00").timestamp_millis()),
            enrolled_at_ms: Some(at("2025-01-01T10:00:00+08:00").timestamp_millis()),
            spend_fen: 50_000,
            rfm: Some(RfmSegment::AtRisk),
        }
    }

    fn resolve(segment: Segment) -> ResolvedSegment {
        segment.resolve(&Program::default())
    }

    #[test]
    fn an_empty_segment_matches_everyone() {
        assert!(resolve(Segment::default()).matches(&facts(), at("2026-12-03T09:00:00+08:00")));
    }

    #[test]
    fn sleeping_members_are_counted_from_their_last_purchase_or_enrollment() {
        let sleeping = resolve(Segment {
            min_days_since_purchase: Some(90),
            ..Segment::default()
        });
        let now = at("2026-12-03T09:00:00+08:00");
        assert!(sleeping.matches(&facts(), now), "124 days since 1 August");
        let recent = MemberFacts {
            last_purchase_ms: Some(at("2026-11-20T09:00:00+08:00").timestamp_millis()),
            ..facts()
        };
        assert!(!sleeping.matches(&recent, now));
        let never_bought = MemberFacts {
            last_purchase_ms: None,
            ..facts()
        };
        assert!(sleeping.matches(&never_bought, now), "enrolled 2025");
        let nothing_known = MemberFacts {
            last_purchase_ms: None,
            enrolled_at_ms: None,
            ..facts()
        };
        assert!(!sleeping.matches(&nothing_known, now));
    }

    #[test]
    fn birthday_month_is_the_month_of_the_moment_of_issue() {
        let birthday = resolve(Segment {
            birthday_month: true,
            ..Segment::default()
        });
        assert!(birthday.matches(&facts(), at("2026-12-01T03:00:00+08:00")));
        assert!(!birthday.matches(&facts(), at("2026-11-30T03:00:00+08:00")));
        let no_birthday = MemberFacts {
            birthday_month: None,
            ..facts()
        };
        assert!(!birthday.matches(&no_birthday, at("2026-12-01T03:00:00+08:00")));
    }

    #[test]
    fn tiers_tags_stores_spend_and_rfm_each_narrow_the_segment() {
        let now = at("2026-12-03T09:00:00+08:00");
        let program = Program::default();
        let tier_code = program.tiers[1].code.clone();
        let other_tier = program.tiers[0].code.clone();
        let cases = [
            (
                Segment {
                    tiers: vec![tier_code],
                    ..Segment::default()
                },
                true,
            ),
            (
                Segment {
                    tiers: vec![other_tier],
                    ..Segment::default()
                },
                false,
            ),
            (
                Segment {
                    tags: vec!["vip".into(), "staff".into()],
                    ..Segment::default()
                },
                true,
            ),
            (
                Segment {
                    tags: vec!["staff".into()],
                    ..Segment::default()
                },
                false,
            ),
            (
                Segment {
                    stores: vec!["sh-001".into()],
                    ..Segment::default()
                },
                true,
            ),
            (
                Segment {
                    stores: vec!["bj-001".into()],
                    ..Segment::default()
                },
                false,
            ),
            (
                Segment {
                    min_spend: Some(Money::from_fen(50_000)),
                    ..Segment::default()
                },
                true,
            ),
            (
                Segment {
                    min_spend: Some(Money::from_fen(50_001)),
                    ..Segment::default()
                },
                false,
            ),
            (
                Segment {
                    max_spend: Some(Money::from_fen(49_999)),
                    ..Segment::default()
                },
                false,
            ),
            (
                Segment {
                    rfm: vec![RfmSegment::AtRisk],
                    ..Segment::default()
                },
                true,
            ),
            (
                Segment {
                    rfm: vec![RfmSegment::Champions],
                    ..Segment::default()
                },
                false,
            ),
        ];
        for (segment, expected) in cases {
            let got = segment.resolve(&program).matches(&facts(), now);
            assert_eq!(got, expected, "{segment:?}");
        }
    }

    #[test]
    fn a_segment_naming_an_unknown_tier_or_crossed_bounds_has_problems() {
        let program = Program::default();
        let bad = Segment {
            tiers: vec!["platinum-plus".into()],
            min_days_since_purchase: Some(100),
            max_days_since_purchase: Some(10),
            min_spend: Some(Money::from_fen(-1)),
            ..Segment::default()
        };
        let problems = bad.problems(&program);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(Segment::default().problems(&program).is_empty());
    }
}
