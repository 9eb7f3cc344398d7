//! The worked examples of `sync/PROTOCOL.md`, checked with the real code.
//!
//! The document marks each example with an info string such as
//! ```` ```json example=signed-get ````; this test reads every such block
//! out of the document and holds it to the code: signatures verify over the
//! canonical string the document states, which is the one
//! [`auth::canonical_request`] builds; body hashes are the SHA-256 of the
//! bytes given (the empty body's for a GET); the sealed example opens with
//! the stated secret and its lookup HMAC matches; every ledger entry, event,
//! change and the program decode and read back to the same JSON; the batch
//! with every event kind passes head office's validation and a real head
//! office (SQLite) applies all of it with the ack the document shows. The
//! bounds, error and poison tables are checked against the constants and
//! codes in the code. An example edited wrongly fails here.
//!
//! The examples are written by code, never by hand:
//! `cargo test -p tillcard-hq --test protocol_examples -- --ignored --nocapture`
//! prints fresh blocks (sealed boxes are randomized, everything else comes
//! out the same) to paste into the document when the protocol changes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac as _};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tillcard_hq::error::HqError;
use tillcard_hq::ingest::{self, IngestKeys, PoisonCode, ReceivedBatch};
use tillcard_hq::service::{self, Hq};
use tillcard_hq::store::{Redeemed, Store, StoreError, TerminalRecord};
use tillcard_protocol::auth;
use tillcard_protocol::wire::{
    self, Change, ChangesPage, EventBody, OutboxEvent, TerminalId, UploadAck, UploadBatch,
};
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{EntryKind, LedgerEntry};
use tillcard_rules::{MemberAccount, Money, Program, limits};
use tower::ServiceExt as _;
use uuid::Uuid;

/// The document under test (the build reruns this test when it changes).
const PROTOCOL_MD: &str = include_str!("../../PROTOCOL.md");

/// Every example the document holds, each exactly once.
const LABELS: &[&str] = &[
    "keys",
    "signed-get",
    "signed-get-canonical",
    "signed-post-batch",
    "signed-post-batch-json",
    "signed-post-batch-ack",
    "sealed-phone",
    "entry-kinds",
    "batch-every-kind",
    "batch-ack",
    "changes-page",
    "program",
];

/// SHA-256 of the empty string: what a GET signs as its body hash.
const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// ---------------------------------------------------------------------------
// Reading the document

/// Every fenced block whose info string names `example=<label>`, by label
/// (a label given twice is kept twice, for the uniqueness check).
fn example_blocks() -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in PROTOCOL_MD.lines() {
        match &mut open {
            Some((label, body)) => {
                if line.trim_start().starts_with("```") {
                    blocks.push((std::mem::take(label), body.join("\n")));
                    open = None;
                } else {
                    body.push(line);
                }
            }
            None => {
                if let Some(info) = line.trim_start().strip_prefix("```")
                    && let Some(label) = info
                        .split_whitespace()
                        .find_map(|word| word.strip_prefix("example="))
                {
                    open = Some((label.to_string(), Vec::new()));
                }
            }
        }
    }
    assert!(open.is_none(), "an example block is not closed");
    blocks
}

/// The text of one example (without the fences and the last line break).
fn example(label: &str) -> String {
    let mut found = example_blocks().into_iter().filter(|(l, _)| l == label);
    let (_, text) = found
        .next()
        .unwrap_or_else(|| panic!("PROTOCOL.md has no example={label}"));
    text
}

/// One example read as JSON.
fn example_json(label: &str) -> Value {
    serde_json::from_str(&example(label))
        .unwrap_or_else(|e| panic!("example={label} is not JSON: {e}"))
}

fn str_field<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string field {field}"))
}

fn hex32(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    bytes.try_into().expect("32 bytes of hex")
}

fn sha256_hex(bytes: &[u8]) -> String {
    wire::hex(&Sha256::digest(bytes))
}

/// `value` serialized again after a round trip through `T`: equal to
/// `value` when every field of the example is one `T` has, spelled and
/// typed as `T` writes it.
fn round_trip<T: serde::de::DeserializeOwned + Serialize>(value: &Value, what: &str) -> T {
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{what} does not decode: {e}"));
    assert_eq!(
        &serde_json::to_value(&typed).unwrap(),
        value,
        "{what} does not read back to the same JSON (a field misspelled, extra or missing?)"
    );
    typed
}

/// The example key material (`example=keys`), checked: every public part is
/// the one the stated secret gives.
struct Keys {
    signing: SigningKey,
    terminal: TerminalId,
    hq_box_secret: [u8; 32],
    lookup_key: [u8; 32],
}

fn keys() -> Keys {
    let doc = example_json("keys");
    let seed = hex32(str_field(&doc, "terminal_signing_key_seed_hex"));
    let signing = SigningKey::from_bytes(&seed);
    assert_eq!(
        str_field(&doc, "terminal_public_key"),
        auth::encode_public_key(&signing.verifying_key()),
        "the terminal's public key is the seed's"
    );
    let hq_box_secret = hex32(str_field(&doc, "hq_box_secret_key_hex"));
    assert_eq!(
        str_field(&doc, "hq_box_public_key"),
        auth::box_public_key(&hq_box_secret),
        "head office's X25519 public key is the secret's"
    );
    let lookup_key = auth::decode_32(str_field(&doc, "lookup_key")).unwrap();
    Keys {
        signing,
        terminal: TerminalId(str_field(&doc, "terminal_id").parse().unwrap()),
        hq_box_secret,
        lookup_key,
    }
}

/// Checks a signed-request example (`signed-get`, `signed-post-batch`) and
/// returns its body bytes.
fn check_signed_example(label: &str, keys: &Keys) -> Vec<u8> {
    let doc = example_json(label);
    let method = str_field(&doc, "method");
    let path = str_field(&doc, "path_and_query");
    let timestamp = doc["timestamp"].as_i64().unwrap();
    let body = B64.decode(str_field(&doc, "body_base64")).unwrap();
    assert_eq!(
        str_field(&doc, "body_sha256_hex"),
        sha256_hex(&body),
        "{label}: the body hash is SHA-256 of the body bytes"
    );
    let canonical = str_field(&doc, "canonical_request");
    assert_eq!(
        canonical.as_bytes(),
        auth::canonical_request(method, path, timestamp, &body),
        "{label}: the canonical string is the one auth::canonical_request builds"
    );
    assert_eq!(
        canonical,
        format!(
            "tillcard-v1\n{method}\n{path}\n{timestamp}\n{}",
            sha256_hex(&body)
        ),
        "{label}: the canonical string is the five lines PROTOCOL.md states"
    );
    let headers = &doc["headers"];
    assert_eq!(
        str_field(headers, auth::HEADER_TERMINAL),
        keys.terminal.to_string()
    );
    assert_eq!(
        str_field(headers, auth::HEADER_TIMESTAMP),
        timestamp.to_string()
    );
    let signature = str_field(headers, auth::HEADER_SIGNATURE);
    assert_eq!(
        auth::verify_request(
            &keys.signing.verifying_key(),
            method,
            path,
            timestamp,
            signature,
            &body,
            timestamp,
        ),
        Ok(()),
        "{label}: the signature verifies with the example key"
    );
    // Ed25519 signatures are deterministic: the terminal's code signs the
    // same bytes to the same signature, and its headers are these.
    let signed = auth::sign_request(&keys.signing, keys.terminal, method, path, timestamp, &body);
    assert_eq!(signed.signature, signature, "{label}: re-signed");
    assert_eq!(
        headers.as_object().unwrap().len(),
        3,
        "{label}: three headers"
    );
    body
}

// ---------------------------------------------------------------------------
// The examples, one test each

#[test]
fn the_document_holds_every_example_once() {
    let found: Vec<String> = example_blocks().into_iter().map(|(l, _)| l).collect();
    let unique: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(
        unique.len(),
        found.len(),
        "a label is used twice: {found:?}"
    );
    assert_eq!(
        unique,
        LABELS.iter().copied().collect::<BTreeSet<_>>(),
        "PROTOCOL.md's examples are not the ones this test checks"
    );
}

#[test]
fn example_keys_derive_from_their_stated_secrets() {
    let keys = keys();
    let doc = example_json("keys");
    assert_eq!(
        str_field(&doc, "terminal_signing_key_seed_hex"),
        wire::hex(&std::array::from_fn::<u8, 32, _>(|i| i as u8 + 1)),
        "the seed is bytes 0x01 to 0x20, as the text says"
    );
    assert_eq!(keys.hq_box_secret, [7; 32], "the secret is 32 bytes 0x07");
    assert_eq!(
        keys.lookup_key, [0x42; 32],
        "the lookup key is 32 bytes 0x42"
    );
}

#[test]
fn signed_get_example_signs_the_empty_body_hash() {
    let keys = keys();
    assert_eq!(sha256_hex(b""), EMPTY_BODY_SHA256);
    let body = check_signed_example("signed-get", &keys);
    assert!(body.is_empty(), "a GET has an empty body");
    let doc = example_json("signed-get");
    assert_eq!(str_field(&doc, "method"), "GET");
    assert_eq!(str_field(&doc, "body_sha256_hex"), EMPTY_BODY_SHA256);
    // The canonical string as the text block shows it, line by line.
    assert_eq!(
        example("signed-get-canonical"),
        str_field(&doc, "canonical_request"),
        "the text block is the canonical string"
    );
    assert!(
        PROTOCOL_MD.contains(EMPTY_BODY_SHA256),
        "the text states the empty-body hash"
    );
    // What the terminal's client builds for the same request.
    let creds = tillcard_protocol::client::TerminalCredentials {
        terminal_id: keys.terminal,
        signing_key: keys.signing.clone(),
        hq_box_public_key: auth::box_public_key(&keys.hq_box_secret),
        lookup_key: auth::b64(&keys.lookup_key),
        downlink_key: None,
    };
    let cursor = str_field(&doc, "path_and_query")
        .strip_prefix("/v1/changes?cursor=")
        .unwrap();
    let request = creds.changes_request(Some(cursor), doc["timestamp"].as_i64().unwrap());
    assert_eq!(request.path_and_query, str_field(&doc, "path_and_query"));
    for (name, value) in &request.headers {
        assert_eq!(value, str_field(&doc["headers"], name), "header {name}");
    }
}

#[test]
fn signed_post_example_verifies_over_the_exact_gzip_bytes() {
    let keys = keys();
    let body = check_signed_example("signed-post-batch", &keys);
    let doc = example_json("signed-post-batch");
    assert_eq!(str_field(&doc, "method"), "POST");
    assert_eq!(str_field(&doc, "path_and_query"), "/v1/batches");
    // The body is one gzip member holding exactly the JSON shown.
    let json = example("signed-post-batch-json");
    assert_eq!(
        wire::gunzip(&body).unwrap(),
        json.as_bytes(),
        "the gzip body holds the JSON block, byte for byte"
    );
    // The stored-block framing the text describes: a 10-byte header with no
    // flags, no time and OS 255, one final stored block (LEN, NLEN), the
    // JSON, CRC-32 and the length.
    let len = u16::try_from(json.len()).unwrap();
    let mut framed = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
    framed.extend_from_slice(&len.to_le_bytes());
    framed.extend_from_slice(&(!len).to_le_bytes());
    framed.extend_from_slice(json.as_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(json.as_bytes());
    framed.extend_from_slice(&crc.sum().to_le_bytes());
    framed.extend_from_slice(&u32::from(len).to_le_bytes());
    assert_eq!(body, framed, "a stored-block gzip member");
    // The terminal's own encoder writes exactly these bytes for this batch.
    let batch: UploadBatch = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&batch).unwrap(), json);
    assert_eq!(wire::encode(&batch).unwrap(), body);
    assert_eq!(batch.terminal_id, keys.terminal);
    // Its event is one head office reads and validates.
    for event in &batch.events {
        let body = event.decode_body().unwrap();
        ingest::validate_envelope(&event.envelope).unwrap();
        ingest::validate(&body).unwrap();
    }
    // Bytes after the gzip member are refused.
    let mut trailing = body.clone();
    trailing.push(0);
    assert!(wire::gunzip(&trailing).is_err());
}

#[test]
fn sealed_phone_example_opens_and_its_lookup_matches() {
    let keys = keys();
    let doc = example_json("sealed-phone");
    let phone = str_field(&doc, "phone");
    let sealed = str_field(&doc, "phone_sealed");
    assert_eq!(
        auth::open_sealed(&keys.hq_box_secret, sealed).unwrap(),
        phone
    );
    assert!(auth::is_phone(phone));
    // Layout: 32-byte ephemeral X25519 key, 16-byte Poly1305 tag, then the
    // ciphertext, as long as the plaintext's UTF-8.
    let raw = B64.decode(sealed).unwrap();
    assert_eq!(raw.len(), 32 + 16 + phone.len());
    assert_eq!(B64.encode(&raw), sealed, "standard base64 with padding");
    assert!(sealed.chars().count() <= wire::MAX_SEALED_CHARS);
    assert!(
        auth::open_sealed(&[8; 32], sealed).is_err(),
        "only head office's secret opens it"
    );
    let name = str_field(&doc, "name");
    let name_sealed = str_field(&doc, "name_sealed");
    assert_eq!(
        auth::open_sealed(&keys.hq_box_secret, name_sealed).unwrap(),
        name
    );
    assert_eq!(B64.decode(name_sealed).unwrap().len(), 32 + 16 + name.len());
    // The lookup: HMAC-SHA256 keyed with the 32 bytes of lookup_key over the
    // phone's ASCII digits, in lower-case hex.
    let lookup = str_field(&doc, "phone_lookup");
    assert_eq!(auth::phone_lookup(&keys.lookup_key, phone), lookup);
    let mut mac = Hmac::<Sha256>::new_from_slice(&keys.lookup_key).unwrap();
    mac.update(phone.as_bytes());
    assert_eq!(wire::hex(&mac.finalize().into_bytes()), lookup);
    assert_eq!(
        auth::phone_lookup(&keys.lookup_key, "138-0013-8000"),
        lookup,
        "only the digits are read"
    );
}

/// The name of an entry kind, as its `type` spells it (exhaustive: a new
/// kind fails to compile here until the document shows it).
fn entry_kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::PointsEarned { .. } => "points_earned",
        EntryKind::PointsRedeemed { .. } => "points_redeemed",
        EntryKind::PointsReturned { .. } => "points_returned",
        EntryKind::PointsReversed { .. } => "points_reversed",
        EntryKind::PointsRedeemedForGift { .. } => "points_redeemed_for_gift",
        EntryKind::PointsExpired { .. } => "points_expired",
        EntryKind::StoredValueCredited { .. } => "stored_value_credited",
        EntryKind::StoredValueDebited { .. } => "stored_value_debited",
        EntryKind::StoredValueCashedOut { .. } => "stored_value_cashed_out",
        EntryKind::StoredValueReturned { .. } => "stored_value_returned",
        EntryKind::CouponIssued { .. } => "coupon_issued",
        EntryKind::CouponUsed { .. } => "coupon_used",
        EntryKind::CouponRestored { .. } => "coupon_restored",
        EntryKind::QualifyingSpend { .. } => "qualifying_spend",
        EntryKind::TierChanged { .. } => "tier_changed",
        EntryKind::Flagged { .. } => "flagged",
    }
}

const ENTRY_KINDS: usize = 16;

#[test]
fn entry_kinds_example_has_every_kind_within_bounds() {
    let doc = example_json("entry-kinds");
    let mut kinds = BTreeSet::new();
    let mut coupon_kinds = BTreeSet::new();
    let mut scopes = BTreeSet::new();
    for (i, value) in doc.as_array().unwrap().iter().enumerate() {
        let entry: LedgerEntry = round_trip(value, &format!("entry-kinds[{i}]"));
        limits::check_entry("entry", &entry).unwrap();
        assert_eq!(value["kind"]["type"], entry_kind_name(&entry.kind));
        kinds.insert(entry_kind_name(&entry.kind));
        if let EntryKind::CouponIssued { coupon } = &entry.kind {
            let json = serde_json::to_value(coupon).unwrap();
            coupon_kinds.insert(json["kind"]["kind"].as_str().unwrap().to_string());
            scopes.insert(json["scope"]["scope"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(kinds.len(), ENTRY_KINDS, "every entry kind: {kinds:?}");
    assert_eq!(
        coupon_kinds,
        ["amount_off", "free_gift", "percent_off"]
            .map(String::from)
            .into()
    );
    assert_eq!(scopes, ["all", "except", "only"].map(String::from).into());
}

const EVENT_KINDS: usize = 8;

#[test]
fn batch_example_has_every_event_kind_and_each_validates() {
    let keys = keys();
    let text = example("batch-every-kind");
    let value: Value = serde_json::from_str(&text).unwrap();
    let batch: UploadBatch = round_trip(&value, "batch-every-kind");
    assert_eq!(batch.protocol_version, wire::PROTOCOL_VERSION);
    assert_eq!(batch.terminal_id, keys.terminal);
    let mut kinds = BTreeSet::new();
    for (i, event) in batch.events.iter().enumerate() {
        assert_eq!(event.envelope.seq, i as u64 + 1, "seqs 1, 2, 3...");
        assert_eq!(event.envelope.terminal_id, keys.terminal);
        assert_eq!(event.envelope.schema_version, wire::SCHEMA_VERSION);
        let body = event.decode_body().unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            event.body,
            "event {} reads back to the same JSON (a field misspelled, extra or missing?)",
            i + 1
        );
        assert_eq!(event.body["type"], body.kind());
        kinds.insert(body.kind());
        ingest::validate_envelope(&event.envelope).unwrap();
        ingest::validate(&body).unwrap_or_else(|p| panic!("event {}: {p}", i + 1));
    }
    assert_eq!(kinds.len(), EVENT_KINDS, "every event kind: {kinds:?}");
    assert!(
        batch.events.iter().any(|e| {
            matches!(e.decode_body().unwrap(), EventBody::SaleBooked { quote, .. } if quote.member.is_none())
        }),
        "a walk-in sale too"
    );
    // Head office's own reading of the text as sent: no event is poison,
    // and the sealed phone and name open with the example secret.
    let received = ReceivedBatch::from_json(text.as_bytes()).unwrap();
    let prepared = ingest::prepare(
        &received,
        keys.terminal,
        &IngestKeys {
            box_secret: keys.hq_box_secret,
            personal: tillcard_hq::personal::PersonalKeys::for_tests(),
        },
        Default::default(),
    )
    .unwrap();
    for event in &prepared.events {
        assert!(event.body.is_ok(), "seq {}: {:?}", event.seq, event.body);
    }
    let sealed = example_json("sealed-phone");
    let (member, enrollment) = prepared
        .events
        .iter()
        .find_map(|e| match (&e.body, &e.enrollment) {
            (Ok(EventBody::MemberEnrolled { member, .. }), Some(n)) => Some((*member, n)),
            _ => None,
        })
        .expect("an enrollment");
    // Head office keeps them encrypted at once (`personal`); opened here.
    let opened = tillcard_hq::personal::PersonalKeys::for_tests()
        .open(member, &enrollment.sealed)
        .unwrap();
    assert_eq!(opened.phone.as_deref(), Some(str_field(&sealed, "phone")));
    assert_eq!(opened.name.as_deref(), Some(str_field(&sealed, "name")));
    let enrolled = &batch.events[0].body;
    assert_eq!(enrolled["phone_sealed"], sealed["phone_sealed"]);
    assert_eq!(enrolled["name_sealed"], sealed["name_sealed"]);
}

/// The member of the batch example's enrollment and the entries the batch
/// books for them.
fn batch_member_entries() -> (MemberId, Vec<LedgerEntry>) {
    let batch: UploadBatch = serde_json::from_str(&example("batch-every-kind")).unwrap();
    let bodies: Vec<EventBody> = batch
        .events
        .iter()
        .map(|e| e.decode_body().unwrap())
        .collect();
    let member = bodies[0].member().unwrap();
    let entries = bodies
        .iter()
        .flat_map(EventBody::entries)
        .filter(|e| e.member == member)
        .cloned()
        .collect();
    (member, entries)
}

#[test]
fn changes_page_example_decodes_and_its_member_is_the_batch_fold() {
    let keys = keys();
    let page: ChangesPage = round_trip(&example_json("changes-page"), "changes-page");
    assert!(wire::position_from_cursor(&page.cursor).is_some());
    let (member, entries) = batch_member_entries();
    let mut kinds = BTreeSet::new();
    for change in &page.changes {
        let json = serde_json::to_value(change).unwrap();
        kinds.insert(json["type"].as_str().unwrap().to_string());
        match change {
            Change::Member { snapshot } => {
                assert_eq!(snapshot.member, member);
                assert_eq!(
                    snapshot.account,
                    MemberAccount::fold(MemberAccount::new(member), &entries),
                    "the snapshot's account is the fold of the batch's entries"
                );
                let sealed = example_json("sealed-phone");
                assert_eq!(
                    snapshot.phone_lookup.as_deref(),
                    Some(
                        auth::phone_lookup(&keys.lookup_key, str_field(&sealed, "phone")).as_str()
                    )
                );
            }
            Change::TrustedKey { key, .. } => {
                auth::decode_public_key(&key.public_key).unwrap();
                let id: u16 = key.key_id.parse().unwrap();
                assert!(wire::TERMINAL_CARD_KEY_IDS.contains(&id));
            }
            Change::Revocation {
                member,
                card_serial,
                ..
            } => {
                assert!(member.is_some(), "a revocation names its member");
                if let Some(serial) = card_serial {
                    serial.parse::<u16>().unwrap();
                }
            }
            Change::Erasure { .. }
            | Change::Forget { .. }
            | Change::Item { .. }
            | Change::Program { .. }
            | Change::Coupon { .. }
            | Change::Staff { .. }
            | Change::StaffRemoved { .. } => {}
        }
    }
    assert_eq!(kinds.len(), 4, "member, trusted_key, revocation, erasure");
}

#[test]
fn program_example_is_the_default_program() {
    let program: Program = round_trip(&example_json("program"), "program");
    assert_eq!(program, Program::default());
    program.validate().unwrap();
}

// ---------------------------------------------------------------------------
// The tables

/// The table row (a line starting with `|`) that names `needle`.
fn table_rows(needle: &str) -> Vec<&'static str> {
    PROTOCOL_MD
        .lines()
        .filter(|l| l.starts_with('|') && l.contains(needle))
        .collect()
}

/// `n` with thousands separators (`1,000,000`).
fn grouped(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn bounds_table_states_the_code_s_bounds() {
    let bounds: [(&str, u128); 13] = [
        ("limits::MAX_FEN", limits::MAX_FEN as u128),
        ("limits::MAX_POINTS", limits::MAX_POINTS as u128),
        ("limits::MAX_QUANTITY", limits::MAX_QUANTITY as u128),
        ("limits::MAX_ITEMS", limits::MAX_ITEMS as u128),
        ("limits::MAX_TEXT_CHARS", limits::MAX_TEXT_CHARS as u128),
        (
            "limits::MAX_LONG_TEXT_CHARS",
            limits::MAX_LONG_TEXT_CHARS as u128,
        ),
        (
            "limits::MAX_MULTIPLIER_MILLI",
            limits::MAX_MULTIPLIER_MILLI as u128,
        ),
        (
            "money::BASIS_POINTS",
            tillcard_rules::money::BASIS_POINTS as u128,
        ),
        ("wire::MAX_SEALED_CHARS", wire::MAX_SEALED_CHARS as u128),
        (
            "wire::MAX_APP_VERSION_CHARS",
            wire::MAX_APP_VERSION_CHARS as u128,
        ),
        ("wire::MAX_SEQ", u128::from(wire::MAX_SEQ)),
        ("wire::MAX_BATCH_EVENTS", wire::MAX_BATCH_EVENTS as u128),
        ("wire::MAX_BODY_BYTES", wire::MAX_BODY_BYTES as u128),
    ];
    for (name, value) in bounds {
        let rows = table_rows(&format!("`{name}`"));
        assert!(!rows.is_empty(), "the bounds table has no row for {name}");
        for row in rows {
            assert!(
                row.contains(&grouped(value)),
                "the row for {name} does not state {}: {row}",
                grouped(value)
            );
        }
    }
    assert_eq!(wire::MAX_SEQ, (1 << 53) - 1);
    // The moments: 2000-01-01T00:00:00Z inclusive to 10000-01-01 exclusive.
    let earliest = Timestamp::parse_from_rfc3339("2000-01-01T00:00:00Z").unwrap();
    assert_eq!(earliest.timestamp(), limits::EARLIEST_UNIX_SECONDS);
    let end = chrono::NaiveDate::from_ymd_opt(10_000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    assert_eq!(end.timestamp(), limits::END_UNIX_SECONDS);
    assert!(!table_rows("`2000-01-01T00:00:00Z`").is_empty());
    assert!(!table_rows("`10000-01-01T00:00:00Z`").is_empty());
}

#[test]
fn poison_table_lists_every_poison_code() {
    for code in PoisonCode::ALL {
        assert!(
            !table_rows(&format!("| `{}` |", code.as_str())).is_empty(),
            "the poison table has no row for {}",
            code.as_str()
        );
    }
}

/// Quoted error codes that follow `marker` in `source` (e.g. every code of
/// `HqError::Unauthorized("code", ...)`).
fn codes_after(source: &str, marker: &str) -> Vec<String> {
    source
        .match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = source[i + marker.len()..].trim_start();
            let rest = rest.strip_prefix('"')?;
            let code = &rest[..rest.find('"')?];
            code.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_')
                .then(|| code.to_string())
        })
        .collect()
}

/// The error table's row for `code`: a row whose first cell is a status.
fn error_row(code: &str) -> Option<&'static str> {
    PROTOCOL_MD.lines().find(|line| {
        let status = line.strip_prefix("| ").and_then(|rest| rest.get(..3));
        status.is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
            && line.contains(&format!("`{code}`"))
    })
}

#[test]
fn error_table_lists_every_error_code() {
    let service = [
        include_str!("../src/service/mod.rs"),
        include_str!("../src/service/redeem.rs"),
        include_str!("../src/service/authenticate.rs"),
        include_str!("../src/service/upload.rs"),
        include_str!("../src/service/downlink.rs"),
        include_str!("../src/service/sign_in.rs"),
        include_str!("../src/service/http.rs"),
        include_str!("../src/service/back_office.rs"),
        include_str!("../src/service/checks.rs"),
        include_str!("../src/service/staff.rs"),
        include_str!("../src/service/member_care.rs"),
        include_str!("../src/service/conflicts.rs"),
        include_str!("../src/service/review_queue.rs"),
        include_str!("../src/service/campaigns.rs"),
        include_str!("../src/service/member_money.rs"),
    ]
    .concat();
    let error = include_str!("../src/error.rs");
    // Codes head office's handlers name, with their status.
    let mut expected: BTreeMap<String, u16> = BTreeMap::new();
    for code in codes_after(&service, "Unauthorized(") {
        expected.insert(code, 401);
    }
    for code in codes_after(&service, "Forbidden(") {
        expected.insert(code, 403);
    }
    // The back office's refusals: `bad("code", ...)` is a 400, and each
    // `(StatusCode::X, "code", ...)` its status.
    for code in codes_after(&service, "bad(") {
        expected.insert(code, 400);
    }
    for (marker, status) in [
        ("StatusCode::BAD_REQUEST,", 400),
        ("StatusCode::FORBIDDEN,", 403),
        ("StatusCode::NOT_FOUND,", 404),
        ("StatusCode::CONFLICT,", 409),
    ] {
        for code in codes_after(&service, marker) {
            expected.insert(code, status);
        }
    }
    for required in ["code_unknown", "setup_code_void", "duplicate_staff_name"] {
        assert!(
            expected.contains_key(required),
            "{required} is found in the code"
        );
    }
    // Codes of the error type's other variants.
    let store_error = || StoreError::Corrupt("x".into());
    for e in [
        HqError::BadRequest(String::new()),
        HqError::NotFound,
        HqError::Conflict(String::new()),
        HqError::TooLarge,
        HqError::Unavailable(store_error()),
        HqError::Internal(store_error()),
    ] {
        expected.insert(e.code().to_string(), e.status().as_u16());
    }
    // Codes the JSON error layer gives axum's own refusals.
    for code in codes_after(error, "(status, ") {
        expected.entry(code).or_insert(0);
    }
    for required in ["bad_admin_token", "login_required", "too_large", "unsigned"] {
        assert!(expected.contains_key(required), "{required} is in the code");
    }
    for (code, status) in &expected {
        let row =
            error_row(code).unwrap_or_else(|| panic!("the error table has no row for {code}"));
        if *status != 0 {
            assert!(
                row.starts_with(&format!("| {status} ")),
                "{code} is {status}: {row}"
            );
        }
    }
}

#[test]
fn refusal_class_table_states_the_code_s_classes() {
    for (code, class) in tillcard_hq::error::REFUSAL_CLASSES {
        let row = format!("| `{code}` | `{}` |", class.as_str());
        assert!(
            !table_rows(&row).is_empty(),
            "the refusal class table has no row {row}"
        );
        assert!(
            error_row(code).is_some(),
            "the error table has no row for {code}"
        );
    }
    println!(
        "refusal classes checked: {}",
        tillcard_hq::error::REFUSAL_CLASSES.len()
    );
}

// ---------------------------------------------------------------------------
// A real head office

/// A head office on SQLite whose sealed-box secret is the example's, with
/// the example terminal registered under its id and key.
struct ExampleHq {
    router: axum::Router,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

async fn example_hq(keys: &Keys) -> ExampleHq {
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        tillcard_hq::store::sqlite::SqliteStore::open(&dir.path().join("hq.sqlite")).unwrap();
    let store: Arc<dyn Store> = Arc::new(sqlite);
    store.migrate().await.unwrap();
    // Head office keeps the first value of a setting: its secret is the
    // example's from the start.
    store
        .init_setting("box_secret", &auth::b64(&keys.hq_box_secret))
        .await
        .unwrap();
    let hq = Arc::new(Hq::open(Arc::clone(&store), None).await.unwrap());
    assert_eq!(
        hq.box_public_key(),
        auth::box_public_key(&keys.hq_box_secret)
    );
    let now = chrono::Utc::now().fixed_offset();
    let code = hq.issue_code("S001").await.unwrap();
    // Stored under the hash of its digits, as redemption looks it up.
    let code = auth::sha256_hex(&auth::enroll_code_key(&code));
    let terminal = TerminalRecord {
        terminal_id: keys.terminal,
        store: "S001".into(),
        public_key: auth::encode_public_key(&keys.signing.verifying_key()),
        lookup_key: auth::b64(&keys.lookup_key),
        acked_seq: 0,
        revoked: false,
        card_key: None,
        clock_skew_ms: None,
    };
    let redeemed = store
        .redeem_code(&code, &terminal, now, None)
        .await
        .unwrap();
    assert!(matches!(redeemed, Redeemed::Ok { .. }), "{redeemed:?}");
    ExampleHq {
        router: service::router(hq),
        store,
        _dir: dir,
    }
}

impl ExampleHq {
    /// Sends `body` to `path`, signed now with the example key as
    /// PROTOCOL.md says; the status and the gunzipped answer.
    /// [`Self::send_signed`], answered 200 (else a failure with the
    /// answer's words): the answer's JSON.
    async fn answer_of<T: serde::de::DeserializeOwned>(
        &self,
        keys: &Keys,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> T {
        let (status, answer) = self.send_signed(keys, method, path, body).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer)
        );
        serde_json::from_slice(&answer).unwrap()
    }

    async fn send_signed(
        &self,
        keys: &Keys,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Vec<u8>) {
        let headers = auth::sign_request(
            &keys.signing,
            keys.terminal,
            method,
            path,
            chrono::Utc::now().timestamp(),
            &body,
        );
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers.pairs() {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request
                .header("content-type", wire::CONTENT_TYPE)
                .header("content-encoding", wire::CONTENT_ENCODING);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let answer = if status.is_success() {
            wire::gunzip(&bytes).unwrap()
        } else {
            bytes.to_vec()
        };
        (status, answer)
    }
}

/// The JSON text as a gzip body (the stored framing the terminal uses for
/// small bodies would do as well; any gzip member is read).
fn gzip(json: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(json.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_office_applies_the_batch_then_the_signed_post() {
    let keys = keys();
    let hq = example_hq(&keys).await;
    // The batch with every event kind, exactly as the document writes it.
    let ack: UploadAck = hq
        .answer_of(
            &keys,
            "POST",
            "/v1/batches",
            gzip(&example("batch-every-kind")),
        )
        .await;
    let expected: UploadAck = round_trip(&example_json("batch-ack"), "batch-ack");
    assert_eq!(ack, expected);
    let batch: UploadBatch = serde_json::from_str(&example("batch-every-kind")).unwrap();
    assert_eq!(
        ack.applied as usize,
        batch.events.len(),
        "every event applied"
    );
    // The signed POST's body, byte for byte, signed now.
    let post = B64
        .decode(str_field(&example_json("signed-post-batch"), "body_base64"))
        .unwrap();
    let ack: UploadAck = hq.answer_of(&keys, "POST", "/v1/batches", post).await;
    let expected: UploadAck = round_trip(
        &example_json("signed-post-batch-ack"),
        "signed-post-batch-ack",
    );
    assert_eq!(ack, expected);
    assert!(hq.store.dead_letters().await.unwrap().is_empty());
    assert!(hq.store.terminal_flags().await.unwrap().is_empty());
    // The signed GET's request, signed now.
    let path = str_field(&example_json("signed-get"), "path_and_query").to_string();
    let _page: ChangesPage = hq.answer_of(&keys, "GET", &path, Vec::new()).await;
    // The documented example at its own timestamp is stale today.
    let doc = example_json("signed-get");
    let mut request = Request::builder().method("GET").uri(&path);
    for (name, value) in doc["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    let response = hq
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let error: wire::ErrorBody = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(error.error, "stale_request");
}

// ---------------------------------------------------------------------------
// Writing the examples

mod regenerate {
    //! Prints every example block from the real code, for the document.

    use super::*;
    use chrono::Duration;
    use tillcard_protocol::wire::{Consent, Envelope, MemberSnapshot, TrustedKey};
    use tillcard_rules::booking::{self, Authority, TopUp};
    use tillcard_rules::gifts;
    use tillcard_rules::ids::{CouponId, LotId};
    use tillcard_rules::ledger::{Coupon, EarnReason, FlagReason, LotDraw};
    use tillcard_rules::pricing::{
        self, Basket, BasketLine, Context, MemberProfile, MonthDay, PricingRequest, Shopper,
        StoredValueRequest, TenderRequest,
    };
    use tillcard_rules::program::{CategoryScope, CouponKind, Gift, TierLevel};
    use tillcard_rules::refund::{self, RefundLine, SaleHistory};

    /// The example secrets: bytes 0x01..0x20, 32 × 0x07, 32 × 0x42.
    const SEED: [u8; 32] = {
        let mut seed = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            seed[i] = i as u8 + 1;
            i += 1;
        }
        seed
    };
    const HQ_BOX_SECRET: [u8; 32] = [7; 32];
    const LOOKUP_KEY: [u8; 32] = [0x42; 32];
    const PHONE: &str = "13800138000";
    const NAME: &str = "张三";

    /// A UUIDv7 at `ms` with `tag` as its last bytes: fixed, and readable.
    fn v7(ms: i64, tag: u16) -> Uuid {
        let mut random = [0u8; 10];
        random[8..].copy_from_slice(&tag.to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(ms).unwrap(), &random).into_uuid()
    }

    fn t0() -> Timestamp {
        Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap()
    }

    /// JSON laid out for reading: a value on one line when it fits in 100
    /// columns, else one member a line; `type` first, envelopes and batches
    /// in their declared order, entries as member, source, at, kind; other keys
    /// sorted (as terminals send them; any order reads the same).
    fn layout(value: &Value) -> String {
        let mut out = String::new();
        write_value(value, 0, 0, &mut out);
        out
    }

    fn ordered(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
        const FIRST: &[&str] = &[
            "type",
            "flag",
            "id",
            "protocol_version",
            "event_id",
            "terminal_id",
            "seq",
            "wall_time",
            "monotonic_ms",
            "schema_version",
            "events",
            "outbox_head_seq",
            "app_version",
            "member",
            "source",
            "at",
            "kind",
        ];
        let rank = |k: &str| FIRST.iter().position(|f| *f == k).unwrap_or(FIRST.len());
        let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
        // `body` after the envelope; `changes` before `cursor`.
        pairs.sort_by_key(|(k, _)| (rank(k), k.as_str() == "body", (*k).clone()));
        pairs
    }

    fn one_line(value: &Value) -> String {
        match value {
            Value::Object(map) => {
                let members: Vec<String> = ordered(map)
                    .into_iter()
                    .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), one_line(v)))
                    .collect();
                format!("{{{}}}", members.join(", "))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(one_line).collect();
                format!("[{}]", items.join(", "))
            }
            scalar => scalar.to_string(),
        }
    }

    fn write_value(value: &Value, indent: usize, prefix: usize, out: &mut String) {
        let line = one_line(value);
        if indent + prefix + line.chars().count() <= 100 {
            out.push_str(&line);
            return;
        }
        let pad = " ".repeat(indent + 2);
        match value {
            Value::Object(map) => {
                out.push_str("{\n");
                let pairs = ordered(map);
                for (i, (k, v)) in pairs.iter().enumerate() {
                    let key = format!("{}: ", Value::from(k.as_str()));
                    out.push_str(&pad);
                    out.push_str(&key);
                    write_value(v, indent + 2, key.chars().count(), out);
                    out.push_str(if i + 1 < pairs.len() { ",\n" } else { "\n" });
                }
                out.push_str(&" ".repeat(indent));
                out.push('}');
            }
            Value::Array(items) => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    out.push_str(&pad);
                    write_value(v, indent + 2, 0, out);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&" ".repeat(indent));
                out.push(']');
            }
            _ => out.push_str(&line),
        }
    }

    fn block(lang: &str, label: &str, text: &str) {
        println!("```{lang} example={label}\n{text}\n```\n");
    }

    fn signed_example(
        key: &SigningKey,
        terminal: TerminalId,
        method: &str,
        path: &str,
        unix: i64,
        body: &[u8],
    ) -> Value {
        let headers = auth::sign_request(key, terminal, method, path, unix, body);
        serde_json::json!({
            "method": method,
            "path_and_query": path,
            "timestamp": unix,
            "body_base64": B64.encode(body),
            "body_sha256_hex": sha256_hex(body),
            "canonical_request": String::from_utf8(auth::canonical_request(method, path, unix, body)).unwrap(),
            "headers": {
                auth::HEADER_TERMINAL: headers.terminal,
                auth::HEADER_TIMESTAMP: headers.timestamp,
                auth::HEADER_SIGNATURE: headers.signature,
            },
        })
    }

    /// Books the batch with every event kind with the real rules; returns
    /// it, the member's account after it and the member.
    fn batch(
        terminal: TerminalId,
        phone_sealed: &str,
        name_sealed: &str,
    ) -> (UploadBatch, MemberAccount, MemberId) {
        let program = Program::default();
        let t0ms = t0().timestamp_millis();
        let member = MemberId(v7(t0ms, 0x10));
        let birthday = MonthDay { month: 11, day: 5 };
        let profile = MemberProfile {
            id: member,
            birthday: Some(birthday),
            referred_by: None,
            balances_known: true,
            frozen: false,
        };
        let mut events = Vec::new();
        let mut clock = t0();
        let mut push = |body: &EventBody, clock: Timestamp| {
            let seq = events.len() as u64 + 1;
            let envelope = Envelope {
                event_id: v7(clock.timestamp_millis(), 0x100 + seq as u16),
                terminal_id: terminal,
                seq,
                wall_time: clock,
                monotonic_ms: 3_600_000 + seq * 60_000,
                schema_version: wire::SCHEMA_VERSION,
            };
            events.push(OutboxEvent::new(envelope, body).unwrap());
        };
        let mut account = MemberAccount::new(member);
        let source = |clock: Timestamp, tag| SourceId(v7(clock.timestamp_millis(), tag));

        // 1. Enrollment with the welcome coupon.
        let entries = booking::book_enrollment(&program, member, clock, source(clock, 0x20));
        account = MemberAccount::fold(account, &entries);
        push(
            &EventBody::MemberEnrolled {
                member,
                masked_name: Some("张*".into()),
                masked_phone: "138****8000".into(),
                phone_sealed: phone_sealed.into(),
                name_sealed: Some(name_sealed.into()),
                birthday: Some(birthday),
                consent: Consent {
                    given: true,
                    at: clock,
                },
                referrer: None,
                entries,
            },
            clock,
        );
        // 2. A top-up package.
        clock += Duration::minutes(1);
        let package = TopUp::Package("500+50".into());
        let entries =
            booking::book_top_up(&program, &account, &package, clock, source(clock, 0x21)).unwrap();
        account = MemberAccount::fold(account, &entries);
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
        // 3. The birthday coupon.
        clock += Duration::minutes(1);
        let entry =
            booking::birthday_coupon_due(&program, &profile, &account, clock, source(clock, 0x22))
                .unwrap();
        account = MemberAccount::fold(account, [&entry]);
        push(
            &EventBody::CouponIssued {
                member,
                entries: vec![entry],
            },
            clock,
        );
        // 4. Points added by a manager.
        clock += Duration::minutes(1);
        let entries =
            booking::book_points_adjustment(&program, &account, 500, clock, source(clock, 0x23))
                .unwrap();
        account = MemberAccount::fold(account, &entries);
        push(
            &EventBody::ManualAdjustment {
                member,
                reason: "goodwill: damaged packaging".into(),
                approved_by: "mgr-007".into(),
                entries,
            },
            clock,
        );
        // 5. A member's sale: welcome coupon, 200 points, ¥30 stored value.
        clock += Duration::minutes(1);
        let basket = Basket {
            lines: vec![BasketLine {
                sku: "6909876543210".into(),
                name: "东北大米 5kg".into(),
                category: "grocery".into(),
                quantity: 2,
                unit_price: Money::from_fen(2995),
                list_price: None,
            }],
        };
        let tender = TenderRequest {
            coupons: vec![account.coupons[0].coupon.id],
            redeem_points: 200,
            stored_value: StoredValueRequest::UpTo(Money::from_yuan(30)),
        };
        let quote = pricing::price(&PricingRequest {
            quote_id: source(clock, 0x24),
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
        let sale =
            booking::book_sale(&program, &quote, &profile, &account, Authority::Terminal).unwrap();
        account = MemberAccount::fold(account, &sale);
        push(
            &EventBody::SaleBooked {
                quote: Box::new(quote.clone()),
                entries: sale.clone(),
                payment: None,
            },
            clock,
        );
        // 6. One of the two bags refunded.
        clock += Duration::minutes(1);
        let refund_id = source(clock, 0x25);
        let lines = vec![RefundLine {
            line: 0,
            quantity: 1,
        }];
        let outcome = refund::refund(
            SaleHistory {
                quote: &quote,
                entries: &sale,
                refunds: &[],
            },
            Some(&account),
            &lines,
            clock,
            refund_id,
        )
        .unwrap();
        account = MemberAccount::fold(account, &outcome.entries);
        push(
            &EventBody::Refunded {
                sale: quote.id,
                refund: refund_id,
                lines,
                approved_by: "mgr-007".into(),
                entries: outcome.entries,
                tenders: None,
                sale_terminal: None,
            },
            clock,
        );
        // 7. A gift of the catalogue for 300 points (the default program
        // has no catalogue; this one has a mug).
        clock += Duration::minutes(1);
        let with_gifts = Program {
            gifts: vec![Gift {
                code: "mug".into(),
                name: "保温杯".into(),
                points: 300,
                active: true,
            }],
            ..Program::default()
        };
        let entries = gifts::book_gift_redemption(
            &with_gifts,
            &profile,
            &account,
            "mug",
            clock,
            source(clock, 0x28),
        )
        .unwrap();
        account = MemberAccount::fold(account, &entries);
        push(
            &EventBody::GiftRedeemed {
                member,
                gift: "mug".into(),
                points: 300,
                entries,
            },
            clock,
        );
        // 8. A walk-in sale.
        clock += Duration::minutes(1);
        let walk_in = pricing::price(&PricingRequest {
            quote_id: source(clock, 0x26),
            program: &program,
            basket: &Basket {
                lines: vec![BasketLine {
                    sku: "6920000000017".into(),
                    name: "矿泉水 550ml".into(),
                    category: "drinks".into(),
                    quantity: 1,
                    unit_price: Money::from_fen(200),
                    list_price: None,
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
                quote: Box::new(walk_in),
                entries: vec![],
                payment: None,
            },
            clock,
        );
        // 9. The member asks to be erased.
        clock += Duration::minutes(1);
        push(&EventBody::MemberErased { member }, clock);
        let batch = UploadBatch {
            protocol_version: wire::PROTOCOL_VERSION,
            terminal_id: terminal,
            outbox_head_seq: Some(events.len() as u64),
            app_version: None,
            audit: None,
            epoch: None,
            events,
        };
        (batch, account, member)
    }

    /// The next upload: a plain top-up of ¥100 for another member, seq 10.
    fn next_upload(terminal: TerminalId) -> UploadBatch {
        let program = Program::default();
        let member = MemberId(v7(t0().timestamp_millis() - 3_600_000, 0x11));
        let at = t0() + Duration::minutes(10);
        let principal = Money::from_yuan(100);
        let entries = booking::book_top_up(
            &program,
            &MemberAccount::new(member),
            &TopUp::Amount(principal),
            at,
            SourceId(v7(at.timestamp_millis(), 0x27)),
        )
        .unwrap();
        let event = OutboxEvent::new(
            Envelope {
                event_id: v7(at.timestamp_millis(), 0x10a),
                terminal_id: terminal,
                seq: 10,
                wall_time: at,
                monotonic_ms: 3_600_000 + 11 * 60_000,
                schema_version: wire::SCHEMA_VERSION,
            },
            &EventBody::TopUp {
                member,
                principal,
                bonus: Money::ZERO,
                package: None,
                entries,
            },
        )
        .unwrap();
        UploadBatch {
            protocol_version: wire::PROTOCOL_VERSION,
            terminal_id: terminal,
            events: vec![event],
            outbox_head_seq: Some(10),
            app_version: Some("0.1.0".into()),
            audit: None,
            epoch: None,
        }
    }

    /// One entry of every kind, and a coupon of every kind and scope.
    fn entry_kinds(member: MemberId) -> Vec<LedgerEntry> {
        let source = SourceId(v7(t0().timestamp_millis(), 0x30));
        let old_lot = LotId(SourceId(v7(
            t0().timestamp_millis() - 30 * 86_400_000,
            0x31,
        )));
        let entry = |kind| LedgerEntry {
            member,
            source,
            at: t0(),
            kind,
        };
        let coupon = |index: u16, kind, scope| Coupon {
            id: CouponId {
                issued_by: source,
                index,
            },
            code: format!("campaign-{index}"),
            kind,
            scope,
            valid_from: t0(),
            valid_until: t0() + Duration::days(30),
            stacks_with_tier_discount: index != 1,
        };
        let draws = |lot, points| vec![LotDraw { lot, points }];
        vec![
            entry(EntryKind::PointsEarned {
                lot: LotId(source),
                points: 120,
                expires_at: Timestamp::parse_from_rfc3339("2027-12-01T00:00:00+08:00").unwrap(),
                reason: EarnReason::Purchase,
            }),
            entry(EntryKind::PointsRedeemed {
                draws: draws(old_lot, 100),
            }),
            entry(EntryKind::PointsReturned {
                draws: draws(old_lot, 50),
            }),
            entry(EntryKind::PointsReversed {
                draws: draws(LotId(source), 60),
            }),
            entry(EntryKind::PointsRedeemedForGift {
                gift: "mug".into(),
                draws: draws(old_lot, 300),
            }),
            entry(EntryKind::PointsExpired {
                lot: old_lot,
                points: 30,
            }),
            entry(EntryKind::StoredValueCredited {
                principal: Money::from_yuan(500),
                bonus: Money::from_yuan(50),
                package: Some("500+50".into()),
            }),
            entry(EntryKind::StoredValueDebited {
                principal: Money::from_fen(4545),
                bonus: Money::from_fen(455),
            }),
            entry(EntryKind::StoredValueCashedOut {
                principal: Money::from_yuan(200),
                bonus: Money::from_yuan(20),
            }),
            entry(EntryKind::StoredValueReturned {
                principal: Money::from_fen(909),
                bonus: Money::from_fen(91),
            }),
            entry(EntryKind::CouponIssued {
                coupon: coupon(
                    0,
                    CouponKind::AmountOff {
                        off: Money::from_yuan(10),
                        min_spend: Money::from_yuan(50),
                    },
                    CategoryScope::All,
                ),
            }),
            entry(EntryKind::CouponIssued {
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
            entry(EntryKind::CouponIssued {
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
            entry(EntryKind::CouponUsed {
                coupon: CouponId {
                    issued_by: source,
                    index: 0,
                },
            }),
            entry(EntryKind::CouponRestored {
                coupon: CouponId {
                    issued_by: source,
                    index: 0,
                },
            }),
            entry(EntryKind::QualifyingSpend {
                amount: Money::from_fen(-1074),
            }),
            entry(EntryKind::TierChanged {
                from: TierLevel(0),
                to: TierLevel(1),
                provisional: true,
            }),
            entry(EntryKind::Flagged {
                reason: FlagReason::NegativePoints { balance: -40 },
            }),
        ]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "prints the examples for PROTOCOL.md; run with --ignored --nocapture"]
    async fn print_examples() {
        let signing = SigningKey::from_bytes(&SEED);
        let terminal = TerminalId(v7(t0().timestamp_millis() - 86_400_000, 1));
        let hq_public = auth::box_public_key(&HQ_BOX_SECRET);
        block(
            "json",
            "keys",
            &layout(&serde_json::json!({
                "terminal_signing_key_seed_hex": wire::hex(&SEED),
                "terminal_public_key": auth::encode_public_key(&signing.verifying_key()),
                "terminal_id": terminal,
                "hq_box_secret_key_hex": wire::hex(&HQ_BOX_SECRET),
                "hq_box_public_key": hq_public,
                "lookup_key": auth::b64(&LOOKUP_KEY),
            })),
        );
        // The GET.
        let get = signed_example(
            &signing,
            terminal,
            "GET",
            "/v1/changes?cursor=c1.0.42",
            t0().timestamp(),
            b"",
        );
        block("json", "signed-get", &layout(&get));
        block(
            "text",
            "signed-get-canonical",
            get["canonical_request"].as_str().unwrap(),
        );
        // Sealed personal data.
        let phone_sealed = auth::seal_to_hq(&hq_public, PHONE).unwrap();
        let name_sealed = auth::seal_to_hq(&hq_public, NAME).unwrap();
        block(
            "json",
            "sealed-phone",
            &layout(&serde_json::json!({
                "phone": PHONE,
                "phone_sealed": phone_sealed,
                "name": NAME,
                "name_sealed": name_sealed,
                "phone_lookup": auth::phone_lookup(&LOOKUP_KEY, PHONE),
            })),
        );
        // The batch, and what a head office answers to it.
        let (batch, account, member) = batch(terminal, &phone_sealed, &name_sealed);
        let batch_text = layout(&serde_json::to_value(&batch).unwrap());
        block("json", "batch-every-kind", &batch_text);
        let keys = Keys {
            signing: signing.clone(),
            terminal,
            hq_box_secret: HQ_BOX_SECRET,
            lookup_key: LOOKUP_KEY,
        };
        let hq = example_hq(&keys).await;
        let ack: Value = hq
            .answer_of(&keys, "POST", "/v1/batches", gzip(&batch_text))
            .await;
        block("json", "batch-ack", &layout(&ack));
        // The next upload, signed.
        let next = next_upload(terminal);
        let json = serde_json::to_string(&next).unwrap();
        let body = wire::encode(&next).unwrap();
        let at = t0() + Duration::minutes(10);
        let post = signed_example(
            &signing,
            terminal,
            "POST",
            "/v1/batches",
            at.timestamp(),
            &body,
        );
        block("json", "signed-post-batch", &layout(&post));
        block("json", "signed-post-batch-json", &json);
        let ack: Value = hq.answer_of(&keys, "POST", "/v1/batches", body).await;
        block("json", "signed-post-batch-ack", &layout(&ack));
        // Shapes.
        block(
            "json",
            "entry-kinds",
            &layout(&serde_json::to_value(entry_kinds(member)).unwrap()),
        );
        let page = ChangesPage {
            changes: vec![
                Change::TrustedKey {
                    key: TrustedKey::unbounded(
                        "40960",
                        auth::encode_public_key(&signing.verifying_key()),
                    ),
                    signature: None,
                },
                Change::Member {
                    snapshot: Box::new(MemberSnapshot {
                        member,
                        masked_name: Some("张*".into()),
                        masked_phone: Some("138****8000".into()),
                        phone_lookup: Some(auth::phone_lookup(&LOOKUP_KEY, PHONE)),
                        birthday: Some(MonthDay { month: 11, day: 5 }),
                        tags: vec![],
                        referrer: None,
                        frozen: false,
                        card_serial: None,
                        merged_into: None,
                        card: None,
                        account,
                    }),
                },
                Change::Revocation {
                    member: Some(member),
                    card_serial: Some("2".into()),
                    signature: None,
                },
                Change::Erasure { member },
            ],
            cursor: "c1.0.57".into(),
            more: false,
            acked_seq: None,
            resync: false,
        };
        block(
            "json",
            "changes-page",
            &layout(&serde_json::to_value(&page).unwrap()),
        );
        block(
            "json",
            "program",
            &layout(&serde_json::to_value(Program::default()).unwrap()),
        );
    }
}
