//! Head office's upload body reader, as `service/http::upload` runs it on
//! a terminal's request body: `wire::gunzip` (one gzip member, at most
//! `MAX_BODY_BYTES` decompressed, nothing after it), then the batch's JSON.
//!
//! Checks, for any bytes as a body:
//! - never more than `MAX_BODY_BYTES` come out, whatever the stream claims
//!   (gzip bombs, lying size trailers);
//! - refused as too large exactly when the member inflates past the limit,
//!   accepted exactly when it inflates within it and nothing follows, and
//!   then with the same bytes as a plain decoder gives;
//! - a batch that parses re-encodes (`wire::encode`) to a body that reads
//!   back to the same batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcard_fuzz::reference_gunzip;
use tillcard_protocol::wire::{self, MAX_BODY_BYTES, ProtocolError, UploadBatch};

fuzz_target!(|body: &[u8]| {
    let got = wire::gunzip(body);
    let reference = reference_gunzip(body, MAX_BODY_BYTES);
    match (&got, &reference) {
        (Ok(json), Some((want, 0))) if want.len() <= MAX_BODY_BYTES => {
            assert_eq!(json, want, "gunzip differs from a plain decoder");
        }
        (Ok(json), _) => panic!(
            "accepted {} bytes the plain decoder does not accept: {:?}",
            json.len(),
            reference.as_ref().map(|(out, left)| (out.len(), *left))
        ),
        (Err(ProtocolError::TooLarge), Some((want, _))) => {
            assert!(
                want.len() > MAX_BODY_BYTES,
                "refused as too large: {}",
                want.len()
            );
        }
        (Err(ProtocolError::TooLarge), None) => {
            // The limit was reached before the stream went bad.
        }
        (Err(_), Some((want, left))) => assert!(
            want.len() > MAX_BODY_BYTES || *left > 0,
            "refused a body a plain decoder reads whole ({} bytes)",
            want.len()
        ),
        (Err(_), None) => {}
    }
    let Ok(json) = got else {
        return;
    };
    assert!(json.len() <= MAX_BODY_BYTES);
    // As head office reads it: UTF-8 once, then the batch.
    let Ok(text) = std::str::from_utf8(&json) else {
        return;
    };
    let Ok(batch) = serde_json::from_str::<UploadBatch>(text) else {
        return;
    };
    let again = wire::encode(&batch).expect("a decoded batch encodes");
    let back: UploadBatch = wire::decode(&again).expect("an encoded batch decodes");
    assert_eq!(back, batch, "a batch changed through encode and decode");
});
