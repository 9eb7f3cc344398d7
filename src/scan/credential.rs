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

/// Text every Tillcard member code starts with (QR alphanumeric characters).
pub const PREFIX: &str = "TC1:";
/// The binary layout version this code writes and reads.
pub const VERSION_1: u8 = 1;
/// Flag bit: a `valid_until` field follows `issued_at`.
pub const FLAG_VALID_UNTIL: u8 = 0b0000_0001;
/// Length of the Ed25519 signature at the end of the token.
pub const SIGNATURE_LEN: usize = 64;
/// Length of the signed body without `valid_until`.
pub const BODY_LEN_MIN: usize = 26;
/// Domain separation: prepended to the body before signing, so a signature
/// made for anything else with the same key can never pass as a card.
pub const SIGNING_CONTEXT: &[u8] = b"tillcard/member-card/v1\0";

/// Identifier of a signing key: head office's or a registered terminal's.
pub type KeyId = u16;

/// What a member card asserts, before or after its signature is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Credential {
    /// The member (UUID, 16 bytes on the card).
    pub member_id: Uuid,
    /// Card number for this member, raised on each re-issue, so one lost card
    /// can be revoked without revoking the member.
    pub card_serial: u16,
    /// Key that signed the card.
    pub issuer: KeyId,
    /// Issue time, Unix seconds.
    pub issued_at: u32,
    /// Optional end of validity, Unix seconds (the card is refused from then).
    pub valid_until: Option<u32>,
}

impl Credential {
    /// The bytes that are signed after [`SIGNING_CONTEXT`] and that start the
    /// token: version, flags, issuer, member id, serial, times.
    pub fn body_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(BODY_LEN_MIN + 4);
        b.push(VERSION_1);
        b.push(if self.valid_until.is_some() {
            FLAG_VALID_UNTIL
        } else {
            0
        });
        b.extend_from_slice(&self.issuer.to_be_bytes());
        b.extend_from_slice(self.member_id.as_bytes());
        b.extend_from_slice(&self.card_serial.to_be_bytes());
        b.extend_from_slice(&self.issued_at.to_be_bytes());
        if let Some(until) = self.valid_until {
            b.extend_from_slice(&until.to_be_bytes());
        }
        b
    }
}

/// The message an issuer signs for a card body.
pub fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + body.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(body);
    m
}

/// A token split into its fields; the signature is not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedToken {
    /// The claimed content.
    pub credential: Credential,
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
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

/// Public keys this terminal trusts, by key id (pushed down by head office).
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: HashMap<KeyId, VerifyingKey>,
}

impl TrustedKeys {
    /// An empty set: every card is refused as forged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for cards that name `id` as issuer (replaces any old key).
    pub fn insert(&mut self, id: KeyId, key: VerifyingKey) {
        self.keys.insert(id, key);
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
        self.keys.get(&id)
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
        let key = self
            .keys
            .get(c.issuer)
            .ok_or(VerifyError::UnknownIssuer(c.issuer))?;
        let signature = Signature::from_bytes(&token.signature);
        key.verify_strict(&signed_message(&token.body), &signature)
            .map_err(|_| VerifyError::BadSignature)?;
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
