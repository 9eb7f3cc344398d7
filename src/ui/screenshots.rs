//! Pictures of the real app with no display: Slint's software renderer
//! behind a minimal platform draws the window into memory. Used by
//! `tillcard screenshots DIR` (every screen, both languages, both panel
//! sizes, demo data) and by `tillcard probe-start` (the start-up benchmark).

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use slint::platform::software_renderer::{
    MinimalSoftwareWindow, PremultipliedRgbaColor, RepaintBufferType,
};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize};

use super::{UiApp, Wake};
use crate::clock::{Clock, FakeClock};
use crate::config::TerminalConfig;
use crate::counter::keyboard::{TextField, TextKey};
use crate::counter::keypad::Key;
use crate::counter::messages::{ClerkEntry, Done, FirstRunStep};
use crate::counter::{Action, Counter, Input, Page};
use crate::format::Language;
use crate::store::clerks::Role;

/// Every window the app creates (the counter's, and the customer
/// display's when it is on) gets its own buffer in memory.
#[derive(Clone, Default)]
struct Windows {
    all: Rc<RefCell<Vec<Rc<MinimalSoftwareWindow>>>>,
    size: Rc<Cell<PhysicalSize>>,
}

struct HeadlessPlatform {
    windows: Windows,
    started: Instant,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        window.set_size(self.windows.size.get());
        self.windows.all.borrow_mut().push(window.clone());
        Ok(window)
    }

    fn duration_since_start(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Windows drawn in memory.
pub struct Headless {
    windows: Windows,
}

impl Headless {
    /// Installs the in-memory platform (once per process).
    pub fn install() -> anyhow::Result<Headless> {
        let windows = Windows::default();
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            windows: windows.clone(),
            started: Instant::now(),
        }))
        .map_err(|e| anyhow::anyhow!("cannot install the headless platform: {e}"))?;
        Ok(Headless { windows })
    }

    /// Sets the panel size of every window.
    pub fn resize(&self, width: u32, height: u32) {
        let size = PhysicalSize::new(width, height);
        self.windows.size.set(size);
        for window in self.windows.all.borrow().iter() {
            window.set_size(size);
        }
    }

    /// Draws `window` as it is now.
    pub fn render(&self, window: &slint::Window) -> anyhow::Result<image::RgbaImage> {
        slint::platform::update_timers_and_animations();
        let all = self.windows.all.borrow();
        let adapter = all
            .iter()
            .find(|w| std::ptr::eq(w.window(), window))
            .context("the window was not made by the headless platform")?;
        let size = adapter.size();
        let (w, h) = (size.width, size.height);
        let mut buffer = vec![PremultipliedRgbaColor::default(); (w * h) as usize];
        adapter.request_redraw();
        adapter.draw_if_needed(|renderer| {
            renderer.render(&mut buffer, w as usize);
        });
        let mut img = image::RgbaImage::new(w, h);
        for (px, c) in img.pixels_mut().zip(buffer) {
            *px = image::Rgba([c.red, c.green, c.blue, 255]);
        }
        Ok(img)
    }

    /// Draws `window` at `width` × `height` (the customer display has a
    /// panel of its own size).
    pub fn render_at(
        &self,
        window: &slint::Window,
        width: u32,
        height: u32,
    ) -> anyhow::Result<image::RgbaImage> {
        window.set_size(PhysicalSize::new(width, height));
        self.render(window)
    }
}

/// Drains the app's queue until `done` holds (or 20 s pass).
pub fn pump(app: &UiApp, mut done: impl FnMut(&Counter) -> bool) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        app.drain();
        if done(&app.counter()) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(20) {
            anyhow::bail!(
                "the terminal did not answer in time (page {:?})",
                app.counter().page
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn tap(app: &UiApp, action: Action) {
    app.input(Input::Tap(action));
}

fn keys(app: &UiApp, text: &str) {
    for c in text.chars() {
        if let Some(k) = Key::from_label(&c.to_string()) {
            app.input(Input::Key(k));
        }
    }
}

/// The demo configuration in `dir` with no camera: what screenshots and
/// the start-up probe run on.
pub fn demo_config(dir: &Path) -> TerminalConfig {
    let mut config = TerminalConfig::embedded_demo();
    config.data_dir = dir.to_path_buf();
    config.camera.device = -1;
    config.sound = false;
    config
}

/// A fixed moment for screenshots, so they do not change from day to day.
fn screenshot_clock() -> Arc<dyn Clock> {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:30:00+08:00")
        .unwrap_or_else(|_| chrono::Local::now().fixed_offset());
    Arc::new(FakeClock::at(at))
}

/// The customer display's panel in the screenshots: a common 10-inch
/// customer-facing screen.
const CUSTOMER_PANEL: (u32, u32) = (1024, 600);

/// Writes every screen, in both languages, at 1024x768 and 1280x800, and
/// the customer display's (`customer-*`) at 1024x600.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let headless = Headless::install()?;
    let data = tempfile::tempdir().context("a temporary data folder")?;
    let mut config = demo_config(data.path());
    config.customer_display.mode = crate::config::CustomerDisplayMode::On;
    let app = UiApp::start(config, screenshot_clock(), Wake::Manual)?;
    app.window().show().context("showing the window")?;
    pump(&app, |c| !c.clerks.is_empty())?;
    let mut written = Vec::new();
    let mut enrolled = 0;
    let cards = crate::terminal::demo_card_paths();
    anyhow::ensure!(!cards.is_empty(), "no demo cards in assets/demo-cards");
    for (width, height) in [(1024, 768), (1280, 800)] {
        headless.resize(width, height);
        for language in [Language::ZhCn, Language::En] {
            let code = match language {
                Language::ZhCn => "zh-CN",
                Language::En => "en",
            };
            // `customer`: the customer display (its own 1024x600 panel,
            // drawn once per language).
            let mut shot = |name: &str, customer: bool| -> anyhow::Result<()> {
                let (path, image) = if customer {
                    if width != 1024 {
                        return Ok(());
                    }
                    let display = app
                        .customer_display()
                        .context("the customer display is not open")?;
                    let (w, h) = CUSTOMER_PANEL;
                    (
                        dir.join(format!("{name}-{code}-{w}x{h}.png")),
                        headless.render_at(display.window().window(), w, h)?,
                    )
                } else {
                    (
                        dir.join(format!("{name}-{code}-{width}x{height}.png")),
                        headless.render(app.window().window())?,
                    )
                };
                image
                    .save(&path)
                    .with_context(|| format!("writing {}", path.display()))?;
                written.push(path);
                Ok(())
            };
            tap(&app, Action::SetLanguage(language));
            if app.counter().clerk.is_some() {
                tap(&app, Action::Lock);
            }
            tap(&app, Action::SelectClerk("c01".into()));
            keys(&app, "38");
            shot("login", false)?;
            keys(&app, "17");
            tap(&app, Action::SubmitPin);
            pump(&app, |c| c.page != Page::Login)?;
            tap(&app, Action::Home);
            shot("home", false)?;
            shot("customer-welcome", true)?;

            // A different card each round: the scanner ignores the same code
            // twice within its repeat window.
            if enrolled >= cards.len() {
                std::thread::sleep(Duration::from_millis(3_100));
            }
            let card = &cards[enrolled % cards.len()];
            let seen = app.counter().scan.as_ref().map_or(0, |s| s.serial);
            app.terminal().scan_image(card);
            pump(&app, |c| {
                c.page == Page::Member && c.scan.as_ref().is_some_and(|s| s.serial > seen)
            })?;
            shot("member", false)?;

            tap(&app, Action::MemberCheckout);
            // Catalog items by the wedge scanner (the member's price on
            // the cola and the rice), then goods keyed on the category keys.
            for (n, code) in ["6901028075022", "6901028075046", "6901028075039"]
                .into_iter()
                .enumerate()
            {
                app.terminal().scan_text(code.to_string());
                pump(&app, |c| c.sale.lines.len() > n)?;
            }
            keys(&app, "128.5");
            tap(&app, Action::QuickKey(0));
            keys(&app, "25");
            tap(&app, Action::QuickKey(4));
            pump(&app, |c| c.sale.priced.is_some())?;
            tap(&app, Action::MaxPoints);
            pump(&app, |c| {
                c.sale
                    .priced
                    .as_ref()
                    .is_some_and(|p| p.quote.points_redeemed > 0)
            })?;
            shot("checkout", false)?;
            shot("customer-basket", true)?;
            tap(&app, Action::ConfirmSale);
            pump(&app, |c| c.page == Page::Receipt)?;
            shot("receipt", false)?;
            shot("customer-thanks", true)?;

            tap(&app, Action::OpenPhoneLookup);
            keys(&app, "19900001002");
            shot("phone", false)?;

            tap(&app, Action::OpenEnroll);
            enrolled += 1;
            keys(&app, &format!("1990000{:04}", 2000 + enrolled));
            tap(
                &app,
                Action::Surname(crate::demo::DEMO_ENROLL_SURNAME.into()),
            );
            tap(&app, Action::BirthdayMonth(3));
            tap(&app, Action::BirthdayDay(14));
            tap(&app, Action::ToggleConsent);
            shot("enroll", false)?;
            tap(&app, Action::SubmitEnroll);
            pump(&app, |c| c.page == Page::EnrollDone)?;
            shot("enroll-done", false)?;

            tap(&app, Action::OpenManager);
            tap(&app, Action::SelectManager("m01".into()));
            keys(&app, "738");
            shot("manager-pin", false)?;
            keys(&app, "162");
            tap(&app, Action::SubmitPin);
            pump(&app, |c| c.page == Page::Manager)?;
            shot("manager", false)?;
            tap(&app, Action::OpenTopUp);
            tap(&app, Action::SelectPackage(0));
            shot("top-up", false)?;
            tap(&app, Action::OpenRefund);
            pump(&app, |c| !c.refund.sales.is_empty())?;
            tap(&app, Action::SelectSale(0));
            pump(&app, |c| c.refund.sale.is_some())?;
            shot("refund", false)?;
            // A return from the receipt's QR code through the wedge: the
            // demo is one till, so the receipt is its own sale's (another
            // till's reads the same, see tests/ui_returns.rs); the
            // manager's approval is still in force.
            let code = app
                .counter()
                .last_sale
                .as_ref()
                .and_then(|s| s.receipt_code.clone())
                .context("the demo till signs its receipts")?;
            app.terminal().scan_text(code);
            pump(&app, |c| c.page == Page::Return)?;
            tap(&app, Action::ReturnStep(0, 1));
            tap(&app, Action::ReturnStep(2, 1));
            shot("return", false)?;
            tap(&app, Action::ConfirmReturn);
            pump(&app, |c| {
                c.return_form
                    .as_ref()
                    .is_some_and(|f| f.done.is_some() || f.error.is_some())
            })?;
            anyhow::ensure!(
                app.counter()
                    .return_form
                    .as_ref()
                    .is_some_and(|f| f.done.is_some()),
                "the demo return was refused: {:?}",
                app.counter()
                    .return_form
                    .as_ref()
                    .and_then(|f| f.error.clone())
            );
            shot("return-done", false)?;
            tap(&app, Action::OpenAdjust);
            keys(&app, "200");
            tap(&app, Action::SelectReason(1));
            shot("adjust", false)?;
            tap(&app, Action::OpenSync);
            shot("sync", false)?;
            tap(&app, Action::OpenSettings);
            shot("settings", false)?;
            tap(&app, Action::OpenKeyboard(TextField::HeadOfficeUrl));
            for c in "https://hq.example.com".chars() {
                tap(&app, Action::TypeKey(TextKey::Char(c)));
            }
            shot("settings-keyboard", false)?;
            tap(
                &app,
                Action::SetText(TextField::HeadOfficeUrl, String::new()),
            );
            tap(&app, Action::Home);
            shift_close(&app)?;
            shot("shift-close", false)?;
            tap(&app, Action::Home);
        }
    }
    drop(app);
    written.extend(write_first_run(dir, &headless)?);
    Ok(written)
}

/// The shift close's preview with one more walk-in sale in the shift (paid
/// by bank card beside the member's sales of every round), behind the
/// manager's PIN; nothing is closed, so the shift grows round by round.
fn shift_close(app: &UiApp) -> anyhow::Result<()> {
    tap(app, Action::OpenCheckout);
    keys(app, "36.8");
    tap(app, Action::QuickKey(1));
    pump(app, |c| c.sale.priced.is_some())?;
    tap(app, Action::Tender(1));
    pump(app, |c| c.page == Page::Receipt)?;
    tap(app, Action::Home);
    tap(app, Action::OpenManager);
    tap(app, Action::SelectManager("m01".into()));
    keys(app, "738162");
    tap(app, Action::SubmitPin);
    pump(app, |c| c.page == Page::Manager)?;
    tap(app, Action::OpenShiftClose);
    pump(app, |c| c.shift_close.preview.is_some())
}

/// A new till's first-run screens, in both languages and sizes, named
/// `first-run-*`: the store's code on the keypad; head office out of reach
/// (a closed loopback port: the till stays offline once it has tried);
/// registered and waiting for the staff; a clerk's first PIN with the
/// setup code. Head office's answers for the last two (registered, the
/// staff) are given to the counter as the terminal would pass them on.
fn write_first_run(dir: &Path, headless: &Headless) -> anyhow::Result<Vec<PathBuf>> {
    let data = tempfile::tempdir().context("a temporary data folder")?;
    let mut config = demo_config(data.path());
    config.demo = false;
    // Port 9 (discard) is closed on loopback: registering fails at once.
    config.head_office.url = "http://127.0.0.1:9".into();
    let app = UiApp::start(config, screenshot_clock(), Wake::Manual)?;
    app.window().show().context("showing the window")?;
    pump(&app, |c| c.page == Page::FirstRun)?;
    let mut written = Vec::new();
    for step in [
        "first-run-code",
        "first-run-offline",
        "first-run-waiting",
        "first-run-pin-setup",
    ] {
        for (width, height) in [(1024, 768), (1280, 800)] {
            headless.resize(width, height);
            for language in [Language::ZhCn, Language::En] {
                let code = match language {
                    Language::ZhCn => "zh-CN",
                    Language::En => "en",
                };
                tap(&app, Action::SetLanguage(language));
                first_run_step(&app, step)?;
                let path = dir.join(format!("{step}-{code}-{width}x{height}.png"));
                headless
                    .render(app.window().window())?
                    .save(&path)
                    .with_context(|| format!("writing {}", path.display()))?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// Brings the first-run screen to `step` (once; later calls find it there).
fn first_run_step(app: &UiApp, step: &str) -> anyhow::Result<()> {
    let counter = app.counter();
    let (first_run, page) = (counter.first_run, counter.page);
    drop(counter);
    match step {
        "first-run-code" => {
            app.input(Input::Key(Key::Clear));
            keys(app, "482019736150");
        }
        "first-run-offline" if first_run != Some(FirstRunStep::Offline) => {
            // The code's last four digits, then Register.
            keys(app, "5208");
            tap(app, Action::Register);
            pump(app, |c| c.first_run == Some(FirstRunStep::Offline))?;
        }
        "first-run-waiting" if first_run != Some(FirstRunStep::WaitingForStaff) => {
            app.input(Input::Done(Done::Provisioned(Ok(()))));
            pump(app, |c| c.first_run == Some(FirstRunStep::WaitingForStaff))?;
        }
        "first-run-pin-setup" if page != Page::PinSetup => {
            app.input(Input::Done(Done::Clerks(Ok(vec![ClerkEntry {
                id: "li.na".into(),
                name: "Li Na".into(),
                role: Role::Cashier,
                has_pin: false,
            }]))));
            pump(app, |c| c.page == Page::Login)?;
            tap(app, Action::SelectClerk("li.na".into()));
            pump(app, |c| c.page == Page::PinSetup)?;
            keys(app, "5831");
        }
        _ => {}
    }
    Ok(())
}

/// Starts the demo terminal headless, waits until it is interactive (clerks
/// loaded, first frame drawn), and reports how long that took and the
/// resident memory after `idle` of doing nothing. Used by the `ui` bench.
pub fn probe_start(data: &Path, idle: Duration) -> anyhow::Result<(Duration, u64)> {
    let started = Instant::now();
    let headless = Headless::install()?;
    headless.resize(1024, 768);
    let clock: Arc<dyn Clock> = Arc::new(crate::clock::SystemClock::new());
    let app = UiApp::start(demo_config(data), clock, Wake::Manual)?;
    app.window().show().context("showing the window")?;
    pump(&app, |c| !c.clerks.is_empty())?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        app.terminal()
            .on_terminate(move || stop.store(true, std::sync::atomic::Ordering::Relaxed));
    }
    let _frame = headless.render(app.window().window())?;
    let ready = started.elapsed();
    println!("ready");
    let until = Instant::now() + idle;
    while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        app.drain();
        std::thread::sleep(Duration::from_millis(50));
    }
    let rss = rss_kib();
    // The same way out as the app's: the terminal's threads stop, the
    // uplink's round in flight first.
    app.close();
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        println!("stopped on request");
    }
    Ok((ready, rss))
}

/// Resident memory of this process in KiB (Linux), 0 when unknown.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
