//! The enrollment QR's text: head office's https address, the store's
//! 16-digit enrollment code and the SHA-256 of head office's TLS
//! certificate, in one line a terminal scans (or an installer pastes) so
//! that its first registration trusts that certificate and no other:
//!
//! ```text
//! TCE1:https://hq.example.cn|1234567890123456|<64 hex digits>
//! ```
//!
//! Head office formats it beside the code it shows ([`EnrollmentText::
//! to_text`]); the terminal reads it ([`EnrollmentText::parse`]). The
//! fingerprint is hex, as `openssl x509 -noout -fingerprint -sha256` shows it
//! (colons and either case accepted), so a person can compare it by eye.
//! About 130 characters: a version 7 QR code at medium error correction.

use crate::auth::ENROLL_CODE_DIGITS;

/// What the text starts with (format version 1).
pub const PREFIX: &str = "TCE1:";

/// A SHA-256 digest of a DER certificate: the pin.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertificatePin(pub [u8; 32]);

impl CertificatePin {
    /// The pin of `der` (the end-entity certificate as DER bytes).
    pub fn of_der(der: &[u8]) -> CertificatePin {
        use sha2::Digest as _;
        CertificatePin(sha2::Sha256::digest(der).into())
    }

    /// The pin of the first certificate in `file`: PEM (`-----BEGIN
    /// CERTIFICATE-----`, as a web server's certificate chain file holds
    /// it, the server's own certificate first) or DER.
    pub fn of_certificate_file(file: &[u8]) -> Option<CertificatePin> {
        use base64::Engine as _;
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let Ok(text) = std::str::from_utf8(file) else {
            return Some(CertificatePin::of_der(file));
        };
        let start = text.find(BEGIN)? + BEGIN.len();
        let end = start + text[start..].find(END)?;
        let body: String = text[start..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?;
        Some(CertificatePin::of_der(&der))
    }

    /// Lower-case hex, 64 digits.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for b in self.0 {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }

    /// Reads 64 hex digits, with or without colons between bytes.
    pub fn from_hex(text: &str) -> Option<CertificatePin> {
        let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
        if digits.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0])?;
            let lo = hex_value(pair[1])?;
            out[i] = (hi << 4) | lo;
        }
        Some(CertificatePin(out))
    }
}

impl std::fmt::Debug for CertificatePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertificatePin({})", self.to_hex())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The three things an enrollment QR carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentText {
    /// Head office's base URL (https).
    pub url: String,
    /// The store's one-time enrollment code, 16 digits.
    pub code: String,
    /// SHA-256 of head office's certificate.
    pub pin: CertificatePin,
}

/// Why a text is not an enrollment QR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollmentTextError {
    /// It does not start with `TCE1:` (another code, or a later version).
    #[error("not an enrollment code (it does not start with {PREFIX})")]
    NotEnrollment,
    /// The URL is not https.
    #[error("the enrollment code's head-office address is not https")]
    NotHttps,
    /// The code is not 16 digits.
    #[error("the enrollment code's code is not {ENROLL_CODE_DIGITS} digits")]
    BadCode,
    /// The fingerprint is not 64 hex digits.
    #[error("the enrollment code's certificate fingerprint is not 64 hex digits")]
    BadPin,
}

impl EnrollmentText {
    /// Reads `TCE1:<url>|<code>|<sha256 hex>`. Surrounding white space is
    /// ignored; the code may be grouped with spaces or dashes.
    pub fn parse(text: &str) -> Result<EnrollmentText, EnrollmentTextError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(EnrollmentTextError::NotEnrollment)?;
        // Split from the right: the URL is the part that may hold a '|'.
        let mut parts = rest.rsplitn(3, '|');
        let pin = parts.next().ok_or(EnrollmentTextError::BadPin)?;
        let code = parts.next().ok_or(EnrollmentTextError::BadCode)?;
        let url = parts.next().ok_or(EnrollmentTextError::NotHttps)?.trim();
        let pin = CertificatePin::from_hex(pin.trim()).ok_or(EnrollmentTextError::BadPin)?;
        let code: String = code.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if code.len() != ENROLL_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EnrollmentTextError::BadCode);
        }
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("https://") || lower.len() <= "https://".len() {
            return Err(EnrollmentTextError::NotHttps);
        }
        Ok(EnrollmentText {
            url: url.trim_end_matches('/').to_owned(),
            code,
            pin,
        })
    }

    /// The QR's text.
    pub fn to_text(&self) -> String {
        format!("{PREFIX}{}|{}|{}", self.url, self.code, self.pin.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back_what_head_office_wrote() {
        let text = EnrollmentText {
            url: "https://hq.example.cn".into(),
            code: "1234567890123456".into(),
            pin: CertificatePin::of_der(b"a certificate"),
        };
        let line = text.to_text();
        println!("{line} ({} characters)", line.len());
        assert!(line.len() < 140);
        assert_eq!(EnrollmentText::parse(&line), Ok(text.clone()));
        // openssl's form: upper case with colons; the code grouped.
        let openssl: Vec<String> = text.pin.0.iter().map(|b| format!("{b:02X}")).collect();
        let keyed = format!(
            "  TCE1:https://hq.example.cn/|1234-5678 9012-3456|{}\n",
            openssl.join(":")
        );
        assert_eq!(EnrollmentText::parse(&keyed), Ok(text));
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        let pin = "ab".repeat(32);
        for (line, error) in [
            (
                "1234567890123456".to_owned(),
                EnrollmentTextError::NotEnrollment,
            ),
            (
                format!("TCE2:https://h|1234567890123456|{pin}"),
                EnrollmentTextError::NotEnrollment,
            ),
            (
                format!("TCE1:http://h|1234567890123456|{pin}"),
                EnrollmentTextError::NotHttps,
            ),
            (
                format!("TCE1:1234567890123456|{pin}"),
                EnrollmentTextError::NotHttps,
            ),
            (
                format!("TCE1:https://h|123456789012345|{pin}"),
                EnrollmentTextError::BadCode,
            ),
            (
                "TCE1:https://h|1234567890123456|abcd".to_owned(),
                EnrollmentTextError::BadPin,
            ),
            (
                format!("TCE1:https://h|1234567890123456|{}zz", &pin[..62]),
                EnrollmentTextError::BadPin,
            ),
        ] {
            assert_eq!(EnrollmentText::parse(&line), Err(error.clone()), "{line}");
        }
    }
}
