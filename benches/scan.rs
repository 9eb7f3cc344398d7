//! Scanning benchmark: decode rate and time of each decoder on the 90 photos
//! in tests/data/qr, and scan-to-member latency through the pipeline on
//! synthetic 640x480 and 1280x720 frames. Prints `bench: <name> = <value>
//! <unit>` lines. `BENCH_QUICK=1` runs fewer repetitions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench that cannot run should stop loudly.

#[path = "../tests/util/mod.rs"]
mod util;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tillcard::cli::{expected_text, median, quantile, timed_decode};
use tillcard::scan::decode::{CombinedDecoder, DecoderKind};
use tillcard::scan::file_source::{image_paths, load_luma};
use tillcard::scan::frame::LumaFrame;
use tillcard::scan::outcome::OutcomeKind;
use tillcard::scan::pipeline::{PipelineConfig, PipelineParts, ScanPipeline};
use util::*;

/// Reference figures from tests/data/qr/README.md (zxing-cpp 3.1, C++).
const ZXING_CPP_DECODED: usize = 87;
const ZXING_CPP_MEDIAN_MS: f64 = 0.16;

fn line(name: &str, value: impl std::fmt::Display, unit: &str) {
    println!("bench: {name} = {value} {unit}");
}

struct Photos {
    frames: Vec<(LumaFrame, String)>,
}

fn load_photos() -> Photos {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qr");
    let frames = image_paths(&[dir])
        .unwrap()
        .into_iter()
        .map(|p| (load_luma(&p).unwrap(), expected_text(&p).unwrap()))
        .collect();
    Photos { frames }
}

/// Decode rate and time of each decoder: (decoded, total, median ms, p95
/// ms) in `kinds` order. The decoders are interleaved image by image so a
/// change in machine load between measurements hits them all alike.
fn decode_photos(
    photos: &Photos,
    kinds: &[DecoderKind],
    repeat: u32,
) -> Vec<(usize, usize, f64, f64)> {
    let mut decoders: Vec<_> = kinds.iter().map(|k| k.build()).collect();
    let mut times = vec![Vec::new(); kinds.len()];
    let mut ok = vec![0; kinds.len()];
    for (frame, want) in &photos.frames {
        for (i, d) in decoders.iter_mut().enumerate() {
            let (got, ms) = timed_decode(d.as_mut(), frame, repeat);
            if got.as_deref().map(|t| t.trim_end_matches(['\r', '\n'])) == Ok(want.as_str()) {
                ok[i] += 1;
            }
            times[i].push(ms);
        }
    }
    times
        .iter_mut()
        .zip(ok)
        .map(|(t, ok)| {
            t.sort_by(f64::total_cmp);
            (ok, photos.frames.len(), median(t), quantile(t, 0.95))
        })
        .collect()
}

/// p95 of frame-handed-in to member-ready through the decode thread.
fn scan_to_member_p95(width: u32, height: u32, module_px: u32, frames: usize) -> (f64, usize) {
    let t = token();
    let card = card_image(&t, module_px);
    // A few different frames: background seeds and small rotations, as a
    // card held in a hand.
    let scenes: Vec<LumaFrame> = (0..8)
        .map(|i| {
            let img = paste_on_noisy_background(&card, width, height, 100 + i);
            let img = if i % 2 == 1 {
                rotated(&img, 4.0 * i as f32)
            } else {
                img
            };
            LumaFrame::from_gray(noisy(&img, 6.0, i))
        })
        .collect();
    // The real lookup: the SQLite store's read-only connection over
    // 100,000 cached members, as the scan thread uses it.
    let (_store_dir, reader) = util::store::store_with_card_member(100_000);
    let (pipeline, events) = ScanPipeline::spawn(PipelineParts {
        decoder: Box::new(CombinedDecoder::default()),
        verifier: Arc::new(RwLock::new(verifier())),
        directory: Box::new(reader),
        config: PipelineConfig {
            repeat_window: Duration::ZERO,
        },
    })
    .unwrap();
    let mut lat = Vec::with_capacity(frames);
    let mut found = 0;
    for i in 0..frames {
        let mut f = scenes[i % scenes.len()].clone();
        f.timestamp = Instant::now();
        pipeline.submit(f);
        let ev = events.recv_timeout(Duration::from_secs(10)).unwrap();
        if ev.outcome.kind() == OutcomeKind::MemberFound {
            found += 1;
        }
        lat.push(ev.latency.as_secs_f64() * 1000.0);
    }
    pipeline.shutdown();
    lat.sort_by(f64::total_cmp);
    (quantile(&lat, 0.95), found)
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let repeat = if quick { 3 } else { 7 };
    let frames = if quick { 60 } else { 400 };
    let started = Instant::now();

    let photos = load_photos();
    // One untimed pass first (caches, allocator, CPU clock ramp-up).
    let kinds = [DecoderKind::Combined, DecoderKind::Rqrr, DecoderKind::Rxing];
    let _ = decode_photos(&photos, &kinds, 1);
    let results = decode_photos(&photos, &kinds, repeat);
    let (ok, total, med, p95) = results[0];
    line("scan.decoded", format!("{ok}/{total}"), "images");
    line("scan.decode_median_ms", format!("{med:.3}"), "ms");
    line("scan.decode_p95_ms", format!("{p95:.3}"), "ms");
    for (name, r) in [("rqrr", results[1]), ("rxing", results[2])] {
        let (ok, total, m, p) = r;
        line(
            &format!("scan.{name}.decoded"),
            format!("{ok}/{total}"),
            "images",
        );
        line(
            &format!("scan.{name}.decode_median_ms"),
            format!("{m:.3}"),
            "ms",
        );
        line(
            &format!("scan.{name}.decode_p95_ms"),
            format!("{p:.3}"),
            "ms",
        );
    }
    line(
        "scan.zxing_cpp.decoded",
        format!("{ZXING_CPP_DECODED}/90"),
        "images",
    );
    line(
        "scan.zxing_cpp.decode_median_ms",
        format!("{ZXING_CPP_MEDIAN_MS:.2}"),
        "ms",
    );
    line(
        "scan.decoded_ratio_vs_zxing_cpp",
        format!("{:.3}", ok as f64 / ZXING_CPP_DECODED as f64),
        "x",
    );
    line(
        "scan.decode_median_ratio_vs_zxing_cpp",
        format!("{:.2}", med / ZXING_CPP_MEDIAN_MS),
        "x",
    );

    // Offline verification of one card (Ed25519 verify dominates).
    let v = verifier();
    let text = token();
    let n = if quick { 2_000 } else { 20_000 };
    let t = Instant::now();
    for _ in 0..n {
        let parsed = tillcard::scan::credential::parse_token(&text).unwrap();
        assert!(v.verify(&parsed, NOW).is_ok());
    }
    line(
        "scan.verify_token_us",
        format!("{:.1}", t.elapsed().as_secs_f64() * 1e6 / f64::from(n)),
        "us",
    );

    let (p95_640, found_640) = scan_to_member_p95(640, 480, 4, frames);
    line("scan.to_member_p95_ms_640", format!("{p95_640:.2}"), "ms");
    line(
        "scan.to_member_found_640",
        format!("{found_640}/{frames}"),
        "frames",
    );
    let (p95_720, found_720) = scan_to_member_p95(1280, 720, 5, frames);
    line("scan.to_member_p95_ms_720p", format!("{p95_720:.2}"), "ms");
    line(
        "scan.to_member_found_720p",
        format!("{found_720}/{frames}"),
        "frames",
    );
    line(
        "scan.bench_wall_s",
        format!("{:.1}", started.elapsed().as_secs_f64()),
        "s",
    );
}
