//! Member cards made by the qrcode crate decode back through the combined
//! decoder after synthetic camera damage: rotation, perspective, blur,
//! noise, low contrast and screen glare, alone and combined.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

mod util;

use image::GrayImage;
use tillcard::scan::decode::{CombinedDecoder, QrDecoder};
use tillcard::scan::frame::LumaFrame;
use util::*;

/// A card as a camera sees it: 4 px per module on a noisy 640x480 frame.
fn scene(token: &str) -> GrayImage {
    paste_on_noisy_background(&card_image(token, 4), 640, 480, 5)
}

fn check(name: &str, img: GrayImage, token: &str) {
    let mut d = CombinedDecoder::default();
    let got = d.decode(&LumaFrame::from_gray(img));
    assert_eq!(got.as_deref(), Ok(token), "{name}");
}

#[test]
fn clean_card_decodes() {
    let t = token();
    check("clean", scene(&t), &t);
}

#[test]
fn rotated_cards_decode() {
    let t = token();
    for deg in [7.0, 30.0, 45.0, 90.0, 135.0, 180.0, 260.0] {
        check(&format!("rotated {deg}"), rotated(&scene(&t), deg), &t);
    }
}

#[test]
fn cards_in_perspective_decode() {
    let t = token();
    for squeeze in [0.05, 0.1, 0.15] {
        check(
            &format!("perspective {squeeze}"),
            perspective(&scene(&t), squeeze),
            &t,
        );
    }
}

#[test]
fn blurred_cards_decode() {
    let t = token();
    for sigma in [0.8, 1.2, 1.6] {
        check(&format!("blur {sigma}"), blurred(&scene(&t), sigma), &t);
    }
}

#[test]
fn noisy_cards_decode() {
    let t = token();
    for sd in [10.0, 25.0, 40.0] {
        check(&format!("noise {sd}"), noisy(&scene(&t), sd, 9), &t);
    }
}

#[test]
fn low_contrast_cards_decode() {
    let t = token();
    for (lo, hi) in [(90, 160), (110, 150), (60, 100)] {
        check(
            &format!("contrast {lo}-{hi}"),
            low_contrast(&scene(&t), lo, hi),
            &t,
        );
    }
}

#[test]
fn cards_under_screen_glare_decode() {
    let t = token();
    // A reflection over part of the code (a corner, the middle); strong
    // enough to wash out the modules nearest to its centre.
    for (cx, cy, r, k) in [
        (0.4, 0.4, 0.12, 0.8),
        (0.55, 0.5, 0.15, 0.7),
        (0.6, 0.35, 0.25, 0.5),
    ] {
        check(
            &format!("glare {cx},{cy}"),
            glare(&scene(&t), cx, cy, r, k),
            &t,
        );
    }
}

#[test]
fn light_on_dark_cards_decode() {
    let t = token();
    let img = scene(&t);
    let inverted = GrayImage::from_fn(img.width(), img.height(), |x, y| {
        image::Luma([255 - img.get_pixel(x, y).0[0]])
    });
    check("inverted", inverted, &t);
}

#[test]
fn combined_damage_decodes() {
    let t = token();
    let img = perspective(&rotated(&scene(&t), 20.0), 0.08);
    let img = low_contrast(&blurred(&img, 0.8), 90, 170);
    let img = glare(&noisy(&img, 10.0, 3), 0.45, 0.45, 0.12, 0.5);
    check("rotated+perspective+blur+contrast+noise+glare", img, &t);
}

#[test]
fn a_blank_frame_decodes_to_nothing() {
    let mut d = CombinedDecoder::default();
    let img = paste_on_noisy_background(
        &GrayImage::from_pixel(100, 100, image::Luma([255])),
        640,
        480,
        1,
    );
    assert!(d.decode(&LumaFrame::from_gray(img)).is_err());
}
