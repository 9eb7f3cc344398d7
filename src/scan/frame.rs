//! Luma frames and the one trait every frame source (camera, files) meets.

use std::time::Instant;

/// An 8-bit greyscale image, row-major, `width * height` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LumaFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, row after row, no padding.
    pub data: Vec<u8>,
    /// When the frame was captured (or loaded).
    pub timestamp: Instant,
}

impl LumaFrame {
    /// A frame from pixels; `None` when the buffer length does not match.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (data.len() == width as usize * height as usize && width > 0 && height > 0).then(|| Self {
            width,
            height,
            data,
            timestamp: Instant::now(),
        })
    }

    /// A frame from an `image` greyscale buffer.
    pub fn from_gray(img: image::GrayImage) -> Self {
        let (width, height) = img.dimensions();
        Self {
            width,
            height,
            data: img.into_raw(),
            timestamp: Instant::now(),
        }
    }

    /// A frame from any decoded image (converted to luma).
    pub fn from_dynamic(img: &image::DynamicImage) -> Self {
        Self::from_gray(img.to_luma8())
    }
}

/// Why a source produced no frame this time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The device is gone or not opened yet; the source retries by itself,
    /// the caller just asks again later.
    #[error("frame source unavailable: {0}")]
    Unavailable(String),
    /// One frame could not be read or converted; the next may be fine.
    #[error("bad frame: {0}")]
    BadFrame(String),
}

/// Something that produces luma frames: a camera, a folder of images...
pub trait FrameSource {
    /// The next frame; `Ok(None)` when the source has ended for good.
    fn next_frame(&mut self) -> Result<Option<LumaFrame>, FrameError>;
}
