//! A fleet of real terminals for the sync tests and bench: each its own
//! store (cashier `c1`, manager `m1`, members enrolled and topped up),
//! provisioned with one head office, its uplink running through its own
//! [`FaultProxy`]; cashiers that ring up sales, top-ups and refunds on
//! random members until told to stop; the wait until every queue is empty.
//! Included by `#[path]` beside `util/sync.rs` (as `sync_util`),
//! `util/fault_proxy.rs` (as `fault_proxy`) and `util/set_check.rs` (as
//! `set_check`).
#![allow(dead_code, reason = "each user takes part of the helpers")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tillcard::clock::Clock;
use tillcard::rules::booking::TopUp;
use tillcard::rules::pricing::{Basket, BasketLine, StoredValueRequest, TenderRequest};
use tillcard::rules::refund::RefundLine;
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::rules::{MemberId, Money};
use tillcard::store::StoreError;
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tillcard_hq::service::Hq;
use tokio::sync::watch;

use crate::fault_proxy::{ExchangeFaults, FaultProxy};
use crate::set_check::Committed;
use crate::sync_util::terminal_with_cashier;

/// One terminal of the fleet.
pub struct FleetTerminal {
    /// Keeps the store's directory.
    pub dir: tempfile::TempDir,
    /// The store.
    pub handle: StoreHandle,
    /// Its members (enrolled here, topped up).
    pub members: Vec<MemberId>,
    /// Its uplink's status.
    pub status: watch::Receiver<UplinkStatus>,
    /// Its own proxy to head office.
    pub proxy: Arc<FaultProxy>,
}

impl FleetTerminal {
    /// What this terminal committed (read from its store file).
    pub fn committed(&self) -> Committed {
        crate::set_check::committed(&self.dir.path().join("terminal.sqlite"))
    }
}

/// Terminals syncing with one head office, each through its own proxy.
pub struct Fleet {
    /// The terminals.
    pub terminals: Vec<FleetTerminal>,
    stop_uplinks: watch::Sender<bool>,
    uplinks: Vec<tokio::task::JoinHandle<()>>,
}

/// What the cashiers rang up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Activity {
    /// Sales committed.
    pub sales: u64,
    /// Top-ups committed.
    pub top_ups: u64,
    /// Refunds committed.
    pub refunds: u64,
}

/// The uplink of a fleet terminal: production's (`UplinkConfig::new`:
/// batch size, request timeout, backoff from 0.5 s up to 60 s, idle poll),
/// nothing shortened, so the heal is measured as a till would see it.
pub fn fleet_uplink_config(url: String) -> UplinkConfig {
    UplinkConfig {
        saved_files: None,
        ..UplinkConfig::new(url)
    }
}

impl Fleet {
    /// `terminals` terminals with `members` members each, provisioned with
    /// `hq` (served at `hq_addr`), each uplink through a proxy with
    /// `faults` (seeded from `seed`).
    pub async fn start(
        hq: &Arc<Hq>,
        hq_addr: SocketAddr,
        terminals: usize,
        members: u32,
        faults: ExchangeFaults,
        seed: u64,
        clock: Arc<dyn Clock>,
    ) -> Fleet {
        let (stop_uplinks, shutdown) = watch::channel(false);
        let mut fleet = Fleet {
            terminals: Vec::new(),
            stop_uplinks,
            uplinks: Vec::new(),
        };
        for t in 0..terminals {
            let dir = tempfile::tempdir().unwrap();
            let handle = terminal_with_cashier(dir.path(), format!("T-{t}"), clock.clone());
            let code = hq.issue_code(&format!("store-{t}")).await.unwrap();
            provision(&handle, &format!("http://{hq_addr}"), &code, None, None)
                .await
                .unwrap();
            let members = {
                let handle = handle.clone();
                tokio::task::spawn_blocking(move || {
                    handle
                        .call(move |s| {
                            s.add_clerk("m1", "Manager", Role::Manager, "738162")?;
                            let clerk = s.login("c1", "3817")?;
                            let mut ids = Vec::new();
                            for n in 0..members {
                                let request = EnrollRequest {
                                    phone: format!("13{:03}{n:06}", t),
                                    name: None,
                                    birthday: None,
                                    consent: true,
                                    referred_by: None,
                                };
                                let id = s.enroll(&clerk, &request)?.member.id;
                                s.top_up(&clerk, id, &TopUp::Package("1000+150".into()))?;
                                ids.push(id);
                            }
                            Ok(ids)
                        })
                        .unwrap()
                })
                .await
                .unwrap()
            };
            let proxy = Arc::new(FaultProxy::start(hq_addr, faults, seed ^ (t as u64 + 1)).await);
            let (status_tx, status) = watch::channel(UplinkStatus::default());
            let uplink = Uplink::new(
                handle.clone(),
                clock.clone(),
                fleet_uplink_config(proxy.url()),
                status_tx,
            )
            .unwrap();
            fleet
                .uplinks
                .push(tokio::spawn(uplink.run(shutdown.clone())));
            fleet.terminals.push(FleetTerminal {
                dir,
                handle,
                members,
                status,
                proxy,
            });
        }
        fleet
    }

    /// Every terminal's cashier rings up actions (about one every `pace`)
    /// on random members until `stop` is set: what they committed.
    pub async fn ring_up(&self, pace: Duration, seed: u64, stop: Arc<AtomicBool>) -> Activity {
        let mut cashiers = Vec::new();
        for (t, terminal) in self.terminals.iter().enumerate() {
            let handle = terminal.handle.clone();
            let members = terminal.members.clone();
            let status = terminal.status.clone();
            let stop = stop.clone();
            cashiers.push(tokio::task::spawn_blocking(move || {
                cashier(
                    &handle,
                    &members,
                    &status,
                    pace,
                    seed ^ (t as u64 + 1),
                    &stop,
                )
            }));
        }
        let mut total = Activity::default();
        for cashier in cashiers {
            let done = cashier.await.unwrap();
            total.sales += done.sales;
            total.top_ups += done.top_ups;
            total.refunds += done.refunds;
        }
        total
    }

    /// Waits until every terminal's queue is empty (every event
    /// acknowledged), at most `limit`: how long it took, or `None`.
    pub async fn drained_within(&self, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        loop {
            let mut pending = 0;
            for terminal in &self.terminals {
                let handle = terminal.handle.clone();
                pending += tokio::task::spawn_blocking(move || {
                    handle.call(|s| s.outbox_status()).unwrap().pending
                })
                .await
                .unwrap();
            }
            if pending == 0 {
                return Some(started.elapsed());
            }
            if started.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops every uplink (each finishes its round first).
    pub async fn stop(&mut self) {
        let _ = self.stop_uplinks.send(true);
        for uplink in self.uplinks.drain(..) {
            uplink.await.unwrap();
        }
    }
}

/// One cashier's loop: 8 in 10 sales (some walk-ins, some paying with
/// stored value or points, priced offline while the uplink is offline),
/// 1 in 10 a top-up, 1 in 10 a refund of one line of a recent sale.
fn cashier(
    handle: &StoreHandle,
    members: &[MemberId],
    status: &watch::Receiver<UplinkStatus>,
    pace: Duration,
    seed: u64,
    stop: &AtomicBool,
) -> Activity {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut done = Activity::default();
    let (clerk, approval) = handle
        .call(|s| Ok((s.login("c1", "3817")?, s.approve("m1", "738162")?)))
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        let member = members[rng.below(members.len())];
        let offline = !status.borrow().online;
        let roll = rng.below(10);
        let pick = rng.next_u64();
        let clerk = clerk.clone();
        let approval = approval.clone();
        let outcome = handle.call(move |s| {
            match roll {
                0..=7 => {
                    let lines = 1 + (pick % 3) as usize;
                    let basket = Basket {
                        lines: (0..lines)
                            .map(|i| BasketLine {
                                sku: format!("sku{}", (pick >> 8) as usize % 20 + i),
                                name: "item".into(),
                                category: "grocery".into(),
                                quantity: 1 + ((pick >> 16) % 3) as i64,
                                unit_price: Money::from_fen(300 + ((pick >> 24) % 4000) as i64),
                                list_price: None,
                            })
                            .collect(),
                    };
                    let tender = TenderRequest {
                        coupons: Vec::new(),
                        redeem_points: if pick.is_multiple_of(5) { 100 } else { 0 },
                        stored_value: if (pick >> 40).is_multiple_of(3) {
                            StoredValueRequest::AsMuchAsPossible
                        } else {
                            StoredValueRequest::None
                        },
                    };
                    let walk_in = (pick >> 48).is_multiple_of(10);
                    let quote = s.price((!walk_in).then_some(member), &basket, &tender, offline)?;
                    s.commit_sale(
                        &clerk,
                        &quote,
                        &Payment::single(TenderKind::Cash, quote.amount_due),
                    )?;
                    Ok(0)
                }
                8 => {
                    s.top_up(&clerk, member, &TopUp::Package("500+50".into()))?;
                    Ok(1)
                }
                _ => {
                    let sales = s.recent_sales(20)?;
                    if sales.is_empty() {
                        return Ok(3);
                    }
                    let sale = sales[pick as usize % sales.len()].sale;
                    let quote = s.sale(sale)?;
                    let line = (pick >> 8) as usize % quote.lines.len();
                    match s.refund(&clerk, &approval, sale, &[RefundLine { line, quantity: 1 }]) {
                        Ok(_) => Ok(2),
                        // Already refunded in full: nothing to book.
                        Err(StoreError::Refund(_)) => Ok(3),
                        Err(other) => Err(other),
                    }
                }
            }
        });
        match outcome.unwrap() {
            0 => done.sales += 1,
            1 => done.top_ups += 1,
            2 => done.refunds += 1,
            _ => {}
        }
        std::thread::sleep(pace.mul_f64(0.5 + rng.below(1000) as f64 / 1000.0));
    }
    done
}

/// xorshift64*: small, seeded.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
