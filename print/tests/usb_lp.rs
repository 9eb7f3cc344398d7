//! The USB printer class transport against what stands in for
//! `/dev/usb/lp0` in a test: a regular file (every job appended), a FIFO
//! with a reader (a printer taking bytes), a FIFO with no reader (a printer
//! switched off: offline) and a FIFO whose reader stops reading (a printer
//! whose buffer stays full: the write gives up at its deadline).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure is a test failure"
)]

mod util;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tillcard_print::virtual_printer::{command_names, decode, plain_text};
use tillcard_print::{
    Paper, PrintJob, PrinterStatus, Receipt, SpoolEvent, Spooler, Timeouts, Transport,
};

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn quick_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(300),
        write: Duration::from_millis(300),
        status: Duration::from_millis(100),
    }
}

#[test]
fn jobs_to_a_regular_file_are_appended_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
    File::create(&path).unwrap();
    let (events_tx, events) = mpsc::channel();
    let spooler = Spooler::start(
        util::quick_config(Transport::UsbLp(path.clone()), Paper::Mm58),
        events_tx,
    )
    .unwrap();
    spooler
        .submit(PrintJob {
            receipt: Receipt::sample(),
            open_drawer: true,
        })
        .unwrap();
    let again = spooler.reprint().unwrap();
    util::wait_for(&events, |e| *e == SpoolEvent::Printed(again));
    assert_eq!(spooler.last_status(), Some(PrinterStatus::Ready));

    let decoded = decode(&std::fs::read(&path).unwrap());
    let text = plain_text(&decoded);
    assert_eq!(text.matches("Tillcard 徐汇店").count(), 2, "{text}");
    assert_eq!(text.matches("重印").count(), 1);
    let names = command_names(&decoded);
    assert_eq!(names.iter().filter(|n| **n == "cut").count(), 2);
    assert_eq!(names.iter().filter(|n| **n == "drawer kick").count(), 1);
    assert!(
        !names.contains(&"status request"),
        "a file is not asked for status"
    );
}

#[test]
fn a_fifo_with_a_reader_takes_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
    mkfifo(&path);
    let reader = {
        let path = path.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            File::open(path).unwrap().read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let (events_tx, events) = mpsc::channel();
    let spooler = Spooler::start(
        util::quick_config(Transport::UsbLp(path), Paper::Mm80),
        events_tx,
    )
    .unwrap();
    // Until the reader has opened its end, the device is offline and the
    // job is retried.
    let id = spooler
        .submit(PrintJob {
            receipt: Receipt::sample(),
            open_drawer: false,
        })
        .unwrap();
    util::wait_for(&events, |e| *e == SpoolEvent::Printed(id));
    let decoded = decode(&reader.join().unwrap());
    assert!(plain_text(&decoded).contains("会员 张*华"));
    assert_eq!(command_names(&decoded).last(), Some(&"cut"));
}

#[test]
fn a_fifo_with_no_reader_is_offline_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
    mkfifo(&path);
    let transport = Transport::UsbLp(path);
    let started = Instant::now();
    assert_eq!(transport.status(&quick_timeouts()), PrinterStatus::Offline);
    let error = transport.print(b"hello\n", &quick_timeouts()).unwrap_err();
    assert_eq!(error.status(), PrinterStatus::Offline);
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[test]
fn a_device_that_stops_taking_bytes_gives_up_at_the_write_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
    mkfifo(&path);
    // An end that is open for reading and never read (opened read-write,
    // which does not wait for a writer): the pipe's buffer (64 KiB) fills
    // like a stalled printer's.
    let _held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let transport = Transport::UsbLp(path);
    let started = Instant::now();
    let result = transport
        .print(&vec![b'x'; 1 << 20], &quick_timeouts())
        .map_err(|e| e.status());
    let took = started.elapsed();
    assert_eq!(result, Err(PrinterStatus::Offline));
    assert!(took < Duration::from_secs(3), "{took:?}");
}
