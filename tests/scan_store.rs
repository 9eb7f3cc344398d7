//! The whole scan path against the real store: a card photo from the file
//! frame source, through the decode thread and the offline signature check,
//! to the member read from SQLite on the scan thread's own connection.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tillcard::scan::decode::CombinedDecoder;
use tillcard::scan::directory::MemberDirectory;
use tillcard::scan::file_source::FileSource;
use tillcard::scan::outcome::ScanOutcome;
use tillcard::scan::pipeline::{PipelineConfig, PipelineParts, ScanPipeline, feed_from_source};
use util::*;

#[test]
fn a_card_photo_scans_to_the_member_in_the_sqlite_store() {
    let (_store_dir, reader) = util::store::store_with_card_member(1_000);
    let photos = tempfile::tempdir().unwrap();
    let scene = rotated(
        &paste_on_noisy_background(&card_image(&token(), 4), 640, 480, 9),
        8.0,
    );
    scene.save(photos.path().join("card.png")).unwrap();

    let (pipeline, events) = ScanPipeline::spawn(PipelineParts {
        decoder: Box::new(CombinedDecoder::default()),
        verifier: Arc::new(RwLock::new(verifier())),
        directory: Box::new(reader),
        barcodes: Some(tillcard::scan::decode::barcode::BarcodeDecoder::default()),
        config: PipelineConfig::default(),
    })
    .unwrap();
    let mut source = FileSource::new(&[photos.path().to_path_buf()], false).unwrap();
    feed_from_source(&mut source, &pipeline, || true);
    let event = events.recv_timeout(Duration::from_secs(20)).unwrap();
    match event.outcome {
        ScanOutcome::MemberFound { member, .. } => {
            assert_eq!(member.member_id, member_id());
            assert_eq!(member.masked_phone, "138****5678");
            assert_eq!(member.masked_name, "张*");
            assert_eq!(member.tier, "gold");
        }
        other => panic!("expected the member, got {other:?}"),
    }
    pipeline.shutdown();
}

#[test]
fn a_valid_card_unknown_to_this_store_is_reported_as_such() {
    let (_store_dir, reader) = util::store::store_with_card_member(10);
    assert!(
        reader
            .find_by_member_id(uuid::Uuid::from_u128(7))
            .unwrap()
            .is_none()
    );
    assert!(reader.find_by_member_id(member_id()).unwrap().is_some());
}
