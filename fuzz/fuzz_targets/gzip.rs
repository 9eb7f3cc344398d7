//! The protocol's gzip both ways: `wire::encode` (a stored block up to
//! 1 KiB, deflate above) and `wire::gunzip`.
//!
//! Checks, for any text as a payload:
//! - what `wire::encode` writes, `wire::gunzip` reads back byte for byte,
//!   and `wire::decode` gives the same value;
//! - the same payload compressed by flate2 at any level reads back the same;
//! - one more byte after the member, or the member cut short anywhere, is
//!   refused (a body no signature check or reader looked at in full);
//! - any one byte changed is refused or reads back to the same payload
//!   (the header's time, flags and OS bytes are not checked; the data is,
//!   by its CRC and length).
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use tillcard_fuzz::Input;
use tillcard_protocol::wire;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let level = input.u8() % 10;
    let cut = input.u32();
    let flip = input.u32();
    let mask = input.u8() | 1;
    let payload = String::from_utf8_lossy(input.rest()).into_owned();

    let body = wire::encode(&payload).expect("a string encodes");
    let json = wire::gunzip(&body).expect("what encode writes gunzips");
    assert_eq!(
        json,
        serde_json::to_vec(&payload).expect("a string is JSON")
    );
    let back: String = wire::decode(&body).expect("what encode writes decodes");
    assert_eq!(back, payload);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level.into()));
    gz.write_all(payload.as_bytes()).expect("writes to a Vec");
    let other = gz.finish().expect("writes to a Vec");
    assert_eq!(
        wire::gunzip(&other).expect("flate2's gzip gunzips"),
        payload.as_bytes()
    );

    for body in [&body, &other] {
        let mut longer = body.clone();
        longer.push(flip as u8);
        assert!(
            wire::gunzip(&longer).is_err(),
            "a byte after the member was accepted"
        );

        let at = cut as usize % body.len();
        assert!(
            wire::gunzip(&body[..at]).is_err(),
            "a body cut at {at} was accepted"
        );

        let at = flip as usize % body.len();
        let mut changed = body.clone();
        changed[at] ^= mask;
        if let Ok(out) = wire::gunzip(&changed) {
            assert_eq!(
                out,
                body_payload(body),
                "byte {at} changed the payload unnoticed"
            );
        }
    }
});

/// What `body` was made from (it is known to gunzip).
fn body_payload(body: &[u8]) -> Vec<u8> {
    wire::gunzip(body).unwrap_or_default()
}
