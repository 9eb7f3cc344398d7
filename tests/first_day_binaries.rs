//! A chain's first day with the real binaries, on head office's SQLite and
//! PostgreSQL: `tillcard-hq serve` runs as its own process (configured by
//! its environment, on a loopback port chosen here) and is driven only
//! through its admin HTTP API; the terminal is the `tillcard` binary on a
//! non-demo configuration file with an empty data folder.
//!
//! 1. An admin creates a store, a manager and a cashier and issues the
//!    store's enrollment code (HTTP API).
//! 2. `tillcard register CODE` registers the till; its staff come down.
//! 3. The cashier sets a PIN with head office's setup code and makes a
//!    member sale. The binary has no command for these (they happen on the
//!    till's screen, `tests/ui_first_day.rs` taps them there), so they run
//!    through the terminal's library on the same data folder, between the
//!    binary's runs, exactly as the window calls it.
//! 4. `tillcard sync` uploads the sale; head office's figures show it.
//! 5. The cashier is deactivated (HTTP API); after one `tillcard sync` the
//!    till refuses the cashier's PIN.
//!
//! `cargo test --workspace` builds `tillcard-hq` (its own tests need it);
//! a run of this package alone builds it first.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sale.rs"]
mod sale_util;

#[path = "../sync/hq/tests/util/pg.rs"]
#[allow(dead_code, reason = "the cluster helpers this test does not use")]
mod pg;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tillcard::clock::{Clock, SystemClock};
use tillcard::config::TerminalConfig;
use tillcard::store::StoreError;
use tillcard::store::handle::StoreHandle;
use tillcard::uplink::set_pin;

const ADMIN_TOKEN: &str = "first-day-binaries-admin-token-0123";

/// The `tillcard-hq` binary of this build (built now if missing).
fn hq_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_tillcard")).with_file_name("tillcard-hq");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "tillcard-hq",
                "--bin",
                "tillcard-hq",
            ])
            .status()
            .unwrap();
        assert!(built.success(), "building tillcard-hq");
    }
    path
}

/// `tillcard-hq serve` as a child process, killed on drop.
struct HeadOffice {
    child: Child,
    url: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl HeadOffice {
    /// Serves on a free loopback port with `database` (`TILLCARD_HQ_SQLITE`
    /// or `TILLCARD_HQ_DATABASE_URL` and its value); waits for `/health`.
    fn start(database: (&str, String), log: &Path) -> HeadOffice {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        // The personal-data key head office refuses to start without.
        let key = log.with_extension("key");
        std::fs::write(&key, [0x5a; 32]).unwrap();
        let child = Command::new(hq_binary())
            .arg("serve")
            .env("TILLCARD_HQ_PERSONAL_KEY_FILE", &key)
            .env("TILLCARD_HQ_LISTEN", format!("127.0.0.1:{port}"))
            .env("TILLCARD_HQ_ADMIN_TOKEN", ADMIN_TOKEN)
            .env(database.0, database.1)
            .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut hq = HeadOffice {
            child,
            url,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        loop {
            let health = hq
                .runtime
                .block_on(hq.http.get(format!("{}/health", hq.url)).send());
            if health.is_ok_and(|r| r.status().is_success()) {
                return hq;
            }
            if let Some(status) = hq.child.try_wait().unwrap() {
                panic!(
                    "tillcard-hq exited with {status}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "tillcard-hq did not answer /health in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An admin API call: its status and JSON answer.
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let (status, text) = self.runtime.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        });
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn admin_ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.admin(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }
}

impl Drop for HeadOffice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The till: its configuration file, run through the `tillcard` binary.
struct Till {
    config_path: PathBuf,
    config: TerminalConfig,
}

impl Till {
    fn new(dir: &Path, hq_url: &str) -> Till {
        let config_path = dir.join("terminal.toml");
        std::fs::write(
            &config_path,
            format!(
                "data_dir = {:?}\n[head_office]\nurl = {hq_url:?}\nstore = \"SH-001\"\n\
                 [camera]\ndevice = -1\n",
                dir.join("data").display().to_string()
            ),
        )
        .unwrap();
        let config = TerminalConfig::load(&config_path).unwrap();
        assert!(!config.demo, "a real configuration");
        Till {
            config_path,
            config,
        }
    }

    /// `tillcard --config terminal.toml ARGS`: its output.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tillcard"))
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap()
    }

    /// Runs `args`, which must succeed: its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tillcard {args:?} ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The till's store, opened as the window opens it (closed on drop,
    /// before the binary runs again).
    fn store(&self) -> StoreHandle {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let (store, _) = tillcard::sealed_store::open(
            &self.config,
            clock,
            tillcard::store::PinHashCost::PRODUCTION,
        )
        .unwrap();
        StoreHandle::spawn(store).unwrap()
    }
}

/// The line `key value` of a headless command's output.
fn field(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no {key:?} in {output:?}"))
        .to_owned()
}

fn first_day(hq: &HeadOffice) {
    // 1. Head office: a store, its manager and cashier, its code.
    hq.admin_ok(
        "POST",
        "/v1/admin/stores",
        Some(json!({"code": "SH-001", "name": "南京东路店",
                    "time_zone": "Asia/Shanghai", "address": "南京东路1号"})),
    );
    hq.admin_ok(
        "POST",
        "/v1/admin/staff",
        Some(json!({"display_name": "王店长", "role": "manager", "stores": ["SH-001"]})),
    );
    let cashier = hq.admin_ok(
        "POST",
        "/v1/admin/staff",
        Some(json!({"display_name": "李娜", "role": "cashier", "stores": ["SH-001"]})),
    );
    let cashier_id = cashier["staff"]["staff_id"].as_str().unwrap().to_owned();
    let setup_code = cashier["setup_code"].as_str().unwrap().to_owned();
    let code = hq.admin_ok(
        "POST",
        "/v1/admin/enroll-codes",
        Some(json!({"store": "SH-001"})),
    )["code"]
        .as_str()
        .unwrap()
        .to_owned();

    // 2. The installed till registers with the code; its staff come down.
    let dir = tempfile::tempdir().unwrap();
    let till = Till::new(dir.path(), &hq.url);
    let registered = till.ok(&["register", &code]);
    assert_eq!(field(&registered, "clerks"), "2", "{registered}");
    let again = till.run(&["register", &code]);
    assert!(
        !again.status.success(),
        "a second registration needs a manager"
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already registered"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let (_, terminals) = hq.admin("GET", "/v1/admin/terminals", None);
    assert_eq!(
        terminals.as_array().map(Vec::len),
        Some(1),
        "one terminal at head office: {terminals}"
    );

    // 3. On the till: the cashier's first PIN, then a member sale.
    let store = till.store();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clerk = runtime
        .block_on(set_pin(
            &store,
            &hq.url,
            cashier_id.clone(),
            setup_code,
            "3817".into(),
            chrono::Utc::now().timestamp(),
        ))
        .unwrap();
    assert_eq!(clerk.id(), cashier_id);
    let (_, _, amount) = store
        .call({
            let id = cashier_id.clone();
            move |s| sale_util::first_member_sale(s, &id, "3817")
        })
        .unwrap();
    let sale_fen = amount.fen();
    drop(store);

    // 4. One sync: the sale is at head office.
    let synced = till.ok(&["sync"]);
    assert_eq!(field(&synced, "pending"), "0", "{synced}");
    let figures = hq.admin_ok("GET", "/v1/admin/figures", None);
    assert_eq!(figures["sales"]["member_sales"], 1, "{figures}");
    assert_eq!(
        figures["sales"]["member_fen"].as_i64(),
        Some(sale_fen),
        "{}",
        figures["sales"]
    );

    // 5. Deactivated at head office: refused at the till after one sync.
    hq.admin_ok(
        "POST",
        &format!("/v1/admin/staff/{cashier_id}/deactivate"),
        Some(json!({})),
    );
    let store = till.store();
    let before = store.call({
        let id = cashier_id.clone();
        move |s| s.login(&id, "3817")
    });
    assert!(before.is_ok(), "still active here before the sync");
    drop(store);
    till.ok(&["sync"]);
    let refused = till.store().call({
        let id = cashier_id.clone();
        move |s| s.login(&id, "3817")
    });
    assert!(
        matches!(refused, Err(StoreError::ClerkInactive)),
        "{refused:?}"
    );
    println!(
        "first day with the binaries: store, 2 staff, code via the API; `tillcard register` \
         brought 2 clerks; PIN set, 1 member sale of {sale_fen} fen at head office after \
         `tillcard sync`; cashier refused after deactivation and one sync"
    );
}

#[test]
fn a_chains_first_day_with_the_binaries_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let hq = HeadOffice::start(
        (
            "TILLCARD_HQ_SQLITE",
            dir.path().join("hq.sqlite").display().to_string(),
        ),
        &dir.path().join("hq.log"),
    );
    first_day(&hq);
}

#[test]
fn a_chains_first_day_with_the_binaries_on_postgres() {
    let url = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(pg::fresh_database());
    let dir = tempfile::tempdir().unwrap();
    let hq = HeadOffice::start(
        ("TILLCARD_HQ_DATABASE_URL", url),
        &dir.path().join("hq.log"),
    );
    first_day(&hq);
}
