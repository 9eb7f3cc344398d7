//! A keyboard-wedge scanner typing a member card: keystrokes -> token ->
//! the pipeline's outcome stream, the same as a camera scan.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

mod util;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tillcard::scan::decode::CombinedDecoder;
use tillcard::scan::outcome::{OutcomeKind, classify};
use tillcard::scan::pipeline::{PipelineConfig, PipelineParts, ScanPipeline};
use tillcard::scan::wedge::{KeyboardWedge, WedgeConfig};
use util::*;

#[test]
fn a_wedge_scanned_card_finds_the_member() {
    let mut wedge = KeyboardWedge::new(WedgeConfig::default());
    let typed = format!("{}\r", token());
    let text = wedge
        .feed_str(&typed, Instant::now(), Duration::from_millis(4))
        .unwrap();
    assert_eq!(text, token());
    assert_eq!(
        classify(&text, &verifier(), &directory(), NOW).kind(),
        OutcomeKind::MemberFound
    );
}

#[test]
fn wedge_texts_go_through_the_pipeline_and_are_never_deduplicated() {
    let (pipeline, events) = ScanPipeline::spawn(PipelineParts {
        decoder: Box::new(CombinedDecoder::default()),
        verifier: Arc::new(RwLock::new(verifier())),
        directory: Box::new(directory()),
        barcodes: Some(tillcard::scan::decode::barcode::BarcodeDecoder::default()),
        config: PipelineConfig::default(),
    })
    .unwrap();
    pipeline.submit_text(token());
    pipeline.submit_text(token());
    pipeline.submit_text("12345678".into());
    // EAN-13 digits with a valid check digit are an item; one digit off,
    // nothing.
    pipeline.submit_text("4006381333931".into());
    pipeline.submit_text("4006381333932".into());
    let kinds: Vec<OutcomeKind> = (0..5)
        .map(|_| {
            events
                .recv_timeout(Duration::from_secs(5))
                .unwrap()
                .outcome
                .kind()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            OutcomeKind::MemberFound,
            OutcomeKind::MemberFound,
            OutcomeKind::NotMemberCode,
            OutcomeKind::Item,
            OutcomeKind::NotMemberCode,
        ]
    );
    assert_eq!(pipeline.stats().decoded_frames, 0);
}
