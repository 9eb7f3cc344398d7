//! The terminal's card token parser and verifier
//! (`src/scan/credential.rs`): the text a member card's QR code holds.
//!
//! Input whose first byte is even is a token text as a scanner would type
//! it; odd, the rest describes a credential to issue.
//!
//! Checks:
//! - any text: the parser and verifier refuse or accept without panicking;
//!   a token that parses renders (prefix + Base45 of its bytes) to a text
//!   that parses to the same token; a token that verifies is byte for byte
//!   the card the trusted key issues for its credential (Ed25519 signing
//!   is deterministic and `verify_strict` refuses malleated signatures), so
//!   no forged or altered card is ever accepted;
//! - any credential: parse(issue(c)) == c, also in lower case and with a
//!   scanner's CR/LF; it verifies while valid; one bit flipped anywhere in
//!   its bytes is refused (by the parser or the verifier), and so is the
//!   same card signed by an untrusted key under the trusted key's id.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tillcard_fuzz::Input;
use tillcard_fuzz::scan::credential::{
    CardVerifier, Credential, PREFIX, RevocationList, TrustedKeys, VerifyError, parse_bytes,
    parse_token,
};
use tillcard_protocol::base45;
use tillcard_protocol::card::CardSigner;
use uuid::Uuid;

/// The trusted issuer (key id 7) and the verifier that trusts it alone.
static TRUSTED: LazyLock<(CardSigner, CardVerifier)> = LazyLock::new(|| {
    let signer = CardSigner::from_seed(7, &[0x42; 32]);
    let mut keys = TrustedKeys::new();
    keys.insert(signer.key_id(), signer.verifying_key());
    (signer, CardVerifier::new(keys, RevocationList::new()))
});

/// A key nobody trusts, signing under the trusted key's id.
static FORGER: LazyLock<CardSigner> = LazyLock::new(|| CardSigner::from_seed(7, &[0x13; 32]));

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        any_text(rest);
    } else {
        issued(Input::new(rest));
    }
});

fn any_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(token) = parse_token(&text) else {
        return;
    };
    let bytes = token.to_bytes();
    assert_eq!(
        parse_token(&token.render()).as_ref(),
        Ok(&token),
        "render then parse"
    );
    assert_eq!(parse_bytes(&bytes).as_ref(), Ok(&token));
    let (signer, verifier) = &*TRUSTED;
    for now in [0, u64::from(u32::MAX) + 1] {
        if let Ok(credential) = verifier.verify(&token, now) {
            assert_eq!(credential, token.credential);
            assert_eq!(
                bytes,
                signer.sign_bytes(&credential),
                "a card the trusted key did not issue verified"
            );
        }
    }
}

fn issued(mut input: Input<'_>) {
    let flags = input.u8();
    let credential = Credential {
        member_id: Uuid::from_u128(input.u128()),
        card_serial: input.u16(),
        issuer: input.u16(),
        issued_at: input.u32(),
        valid_until: (flags & 1 == 1).then(|| input.u32()),
    };
    let flip = input.u16();
    let (signer, verifier) = &*TRUSTED;
    let credential = Credential {
        issuer: signer.key_id(),
        ..credential
    };
    let text = signer.issue(&credential);
    for variant in [
        text.clone(),
        text.to_ascii_lowercase(),
        format!("{text}\r\n"),
        format!("\t{}\n", text.to_ascii_lowercase()),
    ] {
        let token = parse_token(&variant).expect("an issued card parses");
        assert_eq!(token.credential, credential, "parse(issue(c)) != c");
        assert_eq!(token.render(), text, "render(parse(issue(c))) != issue(c)");
        let valid_before = credential.valid_until.map_or(u64::MAX, u64::from);
        if let Some(valid_at) = valid_before.checked_sub(1) {
            assert_eq!(verifier.verify(&token, valid_at), Ok(credential));
        }
        if let Some(until) = credential.valid_until {
            assert_eq!(
                verifier.verify(&token, until.into()),
                Err(VerifyError::Expired)
            );
        }
    }

    let bytes = signer.sign_bytes(&credential);
    let bit = usize::from(flip) % (bytes.len() * 8);
    let mut altered = bytes.clone();
    altered[bit / 8] ^= 1 << (bit % 8);
    let altered_text = format!("{PREFIX}{}", base45::encode(&altered));
    if let Ok(token) = parse_token(&altered_text) {
        assert!(
            verifier.verify(&token, 0).is_err(),
            "bit {bit} flipped and the card still verifies"
        );
    }

    let forged = parse_token(&FORGER.issue(&credential)).expect("a forged card is well formed");
    assert_eq!(
        verifier.verify(&forged, 0),
        Err(VerifyError::BadSignature),
        "a card signed by an untrusted key verified"
    );
}
