//! Issuing member cards: the only code that holds an Ed25519 signing key.
//!
//! Head office and terminals enrolling offline sign with their own key id;
//! verification ([`crate::scan::credential`]) never needs this module.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::scan::base45;
use crate::scan::credential::{Credential, KeyId, PREFIX, signed_message};

/// A signing key with the id under which terminals trust its public half.
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
