//! `tillcard screenshots DIR` draws every screen of the real app with the
//! software renderer (no display), in both languages and at both panel
//! sizes, with the demo data; and a new till's first-run screens on a
//! real (non-demo) configuration; and the customer display's screens.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::BTreeSet;

const SCREENS: &[&str] = &[
    "login",
    "home",
    "member",
    "checkout",
    "receipt",
    "phone",
    "enroll",
    "enroll-done",
    "manager-pin",
    "manager",
    "settings-keyboard",
    "top-up",
    "refund",
    "return",
    "return-done",
    "adjust",
    "sync",
    "settings",
    "shift-close",
    "first-run-code",
    "first-run-offline",
    "first-run-waiting",
    "first-run-pin-setup",
];

/// The customer display's screens: both languages, its own 1024x600 panel.
const CUSTOMER_SCREENS: &[&str] = &["customer-welcome", "customer-basket", "customer-thanks"];

#[test]
fn every_screen_is_drawn_in_both_languages_at_both_sizes() {
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tillcard"))
        .arg("screenshots")
        .arg(out.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "screenshots exited with {}; stderr:\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let files: BTreeSet<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for screen in SCREENS {
        for language in ["zh-CN", "en"] {
            for (w, h) in [(1024, 768), (1280, 800)] {
                let name = format!("{screen}-{language}-{w}x{h}.png");
                assert!(files.contains(&name), "missing {name}");
                let img = image::open(out.path().join(&name)).unwrap();
                assert_eq!((img.width(), img.height()), (w, h), "{name}");
            }
        }
    }
    for screen in CUSTOMER_SCREENS {
        for language in ["zh-CN", "en"] {
            let name = format!("{screen}-{language}-1024x600.png");
            assert!(files.contains(&name), "missing {name}");
            let img = image::open(out.path().join(&name)).unwrap();
            assert_eq!((img.width(), img.height()), (1024, 600), "{name}");
        }
        let zh = image::open(out.path().join(format!("{screen}-zh-CN-1024x600.png"))).unwrap();
        let en = image::open(out.path().join(format!("{screen}-en-1024x600.png"))).unwrap();
        assert_ne!(zh.as_bytes(), en.as_bytes(), "{screen} in one language");
    }
    assert_eq!(files.len(), SCREENS.len() * 4 + CUSTOMER_SCREENS.len() * 2);
    // The two languages really differ, pixel for pixel, on every screen
    // with words (all of them).
    for screen in SCREENS {
        let zh = image::open(out.path().join(format!("{screen}-zh-CN-1024x768.png"))).unwrap();
        let en = image::open(out.path().join(format!("{screen}-en-1024x768.png"))).unwrap();
        assert_ne!(
            zh.as_bytes(),
            en.as_bytes(),
            "{screen} looks the same in both languages"
        );
    }
}
