//! A network printer on a loopback port: it records every byte it is sent,
//! one job per connection, and answers `DLE EOT n` in the state a test set
//! (ready, paper out, cover open, ...), as a real printer does at once and
//! even while offline. A silent mode answers nothing, like printers that
//! ignore status requests.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::escpos::{DLE, EOT};
use crate::status::{PrinterStatus, StatusBytes};

/// What the virtual printer holds, shared with its threads.
#[derive(Debug)]
struct Shared {
    status: PrinterStatus,
    silent: bool,
    /// Every byte received, status requests included, in arrival order.
    received: Vec<u8>,
    /// Each connection's bytes with status requests taken out, for the
    /// connections that sent more than status requests.
    jobs: Vec<Vec<u8>>,
    status_requests: usize,
}

/// A TCP printer on 127.0.0.1, on a port the system picked. Stops when
/// dropped.
#[derive(Debug)]
pub struct VirtualNetworkPrinter {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl VirtualNetworkPrinter {
    /// Starts listening on 127.0.0.1, port 0, ready and answering status.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            status: PrinterStatus::Ready,
            silent: false,
            received: Vec::new(),
            jobs: Vec::new(),
            status_requests: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name("virtual-printer".into())
                .spawn(move || accept_loop(&listener, &shared, &stop))?
        };
        Ok(Self {
            addr,
            shared,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    /// Where to connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state the printer answers status requests with from now on.
    pub fn set_status(&self, status: PrinterStatus) {
        lock(&self.shared).status = status;
    }

    /// Answer no status request at all (true), or answer them (false).
    pub fn set_silent(&self, silent: bool) {
        lock(&self.shared).silent = silent;
    }

    /// Every byte received so far, status requests included.
    pub fn received(&self) -> Vec<u8> {
        lock(&self.shared).received.clone()
    }

    /// The jobs printed so far: each connection's bytes without its status
    /// requests, for connections that sent anything else.
    pub fn jobs(&self) -> Vec<Vec<u8>> {
        lock(&self.shared).jobs.clone()
    }

    /// How many status requests were answered or ignored.
    pub fn status_requests(&self) -> usize {
        lock(&self.shared).status_requests
    }
}

impl Drop for VirtualNetworkPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Mutex<Shared>>, stop: &Arc<AtomicBool>) {
    let mut connections = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(shared);
                let stop = Arc::clone(stop);
                let spawned = thread::Builder::new()
                    .name("virtual-printer-connection".into())
                    .spawn(move || serve(stream, &shared, &stop));
                if let Ok(handle) = spawned {
                    connections.push(handle);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// One connection: read until the client closes, answering status requests
/// as they arrive (also when split across reads).
fn serve(mut stream: TcpStream, shared: &Mutex<Shared>, stop: &AtomicBool) {
    if stream.set_nonblocking(false).is_err()
        || stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .is_err()
    {
        return;
    }
    let mut job = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                let chunk = &buffer[..n];
                lock(shared).received.extend_from_slice(chunk);
                for &byte in chunk {
                    pending.push(byte);
                    match pending.as_slice() {
                        [DLE] | [DLE, EOT] => continue,
                        [DLE, EOT, n] => {
                            let n = *n;
                            pending.clear();
                            let answer = {
                                let mut state = lock(shared);
                                state.status_requests += 1;
                                let bytes = StatusBytes::answering(state.status);
                                if state.silent { None } else { bytes.answer(n) }
                            };
                            if let Some(answer) = answer
                                && stream.write_all(&[answer]).is_err()
                            {
                                return;
                            }
                        }
                        _ => job.append(&mut pending),
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    job.append(&mut pending);
    if !job.is_empty() {
        lock(shared).jobs.push(job);
    }
}
