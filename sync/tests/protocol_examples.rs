//! Generator scratch (temporary).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Duration;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use tillcard_rules::booking::{self, Authority, TopUp};
use tillcard_rules::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{Coupon, EarnReason, EntryKind, FlagReason, LedgerEntry, LotDraw};
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, MonthDay, PricingRequest, Shopper,
    StoredValueRequest, TenderRequest,
};
use tillcard_rules::program::{CategoryScope, CouponKind, TierLevel};
use tillcard_rules::refund::{self, RefundLine, SaleHistory};
use tillcard_rules::{MemberAccount, Money, Program};
use tillcard_sync::auth;
use tillcard_sync::protocol::{
    self, Change, ChangesPage, Consent, Envelope, EventBody, MemberSnapshot, OutboxEvent,
    TerminalId, TrustedKey, UploadBatch,
};
use uuid::Uuid;

fn v7(ms: i64, tag: u16) -> Uuid {
    let mut rand = [0u8; 10];
    rand[8..].copy_from_slice(&tag.to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(ms as u64, &rand).into_uuid()
}

fn t0() -> Timestamp {
    Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap()
}

#[test]
fn generate() {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
    let key = SigningKey::from_bytes(&seed);
    let hq_secret = [7u8; 32];
    let hq_public = auth::box_public_key(&hq_secret);
    let lookup_key = [0x42u8; 32];
    let t0ms = t0().timestamp_millis();
    let terminal = TerminalId(v7(t0ms - 86_400_000, 1));
    println!("seed hex {}", protocol::hex(&seed));
    println!("public {}", auth::encode_public_key(&key.verifying_key()));
    println!("terminal {terminal}");
    println!(
        "hq secret hex {} public {hq_public}",
        protocol::hex(&hq_secret)
    );
    println!("lookup key b64 {}", auth::b64(&lookup_key));
    let phone = "13800138000";
    let phone_sealed = auth::seal_to_hq(&hq_public, phone).unwrap();
    let name_sealed = auth::seal_to_hq(&hq_public, "张三").unwrap();
    println!(
        "phone_sealed {phone_sealed} ({} bytes)",
        B64.decode(&phone_sealed).unwrap().len()
    );
    println!("name_sealed {name_sealed}");
    println!("lookup {}", auth::phone_lookup(&lookup_key, phone));
    println!("unix t0 {}", t0().timestamp());

    // GET
    let unix = t0().timestamp();
    let path = "/v1/changes?cursor=c1.0.42";
    let h = auth::sign_request(&key, terminal, "GET", path, unix, b"");
    println!(
        "GET canonical {:?}",
        String::from_utf8(auth::canonical_request("GET", path, unix, b"")).unwrap()
    );
    println!("GET headers {h:?}");

    let program = Program::default();
    let member = MemberId(v7(t0ms, 0x10));
    let mut seq = 0u64;
    let mut clock = t0();
    let mut events = Vec::new();
    let mut push = |body: &EventBody, clock: Timestamp| {
        seq += 1;
        let env = Envelope {
            event_id: v7(clock.timestamp_millis(), 0x100 + seq as u16),
            terminal_id: terminal,
            seq,
            wall_time: clock,
            monotonic_ms: 3_600_000 + seq * 60_000,
            schema_version: protocol::SCHEMA_VERSION,
        };
        events.push(OutboxEvent::new(env, body).unwrap());
    };
    let mut account = MemberAccount::new(member);
    let mut all_entries = Vec::new();
    // 1 enroll
    let src = SourceId(v7(clock.timestamp_millis(), 0x20));
    let entries = booking::book_enrollment(&program, member, clock, src);
    account = MemberAccount::fold(account, &entries);
    all_entries.extend(entries.clone());
    push(
        &EventBody::MemberEnrolled {
            member,
            masked_name: Some("张*".into()),
            masked_phone: "138****8000".into(),
            phone_sealed: phone_sealed.clone(),
            name_sealed: Some(name_sealed.clone()),
            birthday: Some(MonthDay { month: 11, day: 5 }),
            consent: Consent {
                given: true,
                at: clock,
            },
            referrer: None,
            entries,
        },
        clock,
    );
    // 2 top-up
    clock += Duration::minutes(1);
    let src = SourceId(v7(clock.timestamp_millis(), 0x21));
    let entries = booking::book_top_up(
        &program,
        &account,
        &TopUp::Package("500+50".into()),
        clock,
        src,
    )
    .unwrap();
    account = MemberAccount::fold(account, &entries);
    all_entries.extend(entries.clone());
    push(
        &EventBody::TopUp {
            member,
            principal: Money::from_yuan(500),
            bonus: Money::from_yuan(50),
            package: Some("500+50".into()),
            entries,
        },
        clock,
    );
    // 3 birthday coupon
    clock += Duration::minutes(1);
    let profile = MemberProfile {
        id: member,
        birthday: Some(MonthDay { month: 11, day: 5 }),
        referred_by: None,
        balances_known: true,
    };
    let src = SourceId(v7(clock.timestamp_millis(), 0x22));
    let entry = booking::birthday_coupon_due(&program, &profile, &account, clock, src).unwrap();
    account = MemberAccount::fold(account, [&entry]);
    all_entries.push(entry.clone());
    push(
        &EventBody::CouponIssued {
            member,
            entries: vec![entry],
        },
        clock,
    );
    // 4 adjustment
    clock += Duration::minutes(1);
    let src = SourceId(v7(clock.timestamp_millis(), 0x23));
    let entries = booking::book_points_adjustment(&program, &account, 500, clock, src).unwrap();
    account = MemberAccount::fold(account, &entries);
    all_entries.extend(entries.clone());
    push(
        &EventBody::ManualAdjustment {
            member,
            reason: "goodwill: damaged packaging".into(),
            approved_by: "mgr-007".into(),
            entries,
        },
        clock,
    );
    // 5 sale
    clock += Duration::minutes(1);
    let basket = Basket {
        lines: vec![BasketLine {
            sku: "6909876543210".into(),
            name: "东北大米 5kg".into(),
            category: "grocery".into(),
            quantity: 2,
            unit_price: Money::from_fen(2995),
        }],
    };
    let welcome = account.coupons[0].coupon.id;
    let tender = TenderRequest {
        coupons: vec![welcome],
        redeem_points: 200,
        stored_value: StoredValueRequest::UpTo(Money::from_yuan(50)),
    };
    let quote_id = SourceId(v7(clock.timestamp_millis(), 0x24));
    let quote = pricing::price(&PricingRequest {
        quote_id,
        program: &program,
        basket: &basket,
        shopper: Some(Shopper {
            profile: &profile,
            account: &account,
        }),
        context: Context {
            now: clock,
            offline: false,
            offline_allowance_left: Money::from_yuan(500),
        },
        tender: &tender,
    })
    .unwrap();
    let sale_entries =
        booking::book_sale(&program, &quote, &profile, &account, Authority::Terminal).unwrap();
    account = MemberAccount::fold(account, &sale_entries);
    all_entries.extend(sale_entries.clone());
    push(
        &EventBody::SaleBooked {
            quote: Box::new(quote.clone()),
            entries: sale_entries.clone(),
        },
        clock,
    );
    // 6 refund
    clock += Duration::minutes(1);
    let refund_id = SourceId(v7(clock.timestamp_millis(), 0x25));
    let lines = vec![RefundLine {
        line: 0,
        quantity: 1,
    }];
    let outcome = refund::refund(
        SaleHistory {
            quote: &quote,
            entries: &sale_entries,
            refunds: &[],
        },
        Some(&account),
        &lines,
        clock,
        refund_id,
    )
    .unwrap();
    account = MemberAccount::fold(account, &outcome.entries);
    all_entries.extend(outcome.entries.clone());
    push(
        &EventBody::Refunded {
            sale: quote.id,
            refund: refund_id,
            lines,
            approved_by: "mgr-007".into(),
            entries: outcome.entries,
        },
        clock,
    );
    // 7 walk-in
    clock += Duration::minutes(1);
    let walk = pricing::price(&PricingRequest {
        quote_id: SourceId(v7(clock.timestamp_millis(), 0x26)),
        program: &program,
        basket: &Basket {
            lines: vec![BasketLine {
                sku: "6920000000017".into(),
                name: "矿泉水 550ml".into(),
                category: "drinks".into(),
                quantity: 1,
                unit_price: Money::from_fen(200),
            }],
        },
        shopper: None,
        context: Context {
            now: clock,
            offline: false,
            offline_allowance_left: Money::ZERO,
        },
        tender: &TenderRequest::default(),
    })
    .unwrap();
    push(
        &EventBody::SaleBooked {
            quote: Box::new(walk),
            entries: vec![],
        },
        clock,
    );
    // 8 erase
    clock += Duration::minutes(1);
    push(&EventBody::MemberErased { member }, clock);

    let batch = UploadBatch {
        protocol_version: 1,
        terminal_id: terminal,
        events,
        outbox_head_seq: Some(8),
    };
    println!("BATCH\n{}", serde_json::to_string_pretty(&batch).unwrap());

    // POST example: seq 9, top-up for another member.
    let m2 = MemberId(v7(t0ms - 3_600_000, 0x11));
    let at = t0() + Duration::minutes(10);
    let src = SourceId(v7(at.timestamp_millis(), 0x27));
    let entries = booking::book_top_up(
        &program,
        &MemberAccount::new(m2),
        &TopUp::Amount(Money::from_yuan(100)),
        at,
        src,
    )
    .unwrap();
    let ev = OutboxEvent::new(
        Envelope {
            event_id: v7(at.timestamp_millis(), 0x109),
            terminal_id: terminal,
            seq: 9,
            wall_time: at,
            monotonic_ms: 3_600_000 + 10 * 60_000,
            schema_version: 1,
        },
        &EventBody::TopUp {
            member: m2,
            principal: Money::from_yuan(100),
            bonus: Money::ZERO,
            package: None,
            entries,
        },
    )
    .unwrap();
    let post = UploadBatch {
        protocol_version: 1,
        terminal_id: terminal,
        events: vec![ev],
        outbox_head_seq: Some(9),
    };
    let json = serde_json::to_string(&post).unwrap();
    let body = protocol::encode(&post).unwrap();
    let unix = at.timestamp();
    let h = auth::sign_request(&key, terminal, "POST", "/v1/batches", unix, &body);
    println!("POST json ({} bytes)\n{json}", json.len());
    println!("POST body b64 ({} bytes) {}", body.len(), B64.encode(&body));
    println!("POST body head hex {}", protocol::hex(&body[..15]));
    println!("POST body sha {}", protocol::hex(&Sha256::digest(&body)));
    println!(
        "POST canonical {:?}",
        String::from_utf8(auth::canonical_request("POST", "/v1/batches", unix, &body)).unwrap()
    );
    println!("POST headers {h:?}");

    // Entry kinds
    let s = SourceId(v7(t0ms, 0x30));
    let lot = LotId(SourceId(v7(t0ms - 86_400_000 * 30, 0x31)));
    let e = |kind| LedgerEntry {
        member,
        source: s,
        at: t0(),
        kind,
    };
    let coupon = |index: u16, kind, scope| Coupon {
        id: CouponId {
            issued_by: s,
            index,
        },
        code: format!("campaign-{index}"),
        kind,
        scope,
        valid_from: t0(),
        valid_until: t0() + Duration::days(30),
        stacks_with_tier_discount: index != 1,
    };
    let kinds = vec![
        e(EntryKind::PointsEarned {
            lot: LotId(s),
            points: 120,
            expires_at: Timestamp::parse_from_rfc3339("2027-12-01T00:00:00+08:00").unwrap(),
            reason: EarnReason::Purchase,
        }),
        e(EntryKind::PointsRedeemed {
            draws: vec![LotDraw { lot, points: 100 }],
        }),
        e(EntryKind::PointsReturned {
            draws: vec![LotDraw { lot, points: 50 }],
        }),
        e(EntryKind::PointsReversed {
            draws: vec![LotDraw {
                lot: LotId(s),
                points: 60,
            }],
        }),
        e(EntryKind::PointsExpired { lot, points: 30 }),
        e(EntryKind::StoredValueCredited {
            principal: Money::from_yuan(500),
            bonus: Money::from_yuan(50),
            package: Some("500+50".into()),
        }),
        e(EntryKind::StoredValueDebited {
            principal: Money::from_fen(4545),
            bonus: Money::from_fen(455),
        }),
        e(EntryKind::StoredValueReturned {
            principal: Money::from_fen(909),
            bonus: Money::from_fen(91),
        }),
        e(EntryKind::CouponIssued {
            coupon: coupon(
                0,
                CouponKind::AmountOff {
                    off: Money::from_yuan(10),
                    min_spend: Money::from_yuan(50),
                },
                CategoryScope::All,
            ),
        }),
        e(EntryKind::CouponIssued {
            coupon: coupon(
                1,
                CouponKind::PercentOff {
                    off_bp: 2000,
                    cap: Money::from_yuan(30),
                    min_spend: Money::ZERO,
                },
                CategoryScope::Only(vec!["dairy".into(), "bakery".into()]),
            ),
        }),
        e(EntryKind::CouponIssued {
            coupon: coupon(
                2,
                CouponKind::FreeGift {
                    sku: "6900000000001".into(),
                    name: "环保袋".into(),
                    value: Money::from_fen(300),
                    min_spend: Money::from_yuan(100),
                },
                CategoryScope::Except(vec!["tobacco".into()]),
            ),
        }),
        e(EntryKind::CouponUsed {
            coupon: CouponId {
                issued_by: s,
                index: 0,
            },
        }),
        e(EntryKind::CouponRestored {
            coupon: CouponId {
                issued_by: s,
                index: 0,
            },
        }),
        e(EntryKind::QualifyingSpend {
            amount: Money::from_fen(-1074),
        }),
        e(EntryKind::TierChanged {
            from: TierLevel(0),
            to: TierLevel(1),
            provisional: true,
        }),
        e(EntryKind::Flagged {
            reason: FlagReason::NegativePoints { balance: -40 },
        }),
    ];
    println!("KINDS\n{}", serde_json::to_string_pretty(&kinds).unwrap());
    println!(
        "PROGRAM\n{}",
        serde_json::to_string_pretty(&program).unwrap()
    );
    let page = ChangesPage {
        changes: vec![
            Change::TrustedKey {
                key: TrustedKey {
                    key_id: "40960".into(),
                    public_key: auth::encode_public_key(&key.verifying_key()),
                },
            },
            Change::Member {
                snapshot: Box::new(MemberSnapshot {
                    member,
                    masked_name: Some("张*".into()),
                    masked_phone: Some("138****8000".into()),
                    phone_lookup: Some(auth::phone_lookup(&lookup_key, phone)),
                    birthday: Some(MonthDay { month: 11, day: 5 }),
                    tags: vec![],
                    account: account.clone(),
                }),
            },
            Change::Revocation {
                member: Some(member),
                card_serial: Some("2".into()),
            },
            Change::Revocation {
                member: Some(m2),
                card_serial: None,
            },
            Change::Erasure { member },
        ],
        cursor: "c1.0.57".into(),
        more: false,
    };
    println!("PAGE\n{}", serde_json::to_string_pretty(&page).unwrap());
    let _ = all_entries;
}
