//! Scanning benchmark: decode rate and time of each QR decoder on the 90
//! photos in tests/data/qr and of the product-barcode decoder on the 86
//! photos (and 21 images with no barcode) in tests/data/barcodes and on the
//! 42 photos (and 1 with none) in tests/data/barcodes-unseen (a set the
//! decoder's passes were not chosen on: `scan.barcode_unseen_*`), zxing-cpp
//! 3.1.1 (the reference) measured in the same run on the same luma
//! pixels, and scan-to-member latency through the pipeline on synthetic
//! 640x480 and 1280x720 frames. Prints `bench: <name> = <value> <unit>`
//! lines. `BENCH_QUICK=1` runs fewer repetitions; `BENCH_BARCODES_ONLY=1`
//! runs the product-barcode part only, `BENCH_VERBOSE=1` prints each
//! barcode photo's reads.
//!
//! zxing-cpp: the bench builds `tools/zxing-ref` (its own workspace: the
//! `zxing-cpp` crate, which bundles zxing-cpp 3.1.1 and builds it with
//! cmake) with `cargo build --release` into `<target>/zxing-ref`, writes
//! each photo's luma pixels as a raw `.gray` file there, and asks the
//! harness for each photo in turn, right after timing its own decoders on
//! it, so machine load drift hits all of them alike. When it cannot be built
//! (no cmake, no C++ compiler, no crates) the bench says why and prints its
//! own figures only.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench that cannot run should stop loudly.

#[path = "../tests/util/mod.rs"]
mod util;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tillcard::cli::{expected_text, median, quantile, timed, timed_decode};
use tillcard::scan::decode::barcode::BarcodeDecoder;
use tillcard::scan::decode::{CombinedDecoder, DecoderKind};
use tillcard::scan::file_source::{image_paths, load_luma};
use tillcard::scan::frame::LumaFrame;
use tillcard::scan::outcome::OutcomeKind;
use tillcard::scan::pipeline::{PipelineConfig, PipelineParts, ScanPipeline};
use util::*;

fn line(name: &str, value: impl std::fmt::Display, unit: &str) {
    println!("bench: {name} = {value} {unit}");
}

/// Photos with the text each holds (`None`: an image with no code, where
/// any read is a false positive).
struct Photos {
    frames: Vec<(LumaFrame, Option<String>)>,
}

fn load_photos(sub: &str) -> Photos {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(sub);
    let frames = image_paths(&[dir])
        .unwrap()
        .into_iter()
        .map(|p| (load_luma(&p).unwrap(), expected_text(&p)))
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

/// What the reference is asked to look for (the harness's last field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// QR codes.
    Qr,
    /// EAN-13, EAN-8, UPC-A and Code 128.
    Linear,
}

/// zxing-cpp 3.1.1 behind the harness in tools/zxing-ref, one request per
/// photo over a pipe.
struct ZxingCpp {
    version: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    dir: PathBuf,
}

/// The bench's target directory (`<target>/release/deps/scan-<hash>` ->
/// `<target>`): the harness builds in `<target>/zxing-ref`, a target dir of
/// its own, so the bench's own cargo lock is never waited on.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
}

fn run_ok(cmd: &mut Command) -> Result<std::process::Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(out)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ))
    }
}

impl ZxingCpp {
    /// Builds the harness (minutes the first time: zxing-cpp's C++ with
    /// cmake) and starts it; `Err` says why zxing-cpp cannot be measured on
    /// this machine.
    fn start() -> Result<Self, String> {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/zxing-ref/Cargo.toml");
        let target = target_dir().join("zxing-ref");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let built = Instant::now();
        run_ok(
            Command::new(cargo)
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target)
                .env_remove("CARGO_TARGET_DIR"),
        )
        .map_err(|e| {
            format!("tools/zxing-ref did not build (needs cmake and g++: scripts/install-deps --test): {e}")
        })?;
        eprintln!(
            "scan bench: zxing-cpp reference ready in {:.0} s",
            built.elapsed().as_secs_f64()
        );
        let bin = target.join("release/tillcard-zxing-ref");
        let dir = target.join("gray");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
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
            dir,
        })
    }

    /// Decodes one frame (one untimed decode, then `repeat` timed ones
    /// inside the harness): the text, if any, and the median ms. `key`
    /// names the frame's raw file, written on first use.
    fn decode(
        &mut self,
        key: &str,
        frame: &LumaFrame,
        look: Look,
        repeat: u32,
    ) -> (Option<String>, f64) {
        let path = self.dir.join(format!("{key}.gray"));
        if !path.exists() {
            std::fs::write(&path, &frame.data).unwrap();
        }
        let look = match look {
            Look::Qr => "qr",
            Look::Linear => "linear",
        };
        writeln!(
            self.stdin,
            "{} {} {} {repeat} {look}",
            path.display(),
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

fn matches(got: Option<&str>, want: Option<&str>) -> bool {
    got.is_some() && got.map(|t| t.trim_end_matches(['\r', '\n'])) == want
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
            if matches(got.as_deref().ok(), want.as_deref()) {
                ok[i] += 1;
            }
            times[i].push(ms);
        }
        if let Some(z) = zxing.as_deref_mut() {
            let (got, ms) = z.decode(&format!("qr-{n:03}"), frame, Look::Qr, repeat);
            if matches(got.as_deref(), want.as_deref()) {
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

/// Product barcodes: rate, false positives and time of one reader.
#[derive(Debug, Clone, Copy)]
struct BarcodeRate {
    /// Time and right reads over the photos with a barcode.
    rate: Rate,
    /// Images with no barcode on which something was read.
    false_positives: usize,
    /// Images with no barcode.
    empty: usize,
    /// Photos read as another text than theirs.
    wrong: usize,
}

/// Whether a product barcode read is the photo's text: a UPC-A as 12
/// digits or as its 13-digit GTIN (a leading 0) on either side (the
/// zxing-cpp samples and zxing-cpp 3.1.1 on some photos write 13,
/// quagga2's texts and Tillcard 12); a
/// GS1-128 text as its digits with GS between variable fields, zxing-cpp
/// in brackets, "(01)…(21)…").
fn barcode_matches(got: &str, want: &str) -> bool {
    let gs1_digits = |t: &str| -> String { t.chars().filter(char::is_ascii_digit).collect() };
    let gs1 = got.starts_with('(')
        && want.chars().all(|c| c.is_ascii_digit() || c == '\u{1d}')
        && got
            .chars()
            .all(|c| c.is_ascii_digit() || c == '(' || c == ')')
        && gs1_digits(got) == gs1_digits(want);
    got == want
        || gs1
        || (got.len() == 12 && want.len() == 13 && want.starts_with('0') && &want[1..] == got)
        || (want.len() == 12 && got.len() == 13 && got.starts_with('0') && &got[1..] == want)
}

/// Tillcard's product-barcode decoder and zxing-cpp's, image by image.
fn decode_barcodes(
    photos: &Photos,
    key: &str,
    mut zxing: Option<&mut ZxingCpp>,
    repeat: u32,
) -> (BarcodeRate, Option<BarcodeRate>) {
    let decoder = BarcodeDecoder::default();
    // BENCH_VERBOSE=1: every photo's reads and times (on the timed run).
    let verbose =
        repeat > 1 && std::env::var("BENCH_VERBOSE").is_ok_and(|v| v != "0" && !v.is_empty());
    // [ours, zxing-cpp]: times over photos with a barcode, right, wrong,
    // false positives.
    let mut times = [Vec::new(), Vec::new()];
    let mut right = [0; 2];
    let mut wrong = [0; 2];
    let mut fp = [0; 2];
    let mut tally = |k: usize, got: Option<String>, want: Option<&String>, ms: f64| match want {
        Some(want) => {
            times[k].push(ms);
            match got {
                Some(g) if barcode_matches(&g, want) => right[k] += 1,
                Some(g) => {
                    // Shown, so a "wrong" read can be told from a text
                    // written another way (GS1 brackets, a UPC-A's 0).
                    let who = ["Tillcard", "zxing-cpp"][k];
                    eprintln!("scan bench: {who} read {g:?} where the photo holds {want:?}");
                    wrong[k] += 1;
                }
                None => {}
            }
        }
        None => fp[k] += usize::from(got.is_some()),
    };
    for (n, (frame, want)) in photos.frames.iter().enumerate() {
        let (got, ms) = timed(repeat, || decoder.decode_with_pass(frame));
        let pass = got.as_ref().map(|(_, p)| *p);
        let got = got.map(|(c, _)| c.text().to_owned());
        if verbose {
            eprint!(
                "scan bench: {key}-{n:03} {}x{} want {want:?}: Tillcard {got:?} (pass {pass:?}) {ms:.2} ms",
                frame.width, frame.height
            );
        }
        tally(0, got, want.as_ref(), ms);
        if let Some(z) = zxing.as_deref_mut() {
            let (got, ms) = z.decode(&format!("{key}-{n:03}"), frame, Look::Linear, repeat);
            if verbose {
                eprint!(", zxing-cpp {got:?} {ms:.2} ms");
            }
            tally(1, got, want.as_ref(), ms);
        }
        if verbose {
            eprintln!();
        }
    }
    let total = photos.frames.iter().filter(|(_, w)| w.is_some()).count();
    let empty = photos.frames.len() - total;
    let mut rate = |k: usize| BarcodeRate {
        rate: Rate::of(right[k], total, &mut times[k]),
        false_positives: fp[k],
        empty,
        wrong: wrong[k],
    };
    let ours = rate(0);
    (ours, zxing.map(|_| rate(1)))
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

fn rate_lines(prefix: &str, r: Rate) {
    line(
        &format!("{prefix}decoded"),
        format!("{}/{}", r.decoded, r.total),
        "images",
    );
    line(
        &format!("{prefix}decode_median_ms"),
        format!("{:.3}", r.median_ms),
        "ms",
    );
    line(
        &format!("{prefix}decode_p95_ms"),
        format!("{:.3}", r.p95_ms),
        "ms",
    );
}

fn barcode_lines(prefix: &str, b: BarcodeRate) {
    rate_lines(prefix, b.rate);
    line(
        &format!("{prefix}false_positives"),
        format!("{}/{}", b.false_positives, b.empty),
        "images",
    );
    line(&format!("{prefix}wrong"), b.wrong, "images");
}

/// `prefix` names the ratios, `base` the difference in images read.
fn ratio_lines(prefix: &str, base: &str, ours: Rate, zx: Rate, p95_goal: &str) {
    line(
        &format!("{prefix}median_ratio"),
        format!("{:.2}", ours.median_ms / zx.median_ms),
        "x (ours / zxing-cpp 3.1.1, same run; goal <= 1.0)",
    );
    line(
        &format!("{prefix}p95_ratio"),
        format!("{:.2}", ours.p95_ms / zx.p95_ms),
        &format!("x (ours / zxing-cpp 3.1.1, same run{p95_goal})"),
    );
    line(
        &format!("{base}decoded_minus_zxing_cpp"),
        format!("{:+}", ours.decoded as i64 - zx.decoded as i64),
        "images (goal > 0)",
    );
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let repeat = if quick { 3 } else { 7 };
    let frames = if quick { 60 } else { 400 };
    let started = Instant::now();

    let barcodes_only =
        std::env::var("BENCH_BARCODES_ONLY").is_ok_and(|v| v != "0" && !v.is_empty());
    let photos = load_photos("tests/data/qr");
    let barcode_photos = load_photos("tests/data/barcodes");
    let unseen_photos = load_photos("tests/data/barcodes-unseen");
    let mut zxing = match ZxingCpp::start() {
        Ok(z) => Some(z),
        Err(why) => {
            eprintln!("scan bench: zxing-cpp NOT measured: {why}");
            line("scan.zxing_cpp", "not measured:", &why);
            None
        }
    };
    if let Some(z) = &zxing {
        line("scan.zxing_cpp_version", &z.version, "");
    }
    if !barcodes_only {
        qr_photos(&photos, zxing.as_mut(), repeat);
    }

    // Product barcodes, the same way (issue 24), on the photos the passes
    // were chosen on and on the unseen ones.
    for (set, key, photos) in [
        ("", "bar", &barcode_photos),
        ("unseen_", "unseen", &unseen_photos),
    ] {
        let _ = decode_barcodes(photos, key, zxing.as_mut(), 1);
        let (bar, bar_zx) = decode_barcodes(photos, key, zxing.as_mut(), repeat);
        barcode_lines(&format!("scan.barcode_{set}"), bar);
        if let Some(z) = bar_zx {
            barcode_lines(&format!("scan.zxing_cpp_barcode_{set}"), z);
            let p = format!("scan.barcode_{set}");
            ratio_lines(&p, &p, bar.rate, z.rate, "");
        }
    }
    drop(zxing);
    if barcodes_only {
        return;
    }
    rest(quick, frames, started);
}

/// QR codes: every decoder and zxing-cpp on tests/data/qr.
fn qr_photos(photos: &Photos, mut zxing: Option<&mut ZxingCpp>, repeat: u32) {
    // One untimed pass first (caches, allocator, CPU clock ramp-up).
    let kinds = [DecoderKind::Combined, DecoderKind::Rqrr, DecoderKind::Rxing];
    let _ = decode_photos(photos, &kinds, zxing.as_deref_mut(), 1);
    let (ours, zx) = decode_photos(photos, &kinds, zxing.as_deref_mut(), repeat);
    let ours_rate = ours[0];
    for (prefix, r) in [
        ("scan.", ours_rate),
        ("scan.rqrr.", ours[1]),
        ("scan.rxing.", ours[2]),
    ] {
        rate_lines(prefix, r);
    }
    if let (Some(_), Some(r)) = (zxing, zx) {
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
        ratio_lines("scan.decode_", "scan.", ours_rate, r, "; goal <= 2.0");
    }
}

/// Card verification and scan-to-member latency through the pipeline.
fn rest(quick: bool, frames: usize, started: Instant) {
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
