//! A terminal's registration certificate, and its re-introduction to a head
//! office restored from a backup older than the registration (issue 22).
//!
//! At registration head office signs, with its downlink key (the key the
//! terminal pins), what it registered: the terminal's id, store, request
//! key, card key and id, and phone lookup key
//! ([`RegistrationCertificate`]). The terminal keeps the certificate. A
//! head office restored from a backup taken before the registration does
//! not know the terminal (`401 unknown_terminal`); the terminal then sends
//! the certificate back (`POST /v1/terminals/reintroduce`, [`Reintroduce`])
//! and head office, finding its own signature on it, registers the terminal
//! again exactly as it was. Then the terminal re-uploads what the restored
//! database lacks.
//!
//! What is signed (`sync/PROTOCOL.md`, "Re-introduction"):
//!
//! ```text
//! "tillcard/registration/v1\0" || canonical JSON of the certificate without "signature"
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::trust::canonical_json;
// The certificate and the re-introduction's bodies are wire types (a
// registration answer carries the certificate); this module signs and
// checks them.
pub use crate::wire::{RegistrationCertificate, Reintroduce, Reintroduced};

/// Domain separation of registration certificates.
pub const REGISTRATION_CONTEXT: &[u8] = b"tillcard/registration/v1\0";

/// `POST` path of a re-introduction.
pub const REINTRODUCE_PATH: &str = "/v1/terminals/reintroduce";

fn signed_bytes(certificate: &RegistrationCertificate) -> Vec<u8> {
    let unsigned = RegistrationCertificate {
        signature: String::new(),
        ..certificate.clone()
    };
    let mut out = REGISTRATION_CONTEXT.to_vec();
    out.extend_from_slice(&canonical_json(&unsigned));
    out
}

impl RegistrationCertificate {
    /// Signs the certificate with head office's downlink key.
    pub fn sign(mut self, key: &SigningKey) -> RegistrationCertificate {
        self.signature = B64.encode(key.sign(&signed_bytes(&self)).to_bytes());
        self
    }

    /// Whether `key` signed this certificate as it stands.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = B64.decode(&self.signature) else {
            return false;
        };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            return false;
        };
        key.verify_strict(&signed_bytes(self), &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TerminalId;

    fn certificate() -> RegistrationCertificate {
        RegistrationCertificate {
            terminal_id: TerminalId(uuid::Uuid::from_u128(7)),
            store: "S001".into(),
            public_key: "ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=".into(),
            lookup_key: "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=".into(),
            card_public_key: "E75P6uryBMf9M1j8nAByGIHRdCeBKCJ+xnTzf3/pe20=".into(),
            card_key_id: 40000,
            registered_at: 1_795_140_000,
            signature: String::new(),
        }
    }

    #[test]
    fn a_certificate_verifies_with_its_signer_only_and_not_once_changed() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[4; 32]);
        let signed = certificate().sign(&key);
        assert!(signed.verify(&key.verifying_key()));
        assert!(!signed.verify(&other.verifying_key()));
        let mut moved = signed.clone();
        moved.store = "S002".into();
        assert!(!moved.verify(&key.verifying_key()));
        let mut bare = signed;
        bare.signature = "not base64".into();
        assert!(!bare.verify(&key.verifying_key()));
    }
}
