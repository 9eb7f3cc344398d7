//! Timestamps as JSON text, exactly as chrono's serde support writes and
//! reads them, but without chrono's general-purpose formatter and parser
//! for the shape nearly every timestamp has: a year from 0 to 9999, a
//! whole-minute offset, no leap second. Anything else goes through chrono
//! itself, so the text and the errors stay chrono's.
//!
//! Head office reads and writes several timestamps for every event it
//! receives; chrono's general path was about 6% of its CPU. Use on a
//! [`Timestamp`] field with `#[serde(with = "tillcard_rules::timestamp")]`.

use std::fmt;

use chrono::{Datelike as _, FixedOffset, NaiveDate, NaiveTime, TimeZone as _, Timelike as _};
use serde::{Deserializer, Serialize as _, Serializer, de};

use crate::ids::Timestamp;

/// The longest text [`format`] writes: `9999-12-31T23:59:59.123456789+23:59`.
pub const MAX_LEN: usize = 35;

/// Writes `at` into `buf` as chrono's `Serialize` does (RFC 3339; no
/// fraction, or 3, 6 or 9 digits, whichever is exact; `Z` for a zero
/// offset) and returns the text, or `None` when only chrono can write it:
/// a year outside 0-9999, a leap second, an offset with seconds.
pub fn format<'b>(at: &Timestamp, buf: &'b mut [u8; MAX_LEN]) -> Option<&'b str> {
    let local = at.naive_local();
    let year = u32::try_from(local.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = local.nanosecond();
    let offset = at.offset().local_minus_utc();
    if nanos >= 1_000_000_000 || offset % 60 != 0 {
        return None;
    }
    let mut text = Text { buf, len: 0 };
    text.digits(year, 4);
    text.byte(b'-');
    text.digits(local.month(), 2);
    text.byte(b'-');
    text.digits(local.day(), 2);
    text.byte(b'T');
    text.digits(local.hour(), 2);
    text.byte(b':');
    text.digits(local.minute(), 2);
    text.byte(b':');
    text.digits(local.second(), 2);
    if nanos != 0 {
        text.byte(b'.');
        if nanos.is_multiple_of(1_000_000) {
            text.digits(nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            text.digits(nanos / 1_000, 6);
        } else {
            text.digits(nanos, 9);
        }
    }
    if offset == 0 {
        text.byte(b'Z');
    } else {
        text.byte(if offset < 0 { b'-' } else { b'+' });
        let minutes = offset.unsigned_abs() / 60;
        text.digits(minutes / 60, 2);
        text.byte(b':');
        text.digits(minutes % 60, 2);
    }
    let len = text.len;
    std::str::from_utf8(&buf[..len]).ok()
}

/// A text being written into a fixed buffer (at most [`MAX_LEN`] bytes,
/// which [`format`]'s checks guarantee).
struct Text<'a> {
    buf: &'a mut [u8; MAX_LEN],
    len: usize,
}

impl Text<'_> {
    fn byte(&mut self, byte: u8) {
        self.buf[self.len] = byte;
        self.len += 1;
    }

    /// The last `width` decimal digits of `value`, zero-padded.
    fn digits(&mut self, mut value: u32, width: usize) {
        for slot in self.buf[self.len..self.len + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fraction]` with `Z` or `±HH:MM` (a fraction
/// of 1 to 9 digits) as chrono reads it, or returns `None` for anything
/// else, valid or not, for chrono to judge.
pub fn parse(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = number(&b[0..4])?;
    let month = number(&b[5..7])?;
    let day = number(&b[8..10])?;
    let hour = number(&b[11..13])?;
    let minute = number(&b[14..16])?;
    let second = number(&b[17..19]).filter(|s| *s < 60)?;
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        nanos = number(&fraction[..digits])? * 10u32.pow(9 - digits as u32);
        rest = &fraction[digits..];
    }
    let offset = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = number(&[*h1, *h2]).filter(|h| *h < 24)?;
            let minutes = number(&[*m1, *m2]).filter(|m| *m < 60)?;
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    FixedOffset::east_opt(offset)?
        .from_local_datetime(&date.and_time(time))
        .single()
}

/// The value of a run of ASCII digits (at most 9), or `None`.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &c| {
        c.is_ascii_digit().then(|| value * 10 + u32::from(c - b'0'))
    })
}

/// Serializes a [`Timestamp`] as chrono does (see [`format`]).
pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; MAX_LEN];
    match format(at, &mut buf) {
        Some(text) => serializer.serialize_str(text),
        None => at.serialize(serializer),
    }
}

/// Deserializes a [`Timestamp`] as chrono does (see [`parse`]), with
/// chrono's own error messages.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    deserializer.deserialize_str(Rfc3339Visitor)
}

struct Rfc3339Visitor;

impl de::Visitor<'_> for Rfc3339Visitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // chrono's own wording, so errors read the same either way.
        f.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        match parse(text) {
            Some(at) => Ok(at),
            None => text.parse().map_err(E::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use proptest::prelude::*;

    fn chrono_text(at: &Timestamp) -> String {
        serde_json::to_string(at).unwrap()
    }

    fn ours_text(at: &Timestamp) -> String {
        let mut out = Vec::new();
        serialize(at, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn ours_parse(json: &str) -> Result<Timestamp, String> {
        deserialize(&mut serde_json::Deserializer::from_str(json)).map_err(|e| e.to_string())
    }

    fn chrono_parse(json: &str) -> Result<Timestamp, String> {
        serde_json::from_str::<Timestamp>(json).map_err(|e| e.to_string())
    }

    fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
        (
            -70_000_000_000_i64..300_000_000_000,
            prop_oneof![
                Just(0_u32),
                (0_u32..1_000).prop_map(|n| n * 1_000_000),
                (0_u32..1_000_000).prop_map(|n| n * 1_000),
                0_u32..2_000_000_000,
            ],
            prop_oneof![
                Just(0_i32),
                (-1_439_i32..1_440).prop_map(|m| m * 60),
                -86_399_i32..86_400,
            ],
        )
            .prop_map(|(seconds, nanos, offset)| {
                Some(
                    DateTime::from_timestamp(seconds, nanos)?
                        .with_timezone(&FixedOffset::east_opt(offset)?),
                )
            })
    }

    #[test]
    fn common_shapes_take_the_fast_path() {
        for text in [
            "2026-11-30T13:52:26.210152369Z",
            "2026-11-30T13:52:26Z",
            "2026-11-30T21:52:26.5+08:00",
            "0000-01-01T00:00:00-00:30",
            "9999-12-31T23:59:59.999+23:59",
        ] {
            let at = parse(text).unwrap_or_else(|| panic!("{text} should parse"));
            assert_eq!(Ok(at), chrono_parse(&format!("\"{text}\"")));
        }
        let at = parse("2026-11-30T21:52:26.5+08:00").unwrap();
        let mut buf = [0; MAX_LEN];
        assert_eq!(format(&at, &mut buf), Some("2026-11-30T21:52:26.500+08:00"));
    }

    #[test]
    fn other_shapes_are_left_to_chrono_with_its_errors() {
        for text in [
            "2026-11-30t13:52:26Z",
            "2026-11-30 13:52:26Z",
            "2026-11-30T13:52:26z",
            "2026-11-30T13:52:26+0800",
            "2026-11-30T13:52:26.Z",
            "2026-11-30T13:52:26.1234567891Z",
            "2026-11-30T13:52:60Z",
            "2026-11-30T13:52:26+24:00",
            "2026-02-30T13:52:26Z",
            "2026-13-01T13:52:26Z",
            "+12026-11-30T13:52:26Z",
            "2026-11-30T13:52:26",
            "２026-11-30T13:52:26Z",
        ] {
            assert_eq!(parse(text), None, "{text}");
            let json = format!("\"{text}\"");
            assert_eq!(ours_parse(&json), chrono_parse(&json), "{text}");
        }
        for json in ["5", "null", "[]", "\"\""] {
            assert_eq!(ours_parse(json), chrono_parse(json), "{json}");
        }
    }

    proptest! {
        #[test]
        fn written_as_chrono_writes_and_read_back(at in timestamp()) {
            let Some(at) = at else { return Ok(()) };
            let text = chrono_text(&at);
            prop_assert_eq!(ours_text(&at), text.clone());
            // chrono writes offsets to the minute, so only those read back
            // to the same value; every text reads as chrono reads it.
            prop_assert_eq!(ours_parse(&text), chrono_parse(&text));
            if at.offset().local_minus_utc() % 60 == 0 {
                prop_assert_eq!(ours_parse(&text), Ok(at));
            }
        }

        #[test]
        fn any_near_miss_reads_as_chrono_reads_it(
            at in timestamp(),
            edits in prop::collection::vec((0_usize..40, "[0-9:.+TZz -]"), 0..3),
        ) {
            let Some(at) = at else { return Ok(()) };
            let mut text = chrono_text(&at).trim_matches('"').to_string();
            for (position, replacement) in edits {
                let position = position.min(text.len());
                if text.is_char_boundary(position) && position < text.len() {
                    text.replace_range(position..=position, &replacement);
                } else {
                    text.push_str(&replacement);
                }
            }
            let json = format!("\"{text}\"");
            prop_assert_eq!(ours_parse(&json), chrono_parse(&json), "{}", text);
        }
    }
}
