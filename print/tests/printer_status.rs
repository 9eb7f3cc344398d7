//! A printer that is missing, offline or out of paper is reported, never
//! blocks the caller, and a job waits for it: the status strip's cases, each
//! against a real socket or path.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure is a test failure"
)]

mod util;

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tillcard_print::virtual_printer::{VirtualNetworkPrinter, command_names, decode, plain_text};
use tillcard_print::{
    Paper, PrintJob, PrinterStatus, Receipt, SpoolEvent, Spooler, SubmitError, Timeouts, Transport,
};

fn job() -> PrintJob {
    PrintJob {
        receipt: Receipt::sample(),
        open_drawer: false,
    }
}

#[test]
fn a_missing_device_is_reported_missing_at_once() {
    let transport = Transport::UsbLp("/nonexistent/lp0".into());
    let started = Instant::now();
    assert_eq!(
        transport.status(&Timeouts::default()),
        PrinterStatus::Missing
    );
    let error = transport.print(b"x", &Timeouts::default()).unwrap_err();
    assert_eq!(error.status(), PrinterStatus::Missing);
    assert!(started.elapsed() < Duration::from_millis(200));

    let (events_tx, events) = mpsc::channel();
    let spooler = Spooler::start(util::quick_config(transport, Paper::Mm58), events_tx).unwrap();
    let started = Instant::now();
    spooler.submit(job()).unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "submit waits for nothing"
    );
    util::wait_for(&events, |e| {
        *e == SpoolEvent::Status(PrinterStatus::Missing)
    });
    assert_eq!(spooler.last_status(), Some(PrinterStatus::Missing));
}

#[test]
fn a_port_where_nothing_listens_is_offline() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let transport = Transport::Network(addr);
    let started = Instant::now();
    assert_eq!(
        transport.status(&Timeouts::default()),
        PrinterStatus::Offline
    );
    let error = transport.print(b"x", &Timeouts::default()).unwrap_err();
    assert_eq!(error.status(), PrinterStatus::Offline);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn each_state_the_printer_answers_is_read_back() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    let transport = Transport::Network(printer.addr());
    for status in [
        PrinterStatus::Ready,
        PrinterStatus::PaperLow,
        PrinterStatus::PaperOut,
        PrinterStatus::CoverOpen,
        PrinterStatus::Offline,
    ] {
        printer.set_status(status);
        assert_eq!(transport.status(&Timeouts::default()), status);
    }
    // A printer that ignores DLE EOT still prints: taken as ready.
    printer.set_silent(true);
    assert_eq!(transport.status(&Timeouts::default()), PrinterStatus::Ready);
    assert!(printer.jobs().is_empty(), "status requests are no job");
}

#[test]
fn a_job_waits_out_a_paper_out_and_prints_when_the_paper_is_back() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    printer.set_status(PrinterStatus::PaperOut);
    let (events_tx, events) = mpsc::channel();
    let spooler = Spooler::start(
        util::quick_config(Transport::Network(printer.addr()), Paper::Mm58),
        events_tx,
    )
    .unwrap();
    let id = spooler.submit(job()).unwrap();
    util::wait_for(&events, |e| {
        *e == SpoolEvent::Status(PrinterStatus::PaperOut)
    });
    // Asked again and again, and nothing printed meanwhile.
    let asked = printer.status_requests();
    std::thread::sleep(Duration::from_millis(150));
    assert!(
        printer.status_requests() > asked,
        "the spooler keeps asking"
    );
    assert!(printer.jobs().is_empty());

    printer.set_status(PrinterStatus::Ready);
    let seen = util::wait_for(&events, |e| *e == SpoolEvent::Printed(id));
    assert!(
        seen.contains(&SpoolEvent::Status(PrinterStatus::Ready)),
        "{seen:?}"
    );
    let jobs = printer.jobs();
    assert_eq!(jobs.len(), 1);
    assert!(plain_text(&decode(&jobs[0])).contains("Tillcard 徐汇店"));
}

#[test]
fn a_full_queue_refuses_at_once_and_the_accepted_jobs_print_in_order() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    printer.set_status(PrinterStatus::CoverOpen);
    let (events_tx, events) = mpsc::channel();
    let mut config = util::quick_config(Transport::Network(printer.addr()), Paper::Mm80);
    config.capacity = 2;
    let spooler = Spooler::start(config, events_tx).unwrap();
    // The thread holds the first job while it waits for the cover...
    let mut accepted = vec![spooler.submit(job()).unwrap()];
    util::wait_for(&events, |e| {
        *e == SpoolEvent::Status(PrinterStatus::CoverOpen)
    });
    // ... and the queue two more.
    let mut refused = None;
    for attempt in 1..10 {
        let started = Instant::now();
        let result = spooler.submit(job());
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "submit never blocks"
        );
        match result {
            Ok(id) => accepted.push(id),
            Err(error) => {
                assert_eq!(error, SubmitError::QueueFull);
                refused = Some(attempt);
                break;
            }
        }
    }
    assert_eq!(refused, Some(3), "accepted {accepted:?}");

    printer.set_status(PrinterStatus::Ready);
    let mut printed = Vec::new();
    while printed.len() < accepted.len() {
        for event in util::wait_for(&events, |e| matches!(e, SpoolEvent::Printed(_))) {
            if let SpoolEvent::Printed(id) = event {
                printed.push(id);
            }
        }
    }
    assert_eq!(printed, accepted);
    assert_eq!(printer.jobs().len(), 3);
}

#[test]
fn dropping_the_spooler_gives_up_waiting_jobs_promptly() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    printer.set_status(PrinterStatus::PaperOut);
    let (events_tx, events) = mpsc::channel();
    let mut config = util::quick_config(Transport::Network(printer.addr()), Paper::Mm58);
    config.retry_every = Duration::from_secs(60);
    let spooler = Spooler::start(config, events_tx).unwrap();
    let first = spooler.submit(job()).unwrap();
    util::wait_for(&events, |e| {
        *e == SpoolEvent::Status(PrinterStatus::PaperOut)
    });
    let second = spooler.submit(job()).unwrap();
    let started = Instant::now();
    drop(spooler);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let gave_up: Vec<_> = events
        .try_iter()
        .filter_map(|e| match e {
            SpoolEvent::GaveUp { job, .. } => Some(job),
            _ => None,
        })
        .collect();
    assert_eq!(gave_up, [first, second]);
    assert!(printer.jobs().is_empty());
}

#[test]
fn reprint_before_any_receipt_is_refused() {
    let (events_tx, _events) = mpsc::channel();
    let spooler = Spooler::start(
        util::quick_config(Transport::UsbLp("/nonexistent/lp0".into()), Paper::Mm58),
        events_tx,
    )
    .unwrap();
    assert_eq!(spooler.reprint(), Err(SubmitError::NothingToReprint));
}

#[test]
fn the_drawer_opens_at_once_when_the_paper_is_out_and_the_receipt_follows_without_a_kick() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    printer.set_status(PrinterStatus::PaperOut);
    let (events_tx, events) = mpsc::channel();
    let spooler = Spooler::start(
        util::quick_config(Transport::Network(printer.addr()), Paper::Mm80),
        events_tx,
    )
    .unwrap();
    let id = spooler
        .submit(PrintJob {
            receipt: Receipt::sample(),
            open_drawer: true,
        })
        .unwrap();
    util::wait_for(&events, |e| {
        *e == SpoolEvent::Status(PrinterStatus::PaperOut)
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while printer.jobs().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let kicks = printer.jobs();
    assert_eq!(
        kicks.len(),
        1,
        "one real-time kick, then only status requests"
    );
    assert_eq!(command_names(&decode(&kicks[0])), ["drawer kick now"]);

    printer.set_status(PrinterStatus::Ready);
    util::wait_for(&events, |e| *e == SpoolEvent::Printed(id));
    let jobs = printer.jobs();
    assert_eq!(jobs.len(), 2);
    let receipt = command_names(&decode(&jobs[1]));
    assert!(receipt.contains(&"cut"));
    assert!(!receipt.contains(&"drawer kick"), "{receipt:?}");
}

#[test]
fn a_network_printer_that_stops_reading_gives_up_at_the_write_deadline() {
    // Accepts, never answers status, never reads: the socket's buffers
    // fill like a jammed printer's.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (release_tx, release) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let _ = release.recv_timeout(Duration::from_secs(10));
        drop(stream);
    });
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        write: Duration::from_millis(300),
        status: Duration::from_millis(100),
    };
    let started = Instant::now();
    let result = Transport::Network(addr).print(&vec![b'x'; 64 << 20], &timeouts);
    let took = started.elapsed();
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(result.map_err(|e| e.status()), Err(PrinterStatus::Offline));
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_network_printer_that_hangs_up_is_offline_not_a_panic() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let closer = std::thread::spawn(move || {
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            drop(stream);
        }
    });
    let transport = Transport::Network(addr);
    let timeouts = Timeouts::default();
    // Status on a connection closed at once: no answer, taken as ready.
    assert_eq!(transport.status(&timeouts), PrinterStatus::Ready);
    // A large job meets the closed connection: offline.
    let result = transport.print(&vec![b'x'; 8 << 20], &timeouts);
    assert_eq!(result.map_err(|e| e.status()), Err(PrinterStatus::Offline));
    closer.join().unwrap();
}
