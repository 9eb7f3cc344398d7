//! Images from files and folders as a [`FrameSource`], for tests, demos and
//! diagnosing photos sent in from stores.

use std::path::{Path, PathBuf};

use crate::scan::frame::{FrameError, FrameSource, LumaFrame};

/// File extensions read as images.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp"];

/// Whether a path has an image extension this source reads.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Expands files and folders (recursively, sorted) into image paths.
pub fn image_paths(inputs: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(input)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let (dirs, files): (Vec<PathBuf>, Vec<PathBuf>) =
                entries.into_iter().partition(|p| p.is_dir());
            out.extend(files.into_iter().filter(|p| is_image_path(p)));
            out.extend(image_paths(&dirs)?);
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

/// Loads one image file as a luma frame.
pub fn load_luma(path: &Path) -> Result<LumaFrame, FrameError> {
    let img = image::open(path).map_err(|e| FrameError::BadFrame(e.to_string()))?;
    Ok(LumaFrame::from_dynamic(&img))
}

/// Frames from a list of image files, once or looping.
#[derive(Debug, Clone)]
pub struct FileSource {
    paths: Vec<PathBuf>,
    next: usize,
    looping: bool,
}

impl FileSource {
    /// A source over files and folders (folders expanded, sorted).
    pub fn new(inputs: &[PathBuf], looping: bool) -> std::io::Result<Self> {
        Ok(Self {
            paths: image_paths(inputs)?,
            next: 0,
            looping,
        })
    }

    /// The image paths in playing order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }
}

impl FrameSource for FileSource {
    fn next_frame(&mut self) -> Result<Option<LumaFrame>, FrameError> {
        if self.next >= self.paths.len() {
            if !self.looping || self.paths.is_empty() {
                return Ok(None);
            }
            self.next = 0;
        }
        let path = &self.paths[self.next];
        self.next += 1;
        load_luma(path).map(Some)
    }
}
