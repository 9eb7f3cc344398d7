//! The running terminal: the store on its thread, the scan pipeline on its
//! thread, the camera (or a folder of images) on its thread, the uplink on a
//! tokio runtime, and sounds. [`Terminal::run`] executes a counter
//! [`Command`] without waiting: the answer arrives later through the
//! [`Sink`] as an [`Input`], so the UI thread never blocks on any of them.
//! Frames from a folder or the camera are started in `camera`;
//! registration and a clerk's PIN set-up talk to head office in
//! `head_office`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tillcard_rules::pricing::Quote;
use tillcard_rules::{MemberId, SourceId};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::TerminalConfig;
use crate::counter::checkout::{PriceAsk, Priced, price_checkout};
use crate::counter::member::MemberSnapshot;
use crate::counter::messages::{ReturnDone, ScannedReceipt, ShiftPreview};
use crate::counter::{ClerkEntry, Command, Done, EnrollDone, Input, SaleDone};
use crate::saved_files::SavedFiles;
use crate::scan::credential::CardVerifier;
use crate::scan::decode::CombinedDecoder;
use crate::scan::file_source::load_luma;
use crate::scan::frame::LumaFrame;
use crate::scan::outcome::ScanOutcome;
use crate::scan::pipeline::{PipelineConfig, PipelineParts, ScanPipeline};
use crate::store::handle::StoreHandle;
use crate::store::{Store, StoreError};
use crate::store_key::KeyVault;
use crate::uplink::{Uplink, UplinkConfig, UplinkStatus};

mod camera;
mod head_office;
mod printer;
pub mod screens;

pub use camera::preview_frame;

/// Where answers go: the UI adapter pushes them onto its queue and wakes its
/// event loop; tests collect them.
pub type Sink = Arc<dyn Fn(Input) + Send + Sync>;

/// Where camera frames for the live preview go (already downscaled).
pub type PreviewSink = Arc<dyn Fn(LumaFrame) + Send + Sync>;

/// Why the terminal could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The folder of images configured instead of a camera cannot be read.
    #[error("cannot read the frames folder {path}: {source}")]
    Frames {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store refused to open (damaged, too new, disk...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store key could not be unsealed, or does not open the store.
    #[error(transparent)]
    SealedStore(#[from] crate::sealed_store::SealedStoreError),
    /// The printer settings cannot be used.
    #[error("{0}")]
    Printer(String),
    /// A thread or the async runtime could not start.
    #[error("cannot start a worker thread: {0}")]
    Thread(#[from] std::io::Error),
}

struct UplinkTask {
    wake: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// An uplink of its own for fetching members on demand beside the
    /// running rounds (it shares the store, not the round's state).
    fetcher: Arc<Uplink>,
}

/// The running terminal.
pub struct Terminal {
    config: TerminalConfig,
    clock: Arc<dyn Clock>,
    store: StoreHandle,
    sink: Sink,
    pipeline: Arc<ScanPipeline>,
    verifier: Arc<RwLock<CardVerifier>>,
    runtime: tokio::runtime::Runtime,
    uplink: Mutex<Option<UplinkTask>>,
    stop: Arc<AtomicBool>,
    sounds: crate::sound::Sounds,
    /// Head office's address, read once at start and updated when the
    /// terminal is registered from the settings screen, so no caller reads
    /// the file (the UI thread asks for it).
    head_office: Arc<Mutex<Option<String>>>,
    /// Whether the store held head office's credentials at start.
    registered_at_start: bool,
    /// The sealed store key (a registration replaces it).
    vault: Arc<KeyVault>,
    /// The receipt printer, when one is configured.
    printer: Option<printer::Printer>,
    /// The scale labels this store's scales print, when they are read
    /// (checked when the configuration was read).
    scale_labels: Option<tillcard_rules::catalog::ScaleLabelFormat>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("data_dir", &self.config.data_dir)
            .finish_non_exhaustive()
    }
}

/// The demo card images, sorted by name.
pub fn demo_card_paths() -> Vec<PathBuf> {
    let dir = crate::assets::assets_dir().join("demo-cards");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| crate::scan::file_source::is_image_path(p))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
}

fn snapshot(store: &Store, member: MemberId) -> Result<Option<MemberSnapshot>, StoreError> {
    let Some(record) = store.find_member(member)? else {
        return Ok(None);
    };
    // `record.id`, not `member`: an account merged at head office is
    // served as its survivor.
    Ok(Some(MemberSnapshot {
        account: store.account(record.id)?,
        program: store.program()?,
        at: store.clock().now(),
        record,
        new_card: None,
    }))
}

fn snapshot_of(store: &Store, member: MemberId) -> Result<MemberSnapshot, StoreError> {
    snapshot(store, member)?.ok_or(StoreError::UnknownMember)
}

/// A scanned receipt code verified, with its lines' catalog items and its
/// member as this till holds them: what the return screen shows.
fn scanned_receipt(store: &mut Store, text: &str) -> Result<ScannedReceipt, StoreError> {
    let receipt = store.verify_receipt(text)?;
    let mut items = Vec::with_capacity(receipt.summary.lines.len());
    for line in &receipt.summary.lines {
        items.push(store.item_by_sku(&line.sku)?);
    }
    let member = match receipt.summary.member {
        Some(member) => store.find_member(member)?,
        None => None,
    };
    Ok(ScannedReceipt {
        receipt,
        items,
        member,
    })
}

fn price(store: &Store, ask: &PriceAsk) -> Result<Priced, StoreError> {
    let program = store.program()?;
    let (coupons, points) = match ask.member {
        Some(id) => {
            let account = store.account(id)?;
            let now = store.clock().now();
            (
                account.usable_coupons(now).cloned().collect(),
                account.points_available(now),
            )
        }
        None => (Vec::new(), 0),
    };
    price_checkout(ask, &coupons, points, program.redemption.step, |tender| {
        store.price(ask.member, &ask.basket, tender, ask.offline)
    })
}

impl Terminal {
    /// Opens the store (seeding the demo when configured), starts the scan
    /// pipeline, the frame source and, when head office is configured, the
    /// uplink. Answers and events go to `sink`.
    pub fn start(
        config: TerminalConfig,
        clock: Arc<dyn Clock>,
        sink: Sink,
        preview: Option<PreviewSink>,
    ) -> Result<Terminal, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        // Everything reads head office's time once heard (issue 22).
        let corrected = crate::server_time::CorrectedClock::new(clock);
        let clock: Arc<dyn Clock> = corrected.clone();
        let (mut store, vault) = crate::sealed_store::open(
            &config,
            clock.clone(),
            crate::store::PinHashCost::PRODUCTION,
        )?;
        if let Some(offset_ms) = store.clock_offset()? {
            corrected.restore_offset(offset_ms);
        }
        if config.demo {
            crate::demo::seed(&mut store)?;
        }
        // Files of members erased before a stop that came too early.
        SavedFiles::of(&config).delete_erased(&mut store)?;
        let registered_at_start = store.credentials().is_some();
        let verifier = Arc::new(RwLock::new(store.card_verifier()?));
        let reader = store.reader()?;
        let (pipeline, events) = ScanPipeline::spawn(PipelineParts {
            decoder: Box::new(CombinedDecoder::default()),
            verifier: verifier.clone(),
            directory: Box::new(reader),
            barcodes: Some(crate::scan::decode::barcode::BarcodeDecoder::default()),
            config: PipelineConfig::default(),
        })?;
        let pipeline = Arc::new(pipeline);
        {
            let sink = sink.clone();
            std::thread::Builder::new()
                .name("scan-events".into())
                .spawn(move || {
                    for event in events {
                        sink(match event.outcome {
                            ScanOutcome::Item(code) => Input::ItemScanned(code),
                            outcome => Input::Scanned(outcome),
                        });
                    }
                })?;
        }
        let printer = printer::start(&config, store.terminal_id(), sink.clone())?;
        let handle = StoreHandle::spawn(store)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tillcard-uplink")
            .enable_all()
            .build()?;
        let config_sound = config.sound;
        let head_office = config.head_office_url().map(str::to_owned).or_else(|| {
            std::fs::read_to_string(registered_url_path(&config))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        });
        let scale_labels = config.scale_labels.format().ok().flatten();
        let terminal = Terminal {
            config,
            clock,
            store: handle,
            sink,
            pipeline,
            verifier,
            runtime,
            uplink: Mutex::new(None),
            stop: Arc::new(AtomicBool::new(false)),
            sounds: if config_sound {
                crate::sound::Sounds::open()
            } else {
                crate::sound::Sounds::silent()
            },
            head_office: Arc::new(Mutex::new(head_office)),
            registered_at_start,
            vault,
            printer,
            scale_labels,
        };
        terminal.start_frames(preview)?;
        if let Some(url) = terminal.head_office_url() {
            terminal.start_uplink(url);
        }
        Ok(terminal)
    }

    /// Head office's address: the configuration's, else the one this
    /// terminal was registered with from the settings screen.
    pub fn head_office_url(&self) -> Option<String> {
        self.head_office
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the terminal was registered with head office when it
    /// started (the first-run screen starts at the right step).
    pub fn registered_at_start(&self) -> bool {
        self.registered_at_start
    }

    /// The store's handle (tests and tools).
    pub fn store(&self) -> &StoreHandle {
        &self.store
    }

    /// The configuration in force.
    pub fn config(&self) -> &TerminalConfig {
        &self.config
    }

    fn start_uplink(&self, url: String) {
        let mut slot = self.uplink.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return;
        }
        let (status_tx, mut status_rx) = watch::channel(UplinkStatus::default());
        let (wake, shutdown) = watch::channel(false);
        let config = UplinkConfig {
            saved_files: Some(SavedFiles::of(&self.config)),
            outbox_retention: self.config.head_office.outbox_retention(),
            ..UplinkConfig::new(url)
        };
        let made = Uplink::new(
            self.store.clone(),
            self.clock.clone(),
            config.clone(),
            status_tx,
        )
        .and_then(|uplink| {
            let fetcher = Uplink::new(
                self.store.clone(),
                self.clock.clone(),
                config,
                watch::channel(UplinkStatus::default()).0,
            )?;
            Ok((uplink, Arc::new(fetcher)))
        });
        let (uplink, fetcher) = match made {
            Ok(u) => u,
            Err(e) => {
                (self.sink)(Input::Status(UplinkStatus {
                    last_error: Some(crate::uplink::UplinkProblem::Terminal(e.to_string())),
                    ..UplinkStatus::default()
                }));
                return;
            }
        };
        let task = self.runtime.spawn(uplink.run(shutdown));
        let sink = self.sink.clone();
        let store = self.store.clone();
        let verifier = self.verifier.clone();
        self.runtime.spawn(async move {
            while status_rx.changed().await.is_ok() {
                let status = status_rx.borrow_and_update().clone();
                if status.online {
                    // Head office may have sent keys or revocations.
                    let verifier = verifier.clone();
                    let _ = store.submit(Store::card_verifier, move |fresh| {
                        if let Ok(fresh) = fresh {
                            *verifier.write().unwrap_or_else(PoisonError::into_inner) = fresh;
                        }
                    });
                }
                sink(Input::Status(status));
            }
        });
        *slot = Some(UplinkTask {
            wake,
            task,
            fetcher,
        });
    }

    /// Calls `then` once when the process is asked to stop (SIGTERM, or
    /// Ctrl-C): the app closes its window, which shuts the terminal down
    /// with the uplink's round in flight finished first.
    pub fn on_terminate(&self, then: impl FnOnce() + Send + 'static) {
        use tokio::signal::unix::{SignalKind, signal};
        // The handlers are installed here, before this returns, so a signal
        // sent as soon as the app says it is ready is not missed.
        let _runtime = self.runtime.enter();
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        self.runtime.spawn(async move {
            let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(interrupt) => {},
            }
            then();
        });
    }

    /// Feeds one image file to the scan pipeline (a demo card tapped on
    /// screen, or support's "scan this photo").
    pub fn scan_image(&self, path: &Path) {
        let pipeline = self.pipeline.clone();
        let path = path.to_owned();
        let sink = self.sink.clone();
        let spawned = std::thread::Builder::new()
            .name("scan-image".into())
            .spawn(move || match load_luma(&path) {
                Ok(frame) => pipeline.submit(frame),
                Err(_) => sink(Input::Scanned(ScanOutcome::Unreadable)),
            });
        if spawned.is_err() {
            (self.sink)(Input::Scanned(ScanOutcome::Unreadable));
        }
    }

    /// A keyboard-wedge scanner's text.
    pub fn scan_text(&self, text: String) {
        self.pipeline.submit_text(text);
    }

    fn on_store<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        answer: impl FnOnce(Result<R, StoreError>) -> Done + Send + 'static,
    ) {
        let sink = self.sink.clone();
        if let Err(e) = self
            .store
            .submit(job, move |result| sink(Input::Done(answer(result))))
        {
            // The store's thread is gone: say so through the same path.
            (self.sink)(Input::Done(Done::Failed(e)));
        }
    }

    /// Runs `command`; its answer arrives through the sink.
    pub fn run(&self, command: Command) {
        match command {
            Command::LoadClerks => self.on_store(
                |s| {
                    Ok(s.clerk_list()?
                        .into_iter()
                        .map(|c| ClerkEntry {
                            id: c.id,
                            name: c.name,
                            role: c.role,
                            has_pin: c.has_pin,
                        })
                        .collect())
                },
                Done::Clerks,
            ),
            Command::Login { clerk_id, pin } => {
                self.on_store(move |s| s.login(&clerk_id, &pin), Done::LoggedIn);
            }
            Command::Approve { manager_id, pin } => {
                self.on_store(move |s| s.approve(&manager_id, &pin), Done::Approved);
            }
            Command::LiftLockout {
                manager_id,
                pin,
                clerk_id,
            } => {
                self.on_store(
                    move |s| {
                        let approval = s.approve(&manager_id, &pin)?;
                        s.lift_lockout(&approval, &clerk_id)?;
                        Ok(clerk_id)
                    },
                    Done::LockoutLifted,
                );
            }
            Command::OpenMember {
                member,
                unknown_card,
            } => {
                if unknown_card {
                    self.fetch_member(member);
                }
                self.open_member(member, unknown_card);
            }
            Command::FindByPhone { phone } => {
                let files = SavedFiles::of(&self.config);
                self.on_store(
                    move |s| {
                        let Some(record) = s.find_member_by_phone(&phone)? else {
                            return Ok(None);
                        };
                        let Some(mut found) = snapshot(s, record.id)? else {
                            return Ok(None);
                        };
                        // Found by phone, the member may hold only the card
                        // head office revoked: hand them the new one.
                        found.new_card = s.reissued_card(found.id().0)?;
                        if let Some(card) = &found.new_card {
                            files.save_card(&s.files_key(), found.id(), card);
                        }
                        Ok(Some(found))
                    },
                    Done::Member,
                )
            }
            Command::Print {
                receipt,
                open_drawer,
            } => self.print(*receipt, open_drawer),
            Command::LookupItem(code) => {
                let labels = self.scale_labels.clone();
                self.on_store(
                    move |s| s.item_for_scan(&code, labels.as_ref()),
                    |found| match found {
                        Ok(Some((item, Some(grams)))) => Done::LabelItem(item, grams),
                        found => Done::Item(found.map(|f| f.map(|(item, _)| item))),
                    },
                );
            }
            Command::Price(ask) => {
                let request = ask.request;
                self.on_store(move |s| price(s, &ask), move |r| Done::Priced(request, r));
            }
            Command::CommitSale {
                clerk,
                quote,
                payment,
            } => self.on_store(
                move |s| {
                    let receipt = s.commit_sale(&clerk, &quote, &payment)?;
                    let member_after = match quote.member {
                        Some(m) => snapshot(s, m)?,
                        None => None,
                    };
                    // The receipt's signed code, for a return at any store;
                    // a sale too large for one (or a till with no card key
                    // yet) prints its reference instead.
                    let receipt_code = s.receipt_code(receipt.sale, &payment.tenders).ok();
                    Ok(SaleDone {
                        receipt,
                        member_after,
                        receipt_code,
                    })
                },
                Done::SaleCommitted,
            ),
            Command::Enroll { clerk, request } => {
                let files = SavedFiles::of(&self.config);
                self.on_store(
                    move |s| {
                        let enrolled = s.enroll(&clerk, &request)?;
                        let id = enrolled.member.id;
                        let card_text = s.issue_card(id.0, 1)?;
                        let card_png = files.save_card(&s.files_key(), id, &card_text);
                        Ok(EnrollDone {
                            member: snapshot_of(s, id)?,
                            card_text,
                            card_png,
                        })
                    },
                    Done::Enrolled,
                );
            }
            Command::TopUp {
                clerk,
                member,
                top_up,
            } => self.on_store(
                move |s| {
                    s.top_up(&clerk, member, &top_up)?;
                    snapshot_of(s, member)
                },
                Done::ToppedUp,
            ),
            Command::LoadSales => self.on_store(|s| s.recent_sales(8), Done::Sales),
            Command::LoadSale(sale) => self.on_store(
                move |s| -> Result<(SourceId, Quote), StoreError> { Ok((sale, s.sale(sale)?)) },
                Done::Sale,
            ),
            Command::Refund {
                clerk,
                approval,
                sale,
                lines,
            } => self.on_store(
                move |s| s.refund(&clerk, &approval, sale, &lines),
                Done::Refunded,
            ),
            Command::VerifyReceipt(text) => {
                self.on_store(move |s| scanned_receipt(s, &text), Done::ReceiptVerified);
            }
            Command::ReturnFromReceipt {
                clerk,
                approval,
                receipt,
                lines,
            } => self.on_store(
                move |s| {
                    let refund = s.refund_from_receipt(&clerk, &approval, &receipt, &lines)?;
                    Ok(ReturnDone {
                        refund,
                        at: s.clock().now(),
                    })
                },
                Done::ReturnedFromReceipt,
            ),
            Command::Adjust {
                clerk,
                approval,
                member,
                delta,
                reason,
            } => self.on_store(
                move |s| {
                    s.adjust_points(&clerk, &approval, member, delta, &reason)?;
                    snapshot_of(s, member)
                },
                Done::Adjusted,
            ),
            Command::RedeemGift {
                clerk,
                member,
                gift,
            } => self.on_store(
                move |s| {
                    s.redeem_gift(&clerk, member, &gift)?;
                    snapshot_of(s, member)
                },
                Done::GiftRedeemed,
            ),
            Command::SaveReceipt { sale, text } => {
                // Sealed with the store's files key, on the store's thread
                // (which holds the key; a receipt is a few hundred bytes).
                let files = SavedFiles::of(&self.config);
                let sink = self.sink.clone();
                let saved = self.store.submit(
                    move |s| Ok(files.save_receipt(&s.files_key(), &sale.0.to_string(), &text)),
                    move |result| {
                        let result = match result {
                            Ok(Ok(path)) => Ok(path),
                            Ok(Err(e)) => Err(format!("receipt not saved: {e}")),
                            Err(e) => Err(format!("receipt not saved: {e}")),
                        };
                        sink(Input::Done(Done::ReceiptSaved(result)));
                    },
                );
                if let Err(e) = saved {
                    (self.sink)(Input::Done(Done::Failed(e)));
                }
            }
            Command::Provision {
                url,
                code,
                approval,
                pin,
            } => self.provision(url, code, approval, pin),
            Command::SetPin {
                staff_id,
                setup_code,
                pin,
            } => self.set_pin(staff_id, setup_code, pin),
            Command::SyncNow => {
                let slot = self.uplink.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(task) = slot.as_ref() {
                    // The uplink re-checks its shutdown flag on any change
                    // and starts a round at once when it is still false.
                    task.wake.send_replace(false);
                }
            }
            Command::StartSync => {
                if let Some(url) = self.head_office_url() {
                    self.start_uplink(url);
                }
            }
            Command::Play(sound) => self.sounds.play(sound),
            Command::LoadShiftReport => {
                let store_code = self.config.head_office.store.clone();
                self.on_store(
                    move |s| {
                        Ok(ShiftPreview {
                            store: store_code,
                            terminal: s.terminal_id().to_owned(),
                            report: s.shift_report()?,
                        })
                    },
                    Done::ShiftReport,
                );
            }
            Command::CloseShift { clerk } => {
                self.on_store(move |s| s.close_shift(&clerk), Done::ShiftClosed);
            }
            Command::PrintZReport(report) => self.print_z_report(*report),
        }
    }

    /// Stops the threads: the uplink finishes its round in flight first.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        let task = self
            .uplink
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.wake.send_replace(true);
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), task.task).await });
        }
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        if let Ok(pipeline) = Arc::try_unwrap(self.pipeline) {
            pipeline.shutdown();
        }
    }
}

/// Where the head-office address registered from the settings screen is
/// kept (the configuration file may be read-only).
fn registered_url_path(config: &TerminalConfig) -> PathBuf {
    config.data_dir.join("head-office.url")
}
