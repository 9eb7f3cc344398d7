//! The planning's unit tests: batches read, prepared and planned against
//! loaded state, without a database.

use super::judge::judging_version;
use super::prepare::hash_event;
use super::*;
use tillcard_protocol::wire::{self, Envelope, SCHEMA_VERSION, TerminalId};
use tillcard_protocol::wire::{OutboxEvent, UploadBatch};
use tillcard_rules::booking::{self, TopUp};
use tillcard_rules::ids::LotId;
use tillcard_rules::{Money, Program};

/// A batch of one event booking `kinds` for `member` as action `source`.
fn batch_of(member: MemberId, source: SourceId, kinds: Vec<EntryKind>) -> Prepared {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
    let entries = kinds
        .into_iter()
        .map(|kind| LedgerEntry {
            member,
            source,
            at,
            kind,
        })
        .collect();
    Prepared {
        events: vec![PreparedEvent {
            seq: 1,
            event_id: Uuid::from_u128(1),
            hash: String::new(),
            wall_time: at,
            schema_version: tillcard_protocol::wire::SCHEMA_VERSION,
            raw_body: None,
            body: Ok(EventBody::ManualAdjustment {
                member,
                reason: "test".into(),
                approved_by: "manager".into(),
                entries,
            }),
            enrollment: None,
        }],
        programs: Default::default(),
        outbox_head_seq: None,
        app_version: None,
        audit: None,
        epoch: None,
    }
}

#[test]
fn cached_folds_keep_what_planning_reads_and_older_actions_go_to_the_ledger() {
    use tillcard_rules::account::{DailyUse, PointsLot, SpendRecord};
    use tillcard_rules::ledger::LotDraw;
    let member = MemberId(Uuid::from_u128(7));
    let action = |n: u128| SourceId(Uuid::from_u128(n << 64));
    let lot = |n: u128| LotId(action(n));
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
    let held = |n: u128, remaining: i64| PointsLot {
        lot: lot(n),
        earned_at: at,
        expires_at: at,
        remaining,
        awaiting_earning: false,
    };
    let credit = || EntryKind::StoredValueCredited {
        principal: Money::from_yuan(1),
        bonus: Money::ZERO,
        package: None,
    };
    let redeem = |n: u128| EntryKind::PointsRedeemed {
        draws: vec![LotDraw {
            lot: lot(n),
            points: 1,
        }],
    };
    let mut account = MemberAccount::new(member);
    account.sources = (1..=40).map(action).collect();
    account.lots = vec![held(1, 0), held(2, 5), held(3, -2), held(40, 0)];
    account.spend = vec![SpendRecord {
        at,
        amount: Money::from_yuan(9),
    }];
    account.daily = vec![DailyUse {
        date: at.date_naive(),
        points_redeemed: 1,
        stored_value_spent: Money::ZERO,
    }];
    // Untrimmed and short: whole, so any action can be planned.
    let mut short = account.clone();
    short.sources = (1..=3).map(action).collect();
    assert!(cached_fold_suffices(
        &short,
        &batch_of(member, action(0), vec![redeem(99)])
    ));

    trim_cached_fold(&mut account);
    let oldest_kept = 40 - CACHED_SOURCES as u128 + 1;
    assert_eq!(account.sources.len(), CACHED_SOURCES);
    assert_eq!(account.sources.first(), Some(&action(oldest_kept)));
    assert_eq!(account.sources.last(), Some(&action(40)));
    assert!(account.spend.is_empty() && account.daily.is_empty());
    // Used-up lots older than the oldest action id kept go; lots with
    // points (or debt) and newer ones stay.
    let lots: Vec<LotId> = account.lots.iter().map(|l| l.lot).collect();
    assert_eq!(lots, vec![lot(2), lot(3), lot(40)]);

    let suffices = |source: u128, kinds: Vec<EntryKind>| {
        cached_fold_suffices(&account, &batch_of(member, action(source), kinds))
    };
    // Newer than every kept id, or one of them: the cache knows.
    assert!(suffices(41, vec![credit()]));
    assert!(suffices(oldest_kept, vec![credit()]));
    // Older than the oldest kept: only the ledger can tell.
    assert!(!suffices(oldest_kept - 1, vec![credit()]));
    // Lots kept, or newer than the oldest action id kept (never dropped:
    // absent means the ledger has none either), are planned from cache;
    // an old lot not kept may be one dropped.
    assert!(suffices(41, vec![redeem(2), redeem(40)]));
    assert!(suffices(41, vec![redeem(oldest_kept + 1)]));
    assert!(!suffices(41, vec![redeem(1)]));
    assert!(!suffices(
        41,
        vec![EntryKind::PointsExpired {
            lot: lot(1),
            points: 1
        }]
    ));
    // Another member's old action says nothing about this fold.
    let other = MemberId(Uuid::from_u128(8));
    assert!(cached_fold_suffices(
        &account,
        &batch_of(other, action(1), vec![redeem(1)])
    ));
}

fn envelope(seq: u64) -> Envelope {
    Envelope {
        event_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(seq)),
        terminal_id: TerminalId(Uuid::from_u128(7)),
        seq,
        wall_time: Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap(),
        monotonic_ms: 1234 * seq,
        schema_version: SCHEMA_VERSION,
    }
}

/// A batch JSON with the given body texts exactly as written.
fn batch_json(bodies: &[&str]) -> String {
    let events: Vec<String> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let env = serde_json::to_string(&envelope(i as u64 + 1)).unwrap();
            format!("{},\"body\": {body} }}", &env[..env.len() - 1])
        })
        .collect();
    format!(
        "{{\"protocol_version\":1,\"terminal_id\":\"{}\",\"events\":[{}]}}",
        TerminalId(Uuid::from_u128(7)),
        events.join(",")
    )
}

/// The hash and poison body head office computed before reading bodies
/// as text: through `OutboxEvent` and its JSON tree.
fn through_tree(seq: u64, body: &str) -> (String, String) {
    let event = OutboxEvent {
        envelope: envelope(seq),
        body: serde_json::from_str(body).unwrap(),
    };
    (event.content_hash(), event.body.to_string())
}

#[test]
fn hash_of_canonical_and_non_canonical_bodies_matches_the_tree() {
    let bodies = [
        // Canonical already.
        r#"{"a":1,"b":[true,false,null],"c":{"d":-5,"e":"x"}}"#,
        // Whitespace, unsorted keys at two levels, repeated key (last wins).
        r#"{ "type" : "top_up", "member": "m", "a": {"z": 1, "b": 2}, "type": "x" }"#,
        // Escapes the tree rewrites: \/ and \u00e9 become / and é; \n stays.
        r#"{"s":"a\/b \u00e9 \n \" \\ \u0001","t":"\u4e2d"}"#,
        // Numbers: floats, exponents, big and negative integers.
        r#"{"f":1.5e3,"g":0.1,"h":-0.0,"i":18446744073709551615,"j":-9223372036854775808,"k":1E-7}"#,
        // Empty containers, nested arrays, a key that sorts by bytes.
        r#"{"":[],"A":{},"a":[[1,[2]],[]],"é":0}"#,
        // Not an object at all.
        r#"[1, 2 ,3]"#,
        r#""just text""#,
    ];
    let json = batch_json(&bodies);
    let batch = ReceivedBatch::from_json(json.as_bytes()).unwrap();
    let mut buffer = Vec::new();
    for (i, (event, body)) in batch.events.iter().zip(bodies).enumerate() {
        let (hash, range, _) = hash_event(event, &mut buffer).unwrap();
        let (want_hash, want_body) = through_tree(i as u64 + 1, body);
        assert_eq!(hash, want_hash, "hash of body {i}: {body}");
        assert_eq!(
            std::str::from_utf8(&buffer[range]).unwrap(),
            want_body,
            "canonical body {i}"
        );
    }
}

#[test]
fn a_batch_that_is_not_utf8_is_refused_with_the_reason() {
    let json = batch_json(&[r#"{"a":"caf\u00e9"}"#, r#"{"b":"x"}"#]);
    let mut bytes = json.into_bytes();
    let at = bytes
        .windows(3)
        .position(|w| w == b"\"x\"")
        .expect("the second body's text");
    bytes[at + 1] = 0xff;
    let error = ReceivedBatch::from_json(&bytes).unwrap_err().to_string();
    assert!(error.contains("not UTF-8"), "{error}");
    let valid = batch_json(&[r#"{"a":"café"}"#]);
    assert_eq!(
        ReceivedBatch::from_json(valid.as_bytes())
            .unwrap()
            .events
            .len(),
        1
    );
}

#[test]
fn canonical_bodies_stream_without_a_tree_and_others_build_one() {
    let mut out = Vec::new();
    let tree = canonical_body(r#"{"a":{"b":1,"c":[{"d":2,"e":3}]},"b":"x"}"#, &mut out);
    assert_eq!(tree, Ok(None));
    for unsorted in [
        r#"{"b":1,"a":2}"#,
        r#"{"a":[{"y":1,"x":2}]}"#,
        r#"{"a":1,"a":2}"#,
    ] {
        out.clear();
        assert!(
            matches!(canonical_body(unsorted, &mut out), Ok(Some(_))),
            "{unsorted} needs a tree"
        );
    }
}

#[test]
fn events_from_the_client_hash_and_decode_as_before() {
    let program = Program::default();
    let member = MemberId(Uuid::from_u128(42));
    let account = MemberAccount::new(member);
    let at = Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap();
    let entries = booking::book_top_up(
        &program,
        &account,
        &TopUp::Amount(Money::from_yuan(100)),
        at,
        SourceId(Uuid::from_u128(9)),
    )
    .unwrap();
    let body = EventBody::TopUp {
        member,
        principal: Money::from_yuan(100),
        bonus: Money::ZERO,
        package: None,
        entries,
    };
    let events: Vec<OutboxEvent> = (1..=3)
        .map(|seq| OutboxEvent::new(envelope(seq), &body).unwrap())
        .collect();
    let upload = UploadBatch {
        protocol_version: 1,
        terminal_id: TerminalId(Uuid::from_u128(7)),
        events: events.clone(),
        outbox_head_seq: Some(9),
        app_version: None,
        audit: None,
        epoch: None,
    };
    let json = serde_json::to_vec(&upload).unwrap();
    let batch = ReceivedBatch::from_json(&json).unwrap();
    assert_eq!(batch.outbox_head_seq, Some(9));
    let keys = IngestKeys {
        box_secret: [1; 32],
        personal: crate::personal::PersonalKeys::for_tests(),
    };
    let prepared = prepare(
        &batch,
        TerminalId(Uuid::from_u128(7)),
        &keys,
        Default::default(),
    )
    .unwrap();
    for (p, e) in prepared.events.iter().zip(&events) {
        assert_eq!(p.hash, e.content_hash());
        assert_eq!(p.body.as_ref().unwrap(), &e.decode_body().unwrap());
        assert_eq!(p.raw_body, None);
        assert_eq!(p.seq, e.envelope.seq);
    }
}

#[test]
fn gunzip_takes_what_fits_and_refuses_what_does_not() {
    use std::io::Write as _;
    let gzip = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let json = batch_json(&[r#"{"type":"member_erased","member":"x"}"#]);
    assert_eq!(gunzip(&gzip(json.as_bytes())).unwrap(), json.as_bytes());
    // Exactly the largest body accepted, then one byte more.
    let largest = vec![b' '; wire::MAX_BODY_BYTES];
    assert_eq!(gunzip(&gzip(&largest)).unwrap().len(), largest.len());
    let over = vec![b' '; wire::MAX_BODY_BYTES + 1];
    assert!(matches!(
        gunzip(&gzip(&over)),
        Err(wire::ProtocolError::TooLarge)
    ));
    // A trailer stating another size than the data's, or none at all:
    // refused, not trusted.
    let mut lying = gzip(json.as_bytes());
    let at = lying.len() - 4;
    lying[at..].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        gunzip(&lying),
        Err(wire::ProtocolError::Decode(_))
    ));
    let truncated = &gzip(json.as_bytes())[..10];
    assert!(matches!(
        gunzip(truncated),
        Err(wire::ProtocolError::Decode(_))
    ));
}

#[test]
fn poison_reasons_and_bodies_read_as_from_the_tree() {
    // Missing fields (text): the reason carries no text position.
    let bodies = [
        r#"{"type":"top_up","member":"00000000-0000-0000-0000-00000000002a"}"#,
        r#"{"member":"00000000-0000-0000-0000-00000000002a","type":"top_up"}"#,
        r#"{"type":"no_such_kind"}"#,
    ];
    let json = batch_json(&bodies);
    let batch = ReceivedBatch::from_json(json.as_bytes()).unwrap();
    let keys = IngestKeys {
        box_secret: [1; 32],
        personal: crate::personal::PersonalKeys::for_tests(),
    };
    let prepared = prepare(
        &batch,
        TerminalId(Uuid::from_u128(7)),
        &keys,
        Default::default(),
    )
    .unwrap();
    for (i, (p, body)) in prepared.events.iter().zip(bodies).enumerate() {
        let event = OutboxEvent {
            envelope: envelope(i as u64 + 1),
            body: serde_json::from_str(body).unwrap(),
        };
        let want = event.decode_body().unwrap_err().to_string();
        let poison = p.body.as_ref().unwrap_err();
        assert_eq!(poison.code, PoisonCode::Undecodable, "code of body {i}");
        assert_eq!(poison.detail, want, "reason of body {i}");
        assert_eq!(p.raw_body.as_deref(), Some(event.body.to_string().as_str()));
    }
}

#[test]
fn a_software_version_of_the_documented_shape_is_kept_and_any_other_refuses_the_batch() {
    let terminal = TerminalId(Uuid::from_u128(7));
    let keys = IngestKeys {
        box_secret: [1; 32],
        personal: crate::personal::PersonalKeys::for_tests(),
    };
    let prepare_with = |app_version: Option<&str>| {
        let upload = UploadBatch {
            protocol_version: 1,
            terminal_id: terminal,
            events: vec![],
            outbox_head_seq: None,
            app_version: app_version.map(str::to_string),
            audit: None,
            epoch: None,
        };
        let json = serde_json::to_vec(&upload).unwrap();
        let batch = ReceivedBatch::from_json(&json).unwrap();
        prepare(&batch, terminal, &keys, Default::default())
    };
    let longest = "9".repeat(wire::MAX_APP_VERSION_CHARS);
    for kept in [
        "0.4.0",
        "0.4.0+g1a2b3c",
        "1.0.0-rc.1",
        "A",
        longest.as_str(),
    ] {
        let prepared = prepare_with(Some(kept)).unwrap();
        assert_eq!(prepared.app_version.as_deref(), Some(kept));
    }
    // Absent: an older terminal, nothing to keep.
    assert_eq!(prepare_with(None).unwrap().app_version, None);
    let overlong = "9".repeat(wire::MAX_APP_VERSION_CHARS + 1);
    for refused in [
        "",
        overlong.as_str(),
        "0.4.0 beta",
        "0.4.0_1",
        "v1/2",
        "版本1",
        "0.4.0\n",
        "<b>",
    ] {
        let refusal = prepare_with(Some(refused)).unwrap_err();
        assert!(
            matches!(&refusal, BatchRefusal::Malformed(reason) if reason.contains("app_version")),
            "{refused:?}: {refusal:?}"
        );
        // The reason never quotes what was sent.
        assert!(
            refused.is_empty() || !refusal.to_string().contains(refused),
            "{refused:?}"
        );
    }
    // The same rule as the terminal's and the schema's.
    assert!(wire::is_app_version("0.4.0+g1a2b3c"));
    assert!(!wire::is_app_version(&overlong));
}

/// The version a sale is judged by: the one its quote names, unless head
/// office never published it or it was not yet in force at the sale's
/// moment; then the version in force.
#[test]
fn a_sale_is_judged_by_the_version_it_names_when_that_could_have_priced_it() {
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap();
    let version = |version: u32, from: Option<&str>| Program {
        version,
        effective_from: from.map(at),
        ..Program::default()
    };
    let programs = [
        version(1, None),
        version(2, Some("2026-12-05T14:00:00+08:00")),
    ];
    let basket = tillcard_rules::pricing::Basket {
        lines: vec![tillcard_rules::pricing::BasketLine {
            sku: "rice".into(),
            name: "rice".into(),
            category: "grocery".into(),
            quantity: 1,
            unit_price: Money::from_yuan(10),
            list_price: None,
        }],
    };
    let quote_at = |moment: &str, named: Option<u32>| {
        let mut quote = tillcard_rules::pricing::price(&tillcard_rules::pricing::PricingRequest {
            quote_id: SourceId(Uuid::from_u128(9)),
            program: &programs[0],
            basket: &basket,
            shopper: None,
            context: tillcard_rules::pricing::Context {
                now: at(moment),
                offline: true,
                offline_allowance_left: Money::ZERO,
            },
            tender: &Default::default(),
        })
        .unwrap();
        assert_eq!(quote.program_version, Some(1), "a quote names its version");
        quote.program_version = named;
        quote
    };
    let judged = |moment: &str, named: Option<u32>| {
        judging_version(&programs, &quote_at(moment, named)).map(|p| p.version)
    };
    let after = "2026-12-05T15:00:00+08:00";
    let before = "2026-12-05T13:00:00+08:00";
    // After the change, a terminal that had not received version 2 yet
    // priced with 1: judged by 1. One that had: by 2.
    assert_eq!(judged(after, Some(1)), Some(1));
    assert_eq!(judged(after, Some(2)), Some(2));
    // Before the change, version 2 could not price a sale.
    assert_eq!(judged(before, Some(2)), Some(1));
    // Never published, or not named (an older terminal): the one in force.
    assert_eq!(judged(after, Some(7)), Some(2));
    assert_eq!(judged(after, None), Some(2));
    assert_eq!(judged(before, None), Some(1));
}

#[test]
fn a_terminals_event_booking_a_cash_out_is_poison() {
    let member = MemberId(Uuid::from_u128(7));
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
    let body = EventBody::ManualAdjustment {
        member,
        reason: "test".into(),
        approved_by: "manager".into(),
        entries: vec![LedgerEntry {
            member,
            source: SourceId(Uuid::from_u128(8)),
            at,
            kind: EntryKind::StoredValueCashedOut {
                principal: Money::from_yuan(100),
                bonus: Money::ZERO,
            },
        }],
    };
    let poison = validate(&body).unwrap_err();
    assert!(poison.to_string().contains("cash-out"), "{poison}");
}

#[test]
fn a_gift_redemption_must_book_exactly_its_gift_and_points_and_nothing_else_books_a_gift() {
    use tillcard_rules::ledger::LotDraw;
    let member = MemberId(Uuid::from_u128(7));
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
    let lot = |n: u128| LotId(SourceId(Uuid::from_u128(n)));
    let entry = |gift: &str, draws: Vec<(u128, i64)>| LedgerEntry {
        member,
        source: SourceId(Uuid::from_u128(8)),
        at,
        kind: EntryKind::PointsRedeemedForGift {
            gift: gift.into(),
            draws: draws
                .into_iter()
                .map(|(n, points)| LotDraw {
                    lot: lot(n),
                    points,
                })
                .collect(),
        },
    };
    let gift = |points: i64, entries: Vec<LedgerEntry>| EventBody::GiftRedeemed {
        member,
        gift: "mug".into(),
        points,
        entries,
    };
    let good = gift(400, vec![entry("mug", vec![(1, 300), (2, 100)])]);
    validate(&good).unwrap();
    let refused = [
        (
            "points not the draws' sum",
            gift(500, vec![entry("mug", vec![(1, 400)])]),
        ),
        (
            "another gift",
            gift(400, vec![entry("kettle", vec![(1, 400)])]),
        ),
        ("no entry", gift(400, vec![])),
        (
            "two entries",
            gift(
                400,
                vec![entry("mug", vec![(1, 200)]), entry("mug", vec![(2, 200)])],
            ),
        ),
        ("zero points", gift(0, vec![entry("mug", vec![(1, 1)])])),
        (
            "an empty draw",
            gift(400, vec![entry("mug", vec![(1, 400), (2, 0)])]),
        ),
    ];
    let mut codes = Vec::new();
    for (what, body) in refused {
        let poison = validate(&body).expect_err(what);
        codes.push((what, poison.code.as_str()));
    }
    let negative = validate(&gift(-1, vec![entry("mug", vec![(1, 1)])])).unwrap_err();
    let long_code = validate(&EventBody::GiftRedeemed {
        member,
        gift: "m".repeat(201),
        points: 1,
        entries: vec![entry(&"m".repeat(201), vec![(1, 1)])],
    })
    .unwrap_err();
    // A gift entry anywhere else is poison: points go to a gift only
    // through a gift redemption.
    let smuggled = validate(&EventBody::ManualAdjustment {
        member,
        reason: "test".into(),
        approved_by: "manager".into(),
        entries: vec![entry("mug", vec![(1, 400)])],
    })
    .unwrap_err();
    println!(
        "gift redemptions refused: {codes:?}; negative {}, long code {}, in an adjustment {}",
        negative.code.as_str(),
        long_code.code.as_str(),
        smuggled.code.as_str()
    );
    assert!(
        codes.iter().all(|(_, code)| *code == "invalid"),
        "{codes:?}"
    );
    assert_eq!(negative.code, PoisonCode::OutOfBounds);
    assert_eq!(long_code.code, PoisonCode::OutOfBounds);
    assert_eq!(smuggled.code, PoisonCode::Invalid);
    assert!(smuggled.to_string().contains("gift_redeemed"), "{smuggled}");
}
