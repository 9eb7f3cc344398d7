//! Black-and-white matrices for rxing's QR readers, computed once per image
//! view and handed to the readers already made.
//!
//! [`hybrid_matrix`] computes exactly the matrix rxing's `HybridBinarizer`
//! computes (8x8 blocks, each thresholded at the mean black point of the 5x5
//! blocks around it; flat blocks take their neighbours' level), bit for bit,
//! but in a layout the compiler vectorises: column sums, minima and maxima
//! over a band of 8 rows, then per-pixel comparisons packed eight at a time.
//! Under callgrind rxing's version was about half of the instructions of a
//! successful decode (21 per pixel); this one is about 2 per pixel.
//! [`Prebinarized`] then lets a reader take such a matrix (also one shared
//! by several attempts, e.g. the plain and the inverted try) as its
//! binarizer, so no attempt converts the same image twice.

use std::borrow::Cow;

use rxing::common::{
    BitArray, BitMatrix, GlobalHistogramBinarizer, LineOrientation, Result as RxResult,
};
use rxing::{Binarizer, Luma8Source, LuminanceSource};

/// Block side of the hybrid binarizer (rxing's `BLOCK_SIZE`).
const BLOCK: usize = 8;
/// Images smaller than this on either side get the global-histogram matrix,
/// as rxing's hybrid binarizer does (its `MINIMUM_DIMENSION`).
const MIN_SIDE: usize = BLOCK * 5;
/// A block whose brightest and darkest pixels differ by no more than this is
/// "flat" (rxing's `MIN_DYNAMIC_RANGE`).
const MIN_DYNAMIC_RANGE: u8 = 24;

/// The hybrid binarizer's matrix of a `width` x `height` luma image (true
/// = black), identical to what rxing 0.9's `HybridBinarizer` returns for the
/// same pixels. `None` for an empty image or a buffer of the wrong size.
pub fn hybrid_matrix(data: &[u8], width: usize, height: usize) -> Option<BitMatrix> {
    if width == 0 || height == 0 || data.len() != width.checked_mul(height)? {
        return None;
    }
    if width < MIN_SIDE || height < MIN_SIDE {
        return global_matrix(data, width, height);
    }
    let thresholds = block_thresholds(data, width, height);
    threshold_image(data, width, height, &thresholds)
}

/// The matrix of rxing's `GlobalHistogramBinarizer` (one threshold for the
/// whole image from its histogram); `None` when rxing finds no threshold.
pub fn global_matrix(data: &[u8], width: usize, height: usize) -> Option<BitMatrix> {
    let source = Luma8Source::new_with_slice(data, width as u32, height as u32).ok()?;
    GlobalHistogramBinarizer::new(source)
        .get_black_matrix()
        .ok()
        .cloned()
}

/// Offset of block `b` along a side of `len` pixels: the last block is
/// pulled back inside the image when the side is not a multiple of 8, so it
/// overlaps the one before it (as in rxing).
fn block_offset(b: usize, len: usize) -> usize {
    (b * BLOCK).min(len - BLOCK)
}

/// Per-block thresholds, `sub_w * sub_h` in row order: the mean of the 5x5
/// blocks' black points around each block (clamped at the edges).
struct Thresholds {
    sub_w: usize,
    values: Vec<u8>,
}

fn block_thresholds(data: &[u8], width: usize, height: usize) -> Thresholds {
    let sub_w = width.div_ceil(BLOCK);
    let sub_h = height.div_ceil(BLOCK);
    let mut black = vec![0u32; sub_w * sub_h];
    // Column sums, minima and maxima over the 8 rows of one band of blocks.
    let mut sums = vec![0u16; width];
    let mut mins = vec![0u8; width];
    let mut maxs = vec![0u8; width];
    for by in 0..sub_h {
        let y0 = block_offset(by, height);
        let first = &data[y0 * width..(y0 + 1) * width];
        for ((s, mn), (mx, &p)) in sums
            .iter_mut()
            .zip(mins.iter_mut())
            .zip(maxs.iter_mut().zip(first))
        {
            *s = u16::from(p);
            *mn = p;
            *mx = p;
        }
        for r in 1..BLOCK {
            let row = &data[(y0 + r) * width..(y0 + r + 1) * width];
            for ((s, mn), (mx, &p)) in sums
                .iter_mut()
                .zip(mins.iter_mut())
                .zip(maxs.iter_mut().zip(row))
            {
                *s += u16::from(p);
                *mn = (*mn).min(p);
                *mx = (*mx).max(p);
            }
        }
        for bx in 0..sub_w {
            let x0 = block_offset(bx, width);
            let sum: u32 = sums[x0..x0 + BLOCK].iter().map(|&s| u32::from(s)).sum();
            let min = mins[x0..x0 + BLOCK].iter().copied().fold(u8::MAX, u8::min);
            let max = maxs[x0..x0 + BLOCK].iter().copied().fold(u8::MIN, u8::max);
            // rxing stops tracking min/max once a block's range exceeds the
            // limit and only then uses the mean, so the full block's range
            // and minimum give the same decision and value.
            let mut average = sum >> 6;
            if max - min <= MIN_DYNAMIC_RANGE {
                // A flat block: assume it is background (half its minimum)
                // unless its neighbours say it lies inside a dark area.
                average = u32::from(min) / 2;
                if by > 0 && bx > 0 {
                    let up = black[(by - 1) * sub_w + bx];
                    let left = black[by * sub_w + bx - 1];
                    let up_left = black[(by - 1) * sub_w + bx - 1];
                    let neighbours = (up + 2 * left + up_left) / 4;
                    if u32::from(min) < neighbours {
                        average = neighbours;
                    }
                }
            }
            black[by * sub_w + bx] = average;
        }
    }
    // Sum over the 5x5 blocks around each block, the window clamped inside
    // the grid: sums of 5 along each row first, then of 5 rows of those.
    let mut across = vec![0u32; sub_w * sub_h];
    for (out, row) in across
        .chunks_exact_mut(sub_w)
        .zip(black.chunks_exact(sub_w))
    {
        for (bx, o) in out.iter_mut().enumerate() {
            let left = bx.clamp(2, sub_w - 3);
            *o = row[left - 2..left + 3].iter().sum();
        }
    }
    let mut values = vec![0u8; sub_w * sub_h];
    for (by, out) in values.chunks_exact_mut(sub_w).enumerate() {
        let top = by.clamp(2, sub_h - 3);
        let row = |dy: usize| &across[(top + dy - 2) * sub_w..(top + dy - 1) * sub_w];
        let (r0, r1, r2, r3, r4) = (row(0), row(1), row(2), row(3), row(4));
        for (bx, o) in out.iter_mut().enumerate() {
            let sum = r0[bx] + r1[bx] + r2[bx] + r3[bx] + r4[bx];
            // Each black point is at most 255, so is their mean.
            *o = u8::try_from(sum / 25).unwrap_or(u8::MAX);
        }
    }
    Thresholds { sub_w, values }
}

/// Bytes of 0/1 (pixel order) packed into one byte, first pixel lowest bit.
fn pack8(flags: [u8; 8]) -> u8 {
    // Each 0/1 byte lands on its own bit of the top byte.
    (u64::from_le_bytes(flags).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

fn threshold_image(data: &[u8], width: usize, height: usize, t: &Thresholds) -> Option<BitMatrix> {
    const WORD_BYTES: usize = std::mem::size_of::<usize>();
    let mut matrix =
        BitMatrix::new(u32::try_from(width).ok()?, u32::try_from(height).ok()?).ok()?;
    let words = width.div_ceil(usize::BITS as usize);
    let mut bits = BitArray::with_size(width);
    // Per-pixel threshold of the current row; 0/1 "black" flags; packed bits.
    let mut row_threshold = vec![0u8; width];
    let mut flags = vec![0u8; words * WORD_BYTES * 8];
    let mut packed = vec![0u8; words * WORD_BYTES];
    // The pulled-back last row and column of blocks overlap the ones
    // before them, and rxing sets a pixel's bit if any block covering it
    // says black. The overlap needs no care: the 5x5 window is clamped
    // inside the grid, so the last two blocks of a row or column average
    // the same window and share one threshold.
    let mut band_built = None;
    for y in 0..height {
        let by = y / BLOCK;
        if band_built != Some(by) {
            band_built = Some(by);
            let band = &t.values[by * t.sub_w..(by + 1) * t.sub_w];
            for (out, &th) in row_threshold.chunks_mut(BLOCK).zip(band) {
                out.fill(th);
            }
        }
        let lum = &data[y * width..(y + 1) * width];
        for ((f, &l), &th) in flags.iter_mut().zip(lum).zip(&row_threshold) {
            *f = u8::from(l <= th);
        }
        for (p, chunk) in packed.iter_mut().zip(flags.chunks_exact(8)) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            *p = pack8(eight);
        }
        for (i, word) in packed.chunks_exact(WORD_BYTES).enumerate() {
            let mut w = [0u8; WORD_BYTES];
            w.copy_from_slice(word);
            bits.setBulk(i * usize::BITS as usize, usize::from_le_bytes(w));
        }
        matrix.setRow(y as u32, &bits);
    }
    Some(matrix)
}

/// A binarizer whose matrix is already computed (by [`hybrid_matrix`] or
/// [`global_matrix`]), so readers and retries share one conversion. Rows and
/// columns for 1D readers come from the same matrix.
pub struct Prebinarized<'a, 'm> {
    source: Luma8Source<'a>,
    matrix: Cow<'m, BitMatrix>,
}

impl<'a, 'm> Prebinarized<'a, 'm> {
    /// A binarizer over `source` answering with `matrix` (same size).
    pub fn new(source: Luma8Source<'a>, matrix: &'m BitMatrix) -> Self {
        Self {
            source,
            matrix: Cow::Borrowed(matrix),
        }
    }
}

impl<'a> Binarizer for Prebinarized<'a, '_> {
    type Source = Luma8Source<'a>;

    fn get_luminance_source(&self) -> &Self::Source {
        &self.source
    }

    fn get_black_row(&self, y: usize) -> RxResult<Cow<'_, BitArray>> {
        self.get_black_line(y, LineOrientation::Row)
    }

    fn get_black_row_from_matrix(&self, y: usize) -> RxResult<Cow<'_, BitArray>> {
        self.get_black_row(y)
    }

    fn get_black_matrix(&self) -> RxResult<&BitMatrix> {
        Ok(&self.matrix)
    }

    fn get_black_line(&self, l: usize, lt: LineOrientation) -> RxResult<Cow<'_, BitArray>> {
        let m = &self.matrix;
        let line = match lt {
            LineOrientation::Row if l < m.height() as usize => m.getRow(l as u32),
            LineOrientation::Column if l < m.width() as usize => m.getCol(l as u32),
            _ => return Err(rxing::Exceptions::INDEX_OUT_OF_BOUNDS),
        };
        Ok(Cow::Owned(line))
    }

    fn create_binarizer(&self, source: Self::Source) -> Self {
        // A new source (a crop or rotation) gets its own hybrid matrix.
        let (w, h) = (source.get_width(), source.get_height());
        let matrix = hybrid_matrix(&source.get_matrix(), w, h)
            .or_else(|| BitMatrix::new(w.max(1) as u32, h.max(1) as u32).ok())
            .unwrap_or_else(|| self.matrix.clone().into_owned());
        Self {
            source,
            matrix: Cow::Owned(matrix),
        }
    }

    fn get_width(&self) -> usize {
        self.source.get_width()
    }

    fn get_height(&self) -> usize {
        self.source.get_height()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rxing::common::HybridBinarizer;

    /// rxing's own hybrid binarizer; `None` where it finds no threshold.
    fn rxing_hybrid(data: &[u8], width: usize, height: usize) -> Option<BitMatrix> {
        let source = Luma8Source::new_with_slice(data, width as u32, height as u32).unwrap();
        HybridBinarizer::new(source)
            .get_black_matrix()
            .ok()
            .cloned()
    }

    /// A deterministic pseudo-random image with flat areas, gradients and
    /// noise, so flat-block, neighbour and high-contrast paths all run.
    fn test_image(width: usize, height: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let mut img = vec![0u8; width * height];
        for y in 0..height {
            for x in 0..width {
                let region = ((x / 13) + (y / 11)) % 4;
                let base = match region {
                    0 => 200,                        // flat light
                    1 => 30,                         // flat dark
                    2 => ((x * 255) / width) as u32, // gradient
                    _ => {
                        if (x / 3 + y / 3) % 2 == 0 {
                            40
                        } else {
                            220
                        }
                    } // modules
                };
                let noise = next() % 9;
                img[y * width + x] = (base + noise).min(255) as u8;
            }
        }
        img
    }

    #[test]
    fn hybrid_matrix_equals_rxing_hybrid_binarizer_on_every_size_class() {
        // Multiples of 8 and not (pulled-back last blocks), tiny (global
        // fallback), wider than one machine word, tall and thin.
        for (w, h) in [
            (40, 40),
            (41, 47),
            (64, 64),
            (65, 130),
            (127, 63),
            (240, 240),
            (333, 97),
            (39, 200),
            (200, 39),
            (12, 12),
            (640, 480),
        ] {
            for seed in 0..3 {
                let img = test_image(w, h, seed);
                let ours = hybrid_matrix(&img, w, h);
                if w >= MIN_SIDE && h >= MIN_SIDE {
                    assert!(ours.is_some(), "{w}x{h}: the local path always answers");
                }
                assert_eq!(ours, rxing_hybrid(&img, w, h), "{w}x{h} seed {seed}");
            }
        }
    }

    #[test]
    fn hybrid_matrix_equals_rxing_on_flat_and_extreme_images() {
        for (w, h, fill) in [(48, 48, 0u8), (48, 48, 255), (57, 61, 128)] {
            let img = vec![fill; w * h];
            let ours = hybrid_matrix(&img, w, h);
            assert!(ours.is_some());
            assert_eq!(ours, rxing_hybrid(&img, w, h));
        }
    }

    #[test]
    fn small_images_get_the_global_histogram_matrix_like_rxing() {
        // Under 40 px on a side: one threshold for the whole image. Dark
        // squares on light paper, so the histogram has its two peaks.
        let (w, h) = (30, 24);
        let img: Vec<u8> = (0..w * h)
            .map(|i| {
                if (i % w / 5 + i / w / 5) % 2 == 0 {
                    30
                } else {
                    210
                }
            })
            .collect();
        let ours = hybrid_matrix(&img, w, h).unwrap();
        assert_eq!(Some(ours.clone()), rxing_hybrid(&img, w, h));
        assert!(ours.get(0, 0), "a dark square at the corner is black");
        assert!(!ours.get(5, 0), "the light one beside it is white");
    }

    #[test]
    fn hybrid_matrix_equals_rxing_on_every_photo_in_the_test_set() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qr");
        let paths = crate::scan::file_source::image_paths(&[dir]).unwrap();
        assert_eq!(paths.len(), 90);
        for p in paths {
            let f = crate::scan::file_source::load_luma(&p).unwrap();
            let (w, h) = (f.width as usize, f.height as usize);
            assert_eq!(
                hybrid_matrix(&f.data, w, h),
                rxing_hybrid(&f.data, w, h),
                "{}",
                p.display()
            );
        }
    }

    #[test]
    fn hybrid_matrix_refuses_a_buffer_of_the_wrong_size() {
        assert!(hybrid_matrix(&[0; 10], 4, 4).is_none());
        assert!(hybrid_matrix(&[], 0, 0).is_none());
    }

    #[test]
    fn pack8_puts_the_first_pixel_in_the_lowest_bit() {
        assert_eq!(pack8([1, 0, 0, 0, 0, 0, 0, 0]), 0b0000_0001);
        assert_eq!(pack8([0, 0, 0, 0, 0, 0, 0, 1]), 0b1000_0000);
        assert_eq!(pack8([1, 1, 0, 1, 0, 0, 1, 1]), 0b1100_1011);
    }
}
