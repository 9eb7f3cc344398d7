//! Product barcodes through the scan pipeline (issue 24): a frame with a
//! product barcode and no member code is an item; a member's card in the
//! same frame wins; a keyboard wedge's EAN digits are the same item.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

mod util;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use image::GrayImage;
use tillcard::scan::decode::CombinedDecoder;
use tillcard::scan::decode::barcode::BarcodeDecoder;
use tillcard::scan::file_source::load_luma;
use tillcard::scan::frame::LumaFrame;
use tillcard::scan::outcome::{OutcomeKind, ScanOutcome};
use tillcard::scan::pipeline::{PipelineConfig, PipelineParts, ScanEvent, ScanPipeline};
use tillcard::scan::product::Symbology;
use util::*;

fn spawn() -> (ScanPipeline, std::sync::mpsc::Receiver<ScanEvent>) {
    ScanPipeline::spawn(PipelineParts {
        decoder: Box::new(CombinedDecoder::default()),
        verifier: Arc::new(RwLock::new(verifier())),
        directory: Box::new(directory()),
        barcodes: Some(BarcodeDecoder::default()),
        config: PipelineConfig::default(),
    })
    .unwrap()
}

fn photo(name: &str) -> LumaFrame {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/barcodes")
        .join(name);
    load_luma(&path).unwrap()
}

fn next(events: &std::sync::mpsc::Receiver<ScanEvent>) -> ScanOutcome {
    events
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .outcome
}

#[test]
fn a_frame_with_a_product_barcode_is_an_item() {
    let (pipeline, events) = spawn();
    pipeline.submit(photo("ean13-3/03.webp"));
    match next(&events) {
        ScanOutcome::Item(code) => {
            assert_eq!(code.symbology(), Symbology::Ean13);
            assert_eq!(code.text(), "9780764544200");
        }
        other => panic!("expected an item, got {other:?}"),
    }
}

#[test]
fn a_member_card_beside_a_product_barcode_wins() {
    let card = card_image(&token(), 4);
    let barcode = photo("ean13-3/03.webp");
    // Card on the left, the barcode photo on the right, on white.
    let (w, h) = (
        card.width() + barcode.width + 40,
        card.height().max(barcode.height) + 40,
    );
    let mut scene = GrayImage::from_pixel(w, h, image::Luma([235]));
    image::imageops::overlay(&mut scene, &card, 10, 20);
    let bar = GrayImage::from_raw(barcode.width, barcode.height, barcode.data.clone()).unwrap();
    image::imageops::overlay(&mut scene, &bar, i64::from(card.width() + 30), 20);
    let frame = LumaFrame::new(w, h, scene.into_raw()).unwrap();
    // The barcode alone in the frame is read, so the card's win is the
    // pipeline's order, not a missed barcode.
    assert!(BarcodeDecoder::default().decode(&frame).is_ok());
    let (pipeline, events) = spawn();
    pipeline.submit(frame);
    assert_eq!(next(&events).kind(), OutcomeKind::MemberFound);
}

#[test]
fn wedge_digits_and_the_camera_give_the_same_item() {
    let (pipeline, events) = spawn();
    pipeline.submit(photo("ean8-1/4.webp"));
    let from_camera = next(&events);
    pipeline.submit_text("67678983".into());
    let from_wedge = next(&events);
    assert_eq!(from_camera.kind(), OutcomeKind::Item);
    assert_eq!(from_camera, from_wedge);
}
