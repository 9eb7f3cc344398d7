//! The shift close (Z report, issue 24) through the real window headless
//! (Slint's testing backend) against the demo store: three sales with
//! different tenders (cash with change, a bank card, WeChat Pay and cash
//! split), then a manager opens the shift close with their PIN, the
//! preview shows the shift's figures, "Close and print" (tapped twice)
//! closes it once: the store's close row and its `shift_closed` outbox
//! event, and the Z report on a virtual network printer read back to text
//! with the sales count and every tender's total. It prints again on
//! request, and a second close right after is an empty shift of zeros.
//! A printer out of paper shows on the status strip and does not hold the
//! close up; the report prints once paper is back.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::Duration;

use tillcard::counter::Page;
use tillcard::rules::Money;
use tillcard::rules::shift::ShiftTender;
use tillcard::rules::tenders::TenderKind;
use tillcard_print::PrinterStatus;
use tillcard_print::virtual_printer::{VirtualNetworkPrinter, command_names, decode, plain_text};

#[path = "util/ui.rs"]
mod ui_util;
use ui_util::{Till, demo_config, print_job, start_till};

/// Commits the sale on screen with `tenders` (a keyed amount, or none for
/// the rest due, then the tender's button) and adds what each tender took
/// to `taken`; back to the scan screen after.
fn pay(till: &Till, tenders: &[(&str, &str)], taken: &mut [Money; 4]) {
    till.wait(|c| c.sale.quote().is_some());
    let sales_before = till
        .app
        .counter()
        .last_sale
        .as_ref()
        .map(|d| d.receipt.sale);
    for (keys, button) in tenders {
        till.keys(keys);
        till.tap(button);
    }
    till.wait(|c| {
        c.page == Page::Receipt && c.last_sale.as_ref().map(|d| d.receipt.sale) != sales_before
    });
    let payment = till.app.counter().last_payment.clone().unwrap();
    for t in &payment.tenders {
        let i = TenderKind::ALL.iter().position(|k| *k == t.kind).unwrap();
        taken[i] += t.amount;
    }
    till.tap("next customer");
    till.wait(|c| c.page == Page::Home);
}

/// The manager's PIN from the manager button, then the shift close, its
/// preview loaded.
fn open_shift_close(till: &Till) {
    till.tap("manager");
    till.tap("manager m01");
    till.keys("738162");
    till.tap("approve");
    till.wait(|c| c.page == Page::Manager);
    till.tap("open shift close");
    till.wait(|c| c.page == Page::ShiftClose && c.shift_close.preview.is_some());
}

/// The screen's figure labelled `label` (the first such row).
fn shown(till: &Till, label: &str) -> String {
    slint::Model::iter(&till.ui().get_shift_rows())
        .find(|r| r.label == label)
        .map(|r| r.amount.to_string())
        .unwrap_or_else(|| panic!("no row {label:?} on screen"))
}

/// The printed line that starts with `label`.
fn printed_line<'t>(text: &'t str, label: &str) -> &'t str {
    text.lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} on the report:\n{text}"))
}

/// Money as the 58 mm paper prints it (the full-width yen of GBK).
fn paper(amount: Money) -> String {
    amount.to_string().replace('¥', "￥")
}

#[test]
fn three_sales_closed_once_and_printed_then_an_empty_shift() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let till = start_till(demo_config(data.path(), Some(&printer)));
    till.login("c01", "3817");
    // Cash, bank card, WeChat Pay, Alipay.
    let mut taken = [Money::ZERO; 4];

    // Cola, ¥10 in cash: change.
    till.wedge("6901028075022");
    pay(&till, &[("10", "tender cash")], &mut taken);
    let change = Money::from_fen(1000) - taken[0];
    assert!(change > Money::ZERO);
    // Noodles on a bank card.
    till.wedge("6901028075039");
    pay(&till, &[("", "tender bank card")], &mut taken);
    // ¥88 on a category key, ¥50 by WeChat Pay and the rest in cash.
    till.tap("new sale");
    till.keys("88");
    till.tap("category 1");
    pay(
        &till,
        &[("50", "tender wechat pay"), ("", "tender cash")],
        &mut taken,
    );
    assert_eq!(taken[2], Money::from_yuan(50));
    let net = taken.iter().fold(Money::ZERO, |a, b| a + *b);
    // The three receipts printed first.
    print_job(&printer, 3);
    let receipts = 3;

    // The preview: the shift's figures, nothing closed yet.
    open_shift_close(&till);
    assert_eq!(shown(&till, "Sales count"), "3");
    assert_eq!(shown(&till, "Cash"), taken[0].to_string());
    assert_eq!(shown(&till, "Bank card"), taken[1].to_string());
    assert_eq!(shown(&till, "WeChat Pay"), taken[2].to_string());
    assert_eq!(shown(&till, "Alipay"), Money::ZERO.to_string());
    assert_eq!(shown(&till, "Net sales"), net.to_string());
    assert_eq!(shown(&till, "Change given"), change.to_string());
    let heading: Vec<String> = slint::Model::iter(&till.ui().get_shift_heading())
        .map(|s| s.to_string())
        .collect();
    assert!(
        heading.iter().any(|l| l.contains("still open")),
        "{heading:?}"
    );
    let clerks: Vec<String> = slint::Model::iter(&till.ui().get_shift_clerks())
        .map(|r| r.label.to_string())
        .collect();
    assert!(clerks.iter().any(|l| l.ends_with("(c01)")), "{clerks:?}");
    assert!(
        till.store(|s| s.shift_closes(10)).is_empty(),
        "a preview closes nothing"
    );

    // Close and print, tapped twice: one close.
    till.tap("close shift");
    till.tap("close shift");
    till.wait(|c| c.shift_close.closed.is_some());
    let closes = till.store(|s| s.shift_closes(10));
    assert_eq!(closes.len(), 1, "a double tap closes once");
    let close = closes[0].clone();
    let figures = &close.report.terminal;
    assert_eq!(figures.sales, 3);
    assert_eq!(figures.tender(ShiftTender::Cash).net, taken[0]);
    assert_eq!(figures.tender(ShiftTender::BankCard).net, taken[1]);
    assert_eq!(figures.tender(ShiftTender::WechatPay).net, taken[2]);
    assert_eq!(figures.net, net);
    assert_eq!(figures.change_given, change);
    let events = till.store(|s| s.pending_events(1000));
    let closed: Vec<_> = events.iter().filter(|e| e.kind == "shift_closed").collect();
    assert_eq!(closed.len(), 1, "one shift_closed event");
    assert_eq!(closed[0].seq, u64::try_from(close.seq).unwrap());
    assert!(closed[0].payload.contains(&close.shift.0.to_string()));
    assert!(till.text("shift state").starts_with("Shift closed at"));

    // The Z report on paper.
    let report = decode(&print_job(&printer, receipts + 1));
    let text = plain_text(&report);
    println!("printed Z report (58 mm):\n{text}");
    assert!(text.contains("Z report (shift close)"));
    assert!(text.contains("Closed by"));
    assert!(printed_line(&text, "Sales count").ends_with(" 3"));
    assert!(printed_line(&text, "Cash").ends_with(&paper(taken[0])));
    assert!(printed_line(&text, "Bank card").ends_with(&paper(taken[1])));
    assert!(printed_line(&text, "WeChat Pay").ends_with(&paper(taken[2])));
    assert!(printed_line(&text, "Alipay").ends_with(&paper(Money::ZERO)));
    assert!(printed_line(&text, "Net sales").ends_with(&paper(net)));
    assert!(text.contains("(c01)"), "the clerk's section");
    assert!(!command_names(&report).contains(&"drawer kick"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(printer.jobs().len(), receipts + 1, "printed once");

    // Printed again on request, marked.
    till.tap("reprint shift report");
    let copy = plain_text(&decode(&print_job(&printer, receipts + 2)));
    assert!(copy.starts_with("*** REPRINT ***"), "{copy}");
    assert!(printed_line(&copy, "Net sales").ends_with(&paper(net)));

    // Right after: an empty shift, closed and printed with its zeros.
    till.tap("home");
    till.wait(|c| c.page == Page::Home);
    open_shift_close(&till);
    assert_eq!(shown(&till, "Sales count"), "0");
    assert_eq!(shown(&till, "Net sales"), Money::ZERO.to_string());
    till.tap("close shift");
    till.wait(|c| c.shift_close.closed.is_some());
    let closes = till.store(|s| s.shift_closes(10));
    assert_eq!(closes.len(), 2);
    assert_eq!(closes[0].report.terminal.sales, 0);
    assert!(closes[0].report.clerks.is_empty());
    let empty = plain_text(&decode(&print_job(&printer, receipts + 3)));
    assert!(printed_line(&empty, "Sales count").ends_with(" 0"));
    assert!(printed_line(&empty, "Cash").ends_with(&paper(Money::ZERO)));
    assert!(!empty.contains("By clerk"), "no clerk booked anything");
}

#[test]
fn a_printer_out_of_paper_is_shown_and_does_not_hold_up_the_close() {
    let printer = VirtualNetworkPrinter::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let till = start_till(demo_config(data.path(), Some(&printer)));
    till.login("c01", "3817");
    till.wedge("6901028075022");
    let mut taken = [Money::ZERO; 4];
    pay(&till, &[("", "tender alipay")], &mut taken);
    print_job(&printer, 1);
    printer.set_status(PrinterStatus::PaperOut);

    open_shift_close(&till);
    assert_eq!(shown(&till, "Alipay"), taken[3].to_string());
    till.tap("close shift");
    till.wait(|c| c.shift_close.closed.is_some());
    assert_eq!(till.store(|s| s.shift_closes(10)).len(), 1, "closed");
    // The report waits for paper; the strip says why.
    till.wait(|c| c.printer == Some(PrinterStatus::PaperOut));
    assert_eq!(
        till.ui().get_status().printer.as_str(),
        PrinterStatus::PaperOut.en(),
        "the status strip"
    );
    assert_eq!(printer.jobs().len(), 1, "nothing printed without paper");

    printer.set_status(PrinterStatus::Ready);
    let report = plain_text(&decode(&print_job(&printer, 2)));
    assert!(printed_line(&report, "Alipay").ends_with(&paper(taken[3])));
}
