//! Member credentials: the signed token a member card's QR code holds, and its
//! offline verification against trusted keys and a revocation list.
//!
//! The format is specified in `docs/CREDENTIAL.md`; keep the two in step.
//! This module only verifies: it never sees a signing key (see
//! [`crate::scan::signer`] for issuing cards).

use std::collections::{HashMap, HashSet};

use ed25519_dalek::{Signature, VerifyingKey};
use uuid::Uuid;

use crate::scan::base45;

pub use tillcard_protocol::card::{
    BODY_LEN_MIN, Credential, FLAG_VALID_UNTIL, KeyId, PREFIX, SIGNATURE_LEN, SIGNING_CONTEXT,
    VERSION_1, signed_message,
};

/// A token split into its fields; the signature is not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedToken {
    /// The claimed content.
    pub credential: Credential,
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl ParsedToken {
    /// The token's binary form: the signed body, then the signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.body.len() + SIGNATURE_LEN);
        bytes.extend_from_slice(&self.body);
        bytes.extend_from_slice(&self.signature);
        bytes
    }

    /// The token as a card's QR code holds it ([`PREFIX`] and Base45),
    /// which [`parse_token`] reads back to this token.
    pub fn render(&self) -> String {
        format!("{PREFIX}{}", base45::encode(&self.to_bytes()))
    }
}

/// Why a text is not a well-formed Tillcard token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text does not start with [`PREFIX`]: some other code.
    #[error("not a Tillcard member code")]
    NotTillcard,
    /// The prefix is there but the rest is not valid Base45.
    #[error("member code damaged (bad characters)")]
    BadEncoding,
    /// A layout version this terminal does not know.
    #[error("member code of unknown version {0}")]
    UnsupportedVersion(u8),
    /// Wrong length or unknown flags for the version.
    #[error("member code damaged (bad layout)")]
    Malformed,
}

/// Splits a token text into its fields. Accepts lower case (some keyboard
/// wedge scanners type with caps lock inverted) and ignores surrounding
/// whitespace such as the CR/LF a scanner appends.
pub fn parse_token(text: &str) -> Result<ParsedToken, ParseError> {
    let text = text.trim_matches(|c: char| c == '\r' || c == '\n' || c == '\t');
    let head = text.get(..PREFIX.len()).ok_or(ParseError::NotTillcard)?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return Err(ParseError::NotTillcard);
    }
    let rest = &text[PREFIX.len()..];
    let bytes = if rest.bytes().any(|c| c.is_ascii_lowercase()) {
        base45::decode(&rest.to_ascii_uppercase())
    } else {
        base45::decode(rest)
    }
    .map_err(|_| ParseError::BadEncoding)?;
    parse_bytes(&bytes)
}

/// Splits the binary form of a token into its fields.
pub fn parse_bytes(bytes: &[u8]) -> Result<ParsedToken, ParseError> {
    let version = *bytes.first().ok_or(ParseError::Malformed)?;
    if version != VERSION_1 {
        return Err(ParseError::UnsupportedVersion(version));
    }
    let flags = *bytes.get(1).ok_or(ParseError::Malformed)?;
    if flags & !FLAG_VALID_UNTIL != 0 {
        return Err(ParseError::Malformed);
    }
    let body_len = BODY_LEN_MIN + if flags & FLAG_VALID_UNTIL != 0 { 4 } else { 0 };
    if bytes.len() != body_len + SIGNATURE_LEN {
        return Err(ParseError::Malformed);
    }
    let (body, sig) = bytes.split_at(body_len);
    let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&body[4..20]);
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(sig);
    Ok(ParsedToken {
        credential: Credential {
            issuer: u16_at(2),
            member_id: Uuid::from_bytes(id),
            card_serial: u16_at(20),
            issued_at: u32_at(22),
            valid_until: (flags & FLAG_VALID_UNTIL != 0).then(|| u32_at(26)),
        },
        body: body.to_vec(),
        signature,
    })
}

/// What head office certified a key for (Unix seconds, each bound
/// optional): a card is honoured only when its `issued_at` is in
/// `[valid_from, valid_until)` and, once the key was withdrawn, at or before
/// `revoked_at` (`docs/CREDENTIAL.md`, "Keys").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyWindow {
    /// First `issued_at` accepted.
    pub valid_from: Option<u64>,
    /// First `issued_at` refused.
    pub valid_until: Option<u64>,
    /// When the key was withdrawn: a later `issued_at` is refused.
    pub revoked_at: Option<u64>,
}

impl KeyWindow {
    /// Whether a card issued at `issued_at` is inside the certified window
    /// (withdrawal aside).
    pub fn certifies(&self, issued_at: u32) -> bool {
        let at = u64::from(issued_at);
        self.valid_from.is_none_or(|from| at >= from)
            && self.valid_until.is_none_or(|until| at < until)
    }

    /// Whether a card issued at `issued_at` was signed after the key was
    /// withdrawn.
    pub fn withdrawn_at_issue(&self, issued_at: u32) -> bool {
        self.revoked_at
            .is_some_and(|revoked| u64::from(issued_at) > revoked)
    }
}

/// Public keys this terminal trusts, by key id (pushed down by head office),
/// each with the window head office certified it for.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: HashMap<KeyId, (VerifyingKey, KeyWindow)>,
}

impl TrustedKeys {
    /// An empty set: every card is refused as forged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for cards that name `id` as issuer, without a window
    /// (replaces any old key).
    pub fn insert(&mut self, id: KeyId, key: VerifyingKey) {
        self.keys.insert(id, (key, KeyWindow::default()));
    }

    /// Trusts `key` for cards that name `id` as issuer within `window`
    /// (replaces any old key).
    pub fn insert_with_window(&mut self, id: KeyId, key: VerifyingKey, window: KeyWindow) {
        self.keys.insert(id, (key, window));
    }

    /// Trusts the raw 32-byte Ed25519 public key; refuses bytes that are not
    /// a valid curve point.
    pub fn insert_bytes(&mut self, id: KeyId, key: &[u8; 32]) -> Result<(), KeyError> {
        let key = VerifyingKey::from_bytes(key).map_err(|_| KeyError)?;
        self.insert(id, key);
        Ok(())
    }

    /// Stops trusting a key id.
    pub fn remove(&mut self, id: KeyId) {
        self.keys.remove(&id);
    }

    /// The key trusted for `id`, if any.
    pub fn get(&self, id: KeyId) -> Option<&VerifyingKey> {
        self.keys.get(&id).map(|(key, _)| key)
    }

    /// The window `id` is trusted for, if it is trusted.
    pub fn window(&self, id: KeyId) -> Option<KeyWindow> {
        self.keys.get(&id).map(|(_, window)| *window)
    }

    /// Whether `id` is trusted.
    pub fn contains(&self, id: KeyId) -> bool {
        self.keys.contains_key(&id)
    }
}

/// Bytes that are not an Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid Ed25519 public key")]
pub struct KeyError;

/// Revoked members and revoked single cards (pushed down by head office).
#[derive(Debug, Clone, Default)]
pub struct RevocationList {
    members: HashSet<Uuid>,
    cards: HashSet<(Uuid, u16)>,
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revokes every card of a member (erased or banned member).
    pub fn revoke_member(&mut self, member_id: Uuid) {
        self.members.insert(member_id);
    }

    /// Revokes one card of a member (lost phone, re-issued card).
    pub fn revoke_card(&mut self, member_id: Uuid, card_serial: u16) {
        self.cards.insert((member_id, card_serial));
    }

    /// Whether this credential is revoked.
    pub fn is_revoked(&self, c: &Credential) -> bool {
        self.members.contains(&c.member_id) || self.cards.contains(&(c.member_id, c.card_serial))
    }
}

/// Why a well-formed token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The issuer key id is not trusted here.
    #[error("card signed by an unknown key {0}")]
    UnknownIssuer(KeyId),
    /// The signature does not match the content.
    #[error("card signature invalid")]
    BadSignature,
    /// The card's `issued_at` is outside the window head office certified
    /// its key for.
    #[error("card issued outside its key's certified window")]
    OutsideKeyWindow,
    /// The card was signed after its key was withdrawn (its terminal
    /// revoked).
    #[error("card signed by a withdrawn key after its withdrawal")]
    KeyWithdrawn,
    /// The member or this card is on the revocation list.
    #[error("card revoked")]
    Revoked,
    /// `valid_until` has passed.
    #[error("card expired")]
    Expired,
}

/// Checks tokens offline: signature by a trusted key, then revocation, then
/// expiry.
#[derive(Debug, Clone, Default)]
pub struct CardVerifier {
    /// Keys trusted as issuers.
    pub keys: TrustedKeys,
    /// Revoked members and cards.
    pub revoked: RevocationList,
}

impl CardVerifier {
    /// A verifier over these keys and revocations.
    pub fn new(keys: TrustedKeys, revoked: RevocationList) -> Self {
        Self { keys, revoked }
    }

    /// Verifies a parsed token at time `now_unix` (seconds).
    pub fn verify(&self, token: &ParsedToken, now_unix: u64) -> Result<Credential, VerifyError> {
        let c = token.credential;
        let (key, window) = self
            .keys
            .keys
            .get(&c.issuer)
            .ok_or(VerifyError::UnknownIssuer(c.issuer))?;
        let signature = Signature::from_bytes(&token.signature);
        key.verify_strict(&signed_message(&token.body), &signature)
            .map_err(|_| VerifyError::BadSignature)?;
        if !window.certifies(c.issued_at) {
            return Err(VerifyError::OutsideKeyWindow);
        }
        if window.withdrawn_at_issue(c.issued_at) {
            return Err(VerifyError::KeyWithdrawn);
        }
        if self.revoked.is_revoked(&c) {
            return Err(VerifyError::Revoked);
        }
        if let Some(until) = c.valid_until
            && now_unix >= u64::from(until)
        {
            return Err(VerifyError::Expired);
        }
        Ok(c)
    }
}
