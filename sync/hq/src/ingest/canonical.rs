//! The canonical JSON an event's content hash is taken over: the text
//! serde_json writes for the event as a JSON tree (object keys sorted, no
//! whitespace, serde_json's escapes and number forms), which is what
//! [`tillcard_protocol::wire::OutboxEvent::content_hash`] hashes on the terminal.
//!
//! Head office computes it for every event it receives, so it avoids
//! serde's machinery where the answer is certain without it: bodies already
//! in a form that is canonical on sight are copied, and envelopes are
//! written field by field. Anything less plain takes serde_json's own path,
//! and the tests hold the two to the same bytes.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use tillcard_rules::timestamp;

use tillcard_protocol::wire::Envelope;

/// Writes the canonical JSON of a body to `out`: the text
/// `serde_json::to_string(&serde_json::Value)` gives for it (object keys
/// sorted, no whitespace, serde_json's escapes and number forms). Returns
/// the body as a JSON tree only when it had to build one: when some object's
/// keys are not in strictly ascending order (unsorted or repeated keys).
///
/// Bodies from Tillcard terminals are already canonical, and most are
/// plain enough (integers, strings without escapes) for `is_plainly_canonical`
/// to confirm it in one scan of the bytes: they are copied as they are.
/// Other sorted bodies are streamed through serde_json's own scalar
/// formatting without building a tree.
pub fn canonical_body(raw: &str, out: &mut Vec<u8>) -> Result<Option<serde_json::Value>, String> {
    if is_plainly_canonical(raw) {
        out.extend_from_slice(raw.as_bytes());
        return Ok(None);
    }
    let start = out.len();
    let mut de = serde_json::Deserializer::from_str(raw);
    let streamed = Canonical { out: &mut *out }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match streamed {
        Ok(()) => Ok(None),
        Err(_) => {
            // Unsorted or repeated keys (or not JSON at all): the tree
            // sorts and de-duplicates them exactly as before.
            out.truncate(start);
            let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
            serde_json::to_writer(&mut *out, &value).map_err(|e| e.to_string())?;
            Ok(Some(value))
        }
    }
}

/// Streams one JSON value to its canonical text, refusing objects whose
/// keys are not strictly ascending (the caller then builds a tree).
struct Canonical<'o> {
    out: &'o mut Vec<u8>,
}

impl Canonical<'_> {
    fn scalar<T: serde::Serialize + ?Sized, E: de::Error>(self, value: &T) -> Result<(), E> {
        serde_json::to_writer(&mut *self.out, value).map_err(E::custom)
    }
}

impl<'de> DeserializeSeed<'de> for Canonical<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Canonical<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(&v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(&v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(&v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // As serde_json::Value keeps it: a number when finite, else null.
        match serde_json::Number::from_f64(v) {
            Some(n) => self.scalar(&n),
            None => self.scalar(&()),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(&())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            if seq
                .next_element_seed(Canonical {
                    out: &mut *self.out,
                })?
                .is_none()
            {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mut previous: Option<Cow<'de, str>> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == RAW_VALUE_TOKEN {
                return Err(de::Error::custom("serde_json's raw-value token as a key"));
            }
            if let Some(previous) = &previous {
                if key <= *previous {
                    return Err(de::Error::custom("object keys not in ascending order"));
                }
                self.out.push(b',');
            }
            serde_json::to_writer(&mut *self.out, key.as_ref()).map_err(de::Error::custom)?;
            self.out.push(b':');
            map.next_value_seed(Canonical {
                out: &mut *self.out,
            })?;
            previous = Some(key);
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// The key serde_json (with `raw_value`, which head office enables) reads
/// as a raw value rather than an object: `{"$serde_json::private::RawValue":
/// "1"}` is the number 1 to it, and refused when the string is not JSON.
/// Neither fast path copies that; an object with the key takes the tree
/// path, so the body is whatever serde_json makes of it (found by fuzzing).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// An object key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// How deep `is_plainly_canonical` follows nested containers before it
/// leaves the text to serde_json (whose own limit is 128).
const MAX_PLAIN_DEPTH: usize = 64;

/// Whether `raw` is JSON that serde_json's tree would write back byte for
/// byte, judged by its form alone: no whitespace; object keys strictly
/// ascending; strings without escapes or control characters; numbers plain
/// integers of at most 18 digits (never `-0`, which serde_json reads as a
/// float). `false` means only "not sure": the caller takes the full path.
fn is_plainly_canonical(raw: &str) -> bool {
    let mut scan = PlainScan {
        text: raw.as_bytes(),
        at: 0,
    };
    scan.value(0) && scan.at == raw.len()
}

/// A cursor over the text `is_plainly_canonical` judges.
struct PlainScan<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> PlainScan<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => depth < MAX_PLAIN_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_PLAIN_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self.text[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        // 18 digits always fit i64 and u64, so serde_json keeps the
        // integer and writes the same digits back.
        let plain = match &self.text[start..self.at] {
            [] => false,
            [b'0'] => !negative,
            [b'0', ..] => false,
            digits => digits.len() <= 18,
        };
        plain && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))
    }

    /// A string's contents, if it has no escape and no control character
    /// (serde_json writes every other character as itself).
    fn string(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        loop {
            match *self.text.get(self.at)? {
                b'"' => {
                    let contents = &self.text[start..self.at];
                    self.at += 1;
                    return Some(contents);
                }
                b'\\' | 0x00..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&[u8]> = None;
        loop {
            // Byte order is `str` order, the order serde_json's map keeps.
            let Some(key) = self.string() else {
                return false;
            };
            if previous.is_some_and(|previous| key <= previous) || key == RAW_VALUE_TOKEN.as_bytes()
            {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value(depth) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }
}

/// Writes `envelope` as serde_json writes its derived `Serialize`: fields
/// in declaration order, ids as lower-case hyphenated UUIDs, the wall time
/// as chrono writes it ([`timestamp::format`]).
pub fn write_envelope(out: &mut Vec<u8>, envelope: &Envelope) -> Result<(), serde_json::Error> {
    let mut ids = uuid::Uuid::encode_buffer();
    let mut numbers = itoa::Buffer::new();
    out.extend_from_slice(b"{\"event_id\":\"");
    out.extend_from_slice(
        envelope
            .event_id
            .hyphenated()
            .encode_lower(&mut ids)
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"terminal_id\":\"");
    out.extend_from_slice(
        envelope
            .terminal_id
            .0
            .hyphenated()
            .encode_lower(&mut ids)
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"seq\":");
    out.extend_from_slice(numbers.format(envelope.seq).as_bytes());
    out.extend_from_slice(b",\"wall_time\":");
    let mut time = [0; timestamp::MAX_LEN];
    match timestamp::format(&envelope.wall_time, &mut time) {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        None => serde_json::to_writer(&mut *out, &envelope.wall_time)?,
    }
    out.extend_from_slice(b",\"monotonic_ms\":");
    out.extend_from_slice(numbers.format(envelope.monotonic_ms).as_bytes());
    out.extend_from_slice(b",\"schema_version\":");
    out.extend_from_slice(numbers.format(envelope.schema_version).as_bytes());
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, FixedOffset};
    use proptest::prelude::*;
    use serde_json::Value;
    use tillcard_protocol::wire::TerminalId;
    use uuid::Uuid;

    /// The canonical text the tree gives: what every fast path must equal.
    fn through_tree(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        serde_json::to_string(&value).unwrap()
    }

    fn canonical(text: &str) -> String {
        let mut out = b"prefix".to_vec();
        canonical_body(text, &mut out).unwrap();
        String::from_utf8(out[b"prefix".len()..].to_vec()).unwrap()
    }

    #[test]
    fn plain_canonical_text_is_recognised_on_sight() {
        for text in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":-5,"e":"x"}}"#,
            r#"{"":[],"A":{},"a":[[1,[2]],[]],"é":0,"中":"文 / 字"}"#,
            r#"[0,-1,999999999999999999,-999999999999999999]"#,
            r#""just text""#,
            "{}",
            "[]",
            "0",
        ] {
            assert!(is_plainly_canonical(text), "{text}");
            assert_eq!(through_tree(text), text);
            assert_eq!(canonical(text), text);
        }
    }

    #[test]
    fn serde_jsons_raw_value_token_is_read_as_serde_json_reads_it() {
        // A raw value: the string's JSON, here the number 1.
        let text = r#"{"$serde_json::private::RawValue":"1"}"#;
        assert!(!is_plainly_canonical(text));
        assert_eq!(through_tree(text), "1");
        assert_eq!(canonical(text), "1");
        // Not JSON inside: refused, as serde_json refuses it (the fuzzer's
        // input, fuzz/corpus/canonical_json/raw_value_token).
        let text = r#"{"$serde_json::private::RawValue":"----"}"#;
        assert!(serde_json::from_str::<Value>(text).is_err());
        assert!(canonical_body(text, &mut Vec::new()).is_err());
    }

    #[test]
    fn anything_less_plain_is_left_to_serde_json() {
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a": 1}"#,
            r#" {"a":1}"#,
            r#"{"a":1} "#,
            r#"{"a":"\n"}"#,
            r#"{"a\/":1}"#,
            "\"\u{1}\"",
            "-0",
            "01",
            "1.0",
            "1e3",
            "1E3",
            "1234567890123456789",
            "-1234567890123456789",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\"}",
            "[1 2]",
            "",
        ] {
            assert!(!is_plainly_canonical(text), "{text}");
        }
        let deep = format!("{}{}", "[".repeat(80), "]".repeat(80));
        assert!(!is_plainly_canonical(&deep));
        assert_eq!(canonical(&deep), through_tree(&deep));
        let shallow = format!("{}{}", "[".repeat(60), "]".repeat(60));
        assert!(is_plainly_canonical(&shallow));
    }

    fn json() -> impl Strategy<Value = Value> {
        let text = "[abé\"\\\\/\u{0}\u{1f}\u{7f}\u{2028}中]{0,4}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1_000_i64..1_000).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(text, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `value` as JSON text with its object keys reversed when `reverse`
    /// and a space after every separator when `spaced`.
    fn render(value: &Value, reverse: bool, spaced: bool, out: &mut String) {
        let gap = if spaced { " " } else { "" };
        match value {
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        out.push_str(gap);
                    }
                    render(item, reverse, spaced, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                let mut entries: Vec<_> = map.iter().collect();
                if reverse {
                    entries.reverse();
                }
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        out.push_str(gap);
                    }
                    out.push_str(&serde_json::to_string(key).unwrap());
                    out.push(':');
                    out.push_str(gap);
                    render(item, reverse, spaced, out);
                }
                out.push('}');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }

    proptest! {
        #[test]
        fn every_body_gets_the_trees_canonical_text(
            value in json(),
            reverse in any::<bool>(),
            spaced in any::<bool>(),
        ) {
            let mut text = String::new();
            render(&value, reverse, spaced, &mut text);
            let want = through_tree(&text);
            prop_assert_eq!(canonical(&text), want.clone());
            if is_plainly_canonical(&text) {
                prop_assert_eq!(&text, &want);
            }
        }

        #[test]
        fn envelopes_are_written_as_serde_writes_them(
            seconds in -70_000_000_000_i64..300_000_000_000,
            nanos in prop_oneof![
                Just(0_u32),
                (0_u32..1_000).prop_map(|n| n * 1_000_000),
                (0_u32..1_000_000).prop_map(|n| n * 1_000),
                0_u32..2_000_000_000,
            ],
            offset in prop_oneof![
                Just(0_i32),
                (-1_439_i32..1_440).prop_map(|m| m * 60),
                -86_399_i32..86_400,
            ],
            ids in any::<(u128, u128)>(),
            numbers in any::<(u64, u64, u16)>(),
        ) {
            let Some(utc) = DateTime::from_timestamp(seconds, nanos) else {
                return Ok(());
            };
            let Some(offset) = FixedOffset::east_opt(offset) else {
                return Ok(());
            };
            let envelope = Envelope {
                event_id: Uuid::from_u128(ids.0),
                terminal_id: TerminalId(Uuid::from_u128(ids.1)),
                seq: numbers.0,
                wall_time: utc.with_timezone(&offset),
                monotonic_ms: numbers.1,
                schema_version: numbers.2,
            };
            let mut out = Vec::new();
            write_envelope(&mut out, &envelope).unwrap();
            prop_assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&envelope).unwrap()
            );
        }
    }
}
