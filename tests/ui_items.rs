//! A real checkout with items (issue 24), through the real window headless
//! (Slint's testing backend) against the demo store and its catalog: items
//! scanned with a keyboard-wedge scanner (one keyed quantity, one scanned
//! twice) and one from a camera photo, a member's card scanned (their
//! member prices replace the shelf prices), cash handed over with change,
//! and the receipt printed on a virtual network printer whose bytes are read back
//! to text and commands.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;
use std::time::{Duration, Instant};

use tillcard::counter::Page;
use tillcard::demo::DEMO_MEMBERS;
use tillcard::rules::Money;
use tillcard_print::virtual_printer::{
    VirtualNetworkPrinter, command_names, decode, plain_text, qr_payloads,
};

#[path = "util/ui.rs"]
mod ui_util;
use ui_util::{Till, demo_config, start_till};

fn lines(till: &Till) -> Vec<(String, i64, Money)> {
    till.app
        .counter()
        .sale
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity, l.unit_price))
        .collect()
}

#[test]
fn items_by_wedge_and_camera_a_member_and_the_receipt_printed() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let till = start_till(demo_config(data.path(), Some(&printer)));
    till.login("c01", "3817");

    // Cola twice with the wedge: one line of two.
    till.wedge("6901028075022");
    till.wait(|c| c.sale.lines.len() == 1);
    till.wedge("6901028075022");
    till.wait(|c| c.sale.lines.first().is_some_and(|l| l.quantity == 2));
    assert_eq!(till.app.counter().page, Page::Checkout);
    // Three noodles: the quantity keyed, then the scan.
    till.keys("3");
    till.wedge("6901028075039");
    till.wait(|c| c.sale.lines.len() == 2);
    // A book from the camera: its photo through the scan pipeline.
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/barcodes/ean13-3/30.webp");
    till.app.terminal().scan_image(&book);
    till.wait(|c| c.sale.lines.len() == 3);
    // An unknown barcode rings up nothing and says so.
    till.wedge("96385074");
    till.wait(|c| c.notice.as_ref().is_some_and(|n| n.bad));
    assert_eq!(
        lines(&till),
        vec![
            ("D-002".into(), 2, Money::from_fen(350)),
            ("D-003".into(), 3, Money::from_fen(450)),
            ("D-008".into(), 1, Money::from_fen(8900)),
        ]
    );

    // The member's card: a gold member pays the cola's member price.
    till.wedge(&tillcard::demo::demo_card_text(&DEMO_MEMBERS[0]));
    till.wait(|c| c.sale.member.is_some() && c.sale.quote().is_some_and(|q| q.member.is_some()));
    assert_eq!(
        lines(&till)[0].2,
        Money::from_fen(300),
        "the gold member price"
    );
    let quote = till.app.counter().sale.quote().cloned().unwrap();
    assert_eq!(
        quote.lines[0].tier_discount,
        Money::ZERO,
        "a member-priced line is not discounted again"
    );
    assert!(
        quote.lines[1].tier_discount > Money::ZERO,
        "the noodles are"
    );
    // Cash: ¥200 handed over, the change booked, shown and printed.
    till.keys("200");
    till.tap("tender cash");
    till.wait(|c| c.page == Page::Receipt);
    let done = till.app.counter().last_sale.clone().unwrap();
    let change = Money::from_fen(20_000) - done.receipt.quote.amount_due;
    assert!(change > Money::ZERO);
    assert_eq!(done.receipt.change, change, "the store booked the change");
    let shown: Vec<String> = slint::Model::iter(&till.ui().get_receipt_rows())
        .map(|r| format!("{} {}", r.label, r.amount))
        .collect();
    assert!(
        shown
            .iter()
            .any(|r| r.starts_with("Change") && r.contains(&change.to_plain_string())),
        "{shown:?}"
    );

    // The receipt reaches the printer (its own thread; the sale did not wait).
    let started = Instant::now();
    while printer.jobs().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing printed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let decoded = decode(&printer.received());
    let text = plain_text(&decoded);
    let commands = command_names(&decoded);
    println!("printed receipt (58 mm):\n{text}\ncommands: {commands:?}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("Change") && l.contains(&change.to_plain_string())),
        "the change on the receipt"
    );
    for expected in [
        "Cash given",
        "Coca-Cola 330 ml",
        "Braised beef noodles",
        "Programming book",
        "Points balance",
        "Clerk",
    ] {
        assert!(text.contains(expected), "{expected:?} not on the receipt");
    }
    let member = &DEMO_MEMBERS[0];
    assert!(!text.contains(member.name), "the member's name unmasked");
    assert!(!text.contains(member.phone), "the member's phone");
    // The QR code is the receipt's signed code: a till of the chain
    // verifies it for a return.
    let code = done
        .receipt_code
        .clone()
        .expect("a demo till signs receipts");
    assert!(code.starts_with("TCR1:"));
    assert_eq!(qr_payloads(&decoded), vec![code.clone()]);
    let verified = till.store(move |s| s.verify_receipt(&code));
    assert_eq!(verified.summary.sale, done.receipt.sale);
    assert_eq!(verified.summary.tenders, done_tenders(&till));
    assert!(commands.contains(&"cut") && commands.contains(&"drawer kick"));
    assert!(
        text.lines().all(|l| unicode_width(l) <= 32),
        "no line wider than the 58 mm paper"
    );

    // A reprint is marked as one and opens no drawer.
    let before = printer.jobs().len();
    till.tap("print receipt");
    let started = Instant::now();
    while printer.jobs().len() == before {
        assert!(started.elapsed() < Duration::from_secs(20), "no reprint");
        std::thread::sleep(Duration::from_millis(50));
    }
    let reprint = decode(printer.jobs().last().unwrap());
    assert!(plain_text(&reprint).contains("REPRINT"));
    assert!(!command_names(&reprint).contains(&"drawer kick"));
}

/// The tenders the counter recorded for the last sale.
fn done_tenders(till: &Till) -> Vec<tillcard::rules::tenders::Tender> {
    till.app
        .counter()
        .last_payment
        .as_ref()
        .map(|p| p.tenders.clone())
        .unwrap_or_default()
}

/// Columns a line takes on the paper (CJK characters two).
fn unicode_width(line: &str) -> usize {
    line.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

/// A label from the back room's scale (the demo reads prefix 2, a 5-digit
/// PLU and the grams): the pork its PLU names, at the label's weight; a
/// label whose PLU the catalog lacks is an unknown barcode.
#[test]
fn a_scale_label_rings_up_its_item_at_the_weight_it_carries() {
    let data = tempfile::tempdir().unwrap();
    let till = start_till(demo_config(data.path(), None));
    till.login("c01", "3817");
    // 2 | 00731 | 001234 | 9: pork, 1.234 kg.
    till.wedge("2007310012349");
    till.wait(|c| c.sale.lines.len() == 1);
    let line = till.app.counter().sale.lines[0].clone();
    assert_eq!(line.sku, "00731");
    // 1.234 kg at ¥26.80/kg = 3307.12 fen -> ¥33.07.
    assert_eq!(line.unit_price, Money::from_fen(3307));
    assert!(line.name.ends_with("1.234kg"), "{}", line.name);
    // PLU 99999 is no item of the catalog.
    till.wedge("2999990001006");
    till.wait(|c| c.notice.as_ref().is_some_and(|n| n.bad));
    assert_eq!(till.app.counter().sale.lines.len(), 1);
}
