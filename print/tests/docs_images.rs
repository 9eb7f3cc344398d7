//! The sample receipt and Z report drawn by the virtual printer, for the docs: every run
//! writes the receipt's 58 and 80 mm images and the Z report's 58 mm one into the target directory (so a change to
//! the layout can be looked at), and `UPDATE_DOCS=1 cargo test -p
//! tillcard-print --test docs_images` refreshes the committed ones in
//! `docs/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure is a test failure"
)]

use std::path::PathBuf;

use tillcard_print::virtual_printer::{decode, render_png};
use tillcard_print::{Paper, Receipt, ZReport, encode, layout, layout_z_report};

/// Draws `bytes` as printed on `paper` into the test's folder as `name`
/// (and, with `UPDATE_DOCS=1`, into `docs/`).
fn draw(name: &str, bytes: &[u8], paper: Paper) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
    let png = render_png(&decode(bytes), paper).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(out.join(name), &png).unwrap();
    if update {
        std::fs::write(docs.join(name), &png).unwrap();
    }
    println!("{}", out.join(name).display());
}

#[test]
fn the_sample_receipt_is_drawn_for_the_docs() {
    for (paper, name) in [
        (Paper::Mm58, "receipt-58mm.png"),
        (Paper::Mm80, "receipt-80mm.png"),
    ] {
        draw(
            name,
            &encode(&layout(&Receipt::sample(), paper, true)).unwrap(),
            paper,
        );
    }
}

#[test]
fn the_sample_z_report_is_drawn_for_the_docs() {
    for (paper, name) in [
        (Paper::Mm58, "z-report-58mm.png"),
        (Paper::Mm80, "z-report-80mm.png"),
    ] {
        draw(
            name,
            &encode(&layout_z_report(&ZReport::sample(), paper)).unwrap(),
            paper,
        );
    }
}
