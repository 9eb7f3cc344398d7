//! The real window, headless (Slint's testing backend), driven the way a
//! cashier drives it: controls found by their accessible labels and
//! activated, against a real SQLite store with the demo data, scans coming
//! from the file frame source. Each test asserts what the screen shows and
//! what the store wrote.
//!
//! The test thread is the UI thread: a blocking store call from it would
//! panic (debug builds), so reads of the store for assertions go through a
//! helper thread, and the UI code under test is checked for blocking calls
//! on every tap.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;
use std::sync::Arc;

use slint::{ComponentHandle, Model};
use tillcard::clock::SystemClock;
use tillcard::config::TerminalConfig;
use tillcard::counter::Page;
use tillcard::demo::DEMO_MEMBERS;
use tillcard::rules::ledger::EntryKind;
use tillcard::store::Store;
use tillcard::ui::{UiApp, Wake};

#[path = "util/ui.rs"]
mod ui_util;
use ui_util::Till;

/// A window with the demo terminal behind it (its data folder with it).
struct DemoTill {
    till: Till,
    _data: tempfile::TempDir,
}

impl std::ops::Deref for DemoTill {
    type Target = Till;
    fn deref(&self) -> &Till {
        &self.till
    }
}

impl DemoTill {
    fn start(frames: Option<&Path>) -> DemoTill {
        i_slint_backend_testing::init_no_event_loop();
        let data = tempfile::tempdir().unwrap();
        let mut config = TerminalConfig::embedded_demo();
        config.data_dir = data.path().to_path_buf();
        config.language = tillcard::config::LanguageSetting::En;
        config.sound = false;
        config.camera.device = -1;
        config.camera.frames_dir = frames.map(Path::to_path_buf);
        let app = UiApp::start(config, Arc::new(SystemClock::new()), Wake::Manual).unwrap();
        let till = Till::show(app);
        till.wait(|c| !c.clerks.is_empty());
        DemoTill { till, _data: data }
    }
}

#[test]
fn a_member_checkout_with_tier_discount_coupon_and_points_takes_two_taps_after_the_scan() {
    let frames = tempfile::tempdir().unwrap();
    let cards = tillcard::terminal::demo_card_paths();
    std::fs::copy(&cards[0], frames.path().join("card.png")).unwrap();
    let till = DemoTill::start(Some(frames.path()));
    let member = DEMO_MEMBERS[0].member_id();
    let before = till.store(move |s| s.account(member));

    till.login("c01", "3817");
    till.tap("new sale");
    till.keys("128");
    till.tap("category 1");
    till.wait(|c| c.sale.priced.is_some());

    // The member holds the card up: the file frame source feeds the camera
    // path, the scan attaches them to the sale and reprices it.
    till.wait(|c| c.sale.member.is_some() && c.sale.quote().is_some_and(|q| q.member.is_some()));
    assert!(till.ui().get_sale_member().shown);
    let taps_before = till.taps();
    till.tap("max points");
    till.wait(|c| c.sale.quote().is_some_and(|q| q.points_redeemed > 0));
    till.tap("confirm sale");
    till.wait(|c| c.page == Page::Receipt);
    let taps = till.taps() - taps_before;
    println!("taps after the scan: {taps}");
    assert!(taps <= 3, "{taps} taps after the scan");

    let done = till.app.counter().last_sale.clone().unwrap();
    let quote = &done.receipt.quote;
    assert_eq!(
        quote.tier_discount.as_ref().unwrap().rate_bp,
        1_000,
        "gold 9折"
    );
    assert!(quote.coupon.is_some(), "the welcome coupon applied itself");
    assert!(quote.points_redeemed >= 100);
    let sale = done.receipt.sale;
    let stored = till.store(move |s| s.sale(sale));
    assert_eq!(&stored, quote, "the ledger holds the sale as shown");
    let after = till.store(move |s| s.account(member));
    let now = chrono::Local::now().fixed_offset();
    assert_eq!(
        after.points_balance(now),
        before.points_balance(now) - quote.points_redeemed + quote.earn.points
    );
    assert!(
        after.usable_coupons(now).next().is_none(),
        "the coupon is used"
    );
    assert!(
        done.receipt
            .entries
            .iter()
            .any(|e| matches!(e.kind, EntryKind::PointsEarned { .. }))
    );
    let info: Vec<String> = till
        .ui()
        .get_receipt_info()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(
        info[0].contains(&format!("Earns {} points", quote.earn.points)),
        "{info:?}"
    );
}

#[test]
fn enrollment_refuses_a_phone_already_enrolled_and_shows_the_new_card() {
    let till = DemoTill::start(None);
    till.login("c02", "4926");
    till.tap("enroll");
    till.keys(DEMO_MEMBERS[0].phone);
    till.tap("consent");
    till.tap("submit enrollment");
    till.wait(|c| c.enroll.error.is_some());
    let error = till.ui().get_enroll_error().to_string();
    assert!(error.contains("already enrolled"), "{error}");
    assert!(
        error.contains("199****1001"),
        "masked phone in the message: {error}"
    );
    assert!(
        !error.contains(DEMO_MEMBERS[0].phone),
        "raw phone shown: {error}"
    );
    assert_eq!(till.app.counter().page, Page::Enroll);

    till.tap("key back");
    till.tap("key 9");
    till.tap("surname 赵");
    till.tap("submit enrollment");
    till.wait(|c| c.page == Page::EnrollDone);
    let done = till.app.counter().enrolled.clone().unwrap();
    assert_eq!(done.member.record.phone_masked, "199****1009");
    assert_eq!(done.member.record.name_masked, "赵*");
    assert!(
        done.member.account.usable_coupons(done.member.at).count() == 1,
        "welcome coupon issued"
    );
    // The card on screen and in the PNG reads back as this member's card
    // (the saved PNG is sealed under the store's files key: opened with it).
    let saved = done.card_png.clone().unwrap();
    let files_key = till.store(|s| Ok(s.files_key()));
    let png_bytes = tillcard::saved_files::SavedFiles::read_sealed(&saved, &files_key).unwrap();
    assert!(
        !std::fs::read(&saved).unwrap().starts_with(b"\x89PNG"),
        "the card is not saved in the clear"
    );
    let opened = tempfile::tempdir().unwrap();
    let png = opened.path().join("card.png");
    std::fs::write(&png, &png_bytes).unwrap();
    let frame = tillcard::scan::file_source::load_luma(&png).unwrap();
    let text = tillcard::scan::decode::DecoderKind::Combined
        .build()
        .decode(&frame)
        .unwrap();
    assert_eq!(text, done.card_text);
    let token = tillcard::scan::credential::parse_token(&text).unwrap();
    let id = done.member.record.id;
    let verifier = till.store(Store::card_verifier);
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let credential = verifier
        .verify(&token, now_unix)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(credential.member_id, id.0);
    assert!(till.shows("member card"));
}

#[test]
fn a_refund_needs_the_manager_pin() {
    let till = DemoTill::start(None);
    till.login("c01", "3817");
    till.tap("new sale");
    till.keys("30");
    till.tap("category 3");
    till.wait(|c| c.sale.priced.is_some());
    till.tap("confirm sale");
    till.wait(|c| c.page == Page::Receipt);
    till.tap("next customer");

    till.tap("manager");
    assert!(till.app.counter().prompt.is_some());
    assert!(!till.shows("open refund"), "no manager menu before the PIN");
    till.tap("manager m01");
    till.keys("1111");
    till.tap("approve");
    till.wait(|c| c.prompt.as_ref().is_some_and(|p| p.error.is_some()));
    assert!(till.ui().get_prompt_error().contains("Wrong PIN"));
    assert_eq!(till.app.counter().page, Page::Home);
    till.keys("738162");
    till.tap("approve");
    till.wait(|c| c.page == Page::Manager);

    till.tap("open refund");
    till.wait(|c| !c.refund.sales.is_empty());
    till.tap("sale 1");
    till.wait(|c| c.refund.sale.is_some());
    till.tap("confirm refund");
    till.wait(|c| c.refunded.is_some());
    let refunded = till.app.counter().refunded.clone().unwrap();
    assert_eq!(
        refunded.outcome.money,
        tillcard::rules::Money::from_yuan(30)
    );
    let audit = till.store(|s| s.recent_audit(3));
    let row = audit.iter().find(|r| r.action == "refund").unwrap();
    assert_eq!(row.clerk, "c01");
    let chain = till.store(|s| s.verify_audit_chain());
    assert!(chain.is_ok());
}

#[test]
fn the_language_switch_changes_the_views_and_the_rust_made_strings() {
    let till = DemoTill::start(None);
    till.login("c01", "3817");
    assert!(till.shows("Scan a member card"));
    assert_eq!(till.ui().get_status().text, "Offline");
    till.tap("switch language");
    assert!(
        till.shows("请扫描会员码"),
        "the view's @tr strings are Chinese"
    );
    assert!(!till.shows("Scan a member card"));
    assert_eq!(till.ui().get_status().text, "离线", "Rust-made strings too");
    till.tap("new sale");
    assert_eq!(till.text("amount entry"), "输入金额");
    let keys: Vec<String> = till
        .ui()
        .get_quick_keys()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(keys[0], "食品杂货");
    till.tap("switch language");
    assert_eq!(till.text("amount entry"), "Key an amount");
}

#[test]
fn a_keyboard_wedge_scanner_typing_a_card_opens_the_member() {
    let till = DemoTill::start(None);
    till.login("c01", "3817");
    let card = tillcard::demo::demo_card_text(&DEMO_MEMBERS[1]);
    let window = till.app.window().window();
    // The scanner types the card's text and Enter, a key every few ms.
    for c in card.chars().chain(std::iter::once('\n')) {
        window.dispatch_event(slint::platform::WindowEvent::KeyPressed {
            text: c.to_string().into(),
        });
        window.dispatch_event(slint::platform::WindowEvent::KeyReleased {
            text: c.to_string().into(),
        });
    }
    till.wait(|c| c.page == Page::Member);
    let member = till.app.counter().member.clone().unwrap();
    assert_eq!(member.record.id, DEMO_MEMBERS[1].member_id());
    assert!(till.ui().get_scan_good());
    assert!(till.ui().get_scan_flash(), "the scan area flashes");

    // A person typing slowly is not a scan.
    till.tap("home");
    let before = till.app.counter().scan.as_ref().map(|s| s.serial);
    let start = std::time::Instant::now();
    for (i, c) in card.chars().chain(std::iter::once('\n')).enumerate() {
        till.app.wedge_key(
            &c.to_string(),
            start + std::time::Duration::from_millis(200 * i as u64),
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    till.app.drain();
    assert_eq!(till.app.counter().scan.as_ref().map(|s| s.serial), before);
    assert_eq!(till.app.counter().page, Page::Home);
}

/// A head office on its own thread and runtime (the test thread is the UI
/// thread); its URL and a fresh one-time enrollment code.
fn head_office(dir: &Path) -> (String, String) {
    use tillcard_hq::service::{Hq, serve};
    let (tx, rx) = std::sync::mpsc::channel();
    let path = dir.join("hq.sqlite");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let store: Arc<dyn tillcard_hq::store::Store> =
                Arc::new(tillcard_hq::store::sqlite::SqliteStore::open(&path).unwrap());
            let hq = Arc::new(Hq::open(store, None).await.unwrap());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let code = hq.issue_code("S001").await.unwrap();
            tx.send((url, code)).unwrap();
            let _ = serve(listener, hq, std::future::pending()).await;
        });
    });
    rx.recv().unwrap()
}

impl DemoTill {
    /// Types `text` on the on-screen keyboard, key by key as a person would
    /// (shift before a capital, only keys the keyboard shows).
    fn type_text(&self, text: &str) {
        for c in text.chars() {
            if c == ' ' {
                self.tap("type space");
                continue;
            }
            if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != self.ui().get_keyboard_shifted()
            {
                self.tap("type shift");
            }
            self.tap(&format!("type {c}"));
        }
    }
}

#[test]
fn the_on_screen_keyboard_types_a_name_and_registers_the_terminal_with_no_hardware_keyboard() {
    let till = DemoTill::start(None);
    till.login("c02", "4926");
    till.tap("enroll");
    assert!(!till.ui().get_keyboard_shown());
    till.tap("keyboard enroll name");
    assert!(till.ui().get_keyboard_shown());
    assert!(
        till.ui().get_keyboard_shifted(),
        "a name starts with a capital"
    );
    till.type_text("Li Wei");
    till.tap("type backspace");
    assert_eq!(till.text("keyboard text"), "Li We");
    assert_eq!(
        till.ui().get_enroll_name(),
        "Li We",
        "the name field shows what the keyboard typed"
    );
    till.tap("type done");
    assert!(!till.ui().get_keyboard_shown());
    till.keys("19900001234");
    till.tap("consent");
    till.tap("submit enrollment");
    till.wait(|c| c.page == Page::EnrollDone);
    let done = till.app.counter().enrolled.clone().unwrap();
    assert_eq!(done.member.record.name_masked, "L****");

    // Registering the terminal: head office's address and the code typed on
    // the keyboard, behind the manager PIN.
    let hq_dir = tempfile::tempdir().unwrap();
    let (url, code) = head_office(hq_dir.path());
    till.tap("home");
    till.tap("manager");
    till.tap("manager m01");
    till.keys("738162");
    till.tap("approve");
    till.wait(|c| c.page == Page::Manager);
    till.tap("open settings");
    till.tap("keyboard head office address");
    assert!(
        !till.ui().get_keyboard_shifted(),
        "an address starts lower case"
    );
    till.type_text(&url);
    till.tap("type done");
    till.tap("keyboard enrollment code");
    till.type_text(&code);
    assert_eq!(till.ui().get_provision_code(), code.as_str());
    // The keyboard goes with its screen's Register button.
    till.tap("register terminal");
    assert!(!till.ui().get_keyboard_shown());
    till.wait(|c| c.provision_result.is_some());
    let result = till.app.counter().provision_result.clone().unwrap();
    assert!(!result.bad, "{}", result.text);
    assert!(till.app.counter().head_office_configured);
    assert_eq!(
        till.ui().get_provision_code(),
        "",
        "the spent code is cleared"
    );
    let registered = till.store(|s| Ok(s.credentials().map(|c| c.terminal_id)));
    assert!(
        registered.is_some(),
        "the store holds the terminal's identity"
    );
    assert_eq!(
        till.app.terminal().head_office_url().as_deref(),
        Some(url.as_str()),
        "the typed address is kept for the next start"
    );
}

/// A member head office froze (their snapshot says so): the member page
/// tells the clerk, and a sale for them takes no points however the clerk
/// asks.
#[test]
fn a_frozen_member_is_shown_frozen_and_redeems_no_points() {
    let till = DemoTill::start(None);
    let member = DEMO_MEMBERS[0].member_id();
    till.store(move |s: &mut Store| {
        let mut record = s.find_member(member)?.expect("a demo member");
        let account = s.account(member)?;
        record.frozen = true;
        s.apply_member_snapshot(&record, &account)
    });
    till.login("c01", "3817");
    let card = tillcard::demo::demo_card_text(&DEMO_MEMBERS[0]);
    let scan = || {
        let start = std::time::Instant::now();
        for (i, c) in card.chars().chain(std::iter::once('\n')).enumerate() {
            let at = start + std::time::Duration::from_millis(i as u64);
            till.app.wedge_key(&c.to_string(), at);
        }
    };
    scan();
    till.wait(|c| c.page == Page::Member);
    assert!(till.shows("member frozen"), "the clerk sees the freeze");

    till.tap("home");
    till.tap("new sale");
    till.keys("128");
    till.tap("category 1");
    till.wait(|c| c.sale.priced.is_some());
    scan();
    till.wait(|c| c.sale.quote().is_some_and(|q| q.member.is_some()));
    // The most points the rules allow this member is none: Max points is
    // disabled, and nothing is redeemed.
    let (quote, max_points) = {
        let counter = till.app.counter();
        let priced = counter.sale.priced.clone().unwrap();
        (priced.quote, priced.max_points)
    };
    let balance = till
        .store(move |s| s.account(member))
        .points_available(chrono::Local::now().fixed_offset());
    println!(
        "frozen member at the counter: {balance} points held, at most {max_points} redeemable, {} redeemed",
        quote.points_redeemed
    );
    assert!(balance >= 100, "the demo member holds points");
    assert_eq!(max_points, 0);
    assert_eq!(till.ui().get_max_points(), 0, "Max points is disabled");
    assert!(
        !till.ui().get_stored_value_enabled(),
        "and so is stored value"
    );
    assert_eq!(quote.points_redeemed, 0);
}

/// A member whose card head office re-issued (serial 2, the downlink's
/// snapshot says so) and who is found by phone: the member screen shows
/// the new card, signed here, which verifies at this terminal with the new
/// serial; found by scanning a card, the member has one in hand and the
/// screen shows none.
#[test]
fn a_member_found_by_phone_after_a_reissue_is_shown_the_new_card() {
    use tillcard_protocol::wire::{Change, ChangesPage, MemberSnapshot};
    let till = DemoTill::start(None);
    let demo = &DEMO_MEMBERS[0];
    let member = demo.member_id();
    till.store(move |s: &mut Store| {
        let record = s.find_member(member)?.expect("a demo member");
        let account = s.account(member)?;
        s.apply_changes(ChangesPage {
            changes: vec![Change::Member {
                snapshot: Box::new(MemberSnapshot {
                    member,
                    masked_name: Some(record.name_masked.clone()),
                    masked_phone: Some(record.phone_masked.clone()),
                    phone_lookup: None,
                    birthday: record.birthday,
                    tags: record.tags.clone(),
                    referrer: None,
                    frozen: false,
                    card_serial: Some(2),
                    merged_into: None,
                    card: None,
                    account,
                }),
            }],
            cursor: "reissue".into(),
            more: false,
            acked_seq: None,
            resync: false,
        })
    });
    till.login("c01", "3817");
    till.tap("find by phone");
    till.keys(demo.phone);
    till.tap("find member");
    till.wait(|c| c.page == Page::Member);
    let card = till.app.counter().member.clone().unwrap().new_card;
    let shown = till.ui().get_new_card_shown();
    let note = till.text("new card note");
    let card = card.expect("the re-issued card");
    let credential = tillcard::scan::credential::parse_token(&card).unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let verified = till
        .store(|s| s.card_verifier())
        .verify(&credential, now)
        .map(|c| c.card_serial);
    println!("found by phone: new card shown {shown}, serial {verified:?}; note {note:?}");
    assert!(shown, "the member screen shows the new card");
    assert!(till.shows("new member card"));
    assert!(note.contains("re-issued"), "{note}");
    assert_eq!(credential.credential.member_id, member.0);
    assert_eq!(verified, Ok(2), "the new card scans here with serial 2");

    // Scanned: the member holds a card, the screen offers none.
    till.tap("home");
    let text = tillcard::demo::demo_card_text(demo);
    let start = std::time::Instant::now();
    for (i, c) in text.chars().chain(std::iter::once('\n')).enumerate() {
        till.app.wedge_key(
            &c.to_string(),
            start + std::time::Duration::from_millis(i as u64),
        );
    }
    till.wait(|c| c.page == Page::Member);
    assert!(
        till.app
            .counter()
            .member
            .as_ref()
            .unwrap()
            .new_card
            .is_none()
    );
    assert!(!till.ui().get_new_card_shown());
}
