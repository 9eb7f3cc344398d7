//! Where the bytes go, and what the printer says back, with every wait
//! bounded: a printer that is missing, switched off or stuck costs at most
//! a timeout, never a hang and never a panic.
//!
//! - `Transport::UsbLp`: a USB printer class device (`/dev/usb/lp0`),
//!   opened per job with `O_NONBLOCK`, so a full printer buffer turns into
//!   a retry loop with a deadline instead of a blocked thread. Only a
//!   character device is asked for status (`DLE EOT`) and read from: a
//!   regular file or a FIFO (what tests print to) has no back channel. A
//!   FIFO with no reader is offline (`ENXIO`), like a device whose printer
//!   is switched off (`ENODEV`).
//! - `Transport::Network`: a raw TCP printer port (9100), connect, read and
//!   write timeouts of about two seconds; one connection per job, status
//!   asked on it first.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::escpos::status_request;
use crate::status::{PrinterStatus, StatusBytes, is_status_byte};

/// How to reach the printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// A USB printer class device (`/dev/usb/lp0`).
    UsbLp(PathBuf),
    /// A network printer's raw port (`192.168.1.50:9100`).
    Network(SocketAddr),
}

/// How long each kind of wait may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Connecting to a network printer.
    pub connect: Duration,
    /// A write that makes no progress (the printer's buffer stays full).
    pub write: Duration,
    /// Waiting for the answers to `DLE EOT`.
    pub status: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            write: Duration::from_secs(2),
            status: Duration::from_millis(500),
        }
    }
}

/// Why a job was not printed.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The printer answered, but cannot print now (paper out, cover open,
    /// offline).
    #[error("the printer cannot print now: {}", .0.en())]
    NotReady(PrinterStatus),
    /// The printer could not be reached or stopped taking bytes.
    #[error("{}: {source}", status.en())]
    Io {
        /// What the status strip should show.
        status: PrinterStatus,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
}

impl TransportError {
    /// What the status strip should show after this error.
    pub fn status(&self) -> PrinterStatus {
        match self {
            TransportError::NotReady(status) | TransportError::Io { status, .. } => *status,
        }
    }

    fn io(source: io::Error) -> Self {
        TransportError::Io {
            status: status_of_error(&source),
            source,
        }
    }
}

/// The status an I/O error means: no device file is `Missing`, anything
/// else (refused, timed out, no reader, device gone) is `Offline`.
fn status_of_error(error: &io::Error) -> PrinterStatus {
    match error.kind() {
        io::ErrorKind::NotFound => PrinterStatus::Missing,
        _ => PrinterStatus::Offline,
    }
}

impl Transport {
    /// Asks the printer how it is, within the timeouts.
    pub fn status(&self, timeouts: &Timeouts) -> PrinterStatus {
        let result = match self {
            Transport::UsbLp(path) => LpDevice::open(path, timeouts).map(|mut d| d.status()),
            Transport::Network(addr) => Connection::open(*addr, timeouts).map(|mut c| c.status()),
        };
        result.unwrap_or_else(|e| e.status())
    }

    /// Prints one job: asks for status first and sends the bytes only when
    /// the printer can print. Returns the status it answered.
    pub fn print(
        &self,
        bytes: &[u8],
        timeouts: &Timeouts,
    ) -> Result<PrinterStatus, TransportError> {
        match self {
            Transport::UsbLp(path) => {
                let mut device = LpDevice::open(path, timeouts)?;
                let status = device.status();
                if !status.can_print() {
                    return Err(TransportError::NotReady(status));
                }
                device.write(bytes)?;
                Ok(status)
            }
            Transport::Network(addr) => {
                let mut connection = Connection::open(*addr, timeouts)?;
                let status = connection.status();
                if !status.can_print() {
                    return Err(TransportError::NotReady(status));
                }
                connection.write(bytes)?;
                connection.finish();
                Ok(status)
            }
        }
    }
}

impl Transport {
    /// Sends real-time bytes (`DLE DC4`) without asking for status first:
    /// the printer obeys them even while it cannot print.
    pub fn send_now(&self, bytes: &[u8], timeouts: &Timeouts) -> Result<(), TransportError> {
        match self {
            Transport::UsbLp(path) => LpDevice::open(path, timeouts)?.write(bytes),
            Transport::Network(addr) => {
                let mut connection = Connection::open(*addr, timeouts)?;
                connection.write(bytes)?;
                connection.finish();
                Ok(())
            }
        }
    }
}

/// All three status requests at once; the printer answers in order.
fn status_requests() -> Vec<u8> {
    [status_request(1), status_request(2), status_request(4)].concat()
}

/// Reads up to three answers from `source` until `deadline`.
fn read_answers(source: &mut impl Read, deadline: Instant) -> StatusBytes {
    let mut answers = Vec::with_capacity(3);
    let mut buffer = [0u8; 8];
    while answers.len() < 3 && Instant::now() < deadline {
        match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answers.extend(buffer[..n].iter().copied().filter(|b| is_status_byte(*b))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    StatusBytes {
        printer: answers.first().copied(),
        offline_cause: answers.get(1).copied(),
        paper: answers.get(2).copied(),
    }
}

/// The USB printer class device, opened for one job.
struct LpDevice {
    file: File,
    /// A character device, which may answer status; a file or FIFO cannot.
    answers: bool,
    timeouts: Timeouts,
}

impl LpDevice {
    fn open(path: &std::path::Path, timeouts: &Timeouts) -> Result<Self, TransportError> {
        let metadata = std::fs::metadata(path).map_err(TransportError::io)?;
        let char_device = metadata.file_type().is_char_device();
        let open = |read: bool| {
            // Append: a regular file standing in for the device keeps
            // every job; a device ignores it.
            OpenOptions::new()
                .read(read)
                .append(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
        };
        // Reading the back channel needs read permission; without it the
        // device still prints, with no status.
        let (file, answers) = match char_device {
            true => match open(true) {
                Ok(file) => (file, true),
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    (open(false).map_err(TransportError::io)?, false)
                }
                Err(e) => return Err(TransportError::io(e)),
            },
            false => (open(false).map_err(TransportError::io)?, false),
        };
        Ok(Self {
            file,
            answers,
            timeouts: *timeouts,
        })
    }

    fn status(&mut self) -> PrinterStatus {
        if !self.answers {
            return PrinterStatus::Ready;
        }
        if let Err(e) = self.write(&status_requests()) {
            return e.status();
        }
        read_answers(&mut self.file, Instant::now() + self.timeouts.status).status()
    }

    /// Writes everything, retrying while the device's buffer is full, and
    /// gives up when no byte went through for the write timeout.
    fn write(&mut self, mut bytes: &[u8]) -> Result<(), TransportError> {
        let mut deadline = Instant::now() + self.timeouts.write;
        while !bytes.is_empty() {
            match self.file.write(bytes) {
                Ok(0) => return Err(TransportError::io(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    bytes = &bytes[n..];
                    deadline = Instant::now() + self.timeouts.write;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(TransportError::io(io::ErrorKind::TimedOut.into()));
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(TransportError::io(e)),
            }
        }
        Ok(())
    }
}

/// One TCP connection to a network printer.
struct Connection {
    stream: TcpStream,
    timeouts: Timeouts,
}

impl Connection {
    fn open(addr: SocketAddr, timeouts: &Timeouts) -> Result<Self, TransportError> {
        let stream =
            TcpStream::connect_timeout(&addr, timeouts.connect).map_err(TransportError::io)?;
        stream
            .set_write_timeout(Some(timeouts.write))
            .and_then(|()| stream.set_read_timeout(Some(Duration::from_millis(20))))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(TransportError::io)?;
        Ok(Self {
            stream,
            timeouts: *timeouts,
        })
    }

    fn status(&mut self) -> PrinterStatus {
        if let Err(e) = self.write(&status_requests()) {
            return e.status();
        }
        read_answers(&mut self.stream, Instant::now() + self.timeouts.status).status()
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(TransportError::io)
    }

    /// Closes the sending side and reads what is left, briefly, so the
    /// connection ends with a FIN rather than a reset that could drop the
    /// job's last bytes.
    fn finish(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut buffer = [0u8; 64];
        while Instant::now() < deadline {
            match self.stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
    }
}
