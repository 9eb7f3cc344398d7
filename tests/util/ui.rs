//! The real window, headless (Slint's testing backend), driven the way a
//! cashier drives it: controls found by their accessible labels and
//! activated, each activation counted as a tap. Shared by the UI tests.
//!
//! The test thread is the UI thread: a blocking store call from it would
//! panic (debug builds), so reads of the store for assertions go through a
//! helper thread.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;
use tillcard::clock::SystemClock;
use tillcard::config::{LanguageSetting, PaperWidth, TerminalConfig};
use tillcard::counter::{Counter, Input, Page};
use tillcard::store::{Store, StoreError};
use tillcard::ui::screenshots::pump;
use tillcard::ui::{Ui, UiApp, Wake};
use tillcard_print::virtual_printer::VirtualNetworkPrinter;

/// The embedded demo in `data`: English, no sound, no camera; printing on
/// `printer` (58 mm paper) when one is given.
#[allow(dead_code, reason = "not every UI test starts the demo this way")]
pub fn demo_config(data: &Path, printer: Option<&VirtualNetworkPrinter>) -> TerminalConfig {
    let mut config = TerminalConfig::embedded_demo();
    config.data_dir = data.to_path_buf();
    config.language = LanguageSetting::En;
    config.sound = false;
    config.camera.device = -1;
    if let Some(printer) = printer {
        config.printer.address = Some(printer.addr().to_string());
        config.printer.paper = PaperWidth::Mm58;
    }
    config
}

/// The till on `config`, shown once its clerks are loaded. Slint's testing
/// platform is installed once per thread (each test runs on its own, and
/// installing it twice on one is refused), so a test may start two tills.
#[allow(dead_code, reason = "not every UI test starts the demo this way")]
pub fn start_till(config: TerminalConfig) -> Till {
    thread_local! {
        static PLATFORM: Cell<bool> = const { Cell::new(false) };
    }
    if !PLATFORM.get() {
        i_slint_backend_testing::init_no_event_loop();
        PLATFORM.set(true);
    }
    let app = UiApp::start(config, Arc::new(SystemClock::new()), Wake::Manual).unwrap();
    let till = Till::show(app);
    till.wait(|c| !c.clerks.is_empty());
    till
}

/// Waits until `printer` holds `n` jobs (20 s at most): the `n`th one.
#[allow(dead_code, reason = "not every UI test prints")]
pub fn print_job(printer: &VirtualNetworkPrinter, n: usize) -> Vec<u8> {
    let started = Instant::now();
    while printer.jobs().len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "print job {n} never came"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    printer.jobs()[n - 1].clone()
}

/// A window with a terminal behind it, and a tap counter.
pub struct Till {
    pub app: Rc<UiApp>,
    taps: Cell<u32>,
}

impl Till {
    /// Shows the window of `app`.
    pub fn show(app: Rc<UiApp>) -> Till {
        app.window().show().unwrap();
        Till {
            app,
            taps: Cell::new(0),
        }
    }

    /// Taps so far.
    #[allow(dead_code, reason = "not every UI test counts taps")]
    pub fn taps(&self) -> u32 {
        self.taps.get()
    }

    /// Activates the one control labelled `label` (and counts the tap).
    pub fn tap(&self, label: &str) {
        let found: Vec<_> =
            ElementHandle::find_by_accessible_label(self.app.window(), label).collect();
        if found.len() != 1 {
            let all: Vec<String> =
                i_slint_backend_testing::ElementRoot::root_element(self.app.window())
                    .query_descendants()
                    .find_all()
                    .iter()
                    .map(|e| format!("{:?}/{:?}", e.type_name(), e.accessible_label()))
                    .collect();
            panic!(
                "expected one control labelled {label:?}, found {}; labels: {all:?}",
                found.len()
            );
        }
        found[0].invoke_accessible_default_action();
        self.taps.set(self.taps.get() + 1);
    }

    /// A keyboard-wedge scanner sending `text` and Enter, a key every 5 ms.
    #[allow(dead_code, reason = "not every UI test scans with the wedge")]
    pub fn wedge(&self, text: &str) {
        let start = Instant::now();
        for (i, c) in text.chars().chain(std::iter::once('\n')).enumerate() {
            self.app
                .wedge_key(&c.to_string(), start + Duration::from_millis(5 * i as u64));
        }
    }

    /// Taps the keypad's keys for `digits`.
    pub fn keys(&self, digits: &str) {
        for d in digits.chars() {
            self.tap(&format!("key {d}"));
        }
    }

    /// Whether a control labelled `label` is on screen.
    #[allow(dead_code, reason = "not every UI test asks")]
    pub fn shows(&self, label: &str) -> bool {
        ElementHandle::find_by_accessible_label(self.app.window(), label)
            .next()
            .is_some()
    }

    /// What the text labelled `label` shows.
    #[allow(dead_code, reason = "not every UI test reads a text")]
    pub fn text(&self, label: &str) -> String {
        ElementHandle::find_by_accessible_label(self.app.window(), label)
            .next()
            .and_then(|e| e.accessible_value())
            .map(|v| v.to_string())
            .unwrap_or_else(|| panic!("no text labelled {label:?}"))
    }

    /// Drains the terminal's answers until `what` holds (20 s at most).
    pub fn wait(&self, what: impl FnMut(&Counter) -> bool) {
        pump(&self.app, what).unwrap();
    }

    /// Drains the terminal's answers and lets time pass (flows that poll
    /// on ticks, like the first run) until `done` holds, or 30 s.
    #[allow(dead_code, reason = "only the flows that poll need it")]
    pub fn wait_ticking(&self, mut done: impl FnMut(&Counter) -> bool) {
        let started = Instant::now();
        loop {
            self.app.drain();
            if done(&self.app.counter()) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "stuck on {:?} ({:?})",
                self.app.counter().page,
                self.app.counter().first_run
            );
            self.app.input(Input::Tick);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The window's global the views call into.
    #[allow(dead_code, reason = "not every UI test reads the view state")]
    pub fn ui(&self) -> Ui<'_> {
        self.app.window().global::<Ui>()
    }

    /// Signs `clerk` in with `pin` on the sign-in screen.
    #[allow(dead_code, reason = "not every UI test signs in by PIN")]
    pub fn login(&self, clerk: &str, pin: &str) {
        self.tap(&format!("clerk {clerk}"));
        self.keys(pin);
        self.tap("log in");
        self.wait(|c| c.page != Page::Login);
    }

    /// Runs `f` on the store from another thread (the test thread is the
    /// UI thread and may not wait on the store).
    #[allow(dead_code, reason = "not every UI test reads the store")]
    pub fn store<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    ) -> R {
        let handle = self.app.terminal().store().clone();
        std::thread::spawn(move || handle.call(f))
            .join()
            .unwrap()
            .unwrap()
    }
}
