//! End to end: the file frame source feeds the decode thread, which finds
//! the member in an in-memory directory; other codes get their outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

mod util;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tillcard::scan::decode::CombinedDecoder;
use tillcard::scan::file_source::FileSource;
use tillcard::scan::outcome::{OutcomeKind, ScanOutcome};
use tillcard::scan::pipeline::{PipelineConfig, PipelineParts, ScanPipeline, feed_from_source};
use util::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tillcard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn file_source_drives_the_pipeline_to_a_found_member() {
    let dir = temp_dir("pipeline");
    // A photo-like frame of the member's card, and a card rendered by the
    // card module straight to PNG.
    let t = token();
    let scene = noisy(
        &rotated(
            &paste_on_noisy_background(&card_image(&t, 4), 640, 480, 2),
            12.0,
        ),
        8.0,
        4,
    );
    scene.save(dir.join("1-counter.png")).unwrap();
    tillcard::scan::card::save_png(&t, &dir.join("2-card.png"), 3).unwrap();
    // A product code photo from the test data: not a member code.
    let photo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qr/qrcode-5/01.webp");

    let (pipeline, events) = ScanPipeline::spawn(PipelineParts {
        decoder: Box::new(CombinedDecoder::default()),
        verifier: Arc::new(RwLock::new(verifier())),
        directory: Box::new(directory()),
        barcodes: Some(tillcard::scan::decode::barcode::BarcodeDecoder::default()),
        config: PipelineConfig {
            repeat_window: Duration::from_secs(60),
        },
    })
    .unwrap();

    let mut source = FileSource::new(
        &[dir.join("1-counter.png"), dir.join("2-card.png"), photo],
        false,
    )
    .unwrap();
    assert_eq!(source.paths().len(), 3);
    // Feed one frame at a time, waiting for the decoder, so none is dropped.
    let mut fed = 0;
    feed_from_source(&mut source, &pipeline, || {
        while pipeline.is_frame_pending() {
            std::thread::sleep(Duration::from_millis(1));
        }
        fed += 1;
        true
    });
    let first = events.recv_timeout(Duration::from_secs(10)).unwrap();
    match &first.outcome {
        ScanOutcome::MemberFound { member, credential } => {
            assert_eq!(member.member_id, member_id());
            assert_eq!(member.tier, "gold");
            assert_eq!(credential.issuer, 1);
        }
        other => panic!("expected the member, got {other:?}"),
    }
    assert!(first.latency >= first.decode_time);
    // The same card again within the window is not reported twice; the
    // product code is.
    let second = events.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(second.outcome.kind(), OutcomeKind::NotMemberCode);
    assert!(events.recv_timeout(Duration::from_millis(300)).is_err());
    let stats = pipeline.stats();
    assert_eq!(stats.submitted, 3);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.codes_found, 3);
    assert_eq!(stats.repeats_suppressed, 1);
    assert_eq!(stats.decoder_panics, 0);
    pipeline.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(fed >= 3);
}

#[test]
fn a_looping_folder_source_restarts_and_an_empty_one_ends() {
    let dir = temp_dir("loop");
    tillcard::scan::card::save_png(&token(), &dir.join("a.png"), 2).unwrap();
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    let mut looping = FileSource::new(std::slice::from_ref(&dir), true).unwrap();
    use tillcard::scan::frame::FrameSource;
    for _ in 0..3 {
        assert!(looping.next_frame().unwrap().is_some());
    }
    let mut once = FileSource::new(std::slice::from_ref(&dir), false).unwrap();
    assert!(once.next_frame().unwrap().is_some());
    assert!(once.next_frame().unwrap().is_none());
    let empty = temp_dir("empty");
    let mut none = FileSource::new(std::slice::from_ref(&empty), true).unwrap();
    assert!(none.next_frame().unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}
