//! The paper a thermal printer would give for a decoded stream, as a
//! monochrome image one pixel per printer dot (203 dpi): 384 dots across for
//! 58 mm, 576 for 80 mm, lines 24 dots high, ASCII in 12-dot cells and every
//! other character in 24-dot cells, as Font A prints them.
//!
//! Glyphs come from the repository's own CJK font (Noto Sans SC, subset,
//! `assets/fonts/`), embedded so the image is the same on every machine;
//! bold is struck twice a dot apart, as the printer does. The QR code is
//! drawn with the `qrcode` crate from the data the stream stored, at the
//! module size it asked for. A character the font lacks is drawn as a box.

use std::io::Cursor;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{GrayImage, ImageFormat, Luma};
use qrcode::{Color, EcLevel, QrCode};
use thiserror::Error;

use super::Decoded;
use crate::layout::{Paper, char_columns};

/// The font the image is drawn with.
static FONT: &[u8] = include_bytes!("../../../assets/fonts/NotoSansSC-Tillcard-Regular.ttf");

/// Dots a line of Font A takes.
const LINE: u32 = 24;
/// Dots a column of Font A takes.
const COLUMN: u32 = 12;
/// White paper shown around the printable width, in pixels.
const MARGIN: u32 = 16;
/// The longest paper drawn: a stream that feeds more is cut off here.
const MAX_HEIGHT: u32 = 20_000;

/// Why no image could be drawn.
#[derive(Debug, Error)]
pub enum RenderError {
    /// The embedded font could not be read (a broken build).
    #[error("the embedded font cannot be read: {0}")]
    Font(#[from] ab_glyph::InvalidFont),
    /// PNG encoding failed.
    #[error("the image cannot be encoded as PNG: {0}")]
    Png(#[from] image::ImageError),
}

/// The decoded stream drawn as PNG bytes.
pub fn render_png(decoded: &[Decoded], paper: Paper) -> Result<Vec<u8>, RenderError> {
    let image = render(decoded, paper)?;
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png)?;
    Ok(png.into_inner())
}

/// The decoded stream drawn as the printer would print it: black on white,
/// the paper's width plus a margin either side.
pub fn render(decoded: &[Decoded], paper: Paper) -> Result<GrayImage, RenderError> {
    let font = FontRef::try_from_slice(FONT)?;
    let mut paper_roll = Roll::new(paper.dots() + 2 * MARGIN);
    let mut state = State::default();
    let mut line: Vec<Segment> = Vec::new();
    let mut y = MARGIN;
    for item in decoded {
        match item {
            Decoded::Text(text) => line.push(Segment {
                text: text.clone(),
                bold: state.bold,
                double: state.double,
            }),
            Decoded::Command { name, args } => {
                let arg = args.first().copied().unwrap_or(0);
                match *name {
                    "LF" => y = paper_roll.line(&font, &line, state.align, paper, y, true),
                    "feed" => {
                        y = paper_roll.line(&font, &line, state.align, paper, y, !line.is_empty());
                        y = y.saturating_add(u32::from(arg) * LINE);
                    }
                    "bold" | "double strike" => state.bold = arg & 1 == 1,
                    "align" => state.align = arg % 48,
                    "size" => state.double = arg & 0x77 != 0,
                    "init" => state = State::default(),
                    "qr size" => state.qr_module = u32::from(arg.clamp(1, 16)),
                    "qr store" => state.qr_data = args.clone(),
                    "qr print" => {
                        y = paper_roll.line(&font, &line, state.align, paper, y, false);
                        y = paper_roll.qr(&state, paper, y);
                    }
                    "cut" => {
                        y = paper_roll.line(&font, &line, state.align, paper, y, false);
                        y = paper_roll.cut(y);
                    }
                    _ => {}
                }
                if matches!(*name, "LF" | "feed" | "qr print" | "cut") {
                    line.clear();
                }
            }
            Decoded::Unknown(_) => {}
        }
        if y >= MAX_HEIGHT {
            break;
        }
    }
    y = paper_roll.line(&font, &line, state.align, paper, y, false);
    Ok(paper_roll.into_image(y.saturating_add(MARGIN)))
}

/// What the printer's settings are at a point of the stream.
struct State {
    bold: bool,
    double: bool,
    /// 0 left, 1 centre, 2 right.
    align: u8,
    qr_module: u32,
    qr_data: Vec<u8>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            bold: false,
            double: false,
            align: 0,
            qr_module: 3,
            qr_data: Vec::new(),
        }
    }
}

/// A run of text printed with one setting.
struct Segment {
    text: String,
    bold: bool,
    double: bool,
}

/// The paper, growing as it is printed: one byte per dot, 0 black.
struct Roll {
    width: u32,
    pixels: Vec<u8>,
}

impl Roll {
    fn new(width: u32) -> Self {
        Self {
            width,
            pixels: Vec::new(),
        }
    }

    fn grow_to(&mut self, height: u32) {
        let height = height.min(MAX_HEIGHT);
        let needed = (self.width * height) as usize;
        if self.pixels.len() < needed {
            self.pixels.resize(needed, 255);
        }
    }

    fn dot(&mut self, x: u32, y: u32) {
        if x < self.width && y < MAX_HEIGHT {
            self.grow_to(y + 1);
            self.pixels[(y * self.width + x) as usize] = 0;
        }
    }

    /// Prints the buffered segments as one line at `y`; returns the next
    /// line's top. An empty buffer moves on a line only when `advance_empty`.
    fn line(
        &mut self,
        font: &FontRef<'_>,
        segments: &[Segment],
        align: u8,
        paper: Paper,
        y: u32,
        advance_empty: bool,
    ) -> u32 {
        let cells: Vec<(char, u32, bool, bool)> = segments
            .iter()
            .flat_map(|s| {
                s.text.chars().map(move |c| {
                    let scale = if s.double { 2 } else { 1 };
                    let width = char_columns(c) as u32 * COLUMN * scale;
                    (c, width, s.bold, s.double)
                })
            })
            .collect();
        if cells.is_empty() {
            return if advance_empty { y + LINE } else { y };
        }
        let height = if cells.iter().any(|c| c.3) {
            2 * LINE
        } else {
            LINE
        };
        let used: u32 = cells.iter().map(|c| c.1).sum();
        let free = paper.dots().saturating_sub(used);
        let mut x = MARGIN
            + match align {
                1 => free / 2,
                2 => free,
                _ => 0,
            };
        self.grow_to(y + height);
        for (c, width, bold, double) in cells {
            if width > 0 {
                let cell_height = if double { 2 * LINE } else { LINE };
                // Characters sit on one baseline whatever their size.
                let top = y + height - cell_height;
                self.glyph(font, c, x, top, width, cell_height, bold);
            }
            x += width;
        }
        y + height
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "a glyph's cell is six numbers; a struct would only rename them"
    )]
    fn glyph(
        &mut self,
        font: &FontRef<'_>,
        c: char,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        bold: bool,
    ) {
        if c == ' ' {
            return;
        }
        let px = height as f32 * 0.92;
        let scaled = font.as_scaled(PxScale::from(px));
        let id = font.glyph_id(c);
        if id.0 == 0 {
            for i in 2..width.saturating_sub(2) {
                self.dot(x + i, y + 3);
                self.dot(x + i, y + height - 3);
            }
            for j in 3..height.saturating_sub(2) {
                self.dot(x + 2, y + j);
                self.dot(x + width - 3, y + j);
            }
            return;
        }
        let advance = scaled.h_advance(id);
        let left = x as f32 + (width as f32 - advance).max(0.0) / 2.0;
        let baseline = y as f32 + px * 0.88;
        let glyph = id.with_scale_and_position(px, point(left, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let mut dots = Vec::new();
            outline.draw(|gx, gy, coverage| {
                if coverage > 0.45 {
                    dots.push((
                        bounds.min.x as i64 + i64::from(gx),
                        bounds.min.y as i64 + i64::from(gy),
                    ));
                }
            });
            for (dx, dy) in dots {
                let (Ok(dx), Ok(dy)) = (u32::try_from(dx), u32::try_from(dy)) else {
                    continue;
                };
                self.dot(dx, dy);
                if bold {
                    self.dot(dx + 1, dy);
                }
            }
        }
    }

    fn qr(&mut self, state: &State, paper: Paper, y: u32) -> u32 {
        let Ok(code) = QrCode::with_error_correction_level(&state.qr_data, EcLevel::M) else {
            return y;
        };
        let modules = code.width() as u32;
        let size = modules * state.qr_module;
        let free = paper.dots().saturating_sub(size);
        let left = MARGIN
            + match state.align {
                1 => free / 2,
                2 => free,
                _ => 0,
            };
        let colors = code.to_colors();
        for (index, color) in colors.iter().enumerate() {
            if *color != Color::Dark {
                continue;
            }
            let (mx, my) = (index as u32 % modules, index as u32 / modules);
            for dy in 0..state.qr_module {
                for dx in 0..state.qr_module {
                    self.dot(
                        left + mx * state.qr_module + dx,
                        y + my * state.qr_module + dy,
                    );
                }
            }
        }
        y + size + LINE / 2
    }

    fn cut(&mut self, y: u32) -> u32 {
        let y = y + LINE / 2;
        for x in (0..self.width).filter(|x| x % 12 < 6) {
            self.dot(x, y);
        }
        y + LINE / 2
    }

    fn into_image(mut self, height: u32) -> GrayImage {
        let height = height.clamp(1, MAX_HEIGHT);
        self.grow_to(height);
        self.pixels.truncate((self.width * height) as usize);
        GrayImage::from_raw(self.width, height, self.pixels)
            .unwrap_or_else(|| GrayImage::from_pixel(self.width, height, Luma([255])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos::encode;
    use crate::layout::layout;
    use crate::receipt::Receipt;
    use crate::virtual_printer::decode;

    #[test]
    fn the_image_is_as_wide_as_the_paper_and_has_ink() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let bytes = encode(&layout(&Receipt::sample(), paper, true)).unwrap();
            let image = render(&decode(&bytes), paper).unwrap();
            assert_eq!(image.width(), paper.dots() + 2 * MARGIN);
            assert!(image.height() > 600, "{}", image.height());
            let black = image.pixels().filter(|p| p.0[0] == 0).count();
            assert!(black > 5_000, "{black} black dots");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_bytes_render_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let image = render(&decode(&bytes), Paper::Mm58).unwrap();
            proptest::prop_assert!(image.height() <= MAX_HEIGHT);
        }
    }
}
