//! Head office's signatures on the downlink's chain-wide trust changes
//! (program, trusted key, revocation: `tillcard_protocol::trust`), made
//! once per change rather than once per terminal (issue 23).
//!
//! Every terminal's card key is a `trusted_key` change every terminal
//! receives, so a terminal's first pull carried one signature per terminal
//! of the chain, each made for it: 10,800 Ed25519 signatures per new till
//! at 3,600 stores, and as many for every key added or renewed later.
//! Signed once for the chain, the same signature serves every terminal;
//! this cache keeps it, keyed by the bytes it signs (so a change log
//! restored from a backup, whose positions name other changes, can never
//! be handed a signature of something else). Per process and bounded:
//! nodes of a head office each sign a change once while it is cached.
//! Staff changes stay signed for each terminal (a PIN hash sealed to it).

use std::num::NonZeroUsize;
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use lru::LruCache;
use tillcard_protocol::trust;
use tillcard_protocol::wire::{Change, TerminalId};

/// Chain-wide signatures a process keeps: every terminal's card key of a
/// large chain and their renewals, about 300 bytes each.
pub const CHAIN_SIGNATURES_CACHED: usize = 50_000;

/// The cache ([module docs](self)).
pub struct ChainSignatures {
    cache: Mutex<LruCache<Vec<u8>, String>>,
}

impl Default for ChainSignatures {
    fn default() -> Self {
        ChainSignatures {
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(CHAIN_SIGNATURES_CACHED).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl ChainSignatures {
    /// Signs a trust-bearing `change` for `terminal`: a chain-wide one
    /// with the chain's signature (from the cache, or made and kept),
    /// others for the terminal. Returns whether a signature was made.
    pub fn sign(&self, change: &mut Change, key: &SigningKey, terminal: TerminalId) -> bool {
        if !change.is_trust_bearing() {
            return false;
        }
        if !change.is_chain_wide() {
            trust::sign_change(change, key, terminal);
            return true;
        }
        let signed = trust::chain_signed_bytes(change);
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|mut cache| cache.get(&signed).cloned());
        let (signature, made) = match cached {
            Some(signature) => (signature, false),
            None => {
                let signature = trust::sign_bytes(&signed, key);
                if let Ok(mut cache) = self.cache.lock() {
                    cache.put(signed, signature.clone());
                }
                (signature, true)
            }
        };
        trust::set_signature(change, signature);
        made
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use tillcard_protocol::wire::TrustedKey;
    use uuid::Uuid;

    #[test]
    fn a_chain_wide_change_is_signed_once_and_verifies_at_every_terminal() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signatures = ChainSignatures::default();
        let key_change = || Change::TrustedKey {
            key: TrustedKey::unbounded("32770", "AAAA"),
            signature: None,
        };
        let mut made = 0;
        for n in 1..=50 {
            let terminal = TerminalId(Uuid::from_u128(n));
            let mut change = key_change();
            made += usize::from(signatures.sign(&mut change, &key, terminal));
            assert_eq!(
                trust::verify_change(&change, &key.verifying_key(), terminal),
                Ok(())
            );
        }
        assert_eq!(made, 1, "one signature for fifty terminals");
        // A staff change is signed for each terminal.
        let mut staff_made = 0;
        for n in 1..=3 {
            let mut change = Change::StaffRemoved {
                staff_id: "clerk-1".into(),
                signature: None,
            };
            staff_made +=
                usize::from(signatures.sign(&mut change, &key, TerminalId(Uuid::from_u128(n))));
        }
        assert_eq!(staff_made, 3);
    }
}
