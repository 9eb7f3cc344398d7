//! Shared helpers for the scanning tests and the bench: a signed member card
//! fixture, a seeded random generator, and synthetic camera damage (rotation,
//! perspective, blur, noise, low contrast, glare).
#![allow(dead_code)] // Each test binary uses a different subset.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test support: a failure is a test failure.

pub mod store;

use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{
    Border, Interpolation, Projection, rotate_about_center, warp,
};
use tillcard::scan::credential::{CardVerifier, Credential, RevocationList, TrustedKeys};
use tillcard::scan::directory::{InMemoryDirectory, MemberSummary};
use tillcard::scan::signer::CardSigner;
use uuid::Uuid;

/// 2026-01-01T00:00:00Z.
pub const ISSUED_AT: u32 = 1_767_225_600;
/// A time after issue, before any test expiry.
pub const NOW: u64 = ISSUED_AT as u64 + 86_400;

/// Head office's key (id 1) and a terminal's key (id 7).
pub fn head_office() -> CardSigner {
    CardSigner::from_seed(1, &[11; 32])
}
/// A registered terminal's signing key.
pub fn terminal() -> CardSigner {
    CardSigner::from_seed(7, &[77; 32])
}

/// The member every fixture card belongs to.
pub fn member_id() -> Uuid {
    Uuid::from_u128(0x0190_1234_5678_7abc_8def_0123_4567_89ab)
}

/// A card of [`member_id`] issued by `signer`.
pub fn credential(valid_until: Option<u32>) -> Credential {
    Credential {
        member_id: member_id(),
        card_serial: 3,
        issuer: 0,
        issued_at: ISSUED_AT,
        valid_until,
    }
}

/// Verifier trusting head office and the terminal, nothing revoked.
pub fn verifier() -> CardVerifier {
    let mut keys = TrustedKeys::new();
    keys.insert(1, head_office().verifying_key());
    keys.insert(7, terminal().verifying_key());
    CardVerifier::new(keys, RevocationList::new())
}

/// A directory that knows [`member_id`].
pub fn directory() -> InMemoryDirectory {
    let mut d = InMemoryDirectory::new();
    d.insert(MemberSummary {
        member_id: member_id(),
        masked_name: "张*".into(),
        masked_phone: "138****5678".into(),
        tier: "gold".into(),
    });
    d
}

/// A realistic card token: head office, with an expiry.
pub fn token() -> String {
    head_office().issue(&credential(Some(ISSUED_AT + 2 * 365 * 86_400)))
}

/// xorshift64*: small, seeded, good enough for test data.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Approximately normal (sum of uniforms), mean 0, sd 1.
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.unit()).sum::<f32>() - 6.0
    }
}

/// The card's QR code, `module_px` pixels per module.
pub fn card_image(token: &str, module_px: u32) -> GrayImage {
    tillcard::scan::card::render_luma(&tillcard::scan::card::card_qr(token).unwrap(), module_px)
}

/// A `w` x `h` frame of textured noise with `card` pasted at its centre.
pub fn paste_on_noisy_background(card: &GrayImage, w: u32, h: u32, seed: u64) -> GrayImage {
    let mut rng = Rng::new(seed);
    let mut img = GrayImage::from_fn(w, h, |x, y| {
        // A smooth gradient (a counter, a hand) plus sensor noise.
        let base = 90.0 + 60.0 * ((x as f32 / 37.0).sin() * (y as f32 / 53.0).cos());
        Luma([(base + 12.0 * rng.normal()).clamp(0.0, 255.0) as u8])
    });
    let (ox, oy) = ((w - card.width()) / 2, (h - card.height()) / 2);
    for (x, y, p) in card.enumerate_pixels() {
        img.put_pixel(ox + x, oy + y, *p);
    }
    img
}

/// Rotated by `degrees` about the centre, on white.
pub fn rotated(img: &GrayImage, degrees: f32) -> GrayImage {
    rotate_about_center(
        img,
        degrees.to_radians(),
        Interpolation::Bilinear,
        Border::Constant(Luma([255])),
    )
}

/// Seen from an angle: the top edge shrunk by `squeeze` of the width on each
/// side, as a card tilted away from the camera.
pub fn perspective(img: &GrayImage, squeeze: f32) -> GrayImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let from = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    let d = squeeze * w;
    let to = [(d, d * 0.5), (w - d, 0.0), (w, h), (0.0, h - d * 0.3)];
    let p = Projection::from_control_points(from, to).unwrap();
    warp(
        img,
        p,
        Interpolation::Bilinear,
        Border::Constant(Luma([255])),
    )
}

/// Gaussian blur (out of focus, motion).
pub fn blurred(img: &GrayImage, sigma: f32) -> GrayImage {
    imageproc::filter::gaussian_blur_f32(img, sigma)
}

/// Additive Gaussian sensor noise with standard deviation `sd`.
pub fn noisy(img: &GrayImage, sd: f32, seed: u64) -> GrayImage {
    let mut rng = Rng::new(seed);
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let v = f32::from(img.get_pixel(x, y).0[0]) + sd * rng.normal();
        Luma([v.clamp(0.0, 255.0) as u8])
    })
}

/// Contrast squeezed into `lo..=hi` (grey paper, dim light).
pub fn low_contrast(img: &GrayImage, lo: u8, hi: u8) -> GrayImage {
    let span = f32::from(hi - lo) / 255.0;
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        Luma([lo + (f32::from(img.get_pixel(x, y).0[0]) * span) as u8])
    })
}

/// A bright reflection (a phone screen under shop lights): a soft white spot
/// of `radius` at (`cx`, `cy`), as fractions of the image size, that washes
/// out the dark modules under it by up to `strength` (0..1).
pub fn glare(img: &GrayImage, cx: f32, cy: f32, radius: f32, strength: f32) -> GrayImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let r = radius * w.min(h);
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let dx = x as f32 - cx * w;
        let dy = y as f32 - cy * h;
        let k = strength * (-(dx * dx + dy * dy) / (r * r)).exp();
        let v = f32::from(img.get_pixel(x, y).0[0]);
        Luma([(v + (255.0 - v) * k).clamp(0.0, 255.0) as u8])
    })
}
