//! A faulty network between terminals and head office, for the sync tests
//! and the sync bench: a loopback TCP proxy on a port chosen at run time
//! that forwards each connection to head office and injects faults.
//!
//! - Partitions, switched at any moment ([`FaultProxy::partition`]):
//!   `Refused` (every connection, open or new, reset at once: the client
//!   sees its connection refused or reset) and `BlackHole` (nothing moves
//!   in either direction, new connections hang, until the partition lifts,
//!   as when packets are dropped and retransmitted; a request may time out).
//! - Faults per exchange (one HTTP request and its answer), drawn at the
//!   request's first bytes ([`ExchangeFaults`]): the request dropped before
//!   it is forwarded, the connection dropped after head office answered and
//!   before the answer reaches the terminal (it committed), the request sent
//!   twice, a delay, a reset, the answer truncated.
//! - A hold ([`FaultProxy::arm_hold`]): the next `200` answer to an upload is
//!   kept from the terminal and reported, so a test can kill the terminal
//!   between head office's answer and the terminal recording the ack.
//!
//! Requests are told apart by bytes alone (HTTP/1.1 over plain TCP): a
//! request starts with the first client bytes after the previous answer
//! began, its first line names the method and path, and an answer's first
//! bytes carry its status line.
#![allow(dead_code, reason = "each user takes part of the helpers")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// A fault injected into one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The request is dropped (connection reset) before it is forwarded.
    DropRequest,
    /// Head office answered (and committed); the connection is reset
    /// before the answer reaches the terminal.
    DropResponseAfterCommit,
    /// The request reaches head office twice (the second copy after the
    /// first was answered, as a retransmission would).
    Duplicate,
    /// The request waits up to 300 ms before it is forwarded.
    Delay,
    /// The connection is reset after up to 20 ms, nothing forwarded.
    Reset,
    /// Half of the answer's first bytes reach the terminal, then a reset.
    Truncate,
}

impl Fault {
    /// Every fault.
    pub const ALL: &'static [Fault] = &[
        Fault::DropRequest,
        Fault::DropResponseAfterCommit,
        Fault::Duplicate,
        Fault::Delay,
        Fault::Reset,
        Fault::Truncate,
    ];
}

/// A partition between the terminal and head office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Partition {
    /// Every connection reset at once, new ones included.
    Refused,
    /// Nothing moves until the partition lifts.
    BlackHole,
}

/// Which faults exchanges get.
#[derive(Debug, Clone, Copy)]
pub struct ExchangeFaults {
    /// Percent of exchanges that get a fault (0 to 100).
    pub percent: u64,
    /// The faults drawn from, equally likely.
    pub kinds: &'static [Fault],
}

impl ExchangeFaults {
    /// No fault.
    pub const NONE: ExchangeFaults = ExchangeFaults {
        percent: 0,
        kinds: &[],
    };
}

/// A kept answer: `held` fires when an upload's `200` is held; dropping
/// this releases it (the connection is reset, the answer never delivered).
pub struct Hold {
    /// Fires once the answer is held.
    pub held: oneshot::Receiver<()>,
    _release: oneshot::Sender<()>,
}

struct Armed {
    held: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

struct Inner {
    upstream: SocketAddr,
    rng: Mutex<u64>,
    faults: Mutex<ExchangeFaults>,
    partition: watch::Sender<Option<Partition>>,
    injected: Mutex<BTreeMap<Fault, u64>>,
    partitions: Mutex<BTreeMap<Partition, u64>>,
    exchanges: AtomicU64,
    uploads_in_flight: AtomicI64,
    holds: AtomicU64,
    armed: Mutex<Option<Armed>>,
}

/// The proxy: listening on [`FaultProxy::url`], forwarding to head office.
pub struct FaultProxy {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl FaultProxy {
    /// A proxy to `upstream` on a free loopback port, faults drawn from
    /// `seed`, serving for as long as the runtime runs.
    pub async fn start(upstream: SocketAddr, faults: ExchangeFaults, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (partition, _) = watch::channel(None);
        let inner = Arc::new(Inner {
            upstream,
            rng: Mutex::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            faults: Mutex::new(faults),
            partition,
            injected: Mutex::new(BTreeMap::new()),
            partitions: Mutex::new(BTreeMap::new()),
            exchanges: AtomicU64::new(0),
            uploads_in_flight: AtomicI64::new(0),
            holds: AtomicU64::new(0),
            armed: Mutex::new(None),
        });
        tokio::spawn(accept_loop(inner.clone(), listener));
        FaultProxy { inner, addr }
    }

    /// The proxy's base URL, for a terminal's uplink.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts (`Some`) or lifts (`None`) a partition.
    pub fn partition(&self, partition: Option<Partition>) {
        if let Some(kind) = partition {
            *self
                .inner
                .partitions
                .lock()
                .unwrap()
                .entry(kind)
                .or_default() += 1;
        }
        self.inner.partition.send_replace(partition);
    }

    /// Changes the faults of the exchanges from now on.
    pub fn set_faults(&self, faults: ExchangeFaults) {
        *self.inner.faults.lock().unwrap() = faults;
    }

    /// Heals: no partition, no fault.
    pub fn heal(&self) {
        self.partition(None);
        self.set_faults(ExchangeFaults::NONE);
    }

    /// Random partitions until `stop` turns true (then healed): open for
    /// `open` (a random length within), then partitioned for `closed`,
    /// each partition refused or black hole at random.
    pub async fn partition_randomly(
        &self,
        open: std::ops::Range<Duration>,
        closed: std::ops::Range<Duration>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut partitioned = false;
        loop {
            let span = if partitioned { &closed } else { &open };
            let pause = span.start + (span.end - span.start).mul_f64(self.inner.unit());
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                self.partition(None);
                return;
            }
            partitioned = !partitioned;
            self.partition(partitioned.then(|| {
                if self.inner.roll(2) == 0 {
                    Partition::Refused
                } else {
                    Partition::BlackHole
                }
            }));
        }
    }

    /// Holds the next `200` answer to an upload (see [`Hold`]).
    pub fn arm_hold(&self) -> Hold {
        let (held_tx, held) = oneshot::channel();
        let (release, release_rx) = oneshot::channel();
        *self.inner.armed.lock().unwrap() = Some(Armed {
            held: held_tx,
            release: release_rx,
        });
        Hold {
            held,
            _release: release,
        }
    }

    /// Disarms a hold that was not used.
    pub fn disarm(&self) {
        self.inner.armed.lock().unwrap().take();
    }

    /// Faults injected so far, by kind.
    pub fn injected(&self) -> BTreeMap<Fault, u64> {
        self.inner.injected.lock().unwrap().clone()
    }

    /// Partitions started so far, by kind.
    pub fn partitions(&self) -> BTreeMap<Partition, u64> {
        self.inner.partitions.lock().unwrap().clone()
    }

    /// Exchanges seen so far (requests begun).
    pub fn exchanges(&self) -> u64 {
        self.inner.exchanges.load(Ordering::Relaxed)
    }

    /// Upload answers held so far.
    pub fn holds(&self) -> u64 {
        self.inner.holds.load(Ordering::Relaxed)
    }

    /// Whether an upload is on its way (its request begun, its answer not
    /// yet begun) at this instant.
    pub fn upload_in_flight(&self) -> bool {
        self.inner.uploads_in_flight.load(Ordering::SeqCst) > 0
    }
}

impl Inner {
    fn roll(&self, n: u64) -> u64 {
        let mut state = self.rng.lock().unwrap();
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state % n.max(1)
    }

    fn unit(&self) -> f64 {
        self.roll(1 << 30) as f64 / f64::from(1u32 << 30)
    }

    fn pick(&self) -> Option<Fault> {
        let faults = *self.faults.lock().unwrap();
        if faults.kinds.is_empty() || self.roll(100) >= faults.percent {
            return None;
        }
        let fault = faults.kinds[self.roll(faults.kinds.len() as u64) as usize];
        *self.injected.lock().unwrap().entry(fault).or_default() += 1;
        Some(fault)
    }
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if *inner.partition.borrow() == Some(Partition::Refused) {
            reset(client);
            continue;
        }
        tokio::spawn(connection(inner.clone(), client));
    }
}

/// Closes with a reset (no orderly shutdown).
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Waits while a black hole lasts: whether the connection may go on (not
/// refused meanwhile).
async fn through(partition: &mut watch::Receiver<Option<Partition>>) -> bool {
    loop {
        let now = *partition.borrow_and_update();
        match now {
            None => return true,
            Some(Partition::Refused) => return false,
            Some(Partition::BlackHole) => {
                if partition.changed().await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// One exchange on a connection.
struct Exchange {
    fault: Option<Fault>,
    upload: bool,
    answered: bool,
    request: Vec<u8>,
}

/// Leaves the in-flight count when an upload's exchange ends, however.
struct InFlight<'a>(&'a Inner, bool);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.uploads_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl InFlight<'_> {
    fn enter(&mut self) {
        if !self.1 {
            self.1 = true;
            self.0.uploads_in_flight.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn leave(&mut self) {
        if self.1 {
            self.1 = false;
            self.0.uploads_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

async fn connection(inner: Arc<Inner>, mut client: TcpStream) {
    let mut partition = inner.partition.subscribe();
    if !through(&mut partition).await {
        return reset(client);
    }
    let Ok(mut upstream) = TcpStream::connect(inner.upstream).await else {
        return reset(client);
    };
    let mut in_flight = InFlight(&inner, false);
    let mut exchange: Option<Exchange> = None;
    let mut from_client = vec![0u8; 64 << 10];
    let mut from_upstream = vec![0u8; 64 << 10];
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => {
                let n = match read { Ok(0) | Err(_) => break, Ok(n) => n };
                if !through(&mut partition).await {
                    break;
                }
                let chunk = &from_client[..n];
                if exchange.as_ref().is_none_or(|e| e.answered) {
                    inner.exchanges.fetch_add(1, Ordering::Relaxed);
                    let upload = chunk.starts_with(b"POST /v1/batches");
                    let fault = inner.pick();
                    exchange = Some(Exchange { fault, upload, answered: false, request: Vec::new() });
                    if upload {
                        in_flight.enter();
                    }
                    match fault {
                        Some(Fault::DropRequest) => break,
                        Some(Fault::Reset) => {
                            tokio::time::sleep(Duration::from_millis(inner.roll(20))).await;
                            break;
                        }
                        Some(Fault::Delay) => {
                            tokio::time::sleep(Duration::from_millis(inner.roll(300))).await;
                        }
                        _ => {}
                    }
                }
                if let Some(e) = exchange.as_mut().filter(|e| e.fault == Some(Fault::Duplicate)) {
                    e.request.extend_from_slice(chunk);
                }
                if upstream.write_all(chunk).await.is_err() {
                    break;
                }
            }
            read = upstream.read(&mut from_upstream) => {
                let n = match read { Ok(0) | Err(_) => break, Ok(n) => n };
                if !through(&mut partition).await {
                    break;
                }
                let chunk = &from_upstream[..n];
                if let Some(e) = exchange.as_mut().filter(|e| !e.answered) {
                    e.answered = true;
                    in_flight.leave();
                    if e.upload && chunk.starts_with(b"HTTP/1.1 200") {
                        let armed = inner.armed.lock().unwrap().take();
                        if let Some(armed) = armed {
                            inner.holds.fetch_add(1, Ordering::Relaxed);
                            let _ = armed.held.send(());
                            let _ = armed.release.await;
                            break;
                        }
                    }
                    match e.fault {
                        Some(Fault::DropResponseAfterCommit) => break,
                        Some(Fault::Truncate) => {
                            let _ = client.write_all(&chunk[..n / 2]).await;
                            break;
                        }
                        Some(Fault::Duplicate) => {
                            tokio::spawn(replay(inner.upstream, std::mem::take(&mut e.request)));
                        }
                        _ => {}
                    }
                }
                if client.write_all(chunk).await.is_err() {
                    break;
                }
            }
            changed = partition.changed() => {
                if changed.is_err() || *partition.borrow() == Some(Partition::Refused) {
                    break;
                }
            }
        }
    }
    drop(in_flight);
    reset(client);
    reset(upstream);
}

/// Sends a request again on a connection of its own; its answer is read
/// (head office finishes it) and thrown away.
async fn replay(upstream: SocketAddr, request: Vec<u8>) {
    let Ok(mut stream) = TcpStream::connect(upstream).await else {
        return;
    };
    if stream.write_all(&request).await.is_err() {
        return;
    }
    let mut answer = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await;
}
