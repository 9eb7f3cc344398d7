//! Whatever a camera hands the decoder, it answers without panicking and
//! without inventing a code: random sizes (1 px wide, a single row, odd
//! sides around the binarizer's 8 px blocks and 40 px minimum), flat,
//! noisy, blocky and striped frames, and random windows cut from a real
//! card scene (so finder patterns are cut in half), plain and inverted.
//! The combined decoder computes its own black-and-white matrices
//! (`scan::decode::binarize`), so this pins that code to every frame shape.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

mod util;

use std::panic::{AssertUnwindSafe, catch_unwind};

use tillcard::scan::decode::{CombinedDecoder, QrDecoder};
use tillcard::scan::frame::LumaFrame;
use util::Rng;

/// Uniform in `0..n` (0 when n is 0).
fn below(rng: &mut Rng, n: u32) -> u32 {
    rng.below(n.max(1) as usize) as u32
}

fn byte(rng: &mut Rng) -> u8 {
    (rng.next_u64() >> 56) as u8
}

/// What kind of picture a frame holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Flat,
    Noise,
    Blocks,
    Stripes,
    CardWindow,
    InvertedCardWindow,
}

const KINDS: [Kind; 6] = [
    Kind::Flat,
    Kind::Noise,
    Kind::Blocks,
    Kind::Stripes,
    Kind::CardWindow,
    Kind::InvertedCardWindow,
];

fn size(rng: &mut Rng) -> (u32, u32) {
    // Edge shapes first, then random sides up to 260 px.
    const EDGES: [(u32, u32); 10] = [
        (1, 1),
        (1, 200),
        (200, 1),
        (7, 9),
        (8, 8),
        (39, 40),
        (40, 39),
        (41, 41),
        (63, 65),
        (161, 17),
    ];
    let i = below(rng, 30) as usize;
    EDGES
        .get(i)
        .copied()
        .unwrap_or_else(|| (1 + below(rng, 260), 1 + below(rng, 260)))
}

fn frame(kind: Kind, rng: &mut Rng, scene: &image::GrayImage) -> LumaFrame {
    let (w, h) = size(rng);
    let mut data = vec![0u8; (w * h) as usize];
    match kind {
        Kind::Flat => data.fill(byte(rng)),
        Kind::Noise => data.iter_mut().for_each(|p| *p = byte(rng)),
        Kind::Blocks => {
            let side = 1 + below(rng, 12);
            let cols = w.div_ceil(side);
            let levels: Vec<u8> = (0..cols * h.div_ceil(side))
                .map(|_| if below(rng, 2) == 0 { 20 } else { 235 })
                .collect();
            for y in 0..h {
                for x in 0..w {
                    data[(y * w + x) as usize] = levels[((y / side) * cols + x / side) as usize];
                }
            }
        }
        Kind::Stripes => {
            let period = 2 + below(rng, 20);
            for y in 0..h {
                for x in 0..w {
                    data[(y * w + x) as usize] = if (x / period).is_multiple_of(2) {
                        30
                    } else {
                        220
                    };
                }
            }
        }
        Kind::CardWindow | Kind::InvertedCardWindow => {
            let (w, h) = (w.min(scene.width()), h.min(scene.height()));
            let x0 = below(rng, scene.width() - w + 1);
            let y0 = below(rng, scene.height() - h + 1);
            let crop = image::imageops::crop_imm(scene, x0, y0, w, h).to_image();
            let invert = matches!(kind, Kind::InvertedCardWindow);
            let pixels: Vec<u8> = crop
                .into_raw()
                .into_iter()
                .map(|p| if invert { 255 - p } else { p })
                .collect();
            return LumaFrame::new(w, h, pixels).unwrap();
        }
    }
    LumaFrame::new(w, h, data).unwrap()
}

#[test]
fn random_frames_of_every_shape_never_panic_nor_decode_a_code_that_is_not_there() {
    let token = util::token();
    // The card at 3 px per module on a 260x260 noisy scene: random windows
    // hold all of it, part of it, or none.
    let scene = util::paste_on_noisy_background(&util::card_image(&token, 3), 260, 260, 11);
    let mut rng = Rng::new(0x7111_CA4D);
    let mut decoder = CombinedDecoder::default();
    let (mut frames, mut read, mut panics) = (0, 0, Vec::new());
    for i in 0..1_200 {
        let kind = KINDS[i % KINDS.len()];
        let f = frame(kind, &mut rng, &scene);
        let shape = (f.width, f.height);
        match catch_unwind(AssertUnwindSafe(|| decoder.decode(&f))) {
            Ok(Ok(text)) => {
                assert!(
                    matches!(kind, Kind::CardWindow | Kind::InvertedCardWindow),
                    "{kind:?} {shape:?} decoded {text:?} from a frame with no code"
                );
                assert_eq!(text, token, "{kind:?} {shape:?} misread the card");
                read += 1;
            }
            Ok(Err(_)) => {}
            Err(_) => panics.push((kind, shape)),
        }
        frames += 1;
    }
    println!(
        "{frames} frames, {read} read the card, {} panics",
        panics.len()
    );
    assert!(panics.is_empty(), "decoder panicked on {panics:?}");
    assert!(
        read > 0,
        "no window held the whole card: the test lost its positives"
    );
}
