//! Head office's canonical JSON writer (`sync/hq/src/ingest/canonical.rs`):
//! the text an event's content hash is taken over, which must be byte for
//! byte what the terminal hashes (`OutboxEvent::content_hash`:
//! `serde_json::to_vec` of the event, its body a `serde_json::Value`).
//!
//! Checks, for any text as a body and any envelope:
//! - the writer accepts exactly the texts serde_json reads as JSON;
//! - writing is deterministic (twice, the same bytes);
//! - what it writes is the tree's text (`serde_json::to_vec(&Value)`);
//! - re-parsing what it wrote gives the same value, and writing that
//!   again gives the same bytes (canonical text is a fixed point); except
//!   for floats, which serde_json does not read back exactly without its
//!   `float_roundtrip` feature (no wire type carries a float);
//! - the envelope is written as serde writes it, and envelope + body is
//!   the terminal's text for the whole event (so both ends hash the same).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tillcard_fuzz::Input;
use tillcard_fuzz::canonical::{canonical_body, write_envelope};
use tillcard_protocol::wire::{Envelope, OutboxEvent, TerminalId};
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let envelope = envelope(&mut input);
    let Ok(text) = std::str::from_utf8(input.rest()) else {
        return;
    };

    let mut first = Vec::new();
    let written = canonical_body(text, &mut first);
    let mut second = b"prefix".to_vec();
    let again = canonical_body(text, &mut second);
    assert_eq!(written.is_ok(), again.is_ok());
    assert_eq!(&second[b"prefix".len()..], &first[..], "not deterministic");

    let parsed = serde_json::from_str::<Value>(text);
    let (value, tree) = match (written, parsed) {
        (Ok(tree), Ok(value)) => (value, tree),
        (Err(_), Err(_)) => return,
        (written, parsed) => panic!(
            "writer and serde_json disagree on whether this is JSON: {:?} vs {:?}",
            written.map(|_| ()),
            parsed.map(|_| ())
        ),
    };
    if let Some(tree) = tree {
        assert_eq!(tree, value, "the tree the writer built is not the text's");
    }
    let want = serde_json::to_vec(&value).expect("a Value writes");
    assert_eq!(
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&want),
        "not the tree's text"
    );

    if !has_float(&value) {
        let canonical = std::str::from_utf8(&first).expect("JSON text is UTF-8");
        let reparsed: Value = serde_json::from_str(canonical).expect("canonical text parses");
        assert_eq!(reparsed, value, "re-parsing changed the value");
        let mut fixed = Vec::new();
        canonical_body(canonical, &mut fixed).expect("canonical text is accepted");
        assert_eq!(fixed, first, "canonical text is not a fixed point");
    }

    // The whole event as head office writes it (`ingest::prepare`'s
    // hash_event) and as the terminal does.
    let mut event = Vec::new();
    write_envelope(&mut event, &envelope).expect("an envelope writes");
    assert_eq!(
        event,
        serde_json::to_vec(&envelope).expect("an envelope serializes"),
        "envelope written unlike serde"
    );
    event.pop();
    event.extend_from_slice(b",\"body\":");
    event.extend_from_slice(&first);
    event.push(b'}');
    let terminal = serde_json::to_vec(&OutboxEvent {
        envelope,
        body: value,
    })
    .expect("an event serializes");
    assert_eq!(
        String::from_utf8_lossy(&event),
        String::from_utf8_lossy(&terminal),
        "head office's event text differs from the terminal's"
    );
});

/// An envelope from the front of the input: any ids, numbers and a wall
/// time of any instant and offset chrono can represent (else the epoch).
fn envelope(input: &mut Input<'_>) -> Envelope {
    let event_id = Uuid::from_u128(input.u128());
    let terminal_id = TerminalId(Uuid::from_u128(input.u128()));
    let seq = input.u64();
    let monotonic_ms = input.u64();
    let schema_version = input.u16();
    let seconds = (input.u64() as i64) % 300_000_000_000;
    let nanos = input.u32() % 2_000_000_000;
    let offset = (input.u32() % 172_799) as i32 - 86_399;
    let utc = chrono::DateTime::from_timestamp(seconds, nanos).unwrap_or_default();
    let offset = chrono::FixedOffset::east_opt(offset)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC is an offset"));
    Envelope {
        event_id,
        terminal_id,
        seq,
        wall_time: utc.with_timezone(&offset),
        monotonic_ms,
        schema_version,
    }
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}
