//! QR decoders behind one trait: rqrr, rxing, and the combined decoder the
//! terminal uses (rxing's zxing-cpp port first, then cheap retries with other
//! binarizers, scales and inversion, rqrr last).

use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::qrcode::QRCodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source, Reader};

use crate::scan::frame::LumaFrame;

/// Why nothing was decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No QR code found, or none that could be read.
    #[error("no readable QR code")]
    NotFound,
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
enum Binarize {
    /// Local thresholds per 8x8 block: uneven light, glare.
    Hybrid,
    /// One threshold from the histogram: low contrast, small or blurry codes.
    Global,
}

/// The terminal's decoder: several cheap attempts, most likely first.
///
/// 1. zxing-cpp port (rxing) with the hybrid binarizer on the frame, scaled
///    down first when it is large (a phone screen or card fills the view; a
///    smaller image is faster and smooths sensor noise);
/// 2. the same on the inverted image (light-on-dark codes);
/// 3. the global-histogram binarizer (low contrast, blur);
/// 4. the full-resolution frame when step 1 used a scaled one (dense codes);
/// 5. the Java-port reader with try-harder, then rqrr.
#[derive(Clone)]
pub struct CombinedDecoder {
    fast_hints: DecodeHints,
    hard_hints: DecodeHints,
    /// Frames whose longer side exceeds this are first tried scaled down.
    pub downscale_above: u32,
}

impl Default for CombinedDecoder {
    fn default() -> Self {
        let formats = Some([BarcodeFormat::QR_CODE].into_iter().collect());
        Self {
            fast_hints: DecodeHints {
                PossibleFormats: formats.clone(),
                TryHarder: Some(false),
                ..DecodeHints::default()
            },
            hard_hints: DecodeHints {
                PossibleFormats: formats,
                TryHarder: Some(true),
                ..DecodeHints::default()
            },
            downscale_above: 1400,
        }
    }
}

fn attempt(
    data: &[u8],
    width: u32,
    height: u32,
    binarize: Binarize,
    invert: bool,
    hints: &DecodeHints,
    java_port_too: bool,
) -> Option<String> {
    let source = Luma8Source::new_with_slice(data, width, height).ok()?;
    let run = |r: &mut dyn FnMut() -> Option<String>| r();
    match binarize {
        Binarize::Hybrid => {
            let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
            if invert {
                bitmap.invert();
            }
            run(&mut || {
                QrReader
                    .decode_with_hints(&mut bitmap, hints)
                    .or_else(|e| {
                        if java_port_too {
                            QRCodeReader.decode_with_hints(&mut bitmap, hints)
                        } else {
                            Err(e)
                        }
                    })
                    .ok()
                    .map(|r| r.getText().to_owned())
            })
        }
        Binarize::Global => {
            let mut bitmap = BinaryBitmap::new(GlobalHistogramBinarizer::new(source));
            if invert {
                bitmap.invert();
            }
            QrReader
                .decode_with_hints(&mut bitmap, hints)
                .ok()
                .map(|r| r.getText().to_owned())
        }
    }
}

/// Halves a frame by averaging 2x2 blocks.
pub fn downscale_half(data: &[u8], width: u32, height: u32) -> (Vec<u8>, u32, u32) {
    let (w, h) = (width as usize / 2, height as usize / 2);
    let src_w = width as usize;
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let r0 = &data[2 * y * src_w..];
        let r1 = &data[(2 * y + 1) * src_w..];
        for x in 0..w {
            let s = u16::from(r0[2 * x])
                + u16::from(r0[2 * x + 1])
                + u16::from(r1[2 * x])
                + u16::from(r1[2 * x + 1]);
            out.push(((s + 2) / 4) as u8);
        }
    }
    (out, w as u32, h as u32)
}

impl CombinedDecoder {
    /// The frame halved until its longer side is at most `downscale_above`;
    /// `None` when it is small enough already.
    fn scaled_for_speed(&self, frame: &LumaFrame) -> Option<(Vec<u8>, u32, u32)> {
        let mut out: Option<(Vec<u8>, u32, u32)> = None;
        loop {
            let (d, w, h) = match &out {
                Some((d, w, h)) => (d.as_slice(), *w, *h),
                None => (frame.data.as_slice(), frame.width, frame.height),
            };
            if w.max(h) <= self.downscale_above || w.min(h) < 4 {
                return out;
            }
            out = Some(downscale_half(d, w, h));
        }
    }
}

impl QrDecoder for CombinedDecoder {
    fn name(&self) -> &'static str {
        "combined"
    }

    fn decode(&mut self, frame: &LumaFrame) -> Result<String, DecodeError> {
        let (w, h) = (frame.width, frame.height);
        let small = self.scaled_for_speed(frame);
        let cur = match &small {
            Some((d, sw, sh)) => (d.as_slice(), *sw, *sh),
            None => (frame.data.as_slice(), w, h),
        };
        let (d, cw, ch) = cur;
        let fast = &self.fast_hints;
        let hard = &self.hard_hints;
        let found = attempt(d, cw, ch, Binarize::Hybrid, false, fast, false)
            .or_else(|| attempt(d, cw, ch, Binarize::Hybrid, true, fast, false))
            .or_else(|| attempt(d, cw, ch, Binarize::Global, false, fast, false))
            .or_else(|| {
                small
                    .as_ref()
                    .and_then(|_| attempt(&frame.data, w, h, Binarize::Hybrid, false, fast, false))
            })
            .or_else(|| attempt(&frame.data, w, h, Binarize::Hybrid, false, hard, true))
            .or_else(|| attempt(&frame.data, w, h, Binarize::Global, true, hard, false))
            .or_else(|| rqrr_decode(&frame.data, w as usize, h as usize).ok());
        found.ok_or(DecodeError::NotFound)
    }
}
