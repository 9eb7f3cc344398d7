//! Request signing and the small cryptography both ends share: Ed25519
//! request signatures, sealed boxes for personal data, phone lookup keys.
//! No I/O; the clock is an argument.
//!
//! A signed request carries three headers (see PROTOCOL.md):
//! `x-tillcard-terminal`, `x-tillcard-timestamp` (Unix seconds) and
//! `x-tillcard-signature`: Ed25519 over
//! `"tillcard-v1\n" + METHOD + "\n" + path_and_query + "\n" + timestamp + "\n" + hex(sha256(body as sent))`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::wire::{TerminalId, hex};

/// Header naming the terminal.
pub const HEADER_TERMINAL: &str = "x-tillcard-terminal";
/// Header with the signing time (Unix seconds).
pub const HEADER_TIMESTAMP: &str = "x-tillcard-timestamp";
/// Header with the base64 Ed25519 signature.
pub const HEADER_SIGNATURE: &str = "x-tillcard-signature";
/// How far a request's timestamp may be from head office's clock (seconds).
pub const FRESHNESS_WINDOW_S: i64 = 300;

/// Failures of the shared cryptography.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A key or signature is not valid base64 of the right length.
    #[error("malformed key or signature")]
    Malformed,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The timestamp is outside the freshness window.
    #[error("request timestamp outside the freshness window")]
    Stale,
    /// A sealed box could not be opened or made.
    #[error("sealed box failure")]
    Seal,
}

/// The three authentication headers of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-tillcard-terminal`.
    pub terminal: String,
    /// `x-tillcard-timestamp`.
    pub timestamp: String,
    /// `x-tillcard-signature`.
    pub signature: String,
}

impl SignedHeaders {
    /// The headers as (name, value) pairs, ready to attach to a request.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (HEADER_TERMINAL, &self.terminal),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }
}

/// The bytes a terminal signs.
pub fn canonical_request(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "tillcard-v1\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        timestamp,
        hex(&Sha256::digest(body))
    )
    .into_bytes()
}

/// Signs a request: the terminal's side.
pub fn sign_request(
    key: &SigningKey,
    terminal: TerminalId,
    method: &str,
    path_and_query: &str,
    unix_now: i64,
    body: &[u8],
) -> SignedHeaders {
    let signature = key.sign(&canonical_request(method, path_and_query, unix_now, body));
    SignedHeaders {
        terminal: terminal.to_string(),
        timestamp: unix_now.to_string(),
        signature: B64.encode(signature.to_bytes()),
    }
}

/// Verifies a signed request: head office's side.
pub fn verify_request(
    public_key: &VerifyingKey,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    signature_b64: &str,
    body: &[u8],
    unix_now: i64,
) -> Result<(), AuthError> {
    // abs_diff: the timestamp comes from outside and may be any i64.
    if unix_now.abs_diff(timestamp) > FRESHNESS_WINDOW_S.unsigned_abs() {
        return Err(AuthError::Stale);
    }
    let bytes: [u8; 64] = B64
        .decode(signature_b64)
        .map_err(|_| AuthError::Malformed)?
        .try_into()
        .map_err(|_| AuthError::Malformed)?;
    public_key
        .verify(
            &canonical_request(method, path_and_query, timestamp, body),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| AuthError::BadSignature)
}

/// A fresh Ed25519 key pair from the OS generator.
pub fn generate_signing_key() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

/// Base64 of an Ed25519 public key.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    B64.encode(key.to_bytes())
}

/// Parses a base64 Ed25519 public key.
pub fn decode_public_key(b64: &str) -> Result<VerifyingKey, AuthError> {
    let bytes: [u8; 32] = decode_32(b64)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| AuthError::Malformed)
}

/// Parses 32 base64-encoded bytes.
pub fn decode_32(b64: &str) -> Result<[u8; 32], AuthError> {
    B64.decode(b64)
        .map_err(|_| AuthError::Malformed)?
        .try_into()
        .map_err(|_| AuthError::Malformed)
}

/// Base64 (standard alphabet, padded).
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// 32 random bytes from the OS generator.
pub fn random_32() -> [u8; 32] {
    use rand_core::RngCore as _;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Digits in a store's enrollment code. Codes are digits so a new till's
/// first-run screen takes them on its numeric keypad; sixteen of them
/// (10^16 codes) keep guessing hopeless even with every store of a large
/// chain holding a live code, without any rate limit.
pub const ENROLL_CODE_DIGITS: usize = 16;

/// `n` random decimal digits from the OS generator, `n` at most 64: up
/// to 16 digits from each 8 random bytes (2^64 is over 1,800 times 10^16,
/// so the modulo's bias is negligible).
pub fn random_digits(n: usize) -> String {
    let bytes = random_32();
    let mut digits = String::with_capacity(n);
    for chunk in bytes.chunks_exact(8) {
        let take = n.saturating_sub(digits.len()).min(16);
        if take == 0 {
            break;
        }
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        let draw = u64::from_le_bytes(eight) % 10u64.pow(take as u32);
        digits.push_str(&format!("{draw:0take$}"));
    }
    digits
}

/// A new enrollment code, shown in groups of four (`1234-5678-9012-3456`).
pub fn new_enroll_code() -> String {
    let digits = random_digits(ENROLL_CODE_DIGITS);
    let groups: Vec<&str> = digits
        .as_bytes()
        .chunks(4)
        .filter_map(|g| std::str::from_utf8(g).ok())
        .collect();
    groups.join("-")
}

/// The code as head office keys it: what was typed without the spaces and
/// dashes a person groups it with (`1234 5678-...` is `12345678...`).
pub fn enroll_code_key(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Seals `plaintext` to head office's X25519 public key (base64): an
/// anonymous sealed box, readable only with head office's secret key.
pub fn seal_to_hq(hq_public_b64: &str, plaintext: &str) -> Result<String, AuthError> {
    let public = crypto_box::PublicKey::from(decode_32(hq_public_b64)?);
    let sealed = public
        .seal(&mut crypto_box::aead::OsRng, plaintext.as_bytes())
        .map_err(|_| AuthError::Seal)?;
    Ok(B64.encode(sealed))
}

/// Opens a sealed box with head office's X25519 secret key.
pub fn open_sealed(hq_secret: &[u8; 32], sealed_b64: &str) -> Result<String, AuthError> {
    let secret = crypto_box::SecretKey::from(*hq_secret);
    let sealed = B64.decode(sealed_b64).map_err(|_| AuthError::Malformed)?;
    let plain = secret.unseal(&sealed).map_err(|_| AuthError::Seal)?;
    String::from_utf8(plain).map_err(|_| AuthError::Seal)
}

/// Seals `plaintext` to a terminal, readable only with that terminal's
/// signing key: an anonymous sealed box to the X25519 form of the
/// terminal's Ed25519 public key (base64, as registered at redemption).
/// Head office seals each clerk's PIN hash this way for each terminal of
/// the clerk's store, so one terminal's downlink opens on no other.
///
/// Why one key for both: the birational map from Ed25519 to X25519 keys
/// is the one libsodium ships (`crypto_sign_ed25519_pk_to_curve25519`),
/// and it spares the protocol a second key to register, store and rotate.
pub fn seal_to_terminal(terminal_public_b64: &str, plaintext: &str) -> Result<String, AuthError> {
    let montgomery = decode_public_key(terminal_public_b64)?.to_montgomery();
    let public = crypto_box::PublicKey::from(montgomery.to_bytes());
    let sealed = public
        .seal(&mut crypto_box::aead::OsRng, plaintext.as_bytes())
        .map_err(|_| AuthError::Seal)?;
    Ok(B64.encode(sealed))
}

/// Opens what [`seal_to_terminal`] sealed to this terminal's key.
pub fn open_sealed_by_terminal(
    signing_key: &SigningKey,
    sealed_b64: &str,
) -> Result<String, AuthError> {
    open_sealed(&signing_key.to_scalar_bytes(), sealed_b64)
}

/// Whether `text` is a phone number as the protocol seals it: 7 to 20 ASCII
/// digits, which may be grouped by single spaces or dashes between digits
/// as typed (`138-0013-8000`, `138 0013 8000`; a mainland mobile is its 11
/// digits, without `+86`). The lookup ([`phone_lookup`]) reads the digits
/// only, so `138-0013-8000` and `13800138000` are one phone.
pub fn is_phone(text: &str) -> bool {
    let groups: Vec<&str> = text.split([' ', '-']).collect();
    let digits: usize = groups.iter().map(|g| g.len()).sum();
    (7..=20).contains(&digits)
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
}

/// The X25519 public key (base64) of a secret key.
pub fn box_public_key(secret: &[u8; 32]) -> String {
    B64.encode(crypto_box::SecretKey::from(*secret).public_key().as_bytes())
}

/// `HMAC-SHA256(key, phone digits)`, hex: how a phone is looked up without
/// being stored. Non-digits are ignored so `138-0013-8000` = `13800138000`.
pub fn phone_lookup(key: &[u8; 32], phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(digits.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// SHA-256 hex of a string (enrollment codes are stored hashed).
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollment_codes_are_sixteen_digits_in_groups_and_key_without_them() {
        for _ in 0..100 {
            let code = new_enroll_code();
            assert_eq!(code.len(), ENROLL_CODE_DIGITS + 3, "{code}");
            let key = enroll_code_key(&code);
            assert_eq!(key.len(), ENROLL_CODE_DIGITS);
            assert!(key.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(enroll_code_key(&key.replace("", " ")), key);
        }
        assert_ne!(new_enroll_code(), new_enroll_code());
        assert_eq!(random_digits(8).len(), 8);
        assert_eq!(random_digits(19).len(), 19);
    }

    #[test]
    fn phones_are_digits_grouped_by_single_separators() {
        for phone in ["13800138000", "138-0013-8000", "138 0013 8000", "1234567"] {
            assert!(is_phone(phone), "{phone}");
        }
        for text in [
            "123456",
            "--13800138000",
            "13800138000 ",
            "138--0013",
            "+8613800138000",
            "138a0013800",
            "123456789012345678901",
            "",
        ] {
            assert!(!is_phone(text), "{text:?}");
        }
    }

    #[test]
    fn a_timestamp_of_any_i64_is_stale_not_a_panic() {
        let key = generate_signing_key();
        for timestamp in [i64::MIN, i64::MAX] {
            assert_eq!(
                verify_request(&key.verifying_key(), "GET", "/", timestamp, "", b"", 0),
                Err(AuthError::Stale)
            );
        }
    }

    #[test]
    fn signature_round_trip_and_tamper() {
        let key = generate_signing_key();
        let t = TerminalId(uuid::Uuid::nil());
        let h = sign_request(&key, t, "post", "/v1/batches", 1000, b"abc");
        let ts: i64 = h.timestamp.parse().unwrap();
        let vk = key.verifying_key();
        assert!(verify_request(&vk, "POST", "/v1/batches", ts, &h.signature, b"abc", 1010).is_ok());
        assert_eq!(
            verify_request(&vk, "POST", "/v1/batches", ts, &h.signature, b"abd", 1010),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_request(&vk, "POST", "/v1/batches", ts, &h.signature, b"abc", 2000),
            Err(AuthError::Stale)
        );
    }

    #[test]
    fn a_box_sealed_to_a_terminal_opens_with_its_signing_key_only() {
        let key = generate_signing_key();
        let other = generate_signing_key();
        let public = encode_public_key(&key.verifying_key());
        let sealed =
            seal_to_terminal(&public, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").unwrap();
        assert!(!sealed.contains("argon2id"));
        assert_eq!(
            open_sealed_by_terminal(&key, &sealed).unwrap(),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
        );
        assert!(open_sealed_by_terminal(&other, &sealed).is_err());
        assert!(seal_to_terminal("not a key", "x").is_err());
    }

    #[test]
    fn sealed_box_opens_only_with_hq_secret() {
        let secret = random_32();
        let sealed = seal_to_hq(&box_public_key(&secret), "13800138000").unwrap();
        assert!(!sealed.contains("13800138000"));
        assert_eq!(open_sealed(&secret, &sealed).unwrap(), "13800138000");
        assert!(open_sealed(&random_32(), &sealed).is_err());
    }
}
