//! A receipt printed through the spooler to a virtual network printer on a
//! loopback port, and read back from the bytes the printer received: the
//! texts (Chinese and English), the commands, the QR code's payload, the
//! reprint marker, and every line within its paper's width.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure is a test failure"
)]

mod util;

use std::sync::mpsc;

use tillcard_print::layout::{columns, line_capacity};
use tillcard_print::virtual_printer::{
    Decoded, VirtualNetworkPrinter, command_names, decode, plain_text, printed_lines, qr_payloads,
};
use tillcard_print::{ItemLine, Labels, Paper, PrintJob, Receipt, SpoolEvent, Spooler, Transport};

/// Prints the jobs on a fresh virtual printer and returns each job decoded.
fn print_all(paper: Paper, jobs: Vec<PrintJob>, reprints: usize) -> Vec<Vec<Decoded>> {
    let printer = VirtualNetworkPrinter::start().unwrap();
    let (events_tx, events) = mpsc::channel();
    let spooler = Spooler::start(
        util::quick_config(Transport::Network(printer.addr()), paper),
        events_tx,
    )
    .unwrap();
    let count = jobs.len() + reprints;
    for job in jobs {
        spooler.submit(job).unwrap();
    }
    for _ in 0..reprints {
        spooler.reprint().unwrap();
    }
    for _ in 0..count {
        util::wait_for(&events, |e| matches!(e, SpoolEvent::Printed(_)));
    }
    assert!(printer.status_requests() >= 3 * count);
    let jobs = printer.jobs();
    assert_eq!(jobs.len(), count);
    jobs.iter().map(|bytes| decode(bytes)).collect()
}

fn sale(receipt: Receipt) -> PrintJob {
    PrintJob {
        receipt,
        open_drawer: true,
    }
}

#[test]
fn a_receipt_in_chinese_and_english_reads_back_from_the_printer() {
    let decoded = print_all(Paper::Mm80, vec![sale(Receipt::sample())], 0).remove(0);
    let text = plain_text(&decoded);
    for expected in [
        "Tillcard 徐汇店",
        "收银员 王小明",
        "终端 T03",
        "单号 S-0003-000123",
        "乌龙茶 500ml",
        "Espresso beans, dark roast 1kg",
        "全麦面包（切片）家庭装",
        "会员 张*华",
        "本单积分",
        "+133",
        "积分抵扣",
        "-500",
        "积分余额",
        "2,480",
        "储值余额",
        // The yen sign is printed in its GB2312 (full-width) form.
        "￥71.18",
        "已用优惠券 WELCOME10 新会员券",
        "应付合计 Total",
        "￥133.82",
        "谢谢惠顾 Thank you",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("重印"), "a first print is no reprint");
    assert_eq!(
        qr_payloads(&decoded),
        ["https://tillcard.example/r/S-0003-000123"]
    );

    let names = command_names(&decoded);
    assert_eq!(&names[..2], ["init", "chinese on"]);
    for expected in [
        "bold",
        "align",
        "size",
        "qr model",
        "qr size",
        "qr error level",
        "qr store",
        "qr print",
        "chinese off",
        "cut",
        "drawer kick",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    assert!(!names.contains(&"status request"), "status is not printed");
    let args = |name: &str| {
        decoded.iter().find_map(|d| match d {
            Decoded::Command { name: n, args } if *n == name => Some(args.clone()),
            _ => None,
        })
    };
    assert_eq!(args("qr model"), Some(vec![50, 0]), "model 2");
    assert_eq!(args("qr error level"), Some(vec![49]), "level M");
    assert_eq!(args("cut"), Some(vec![66, 0]));
    assert_eq!(args("drawer kick"), Some(vec![0, 25, 250]));
    assert_eq!(
        names.last(),
        Some(&"drawer kick"),
        "the drawer opens after the cut"
    );
    assert!(
        !decoded.iter().any(|d| matches!(d, Decoded::Unknown(_))),
        "every byte sent is a known command or text"
    );
}

#[test]
fn a_reprint_is_marked_and_leaves_the_drawer_shut() {
    let mut english = Receipt::sample();
    english.labels = Labels::en();
    for (receipt, marker) in [(Receipt::sample(), "重印"), (english, "REPRINT")] {
        let jobs = print_all(Paper::Mm58, vec![sale(receipt)], 1);
        let (first, again) = (&jobs[0], &jobs[1]);
        assert!(!plain_text(first).contains(marker));
        assert!(plain_text(again).contains(marker), "{}", plain_text(again));
        assert!(plain_text(again).contains("张*华"));
        assert!(command_names(first).contains(&"drawer kick"));
        assert!(!command_names(again).contains(&"drawer kick"));
    }
}

#[test]
fn no_line_is_wider_than_its_paper_and_80_mm_uses_its_width() {
    let mut long = Receipt::sample();
    long.store = "Tillcard 上海市徐汇区漕溪北路旗舰店 Flagship".into();
    long.lines.push(ItemLine {
        name: "Supercalifragilisticexpialidocious-extra-long-product-name 超长商品名称测试用"
            .into(),
        qty_text: "12 x ¥1,234.56 (会员价 member price)".into(),
        amount_text: "¥14,814.72".into(),
    });
    let mut widest = Vec::new();
    for paper in [Paper::Mm58, Paper::Mm80] {
        let decoded = print_all(paper, vec![sale(long.clone())], 0).remove(0);
        let lines = printed_lines(&decoded);
        for line in &lines {
            let capacity = line_capacity(paper, line.double_width);
            assert!(
                columns(&line.text) <= capacity,
                "{paper:?}: {:?} takes {} of {capacity} columns",
                line.text,
                columns(&line.text)
            );
        }
        assert!(lines.iter().any(|l| l.double_width), "the store is large");
        widest.push(lines.iter().map(|l| columns(&l.text)).max().unwrap_or(0));
    }
    assert_eq!(widest, [32, 48], "each paper's rule spans its width");
}
