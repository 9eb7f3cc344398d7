//! The command line: `tillcard [--config FILE] [COMMAND]`. Without a command
//! it starts the touchscreen terminal: with `--config` on that file, without
//! it on the embedded demo (a local SQLite file in `./tillcard-data`, demo
//! program, members and clerks, demo cards instead of a camera).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::scan::decode::barcode::BarcodeDecoder;
use crate::scan::decode::{DecodeError, DecoderKind, QrDecoder};
use crate::scan::file_source::{image_paths, load_luma};
use crate::scan::frame::LumaFrame;
use crate::scan::product::ProductCode;

/// Tillcard, the in-store membership terminal.
#[derive(Debug, Parser)]
#[command(name = "tillcard", version)]
pub struct Cli {
    /// Configuration file (`/etc/tillcard/terminal.toml` when installed);
    /// without it the terminal runs its embedded demo.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// What to do; nothing starts the terminal.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode QR codes and product barcodes in image files or folders and
    /// time each decode.
    Decode(DecodeArgs),
    /// Check the configuration file and print what it resolves to.
    CheckConfig,
    /// Print the demo program and a priced demo basket (no window).
    DemoQuote,
    /// Write the demo members' card images (PNG) into DIR.
    DemoCards {
        /// Output folder.
        dir: PathBuf,
    },
    /// Write a PNG of every screen, in both languages, at 1024x768 and
    /// 1280x800 (the customer display's at 1024x600), with demo data,
    /// into DIR. Needs no display.
    Screenshots {
        /// Output folder.
        dir: PathBuf,
    },
    /// Register this terminal with head office using the store's one-time
    /// enrollment code (first registration only), then sync once: the
    /// store's staff, program and members come down. Needs `--config`
    /// with `head_office.url`.
    Register {
        /// The enrollment code head office issued for this store.
        code: String,
    },
    /// Sync once with head office: waiting events up, changes down.
    Sync,
    /// Start the demo terminal headless and print how long it took to
    /// become interactive and its memory after idling (benchmarks).
    ProbeStart {
        /// The demo terminal's data folder (seeded on first use).
        #[arg(long)]
        data: PathBuf,
        /// Seconds to idle before reading the memory.
        #[arg(long, default_value_t = 3)]
        idle_secs: u64,
    },
}

/// Arguments of `tillcard decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Image files (png, jpg, webp) or folders of them.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Compare with `N.txt` beside each image `N.*` and print the totals.
    #[arg(long)]
    pub expect: bool,
    /// Which QR decoder to run.
    #[arg(long, value_enum, default_value = "combined")]
    pub decoder: DecoderKind,
    /// Which codes to look for: QR codes, product barcodes (EAN-13, EAN-8,
    /// UPC-A, Code 128), or both (QR first, barcodes when no QR is read).
    #[arg(long, value_enum, default_value = "all")]
    pub codes: Codes,
    /// Time each image this many times (after one untimed warm-up run when
    /// more than 1) and report the median.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
}

/// Parses `args` (without the program name) and runs the command.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("tillcard".to_owned()).chain(args))
        .unwrap_or_else(|e| e.exit());
    let config = match &cli.config {
        Some(path) => crate::config::TerminalConfig::load(path)?,
        None => crate::config::TerminalConfig::embedded_demo(),
    };
    match cli.command {
        None => crate::ui::run_app(
            config,
            std::sync::Arc::new(crate::clock::SystemClock::new()),
        ),
        Some(Command::Register { code }) => {
            let synced = crate::headless::register(&config, &code)?;
            println!("registered as terminal {}", synced.terminal_id);
            println!("clerks {}", synced.clerks);
            Ok(())
        }
        Some(Command::Sync) => {
            let synced = crate::headless::sync(&config)?;
            println!("clerks {}", synced.clerks);
            println!("pending {}", synced.pending);
            Ok(())
        }
        Some(Command::CheckConfig) => {
            println!("{config:#?}");
            Ok(())
        }
        Some(Command::DemoQuote) => {
            let now = chrono::Local::now().fixed_offset();
            print!("{}", crate::demo::demo_text(now)?);
            Ok(())
        }
        Some(Command::DemoCards { dir }) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for path in crate::demo::write_demo_cards(&dir)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Some(Command::Screenshots { dir }) => {
            for path in crate::ui::screenshots::write_all(&dir)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Some(Command::ProbeStart { data, idle_secs }) => {
            let (ready, rss_kib) = crate::ui::screenshots::probe_start(
                &data,
                std::time::Duration::from_secs(idle_secs),
            )?;
            println!("ready_ms {:.1}", ready.as_secs_f64() * 1000.0);
            println!("idle_rss_kib {rss_kib}");
            Ok(())
        }
        Some(Command::Decode(a)) => {
            let report = decode_files(&a.inputs, a.decoder, a.codes, a.expect, a.repeat)?;
            print!("{report}");
            Ok(())
        }
    }
}

/// The text expected for an image: `N.txt` beside `N.png`, trailing CR/LF
/// dropped.
pub fn expected_text(image: &Path) -> Option<String> {
    let bytes = std::fs::read(image.with_extension("txt")).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Some(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// Value at quantile `q` (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median of sorted values (mean of the two middle ones for even counts).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Which codes `tillcard decode` looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codes {
    /// QR codes only (the chosen QR decoder).
    Qr,
    /// Product barcodes only ([`BarcodeDecoder`]).
    Barcodes,
    /// QR codes first, product barcodes when no QR code is read (the
    /// order of the terminal's scan pipeline).
    All,
}

/// What was read in one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// A QR code's text.
    Qr(String),
    /// A product barcode.
    Item(ProductCode),
}

impl Reading {
    /// Whether this reading is the expected text: a QR code's text without
    /// trailing line ends; a product code's text, or the 13-digit GTIN of
    /// a UPC-A (how the sample photos' texts write them).
    pub fn matches(&self, want: &str) -> bool {
        match self {
            Self::Qr(text) => text.trim_end_matches(['\r', '\n']) == want,
            Self::Item(code) => code.text() == want || code.gtin13().as_deref() == Some(want),
        }
    }
}

/// Reads one frame: `codes` says which decoders run and in what order.
pub fn read_frame(
    qr: &mut dyn QrDecoder,
    barcodes: &BarcodeDecoder,
    codes: Codes,
    frame: &LumaFrame,
) -> Result<Reading, DecodeError> {
    match codes {
        Codes::Qr => qr.decode(frame).map(Reading::Qr),
        Codes::Barcodes => barcodes.decode(frame).map(Reading::Item),
        Codes::All => qr
            .decode(frame)
            .map(Reading::Qr)
            .or_else(|_| barcodes.decode(frame).map(Reading::Item))
            .map_err(|_| DecodeError::Nothing),
    }
}

/// Decodes each image (see [`timed`] for `repeat`) and returns per-image
/// lines and, with `expect`, the summary line. A product barcode's line
/// names its symbology (`ean13 "4006381333931"`).
pub fn decode_files(
    inputs: &[PathBuf],
    kind: DecoderKind,
    codes: Codes,
    expect: bool,
    repeat: u32,
) -> anyhow::Result<String> {
    let paths = image_paths(inputs).context("listing the images")?;
    let mut decoder = kind.build();
    let barcodes = BarcodeDecoder::default();
    let mut out = String::new();
    let mut times = Vec::new();
    let (mut matched, mut total) = (0, 0);
    for path in &paths {
        let frame = match load_luma(path) {
            Ok(f) => f,
            Err(e) => {
                out.push_str(&format!("{}: unreadable image: {e}\n", path.display()));
                continue;
            }
        };
        let (result, ms) = timed(repeat, || {
            read_frame(decoder.as_mut(), &barcodes, codes, &frame)
        });
        times.push(ms);
        let shown = match &result {
            Ok(Reading::Qr(t)) => shorten(t),
            Ok(Reading::Item(code)) => format!("{} {}", code.symbology(), shorten(code.text())),
            Err(e) => format!("FAILED ({e})"),
        };
        let mut verdict = String::new();
        if expect {
            match expected_text(path) {
                Some(want) => {
                    total += 1;
                    if result.as_ref().is_ok_and(|r| r.matches(&want)) {
                        matched += 1;
                        verdict.push_str(" ok");
                    } else {
                        verdict.push_str(" MISMATCH");
                    }
                }
                None => verdict.push_str(" (no .txt)"),
            }
        }
        out.push_str(&format!(
            "{}: {shown} [{ms:.3} ms]{verdict}\n",
            path.display()
        ));
    }
    if expect {
        times.sort_by(f64::total_cmp);
        let name = match codes {
            Codes::Qr => decoder.name().to_owned(),
            Codes::Barcodes => "barcode".to_owned(),
            Codes::All => format!("{}+barcode", decoder.name()),
        };
        out.push_str(&format!(
            "{name}: decoded {matched}/{total}, median {:.3} ms, p95 {:.3} ms\n",
            median(&times),
            quantile(&times, 0.95)
        ));
    }
    Ok(out)
}

/// The text quoted for a report line, cut after 80 characters.
fn shorten(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push_str("...");
    }
    format!("{s:?}")
}

/// Runs `decode` and measures its time, ms. With `repeat` > 1 it first
/// runs once untimed (caches, allocator) and the median of `repeat` timed
/// runs is returned, with the last run's result.
pub fn timed<T>(repeat: u32, mut decode: impl FnMut() -> T) -> (T, f64) {
    if repeat <= 1 {
        let t = Instant::now();
        let r = decode();
        return (r, t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut r = decode();
    let mut times = Vec::with_capacity(repeat as usize);
    for _ in 0..repeat {
        let t = Instant::now();
        r = decode();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (r, median(&times))
}

/// Decodes one frame with a QR decoder and measures the time spent in the
/// decoder, ms (see [`timed`] for `repeat`).
pub fn timed_decode(
    decoder: &mut dyn QrDecoder,
    frame: &LumaFrame,
    repeat: u32,
) -> (Result<String, DecodeError>, f64) {
    timed(repeat, || decoder.decode(frame))
}
