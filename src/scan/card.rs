//! Member cards: the QR code of a card token as pixels (for the screen), as a
//! PNG file, and as a printable credit-card-size SVG.

use std::path::Path;

use qrcode::{Color, EcLevel, QrCode, Version};

/// Modules of white border around the code (the QR standard asks for 4).
pub const QUIET_ZONE: u32 = 4;

/// Why a card could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The text does not fit a QR code.
    #[error("text does not fit a QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    /// Writing the image failed.
    #[error("could not write the card image: {0}")]
    Image(#[from] image::ImageError),
}

/// The QR code of a card token, error correction M (survives ~15 % damage).
pub fn card_qr(token: &str) -> Result<QrCode, CardError> {
    Ok(QrCode::with_error_correction_level(
        token.as_bytes(),
        EcLevel::M,
    )?)
}

/// The QR version number (1-40) of a code.
pub fn qr_version_number(code: &QrCode) -> i16 {
    match code.version() {
        Version::Normal(v) | Version::Micro(v) => v,
    }
}

/// Renders a code as 8-bit grey pixels: `module_px` pixels per module and a
/// quiet zone of [`QUIET_ZONE`] modules, black on white.
pub fn render_luma(code: &QrCode, module_px: u32) -> image::GrayImage {
    let n = code.width() as u32;
    let m = module_px.max(1);
    let side = (n + 2 * QUIET_ZONE) * m;
    let colors = code.to_colors();
    image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / m, y / m);
        let dark = mx >= QUIET_ZONE
            && my >= QUIET_ZONE
            && mx < n + QUIET_ZONE
            && my < n + QUIET_ZONE
            && colors[((my - QUIET_ZONE) * n + (mx - QUIET_ZONE)) as usize] == Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    })
}

/// Renders a code as RGBA pixels (what a UI image buffer wants).
pub fn render_rgba(code: &QrCode, module_px: u32) -> image::RgbaImage {
    let luma = render_luma(code, module_px);
    image::RgbaImage::from_fn(luma.width(), luma.height(), |x, y| {
        let v = luma.get_pixel(x, y).0[0];
        image::Rgba([v, v, v, 255])
    })
}

/// Writes a card token's QR code to a PNG file.
pub fn save_png(token: &str, path: &Path, module_px: u32) -> Result<(), CardError> {
    render_luma(&card_qr(token)?, module_px).save_with_format(path, image::ImageFormat::Png)?;
    Ok(())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A printable member card: ISO/IEC 7810 ID-1 size (85.60 x 53.98 mm) SVG
/// with the QR code on the right, the program name and the masked member
/// name on the left. The name must already be masked (SPEC section 6).
pub fn card_svg(token: &str, masked_name: &str, program_name: &str) -> Result<String, CardError> {
    let code = card_qr(token)?;
    let n = code.width();
    let colors = code.to_colors();
    // The QR with its quiet zone fills a 40 mm square, vertically centred.
    let qr_mm = 40.0_f64;
    let module = qr_mm / (n as f64 + 2.0 * f64::from(QUIET_ZONE));
    let (qx, qy) = (85.60 - 3.0 - qr_mm, (53.98 - qr_mm) / 2.0);
    let mut path = String::new();
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == Color::Dark {
                let px = qx + (x as f64 + f64::from(QUIET_ZONE)) * module;
                let py = qy + (y as f64 + f64::from(QUIET_ZONE)) * module;
                path.push_str(&format!(
                    "M{px:.3} {py:.3}h{module:.3}v{module:.3}h-{module:.3}z"
                ));
            }
        }
    }
    Ok(format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"85.6mm\" height=\"53.98mm\" ",
            "viewBox=\"0 0 85.6 53.98\">\n",
            "<rect x=\"0\" y=\"0\" width=\"85.6\" height=\"53.98\" rx=\"3.18\" fill=\"#ffffff\" ",
            "stroke=\"#999999\" stroke-width=\"0.2\"/>\n",
            "<text x=\"4\" y=\"12\" font-family=\"sans-serif\" font-size=\"5\" ",
            "font-weight=\"bold\">{program}</text>\n",
            "<text x=\"4\" y=\"44\" font-family=\"sans-serif\" font-size=\"4\">{name}</text>\n",
            "<rect x=\"{qx:.3}\" y=\"{qy:.3}\" width=\"{qr}\" height=\"{qr}\" fill=\"#ffffff\"/>\n",
            "<path fill=\"#000000\" d=\"{path}\"/>\n",
            "</svg>\n"
        ),
        program = xml_escape(program_name),
        name = xml_escape(masked_name),
        qx = qx,
        qy = qy,
        qr = qr_mm,
        path = path,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "TC1:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 $%*+-./:";

    #[test]
    fn luma_and_rgba_renders_have_quiet_zone_and_module_size() {
        let code = card_qr(TOKEN).unwrap();
        let n = code.width() as u32;
        let img = render_luma(&code, 3);
        assert_eq!(img.width(), (n + 2 * QUIET_ZONE) * 3);
        // Quiet zone is white; the top-left finder corner is black.
        assert_eq!(img.get_pixel(0, 0).0[0], 255);
        assert_eq!(img.get_pixel(QUIET_ZONE * 3, QUIET_ZONE * 3).0[0], 0);
        let rgba = render_rgba(&code, 3);
        assert_eq!(rgba.dimensions(), img.dimensions());
        assert_eq!(
            rgba.get_pixel(QUIET_ZONE * 3, QUIET_ZONE * 3).0,
            [0, 0, 0, 255]
        );
    }

    #[test]
    fn printable_card_is_id1_size_with_escaped_text_and_every_dark_module() {
        let svg = card_svg(TOKEN, "<张*>", "Tillcard & Co").unwrap();
        assert!(svg.contains("width=\"85.6mm\" height=\"53.98mm\""));
        assert!(svg.contains("&lt;张*&gt;"));
        assert!(svg.contains("Tillcard &amp; Co"));
        let dark = card_qr(TOKEN)
            .unwrap()
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        let d_start = svg.find(" d=\"").unwrap() + 4;
        let d_len = svg[d_start..].find('"').unwrap();
        // One "M x y h v h z" square per dark module.
        assert_eq!(svg[d_start..d_start + d_len].matches('M').count(), dark);
    }
}
