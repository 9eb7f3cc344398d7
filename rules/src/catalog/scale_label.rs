//! Scale labels: the barcodes a store's own scale prints on fresh goods it
//! weighs in the back room (称重条码). They are EAN-13 codes in GS1's
//! restricted-circulation range (first digit 2, "for use within a
//! company"): a prefix the chain programs its scales with, the item's PLU
//! (the scale's item number), the weight in grams, and the check digit.
//!
//! ```text
//!  2  00731  01234  5      prefix "2", 5-digit PLU, weight 1.234 kg
//!  ^  ^^^^^  ^^^^^  ^
//!  |  PLU    grams  check digit
//!  prefix
//! ```
//!
//! The PLU names the catalog item by its SKU; the weight is the line's
//! quantity, priced at the item's shelf or member price per kilogram as if
//! it had been keyed. Labels with the price printed in the code instead of
//! the weight are not read: a member's price per kilogram needs the weight.
//!
//! The format is the chain's (its scales are all programmed alike); a code
//! that does not start with its prefix is an ordinary barcode.

use super::barcode::{CodeKind, ItemCode};

/// The shortest and longest PLU a format may have.
pub const PLU_DIGITS: std::ops::RangeInclusive<usize> = 4..=6;

/// How the chain's scales lay out a label's 13 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleLabelFormat {
    prefix: String,
    plu_digits: usize,
}

/// What a scale label says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleLabel {
    /// The PLU as printed (with its leading zeros).
    pub plu: String,
    /// The weight in grams (at least 1).
    pub grams: i64,
}

/// Why a scale-label format cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleFormatError {
    /// The prefix is not "2" or "20" to "29".
    #[error("the prefix must be 2, or 20 to 29 (GS1's in-store range): got {0:?}")]
    Prefix(String),
    /// The PLU's length is outside 4 to 6 digits.
    #[error("a PLU has 4 to 6 digits: got {0}")]
    PluDigits(usize),
}

impl ScaleLabelFormat {
    /// The format with `prefix` then a PLU of `plu_digits` digits; the
    /// weight takes the digits left before the check digit (at least 4,
    /// up to 9.999 kg or more).
    pub fn new(prefix: &str, plu_digits: usize) -> Result<ScaleLabelFormat, ScaleFormatError> {
        let in_store = prefix.starts_with('2')
            && (1..=2).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_digit());
        if !in_store {
            return Err(ScaleFormatError::Prefix(prefix.to_owned()));
        }
        if !PLU_DIGITS.contains(&plu_digits) {
            return Err(ScaleFormatError::PluDigits(plu_digits));
        }
        Ok(ScaleLabelFormat {
            prefix: prefix.to_owned(),
            plu_digits,
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Digits of the PLU.
    pub fn plu_digits(&self) -> usize {
        self.plu_digits
    }

    /// Digits of the weight: what is left of the 12 before the check digit.
    pub fn weight_digits(&self) -> usize {
        12 - self.prefix.len() - self.plu_digits
    }

    /// The label `code` is, if it is one of this format: an EAN-13 (check
    /// digit already verified by [`ItemCode::parse`]) with the prefix and a
    /// weight of at least one gram.
    pub fn read(&self, code: &ItemCode) -> Option<ScaleLabel> {
        if code.kind() != CodeKind::Ean13 {
            return None;
        }
        let digits = code.key();
        let rest = digits.strip_prefix(self.prefix.as_str())?;
        let (plu, rest) = rest.split_at_checked(self.plu_digits)?;
        let weight = rest.get(..self.weight_digits())?;
        let grams: i64 = weight.parse().ok()?;
        (grams > 0).then(|| ScaleLabel {
            plu: plu.to_owned(),
            grams,
        })
    }
}

impl ScaleLabel {
    /// The SKUs the PLU may be catalogued under, most exact first: as
    /// printed, then without its leading zeros (scales pad the PLU; a
    /// catalog may not).
    pub fn skus(&self) -> Vec<String> {
        let mut skus = vec![self.plu.clone()];
        let bare = self.plu.trim_start_matches('0');
        if !bare.is_empty() && bare != self.plu {
            skus.push(bare.to_owned());
        }
        skus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> ItemCode {
        ItemCode::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// `body` (12 digits) with its check digit.
    fn label(body: &str) -> ItemCode {
        let check = crate::catalog::barcode::check_digit(body.as_bytes());
        code(&format!("{body}{check}"))
    }

    #[test]
    fn worked_examples_of_the_common_layouts() {
        // Prefix 2, 5-digit PLU, 6 digits of grams: 00731 at 1.234 kg.
        let five = ScaleLabelFormat::new("2", 5).unwrap();
        assert_eq!(five.weight_digits(), 6);
        assert_eq!(
            five.read(&label("200731001234")),
            Some(ScaleLabel {
                plu: "00731".into(),
                grams: 1234
            })
        );
        // Prefix 21, 5-digit PLU, 5 digits of grams: 12345 at 0.250 kg.
        let two = ScaleLabelFormat::new("21", 5).unwrap();
        assert_eq!(two.weight_digits(), 5);
        assert_eq!(
            two.read(&label("211234500250")),
            Some(ScaleLabel {
                plu: "12345".into(),
                grams: 250
            })
        );
        // Prefix 2, 6-digit PLU.
        let six = ScaleLabelFormat::new("2", 6).unwrap();
        assert_eq!(
            six.read(&label("200000701500")).map(|l| (l.plu, l.grams)),
            Some(("000007".into(), 1500))
        );
    }

    #[test]
    fn codes_that_are_not_labels_of_the_format_are_ordinary_barcodes() {
        let format = ScaleLabelFormat::new("21", 5).unwrap();
        // Another prefix, a GTIN, an EAN-8, an in-house code.
        assert_eq!(format.read(&label("221234500250")), None);
        assert_eq!(format.read(&code("6901028075831")), None);
        assert_eq!(format.read(&code("96385074")), None);
        assert_eq!(format.read(&code("SHELF-21123")), None);
        // No weight printed.
        assert_eq!(format.read(&label("211234500000")), None);
    }

    #[test]
    fn formats_outside_the_in_store_range_are_refused() {
        for prefix in ["", "3", "12", "200", "2a", "02"] {
            assert_eq!(
                ScaleLabelFormat::new(prefix, 5),
                Err(ScaleFormatError::Prefix(prefix.into())),
                "{prefix:?}"
            );
        }
        assert_eq!(
            ScaleLabelFormat::new("2", 3),
            Err(ScaleFormatError::PluDigits(3))
        );
        assert_eq!(
            ScaleLabelFormat::new("29", 7),
            Err(ScaleFormatError::PluDigits(7))
        );
        // The widest layout still leaves four digits of weight.
        assert_eq!(ScaleLabelFormat::new("29", 6).unwrap().weight_digits(), 4);
    }

    #[test]
    fn a_padded_plu_is_looked_up_as_printed_then_without_its_zeros() {
        let l = ScaleLabel {
            plu: "00731".into(),
            grams: 1,
        };
        assert_eq!(l.skus(), vec!["00731".to_string(), "731".to_string()]);
        let bare = ScaleLabel {
            plu: "12345".into(),
            grams: 1,
        };
        assert_eq!(bare.skus(), vec!["12345".to_string()]);
        let zeros = ScaleLabel {
            plu: "0000".into(),
            grams: 1,
        };
        assert_eq!(zeros.skus(), vec!["0000".to_string()]);
    }
}
