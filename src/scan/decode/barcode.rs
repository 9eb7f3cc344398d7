//! Product barcodes in camera frames (issue 24): EAN-13, EAN-8, UPC-A and
//! Code 128 read with rxing's one-dimensional row readers, on scan lines
//! this module takes from the frame itself.
//!
//! A 1D barcode is read along one line across its bars, so the work is in
//! choosing lines and turning each into black and white:
//! - lines run across the frame (rows), down it (columns: a code held
//!   upright, rotated 90°) and along both diagonals (a code turned about
//!   45°, whose bars rows and columns cross only partly); each line is
//!   also read reversed (upside down);
//! - each line is the average of a few neighbouring pixel lines (a band
//!   along the bars), which removes sensor noise and print texture without
//!   blurring the bars, and is then thresholded two ways: one threshold
//!   from the line's histogram with a sharpening filter (zxing's row
//!   binarizer: even light), and a threshold following the local mean
//!   (glare, shadow and curved packaging across the code);
//! - a few lines around the middle first, then every line at a finer step
//!   ("try harder") only when nothing was found, and then only the lines
//!   that cross bar-like structure at their angle ([`super::bars`]): a
//!   frame with no such structure is given up at once;
//! - EAN/UPC are tried at every start guard with white before it (up to
//!   [`MAX_GUARDS`]), not only the first (rxing's row reader): a
//!   bar-space-bar in text left of a code no longer hides it.
//!
//! A code is accepted when two different lines read the same text (a single
//! line can misread into a valid-looking EAN: its check digit catches only
//! 9 of 10 random errors), and only when [`ProductCode::new`] accepts it.
//! The order of [`DEFAULT_PASSES`] is the cheapest likely reads first; every
//! pass is a general image condition, never a particular photo.

use std::collections::HashSet;

use rxing::common::BitArray;
use rxing::oned::{Code128Reader, EAN8Reader, EAN13Reader, OneDReader, UPCEANReader};
use rxing::{BarcodeFormat, DecodeHints};

use super::DecodeError;
use super::bars::BarMap;
pub use super::bars::Direction;
use crate::scan::frame::LumaFrame;
use crate::scan::product::{ProductCode, Symbology};

/// How a scan line's luma becomes black and white.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineThreshold {
    /// One threshold from the line's histogram (the valley between its dark
    /// and light peaks), after a [-1 4 -1] sharpening: zxing's row
    /// binarizer, for evenly lit codes.
    Histogram,
    /// Black where darker than the mean of the surrounding stretch of the
    /// line: uneven light along the code.
    LocalMean,
}

/// One pass over a frame: a set of scan lines, read one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Rows or columns.
    pub direction: Direction,
    /// Binarization of each line.
    pub threshold: LineThreshold,
    /// Pixel lines averaged into one scan line (1 = none).
    pub band: usize,
    /// Look at every line, at a step of 1/160 of the frame on frames over
    /// 320 lines (instead of 15 lines 1/32 apart around the middle), that
    /// crosses bar-like structure at the line's angle ([`super::bars`]).
    pub try_harder: bool,
    /// Double lines shorter than [`UPSAMPLE_BELOW`] pixels (linear
    /// interpolation) before thresholding: small codes, few pixels per
    /// module, whose bar edges then fall to half a pixel.
    pub upsample: bool,
}

const fn pass(direction: Direction, threshold: LineThreshold, try_harder: bool) -> Pass {
    Pass {
        direction,
        threshold,
        band: 3,
        try_harder,
        upsample: false,
    }
}

const fn doubled(p: Pass) -> Pass {
    Pass {
        upsample: true,
        ..p
    }
}

/// The passes of [`BarcodeDecoder::default`], cheapest likely reads first:
/// the middle lines (rows, then columns, then diagonals), then every line
/// (diagonals last: a code turned near 45° is the rarer case). Every line with
/// the local-mean threshold was tried too and dropped: it read nothing the
/// passes before it had not, and frames with no barcode (most camera
/// frames) paid for it in full.
pub const DEFAULT_PASSES: &[Pass] = &[
    pass(Direction::Rows, LineThreshold::Histogram, false),
    pass(Direction::Columns, LineThreshold::Histogram, false),
    pass(Direction::Rows, LineThreshold::LocalMean, false),
    pass(Direction::Columns, LineThreshold::LocalMean, false),
    doubled(pass(Direction::Rows, LineThreshold::Histogram, false)),
    doubled(pass(Direction::Columns, LineThreshold::Histogram, false)),
    doubled(pass(Direction::Diagonal, LineThreshold::Histogram, false)),
    doubled(pass(
        Direction::AntiDiagonal,
        LineThreshold::Histogram,
        false,
    )),
    doubled(pass(Direction::Rows, LineThreshold::Histogram, true)),
    doubled(pass(Direction::Columns, LineThreshold::Histogram, true)),
    pass(Direction::Rows, LineThreshold::Histogram, true),
    pass(Direction::Columns, LineThreshold::Histogram, true),
    doubled(pass(Direction::Diagonal, LineThreshold::Histogram, true)),
    doubled(pass(
        Direction::AntiDiagonal,
        LineThreshold::Histogram,
        true,
    )),
];

/// How many different lines must read the same text before it is taken.
pub const AGREEING_LINES: usize = 2;

/// Reads product barcodes in luma frames: a sequence of [`Pass`]es; the
/// first text read on [`AGREEING_LINES`] lines wins. Frames larger than
/// `downscale_above` (longer side) are halved first.
pub struct BarcodeDecoder {
    hints: DecodeHints,
    passes: Vec<Pass>,
    /// Frames whose longer side exceeds this are halved first.
    pub downscale_above: u32,
}

impl Default for BarcodeDecoder {
    fn default() -> Self {
        Self::with_passes(DEFAULT_PASSES.to_vec())
    }
}

/// The rxing formats of the four symbologies; nothing else is looked for,
/// so no other symbology can misread as one of them.
fn formats() -> HashSet<BarcodeFormat> {
    [
        BarcodeFormat::EAN_13,
        BarcodeFormat::EAN_8,
        BarcodeFormat::UPC_A,
        BarcodeFormat::CODE_128,
    ]
    .into_iter()
    .collect()
}

fn symbology(format: BarcodeFormat) -> Option<Symbology> {
    match format {
        BarcodeFormat::EAN_13 => Some(Symbology::Ean13),
        BarcodeFormat::EAN_8 => Some(Symbology::Ean8),
        BarcodeFormat::UPC_A => Some(Symbology::UpcA),
        BarcodeFormat::CODE_128 => Some(Symbology::Code128),
        _ => None,
    }
}

/// Texts read so far in one frame, with the lines each came from.
///
/// Lines count as agreeing only when they share no pixel line: two
/// overlapping bands see nearly the same pixels and repeat the same misread.
/// A text is taken once [`AGREEING_LINES`] such lines read it and no other
/// text was read on as many lines: when lines disagree (a code too small or
/// blurred for some lines to read it right), a misread must not win a tie.
#[derive(Default)]
struct Tally {
    seen: Vec<(ProductCode, Vec<(Direction, usize)>)>,
}

impl Tally {
    /// Counts the read of `line` (a band `band` pixel lines wide); returns
    /// the code once enough separate lines agree.
    fn add(
        &mut self,
        code: ProductCode,
        at: (Direction, usize),
        band: usize,
        needed: usize,
    ) -> Option<ProductCode> {
        let i = match self.seen.iter().position(|(c, _)| *c == code) {
            Some(i) => i,
            None => {
                self.seen.push((code, Vec::new()));
                self.seen.len() - 1
            }
        };
        let lines = &mut self.seen[i].1;
        let separate = lines
            .iter()
            .all(|&(d, l)| d != at.0 || l.abs_diff(at.1) >= band - 1);
        if separate {
            lines.push(at);
        }
        let count = lines.len();
        let most_other = (self.seen.iter().enumerate())
            .filter(|&(j, _)| j != i)
            .map(|(_, (_, l))| l.len())
            .max()
            .unwrap_or(0);
        (count >= needed && count > most_other).then(|| self.seen[i].0.clone())
    }
}

/// A luma image borrowed as pixels and size.
#[derive(Clone, Copy)]
struct Image<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
}

impl Image<'_> {
    /// Scan lines in `direction` (rows: the height).
    fn line_count(&self, direction: Direction) -> usize {
        match direction {
            Direction::Rows => self.height,
            Direction::Columns => self.width,
            Direction::Diagonal | Direction::AntiDiagonal => self.width + self.height - 1,
        }
    }

    /// Diagonal line `i` as sums of `band` pixels along the other diagonal
    /// (along the bars of a code the line crosses at right angles; edge
    /// pixels repeat at the image's border), one sum per step of one pixel
    /// in x and y; returns `band`.
    fn diagonal(&self, anti: bool, i: usize, band: usize, sums: &mut Vec<u32>) -> usize {
        let (w, h) = (self.width as isize, self.height as isize);
        sums.clear();
        // Down-right: y - x = c; up-right: x + y = i.
        let (x0, x1) = if anti {
            let i = i as isize;
            ((i - (h - 1)).max(0), i.min(w - 1))
        } else {
            let c = i as isize - (w - 1);
            ((-c).max(0), (h - 1 - c).min(w - 1))
        };
        let half = (band / 2) as isize;
        for x in x0..=x1 {
            let y = if anti {
                i as isize - x
            } else {
                x + i as isize - (w - 1)
            };
            let mut s = 0u32;
            for j in -half..band as isize - half {
                // Along the bars: the other diagonal.
                let (px, py) = if anti { (x + j, y + j) } else { (x + j, y - j) };
                let (px, py) = (px.clamp(0, w - 1), py.clamp(0, h - 1));
                s += u32::from(self.data[(py * w + px) as usize]);
            }
            sums.push(s);
        }
        band
    }

    /// The luma of row `i`, averaged over `band` neighbouring rows centred
    /// on it (clipped at the image's edge), as sums into `sums`; returns
    /// how many rows were summed.
    fn line(&self, i: usize, band: usize, sums: &mut Vec<u32>) -> usize {
        let half = band / 2;
        let first = i.saturating_sub(half);
        let last = (i + band - half).min(self.height);
        sums.clear();
        sums.resize(self.width, 0);
        for row in self.data[first * self.width..last * self.width].chunks_exact(self.width) {
            for (s, &p) in sums.iter_mut().zip(row) {
                *s += u32::from(p);
            }
        }
        last - first
    }
}

/// An image turned 90° (transposed: column `x` becomes row `x`), so the
/// column passes read rows, in memory order.
fn transpose(image: Image<'_>) -> Vec<u8> {
    let (w, h) = (image.width, image.height);
    let mut out = vec![0u8; w * h];
    for (y, row) in image.data.chunks_exact(w).enumerate() {
        for (x, &p) in row.iter().enumerate() {
            out[x * h + y] = p;
        }
    }
    out
}

/// The black point of a line by zxing's histogram rule (32 buckets; the
/// valley between the two main peaks, nearer the light one); `None` when
/// the line has too little contrast to hold a code.
fn histogram_black_point(luma: &[u8]) -> Option<i32> {
    const BUCKETS: usize = 32;
    let mut buckets = [0i64; BUCKETS];
    for &v in luma {
        buckets[usize::from(v >> 3)] += 1;
    }
    let (mut first, mut first_size, mut max_count) = (0usize, 0i64, 0i64);
    for (x, &b) in buckets.iter().enumerate() {
        if b > first_size {
            first = x;
            first_size = b;
        }
        max_count = max_count.max(b);
    }
    let (mut second, mut second_score) = (0usize, 0i64);
    for (x, &b) in buckets.iter().enumerate() {
        let d = x.abs_diff(first) as i64;
        if b * d * d > second_score {
            second = x;
            second_score = b * d * d;
        }
    }
    let (dark, light) = (first.min(second), first.max(second));
    if light - dark <= BUCKETS / 16 {
        return None;
    }
    let (mut valley, mut valley_score) = (light - 1, -1i64);
    for x in (dark + 1..=light).rev() {
        let from_dark = (x - dark) as i64;
        let score = from_dark * from_dark * (light - x) as i64 * (max_count - buckets[x]);
        if score > valley_score {
            valley = x;
            valley_score = score;
        }
    }
    Some((valley as i32) << 3)
}

/// A line of luma as black (set) and white bits by `threshold`; `None`
/// when the line is too flat to hold bars.
fn binarize_line(luma: &[u8], threshold: LineThreshold, prefix: &mut Vec<u32>) -> Option<BitArray> {
    let n = luma.len();
    if n < 3 {
        return None;
    }
    let mut bits = BitArray::with_size(n);
    match threshold {
        LineThreshold::Histogram => {
            let black = histogram_black_point(luma)?;
            for x in 1..n - 1 {
                let (l, c, r) = (
                    i32::from(luma[x - 1]),
                    i32::from(luma[x]),
                    i32::from(luma[x + 1]),
                );
                if (4 * c - l - r) / 2 < black {
                    bits.set(x);
                }
            }
        }
        LineThreshold::LocalMean => {
            // The window spans about 1/16 of the line (a few bars of a code
            // filling a quarter of it) but never under 8 pixels.
            let radius = (n / 32).max(4);
            prefix.clear();
            prefix.push(0);
            let mut acc = 0u32;
            for &v in luma {
                acc += u32::from(v);
                prefix.push(acc);
            }
            let (lo, hi) = luma
                .iter()
                .fold((u8::MAX, u8::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            if hi - lo < 24 {
                return None;
            }
            for (x, &v) in luma.iter().enumerate() {
                let a = x.saturating_sub(radius);
                let b = (x + radius + 1).min(n);
                let mean = (prefix[b] - prefix[a]) / (b - a) as u32;
                // A margin keeps flat paper, whose pixels sit at the mean,
                // from flickering into thin bars.
                if u32::from(v) + 2 < mean {
                    bits.set(x);
                }
            }
        }
    }
    Some(bits)
}

impl BarcodeDecoder {
    /// A decoder running these passes, in order.
    pub fn with_passes(passes: Vec<Pass>) -> Self {
        Self {
            hints: DecodeHints {
                PossibleFormats: Some(formats()),
                ..DecodeHints::default()
            },
            passes,
            downscale_above: 1600,
        }
    }

    /// The product code in a frame, if a pass reads one; also the index of
    /// the pass that read it (for measurements).
    pub fn decode_with_pass(&self, frame: &LumaFrame) -> Option<(ProductCode, usize)> {
        let mut scaled: Option<(Vec<u8>, u32, u32)> = None;
        loop {
            let (w, h) = match &scaled {
                Some((_, w, h)) => (*w, *h),
                None => (frame.width, frame.height),
            };
            if w.max(h) <= self.downscale_above || w.min(h) < 16 {
                break;
            }
            let src = match &scaled {
                Some((d, _, _)) => d.as_slice(),
                None => frame.data.as_slice(),
            };
            scaled = Some(super::downscale_half(src, w, h));
        }
        let image = match &scaled {
            Some((d, w, h)) => Image {
                data: d,
                width: *w as usize,
                height: *h as usize,
            },
            None => Image {
                data: &frame.data,
                width: frame.width as usize,
                height: frame.height as usize,
            },
        };
        if image.data.len() != image.width * image.height {
            return None;
        }
        // Where bar-like structure is: measured once the first pass (the
        // middle rows, which read most codes held square) has failed.
        let mut bars: Option<BarMap> = None;
        let mut tally = Tally::default();
        let mut buffers = Buffers::default();
        // Turned once, on the first column pass.
        let mut turned: Option<Vec<u8>> = None;
        for (i, p) in self.passes.iter().enumerate() {
            let view = match p.direction {
                Direction::Rows | Direction::Diagonal | Direction::AntiDiagonal => image,
                Direction::Columns => Image {
                    data: turned.get_or_insert_with(|| transpose(image)),
                    width: image.height,
                    height: image.width,
                },
            };
            // Rows and columns of UPSAMPLE_BELOW pixels or more are not
            // doubled: a pass and its doubled twin then read the same
            // lines alike, so the later one is skipped.
            let straight = matches!(p.direction, Direction::Rows | Direction::Columns);
            if straight
                && view.width >= UPSAMPLE_BELOW
                && self.passes[..i].iter().any(|q| {
                    Pass {
                        upsample: p.upsample,
                        ..*q
                    } == *p
                })
            {
                continue;
            }
            if i > 0 {
                let map =
                    bars.get_or_insert_with(|| BarMap::of(image.data, image.width, image.height));
                if !map.any {
                    return None;
                }
                let diagonal = matches!(p.direction, Direction::Diagonal | Direction::AntiDiagonal);
                if (p.try_harder || diagonal) && !map.worth(p.direction) {
                    continue;
                }
            }
            if let Some(code) = self.run_pass(view, *p, bars.as_ref(), &mut tally, &mut buffers) {
                return Some((code, i));
            }
        }
        None
    }

    /// Reads the rows of one pass's view (the image, or it turned for
    /// column passes), middle out.
    fn run_pass(
        &self,
        image: Image<'_>,
        p: Pass,
        bars: Option<&BarMap>,
        tally: &mut Tally,
        buffers: &mut Buffers,
    ) -> Option<ProductCode> {
        let count = image.line_count(match p.direction {
            // The column view is the image turned: its rows.
            Direction::Columns => Direction::Rows,
            d => d,
        });
        if count == 0 {
            return None;
        }
        // Trying harder: every line up to 320 lines, then one line in 160
        // (3 on a 480-line frame: the 3-line bands still cover every pixel
        // line); otherwise 15 lines 1/32 apart around the middle.
        let step = if p.try_harder {
            count / 160
        } else {
            count >> 5
        }
        .max(1);
        let max_lines = if p.try_harder { count } else { 15 };
        let middle = count / 2;
        for k in 0..max_lines {
            let offset = step * k.div_ceil(2);
            let line = if k % 2 == 0 {
                middle + offset
            } else {
                match middle.checked_sub(offset) {
                    Some(l) => l,
                    None => break,
                }
            };
            if line >= count {
                break;
            }
            // A frame of a single line (a line-scan sensor) has no second
            // line to agree with.
            let needed = AGREEING_LINES.min(count);
            if p.try_harder && bars.is_some_and(|b| !b.has(p.direction, line)) {
                continue;
            }
            let found = self.read_line(image, p, line, buffers);
            let at = (p.direction, line);
            if let Some(code) = found.and_then(|c| tally.add(c, at, p.band.max(1), needed)) {
                return Some(code);
            }
        }
        None
    }

    /// Reads one scan line, forwards then reversed.
    fn read_line(
        &self,
        image: Image<'_>,
        p: Pass,
        line: usize,
        buffers: &mut Buffers,
    ) -> Option<ProductCode> {
        let band = p.band.max(1);
        let n = match p.direction {
            Direction::Rows | Direction::Columns => image.line(line, band, &mut buffers.sums),
            Direction::Diagonal => image.diagonal(false, line, band, &mut buffers.sums),
            Direction::AntiDiagonal => image.diagonal(true, line, band, &mut buffers.sums),
        };
        buffers.luma.clear();
        let n = n.max(1) as u32;
        if p.upsample && buffers.sums.len() < UPSAMPLE_BELOW {
            // Short lines (small codes, a few pixels per module) are
            // doubled with linear interpolation: the threshold then places
            // each bar edge to half a pixel, and the readers' module widths
            // come out right far more often.
            let mut prev: Option<u32> = None;
            for &s in &buffers.sums {
                if let Some(p) = prev {
                    buffers.luma.push(mean((p + s + n) / 2, n));
                }
                buffers.luma.push(mean(s, n));
                prev = Some(s);
            }
        } else {
            buffers
                .luma
                .extend(buffers.sums.iter().map(|&s| mean(s, n)));
        }
        let mut bits = binarize_line(&buffers.luma, p.threshold, &mut buffers.prefix)?;
        if edges(&bits) < MIN_EDGES {
            return None;
        }
        for attempt in 0..2 {
            if attempt == 1 {
                bits.reverse();
            }
            if let Some(code) = read_upc_ean(&bits, line as u32, &self.hints) {
                return Some(code);
            }
            let Ok(result) = Code128Reader.decode_row(line as u32, &bits, &self.hints) else {
                continue;
            };
            let code = symbology(*result.getBarcodeFormat())
                .and_then(|s| ProductCode::new(s, result.getText()).ok());
            if code.is_some() {
                return code;
            }
        }
        None
    }

    /// The product code in a frame.
    pub fn decode(&self, frame: &LumaFrame) -> Result<ProductCode, DecodeError> {
        self.decode_with_pass(frame)
            .map(|(c, _)| c)
            .ok_or(DecodeError::NoBarcode)
    }
}

/// White modules an EAN/UPC code needs on each side (the standard asks for
/// 7 to 11; photos cropped close to the bars leave fewer, and the frame's
/// edge counts as white). A shorter white stretch means bars around the
/// "code": an EAN-8 read inside a larger code, or a pattern in a picture.
pub const QUIET_MODULES: f32 = 5.0;

/// Whether an EAN/UPC read on `bits` has [`QUIET_MODULES`] of white beside
/// it. `points` are rxing's result points: the centres of the start and end
/// guards. Code 128's reader checks its own quiet zone.
fn has_quiet_zones(bits: &BitArray, symbology: Symbology, points: &[rxing::Point]) -> bool {
    let modules = match symbology {
        Symbology::Ean13 | Symbology::UpcA => 95.0,
        Symbology::Ean8 => 67.0,
        Symbology::Code128 => return true,
    };
    let [left, right, ..] = points else {
        return false;
    };
    let module = (right.x - left.x) / (modules - 3.0);
    if module <= 0.0 {
        return false;
    }
    let size = bits.get_size() as f32;
    let start = left.x - 1.5 * module;
    let end = right.x + 1.5 * module;
    let white = |from: f32, to: f32| {
        let (a, b) = (from.clamp(0.0, size) as usize, to.clamp(0.0, size) as usize);
        a >= b || bits.isRange(a, b, false).unwrap_or(false)
    };
    // Half a module of slack at the code's edge: the guard bar's blur.
    white(start - QUIET_MODULES * module, start - 0.5 * module)
        && white(end + 0.5 * module + 1.0, end + QUIET_MODULES * module)
}

/// Scan lines shorter than this (pixels) are doubled before thresholding.
pub const UPSAMPLE_BELOW: usize = 800;

/// Scratch space reused line after line.
#[derive(Default)]
struct Buffers {
    sums: Vec<u32>,
    luma: Vec<u8>,
    prefix: Vec<u32>,
}
/// EAN-13/UPC-A and EAN-8 on one line, at every start guard with white
/// before it (rxing's own row reader tries only the first such guard: a
/// bar-space-bar in text or a picture left of the code hid the code).
fn read_upc_ean(bits: &BitArray, line: u32, hints: &DecodeHints) -> Option<ProductCode> {
    let mut next = 0;
    let mut tries = 0;
    while tries < MAX_GUARDS {
        let mut counters = [0u32; 3];
        let guard = EAN13Reader
            .findGuardPatternWithCounters(bits, next, false, &[1, 1, 1], &mut counters)
            .ok()?;
        let [start, end] = guard;
        // rxing's next candidate: two elements on.
        next = start + (counters[0] + counters[1]) as usize;
        let quiet_from = start.saturating_sub(end - start);
        if start == 0 || !bits.isRange(quiet_from, start, false).unwrap_or(false) {
            continue;
        }
        tries += 1;
        let read = EAN13Reader
            .decodeRowWithGuardRange(line, bits, &guard, hints)
            .or_else(|_| EAN8Reader.decodeRowWithGuardRange(line, bits, &guard, hints));
        let Ok(result) = read else { continue };
        let text = result.getText();
        let (symbology, text) = match result.getBarcodeFormat() {
            BarcodeFormat::EAN_13 if text.starts_with('0') => (Symbology::UpcA, &text[1..]),
            BarcodeFormat::EAN_13 => (Symbology::Ean13, text),
            BarcodeFormat::EAN_8 => (Symbology::Ean8, text),
            _ => continue,
        };
        if has_quiet_zones(bits, symbology, result.getPoints())
            && let Ok(code) = ProductCode::new(symbology, text)
        {
            return Some(code);
        }
    }
    None
}

/// Start guards tried per line and direction.
pub const MAX_GUARDS: usize = 8;

/// `sum / n` as a grey level; the usual band of 3 divides by a constant
/// (a multiplication), not by a variable (tens of cycles a pixel).
#[inline]
fn mean(sum: u32, n: u32) -> u8 {
    let v = match n {
        1 => sum,
        3 => sum / 3,
        _ => sum / n,
    };
    v.min(255) as u8
}

/// Edges (black-white changes) on a line, counted up to [`MIN_EDGES`].
fn edges(bits: &BitArray) -> usize {
    let size = bits.get_size();
    let (mut x, mut count) = (0, 0);
    while count < MIN_EDGES {
        x = bits.getNextSet(x);
        if x >= size {
            break;
        }
        x = bits.getNextUnset(x);
        count += 2;
    }
    count
}

/// Edges a line needs before the readers look at it: the smallest code of
/// the four, Code 128 with one character, has 13 bars (26 edges).
pub const MIN_EDGES: usize = 24;
