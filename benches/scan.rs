//! Scanning benchmark: decode rate and time of each decoder on the 90 photos
//! in tests/data/qr, zxing-cpp (the reference) measured in the same
//! run on the same luma pixels, and scan-to-member latency through the
//! pipeline on synthetic 640x480 and 1280x720 frames. Prints `bench: <name> =
//! <value> <unit>` lines. `BENCH_QUICK=1` runs fewer repetitions.
//!
//! zxing-cpp: the bench compiles `benches/scan_zxing.cpp` with the system
//! `g++` against libzxing (Debian's `libzxing-dev`) into the target dir,
//! writes each photo's luma pixels as a raw `.gray` file there, and asks the
//! harness for each photo in turn, right after timing its own decoders on
//! it, so machine load drift hits all of them alike. Without libzxing-dev the
//! bench says so and prints its own figures only.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench that cannot run should stop loudly.

#[path = "../tests/util/mod.rs"]
mod util;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tillcard::cli::{expected_text, median, quantile, timed_decode};
use tillcard::scan::decode::{CombinedDecoder, DecoderKind};
use tillcard::scan::file_source::{image_paths, load_luma};
use tillcard::scan::frame::LumaFrame;
use tillcard::scan::outcome::OutcomeKind;
use tillcard::scan::pipeline::{PipelineConfig, PipelineParts, ScanPipeline};
use util::*;

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

/// Decode rate and time of one decoder over the photos.
#[derive(Debug, Clone, Copy)]
struct Rate {
    decoded: usize,
    total: usize,
    median_ms: f64,
    p95_ms: f64,
}

impl Rate {
    fn of(ok: usize, total: usize, times: &mut [f64]) -> Self {
        times.sort_by(f64::total_cmp);
        Self {
            decoded: ok,
            total,
            median_ms: median(times),
            p95_ms: quantile(times, 0.95),
        }
    }
}

/// zxing-cpp behind the C++ harness in benches/scan_zxing.cpp, one request
/// per photo over a pipe.
struct ZxingCpp {
    version: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Raw luma file of each photo, in `Photos::frames` order.
    gray: Vec<PathBuf>,
}

/// Where the harness and the raw photos go: beside the bench binary
/// (target/release/scan-zxing).
fn zxing_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/release/deps/scan-<hash> -> target/release
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
        .join("scan-zxing")
}

fn run_ok(cmd: &mut Command) -> Result<std::process::Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl ZxingCpp {
    /// Builds the harness and writes the photos; `Err` says why zxing-cpp
    /// cannot be measured on this machine.
    fn start(photos: &Photos) -> Result<Self, String> {
        let flags = run_ok(Command::new("pkg-config").args(["--cflags", "--libs", "zxing"]))
            .map_err(|e| {
                format!("libzxing-dev is not installed (pkg-config finds no zxing: {e}); `apt-get install libzxing-dev g++` to measure it")
            })?;
        let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
        let dir = zxing_dir();
        std::fs::create_dir_all(dir.join("gray")).map_err(|e| e.to_string())?;
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/scan_zxing.cpp");
        let bin = dir.join("scan_zxing");
        run_ok(
            Command::new("g++")
                .args(["-O2", "-std=c++17", "-o"])
                .arg(&bin)
                .arg(&src)
                .args(flags.split_whitespace()),
        )?;
        let mut gray = Vec::with_capacity(photos.frames.len());
        for (i, (frame, _)) in photos.frames.iter().enumerate() {
            let path = dir.join("gray").join(format!("{i:03}.gray"));
            std::fs::write(&path, &frame.data).map_err(|e| e.to_string())?;
            gray.push(path);
        }
        let mut child = Command::new(&bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut version = String::new();
        stdout.read_line(&mut version).map_err(|e| e.to_string())?;
        Ok(Self {
            version: version.trim().to_owned(),
            child,
            stdin,
            stdout,
            gray,
        })
    }

    /// Decodes photo `i` (one untimed decode, then `repeat` timed ones
    /// inside the harness): the text, if any, and the median ms.
    fn decode(&mut self, i: usize, frame: &LumaFrame, repeat: u32) -> (Option<String>, f64) {
        writeln!(
            self.stdin,
            "{} {} {} {repeat}",
            self.gray[i].display(),
            frame.width,
            frame.height
        )
        .unwrap();
        self.stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        let mut parts = answer.split_whitespace();
        let ms: f64 = parts
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("zxing-cpp harness answered {answer:?}"));
        let text = match parts.next() {
            Some("-") | None => None,
            Some(hex) => {
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).unwrap())
                    .collect();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
        };
        (text, ms)
    }
}

impl Drop for ZxingCpp {
    fn drop(&mut self) {
        // Closing stdin ends the harness's loop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn matches(got: Option<&str>, want: &str) -> bool {
    got.map(|t| t.trim_end_matches(['\r', '\n'])) == Some(want)
}

/// Decode rate and time of each decoder in `kinds` order, then zxing-cpp's
/// (when it runs here). The decoders are interleaved image by image so a
/// change in machine load between measurements hits them all alike.
fn decode_photos(
    photos: &Photos,
    kinds: &[DecoderKind],
    mut zxing: Option<&mut ZxingCpp>,
    repeat: u32,
) -> (Vec<Rate>, Option<Rate>) {
    let mut decoders: Vec<_> = kinds.iter().map(|k| k.build()).collect();
    let mut times = vec![Vec::new(); kinds.len()];
    let mut ok = vec![0; kinds.len()];
    let (mut zx_times, mut zx_ok) = (Vec::new(), 0);
    for (n, (frame, want)) in photos.frames.iter().enumerate() {
        for (i, d) in decoders.iter_mut().enumerate() {
            let (got, ms) = timed_decode(d.as_mut(), frame, repeat);
            if matches(got.as_deref().ok(), want) {
                ok[i] += 1;
            }
            times[i].push(ms);
        }
        if let Some(z) = zxing.as_deref_mut() {
            let (got, ms) = z.decode(n, frame, repeat);
            if matches(got.as_deref(), want) {
                zx_ok += 1;
            }
            zx_times.push(ms);
        }
    }
    let total = photos.frames.len();
    let ours = times
        .iter_mut()
        .zip(ok)
        .map(|(t, ok)| Rate::of(ok, total, t))
        .collect();
    let zx = zxing.map(|_| Rate::of(zx_ok, total, &mut zx_times));
    (ours, zx)
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
        barcodes: Some(tillcard::scan::decode::barcode::BarcodeDecoder::default()),
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
    let mut zxing = match ZxingCpp::start(&photos) {
        Ok(z) => Some(z),
        Err(why) => {
            eprintln!("scan bench: zxing-cpp NOT measured: {why}");
            line("scan.zxing_cpp", "not measured:", &why);
            None
        }
    };
    // One untimed pass first (caches, allocator, CPU clock ramp-up).
    let kinds = [DecoderKind::Combined, DecoderKind::Rqrr, DecoderKind::Rxing];
    let _ = decode_photos(&photos, &kinds, zxing.as_mut(), 1);
    let (ours, zx) = decode_photos(&photos, &kinds, zxing.as_mut(), repeat);
    let ours_rate = ours[0];
    for (prefix, r) in [
        ("scan", ours_rate),
        ("scan.rqrr", ours[1]),
        ("scan.rxing", ours[2]),
    ] {
        line(
            &format!("{prefix}.decoded"),
            format!("{}/{}", r.decoded, r.total),
            "images",
        );
        line(
            &format!("{prefix}.decode_median_ms"),
            format!("{:.3}", r.median_ms),
            "ms",
        );
        line(
            &format!("{prefix}.decode_p95_ms"),
            format!("{:.3}", r.p95_ms),
            "ms",
        );
    }
    if let (Some(z), Some(r)) = (&zxing, zx) {
        line("scan.zxing_cpp_version", &z.version, "");
        line(
            "scan.zxing_cpp_decoded",
            format!("{}/{}", r.decoded, r.total),
            "images",
        );
        line(
            "scan.zxing_cpp_median_ms",
            format!("{:.3}", r.median_ms),
            "ms",
        );
        line("scan.zxing_cpp_p95_ms", format!("{:.3}", r.p95_ms), "ms");
        line(
            "scan.decode_median_ratio",
            format!("{:.2}", ours_rate.median_ms / r.median_ms),
            "x (ours / zxing-cpp, same run; goal <= 1.0)",
        );
        line(
            "scan.decoded_minus_zxing_cpp",
            format!("{:+}", ours_rate.decoded as i64 - r.decoded as i64),
            "images (goal > 0)",
        );
    }
    drop(zxing);

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
