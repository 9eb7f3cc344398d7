//! `tillcard decode`: per-image lines, the `--expect` summary, and the
//! default command left as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

use std::path::PathBuf;

use tillcard::cli::{Codes, decode_files, expected_text, median, quantile};
use tillcard::scan::decode::DecoderKind;

fn data(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/qr")
        .join(sub)
}

#[test]
fn expect_mode_prints_one_line_per_image_and_the_totals() {
    let out = decode_files(
        &[data("qrcode-3")],
        DecoderKind::Combined,
        Codes::Qr,
        true,
        1,
    )
    .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 18 + 1);
    assert!(
        lines[0].contains("01.webp: \"") && lines[0].ends_with(" ok"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(" ms]"));
    let summary = lines[18];
    assert!(
        summary.starts_with("combined: decoded 18/18, median "),
        "{summary}"
    );
    assert!(summary.contains(" ms, p95 "));
}

#[test]
fn failures_print_their_reason() {
    let out = decode_files(
        &[data("qrcode-2/#940.png")],
        DecoderKind::Rqrr,
        Codes::Qr,
        true,
        1,
    )
    .unwrap();
    assert!(out.contains("FAILED (no readable QR code)"), "{out}");
    assert!(out.contains("decoded 0/1"), "{out}");
}

#[test]
fn product_barcodes_print_their_symbology_and_text() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/barcodes");
    let out = decode_files(
        &[dir.join("ean13-3"), dir.join("upca-4/8.webp")],
        DecoderKind::Combined,
        Codes::All,
        true,
        1,
    )
    .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8 + 1 + 1, "{out}");
    assert!(
        lines[0].contains("03.webp: ean13 \"9780764544200\" [") && lines[0].ends_with(" ok"),
        "{}",
        lines[0]
    );
    // A UPC-A prints its 12 digits and matches the photo's 13-digit GTIN.
    assert!(
        lines[8].contains("8.webp: upca \"060410049235\" [") && lines[8].ends_with(" ok"),
        "{}",
        lines[8]
    );
    assert!(
        lines[9].starts_with("combined+barcode: decoded 9/9, median "),
        "{}",
        lines[9]
    );
    // Through the command line, the same line for the same photo.
    let bin = std::process::Command::new(env!("CARGO_BIN_EXE_tillcard"))
        .args(["decode", "--codes", "barcodes"])
        .arg(dir.join("ean8-1/4.webp"))
        .output()
        .unwrap();
    assert!(bin.status.success());
    let stdout = String::from_utf8_lossy(&bin.stdout);
    assert!(stdout.contains(": ean8 \"67678983\" ["), "{stdout}");
}

#[test]
fn nothing_read_in_both_modes_says_so() {
    let fp = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/barcodes/falsepositives-1/01.webp");
    let out = decode_files(&[fp], DecoderKind::Combined, Codes::All, false, 1).unwrap();
    assert!(
        out.contains("FAILED (no readable QR code or product barcode)"),
        "{out}"
    );
}

#[test]
fn expected_text_drops_trailing_line_ends_only() {
    let dir = std::env::temp_dir().join(format!("tillcard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("7.txt"), " a\r\nb \r\n\n").unwrap();
    assert_eq!(
        expected_text(&dir.join("7.png")).as_deref(),
        Some(" a\r\nb ")
    );
    assert_eq!(expected_text(&dir.join("8.png")), None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn median_and_p95_use_the_usual_definitions() {
    let v: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(median(&v), 10.5);
    assert_eq!(quantile(&v, 0.95), 19.0);
    assert_eq!(median(&[3.0]), 3.0);
}

#[test]
fn the_demo_quote_prints_without_a_window() {
    assert!(tillcard::run(vec!["demo-quote".into()]).is_ok());
}

#[test]
fn without_a_display_the_terminal_says_so_instead_of_crashing() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tillcard"))
        .current_dir(data.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no display"), "{stderr}");
    assert!(stderr.contains("tillcard screenshots"), "{stderr}");
}

#[test]
fn sigterm_stops_the_terminal_cleanly() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tillcard"))
        .args(["probe-start", "--idle-secs", "60", "--data"])
        .arg(data.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let started = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?} {rest:?}");
    assert!(rest.iter().any(|l| l == "stopped on request"), "{rest:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "it stopped, not timed out"
    );
}
