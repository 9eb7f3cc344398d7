//! `tillcard-logscan --logs DIR --sources PATH... [--require PREFIX...]`:
//! fails (exit 1) listing every log line holding personal data from the test
//! data or any mainland mobile number; exit 2 when the logs the proof needs
//! are missing or the arguments are wrong. See the library's docs.

use std::path::PathBuf;
use std::process::ExitCode;

use tillcard_logscan::{Collector, Scanner};

fn main() -> ExitCode {
    let mut logs: Option<PathBuf> = None;
    let mut sources = Vec::new();
    let mut required = Vec::new();
    let mut list: Option<&'static str> = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--logs" => list = Some("logs"),
            "--sources" => list = Some("sources"),
            "--require" => list = Some("require"),
            _ => match list {
                Some("logs") => logs = Some(arg.into()),
                Some("sources") => sources.push(PathBuf::from(arg)),
                Some("require") => required.push(arg),
                _ => return usage(&format!("unexpected argument {arg:?}")),
            },
        }
    }
    let Some(logs) = logs else {
        return usage("--logs DIR is required");
    };
    if sources.is_empty() {
        return usage("--sources PATH... is required");
    }
    let data = match Collector::new().collect_from_sources(&sources) {
        Ok(d) => d,
        Err(e) => return usage(&format!("reading the sources: {e}")),
    };
    let report = match Scanner::new(&data).scan_dir(&logs) {
        Ok(r) => r,
        Err(e) => return usage(&format!("reading {}: {e}", logs.display())),
    };
    println!(
        "logscan: {} phones, {} names, {} birthdays from the test data; {} log files, {} lines scanned",
        data.phones.len(),
        data.names.len(),
        data.birthdays.len(),
        report.files.len(),
        report.lines()
    );
    let missing = report.missing(&required);
    if !missing.is_empty() {
        eprintln!(
            "logscan: no log lines from {} in {}: the proof has nothing to check",
            missing.join(", "),
            logs.display()
        );
        return ExitCode::from(2);
    }
    if report.debug_lines() == 0 {
        eprintln!(
            "logscan: no debug-level line in {}: run the suite with RUST_LOG=debug",
            logs.display()
        );
        return ExitCode::from(2);
    }
    if report.findings.is_empty() {
        println!("logscan: no personal data in any log line");
        return ExitCode::SUCCESS;
    }
    eprintln!("logscan: personal data found in logs:");
    for finding in &report.findings {
        eprintln!("  {finding}");
    }
    ExitCode::FAILURE
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("logscan: {problem}");
    eprintln!("usage: tillcard-logscan --logs DIR --sources PATH... [--require PREFIX...]");
    ExitCode::from(2)
}
