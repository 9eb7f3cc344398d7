//! Decode rate on the 90 real photos in tests/data/qr (zxing-cpp samples):
//! a regression guard for the decoders, not a benchmark (see benches/scan.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

use std::path::PathBuf;

use tillcard::cli::expected_text;
use tillcard::scan::decode::DecoderKind;
use tillcard::scan::file_source::{image_paths, load_luma};

fn decoded(kind: DecoderKind) -> (usize, usize) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qr");
    let mut d = kind.build();
    let (mut ok, mut total) = (0, 0);
    for p in image_paths(&[dir]).unwrap() {
        let want = expected_text(&p).unwrap();
        total += 1;
        let got = d.decode(&load_luma(&p).unwrap());
        if got.as_deref().map(|t| t.trim_end_matches(['\r', '\n'])) == Ok(want.as_str()) {
            ok += 1;
        }
    }
    (ok, total)
}

#[test]
fn combined_decoder_beats_zxing_cpp_reference_on_the_photos() {
    let (ok, total) = decoded(DecoderKind::Combined);
    assert_eq!(total, 90);
    // zxing-cpp 3.1 reads 87 of these; the combined decoder reads 89.
    assert!(ok >= 89, "combined decoded {ok}/{total}");
}

#[test]
fn combined_decoder_beats_each_decoder_alone() {
    let (combined, _) = decoded(DecoderKind::Combined);
    let (rxing, _) = decoded(DecoderKind::Rxing);
    let (rqrr, _) = decoded(DecoderKind::Rqrr);
    assert!(rxing >= 80, "rxing {rxing}");
    assert!(rqrr >= 30, "rqrr {rqrr}");
    assert!(combined > rxing && combined > rqrr);
}

/// Which step of the combined decoder read each photo, and its size:
/// `cargo test --test decode_photos -- --ignored --nocapture`.
#[test]
#[ignore = "diagnostics, prints every photo"]
fn print_the_step_that_read_each_photo() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qr");
    let d = tillcard::scan::decode::CombinedDecoder::default();
    for p in image_paths(&[dir]).unwrap() {
        let f = load_luma(&p).unwrap();
        let t = std::time::Instant::now();
        let step = d.decode_with_step(&f).map(|(_, i)| i);
        println!(
            "{} {}x{}: step {step:?} {:.2} ms (debug build)",
            p.display(),
            f.width,
            f.height,
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
}
