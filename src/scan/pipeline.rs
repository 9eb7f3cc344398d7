//! The decode pipeline on its own thread: the newest frame wins (a one-slot
//! mailbox; a frame still waiting when a newer one arrives is dropped and
//! counted), a code seen again within the repeat window is not reported
//! twice, and a panicking decoder is caught, counted and survived. Texts
//! from a keyboard-wedge scanner ([`ScanPipeline::submit_text`]) take the
//! same path after the decoder, so the UI listens to one stream of outcomes.
//! A frame with no Tillcard code in it is also searched for a product
//! barcode ([`PipelineParts::barcodes`], issue 24): a member's card in the
//! same frame wins.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::scan::credential::CardVerifier;
use crate::scan::decode::QrDecoder;
use crate::scan::decode::barcode::BarcodeDecoder;
use crate::scan::directory::MemberDirectory;
use crate::scan::frame::{FrameError, FrameSource, LumaFrame};
use crate::scan::outcome::{ScanOutcome, classify, classify_wedge, is_tillcard_text};
use crate::scan::product::ProductCode;

/// Tuning of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The same text is not reported again within this window.
    pub repeat_window: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            repeat_window: Duration::from_secs(3),
        }
    }
}

/// One reported scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvent {
    /// What the clerk is told.
    pub outcome: ScanOutcome,
    /// From the frame handed to [`ScanPipeline::submit`] to this outcome
    /// (waiting, decoding, verification and member lookup).
    pub latency: Duration,
    /// Time spent in the decoder alone.
    pub decode_time: Duration,
}

/// Counters, readable while the pipeline runs.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Frames handed in.
    pub submitted: AtomicU64,
    /// Frames replaced by a newer one before the decoder took them.
    pub dropped: AtomicU64,
    /// Frames the decoder ran on.
    pub decoded_frames: AtomicU64,
    /// Frames in which a code was found.
    pub codes_found: AtomicU64,
    /// Codes not reported because seen within the repeat window.
    pub repeats_suppressed: AtomicU64,
    /// Decoder panics caught.
    pub decoder_panics: AtomicU64,
}

/// A snapshot of [`PipelineStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// See [`PipelineStats::submitted`].
    pub submitted: u64,
    /// See [`PipelineStats::dropped`].
    pub dropped: u64,
    /// See [`PipelineStats::decoded_frames`].
    pub decoded_frames: u64,
    /// See [`PipelineStats::codes_found`].
    pub codes_found: u64,
    /// See [`PipelineStats::repeats_suppressed`].
    pub repeats_suppressed: u64,
    /// See [`PipelineStats::decoder_panics`].
    pub decoder_panics: u64,
}

impl PipelineStats {
    /// The current counts.
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            submitted: g(&self.submitted),
            dropped: g(&self.dropped),
            decoded_frames: g(&self.decoded_frames),
            codes_found: g(&self.codes_found),
            repeats_suppressed: g(&self.repeats_suppressed),
            decoder_panics: g(&self.decoder_panics),
        }
    }
}

#[derive(Default)]
struct Slot {
    frame: Option<(LumaFrame, Instant)>,
    /// Wedge texts are deliberate scans: queued, never dropped.
    texts: std::collections::VecDeque<(String, Instant)>,
    shutdown: bool,
}

enum Work {
    Frame(LumaFrame, Instant),
    Text(String, Instant),
}

struct Mailbox {
    slot: Mutex<Slot>,
    ready: Condvar,
}

/// Everything the decode thread needs besides the mailbox.
pub struct PipelineParts {
    /// The decoder.
    pub decoder: Box<dyn QrDecoder>,
    /// Trusted keys and revocations; head-office updates write through the
    /// lock.
    pub verifier: Arc<RwLock<CardVerifier>>,
    /// Member lookup.
    pub directory: Box<dyn MemberDirectory + Send>,
    /// Product barcodes, looked for in frames with no Tillcard code;
    /// `None` reads member codes only.
    pub barcodes: Option<BarcodeDecoder>,
    /// Tuning.
    pub config: PipelineConfig,
}

impl PipelineParts {
    /// What a scanned `text` is, now, by the current keys and revocations
    /// (read under their lock) and the directory.
    fn classify(&self, text: &str) -> ScanOutcome {
        let verifier = self.verifier.read().unwrap_or_else(PoisonError::into_inner);
        classify(text, &verifier, self.directory.as_ref(), now_unix())
    }

    /// What a keyboard wedge's text is: a product code, or else as
    /// [`Self::classify`].
    fn classify_wedge(&self, text: &str) -> ScanOutcome {
        let verifier = self.verifier.read().unwrap_or_else(PoisonError::into_inner);
        classify_wedge(text, &verifier, self.directory.as_ref(), now_unix())
    }

    /// What a frame holds: a Tillcard code first (member card, enrollment),
    /// else a product barcode, else any other QR text; `None` when nothing
    /// was read.
    fn decode(&mut self, frame: &LumaFrame) -> Option<Found> {
        let qr = self.decoder.decode(frame).ok();
        if let Some(text) = &qr
            && is_tillcard_text(text)
        {
            return qr.map(Found::Text);
        }
        let item = self.barcodes.as_ref().and_then(|b| b.decode(frame).ok());
        item.map(Found::Item).or(qr.map(Found::Text))
    }
}

/// What the decoders found in a frame.
enum Found {
    /// A QR code's text.
    Text(String),
    /// A product barcode.
    Item(ProductCode),
}

impl Found {
    /// The key the repeat window compares (an item's symbology and text,
    /// kept apart from QR texts).
    fn repeat_key(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Item(code) => format!("\u{1}item:{code}"),
        }
    }
}

/// A running decode thread. Dropping it stops the thread.
pub struct ScanPipeline {
    mailbox: Arc<Mailbox>,
    stats: Arc<PipelineStats>,
    thread: Option<JoinHandle<()>>,
}

/// How many codes the repeat filter remembers at once (a card and an item
/// in view together, a few items on the counter).
const REPEAT_MEMORY: usize = 8;

/// Suppresses a code seen again within the window of its last sighting: a
/// code held in front of the camera is reported once, and again only
/// after it has been out of view for the window (a can held up for five
/// seconds is one can, not two). Several codes in view by turns do not
/// defeat it: each is remembered.
#[derive(Debug, Default)]
struct RepeatFilter {
    seen: Vec<(String, Instant)>,
}

impl RepeatFilter {
    fn is_repeat(&mut self, text: &str, now: Instant, window: Duration) -> bool {
        self.seen
            .retain(|(_, at)| now.saturating_duration_since(*at) < window);
        if let Some((_, at)) = self.seen.iter_mut().find(|(t, _)| t == text) {
            *at = now;
            return true;
        }
        if self.seen.len() >= REPEAT_MEMORY {
            self.seen.remove(0);
        }
        self.seen.push((text.to_owned(), now));
        false
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ScanPipeline {
    /// Starts the decode thread; outcomes arrive on the returned receiver.
    pub fn spawn(parts: PipelineParts) -> std::io::Result<(Self, Receiver<ScanEvent>)> {
        let mailbox = Arc::new(Mailbox {
            slot: Mutex::new(Slot::default()),
            ready: Condvar::new(),
        });
        let stats = Arc::new(PipelineStats::default());
        let (tx, rx) = channel();
        let thread = {
            let mailbox = mailbox.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("scan-decode".into())
                .spawn(move || decode_loop(parts, &mailbox, &stats, &tx))?
        };
        Ok((
            Self {
                mailbox,
                stats,
                thread: Some(thread),
            },
            rx,
        ))
    }

    /// Hands a frame to the decoder without waiting; replaces (and counts as
    /// dropped) a frame the decoder has not taken yet.
    pub fn submit(&self, frame: LumaFrame) {
        self.stats.submitted.fetch_add(1, Ordering::Relaxed);
        let mut slot = self
            .mailbox
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.frame.replace((frame, Instant::now())).is_some() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop(slot);
        self.mailbox.ready.notify_one();
    }

    /// Hands a scanned text (from a keyboard-wedge scanner) to the pipeline:
    /// it is classified like a decoded frame, is never dropped, and is not
    /// subject to the repeat window (a second wedge scan is deliberate).
    pub fn submit_text(&self, text: String) {
        self.mailbox
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .texts
            .push_back((text, Instant::now()));
        self.mailbox.ready.notify_one();
    }

    /// Whether a submitted frame still waits for the decoder.
    pub fn is_frame_pending(&self) -> bool {
        self.mailbox
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .frame
            .is_some()
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Stops the thread after the frame in progress and waits for it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.mailbox
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .shutdown = true;
        self.mailbox.ready.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ScanPipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

fn decode_loop(
    mut parts: PipelineParts,
    mailbox: &Mailbox,
    stats: &PipelineStats,
    tx: &Sender<ScanEvent>,
) {
    let mut repeats = RepeatFilter::default();
    loop {
        let work = {
            let mut slot = mailbox.slot.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if slot.shutdown {
                    return;
                }
                if let Some((t, at)) = slot.texts.pop_front() {
                    break Work::Text(t, at);
                }
                if let Some((f, at)) = slot.frame.take() {
                    break Work::Frame(f, at);
                }
                slot = mailbox
                    .ready
                    .wait(slot)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let (frame, submitted_at) = match work {
            Work::Frame(f, at) => (f, at),
            Work::Text(text, at) => {
                let event = ScanEvent {
                    outcome: parts.classify_wedge(&text),
                    latency: at.elapsed(),
                    decode_time: Duration::ZERO,
                };
                if tx.send(event).is_err() {
                    return;
                }
                continue;
            }
        };
        stats.decoded_frames.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let decoded = catch_unwind(AssertUnwindSafe(|| parts.decode(&frame)));
        let decode_time = started.elapsed();
        let found = match decoded {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            Err(_) => {
                stats.decoder_panics.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        stats.codes_found.fetch_add(1, Ordering::Relaxed);
        let key = found.repeat_key();
        if repeats.is_repeat(&key, Instant::now(), parts.config.repeat_window) {
            stats.repeats_suppressed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let outcome = match found {
            Found::Text(text) => parts.classify(&text),
            Found::Item(code) => ScanOutcome::Item(code),
        };
        let event = ScanEvent {
            outcome,
            latency: submitted_at.elapsed(),
            decode_time,
        };
        if tx.send(event).is_err() {
            // Nobody listens any more.
            return;
        }
    }
}

/// Drives a pipeline from a frame source until the source ends or `keep_going`
/// returns false. Unavailable sources are asked again (they pace themselves).
pub fn feed_from_source(
    source: &mut dyn FrameSource,
    pipeline: &ScanPipeline,
    mut keep_going: impl FnMut() -> bool,
) {
    while keep_going() {
        match source.next_frame() {
            Ok(Some(frame)) => pipeline.submit(frame),
            Ok(None) => return,
            Err(FrameError::Unavailable(_) | FrameError::BadFrame(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::decode::DecodeError;
    use crate::scan::directory::InMemoryDirectory;
    use std::sync::atomic::AtomicBool;

    /// Returns the frame's first byte as text, panics on 0, blocks while the
    /// gate is closed.
    struct ScriptedDecoder {
        gate: Arc<AtomicBool>,
    }

    impl QrDecoder for ScriptedDecoder {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn decode(&mut self, frame: &LumaFrame) -> Result<String, DecodeError> {
            while !self.gate.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            match frame.data[0] {
                0 => panic!("decoder bug"),
                255 => Err(DecodeError::NotFound),
                b => Ok(format!("CODE{b}")),
            }
        }
    }

    fn frame(b: u8) -> LumaFrame {
        LumaFrame::new(1, 1, vec![b]).unwrap()
    }

    fn spawn(gate: Arc<AtomicBool>, window: Duration) -> (ScanPipeline, Receiver<ScanEvent>) {
        ScanPipeline::spawn(PipelineParts {
            decoder: Box::new(ScriptedDecoder { gate }),
            verifier: Arc::new(RwLock::new(CardVerifier::default())),
            directory: Box::new(InMemoryDirectory::new()),
            barcodes: None,
            config: PipelineConfig {
                repeat_window: window,
            },
        })
        .unwrap()
    }

    fn wait_until(mut f: impl FnMut() -> bool) {
        let t = Instant::now();
        while !f() {
            assert!(t.elapsed() < Duration::from_secs(5), "timed out");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn newest_frame_wins_and_older_ones_are_counted_as_dropped() {
        let gate = Arc::new(AtomicBool::new(false));
        let (p, rx) = spawn(gate.clone(), Duration::ZERO);
        p.submit(frame(1));
        // The decoder holds frame 1 (blocked on the gate).
        wait_until(|| !p.is_frame_pending());
        p.submit(frame(2));
        p.submit(frame(3));
        p.submit(frame(4));
        gate.store(true, Ordering::Release);
        let a = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let b = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(a.outcome, ScanOutcome::NotMemberCode);
        assert_eq!(b.outcome, ScanOutcome::NotMemberCode);
        let s = p.stats();
        assert_eq!(s.submitted, 4);
        assert_eq!(s.dropped, 2);
        assert_eq!(s.decoded_frames, 2);
    }

    #[test]
    fn a_decoder_panic_is_counted_and_not_fatal() {
        let gate = Arc::new(AtomicBool::new(true));
        let (p, rx) = spawn(gate, Duration::ZERO);
        p.submit(frame(0));
        wait_until(|| p.stats().decoder_panics == 1);
        p.submit(frame(7));
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_ok());
        assert_eq!(p.stats().decoder_panics, 1);
    }

    #[test]
    fn the_same_code_is_not_reported_twice_within_the_window() {
        let gate = Arc::new(AtomicBool::new(true));
        let (p, rx) = spawn(gate, Duration::from_secs(60));
        for (i, b) in [5, 5, 6, 5].into_iter().enumerate() {
            p.submit(frame(b));
            wait_until(|| p.stats().decoded_frames == i as u64 + 1 && !p.is_frame_pending());
            // Let the decode thread finish the frame before the next one.
            wait_until(|| {
                let s = p.stats();
                s.codes_found == i as u64 + 1
            });
        }
        let got: Vec<ScanEvent> = rx.try_iter().collect();
        // 5, then 6; 5 again is still within its window, however many
        // other codes came in between (a code in view by turns with
        // another is one scan).
        assert_eq!(got.len(), 2);
        assert_eq!(p.stats().repeats_suppressed, 2);
    }

    #[test]
    fn repeat_filter_expires_after_the_window() {
        let mut f = RepeatFilter::default();
        let t = Instant::now();
        let w = Duration::from_secs(2);
        assert!(!f.is_repeat("A", t, w));
        assert!(f.is_repeat("A", t + Duration::from_secs(1), w));
        assert!(!f.is_repeat("A", t + Duration::from_secs(4), w));
        assert!(!f.is_repeat("B", t + Duration::from_secs(4), w));
    }

    #[test]
    fn a_code_held_in_view_is_reported_once_even_beside_another() {
        let mut f = RepeatFilter::default();
        let t = Instant::now();
        let w = Duration::from_secs(2);
        let at = |ms| t + Duration::from_millis(ms);
        // A and B in view by turns for 5 s, a sighting every 200 ms.
        let reported: Vec<&str> = (0..25)
            .map(|i| if i % 2 == 0 { "A" } else { "B" })
            .enumerate()
            .filter(|(i, code)| !f.is_repeat(code, at(200 * *i as u64), w))
            .map(|(_, code)| code)
            .collect();
        assert_eq!(reported, ["A", "B"]);
        // A leaves the view; back after the window, it is reported again.
        assert!(!f.is_repeat("A", at(4_800 + 2_100), w));
    }
}
