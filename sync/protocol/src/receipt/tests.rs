//! Receipt tokens: round trip, tampering, keys, size, and garbage.

use proptest::prelude::*;

use super::*;

const SEED_A: [u8; 32] = [7; 32];
const SEED_B: [u8; 32] = [9; 32];

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

/// A member's sale of `lines` lines with 13-digit SKUs, paid with points
/// from two lots, stored value and two money tenders.
fn summary(lines: usize) -> ReceiptSummary {
    ReceiptSummary {
        sale: SourceId(id(1)),
        terminal: id(2),
        store: "SH-001".into(),
        key_id: 0,
        at_unix: 1_796_000_000,
        utc_offset_s: 8 * 3600,
        member: Some(MemberId(id(3))),
        coupon: Some(CouponId {
            issued_by: SourceId(id(4)),
            index: 0,
        }),
        total: Money::from_fen(123_456),
        earn_eligible_paid: Money::from_fen(120_000),
        points_earned: 1_800,
        redeemed: vec![
            LotDraw {
                lot: LotId(SourceId(id(5))),
                points: 200,
            },
            LotDraw {
                lot: LotId(SourceId(id(6))),
                points: 100,
            },
        ],
        tenders: vec![
            Tender {
                kind: TenderKind::WechatPay,
                amount: Money::from_fen(100_000),
            },
            Tender {
                kind: TenderKind::Cash,
                amount: Money::from_fen(20_000),
            },
        ],
        lines: (0..lines)
            .map(|i| ReceiptLine {
                sku: format!("690123456{:04}", i),
                quantity: 3,
                net: Money::from_fen(12_345),
                points: 30,
                points_value: Money::from_fen(30),
                stored_value_principal: Money::from_fen(300),
                stored_value_bonus: Money::from_fen(30),
                money: Money::from_fen(11_985),
                earns: i % 3 != 0,
                earn_rate_milli: if i % 2 == 0 { 1000 } else { 2000 },
            })
            .collect(),
    }
}

fn signer(seed: &[u8; 32]) -> CardSigner {
    CardSigner::from_seed(0x8123, seed)
}

/// Trusts signer A's key with the given standing.
fn keys_a(standing: KeyStanding) -> impl Fn(KeyId, i64) -> Option<(VerifyingKey, KeyStanding)> {
    move |key_id, _| (key_id == 0x8123).then(|| (signer(&SEED_A).verifying_key(), standing))
}

#[test]
fn a_signed_receipt_reads_back_as_signed() {
    let text = sign(&summary(3), &signer(&SEED_A)).expect("signs");
    assert!(text.starts_with(PREFIX));
    let read = parse_and_verify(&text, &keys_a(KeyStanding::Trusted)).expect("verifies");
    let mut expected = summary(3);
    expected.key_id = 0x8123;
    assert_eq!(read, expected);
}

#[test]
fn a_walk_in_sale_with_no_tenders_reads_back() {
    let mut s = summary(1);
    s.member = None;
    s.coupon = None;
    s.redeemed.clear();
    s.tenders.clear();
    s.utc_offset_s = -5 * 3600;
    let text = sign(&s, &signer(&SEED_A)).expect("signs");
    let read = parse_and_verify(&text, &keys_a(KeyStanding::Trusted)).expect("verifies");
    assert_eq!(read.member, None);
    assert!(read.tenders.is_empty());
    assert_eq!(read.at().offset().local_minus_utc(), -5 * 3600);
    assert!(read.refund_sale_entries().is_empty());
}

#[test]
fn a_ten_line_sale_fits_the_bound() {
    let text = sign(&summary(10), &signer(&SEED_A)).expect("signs");
    println!("10-line receipt token: {} characters", text.len());
    assert!(text.len() < TEN_LINE_BOUND, "{} characters", text.len());
    // The most lines, of ordinary sizes, still make a code.
    let text = sign(&summary(MAX_LINES), &signer(&SEED_A)).expect("the most lines sign");
    println!("{MAX_LINES}-line receipt token: {} characters", text.len());
    assert!(text.len() <= MAX_TOKEN_CHARS);
    // Huge amounts and long SKUs on every line would not: refused whole.
    let huge = ReceiptSummary {
        lines: (0..MAX_LINES)
            .map(|_| ReceiptLine {
                sku: "X".repeat(MAX_SKU_BYTES),
                net: Money::from_fen(limits::MAX_FEN),
                money: Money::from_fen(limits::MAX_FEN),
                ..summary(1).lines[0].clone()
            })
            .collect(),
        ..summary(0)
    };
    assert!(matches!(
        sign(&huge, &signer(&SEED_A)),
        Err(ReceiptBuildError::TooLarge(_))
    ));
    let too_many = summary(MAX_LINES + 1);
    assert!(matches!(
        sign(&too_many, &signer(&SEED_A)),
        Err(ReceiptBuildError::TooLarge(_))
    ));
}

#[test]
fn any_byte_changed_is_refused() {
    let text = sign(&summary(2), &signer(&SEED_A)).expect("signs");
    let bytes = base45::decode(&text[PREFIX.len()..]).expect("base45");
    for i in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 0x01;
        let forged = format!("{PREFIX}{}", base45::encode(&changed));
        let read = parse_and_verify(&forged, &keys_a(KeyStanding::Trusted));
        assert!(read.is_err(), "byte {i} changed and still accepted");
    }
}

#[test]
fn a_receipt_signed_by_another_key_is_refused() {
    // Same key id, another key: a forger who knows the id only.
    let text = sign(&summary(2), &signer(&SEED_B)).expect("signs");
    assert_eq!(
        parse_and_verify(&text, &keys_a(KeyStanding::Trusted)),
        Err(ReceiptError::BadSignature)
    );
    let other_id = sign(&summary(2), &CardSigner::from_seed(0x8124, &SEED_A)).expect("signs");
    assert_eq!(
        parse_and_verify(&other_id, &keys_a(KeyStanding::Trusted)),
        Err(ReceiptError::UnknownTill(0x8124))
    );
}

#[test]
fn a_withdrawn_or_uncertified_key_is_refused() {
    let text = sign(&summary(2), &signer(&SEED_A)).expect("signs");
    assert_eq!(
        parse_and_verify(&text, &keys_a(KeyStanding::Withdrawn)),
        Err(ReceiptError::KeyWithdrawn)
    );
    assert_eq!(
        parse_and_verify(&text, &keys_a(KeyStanding::OutsideWindow)),
        Err(ReceiptError::OutsideKeyWindow)
    );
}

#[test]
fn a_member_card_signature_never_passes_as_a_receipt() {
    // The card key signs both; the contexts differ, so a card's signature
    // over the same bytes does not verify as a receipt's.
    let s = ReceiptSummary {
        key_id: 0x8123,
        ..summary(1)
    };
    let body = s.body_bytes();
    let mut card_signed = body.clone();
    card_signed
        .extend_from_slice(&signer(&SEED_A).sign_message(&crate::card::signed_message(&body)));
    let text = format!("{PREFIX}{}", base45::encode(&card_signed));
    assert_eq!(
        parse_and_verify(&text, &keys_a(KeyStanding::Trusted)),
        Err(ReceiptError::BadSignature)
    );
}

#[test]
fn other_codes_are_not_receipts() {
    let keys = keys_a(KeyStanding::Trusted);
    assert_eq!(
        parse_and_verify("TC1:ABC", &keys),
        Err(ReceiptError::NotAReceipt)
    );
    assert_eq!(parse_and_verify("", &keys), Err(ReceiptError::NotAReceipt));
    assert_eq!(parse_and_verify("TCR1:", &keys), Err(ReceiptError::Damaged));
    assert_eq!(
        parse_and_verify("TCR1:!!", &keys),
        Err(ReceiptError::Damaged)
    );
}

#[test]
fn the_refund_quote_carries_what_refunds_share() {
    let s = summary(2);
    let quote = s.refund_quote();
    assert_eq!(quote.id, s.sale);
    assert_eq!(quote.lines.len(), 2);
    assert_eq!(quote.lines[1].item.quantity, 3);
    assert_eq!(quote.lines[1].money, Money::from_fen(11_985));
    assert_eq!(quote.lines[1].earn_rate_milli, 2000);
    assert_eq!(quote.earn.points, 1_800);
    assert_eq!(quote.coupon.map(|c| c.coupon), s.coupon);
    let entries = s.refund_sale_entries();
    assert!(matches!(
        &entries[0].kind,
        EntryKind::PointsRedeemed { draws } if draws.len() == 2
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let keys = keys_a(KeyStanding::Trusted);
        let _ = parse_and_verify(&format!("{PREFIX}{}", base45::encode(&bytes)), &keys);
        let _ = parse_and_verify(&String::from_utf8_lossy(&bytes), &keys);
    }

    #[test]
    fn truncated_or_spliced_tokens_never_panic(cut in 0usize..800, splice in any::<u8>()) {
        let text = sign(&summary(4), &signer(&SEED_A)).expect("signs");
        let bytes = base45::decode(&text[PREFIX.len()..]).expect("base45");
        let mut short = bytes[..cut.min(bytes.len())].to_vec();
        short.push(splice);
        let keys = keys_a(KeyStanding::Trusted);
        let text = format!("{PREFIX}{}", base45::encode(&short));
        let read = parse_and_verify(&text, &keys);
        prop_assert!(read.is_err());
    }
}

/// The worked example of `sync/PROTOCOL.md` ("Receipt tokens").
fn worked_example() -> ReceiptSummary {
    ReceiptSummary {
        sale: SourceId(id(1)),
        terminal: id(2),
        store: "SH-001".into(),
        key_id: 0,
        at_unix: 1_796_000_000,
        utc_offset_s: 8 * 3600,
        member: Some(MemberId(id(3))),
        coupon: None,
        total: Money::from_fen(1_200),
        earn_eligible_paid: Money::from_fen(1_200),
        points_earned: 12,
        redeemed: vec![],
        tenders: vec![Tender {
            kind: TenderKind::WechatPay,
            amount: Money::from_fen(1_200),
        }],
        lines: vec![ReceiptLine {
            sku: "6901234567892".into(),
            quantity: 2,
            net: Money::from_fen(1_200),
            points: 0,
            points_value: Money::ZERO,
            stored_value_principal: Money::ZERO,
            stored_value_bonus: Money::ZERO,
            money: Money::from_fen(1_200),
            earns: true,
            earn_rate_milli: 1000,
        }],
    }
}

#[test]
fn the_worked_example_is_what_sign_makes() {
    let token = sign(&worked_example(), &signer(&SEED_A)).expect("signs");
    println!("worked example: {token}");
    let protocol = include_str!("../../../PROTOCOL.md");
    assert!(
        protocol.contains(&format!("```text\n{token}\n```")),
        "PROTOCOL.md's worked example is not {token}"
    );
    let read = parse_and_verify(&token, &keys_a(KeyStanding::Trusted)).expect("verifies");
    assert_eq!(read.lines[0].quantity, 2);
}
