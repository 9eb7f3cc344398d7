//! Where the terminal's frames come from: a folder of images (tests, a
//! demo without a camera) or the camera on its own thread, with the
//! live preview's frames downscaled.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{PreviewSink, StartError, Terminal};
use crate::counter::{CameraStatus, Input};
use crate::scan::file_source::FileSource;
use crate::scan::frame::LumaFrame;
use crate::scan::pipeline::feed_from_source;

impl Terminal {
    pub(super) fn start_frames(&self, preview: Option<PreviewSink>) -> Result<(), StartError> {
        let camera = &self.config.camera;
        if let Some(dir) = &camera.frames_dir {
            let mut source =
                FileSource::new(std::slice::from_ref(dir), true).map_err(|source| {
                    StartError::Frames {
                        path: dir.clone(),
                        source,
                    }
                })?;
            let pipeline = self.pipeline.clone();
            let stop = self.stop.clone();
            (self.sink)(Input::Camera(CameraStatus::Files));
            std::thread::Builder::new()
                .name("frames-files".into())
                .spawn(move || {
                    feed_from_source(&mut source, &pipeline, || {
                        std::thread::sleep(Duration::from_millis(200));
                        !stop.load(Ordering::Relaxed)
                    });
                })?;
            return Ok(());
        }
        if camera.device < 0 {
            return Ok(());
        }
        self.start_camera(preview)
    }

    #[cfg(feature = "camera")]
    fn start_camera(&self, preview: Option<PreviewSink>) -> Result<(), StartError> {
        use crate::scan::camera::{CameraConfig, CameraSource, CameraState, NokhwaOpener};
        let settings = &self.config.camera;
        let camera_config = CameraConfig {
            index: u32::try_from(settings.device).unwrap_or(0),
            width: settings.width,
            height: settings.height,
            ..CameraConfig::default()
        };
        let pipeline = self.pipeline.clone();
        let stop = self.stop.clone();
        let sink = self.sink.clone();
        std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || {
                // The device handle is not Send: it lives on this thread.
                let mut source = CameraSource::new(NokhwaOpener, camera_config);
                let mut last_status = None;
                let mut last_preview = std::time::Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let now = std::time::Instant::now();
                    let frame = source.poll(now);
                    let status = match source.state() {
                        CameraState::Streaming => CameraStatus::Streaming,
                        CameraState::Lost { reason, .. } => CameraStatus::Lost(reason.clone()),
                        CameraState::Closed => CameraStatus::None,
                    };
                    if last_status.as_ref() != Some(&status) {
                        sink(Input::Camera(status.clone()));
                        last_status = Some(status);
                    }
                    match frame {
                        Ok(Some(frame)) => {
                            if let Some(preview) = &preview
                                && now.duration_since(last_preview) >= Duration::from_millis(100)
                            {
                                last_preview = now;
                                preview(preview_frame(&frame));
                            }
                            pipeline.submit(frame);
                        }
                        Ok(None) => {}
                        Err(_) => std::thread::sleep(Duration::from_millis(200)),
                    }
                }
            })?;
        Ok(())
    }

    #[cfg(not(feature = "camera"))]
    fn start_camera(&self, _preview: Option<PreviewSink>) -> Result<(), StartError> {
        Ok(())
    }
}

/// A camera frame reduced for the preview (about 320 px wide).
pub fn preview_frame(frame: &LumaFrame) -> LumaFrame {
    let step = (frame.width / 320).max(1);
    let width = frame.width / step;
    let height = frame.height / step;
    let mut data = Vec::with_capacity((width * height) as usize);
    for y in 0..height {
        let row = (y * step * frame.width) as usize;
        for x in 0..width {
            data.push(
                frame
                    .data
                    .get(row + (x * step) as usize)
                    .copied()
                    .unwrap_or(0),
            );
        }
    }
    LumaFrame::new(width, height, data).unwrap_or_else(|| frame.clone())
}
