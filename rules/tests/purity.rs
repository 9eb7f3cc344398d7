//! Proves the rules engine can do no I/O, read no clock and draw no random
//! number: its dependencies are an allow-list of pure crates (chrono without
//! its clock feature, uuid without its generators), and its source names no
//! I/O, clock, randomness or environment API.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;

const ALLOWED: [&str; 5] = ["serde", "thiserror", "chrono", "uuid", "schemars"];

#[test]
fn rules_depend_only_on_pure_crates_without_clock_or_randomness_features() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let workspace: toml::Table = std::fs::read_to_string(root.join("../Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    for (name, spec) in deps {
        assert!(
            ALLOWED.contains(&name.as_str()),
            "tillcard-rules depends on {name}, which is not on the pure allow-list {ALLOWED:?}"
        );
        // Resolve `workspace = true` to the workspace's declaration.
        let declared = if spec.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
            workspace["workspace"]["dependencies"][name.as_str()].clone()
        } else {
            spec.clone()
        };
        let features: Vec<&str> = declared
            .get("features")
            .and_then(|f| f.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let default_features = declared
            .get("default-features")
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        match name.as_str() {
            "chrono" => {
                assert!(
                    !default_features,
                    "chrono's default features include the clock"
                );
                for f in ["clock", "now", "wasmbind"] {
                    assert!(!features.contains(&f), "chrono feature {f} reads the clock");
                }
            }
            "uuid" => {
                assert!(
                    !default_features,
                    "uuid's defaults are fine, but keep them explicit"
                );
                for f in ["v1", "v4", "v6", "v7", "fast-rng", "rng"] {
                    assert!(
                        !features.contains(&f),
                        "uuid feature {f} draws randomness or reads the clock"
                    );
                }
            }
            _ => {}
        }
    }
}

#[test]
fn rules_source_names_no_io_clock_randomness_or_environment_api() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::io",
        "std::env",
        "std::process",
        "std::thread",
        "SystemTime",
        "Instant",
        "Utc::now",
        "Local::now",
        "rand::",
        "println!",
        "eprintln!",
    ];
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut checked = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} mentions {word}: the rules must stay pure",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 10,
        "expected the rules' source files, found {checked}"
    );
}
