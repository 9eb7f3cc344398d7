//! What the browser tests share: Debian's chromium and chromedriver found
//! on PATH (a missing one is a failure with the reason, never a skip),
//! chromedriver started on a free loopback port and killed when dropped,
//! headless Chromium started through it, the few steps every test takes on
//! a page (type into a field, click, read an element's text) and the
//! folder screenshots are written to.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub fn find_program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "{name} not found on PATH: the browser test needs Debian's chromium and \
                 chromium-driver packages (scripts/install-deps --test installs them)"
            )
        })
}

/// chromedriver, killed when dropped.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_driver(chromedriver: &Path) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", chromedriver.display()));
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, format!("http://127.0.0.1:{port}"))
}

/// `$CARGO_TARGET_DIR/screenshots` (or the workspace's `target/`), created.
pub fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `name` written into [`screenshots_dir`]: what `browser` shows now.
pub async fn save_screenshot(browser: &Client, name: &str) {
    std::fs::write(
        screenshots_dir().join(name),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
}

/// Headless Chromium driven through its own chromedriver, with a fresh
/// profile; both live as long as it does. Derefs to the WebDriver client.
pub struct Browser {
    client: Client,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

impl Browser {
    /// Ends the WebDriver session (Chromium quits).
    pub async fn close(self) -> Result<(), fantoccini::error::CmdError> {
        self.client.close().await
    }
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Starts `chromium` headless through `chromedriver` (both from
/// [`find_program`]), its window `window_size` (`"1280,900"`).
pub async fn start_chromium(chromium: &Path, chromedriver: &Path, window_size: &str) -> Browser {
    let (driver, driver_url) = start_driver(chromedriver);
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--window-size={window_size}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .unwrap_or_else(|e| panic!("chromium did not start through chromedriver: {e}"));
    Browser {
        client,
        _profile: profile,
        _driver: driver,
    }
}

/// Replaces the text of the field with id `id` by `text`, typed.
pub async fn type_into(browser: &Client, id: &str, text: &str) {
    let field = browser.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks the element `css` selects.
pub async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The text of the element with id `id`, once it appears (10 s at most).
pub async fn text_of(browser: &Client, id: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} did not appear: {e}"))
        .text()
        .await
        .unwrap()
}

/// Loads `url` in `browser`.
pub async fn open_page(browser: &Client, url: &str) {
    browser.goto(url).await.unwrap();
}

/// The text of the element `css` selects, on the page as it is.
pub async fn text_at(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits for an element `css` selects (`seconds` at most).
pub async fn wait_for(browser: &Client, css: &str, seconds: u64) {
    browser
        .wait()
        .at_most(Duration::from_secs(seconds))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"));
}
