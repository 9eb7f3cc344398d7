//! Head office's signatures on the downlink changes that carry trust: the
//! program, trusted card keys (and their withdrawal), card revocations and
//! staff. Head office signs each such [`Change`] with its downlink key (a
//! key of its own purpose) as it sends it; the terminal pinned the public
//! half at registration ([`crate::wire::Provisioned::downlink_key`]) and
//! applies such a change only when the signature verifies.
//!
//! What is signed (`sync/PROTOCOL.md`, "Signed changes"):
//!
//! ```text
//! "tillcard/downlink-change/v1\0" || terminal id (36 characters) || "\0"
//!     || canonical JSON of the change without its `signature`
//! ```
//!
//! Canonical JSON is serde_json's text of the change as a JSON tree (object
//! keys sorted, no whitespace), the same form an outbox event's content
//! hash is taken over. The receiving terminal's id is inside the signature,
//! so a change signed for one terminal (a clerk's PIN hash sealed to it)
//! cannot be replayed to another.
//!
//! The changes every terminal receives alike (program, trusted key,
//! revocation: [`Change::is_chain_wide`]) are signed once for the whole
//! chain instead (issue 23): every terminal's card key is a `trusted_key`,
//! so signing each for each terminal cost head office one signature per
//! terminal per terminal of the chain.
//!
//! ```text
//! "tillcard/downlink-change/v2-chain\0" || canonical JSON of the change
//!     without its `signature`
//! ```
//!
//! A terminal accepts either form for those kinds (head offices before v2
//! sign them per terminal); staff changes keep the terminal's id.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::wire::{Change, TerminalId};

/// Domain separation of downlink signatures.
pub const CHANGE_CONTEXT: &[u8] = b"tillcard/downlink-change/v1\0";

/// Domain separation of the chain-wide downlink signatures.
pub const CHAIN_CHANGE_CONTEXT: &[u8] = b"tillcard/downlink-change/v2-chain\0";

/// Why a trust-bearing change is not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefusal {
    /// The change carries no signature.
    #[error("unsigned")]
    Missing,
    /// The signature is not base64 of 64 bytes.
    #[error("malformed signature")]
    Malformed,
    /// The signature does not verify for this terminal.
    #[error("signature does not verify")]
    BadSignature,
}

impl ChangeRefusal {
    /// A stable code for logs and counts.
    pub fn code(self) -> &'static str {
        match self {
            ChangeRefusal::Missing => "unsigned",
            ChangeRefusal::Malformed => "malformed_signature",
            ChangeRefusal::BadSignature => "bad_signature",
        }
    }
}

impl Change {
    /// Whether head office signs this kind of change: program, trusted key,
    /// revocation, staff (member snapshots, coupons and erasures are not).
    pub fn is_trust_bearing(&self) -> bool {
        self.signature_ref().is_some()
    }

    /// Whether this trust-bearing change is the same for every terminal
    /// (program, trusted key, revocation): signed once for the chain
    /// ([`chain_signed_bytes`]) rather than for each terminal.
    pub fn is_chain_wide(&self) -> bool {
        matches!(
            self,
            Change::Program { .. } | Change::TrustedKey { .. } | Change::Revocation { .. }
        )
    }

    /// The change's signature field, for the kinds that have one.
    fn signature_ref(&self) -> Option<&Option<String>> {
        match self {
            Change::Program { signature, .. }
            | Change::Revocation { signature, .. }
            | Change::TrustedKey { signature, .. }
            | Change::Staff { signature, .. }
            | Change::StaffRemoved { signature, .. } => Some(signature),
            Change::Member { .. }
            | Change::Coupon { .. }
            | Change::Erasure { .. }
            | Change::Forget { .. }
            | Change::Item { .. } => None,
        }
    }

    fn signature_mut(&mut self) -> Option<&mut Option<String>> {
        match self {
            Change::Program { signature, .. }
            | Change::Revocation { signature, .. }
            | Change::TrustedKey { signature, .. }
            | Change::Staff { signature, .. }
            | Change::StaffRemoved { signature, .. } => Some(signature),
            Change::Member { .. }
            | Change::Coupon { .. }
            | Change::Erasure { .. }
            | Change::Forget { .. }
            | Change::Item { .. } => None,
        }
    }

    /// The signature head office put on this change, if any.
    pub fn signature(&self) -> Option<&str> {
        self.signature_ref().and_then(|s| s.as_deref())
    }
}

/// `change` without its signature, in canonical JSON.
fn unsigned_json(change: &Change) -> Vec<u8> {
    let mut unsigned = change.clone();
    if let Some(slot) = unsigned.signature_mut() {
        *slot = None;
    }
    canonical_json(&unsigned)
}

/// The bytes signed once for a chain-wide change (see the module
/// documentation); the change's own signature is left out.
pub fn chain_signed_bytes(change: &Change) -> Vec<u8> {
    let json = unsigned_json(change);
    let mut out = Vec::with_capacity(CHAIN_CHANGE_CONTEXT.len() + json.len());
    out.extend_from_slice(CHAIN_CHANGE_CONTEXT);
    out.extend_from_slice(&json);
    out
}

/// Head office's signature over `signed` (from [`chain_signed_bytes`]),
/// in the form a change carries: for a cache of chain-wide signatures.
pub fn sign_bytes(signed: &[u8], key: &SigningKey) -> String {
    B64.encode(key.sign(signed).to_bytes())
}

/// Puts `signature` (from [`sign_bytes`]) on a trust-bearing change.
pub fn set_signature(change: &mut Change, signature: String) {
    if let Some(slot) = change.signature_mut() {
        *slot = Some(signature);
    }
}

/// The bytes signed for `change` sent to `terminal`: see the module
/// documentation. The change's own signature is left out.
pub fn signed_bytes(change: &Change, terminal: TerminalId) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(CHANGE_CONTEXT);
    out.extend_from_slice(terminal.to_string().as_bytes());
    out.push(0);
    out.extend_from_slice(&unsigned_json(change));
    out
}

/// serde_json's text of `value` as a JSON tree: object keys sorted, no
/// whitespace. Empty when `value` does not serialize (no wire type fails).
pub fn canonical_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_value(value)
        .and_then(|tree| serde_json::to_vec(&tree))
        .unwrap_or_default()
}

/// Signs a trust-bearing change for `terminal` in place (head office's
/// side); other kinds are left as they are.
pub fn sign_change(change: &mut Change, key: &SigningKey, terminal: TerminalId) {
    if !change.is_trust_bearing() {
        return;
    }
    let signed = if change.is_chain_wide() {
        chain_signed_bytes(change)
    } else {
        signed_bytes(change, terminal)
    };
    let signature = sign_bytes(&signed, key);
    set_signature(change, signature);
}

/// Checks a change's signature for this terminal (the terminal's side).
/// A change that is not trust-bearing passes unsigned.
pub fn verify_change(
    change: &Change,
    key: &VerifyingKey,
    terminal: TerminalId,
) -> Result<(), ChangeRefusal> {
    if !change.is_trust_bearing() {
        return Ok(());
    }
    let text = change.signature().ok_or(ChangeRefusal::Missing)?;
    let bytes: [u8; 64] = B64
        .decode(text)
        .map_err(|_| ChangeRefusal::Malformed)?
        .try_into()
        .map_err(|_| ChangeRefusal::Malformed)?;
    let signature = Signature::from_bytes(&bytes);
    // A chain-wide kind in either form: once for the chain, or for this
    // terminal as head offices before v2 signed it.
    if change.is_chain_wide()
        && key
            .verify_strict(&chain_signed_bytes(change), &signature)
            .is_ok()
    {
        return Ok(());
    }
    key.verify_strict(&signed_bytes(change, terminal), &signature)
        .map_err(|_| ChangeRefusal::BadSignature)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use crate::wire::TrustedKey;
    use uuid::Uuid;

    fn key_change() -> Change {
        Change::TrustedKey {
            key: TrustedKey {
                valid_from: Some(1_700_000_000),
                valid_until: Some(1_800_000_000),
                ..TrustedKey::unbounded("32768", "AAAA")
            },
            signature: None,
        }
    }

    fn staff_removed() -> Change {
        Change::StaffRemoved {
            staff_id: "clerk-7".into(),
            signature: None,
        }
    }

    #[test]
    fn a_staff_change_verifies_for_its_terminal_only() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let (terminal, other) = (
            TerminalId(Uuid::from_u128(1)),
            TerminalId(Uuid::from_u128(2)),
        );
        let mut change = staff_removed();
        assert!(!change.is_chain_wide());
        sign_change(&mut change, &key, terminal);
        assert_eq!(
            verify_change(&change, &key.verifying_key(), terminal),
            Ok(())
        );
        assert_eq!(
            verify_change(&change, &key.verifying_key(), other),
            Err(ChangeRefusal::BadSignature)
        );
    }

    #[test]
    fn a_chain_wide_change_is_signed_once_for_every_terminal_and_not_once_tampered() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let (terminal, other) = (
            TerminalId(Uuid::from_u128(1)),
            TerminalId(Uuid::from_u128(2)),
        );
        let mut change = key_change();
        assert!(change.is_chain_wide());
        sign_change(&mut change, &key, terminal);
        let mut for_other = key_change();
        sign_change(&mut for_other, &key, other);
        assert_eq!(change, for_other, "one signature whichever terminal asks");
        for t in [terminal, other] {
            assert_eq!(verify_change(&change, &key.verifying_key(), t), Ok(()));
        }
        // Through the wire and back.
        let back: Change = serde_json::from_slice(&serde_json::to_vec(&change).unwrap()).unwrap();
        assert_eq!(verify_change(&back, &key.verifying_key(), terminal), Ok(()));
        // The signature a cache hands out is the same.
        let mut cached = key_change();
        let signature = sign_bytes(&chain_signed_bytes(&cached), &key);
        set_signature(&mut cached, signature);
        assert_eq!(cached, change);
        let Change::TrustedKey {
            key: mut k,
            signature,
        } = change.clone()
        else {
            unreachable!()
        };
        k.valid_until = Some(1_900_000_000);
        let tampered = Change::TrustedKey { key: k, signature };
        assert_eq!(
            verify_change(&tampered, &key.verifying_key(), terminal),
            Err(ChangeRefusal::BadSignature)
        );
        assert_eq!(
            verify_change(&key_change(), &key.verifying_key(), terminal),
            Err(ChangeRefusal::Missing)
        );
        // Signed by another key.
        let mut forged = key_change();
        sign_change(&mut forged, &SigningKey::from_bytes(&[6; 32]), terminal);
        assert_eq!(
            verify_change(&forged, &key.verifying_key(), terminal),
            Err(ChangeRefusal::BadSignature)
        );
        let erasure = Change::Erasure {
            member: tillcard_rules::MemberId(Uuid::from_u128(9)),
        };
        assert_eq!(
            verify_change(&erasure, &key.verifying_key(), terminal),
            Ok(())
        );
    }

    #[test]
    fn a_chain_wide_change_signed_per_terminal_by_an_older_head_office_still_verifies_there_only() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let (terminal, other) = (
            TerminalId(Uuid::from_u128(1)),
            TerminalId(Uuid::from_u128(2)),
        );
        let mut change = key_change();
        let signature = sign_bytes(&signed_bytes(&change, terminal), &key);
        set_signature(&mut change, signature);
        assert_eq!(
            verify_change(&change, &key.verifying_key(), terminal),
            Ok(())
        );
        assert_eq!(
            verify_change(&change, &key.verifying_key(), other),
            Err(ChangeRefusal::BadSignature)
        );
    }
}
