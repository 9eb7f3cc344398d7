//! Member card tokens: the binary layout, what is signed, and issuing
//! (`docs/CREDENTIAL.md`). Shared so head office and terminals write the
//! same cards: a terminal signs the cards it issues at enrollment with its
//! card key; head office signs the cards it re-issues for members whose
//! card key was withdrawn. Verification stays on the terminal
//! (`src/scan/credential.rs`), which never needs a signing key.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use uuid::Uuid;

use crate::base45;

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
/// Key id of head office's card key, as written in the cards it signs
/// (`"hq-1"` in its [`crate::wire::TrustedKey`]).
pub const HQ_CARD_KEY_ID: KeyId = 1;

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

/// A card signing key with the id under which terminals trust its public
/// half.
pub struct CardSigner {
    key_id: KeyId,
    key: SigningKey,
}

impl std::fmt::Debug for CardSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("CardSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl CardSigner {
    /// A signer from a 32-byte secret seed (kept by whoever provisions keys).
    pub fn from_seed(key_id: KeyId, seed: &[u8; 32]) -> Self {
        Self {
            key_id,
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The key id written into the cards this signer issues.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public key to register with head office and push to terminals.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `message` as it is: for another kind of signed token made
    /// with the card key (a receipt, `crate::receipt`), whose own signing
    /// context the caller puts first, so that no card and no other kind
    /// can ever pass for it.
    pub(crate) fn sign_message(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.key.sign(message).to_bytes()
    }

    /// Signs a credential (its issuer is set to this signer's key id) and
    /// returns the binary token.
    pub fn sign_bytes(&self, credential: &Credential) -> Vec<u8> {
        let credential = Credential {
            issuer: self.key_id,
            ..*credential
        };
        let mut bytes = credential.body_bytes();
        let signature = self.key.sign(&signed_message(&bytes));
        bytes.extend_from_slice(&signature.to_bytes());
        bytes
    }

    /// Signs a credential and returns the text a card's QR code holds.
    pub fn issue(&self, credential: &Credential) -> String {
        let mut s = String::from(PREFIX);
        s.push_str(&base45::encode(&self.sign_bytes(credential)));
        s
    }
}
