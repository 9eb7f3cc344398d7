//! Product barcodes (issue 24): what an item's code is once read, however it
//! was read (a camera frame through [`crate::scan::decode::barcode`], or a
//! keyboard-wedge scanner's text through [`classify_wedge_text`]).
//!
//! Four symbologies are accepted, the ones on goods in a store: EAN-13,
//! EAN-8, UPC-A and Code 128. EAN and UPC codes end in a check digit (the
//! digits weighted 3 and 1 from the right, summed, and the check digit
//! making the sum a multiple of 10); a code whose check digit does not
//! match is never a [`ProductCode`]. Code 128 carries its own checksum
//! inside the bars (the reader checks it); its text must be non-empty
//! printable ASCII. Nothing here knows about members: a member card's QR
//! code is never a product code.

use std::fmt;

/// The barcode symbologies the terminal reads on goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbology {
    /// EAN-13 (13 digits; also JAN, ISBN-13, GTIN-13).
    Ean13,
    /// EAN-8 (8 digits, small packages).
    Ean8,
    /// UPC-A (12 digits; North American goods).
    UpcA,
    /// Code 128 (printable ASCII; shelf labels, in-store codes, GS1-128).
    Code128,
}

impl Symbology {
    /// Every symbology, in the order declared.
    pub const ALL: [Symbology; 4] = [Self::Ean13, Self::Ean8, Self::UpcA, Self::Code128];

    /// Short stable name for reports and logs (`ean13`, `ean8`, `upca`,
    /// `code128`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ean13 => "ean13",
            Self::Ean8 => "ean8",
            Self::UpcA => "upca",
            Self::Code128 => "code128",
        }
    }

    /// The number of digits of an EAN/UPC code; `None` for Code 128.
    pub fn digit_count(self) -> Option<usize> {
        match self {
            Self::Ean13 => Some(13),
            Self::Ean8 => Some(8),
            Self::UpcA => Some(12),
            Self::Code128 => None,
        }
    }
}

impl fmt::Display for Symbology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest Code 128 text accepted (a full shelf label's GS1-128 string
/// is about 48 characters; longer texts are not item codes).
pub const CODE128_MAX_LEN: usize = 80;

/// Why a text is not a valid product code of a symbology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProductCodeError {
    /// Not the symbology's number of digits, or not only digits.
    #[error("{0} needs exactly its number of digits")]
    WrongDigits(Symbology),
    /// The last digit is not the check digit of the others.
    #[error("{0} check digit does not match")]
    BadCheckDigit(Symbology),
    /// Code 128 text empty, too long, or with a character outside
    /// printable ASCII.
    #[error("code128 text must be 1 to {CODE128_MAX_LEN} printable ASCII characters")]
    BadText,
}

/// A product code as read from a barcode: its symbology and its text
/// (digits for EAN/UPC, with the check digit). Made only through
/// [`ProductCode::new`], so a value always passed its checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductCode {
    symbology: Symbology,
    text: String,
}

impl ProductCode {
    /// A checked product code: EAN/UPC must be all digits, of the right
    /// count, with a matching check digit; Code 128 non-empty printable
    /// ASCII of at most [`CODE128_MAX_LEN`] characters.
    pub fn new(symbology: Symbology, text: &str) -> Result<Self, ProductCodeError> {
        match symbology.digit_count() {
            Some(n) => {
                if text.len() != n || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ProductCodeError::WrongDigits(symbology));
                }
                if !check_digit_matches(text) {
                    return Err(ProductCodeError::BadCheckDigit(symbology));
                }
            }
            None => {
                let printable = text.bytes().all(|b| (b' '..=b'~').contains(&b));
                if text.is_empty() || text.len() > CODE128_MAX_LEN || !printable {
                    return Err(ProductCodeError::BadText);
                }
            }
        }
        Ok(Self {
            symbology,
            text: text.to_owned(),
        })
    }

    /// The symbology it was read as.
    pub fn symbology(&self) -> Symbology {
        self.symbology
    }

    /// The code's text (EAN/UPC: all its digits, check digit included).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 13-digit GTIN of an EAN-13 or UPC-A code (a UPC-A is the EAN-13
    /// with a leading 0: the same product whichever way it was printed or
    /// read), for catalog look-ups; `None` for EAN-8 and Code 128.
    pub fn gtin13(&self) -> Option<String> {
        match self.symbology {
            Symbology::Ean13 => Some(self.text.clone()),
            Symbology::UpcA => Some(format!("0{}", self.text)),
            Symbology::Ean8 | Symbology::Code128 => None,
        }
    }
}

impl fmt::Display for ProductCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.symbology, self.text)
    }
}

/// The GS1 check digit of `payload` (the digits before the check digit):
/// weights 3, 1, 3, ... from the rightmost payload digit, and the digit
/// that brings the sum to a multiple of 10. `None` if a character is not a
/// digit.
pub fn gs1_check_digit(payload: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, b) in payload.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 { 3 * d } else { d };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether the last digit of `digits` is the GS1 check digit of the rest.
pub fn check_digit_matches(digits: &str) -> bool {
    let Some((payload, last)) = digits.len().checked_sub(1).map(|n| digits.split_at(n)) else {
        return false;
    };
    let last = last.bytes().next().filter(u8::is_ascii_digit);
    match (gs1_check_digit(payload), last) {
        (Some(want), Some(got)) => want == got - b'0',
        _ => false,
    }
}

/// What a keyboard-wedge scanner's text is as a product code, if it is one.
///
/// Wedge scanners type the code's text, and nothing says which symbology it
/// was unless the scanner is set to send an AIM symbology identifier
/// (ISO/IEC 15424) before it, which is honoured when present: `]E0`
/// EAN-13 or UPC-A, `]E4` EAN-8, `]C0` Code 128 (`]C1`, GS1-128, is taken
/// when its text is printable). Any other identifier (`]Q1` for QR...)
/// means the text is no product barcode. Without an identifier:
/// - 13 digits with a valid check digit: EAN-13; 12: UPC-A; 8: EAN-8;
/// - other texts are not product codes: a member card token, a URL or a
///   number of another length may as well come from a QR code, and
///   guessing would turn a member's code into an item. Scanners that read
///   Code 128 labels must be set to send AIM identifiers (`]C0`).
///
/// Digits of those lengths whose check digit fails are not product codes
/// either (a misread, or a number that is no barcode).
pub fn classify_wedge_text(text: &str) -> Option<ProductCode> {
    let text = text.trim_end_matches(['\r', '\n']);
    let Some(rest) = text.strip_prefix(']') else {
        return digits_by_length(text);
    };
    let (id, code) = rest.split_at_checked(2)?;
    match id {
        "E0" => digits_by_length(code),
        "E4" => ProductCode::new(Symbology::Ean8, code).ok(),
        "C0" | "C1" => ProductCode::new(Symbology::Code128, code).ok(),
        _ => None,
    }
}

/// EAN-13, UPC-A or EAN-8 told by the number of digits, check digit valid.
fn digits_by_length(code: &str) -> Option<ProductCode> {
    let symbology = match code.len() {
        13 => Symbology::Ean13,
        12 => Symbology::UpcA,
        8 => Symbology::Ean8,
        _ => return None,
    };
    ProductCode::new(symbology, code).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_check_digits_of_known_codes() {
        // Worked examples from GS1's check digit calculator.
        assert_eq!(gs1_check_digit("400638133393"), Some(1));
        assert_eq!(gs1_check_digit("9638507"), Some(4));
        assert_eq!(gs1_check_digit("03600029145"), Some(2));
        assert_eq!(gs1_check_digit("12a"), None);
        assert!(check_digit_matches("4006381333931"));
        assert!(!check_digit_matches("4006381333932"));
        assert!(!check_digit_matches(""));
    }

    #[test]
    fn product_codes_are_checked_on_creation() {
        assert!(ProductCode::new(Symbology::Ean13, "4006381333931").is_ok());
        assert_eq!(
            ProductCode::new(Symbology::Ean13, "4006381333932"),
            Err(ProductCodeError::BadCheckDigit(Symbology::Ean13))
        );
        assert_eq!(
            ProductCode::new(Symbology::UpcA, "4006381333931"),
            Err(ProductCodeError::WrongDigits(Symbology::UpcA))
        );
        assert!(ProductCode::new(Symbology::Ean8, "96385074").is_ok());
        assert!(ProductCode::new(Symbology::UpcA, "036000291452").is_ok());
        assert!(ProductCode::new(Symbology::Code128, "ABC-123 x").is_ok());
        for bad in ["", "tab\there", "ü", &"x".repeat(CODE128_MAX_LEN + 1)] {
            assert_eq!(
                ProductCode::new(Symbology::Code128, bad),
                Err(ProductCodeError::BadText),
                "{bad:?}"
            );
        }
    }

    fn wedge(text: &str) -> Option<(Symbology, String)> {
        classify_wedge_text(text).map(|c| (c.symbology(), c.text().to_owned()))
    }

    #[test]
    fn wedge_digits_are_classified_by_length_and_check_digit() {
        assert_eq!(
            wedge("4006381333931"),
            Some((Symbology::Ean13, "4006381333931".into()))
        );
        assert_eq!(
            wedge("036000291452"),
            Some((Symbology::UpcA, "036000291452".into()))
        );
        assert_eq!(
            wedge("96385074"),
            Some((Symbology::Ean8, "96385074".into()))
        );
        assert_eq!(wedge("4006381333932"), None, "check digit fails");
        assert_eq!(wedge("1234567"), None, "no symbology has 7 digits");
        assert_eq!(
            wedge("TC1:ABCDEF"),
            None,
            "member tokens stay member tokens"
        );
        assert_eq!(wedge("https://example.com/"), None);
    }

    #[test]
    fn aim_identifiers_name_the_symbology() {
        assert_eq!(
            wedge("]C0SHELF-0042"),
            Some((Symbology::Code128, "SHELF-0042".into()))
        );
        assert_eq!(
            wedge("]E04006381333931"),
            Some((Symbology::Ean13, "4006381333931".into()))
        );
        assert_eq!(
            wedge("]E496385074"),
            Some((Symbology::Ean8, "96385074".into()))
        );
        assert_eq!(wedge("]Q1TC1:ABC"), None, "a QR code is no product code");
        assert_eq!(wedge("]C0"), None, "empty Code 128");
        assert_eq!(wedge("]E04006381333932"), None);
    }
}
