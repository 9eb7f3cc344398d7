//! A return at another terminal from the receipt's QR code (issue 24),
//! through two real windows headless (Slint's testing backend) against a
//! real head office on loopback. Till A and till B are two demo terminals
//! registered with head office (each gets its own certified card key); B
//! learns A's key from the downlink. At A a member buys from the catalog
//! by the wedge scanner and pays by bank card and cash; the receipt's QR
//! code is read back from the bytes A sent to its virtual printer. At B
//! that code goes in through the wedge: the manager approves, one item is
//! returned, the money goes back over the sale's two tenders, the refund
//! slip prints on B's printer, B's store holds the return (its
//! `receipt_refunds` row and the `refunded` event naming A as the selling
//! terminal), and the same receipt scanned again shows what was returned
//! as no longer left.
//!
//! The test thread is the UI thread of both windows: head office runs on
//! its own runtime thread, registration and sync run on helper threads,
//! and the stores are read through helper threads.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;
#[path = "util/ui.rs"]
mod ui_util;
use ui_util::{Till, demo_config, print_job, start_till};

use std::sync::Arc;

use tillcard::clock::{Clock, SystemClock};
use tillcard::counter::Page;
use tillcard::demo::DEMO_MEMBERS;
use tillcard::rules::Money;
use tillcard::rules::refund::RefundLine;
use tillcard::rules::tenders::TenderKind;
use tillcard::store::handle::StoreHandle;
use tillcard_print::virtual_printer::{
    Decoded, VirtualNetworkPrinter, command_names, decode, plain_text, qr_payloads,
};
use tillcard_protocol::wire::EventBody;
use uuid::Uuid;

/// Head office on SQLite, served on loopback from its own runtime: the
/// runtime, head office and its URL.
fn head_office(
    dir: &std::path::Path,
) -> (
    tokio::runtime::Runtime,
    Arc<tillcard_hq::service::Hq>,
    String,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (hq, url) = runtime.block_on(async {
        let (_, hq, url) = sync_util::served_hq(dir).await;
        (hq, url)
    });
    (runtime, hq, url)
}

/// Runs `job` on head office's runtime from a helper thread (the test
/// thread is the UI thread: it may not wait on a store).
fn off_ui<R: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    job: impl std::future::Future<Output = R> + Send + 'static,
) -> R {
    let handle = runtime.handle().clone();
    std::thread::spawn(move || handle.block_on(job))
        .join()
        .unwrap()
}

/// Registers `till` with head office for store `store`, as a new till's
/// registration does, and returns its terminal id.
fn register(
    runtime: &tokio::runtime::Runtime,
    hq: &Arc<tillcard_hq::service::Hq>,
    url: &str,
    till: &Till,
    store: &str,
) -> Uuid {
    let handle: StoreHandle = till.app.terminal().store().clone();
    let (hq, url, store) = (hq.clone(), url.to_owned(), store.to_owned());
    off_ui(runtime, async move {
        let code = hq.issue_code(&store).await.unwrap();
        tillcard::uplink::provision(&handle, &url, &code, None, None)
            .await
            .unwrap();
    });
    till.store(|s| Ok(s.credentials().map(|c| c.terminal_id.0)))
        .expect("registered")
}

/// Runs `till`'s sync with head office until idle (its keys and changes
/// come down).
fn sync(runtime: &tokio::runtime::Runtime, url: &str, till: &Till) {
    let handle = till.app.terminal().store().clone();
    let url = url.to_owned();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    off_ui(runtime, async move {
        sync_util::sync_until_idle(&handle, &url, clock, None).await;
    });
}

/// Waits until `printer` holds `jobs` jobs: the `jobs`th one, decoded.
fn printed(printer: &VirtualNetworkPrinter, jobs: usize) -> Vec<Decoded> {
    decode(&print_job(printer, jobs))
}

/// The manager approves on the prompt the receipt's scan opened.
fn approve(till: &Till) {
    till.wait(|c| c.prompt.is_some() || c.page == Page::Return);
    assert!(
        till.app.counter().prompt.is_some(),
        "the manager's PIN first"
    );
    assert_eq!(till.app.counter().page, Page::Home);
    till.tap("manager m01");
    till.keys("738162");
    till.tap("approve");
    till.wait(|c| c.page == Page::Return);
}

#[test]
fn a_return_at_another_terminal_from_the_receipts_qr() {
    tillcard::logging::init_for_tests();
    let hq_dir = tempfile::tempdir().unwrap();
    let (runtime, hq, url) = head_office(hq_dir.path());
    let printer_a = VirtualNetworkPrinter::start().unwrap();
    let printer_b = VirtualNetworkPrinter::start().unwrap();
    let data_a = tempfile::tempdir().unwrap();
    let till_a = start_till(demo_config(data_a.path(), Some(&printer_a)));
    let data_b = tempfile::tempdir().unwrap();
    let till_b = start_till(demo_config(data_b.path(), Some(&printer_b)));
    let terminal_a = register(&runtime, &hq, &url, &till_a, "store-1");
    let terminal_b = register(&runtime, &hq, &url, &till_b, "store-2");
    assert_ne!(terminal_a, terminal_b);
    // B learns the chain's card keys, A's among them.
    sync(&runtime, &url, &till_b);

    // Till A: a member buys two colas and a bowl of noodles, pays ¥5 by
    // bank card and hands over ¥20 in cash.
    till_a.login("c01", "3817");
    till_a.wedge("6901028075022");
    till_a.wait(|c| c.sale.lines.len() == 1);
    till_a.wedge("6901028075022");
    till_a.wait(|c| c.sale.lines.first().is_some_and(|l| l.quantity == 2));
    till_a.wedge("6901028075039");
    till_a.wait(|c| c.sale.lines.len() == 2);
    till_a.wedge(&tillcard::demo::demo_card_text(&DEMO_MEMBERS[0]));
    till_a.wait(|c| c.sale.quote().is_some_and(|q| q.member.is_some()));
    till_a.keys("5");
    till_a.tap("tender bank card");
    till_a.keys("20");
    till_a.tap("tender cash");
    till_a.wait(|c| c.page == Page::Receipt);
    let sale = till_a.app.counter().last_sale.clone().unwrap();
    let paid = till_a.app.counter().last_payment.clone().unwrap().tenders;
    assert_eq!(
        paid.iter().map(|t| t.kind).collect::<Vec<_>>(),
        vec![TenderKind::BankCard, TenderKind::Cash]
    );
    // The receipt's QR code, as printed.
    let receipt = printed(&printer_a, 1);
    let codes = qr_payloads(&receipt);
    assert_eq!(codes.len(), 1);
    let code = codes[0].clone();
    assert!(code.starts_with("TCR1:"), "{code}");
    assert_eq!(Some(&code), sale.receipt_code.as_ref());

    // Till B, another terminal of the chain: the code through the wedge.
    till_b.login("c01", "3817");
    till_b.wedge(&code);
    approve(&till_b);
    let info: Vec<String> = slint::Model::iter(&till_b.ui().get_return_info())
        .map(|l| l.to_string())
        .collect();
    assert_eq!(till_b.text("return sale 1"), info[0]);
    println!("return screen at B: {info:?}");
    let short_a = tillcard::counter::text::till_short(terminal_a);
    assert!(
        info[0].contains("store-1") && info[0].contains(&short_a),
        "{info:?}"
    );
    assert!(
        info.iter()
            .any(|l| l.contains("Bank card ¥5.00") && l.contains("Cash")),
        "{info:?}"
    );
    assert!(
        till_b.text("return line 1").contains("sold 2 · left 2"),
        "{}",
        till_b.text("return line 1")
    );
    assert!(
        till_b.text("return line 2").contains("sold 1 · left 1"),
        "{}",
        till_b.text("return line 2")
    );
    assert_eq!(till_b.text("return quantity 1"), "0", "nothing picked");

    // One cola back.
    till_b.tap("return more 1");
    till_b.tap("return more 1");
    till_b.tap("return more 1");
    till_b.tap("return less 1");
    assert_eq!(till_b.text("return quantity 1"), "1", "within what is left");
    till_b.tap("confirm return");
    till_b.wait(|c| {
        c.return_form
            .as_ref()
            .is_some_and(|f| f.done.is_some() || f.error.is_some())
    });
    let form = till_b.app.counter().return_form.clone().unwrap();
    assert_eq!(form.error, None);
    let done = form.done.clone().unwrap();
    let money_back = &done.refund.money_back;
    println!(
        "money back at B: {:?}, stored value {} fen, points reversed {}",
        money_back
            .iter()
            .map(|t| (t.kind, t.amount.fen()))
            .collect::<Vec<_>>(),
        (done.refund.outcome.stored_value_principal + done.refund.outcome.stored_value_bonus).fen(),
        done.refund.outcome.points_reversed
    );
    assert!(done.refund.outcome.money > Money::ZERO);
    assert_eq!(
        money_back.iter().map(|t| t.amount).sum::<Money>(),
        done.refund.outcome.money,
        "the money back adds up"
    );
    for kind in [TenderKind::BankCard, TenderKind::Cash] {
        let back: Money = money_back
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.amount)
            .sum();
        let taken: Money = paid
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.amount)
            .sum();
        assert!(
            back > Money::ZERO && back <= taken,
            "{kind:?}: {back:?} back of {taken:?}"
        );
    }
    // On screen: what goes back, per tender kind.
    let shown: Vec<String> = slint::Model::iter(&till_b.ui().get_return_result())
        .map(|r| format!("{} {}", r.label, r.amount))
        .collect();
    println!("give back: {shown:?}");
    for t in money_back {
        let name = match t.kind {
            TenderKind::Cash => "Cash",
            TenderKind::BankCard => "Bank card",
            other => panic!("{other:?} was not a tender of the sale"),
        };
        assert!(
            shown.contains(&format!("{name} {}", tillcard::format::money(t.amount))),
            "{shown:?}"
        );
    }
    assert!(till_b.text("notice").contains("Return booked"));
    assert_eq!(till_b.text("return quantity 1"), "0");
    assert!(till_b.text("return line 1").contains("left 1"));

    // The refund slip on B's printer: titled, the cola, the money back;
    // the drawer opens for the cash.
    let slip = printed(&printer_b, 1);
    let text = plain_text(&slip);
    println!("refund slip (58 mm):\n{text}");
    for expected in [
        "RETURN",
        "Coca-Cola 330 ml",
        "Bank card",
        "Cash",
        "Sale returned",
    ] {
        assert!(text.contains(expected), "{expected:?} not on the slip");
    }
    assert!(command_names(&slip).contains(&"drawer kick"));
    assert!(qr_payloads(&slip).is_empty(), "a slip has no return code");

    // B's store: the return's row (what was returned of the receipt here)
    // and its `refunded` event naming A as the selling terminal.
    let code_again = code.clone();
    let verified = till_b.store(move |s| s.verify_receipt(&code_again));
    assert!(!verified.sold_here);
    assert_eq!(verified.summary.terminal, terminal_a);
    assert_eq!(verified.returned_here, vec![1, 0]);
    let events = till_b.store(|s| s.pending_events(1_000));
    let refunded: Vec<EventBody> = events
        .iter()
        .map(|e| serde_json::from_str::<EventBody>(&e.payload).unwrap())
        .filter(|b| matches!(b, EventBody::Refunded { .. }))
        .collect();
    assert_eq!(refunded.len(), 1, "one return booked at B");
    let EventBody::Refunded {
        sale,
        lines,
        sale_terminal,
        tenders,
        approved_by,
        ..
    } = &refunded[0]
    else {
        unreachable!()
    };
    assert_eq!(sale, &verified.summary.sale);
    assert_eq!(
        lines,
        &[RefundLine {
            line: 0,
            quantity: 1
        }]
    );
    assert_eq!(sale_terminal.as_ref().map(|t| t.0), Some(terminal_a));
    assert_eq!(tenders.as_ref(), Some(money_back));
    assert_eq!(approved_by, "m01");

    // The same receipt again, after leaving the screen: the cola returned
    // is no longer left.
    till_b.tap("home");
    assert!(till_b.app.counter().approval.is_none());
    till_b.wedge(&code);
    approve(&till_b);
    assert!(
        till_b.text("return line 1").contains("sold 2 · left 1"),
        "{}",
        till_b.text("return line 1")
    );
    assert!(till_b.text("return line 2").contains("left 1"));

    // A changed code is refused, and nothing changes.
    till_b.tap("home");
    let mut forged = code.into_bytes();
    let at = forged.len() / 2;
    forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
    let before = till_b.app.counter().scan.as_ref().map_or(0, |s| s.serial);
    till_b.wedge(&String::from_utf8(forged).unwrap());
    till_b.wait(|c| {
        c.scan.as_ref().is_some_and(|s| s.serial > before)
            && c.notice.as_ref().is_some_and(|n| n.bad)
    });
    let notice = till_b.app.counter().notice.clone().unwrap();
    println!("a changed code: {}", notice.text);
    assert!(till_b.app.counter().prompt.is_none());
    assert_eq!(till_b.app.counter().page, Page::Home);
    assert_eq!(
        till_b
            .store(|s| s.pending_events(1_000))
            .iter()
            .filter(|e| e.kind == "refunded")
            .count(),
        1,
        "nothing more booked"
    );
}
