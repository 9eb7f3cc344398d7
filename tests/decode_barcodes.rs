//! Product barcodes (EAN-13, EAN-8, UPC-A, Code 128) on the 86 real photos
//! in tests/data/barcodes and the 21 images with none (zxing-cpp's samples),
//! and on the 42 photos and 1 with none in tests/data/barcodes-unseen
//! (quagga2's): a regression guard for `scan::decode::barcode`, not a
//! benchmark (see benches/scan.rs). Caveat: the decoder was developed
//! looking at the first set, and the second was looked at once the
//! decoder was tuned on both (diagonal lines, bar-structure map), so
//! neither is unseen any more; the figures asserted are what it reads
//! today, and every pass is a general image condition, never a file's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

use std::path::{Path, PathBuf};

use tillcard::cli::expected_text;
use tillcard::scan::decode::barcode::BarcodeDecoder;
use tillcard::scan::file_source::{image_paths, load_luma};
use tillcard::scan::product::Symbology;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/barcodes")
}

fn unseen() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/barcodes-unseen")
}

/// Per folder: (folder, decoded right, total, wrong texts, passes used).
struct Folder {
    name: String,
    right: usize,
    total: usize,
    wrong: Vec<String>,
    decodes: usize,
}

fn run_folder(dir: &Path, decoder: &BarcodeDecoder, verbose: bool) -> Folder {
    let mut f = Folder {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        right: 0,
        total: 0,
        wrong: Vec::new(),
        decodes: 0,
    };
    for p in image_paths(&[dir.to_path_buf()]).unwrap() {
        let frame = load_luma(&p).unwrap();
        let got = decoder.decode_with_pass(&frame);
        let want = expected_text(&p);
        if verbose {
            println!(
                "{} {}x{}: {:?} want {:?}",
                p.display(),
                frame.width,
                frame.height,
                got.as_ref().map(|(c, i)| (c.to_string(), *i)),
                want
            );
        }
        f.total += 1;
        if let Some((code, _)) = got {
            f.decodes += 1;
            // The photos' texts write UPC-A as its 13-digit GTIN.
            let gtin = code.gtin13();
            if want.as_deref() == Some(code.text()) || want.is_some() && want == gtin {
                f.right += 1;
            } else {
                f.wrong.push(format!("{}: {code}", p.display()));
            }
        }
    }
    f
}

fn folders(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Decodes every folder under `root`: the photos read right and their
/// count, after checking that no text is wrong and that the folder
/// `no_code` (holding `no_code_images`) decodes nothing.
fn read_set(root: &Path, no_code: &str, no_code_images: usize) -> (usize, usize) {
    let decoder = BarcodeDecoder::default();
    let (mut right, mut total) = (0, 0);
    let mut wrong = Vec::new();
    for dir in folders(root) {
        let f = run_folder(&dir, &decoder, false);
        println!("{}: decoded {}/{}", f.name, f.right, f.total);
        wrong.extend(f.wrong.iter().cloned());
        if f.name == no_code {
            assert_eq!(f.total, no_code_images);
            assert_eq!(f.decodes, 0, "false positives: {:?}", f.wrong);
        } else {
            right += f.right;
            total += f.total;
        }
    }
    assert!(wrong.is_empty(), "wrong texts: {wrong:#?}");
    (right, total)
}

#[test]
fn product_barcodes_on_the_photos_with_no_wrong_text_and_no_false_positive() {
    let (right, total) = read_set(&data(), "falsepositives-1", 21);
    println!("product barcodes: decoded {right}/{total}");
    assert_eq!(total, 86);
    // zxing-cpp 3.1.1 reads 70 of these, zbar 60; this decoder 71 (on
    // photos it was developed on: see the caveat at the top).
    assert!(right >= 71, "decoded {right}/{total}");
}

#[test]
fn product_barcodes_on_the_unseen_photos_with_no_wrong_text_and_no_false_positive() {
    let (right, total) = read_set(&unseen(), "no_code", 1);
    println!("product barcodes, unseen set: decoded {right}/{total}");
    assert_eq!(total, 42);
    // zxing-cpp 3.1.1 reads 20 of these; this decoder read 22 before it
    // was tuned with them in view, 35 after (see the caveat at the top).
    // code_128/07 holds a GS (GS1 FNC1), which `ProductCode` refuses.
    assert!(right >= 35, "decoded {right}/{total}");
}

/// Every photo's result and the pass that read it: `cargo test --test
/// decode_barcodes -- --ignored --nocapture`.
#[test]
#[ignore = "diagnostics, prints every photo"]
fn print_every_photo() {
    let decoder = BarcodeDecoder::default();
    for dir in folders(&data()) {
        let f = run_folder(&dir, &decoder, true);
        println!("{}: decoded {}/{}", f.name, f.right, f.total);
    }
    for dir in folders(&unseen()) {
        let f = run_folder(&dir, &decoder, true);
        println!("{}: decoded {}/{}", f.name, f.right, f.total);
    }
}

#[test]
fn the_decoder_reads_only_the_four_symbologies() {
    let decoder = BarcodeDecoder::default();
    for p in image_paths(&[data(), unseen()]).unwrap() {
        if let Ok(code) = decoder.decode(&load_luma(&p).unwrap()) {
            assert!(Symbology::ALL.contains(&code.symbology()));
        }
    }
}
