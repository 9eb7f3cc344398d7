//! RFM segments: each member scored on recency (days since the last
//! purchase), frequency (purchases in the last 365 days) and monetary value
//! (spend in the last 365 days), each from 1 to 5 by quintile among the
//! members who bought in that year, then named by recency and frequency the
//! way marketers read the grid. Pure: the nightly `rfm` job feeds it the
//! store's figures and keeps what it gives.
//!
//! Members who bought nothing in the year score no quintile: they are
//! [`RfmSegment::Lost`] (or `New` while they enrolled inside the last 30
//! days, which this module does not see: they are simply absent).

use serde::{Deserialize, Serialize};
use tillcard_rules::ids::MemberId;

/// A named RFM segment.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RfmSegment {
    /// Bought recently and often (R ≥ 4, F ≥ 4).
    Champions,
    /// Buy often, not the most recently (R ≥ 3, F ≥ 3).
    Loyal,
    /// Bought recently, not often yet (R ≥ 4, F ≤ 2).
    Promising,
    /// Used to buy often, not lately (R ≤ 2, F ≥ 3).
    AtRisk,
    /// Rarely and not lately (the rest of those who bought this year).
    Hibernating,
    /// Nothing bought in the last 365 days.
    Lost,
}

impl RfmSegment {
    /// Every segment, in the order listed to operators.
    pub const ALL: [RfmSegment; 6] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::Promising,
        RfmSegment::AtRisk,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    /// The stored name (`at_risk`).
    pub fn name(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::Loyal => "loyal",
            RfmSegment::Promising => "promising",
            RfmSegment::AtRisk => "at_risk",
            RfmSegment::Hibernating => "hibernating",
            RfmSegment::Lost => "lost",
        }
    }

    /// The segment of a stored name.
    pub fn from_name(name: &str) -> Option<RfmSegment> {
        RfmSegment::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The segment of recency and frequency scores (1-5).
    pub fn of_scores(r: u8, f: u8) -> RfmSegment {
        match (r, f) {
            (4..=5, 4..=5) => RfmSegment::Champions,
            (3..=5, 3..=5) => RfmSegment::Loyal,
            (4..=5, _) => RfmSegment::Promising,
            (_, 3..=5) => RfmSegment::AtRisk,
            _ => RfmSegment::Hibernating,
        }
    }
}

/// One member's year as the store sums it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfmInput {
    /// The member.
    pub member: MemberId,
    /// Days since the last purchase (`None`: nothing bought in the year).
    pub days_since: Option<i64>,
    /// Purchases in the year.
    pub purchases: i64,
    /// Spend in the year, fen.
    pub spend_fen: i64,
}

/// One member's scores and segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RfmScore {
    /// The member.
    pub member: MemberId,
    /// Recency 1-5 (5: most recent), 0 when nothing was bought.
    pub r: u8,
    /// Frequency 1-5 (5: most purchases), 0 when nothing was bought.
    pub f: u8,
    /// Monetary 1-5 (5: most spend), 0 when nothing was bought.
    pub m: u8,
    /// The segment.
    pub segment: RfmSegment,
}

/// Scores every member: quintiles among the members who bought in the
/// year (ties share the lower quintile's score, so equal figures always
/// score the same), `Lost` for the others.
pub fn score(inputs: &[RfmInput]) -> Vec<RfmScore> {
    let buyers: Vec<&RfmInput> = inputs
        .iter()
        .filter(|i| i.days_since.is_some() && i.purchases > 0)
        .collect();
    // Recency: fewer days is better, so it ranks on the negated days.
    let recency: Vec<i64> = buyers
        .iter()
        .map(|i| i.days_since.map_or(i64::MIN, |d| d.saturating_neg()))
        .collect();
    let frequency: Vec<i64> = buyers.iter().map(|i| i.purchases).collect();
    let monetary: Vec<i64> = buyers.iter().map(|i| i.spend_fen).collect();
    let (r, f, m) = (
        quintiles(&recency),
        quintiles(&frequency),
        quintiles(&monetary),
    );
    let mut out: Vec<RfmScore> = buyers
        .iter()
        .enumerate()
        .map(|(k, i)| RfmScore {
            member: i.member,
            r: r[k],
            f: f[k],
            m: m[k],
            segment: RfmSegment::of_scores(r[k], f[k]),
        })
        .collect();
    out.extend(
        inputs
            .iter()
            .filter(|i| i.days_since.is_none() || i.purchases <= 0)
            .map(|i| RfmScore {
                member: i.member,
                r: 0,
                f: 0,
                m: 0,
                segment: RfmSegment::Lost,
            }),
    );
    out
}

/// Each value's quintile (1-5, higher value scores higher): the share of
/// values strictly below it, in fifths.
fn quintiles(values: &[i64]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len().max(1);
    values
        .iter()
        .map(|v| {
            let below = sorted.partition_point(|x| x < v);
            // below / n in [0, 1) → 1..=5
            let fifth = below.saturating_mul(5) / n;
            u8::try_from(fifth.min(4)).unwrap_or(4) + 1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(n: u128, days: Option<i64>, purchases: i64, spend: i64) -> RfmInput {
        RfmInput {
            member: MemberId(uuid::Uuid::from_u128(n)),
            days_since: days,
            purchases,
            spend_fen: spend,
        }
    }

    #[test]
    fn quintiles_spread_ten_distinct_values_two_to_a_score() {
        let values: Vec<i64> = (1..=10).collect();
        assert_eq!(quintiles(&values), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(quintiles(&[7, 7, 7]), vec![1, 1, 1], "ties score alike");
    }

    #[test]
    fn recent_frequent_buyers_are_champions_and_absent_ones_lost() {
        let mut inputs: Vec<RfmInput> = (0..10)
            .map(|k| {
                input(
                    k,
                    Some(300 - 30 * k as i64),
                    1 + k as i64,
                    1_000 * (k as i64 + 1),
                )
            })
            .collect();
        inputs.push(input(99, None, 0, 0));
        let scores = score(&inputs);
        let by = |n: u128| {
            scores
                .iter()
                .find(|s| s.member == MemberId(uuid::Uuid::from_u128(n)))
                .unwrap()
        };
        assert_eq!(by(9).segment, RfmSegment::Champions, "{:?}", by(9));
        assert_eq!((by(9).r, by(9).f, by(9).m), (5, 5, 5));
        assert_eq!(by(0).segment, RfmSegment::Hibernating);
        assert_eq!(by(99).segment, RfmSegment::Lost);
        assert_eq!(scores.len(), inputs.len(), "every member scored once");
    }

    #[test]
    fn the_grid_names_every_score_pair() {
        assert_eq!(RfmSegment::of_scores(5, 5), RfmSegment::Champions);
        assert_eq!(RfmSegment::of_scores(3, 4), RfmSegment::Loyal);
        assert_eq!(RfmSegment::of_scores(5, 1), RfmSegment::Promising);
        assert_eq!(RfmSegment::of_scores(1, 5), RfmSegment::AtRisk);
        assert_eq!(RfmSegment::of_scores(2, 2), RfmSegment::Hibernating);
        for s in RfmSegment::ALL {
            assert_eq!(RfmSegment::from_name(s.name()), Some(s));
        }
    }
}
