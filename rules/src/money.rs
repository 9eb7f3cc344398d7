//! Money in integer minor units (fen), half-up rounding, and proportional
//! splitting by largest remainder.
//!
//! Floating point never touches money: every ratio is an integer numerator
//! over an integer denominator, computed in `i128` so intermediate products
//! cannot overflow for any realistic basket.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount of money in fen (1/100 of a yuan). May be negative (refunds,
/// corrections).
///
/// Serialized and deserialized as an integer number of fen, and nothing
/// else: on the wire an amount has one spelling, so `"100"` (yuan? fen?)
/// is refused rather than guessed. Hand-written files that want to say
/// amounts the way people read them (`"12.50"`) go through [`fen_or_yuan`].
///
/// The operators (`+`, `-`, unary `-`, `Sum`) never wrap and never panic:
/// they saturate at the ends of `i64`. Amounts that come from outside are
/// bounded first ([`crate::limits`]), which keeps saturation out of reach
/// for every sum the rules make; where outside amounts accumulate without a
/// bound of their own (a member's balances), the rules use the `checked_*`
/// operations and refuse what would leave the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Money(i64);

/// On the wire: an integer number of fen within the protocol's bound.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An amount in fen (1/100 yuan): an integer, never a string, \
                within ±10^12 (MAX_FEN).",
            "type": "integer",
            "format": "int64",
            "minimum": -crate::limits::MAX_FEN,
            "maximum": crate::limits::MAX_FEN,
        })
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(Money)
    }
}

/// Reads an amount written either as an integer number of fen or as a
/// string of yuan (`"12.50"`), for hand-written files (worked examples,
/// test data) through `#[serde(deserialize_with = "fen_or_yuan")]`. The
/// wire and every stored form use [`Money`]'s own integer form.
pub fn fen_or_yuan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
    // A visitor rather than an untagged enum: untagged buffers the value
    // before trying each form.
    struct FenOrYuan;

    impl serde::de::Visitor<'_> for FenOrYuan {
        type Value = Money;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer number of fen or a string of yuan such as \"12.50\"")
        }

        fn visit_i64<E: serde::de::Error>(self, fen: i64) -> Result<Money, E> {
            Ok(Money(fen))
        }

        fn visit_u64<E: serde::de::Error>(self, fen: u64) -> Result<Money, E> {
            i64::try_from(fen)
                .map(Money)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(fen), &self))
        }

        fn visit_str<E: serde::de::Error>(self, yuan: &str) -> Result<Money, E> {
            yuan.parse().map_err(E::custom)
        }
    }

    deserializer.deserialize_any(FenOrYuan)
}

impl Money {
    /// Zero fen.
    pub const ZERO: Money = Money(0);

    /// An amount from a number of fen.
    pub const fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    /// An amount from whole yuan.
    pub const fn from_yuan(yuan: i64) -> Money {
        Money(yuan.saturating_mul(100))
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Whole yuan contained in this amount, rounded towards zero.
    pub const fn whole_yuan(self) -> i64 {
        self.0 / 100
    }

    /// True when the amount is exactly zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True when the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self + rhs`, or `None` if it does not fit.
    pub const fn checked_add(self, rhs: Money) -> Option<Money> {
        match self.0.checked_add(rhs.0) {
            Some(fen) => Some(Money(fen)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` if it does not fit.
    pub const fn checked_sub(self, rhs: Money) -> Option<Money> {
        match self.0.checked_sub(rhs.0) {
            Some(fen) => Some(Money(fen)),
            None => None,
        }
    }

    /// `self × factor`, or `None` if it does not fit.
    pub const fn checked_mul(self, factor: i64) -> Option<Money> {
        match self.0.checked_mul(factor) {
            Some(fen) => Some(Money(fen)),
            None => None,
        }
    }

    /// The larger of `self` and zero.
    pub fn clamp_non_negative(self) -> Money {
        Money(self.0.max(0))
    }

    /// `self × numerator / denominator`, rounded half-up (half away from zero
    /// for negative amounts) to the fen. Returns zero when `denominator` is 0.
    pub fn mul_ratio_half_up(self, numerator: i64, denominator: i64) -> Money {
        Money(div_round_half_up(
            i128::from(self.0) * i128::from(numerator),
            i128::from(denominator),
        ))
    }

    /// `self × numerator / denominator`, rounded down (towards negative
    /// infinity). Used where a limit must never be exceeded.
    pub fn mul_ratio_floor(self, numerator: i64, denominator: i64) -> Money {
        if denominator == 0 {
            return Money::ZERO;
        }
        let product = i128::from(self.0) * i128::from(numerator);
        Money(saturate(product.div_euclid(i128::from(denominator))))
    }

    /// `basis_points` / 10,000 of this amount, rounded half-up.
    pub fn percent_bp_half_up(self, basis_points: i64) -> Money {
        self.mul_ratio_half_up(basis_points, BASIS_POINTS)
    }

    /// Formats as yuan with two decimals and no currency sign: `"1234.50"`.
    pub fn to_plain_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// 100% expressed in basis points.
pub const BASIS_POINTS: i64 = 10_000;

/// Integer division rounded half away from zero; 0 when `denominator` is 0.
pub(crate) fn div_round_half_up(numerator: i128, denominator: i128) -> i64 {
    if denominator == 0 {
        return 0;
    }
    let (n, d) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    let magnitude = n.abs().saturating_mul(2).saturating_add(d) / d.saturating_mul(2);
    saturate(if n < 0 { -magnitude } else { magnitude })
}

fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

impl fmt::Display for Money {
    /// `¥1,234.50` style, with thousands separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let mut grouped = String::with_capacity(yuan.len() + yuan.len() / 3);
        for (i, c) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}¥{grouped}.{:02}", abs % 100)
    }
}

/// Why a text could not be read as an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an amount of money: {0:?} (expected yuan with at most two decimals, e.g. 12.50)")]
pub struct ParseMoneyError(pub String);

impl FromStr for Money {
    type Err = ParseMoneyError;

    /// Parses `"12"`, `"12.5"`, `"12.50"`, `"-3.00"`, optionally prefixed by
    /// `¥`, with optional `,` thousands separators.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseMoneyError(text.to_owned());
        let trimmed = text.trim();
        let (negative, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let rest = rest.strip_prefix('¥').unwrap_or(rest).replace(',', "");
        let (whole, frac) = match rest.split_once('.') {
            Some((w, f)) => (w, f),
            None => (rest.as_str(), ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(error());
        }
        let whole: i64 = whole.parse().map_err(|_| error())?;
        let frac_fen: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| error())? * 10,
            _ => frac.parse().map_err(|_| error())?,
        };
        let fen = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac_fen))
            .ok_or_else(error)?;
        Ok(Money(if negative { -fen } else { fen }))
    }
}

// The operators saturate (see the type's documentation): they must never
// panic or wrap on outside input, and bounded inputs never reach the ends.
impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.saturating_neg())
    }
}

impl Sum for Money {
    /// Sums in `i128` and saturates once at the end, so the order of the
    /// amounts never changes the result.
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(saturate(iter.map(|m| i128::from(m.0)).sum()))
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

/// Splits `total` into parts proportional to `weights` so that the parts sum
/// to exactly `total` (largest remainder method, Hamilton's method).
///
/// Each part is first rounded down; the fen left over go one each to the
/// parts with the largest fractional remainders, ties broken by position
/// (earlier first) so the result is deterministic. When every weight is zero
/// the total goes to the first part (or nowhere if there are no parts, in
/// which case the result is empty). Weights must not be negative; a negative
/// weight is treated as zero.
///
/// When `0 <= total <= sum(weights)`, no part exceeds its weight.
pub fn allocate_by_largest_remainder(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let clean: Vec<i128> = weights.iter().map(|&w| i128::from(w.max(0))).collect();
    let weight_sum: i128 = clean.iter().sum();
    let mut parts = vec![0i64; weights.len()];
    if weight_sum == 0 {
        parts[0] = total;
        return parts;
    }
    let sign: i128 = if total < 0 { -1 } else { 1 };
    let magnitude = i128::from(total).abs();
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(clean.len());
    let mut assigned: i128 = 0;
    for (i, &w) in clean.iter().enumerate() {
        let product = magnitude * w;
        let base = product / weight_sum;
        remainders.push((product % weight_sum, i));
        parts[i] = saturate(base);
        assigned += base;
    }
    let mut leftover = magnitude - assigned;
    // Largest remainder first; among equal remainders, the earlier line.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().cycle().take(clean.len() * 2) {
        if leftover == 0 {
            break;
        }
        parts[i] += 1;
        leftover -= 1;
    }
    if sign < 0 {
        for part in &mut parts {
            *part = -*part;
        }
    }
    parts
}

/// [`allocate_by_largest_remainder`] over money.
pub fn allocate_money(total: Money, weights: &[Money]) -> Vec<Money> {
    let raw: Vec<i64> = weights.iter().map(|m| m.fen()).collect();
    allocate_by_largest_remainder(total.fen(), &raw)
        .into_iter()
        .map(Money::from_fen)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_up_rounds_halves_away_from_zero() {
        assert_eq!(
            Money::from_fen(5).mul_ratio_half_up(1, 10),
            Money::from_fen(1)
        );
        assert_eq!(Money::from_fen(4).mul_ratio_half_up(1, 10), Money::ZERO);
        assert_eq!(
            Money::from_fen(-5).mul_ratio_half_up(1, 10),
            Money::from_fen(-1)
        );
        // 9.99 at 5% = 0.4995 -> 0.50
        assert_eq!(
            Money::from_fen(999).percent_bp_half_up(500),
            Money::from_fen(50)
        );
    }

    #[test]
    fn parses_and_prints_yuan() {
        assert_eq!("12.5".parse::<Money>(), Ok(Money::from_fen(1250)));
        assert_eq!("¥1,234.05".parse::<Money>(), Ok(Money::from_fen(123_405)));
        assert_eq!("-3".parse::<Money>(), Ok(Money::from_fen(-300)));
        assert!("1.234".parse::<Money>().is_err());
        assert!("abc".parse::<Money>().is_err());
        assert!("".parse::<Money>().is_err());
        assert_eq!(Money::from_fen(123_405).to_string(), "¥1,234.05");
        assert_eq!(Money::from_fen(-5).to_plain_string(), "-0.05");
    }

    #[test]
    fn deserializes_fen_integers_only_and_refuses_the_rest() {
        let read = |json: &str| serde_json::from_str::<Money>(json);
        assert_eq!(read("1250").ok(), Some(Money::from_fen(1250)));
        assert_eq!(read("-5").ok(), Some(Money::from_fen(-5)));
        assert!(read(r#""12.50""#).is_err(), "the wire has one spelling");
        assert!(
            read(r#""100""#).is_err(),
            "yuan or fen? refused, not guessed"
        );
        assert!(read("12.5").is_err(), "a float is not an amount");
        assert!(read("9223372036854775808").is_err(), "beyond i64 fen");
        assert!(read("null").is_err());
        // Inside an internally tagged enum (serde buffers its fields first).
        #[derive(Deserialize)]
        #[serde(tag = "type")]
        enum Tagged {
            Price { amount: Money },
        }
        let Ok(Tagged::Price { amount }) =
            serde_json::from_str::<Tagged>(r#"{"amount":300,"type":"Price"}"#)
        else {
            panic!("tagged amount not read");
        };
        assert_eq!(amount, Money::from_yuan(3));
        assert!(serde_json::from_str::<Tagged>(r#"{"amount":"3","type":"Price"}"#).is_err());
    }

    #[test]
    fn hand_written_files_may_say_yuan() {
        #[derive(Deserialize)]
        struct File {
            #[serde(deserialize_with = "fen_or_yuan")]
            fee: Money,
            #[serde(deserialize_with = "fen_or_yuan")]
            cap: Money,
        }
        let file: File = toml::from_str("fee = \"0.50\"\ncap = 2000").unwrap();
        assert_eq!(
            (file.fee, file.cap),
            (Money::from_fen(50), Money::from_fen(2000))
        );
        assert!(
            serde_json::from_str::<File>(r#"{"fee":"1.234","cap":1}"#).is_err(),
            "no third decimal"
        );
    }

    #[test]
    fn operators_saturate_and_checked_operations_say_when_they_would_not_fit() {
        let max = Money::from_fen(i64::MAX);
        let min = Money::from_fen(i64::MIN);
        assert_eq!(max + Money::from_fen(1), max);
        assert_eq!(min - Money::from_fen(1), min);
        assert_eq!(-min, max);
        assert_eq!(
            [max, max, Money::from_fen(5)].into_iter().sum::<Money>(),
            max
        );
        assert_eq!(
            [max, Money::from_fen(1), Money::from_fen(-2)]
                .into_iter()
                .sum::<Money>(),
            Money::from_fen(i64::MAX - 1),
            "the sum is taken whole, so order does not matter"
        );
        assert_eq!(max.checked_add(Money::from_fen(1)), None);
        assert_eq!(min.checked_sub(Money::from_fen(1)), None);
        assert_eq!(max.checked_mul(2), None);
        assert_eq!(
            Money::from_fen(2).checked_add(Money::from_fen(3)),
            Some(Money::from_fen(5))
        );
        assert_eq!(Money::from_yuan(i64::MAX), max);
        assert_eq!(max.mul_ratio_half_up(i64::MAX, 1), max);
        assert_eq!(min.mul_ratio_half_up(i64::MIN, -1), min);
    }

    #[test]
    fn largest_remainder_sums_to_total_and_favours_largest_fraction() {
        // 10 split over 3 equal weights: 4,3,3 (tie goes to the first).
        assert_eq!(allocate_by_largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        // 100 over 1:2 -> 33.33, 66.67 -> 33, 67
        assert_eq!(allocate_by_largest_remainder(100, &[1, 2]), vec![33, 67]);
        assert_eq!(
            allocate_by_largest_remainder(-10, &[1, 1, 1]),
            vec![-4, -3, -3]
        );
        assert_eq!(allocate_by_largest_remainder(7, &[0, 0]), vec![7, 0]);
        assert!(allocate_by_largest_remainder(7, &[]).is_empty());
    }
}
