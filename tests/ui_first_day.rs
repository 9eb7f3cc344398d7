//! A new till's first run in the real window, headless (Slint's testing
//! backend), against a real head office on loopback: the first-run screen
//! on an empty store with a real configuration, the store's enrollment
//! code keyed on the keypad, waiting while the staff come down, the
//! sign-in screen with the store's clerks, and a clerk's first PIN set
//! with the setup code head office showed. Prints the taps each step took.
//!
//! The test thread is the UI thread: head office runs on its own runtime
//! thread, and the store is read through a helper thread.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;
#[path = "util/ui.rs"]
mod ui_util;
use ui_util::Till;

use std::sync::Arc;

use tillcard::clock::SystemClock;
use tillcard::config::TerminalConfig;
use tillcard::counter::Page;
use tillcard::ui::{UiApp, Wake};
use tillcard_hq::admin::{NewStaff, NewStore};
use tillcard_hq::service::Actor;
use tillcard_protocol::staff::StaffRole;

/// Head office on SQLite, served on loopback from its own runtime thread,
/// with store SH-001, a cashier and an enrollment code: its URL, the code,
/// the cashier's id and setup code.
fn head_office(dir: &std::path::Path) -> (tokio::runtime::Runtime, String, String, String, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, code, cashier, setup) = runtime.block_on(async {
        let (_, hq, url) = sync_util::served_hq(dir).await;
        let admin = Actor::admin_token();
        hq.create_store(
            &admin,
            &NewStore {
                code: "SH-001".into(),
                name: "Nanjing Rd".into(),
                time_zone: "Asia/Shanghai".into(),
                address: "1 Nanjing Rd".into(),
            },
        )
        .await
        .unwrap();
        let cashier = hq
            .create_staff(
                &admin,
                &NewStaff {
                    staff_id: Some("li.na".into()),
                    display_name: "Li Na".into(),
                    role: StaffRole::Cashier,
                    stores: vec!["SH-001".into()],
                },
            )
            .await
            .unwrap();
        let code = hq
            .issue_enroll_code(&admin, "SH-001", None)
            .await
            .unwrap()
            .code;
        (url, code, cashier.staff.staff_id, cashier.setup_code)
    });
    (runtime, url, code, cashier, setup)
}

#[test]
fn a_new_till_registers_receives_its_staff_and_a_clerk_sets_a_first_pin() {
    i_slint_backend_testing::init_no_event_loop();
    tillcard::logging::init_for_tests();
    let hq_dir = tempfile::tempdir().unwrap();
    let (_runtime, url, code, cashier, setup) = head_office(hq_dir.path());

    let data = tempfile::tempdir().unwrap();
    let mut config = TerminalConfig::default();
    config.data_dir = data.path().to_path_buf();
    config.language = tillcard::config::LanguageSetting::En;
    config.sound = false;
    config.camera.device = -1;
    config.head_office.url = url;
    config.head_office.store = "SH-001".into();
    assert!(!config.demo && config.first_run_possible());
    let app = UiApp::start(config, Arc::new(SystemClock::new()), Wake::Manual).unwrap();
    let till = Till::show(app);

    // An empty store on a real configuration: the first-run screen.
    till.wait_ticking(|c| c.page == Page::FirstRun);
    assert!(till.text("first run step").contains("enrollment code"));
    assert!(!till.shows("lock"), "no Lock before anyone signed in");
    // The code's 16 digits on the keypad (head office prints them in
    // fours with dashes), then Register.
    till.keys(&code.replace('-', ""));
    assert_eq!(
        till.text("store enrollment code"),
        code.replace('-', " "),
        "shown in fours as printed"
    );
    till.tap("register with code");
    let code_taps = till.taps();
    till.wait_ticking(|c| c.page == Page::Login);
    assert_eq!(
        till.app.counter().clerks.len(),
        1,
        "the store's one clerk came down"
    );

    // The clerk has no PIN yet: picking the name opens the set-up.
    till.tap(&format!("clerk {cashier}"));
    till.wait_ticking(|c| c.page == Page::PinSetup);
    assert!(!till.shows("lock"), "nor during the PIN set-up");
    till.keys(&setup);
    till.tap("pin setup next");
    till.keys("1234");
    till.tap("pin setup next");
    assert!(
        till.text("pin setup error").contains("run of digits"),
        "a trivial PIN is refused on the spot"
    );
    till.keys("3817");
    till.tap("pin setup next");
    till.keys("3817");
    till.tap("pin setup next");
    till.wait_ticking(|c| c.page == Page::Home);
    assert_eq!(
        till.app.counter().clerk.as_ref().map(|c| c.id().to_owned()),
        Some(cashier.clone()),
        "signed in with the new PIN"
    );
    assert!(till.shows("lock"), "signed in: Lock is there");
    let pin_taps = till.taps() - code_taps;
    println!(
        "first run: {code_taps} taps to register (16 digits and Register), \
         {pin_taps} taps from the clerk's name to signed in (8-digit setup code, \
         a refused trivial PIN, the PIN twice)"
    );
    assert_eq!(code_taps, 16 + 1);
    assert_eq!(pin_taps, 1 + 8 + 1 + 4 + 1 + 4 + 1 + 4 + 1);
}
