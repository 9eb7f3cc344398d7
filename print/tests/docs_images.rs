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

#[test]
fn the_sample_receipt_is_drawn_for_the_docs() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
    for (paper, name) in [
        (Paper::Mm58, "receipt-58mm.png"),
        (Paper::Mm80, "receipt-80mm.png"),
    ] {
        let bytes = encode(&layout(&Receipt::sample(), paper, true)).unwrap();
        let png = render_png(&decode(&bytes), paper).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(out.join(name), &png).unwrap();
        if update {
            std::fs::write(docs.join(name), &png).unwrap();
        }
        println!("{}", out.join(name).display());
    }
}

#[test]
fn the_sample_z_report_is_drawn_for_the_docs() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
    let name = "z-report-58mm.png";
    let bytes = encode(&layout_z_report(&ZReport::sample(), Paper::Mm58)).unwrap();
    let png = render_png(&decode(&bytes), Paper::Mm58).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(out.join(name), &png).unwrap();
    if update {
        std::fs::write(docs.join(name), &png).unwrap();
    }
    println!("{}", out.join(name).display());
}
