//! Member card tokens: round trip, each refusal with its reason, the clerk
//! outcome of each situation, and the size budget (QR version 7 at level M).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

mod util;

use tillcard::scan::base45;
use tillcard::scan::card::{card_qr, qr_version_number};
use tillcard::scan::credential::{
    CardVerifier, PREFIX, ParseError, RevocationList, TrustedKeys, VerifyError, parse_token,
};
use tillcard::scan::directory::InMemoryDirectory;
use tillcard::scan::outcome::{OutcomeKind, ScanOutcome, classify};
use util::*;

fn verify(text: &str, v: &CardVerifier, now: u64) -> Result<(), VerifyError> {
    v.verify(&parse_token(text).unwrap(), now).map(|_| ())
}

#[test]
fn tokens_round_trip_with_and_without_expiry() {
    for until in [None, Some(ISSUED_AT + 1000)] {
        let c = credential(until);
        for signer in [head_office(), terminal()] {
            let text = signer.issue(&c);
            assert!(text.starts_with(PREFIX));
            let got = verifier()
                .verify(
                    &parse_token(&text).unwrap(),
                    NOW.min(u64::from(ISSUED_AT) + 10),
                )
                .unwrap();
            assert_eq!(got.member_id, c.member_id);
            assert_eq!(got.card_serial, c.card_serial);
            assert_eq!(got.issuer, signer.key_id());
            assert_eq!(got.issued_at, c.issued_at);
            assert_eq!(got.valid_until, until);
        }
    }
}

#[test]
fn token_text_is_qr_alphanumeric_only() {
    let t = token();
    assert!(
        t.bytes()
            .all(|b| base45::ALPHABET.contains(&b) || b == b':')
    );
}

#[test]
fn a_realistic_token_fits_qr_version_7_at_level_m() {
    let t = token();
    let code = card_qr(&t).unwrap();
    assert_eq!(code.error_correction_level(), qrcode::EcLevel::M);
    let v = qr_version_number(&code);
    assert!(v <= 7, "version {v} for {} characters", t.len());
}

#[test]
fn scanner_case_and_line_end_quirks_are_tolerated() {
    let t = token();
    verify(&format!("{}\r\n", t.to_ascii_lowercase()), &verifier(), NOW).unwrap();
}

#[test]
fn a_flipped_bit_is_refused_as_a_bad_signature() {
    let t = token();
    let mut bytes = base45::decode(&t[PREFIX.len()..]).unwrap();
    // Flip one bit of the member id, then of the signature.
    for i in [10, bytes.len() - 5] {
        bytes[i] ^= 0x08;
        let forged = format!("{PREFIX}{}", base45::encode(&bytes));
        assert_eq!(
            verify(&forged, &verifier(), NOW),
            Err(VerifyError::BadSignature)
        );
        bytes[i] ^= 0x08;
    }
}

#[test]
fn a_card_signed_by_an_untrusted_key_is_refused() {
    // Same key id as head office, different key.
    let impostor = tillcard::scan::signer::CardSigner::from_seed(1, &[99; 32]);
    let t = impostor.issue(&credential(None));
    assert_eq!(verify(&t, &verifier(), NOW), Err(VerifyError::BadSignature));
    // A key id nobody registered.
    let stranger = tillcard::scan::signer::CardSigner::from_seed(42, &[42; 32]);
    let t = stranger.issue(&credential(None));
    assert_eq!(
        verify(&t, &verifier(), NOW),
        Err(VerifyError::UnknownIssuer(42))
    );
    // A terminal whose key head office withdrew.
    let mut keys = TrustedKeys::new();
    keys.insert(1, head_office().verifying_key());
    let v = CardVerifier::new(keys, RevocationList::new());
    let t = terminal().issue(&credential(None));
    assert_eq!(verify(&t, &v, NOW), Err(VerifyError::UnknownIssuer(7)));
}

#[test]
fn an_expired_card_is_refused_from_its_end_time() {
    let until = ISSUED_AT + 3600;
    let t = head_office().issue(&credential(Some(until)));
    let v = verifier();
    assert_eq!(verify(&t, &v, u64::from(until) - 1), Ok(()));
    assert_eq!(verify(&t, &v, u64::from(until)), Err(VerifyError::Expired));
}

#[test]
fn revoked_members_and_revoked_cards_are_refused() {
    let t = token();
    let mut v = verifier();
    v.revoked.revoke_card(member_id(), 2); // an older card: this one still works
    assert_eq!(verify(&t, &v, NOW), Ok(()));
    v.revoked.revoke_card(member_id(), 3);
    assert_eq!(verify(&t, &v, NOW), Err(VerifyError::Revoked));
    let mut v = verifier();
    v.revoked.revoke_member(member_id());
    assert_eq!(verify(&t, &v, NOW), Err(VerifyError::Revoked));
}

#[test]
fn parse_errors_name_their_reason() {
    assert_eq!(
        parse_token("https://example.com"),
        Err(ParseError::NotTillcard)
    );
    assert_eq!(parse_token(""), Err(ParseError::NotTillcard));
    assert_eq!(parse_token("TC1:abc!"), Err(ParseError::BadEncoding));
    assert_eq!(
        parse_token(&format!("{PREFIX}{}", base45::encode(&[1, 0, 0]))),
        Err(ParseError::Malformed)
    );
    assert_eq!(
        parse_token(&format!("{PREFIX}{}", base45::encode(&[9; 90]))),
        Err(ParseError::UnsupportedVersion(9))
    );
    // Unknown flag bits are refused, not ignored.
    let mut bytes = base45::decode(&token()[PREFIX.len()..]).unwrap();
    bytes[1] |= 0x80;
    assert_eq!(
        parse_token(&format!("{PREFIX}{}", base45::encode(&bytes))),
        Err(ParseError::Malformed)
    );
}

#[test]
fn each_situation_gives_its_clerk_outcome() {
    let dir = directory();
    let v = verifier();
    let kind =
        |text: &str, v: &CardVerifier, dir: &InMemoryDirectory| classify(text, v, dir, NOW).kind();
    match classify(&token(), &v, &dir, NOW) {
        ScanOutcome::MemberFound { member, credential } => {
            assert_eq!(member.member_id, member_id());
            assert_eq!(credential.card_serial, 3);
        }
        other => panic!("expected MemberFound, got {other:?}"),
    }
    assert_eq!(
        kind(&token(), &v, &InMemoryDirectory::new()),
        OutcomeKind::UnknownMember
    );
    assert_eq!(kind("4006381333931", &v, &dir), OutcomeKind::NotMemberCode);
    let stranger = tillcard::scan::signer::CardSigner::from_seed(42, &[42; 32]);
    assert_eq!(
        kind(&stranger.issue(&credential(None)), &v, &dir),
        OutcomeKind::Forged
    );
    let mut rv = verifier();
    rv.revoked.revoke_member(member_id());
    assert_eq!(kind(&token(), &rv, &dir), OutcomeKind::Revoked);
    let short = head_office().issue(&credential(Some(ISSUED_AT + 10)));
    assert_eq!(kind(&short, &v, &dir), OutcomeKind::Expired);
    assert_eq!(kind("TC1:%%%%", &v, &dir), OutcomeKind::Unreadable);
    let t = token();
    assert_eq!(kind(&t[..t.len() - 3], &v, &dir), OutcomeKind::Unreadable);
}

#[test]
fn every_outcome_has_a_distinct_message() {
    use tillcard::scan::outcome::clerk_message;
    let kinds = OutcomeKind::ALL;
    let msgs: std::collections::HashSet<&str> = kinds.iter().map(|k| clerk_message(*k)).collect();
    assert_eq!(msgs.len(), kinds.len());
    assert!(msgs.iter().all(|m| !m.is_empty()));
}

#[test]
fn a_failing_directory_still_lets_a_valid_card_through() {
    struct Down;
    impl tillcard::scan::directory::MemberDirectory for Down {
        fn find_by_member_id(
            &self,
            _: uuid::Uuid,
        ) -> Result<
            Option<tillcard::scan::directory::MemberSummary>,
            tillcard::scan::directory::DirectoryError,
        > {
            Err(tillcard::scan::directory::DirectoryError(
                "database locked".into(),
            ))
        }
    }
    let o = classify(&token(), &verifier(), &Down, NOW);
    assert_eq!(o.kind(), OutcomeKind::LookupFailed);
    assert!(o.kind().is_good());
}

#[test]
fn token_lengths_match_the_documented_layout() {
    // docs/CREDENTIAL.md: 90 bytes without expiry, 94 with; Base45 makes
    // 135 and 141 characters; plus the 4-character prefix.
    assert_eq!(head_office().issue(&credential(None)).len(), 4 + 135);
    assert_eq!(token().len(), 4 + 141);
    assert_eq!(
        qr_version_number(&card_qr(&head_office().issue(&credential(None))).unwrap()),
        6
    );
    assert_eq!(qr_version_number(&card_qr(&token()).unwrap()), 6);
}
