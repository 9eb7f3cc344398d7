//! Words of the shift close (Z report, issue 24): the figures' labels in
//! sections, the same on the screen's preview and on paper, each clerk's
//! compact lines, the heading lines and what the screen says once closed.
//!
//! A figure row is `(label, figure, strong)`; money as `¥12.30`, counts
//! and points as plain numbers. The terminal's sections list every figure,
//! zeros included (an empty shift prints its zeros, as a till's Z report
//! does); a clerk's section leaves out the lines that are zero, so a shift
//! of many clerks stays short.

use tillcard_rules::Money;
use tillcard_rules::Timestamp;
use tillcard_rules::shift::{ShiftFigures, ShiftTender};

use super::{phrases, pick, yuan};
use crate::format::Language;

/// One figure: label, formatted figure, printed strong.
pub type FigureRow = (String, String, bool);

phrases! {
    /// The close was sent; its answer is not in yet.
    shift_closing => "正在交班…", "Closing the shift…";
    /// The preview is on its way.
    shift_loading => "正在读取本班数据…", "Reading the shift's figures…";
}

/// A tender line's name.
pub fn shift_tender_name(language: Language, tender: ShiftTender) -> String {
    let (zh, en) = tender.names();
    pick(language, zh, en)
}

fn row(language: Language, zh: &str, en: &str, figure: String, strong: bool) -> FigureRow {
    (pick(language, zh, en), figure, strong)
}

fn minus(amount: Money) -> String {
    if amount == Money::ZERO {
        yuan(amount)
    } else {
        format!("-{}", yuan(amount))
    }
}

/// A tender's line: its net, with what refunds gave back when they did.
fn tender_row(language: Language, figures: &ShiftFigures, tender: ShiftTender) -> FigureRow {
    let line = figures.tender(tender);
    let name = shift_tender_name(language, tender);
    let label = if line.refunds == Money::ZERO {
        name
    } else {
        match language {
            Language::ZhCn => format!("{name} (退 {})", yuan(line.refunds)),
            Language::En => format!("{name} (refunds {})", yuan(line.refunds)),
        }
    };
    (label, yuan(line.net), false)
}

/// The terminal's figures in sections (heading, rows): sales, tenders,
/// points, stored value, refunds. Every figure, zeros included.
pub fn shift_sections(language: Language, f: &ShiftFigures) -> Vec<(String, Vec<FigureRow>)> {
    let l = language;
    let mut tenders: Vec<FigureRow> = ShiftTender::ALL
        .into_iter()
        .map(|t| tender_row(l, f, t))
        .collect();
    tenders.push(row(l, "找零", "Change given", yuan(f.change_given), false));
    tenders.push(row(
        l,
        "钱箱应有现金",
        "Cash expected in drawer",
        yuan(f.cash_expected),
        true,
    ));
    vec![
        (
            pick(l, "销售", "Sales"),
            vec![
                row(l, "销售笔数", "Sales count", f.sales.to_string(), false),
                row(l, "原价合计", "Gross", yuan(f.gross), false),
                row(l, "优惠合计", "Discounts", minus(f.discounts), false),
                row(l, "实收合计", "Net sales", yuan(f.net), true),
            ],
        ),
        (pick(l, "收款方式", "Tenders"), tenders),
        (
            pick(l, "积分", "Points"),
            vec![
                row(
                    l,
                    "发放积分",
                    "Points issued",
                    f.points_issued.to_string(),
                    false,
                ),
                row(
                    l,
                    "使用积分",
                    "Points redeemed",
                    f.points_redeemed.to_string(),
                    false,
                ),
                row(
                    l,
                    "退回积分",
                    "Points returned",
                    f.points_returned.to_string(),
                    false,
                ),
                row(
                    l,
                    "扣回积分",
                    "Points reversed",
                    f.points_reversed.to_string(),
                    false,
                ),
            ],
        ),
        (
            pick(l, "储值", "Stored value"),
            vec![
                row(l, "充值笔数", "Top-ups", f.top_ups.to_string(), false),
                row(
                    l,
                    "储值转入 (本金)",
                    "Stored value in (paid)",
                    yuan(f.stored_value_in_principal),
                    false,
                ),
                row(
                    l,
                    "储值转入 (赠送)",
                    "Stored value in (bonus)",
                    yuan(f.stored_value_in_bonus),
                    false,
                ),
                row(
                    l,
                    "储值转出",
                    "Stored value out",
                    yuan(f.stored_value_out),
                    false,
                ),
            ],
        ),
        (
            pick(l, "退款", "Refunds"),
            vec![
                row(l, "退款笔数", "Refunds count", f.refunds.to_string(), false),
                row(l, "退款金额", "Refunded", yuan(f.refunded), false),
            ],
        ),
    ]
}

/// One clerk's figures, compact: the sales count and net always, every
/// other line only when it is not zero.
pub fn clerk_rows(language: Language, f: &ShiftFigures) -> Vec<FigureRow> {
    let l = language;
    let mut rows = vec![
        row(l, "销售笔数", "Sales count", f.sales.to_string(), false),
        row(l, "实收合计", "Net sales", yuan(f.net), false),
    ];
    if f.discounts != Money::ZERO {
        rows.push(row(l, "优惠合计", "Discounts", minus(f.discounts), false));
    }
    for tender in ShiftTender::ALL {
        let line = f.tender(tender);
        if line.sales != Money::ZERO || line.refunds != Money::ZERO {
            rows.push(tender_row(l, f, tender));
        }
    }
    let points = [
        ("发放积分", "Points issued", f.points_issued),
        ("使用积分", "Points redeemed", f.points_redeemed),
    ];
    for (zh, en, n) in points {
        if n != 0 {
            rows.push(row(l, zh, en, n.to_string(), false));
        }
    }
    let stored = [
        ("储值转入", "Stored value in", f.stored_value_in()),
        ("储值转出", "Stored value out", f.stored_value_out),
    ];
    for (zh, en, amount) in stored {
        if amount != Money::ZERO {
            rows.push(row(l, zh, en, yuan(amount), false));
        }
    }
    if f.refunds > 0 {
        rows.push(row(
            l,
            "退款笔数",
            "Refunds count",
            f.refunds.to_string(),
            false,
        ));
        rows.push(row(l, "退款金额", "Refunded", yuan(f.refunded), false));
    }
    rows
}

/// A clerk's heading: their name and id ("王小明 (c01)"); the id alone
/// for a clerk no longer on this till's list.
pub fn clerk_heading(name: Option<&str>, id: &str) -> String {
    match name {
        Some(name) => format!("{name} ({id})"),
        None => id.to_owned(),
    }
}

/// A moment as the report shows it ("2026-12-07 18:05").
pub fn shift_time(at: &Timestamp) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// The store's name on the report and on screen ("Tillcard S001").
pub fn store_name(code: &str) -> String {
    match code.trim() {
        "" => "Tillcard".to_owned(),
        code => format!("Tillcard {code}"),
    }
}

/// The screen's heading lines: store and till, when the shift opened, and
/// up to when it counts (now, or the close).
pub fn shift_heading(
    language: Language,
    store: &str,
    terminal: &str,
    opened: Option<&Timestamp>,
    closed: Option<&Timestamp>,
    to: &Timestamp,
) -> Vec<String> {
    let mut lines = vec![match language {
        Language::ZhCn => format!("{} · 终端 {terminal}", store_name(store)),
        Language::En => format!("{} · Till {terminal}", store_name(store)),
    }];
    lines.push(match (language, opened) {
        (Language::ZhCn, Some(at)) => format!("开班 {}", shift_time(at)),
        (Language::En, Some(at)) => format!("Opened {}", shift_time(at)),
        (Language::ZhCn, None) => "开班 —（本班无交易）".to_owned(),
        (Language::En, None) => "Opened — (nothing booked yet)".to_owned(),
    });
    lines.push(match (language, closed) {
        (Language::ZhCn, Some(at)) => format!("交班 {}", shift_time(at)),
        (Language::En, Some(at)) => format!("Closed {}", shift_time(at)),
        (Language::ZhCn, None) => format!("截至 {}（未交班）", shift_time(to)),
        (Language::En, None) => format!("Up to {} (still open)", shift_time(to)),
    });
    lines
}

/// What the screen says once the shift closed: when, and that the report
/// went to the printer (or that there is none).
pub fn shift_closed(language: Language, at: &Timestamp, printer: bool) -> String {
    let at = shift_time(at);
    match (language, printer) {
        (Language::ZhCn, true) => format!("已于 {at} 交班，Z报表已送打印机"),
        (Language::En, true) => format!("Shift closed at {at}; the Z report went to the printer"),
        (Language::ZhCn, false) => format!("已于 {at} 交班（未配置打印机）"),
        (Language::En, false) => format!("Shift closed at {at} (no printer configured)"),
    }
}
