//! QR decoders behind one trait: rqrr, rxing, and the combined decoder the
//! terminal uses (rxing's zxing-cpp port first, then retries with other
//! binarizers, scales, borders and inversion, rqrr last). A retry only costs
//! time when the attempts before it failed, so the common case stays at one
//! attempt; see `docs/SCANNING.md` for the measurements behind the order.
//! Each view of a frame is binarized at most once per binarizer
//! ([`binarize`]), however many attempts look at it.

pub mod barcode;
pub mod bars;
mod binarize;

use rxing::common::{BitMatrix, HybridBinarizer};
use rxing::qrcode::QRCodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source, Reader};

use crate::scan::frame::LumaFrame;
use binarize::{Prebinarized, global_matrix, hybrid_matrix};

/// Why nothing was decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No QR code found, or none that could be read.
    #[error("no readable QR code")]
    NotFound,
    /// No product barcode found, or none that two scan lines read alike
    /// ([`barcode`]).
    #[error("no readable product barcode")]
    NoBarcode,
    /// Neither a QR code nor a product barcode could be read (the two
    /// looked for together, as `tillcard decode` does by default).
    #[error("no readable QR code or product barcode")]
    Nothing,
}

/// Turns a luma frame into the text of the QR code in it.
pub trait QrDecoder: Send {
    /// Short name for reports (`rqrr`, `rxing`, `combined`).
    fn name(&self) -> &'static str;
    /// The text of a QR code in the frame.
    fn decode(&mut self, frame: &LumaFrame) -> Result<String, DecodeError>;
}

/// The decoders the CLI and bench can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecoderKind {
    /// [`CombinedDecoder`].
    Combined,
    /// [`RqrrDecoder`].
    Rqrr,
    /// [`RxingDecoder`].
    Rxing,
}

impl DecoderKind {
    /// A fresh decoder of this kind.
    pub fn build(self) -> Box<dyn QrDecoder> {
        match self {
            Self::Combined => Box::new(CombinedDecoder::default()),
            Self::Rqrr => Box::new(RqrrDecoder),
            Self::Rxing => Box::new(RxingDecoder::default()),
        }
    }
}

/// rqrr 0.11 on the frame as it is (the project's first named decoder).
#[derive(Debug, Clone, Copy, Default)]
pub struct RqrrDecoder;

fn rqrr_decode(data: &[u8], width: usize, height: usize) -> Result<String, DecodeError> {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| data[y * width + x]);
    for grid in img.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            return Ok(text);
        }
    }
    Err(DecodeError::NotFound)
}

impl QrDecoder for RqrrDecoder {
    fn name(&self) -> &'static str {
        "rqrr"
    }
    fn decode(&mut self, frame: &LumaFrame) -> Result<String, DecodeError> {
        rqrr_decode(&frame.data, frame.width as usize, frame.height as usize)
    }
}

/// rxing 0.9 as its `detect_in_luma` helper runs it: QR only, hybrid
/// binarizer, try-harder, zxing-cpp port then Java port.
#[derive(Clone)]
pub struct RxingDecoder {
    hints: DecodeHints,
}

impl Default for RxingDecoder {
    fn default() -> Self {
        Self {
            hints: DecodeHints {
                PossibleFormats: Some([BarcodeFormat::QR_CODE].into_iter().collect()),
                TryHarder: Some(true),
                ..DecodeHints::default()
            },
        }
    }
}

impl QrDecoder for RxingDecoder {
    fn name(&self) -> &'static str {
        "rxing"
    }
    fn decode(&mut self, frame: &LumaFrame) -> Result<String, DecodeError> {
        let source = Luma8Source::new_with_slice(&frame.data, frame.width, frame.height)
            .map_err(|_| DecodeError::NotFound)?;
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        QrReader
            .decode_with_hints(&mut bitmap, &self.hints)
            .or_else(|_| QRCodeReader.decode_with_hints(&mut bitmap, &self.hints))
            .map(|r| r.getText().to_owned())
            .map_err(|_| DecodeError::NotFound)
    }
}

/// Binarizer choice for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binarize {
    /// Local thresholds per 8x8 block: uneven light, glare.
    Hybrid,
    /// One threshold from the histogram: low contrast, textured modules.
    Global,
}

impl Binarize {
    const COUNT: usize = 2;
    const fn index(self) -> usize {
        self as usize
    }
}

/// Which version of the frame an attempt looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The frame as captured.
    Full,
    /// Halved (2x2 average): faster, smooths noise and module texture.
    Half,
    /// The frame with a white border added: codes cropped with no quiet zone
    /// (screenshots, stickers at the edge of the view).
    Padded,
    /// Halved, then bordered.
    HalfPadded,
    /// Only for tiny frames (longer side under [`TINY`] pixels): doubled
    /// (nearest neighbour), then bordered; thumbnails with 1-pixel modules.
    DoublePadded,
}

impl View {
    const COUNT: usize = 5;
    const fn index(self) -> usize {
        self as usize
    }
}

/// Frames smaller than this (longer side) get the [`View::DoublePadded`] try.
pub const TINY: u32 = 160;

/// One attempt of the combined decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// rxing's zxing-cpp port (and with `java_port`, its Java port too).
    Rxing {
        /// Image version.
        view: View,
        /// Binarizer.
        binarize: Binarize,
        /// Light-on-dark code.
        invert: bool,
        /// rxing's try-harder (scan every row).
        try_harder: bool,
        /// Also run the Java-port reader when the cpp port fails.
        java_port: bool,
    },
    /// rqrr on a view of the frame.
    Rqrr(View),
}

const fn rxing_step(view: View, binarize: Binarize, invert: bool, try_harder: bool) -> Step {
    Step::Rxing {
        view,
        binarize,
        invert,
        try_harder,
        java_port: false,
    }
}

/// The attempt order of [`CombinedDecoder::default`], most likely first.
pub const DEFAULT_STEPS: &[Step] = &[
    rxing_step(View::Full, Binarize::Hybrid, false, false),
    rxing_step(View::Full, Binarize::Hybrid, true, false),
    rxing_step(View::Padded, Binarize::Hybrid, false, true),
    rxing_step(View::Full, Binarize::Global, false, true),
    rxing_step(View::HalfPadded, Binarize::Global, false, true),
    rxing_step(View::Half, Binarize::Hybrid, false, true),
    Step::Rxing {
        view: View::Full,
        binarize: Binarize::Hybrid,
        invert: false,
        try_harder: true,
        java_port: true,
    },
    rxing_step(View::Padded, Binarize::Global, false, true),
    rxing_step(View::Half, Binarize::Hybrid, true, true),
    rxing_step(View::Half, Binarize::Global, true, true),
    rxing_step(View::Padded, Binarize::Global, true, true),
    rxing_step(View::DoublePadded, Binarize::Hybrid, false, true),
    rxing_step(View::DoublePadded, Binarize::Global, false, true),
    Step::Rqrr(View::Full),
];

/// The terminal's decoder: a sequence of cheap attempts ([`Step`]), most
/// likely first; the first text found wins. Frames larger than
/// `downscale_above` are halved before anything else (a member card held to
/// the camera is large; a smaller image is faster and less noisy).
#[derive(Clone)]
pub struct CombinedDecoder {
    hints_fast: DecodeHints,
    hints_hard: DecodeHints,
    steps: Vec<Step>,
    /// Frames whose longer side exceeds this are halved first.
    pub downscale_above: u32,
}

impl Default for CombinedDecoder {
    fn default() -> Self {
        Self::with_steps(DEFAULT_STEPS.to_vec())
    }
}

impl CombinedDecoder {
    /// A combined decoder with these attempts, in order.
    pub fn with_steps(steps: Vec<Step>) -> Self {
        let formats: Option<std::collections::HashSet<BarcodeFormat>> =
            Some([BarcodeFormat::QR_CODE].into_iter().collect());
        Self {
            hints_fast: DecodeHints {
                PossibleFormats: formats.clone(),
                TryHarder: Some(false),
                ..DecodeHints::default()
            },
            hints_hard: DecodeHints {
                PossibleFormats: formats,
                TryHarder: Some(true),
                ..DecodeHints::default()
            },
            steps,
            downscale_above: 1400,
        }
    }
}

/// An owned luma image used for derived views.
#[derive(Debug, Clone)]
struct Plane {
    data: Vec<u8>,
    width: u32,
    height: u32,
}

/// Halves a frame by averaging 2x2 blocks.
pub fn downscale_half(data: &[u8], width: u32, height: u32) -> (Vec<u8>, u32, u32) {
    let (w, h) = (width as usize / 2, height as usize / 2);
    let src_w = width as usize;
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let r0 = &data[2 * y * src_w..(2 * y + 1) * src_w];
        let r1 = &data[(2 * y + 1) * src_w..(2 * y + 2) * src_w];
        for (a, b) in r0.chunks_exact(2).zip(r1.chunks_exact(2)).take(w) {
            let s = u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
            out.push(((s + 2) / 4) as u8);
        }
    }
    (out, w as u32, h as u32)
}

/// Adds a border of `pad` pixels of `value` around an image.
pub fn pad(data: &[u8], width: u32, height: u32, pad: u32, value: u8) -> (Vec<u8>, u32, u32) {
    let (w, h, p) = (width as usize, height as usize, pad as usize);
    let nw = w + 2 * p;
    let mut out = vec![value; nw * (h + 2 * p)];
    for y in 0..h {
        let dst = (y + p) * nw + p;
        out[dst..dst + w].copy_from_slice(&data[y * w..(y + 1) * w]);
    }
    (out, nw as u32, (h + 2 * p) as u32)
}

/// The brightest level most of the image reaches (98th percentile): the
/// paper or screen white, used to fill added borders.
fn paper_white(data: &[u8]) -> u8 {
    let mut hist = [0usize; 256];
    for &v in data {
        hist[v as usize] += 1;
    }
    let mut seen = 0;
    let target = data.len() * 98 / 100;
    for (v, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= target {
            return v as u8;
        }
    }
    255
}

/// One try of rxing's zxing-cpp port (and with `java_port` its Java port)
/// on a view and its already computed black-and-white matrix.
fn run_rxing(
    pixels: (&[u8], u32, u32),
    matrix: &BitMatrix,
    invert: bool,
    hints: &DecodeHints,
    java_port: bool,
) -> Option<String> {
    let (data, width, height) = pixels;
    let source = Luma8Source::new_with_slice(data, width, height).ok()?;
    let mut bitmap = BinaryBitmap::new(Prebinarized::new(source, matrix));
    if invert {
        // Flips a copy of the matrix: the shared one stays as it is.
        bitmap.invert();
    }
    let text = |r: rxing::RXingResult| r.getText().to_owned();
    match QrReader.decode_with_hints(&mut bitmap, hints) {
        Ok(r) => Some(text(r)),
        Err(_) if java_port => QRCodeReader
            .decode_with_hints(&mut bitmap, hints)
            .ok()
            .map(text),
        Err(_) => None,
    }
}

/// A luma image borrowed as (pixels, width, height).
type Pixels<'p> = (&'p [u8], u32, u32);

/// Derived views of one frame and their black-and-white matrices, each
/// computed at most once, when an attempt first needs it.
struct Views<'a> {
    full: (&'a [u8], u32, u32),
    /// Pixels of each derived view by [`View::index`] (`Full` borrows the
    /// frame instead).
    planes: [Option<Plane>; View::COUNT],
    /// Matrix of each view and binarizer; `Some(None)` when that binarizer
    /// found no threshold for the view.
    matrices: [[Option<Option<BitMatrix>>; Binarize::COUNT]; View::COUNT],
}

fn plane(p: &Plane) -> (&[u8], u32, u32) {
    (&p.data, p.width, p.height)
}

fn padded_plane(src: (&[u8], u32, u32)) -> Plane {
    let (d, w, h) = src;
    let border = (w.max(h) / 10).max(8);
    let (data, width, height) = pad(d, w, h, border, paper_white(d));
    Plane {
        data,
        width,
        height,
    }
}

impl<'a> Views<'a> {
    fn new(full: (&'a [u8], u32, u32)) -> Self {
        Self {
            full,
            planes: Default::default(),
            matrices: Default::default(),
        }
    }

    /// Computes a view's pixels if needed; `false` when the view does not
    /// apply to this frame.
    fn prepare(&mut self, view: View) -> bool {
        let full = self.full;
        let i = view.index();
        if view == View::Full || self.planes[i].is_some() {
            return true;
        }
        let made = match view {
            View::Full => return true,
            View::DoublePadded if full.1.max(full.2) >= TINY => return false,
            View::DoublePadded => padded_plane(plane(&double_plane(full))),
            View::Half => half_plane(full),
            View::Padded => padded_plane(full),
            View::HalfPadded => {
                let half = self.planes[View::Half.index()].get_or_insert_with(|| half_plane(full));
                padded_plane(plane(half))
            }
        };
        self.planes[i] = Some(made);
        true
    }

    /// A prepared view's pixels.
    fn pixels(&self, view: View) -> (&[u8], u32, u32) {
        match &self.planes[view.index()] {
            Some(p) if view != View::Full => plane(p),
            _ => self.full,
        }
    }

    /// The pixels of a view; `None` when the view does not apply.
    fn get(&mut self, view: View) -> Option<(&[u8], u32, u32)> {
        self.prepare(view).then(|| self.pixels(view))
    }

    /// A view's pixels and its matrix under `binarize`; `None` when the view
    /// does not apply or the binarizer found no threshold.
    fn binarized(&mut self, view: View, binarize: Binarize) -> Option<(Pixels<'_>, &BitMatrix)> {
        if !self.prepare(view) {
            return None;
        }
        let (v, b) = (view.index(), binarize.index());
        if self.matrices[v][b].is_none() {
            let (d, w, h) = self.pixels(view);
            let (w, h) = (w as usize, h as usize);
            let m = match binarize {
                Binarize::Hybrid => hybrid_matrix(d, w, h),
                Binarize::Global => global_matrix(d, w, h),
            };
            self.matrices[v][b] = Some(m);
        }
        let matrix = self.matrices[v][b].as_ref()?.as_ref()?;
        Some((self.pixels(view), matrix))
    }
}

/// Doubles an image (nearest neighbour).
fn double_plane(src: (&[u8], u32, u32)) -> Plane {
    let (d, w, h) = src;
    let (w2, h2) = (w as usize * 2, h as usize * 2);
    let mut data = Vec::with_capacity(w2 * h2);
    for row in d.chunks_exact(w as usize) {
        let start = data.len();
        for &v in row {
            data.push(v);
            data.push(v);
        }
        data.extend_from_within(start..start + w2);
    }
    Plane {
        data,
        width: w2 as u32,
        height: h2 as u32,
    }
}

fn half_plane(src: (&[u8], u32, u32)) -> Plane {
    let (d, w, h) = src;
    if w.min(h) < 8 {
        return Plane {
            data: d.to_vec(),
            width: w,
            height: h,
        };
    }
    let (data, width, height) = downscale_half(d, w, h);
    Plane {
        data,
        width,
        height,
    }
}

impl CombinedDecoder {
    /// The frame halved until its longer side is at most `downscale_above`;
    /// `None` when it is small enough already.
    fn scaled_for_speed(&self, frame: &LumaFrame) -> Option<Plane> {
        let mut out: Option<Plane> = None;
        loop {
            let cur = match &out {
                Some(p) => plane(p),
                None => (frame.data.as_slice(), frame.width, frame.height),
            };
            if cur.1.max(cur.2) <= self.downscale_above || cur.1.min(cur.2) < 16 {
                return out;
            }
            out = Some(half_plane(cur));
        }
    }

    /// Runs the steps on a frame; also returns the index of the step that
    /// succeeded (for measurements).
    pub fn decode_with_step(&self, frame: &LumaFrame) -> Option<(String, usize)> {
        let scaled = self.scaled_for_speed(frame);
        let full = match &scaled {
            Some(p) => plane(p),
            None => (frame.data.as_slice(), frame.width, frame.height),
        };
        let mut views = Views::new(full);
        for (i, step) in self.steps.iter().enumerate() {
            let found = match *step {
                Step::Rxing {
                    view,
                    binarize,
                    invert,
                    try_harder,
                    java_port,
                } => {
                    let hints = if try_harder {
                        &self.hints_hard
                    } else {
                        &self.hints_fast
                    };
                    views
                        .binarized(view, binarize)
                        .and_then(|(pixels, matrix)| {
                            run_rxing(pixels, matrix, invert, hints, java_port)
                        })
                }
                Step::Rqrr(view) => views
                    .get(view)
                    .and_then(|(d, w, h)| rqrr_decode(d, w as usize, h as usize).ok()),
            };
            if let Some(text) = found {
                return Some((text, i));
            }
        }
        None
    }
}

impl QrDecoder for CombinedDecoder {
    fn name(&self) -> &'static str {
        "combined"
    }

    fn decode(&mut self, frame: &LumaFrame) -> Result<String, DecodeError> {
        self.decode_with_step(frame)
            .map(|(t, _)| t)
            .ok_or(DecodeError::NotFound)
    }
}
