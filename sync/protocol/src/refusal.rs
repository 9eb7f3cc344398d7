//! A whole request refused by head office, by what the terminal should do
//! about it (`sync/PROTOCOL.md`, "Refusal classes"): every error answer
//! carries its [`RefusalClass`] (head office maps each error code to one);
//! an answer without it (an older head office) is classed by its status.
//! Also the placeholder a terminal sends in place of an event it
//! quarantined ([`Quarantined`]), so its sequence stays gapless and head
//! office dead-letters the placeholder for review.

use serde::{Deserialize, Serialize};

/// What a terminal does about a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefusalClass {
    /// Nothing is wrong with the request: head office cannot take it now
    /// (overloaded, its store down). Resend it as is after a backoff.
    RetryLater,
    /// Something outside the request must change first (the terminal's
    /// registration, its clock, a review at head office). Back off, tell
    /// the person, resend as is.
    FixAndRetry,
    /// The request as sent can never be taken (too large, an event head
    /// office will never accept). A batch of more than one event is split;
    /// a single event is quarantined at the terminal.
    Never,
}

impl RefusalClass {
    /// Every class, in the order PROTOCOL.md lists them.
    pub const ALL: [RefusalClass; 3] = [
        RefusalClass::RetryLater,
        RefusalClass::FixAndRetry,
        RefusalClass::Never,
    ];

    /// The class's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalClass::RetryLater => "retry_later",
            RefusalClass::FixAndRetry => "fix_and_retry",
            RefusalClass::Never => "never",
        }
    }

    /// The class of an answer that names none (an older head office), by
    /// its HTTP status: 413 never (a smaller batch may fit); any other 4xx
    /// fix and retry, except 408 and 429; everything else retry later.
    pub fn for_status(status: u16) -> RefusalClass {
        match status {
            413 => RefusalClass::Never,
            408 | 429 => RefusalClass::RetryLater,
            400..=499 => RefusalClass::FixAndRetry,
            _ => RefusalClass::RetryLater,
        }
    }
}

/// The `type` of a quarantine placeholder's body.
pub const QUARANTINED_TYPE: &str = "event_quarantined";

/// The body a terminal sends under an event's envelope (same `event_id`
/// and `seq`) in place of an event head office refused with class
/// `never` on its own: head office stores it as a dead letter
/// (`quarantined`), so the terminal's sequence stays gapless and the loss
/// is reviewed. It carries no part of the event's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Quarantined {
    /// Always [`QUARANTINED_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The quarantined event's type (`sale_booked`, ...).
    pub event_type: String,
    /// Head office's error code when it refused the event (`too_large`,
    /// `bad_event`, ...).
    pub code: String,
    /// The size of the quarantined event's body as JSON, bytes.
    pub body_bytes: u64,
}

impl Quarantined {
    /// The placeholder for an event of `event_type` refused with `code`.
    pub fn new(event_type: &str, code: &str, body_bytes: u64) -> Quarantined {
        Quarantined {
            kind: QUARANTINED_TYPE.to_string(),
            event_type: event_type.chars().take(64).collect(),
            code: code.chars().take(64).collect(),
            body_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn classes_read_and_write_their_wire_names() {
        for class in RefusalClass::ALL {
            let json = serde_json::to_string(&class).unwrap();
            assert_eq!(json, format!("\"{}\"", class.as_str()));
            assert_eq!(serde_json::from_str::<RefusalClass>(&json).unwrap(), class);
        }
    }

    #[test]
    fn an_answer_without_a_class_is_classed_by_its_status() {
        assert_eq!(RefusalClass::for_status(413), RefusalClass::Never);
        assert_eq!(RefusalClass::for_status(400), RefusalClass::FixAndRetry);
        assert_eq!(RefusalClass::for_status(409), RefusalClass::FixAndRetry);
        assert_eq!(RefusalClass::for_status(401), RefusalClass::FixAndRetry);
        assert_eq!(RefusalClass::for_status(429), RefusalClass::RetryLater);
        assert_eq!(RefusalClass::for_status(503), RefusalClass::RetryLater);
        assert_eq!(RefusalClass::for_status(500), RefusalClass::RetryLater);
    }

    #[test]
    fn the_placeholder_names_its_type() {
        let json = serde_json::to_value(Quarantined::new("sale_booked", "too_large", 9)).unwrap();
        assert_eq!(json["type"], QUARANTINED_TYPE);
        assert_eq!(json["event_type"], "sale_booked");
    }
}
