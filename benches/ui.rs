//! The touchscreen app's start-up and idle memory, measured on the real
//! binary: `tillcard probe-start` starts the demo terminal with the software
//! renderer in memory (no display needed), prints `ready` once the clerks
//! are loaded and the first frame is drawn, idles, and reports its resident
//! memory. Cold start = spawn to `ready`, on a store that already exists
//! (the first, seeding run is not timed). `BENCH_QUICK=1`: 3 runs, 1 s idle.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark code")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn probe(data: &std::path::Path, idle_secs: u64) -> (Duration, f64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tillcard"))
        .args([
            "probe-start",
            "--idle-secs",
            &idle_secs.to_string(),
            "--data",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ready = None;
    let mut rss_kib = 0.0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "ready" && ready.is_none() {
            ready = Some(started.elapsed());
        }
        if let Some(kib) = line.strip_prefix("idle_rss_kib ") {
            rss_kib = kib.parse().unwrap();
        }
    }
    assert!(child.wait().unwrap().success(), "probe-start failed");
    (ready.expect("the app never became ready"), rss_kib)
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let (runs, idle) = if quick { (3, 1) } else { (7, 5) };
    let dir = tempfile::tempdir().unwrap();
    let (seed, _) = probe(dir.path(), 0);
    println!(
        "bench: ui.first_start_with_demo_seed_ms = {:.0} ms",
        seed.as_secs_f64() * 1000.0
    );
    let mut times = Vec::new();
    let mut rss = 0.0;
    for _ in 0..runs {
        let (t, r) = probe(dir.path(), idle);
        times.push(t.as_secs_f64() * 1000.0);
        rss = r;
    }
    times.sort_by(f64::total_cmp);
    println!("bench: ui.cold_start_ms = {:.0} ms", times[times.len() / 2]);
    println!(
        "bench: ui.cold_start_max_ms = {:.0} ms",
        times[times.len() - 1]
    );
    println!("bench: ui.idle_rss_mb = {:.1} MB", rss / 1024.0);
}
