//! The V4L2 camera as a [`FrameSource`]: pixel conversion to luma and a
//! connection state machine that reports a lost device and reopens it
//! periodically instead of failing. The device itself sits behind
//! [`CameraOpener`] so this logic is tested without hardware; the nokhwa
//! implementation is [`NokhwaOpener`] (feature `camera`).

use std::time::{Duration, Instant};

use crate::scan::frame::{FrameError, FrameSource, LumaFrame};

/// Which camera and how: from the terminal's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraConfig {
    /// V4L2 index (`/dev/videoN`).
    pub index: u32,
    /// Requested width in pixels (the device may pick the closest).
    pub width: u32,
    /// Requested height in pixels.
    pub height: u32,
    /// Requested frames per second.
    pub fps: u32,
    /// Wait between attempts to (re)open a missing device.
    pub retry_every: Duration,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            index: 0,
            width: 1280,
            height: 720,
            fps: 30,
            retry_every: Duration::from_secs(2),
        }
    }
}

/// Pixel layout of a raw camera frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// YUV 4:2:2 interleaved Y0 U Y1 V.
    Yuyv,
    /// Motion JPEG: one JPEG per frame.
    Mjpeg,
    /// 8-bit grey.
    Gray,
    /// 8-bit RGB interleaved.
    Rgb,
}

/// A frame as the device delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout.
    pub format: PixelFormat,
    /// Bytes as delivered.
    pub data: Vec<u8>,
}

/// Converts a raw camera frame to luma.
pub fn to_luma(raw: &RawFrame) -> Result<LumaFrame, FrameError> {
    let (w, h) = (raw.width as usize, raw.height as usize);
    let bad = |what: &str| FrameError::BadFrame(what.to_owned());
    let data = match raw.format {
        PixelFormat::Yuyv => {
            if raw.data.len() < w * h * 2 {
                return Err(bad("short YUYV frame"));
            }
            // Y is every even byte: luma for free, no colour maths.
            raw.data[..w * h * 2].iter().step_by(2).copied().collect()
        }
        PixelFormat::Gray => {
            if raw.data.len() < w * h {
                return Err(bad("short grey frame"));
            }
            raw.data[..w * h].to_vec()
        }
        PixelFormat::Rgb => {
            if raw.data.len() < w * h * 3 {
                return Err(bad("short RGB frame"));
            }
            raw.data[..w * h * 3]
                .chunks_exact(3)
                .map(|p| {
                    // ITU-R BT.601 weights in fixed point.
                    let y = 77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]);
                    (y >> 8) as u8
                })
                .collect()
        }
        PixelFormat::Mjpeg => {
            let img = image::load_from_memory_with_format(&raw.data, image::ImageFormat::Jpeg)
                .map_err(|_| bad("undecodable MJPEG frame"))?;
            return Ok(LumaFrame::from_dynamic(&img));
        }
    };
    LumaFrame::new(raw.width, raw.height, data).ok_or_else(|| bad("empty frame"))
}

/// An open camera stream.
pub trait RawCamera {
    /// Blocks for the next frame; an error means the device is gone or broken.
    fn grab(&mut self) -> Result<RawFrame, String>;
}

/// Opens camera streams (nokhwa in production, fakes in tests).
pub trait CameraOpener {
    /// Opens the configured camera.
    fn open(&mut self, config: &CameraConfig) -> Result<Box<dyn RawCamera>, String>;
}

/// Where the camera connection stands, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraState {
    /// Not opened yet.
    Closed,
    /// Frames are flowing.
    Streaming,
    /// The device is missing or failed; the next attempt to reopen is at
    /// `retry_at`.
    Lost {
        /// Why (device error text, no personal data).
        reason: String,
        /// When the next open attempt happens.
        retry_at: Instant,
    },
}

/// A camera as a [`FrameSource`] that survives the device disappearing.
pub struct CameraSource<O: CameraOpener> {
    opener: O,
    config: CameraConfig,
    stream: Option<Box<dyn RawCamera>>,
    state: CameraState,
    reopen_attempts: u64,
}

impl<O: CameraOpener> CameraSource<O> {
    /// A source that opens the camera on first use.
    pub fn new(opener: O, config: CameraConfig) -> Self {
        Self {
            opener,
            config,
            stream: None,
            state: CameraState::Closed,
            reopen_attempts: 0,
        }
    }

    /// The connection state.
    pub fn state(&self) -> &CameraState {
        &self.state
    }

    /// How many times opening was attempted.
    pub fn open_attempts(&self) -> u64 {
        self.reopen_attempts
    }

    fn lose(&mut self, reason: String, now: Instant) -> FrameError {
        self.stream = None;
        self.state = CameraState::Lost {
            reason: reason.clone(),
            retry_at: now + self.config.retry_every,
        };
        FrameError::Unavailable(reason)
    }

    /// One step at time `now`: opens the camera when due, grabs a frame.
    pub fn poll(&mut self, now: Instant) -> Result<Option<LumaFrame>, FrameError> {
        if self.stream.is_none() {
            if let CameraState::Lost { reason, retry_at } = &self.state
                && now < *retry_at
            {
                return Err(FrameError::Unavailable(reason.clone()));
            }
            self.reopen_attempts += 1;
            match self.opener.open(&self.config) {
                Ok(s) => {
                    self.stream = Some(s);
                    self.state = CameraState::Streaming;
                }
                Err(e) => return Err(self.lose(e, now)),
            }
        }
        let grabbed = match self.stream.as_mut() {
            Some(s) => s.grab(),
            None => return Err(FrameError::Unavailable("camera closed".into())),
        };
        match grabbed {
            Ok(raw) => to_luma(&raw).map(Some),
            Err(e) => Err(self.lose(e, now)),
        }
    }
}

impl<O: CameraOpener> FrameSource for CameraSource<O> {
    fn next_frame(&mut self) -> Result<Option<LumaFrame>, FrameError> {
        let r = self.poll(Instant::now());
        if let Err(FrameError::Unavailable(_)) = &r {
            // Do not spin while the device is missing.
            std::thread::sleep(Duration::from_millis(100));
        }
        r
    }
}

#[cfg(feature = "camera")]
pub use self::nokhwa_impl::NokhwaOpener;

#[cfg(feature = "camera")]
mod nokhwa_impl {
    //! nokhwa (V4L2 on Linux) behind [`CameraOpener`].

    use nokhwa::Camera;
    use nokhwa::pixel_format::LumaFormat;
    use nokhwa::utils::{
        CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
    };

    use super::{CameraConfig, CameraOpener, PixelFormat, RawCamera, RawFrame};

    /// Opens the V4L2 camera through nokhwa.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct NokhwaOpener;

    struct NokhwaCamera(Camera);

    impl RawCamera for NokhwaCamera {
        fn grab(&mut self) -> Result<RawFrame, String> {
            let buf = self.0.frame().map_err(|e| e.to_string())?;
            let res = buf.resolution();
            let format = match buf.source_frame_format() {
                FrameFormat::YUYV => PixelFormat::Yuyv,
                FrameFormat::MJPEG => PixelFormat::Mjpeg,
                FrameFormat::GRAY => PixelFormat::Gray,
                FrameFormat::RAWRGB => PixelFormat::Rgb,
                // NV12 starts with its full-resolution Y plane.
                FrameFormat::NV12 => PixelFormat::Gray,
                other => return Err(format!("unsupported camera pixel format {other}")),
            };
            Ok(RawFrame {
                width: res.width_x,
                height: res.height_y,
                format,
                data: buf.buffer().to_vec(),
            })
        }
    }

    impl Drop for NokhwaCamera {
        fn drop(&mut self) {
            let _ = self.0.stop_stream();
        }
    }

    impl CameraOpener for NokhwaOpener {
        fn open(&mut self, config: &CameraConfig) -> Result<Box<dyn RawCamera>, String> {
            let wanted = CameraFormat::new(
                Resolution::new(config.width, config.height),
                FrameFormat::YUYV,
                config.fps,
            );
            let format = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
            let mut cam =
                Camera::new(CameraIndex::Index(config.index), format).map_err(|e| e.to_string())?;
            cam.open_stream().map_err(|e| e.to_string())?;
            Ok(Box::new(NokhwaCamera(cam)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    #[test]
    fn yuyv_keeps_the_y_bytes() {
        let raw = RawFrame {
            width: 2,
            height: 1,
            format: PixelFormat::Yuyv,
            data: vec![10, 128, 200, 128],
        };
        assert_eq!(to_luma(&raw).unwrap().data, vec![10, 200]);
    }

    #[test]
    fn short_frames_are_bad_frames() {
        let raw = RawFrame {
            width: 4,
            height: 4,
            format: PixelFormat::Yuyv,
            data: vec![0; 10],
        };
        assert!(matches!(to_luma(&raw), Err(FrameError::BadFrame(_))));
    }

    #[test]
    fn mjpeg_is_decoded_to_luma() {
        let img =
            image::GrayImage::from_fn(16, 8, |x, _| image::Luma([if x < 8 { 0 } else { 255 }]));
        let mut jpeg = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        let frame = to_luma(&RawFrame {
            width: 16,
            height: 8,
            format: PixelFormat::Mjpeg,
            data: jpeg,
        })
        .unwrap();
        assert_eq!((frame.width, frame.height), (16, 8));
        assert!(frame.data[0] < 30 && frame.data[15] > 225);
        assert!(
            to_luma(&RawFrame {
                width: 16,
                height: 8,
                format: PixelFormat::Mjpeg,
                data: vec![1, 2, 3],
            })
            .is_err()
        );
    }

    #[test]
    fn rgb_uses_luma_weights() {
        let raw = RawFrame {
            width: 2,
            height: 1,
            format: PixelFormat::Rgb,
            data: vec![255, 255, 255, 0, 255, 0],
        };
        let f = to_luma(&raw).unwrap();
        assert!(f.data[0] >= 254);
        assert_eq!(f.data[1], 149);
    }

    /// A fake device: each open consumes one scripted result; an opened
    /// stream yields `frames_per_open` frames then fails (unplugged).
    struct FakeOpener {
        opens: Rc<RefCell<VecDeque<bool>>>,
        frames_per_open: usize,
    }

    struct FakeCamera(usize);

    impl RawCamera for FakeCamera {
        fn grab(&mut self) -> Result<RawFrame, String> {
            if self.0 == 0 {
                return Err("No such device".into());
            }
            self.0 -= 1;
            Ok(RawFrame {
                width: 2,
                height: 2,
                format: PixelFormat::Gray,
                data: vec![1, 2, 3, 4],
            })
        }
    }

    impl CameraOpener for FakeOpener {
        fn open(&mut self, _: &CameraConfig) -> Result<Box<dyn RawCamera>, String> {
            match self.opens.borrow_mut().pop_front() {
                Some(true) => Ok(Box::new(FakeCamera(self.frames_per_open))),
                _ => Err("No such file or directory".into()),
            }
        }
    }

    #[test]
    fn a_lost_camera_is_reported_and_reopened_after_the_retry_delay() {
        let opens = Rc::new(RefCell::new(VecDeque::from([false, true, true])));
        let config = CameraConfig {
            retry_every: Duration::from_secs(2),
            ..CameraConfig::default()
        };
        let mut cam = CameraSource::new(
            FakeOpener {
                opens: opens.clone(),
                frames_per_open: 2,
            },
            config,
        );
        let t0 = Instant::now();
        // No device at start: reported, not fatal.
        assert!(matches!(cam.poll(t0), Err(FrameError::Unavailable(_))));
        assert!(matches!(cam.state(), CameraState::Lost { .. }));
        // Before the retry delay no new open is attempted.
        assert!(cam.poll(t0 + Duration::from_secs(1)).is_err());
        assert_eq!(cam.open_attempts(), 1);
        // After it, the device is back.
        let f = cam.poll(t0 + Duration::from_secs(2)).unwrap().unwrap();
        assert_eq!(f.data, vec![1, 2, 3, 4]);
        assert_eq!(cam.state(), &CameraState::Streaming);
        assert!(cam.poll(t0 + Duration::from_secs(3)).unwrap().is_some());
        // Unplugged mid-stream: lost again, reopened later.
        let t_lost = t0 + Duration::from_secs(4);
        assert!(cam.poll(t_lost).is_err());
        assert!(matches!(cam.state(), CameraState::Lost { .. }));
        assert!(cam.poll(t_lost + Duration::from_secs(1)).is_err());
        assert!(cam.poll(t_lost + Duration::from_secs(2)).unwrap().is_some());
        assert_eq!(cam.open_attempts(), 3);
    }
}
