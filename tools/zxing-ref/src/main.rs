//! zxing-cpp 3.1.1 (the reference decoder) timed on the same luma
//! pixels Tillcard's decoders get, for `benches/scan.rs`, which builds and
//! drives it.
//!
//! Protocol, one request and one answer per line, so the bench can
//! interleave zxing-cpp with its own decoders image by image:
//! - stdin: `<path of a raw 8-bit grey file> <width> <height> <repeat>
//!   [qr|linear]` (what to look for: QR codes, the default, or the product
//!   barcodes EAN-13, EAN-8, UPC-A and Code 128);
//! - stdout: `<median ms of repeat timed decodes> <hex of the UTF-8 text,
//!   or ->`, or `error <why>` for a request it cannot serve.
//!
//! Reading the file is outside the timed part; one untimed decode comes
//! first (as in `tillcard::cli::timed`). The first output line is the
//! library's version. Hints: only the asked formats, everything else
//! zxing-cpp's defaults (try harder, try rotate, try invert, try downscale,
//! local-average binarizer), as `ZXingReader -format ...` runs it.

use std::io::{BufRead, Write};
use std::time::Instant;

use zxingcpp::{BarcodeFormat, BarcodeReader, ImageFormat, ImageView};

/// The zxing-cpp release the pinned crate bundles (its core/CMakeLists.txt).
const ZXING_CPP_VERSION: &str = "3.1.1";

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => times[n / 2],
        _ => (times[n / 2 - 1] + times[n / 2]) / 2.0,
    }
}

fn hex(text: &str) -> String {
    if text.is_empty() {
        return "-".to_owned();
    }
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Answers one request line.
fn serve(line: &str, qr: &BarcodeReader, linear: &BarcodeReader) -> String {
    let mut parts = line.split_whitespace();
    let (Some(path), Some(width), Some(height), Some(repeat)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return "error bad-request".to_owned();
    };
    let (Ok(width), Ok(height), Ok(repeat)) = (
        width.parse::<u32>(),
        height.parse::<u32>(),
        repeat.parse::<u32>(),
    ) else {
        return "error bad-request".to_owned();
    };
    let reader = match parts.next() {
        None | Some("qr") => qr,
        Some("linear") => linear,
        Some(_) => return "error bad-format".to_owned(),
    };
    let Ok(pixels) = std::fs::read(path) else {
        return "error bad-file".to_owned();
    };
    if pixels.len() != width as usize * height as usize || width == 0 || height == 0 {
        return "error bad-file".to_owned();
    }
    let Ok(image) = ImageView::from_slice(&pixels, width, height, ImageFormat::Lum) else {
        return "error bad-image".to_owned();
    };
    let read = || {
        reader
            .from(&image)
            .ok()
            .and_then(|found| found.into_iter().find(|b| b.is_valid()))
            .map(|b| b.text())
    };
    let mut text = read();
    let mut times = Vec::with_capacity(repeat.max(1) as usize);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        text = read();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    format!(
        "{:.6} {}",
        median(&mut times),
        hex(text.as_deref().unwrap_or(""))
    )
}

fn main() {
    let qr = BarcodeReader::new().formats([BarcodeFormat::QRCode]);
    let linear = BarcodeReader::new().formats([
        BarcodeFormat::EAN13,
        BarcodeFormat::EAN8,
        BarcodeFormat::UPCA,
        BarcodeFormat::Code128,
    ]);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if writeln!(out, "zxing-cpp {ZXING_CPP_VERSION}").is_err() {
        return;
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        let answer = serve(&line, &qr, &linear);
        if writeln!(out, "{answer}").and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}
