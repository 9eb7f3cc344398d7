//! Product barcodes as the catalog keys them: EAN-13, EAN-8 and UPC-A
//! carry a mod-10 check digit, and a UPC-A code is the same GTIN as the
//! EAN-13 with a leading zero (`036000291452` and `0036000291452` are one
//! product), so both forms are keyed by their 13 digits. Code 128 carries
//! no GTIN of its own: stores use it for in-house codes, keyed by the text
//! as printed.
//!
//! A code from the wire, a CSV import or a scanner is parsed here once;
//! the catalog stores and looks up only [`ItemCode::key`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest in-house (Code 128) code accepted, in characters.
pub const MAX_IN_HOUSE_CHARS: usize = 48;

/// What kind of code a barcode carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// 13 digits (a UPC-A code is keyed as its EAN-13 form).
    Ean13,
    /// 8 digits.
    Ean8,
    /// Printable ASCII text without digits-only GTIN meaning (Code 128).
    InHouse,
}

/// A barcode's text, checked and keyed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemCode {
    kind: CodeKind,
    key: String,
}

/// Why a text is not a product code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Empty or blank.
    #[error("the code is empty")]
    Empty,
    /// 8, 12 or 13 digits whose last digit is not their check digit.
    #[error("the check digit of this {digits}-digit code is wrong")]
    CheckDigit {
        /// How many digits the code had.
        digits: usize,
    },
    /// Not printable ASCII, or too long for an in-house code.
    #[error("not a product code: only printable ASCII up to {MAX_IN_HOUSE_CHARS} characters")]
    NotACode,
}

/// The GS1 mod-10 check digit of `body` (every digit but the last).
pub(crate) fn check_digit(body: &[u8]) -> u8 {
    // From the right, weights 3, 1, 3, ...
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    // `sum % 10` is below 10, so this fits a u8.
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

fn gtin_ok(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((last, body)) => *last - b'0' == check_digit(body),
        None => false,
    }
}

impl ItemCode {
    /// Parses a scanned or typed code: 13 digits (EAN-13), 12 (UPC-A, kept
    /// as 13 with a leading zero) or 8 (EAN-8) with a correct check digit;
    /// any other printable ASCII up to [`MAX_IN_HOUSE_CHARS`] is an in-house
    /// code. Surrounding spaces are dropped.
    pub fn parse(text: &str) -> Result<ItemCode, CodeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CodeError::Empty);
        }
        let bytes = text.as_bytes();
        if bytes.iter().all(u8::is_ascii_digit) && matches!(bytes.len(), 8 | 12 | 13) {
            if !gtin_ok(bytes) {
                return Err(CodeError::CheckDigit {
                    digits: bytes.len(),
                });
            }
            return Ok(match bytes.len() {
                8 => ItemCode {
                    kind: CodeKind::Ean8,
                    key: text.to_string(),
                },
                12 => ItemCode {
                    kind: CodeKind::Ean13,
                    key: format!("0{text}"),
                },
                _ => ItemCode {
                    kind: CodeKind::Ean13,
                    key: text.to_string(),
                },
            });
        }
        if text.len() > MAX_IN_HOUSE_CHARS || !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err(CodeError::NotACode);
        }
        Ok(ItemCode {
            kind: CodeKind::InHouse,
            key: text.to_string(),
        })
    }

    /// What kind of code it is.
    pub fn kind(&self) -> CodeKind {
        self.kind
    }

    /// The text the catalog keys it by.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_upca_and_ean8_are_checked_and_keyed() {
        // A real EAN-13 (Chinese prefix 690-699).
        let ean = ItemCode::parse("6901028075831").unwrap();
        assert_eq!((ean.kind(), ean.key()), (CodeKind::Ean13, "6901028075831"));
        // UPC-A and its EAN-13 form are one key.
        let upc = ItemCode::parse("036000291452").unwrap();
        assert_eq!(upc, ItemCode::parse("0036000291452").unwrap());
        assert_eq!(upc.key(), "0036000291452");
        let ean8 = ItemCode::parse(" 96385074 ").unwrap();
        assert_eq!((ean8.kind(), ean8.key()), (CodeKind::Ean8, "96385074"));
    }

    #[test]
    fn a_wrong_check_digit_is_refused_not_taken_for_in_house() {
        assert_eq!(
            ItemCode::parse("6901028075832"),
            Err(CodeError::CheckDigit { digits: 13 })
        );
        assert_eq!(
            ItemCode::parse("036000291453"),
            Err(CodeError::CheckDigit { digits: 12 })
        );
        assert_eq!(
            ItemCode::parse("96385075"),
            Err(CodeError::CheckDigit { digits: 8 })
        );
    }

    #[test]
    fn in_house_codes_are_printable_ascii_of_bounded_length() {
        assert_eq!(
            ItemCode::parse("SKU-0042").unwrap().kind(),
            CodeKind::InHouse
        );
        // Digits of another length are an in-house code too.
        assert_eq!(ItemCode::parse("12345").unwrap().kind(), CodeKind::InHouse);
        assert_eq!(ItemCode::parse("  "), Err(CodeError::Empty));
        assert_eq!(ItemCode::parse("商品"), Err(CodeError::NotACode));
        assert_eq!(ItemCode::parse(&"A".repeat(49)), Err(CodeError::NotACode));
    }

    #[test]
    fn every_single_digit_error_of_an_ean13_is_caught() {
        // The mod-10 check catches every single-digit substitution.
        let good = b"6901028075831";
        for i in 0..good.len() {
            for d in b'0'..=b'9' {
                if d == good[i] {
                    continue;
                }
                let mut bad = *good;
                bad[i] = d;
                let text = std::str::from_utf8(&bad).unwrap();
                assert!(ItemCode::parse(text).is_err(), "{text} passed");
            }
        }
    }
}
