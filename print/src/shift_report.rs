//! The shift's Z report (交班报表, issue 24) on paper: a second document
//! beside the receipt, printer-neutral like it. The terminal fills every
//! text (figures already formatted, words in the report's language) and
//! this module only decides where they go: the store large at the top, the
//! till, who closed the shift and when it opened and closed, then sections
//! of label/amount rows (the shift's totals, each tender, points, stored
//! value, refunds) and one compact section per clerk.
//!
//! Why sections of rows rather than a field per figure: the figures and
//! their words belong to the terminal (`tillcard_rules::shift` adds them
//! up, the counter words them the same way on screen and on paper), so a
//! figure added to the report later is a row, not a change to this crate.
//! Laid out for 58 and 80 mm with the receipt's own helpers (GB18030 in
//! Chinese mode, lines cut to the paper's columns); never opens the drawer.

use serde::{Deserialize, Serialize};

use crate::layout::{Align, Op, Paper, printable, push_rows, push_wrapped, rule, wrap};
use crate::receipt::TotalRow;

/// One shift's Z report, printer-neutral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZReport {
    /// The store's name, printed large at the top (the terminal fills it).
    pub store: String,
    /// The till's id (the terminal fills it).
    pub terminal: String,
    /// Who closed the shift, as the clerk is shown on screen.
    pub closed_by: String,
    /// When the shift opened, formatted ("2026-12-07 08:00"); empty when
    /// nothing was ever booked before.
    pub opened_at: String,
    /// When it closed, formatted.
    pub closed_at: String,
    /// The close's reference (its id).
    pub shift_ref: String,
    /// The terminal's figures, section by section.
    pub sections: Vec<ZSection>,
    /// One compact section per clerk who booked in the shift.
    pub clerks: Vec<ZSection>,
    /// A copy printed again: the report says so at the top.
    pub reprint: bool,
    /// The words around the caller's texts, in the report's language.
    pub labels: ZLabels,
}

/// A heading and its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZSection {
    /// The heading ("收款方式 Tenders", a clerk's name).
    pub heading: String,
    /// Label on the left, figure on the right.
    pub rows: Vec<TotalRow>,
}

/// The fixed words of a Z report in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZLabels {
    /// The title under the store ("交班报表 (Z)").
    pub title: String,
    /// The marker on a reprinted copy.
    pub reprint: String,
    /// Before the till's id.
    pub terminal: String,
    /// Before who closed the shift.
    pub closed_by: String,
    /// Before the opening moment.
    pub opened: String,
    /// Before the closing moment.
    pub closed: String,
    /// Before the close's reference.
    pub shift_ref: String,
    /// The heading over the clerks' sections.
    pub by_clerk: String,
    /// The last line ("-- 报表结束 --").
    pub end: String,
}

impl ZLabels {
    /// Simplified Chinese.
    pub fn zh_cn() -> Self {
        Self {
            title: "交班报表 (Z)".to_owned(),
            reprint: "*** 重印 ***".to_owned(),
            terminal: "终端".to_owned(),
            closed_by: "交班人".to_owned(),
            opened: "开班".to_owned(),
            closed: "交班".to_owned(),
            shift_ref: "班次".to_owned(),
            by_clerk: "按收银员".to_owned(),
            end: "-- 报表结束 --".to_owned(),
        }
    }

    /// English.
    pub fn en() -> Self {
        Self {
            title: "Z report (shift close)".to_owned(),
            reprint: "*** REPRINT ***".to_owned(),
            terminal: "Till".to_owned(),
            closed_by: "Closed by".to_owned(),
            opened: "Opened".to_owned(),
            closed: "Closed".to_owned(),
            shift_ref: "Shift".to_owned(),
            by_clerk: "By clerk".to_owned(),
            end: "-- end of report --".to_owned(),
        }
    }
}

impl Default for ZLabels {
    fn default() -> Self {
        Self::zh_cn()
    }
}

/// The Z report as printer operations for this paper. Every `Op::Text`
/// fits its line (half the columns inside `DoubleSize`); no drawer kick.
pub fn layout_z_report(report: &ZReport, paper: Paper) -> Vec<Op> {
    let width = paper.columns();
    let labels = &report.labels;
    let mut ops = vec![Op::Init, Op::ChineseMode(true), Op::Align(Align::Center)];
    if report.reprint {
        ops.push(Op::Bold(true));
        push_wrapped(&mut ops, &labels.reprint, width);
        ops.push(Op::Bold(false));
    }
    ops.push(Op::DoubleSize(true));
    for line in wrap(&printable(&report.store), width / 2) {
        ops.push(Op::Text(line));
    }
    ops.push(Op::DoubleSize(false));
    ops.push(Op::Bold(true));
    push_wrapped(&mut ops, &labels.title, width);
    ops.push(Op::Bold(false));
    ops.push(Op::Align(Align::Left));
    push_wrapped(
        &mut ops,
        &format!("{} {}", labels.terminal, report.terminal),
        width,
    );
    push_wrapped(
        &mut ops,
        &format!("{} {}", labels.closed_by, report.closed_by),
        width,
    );
    if !report.opened_at.is_empty() {
        push_wrapped(
            &mut ops,
            &format!("{} {}", labels.opened, report.opened_at),
            width,
        );
    }
    push_wrapped(
        &mut ops,
        &format!("{} {}", labels.closed, report.closed_at),
        width,
    );
    push_wrapped(
        &mut ops,
        &format!("{} {}", labels.shift_ref, report.shift_ref),
        width,
    );
    for section in &report.sections {
        push_section(&mut ops, section, width);
    }
    if !report.clerks.is_empty() {
        ops.push(Op::Text(rule(width)));
        ops.push(Op::Align(Align::Center));
        ops.push(Op::Bold(true));
        push_wrapped(&mut ops, &labels.by_clerk, width);
        ops.push(Op::Bold(false));
        ops.push(Op::Align(Align::Left));
        for clerk in &report.clerks {
            push_section(&mut ops, clerk, width);
        }
    }
    ops.push(Op::Text(rule(width)));
    ops.push(Op::Align(Align::Center));
    push_wrapped(&mut ops, &labels.end, width);
    ops.push(Op::Align(Align::Left));
    ops.push(Op::ChineseMode(false));
    ops.push(Op::Feed(2));
    ops.push(Op::Cut);
    ops
}

fn push_section(ops: &mut Vec<Op>, section: &ZSection, width: usize) {
    ops.push(Op::Text(rule(width)));
    if !section.heading.is_empty() {
        ops.push(Op::Bold(true));
        push_wrapped(ops, &section.heading, width);
        ops.push(Op::Bold(false));
    }
    push_rows(ops, &section.rows, width);
}

impl ZReport {
    /// A sample report in Chinese with two clerks: what the docs' image
    /// shows and what tests print.
    pub fn sample() -> Self {
        let row = |label: &str, amount: &str, strong| TotalRow {
            label: label.to_owned(),
            amount: amount.to_owned(),
            strong,
        };
        Self {
            store: "Tillcard 徐汇店".to_owned(),
            terminal: "T03".to_owned(),
            closed_by: "王小明".to_owned(),
            opened_at: "2026-12-07 08:00".to_owned(),
            closed_at: "2026-12-07 22:05".to_owned(),
            shift_ref: "0193a1b2-7c3d".to_owned(),
            sections: vec![
                ZSection {
                    heading: "销售".to_owned(),
                    rows: vec![
                        row("销售笔数", "3", false),
                        row("原价合计", "¥412.00", false),
                        row("优惠合计", "-¥20.50", false),
                        row("实收合计", "¥391.50", true),
                    ],
                },
                ZSection {
                    heading: "收款方式".to_owned(),
                    rows: vec![
                        row("现金", "¥120.00", false),
                        row("银行卡", "¥200.00", false),
                        row("微信支付", "¥50.00", false),
                        row("支付宝", "¥0.00", false),
                        row("储值", "¥16.50", false),
                        row("积分", "¥5.00", false),
                        row("找零", "¥80.00", false),
                        row("钱箱应有现金", "¥120.00", true),
                    ],
                },
            ],
            clerks: vec![
                ZSection {
                    heading: "王小明 (c01)".to_owned(),
                    rows: vec![
                        row("销售笔数", "2", false),
                        row("实收合计", "¥341.50", false),
                    ],
                },
                ZSection {
                    heading: "李娜 (c02)".to_owned(),
                    rows: vec![
                        row("销售笔数", "1", false),
                        row("实收合计", "¥50.00", false),
                    ],
                },
            ],
            reprint: false,
            labels: ZLabels::zh_cn(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos::encode;
    use crate::layout::{columns, line_capacity};
    use crate::virtual_printer::{command_names, decode, plain_text, printed_lines};

    fn printed(report: &ZReport, paper: Paper) -> (String, Vec<&'static str>) {
        let decoded = decode(&encode(&layout_z_report(report, paper)).unwrap());
        (plain_text(&decoded), command_names(&decoded))
    }

    #[test]
    fn the_report_decodes_back_to_its_chinese_figures() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let (text, commands) = printed(&ZReport::sample(), paper);
            for expected in [
                "交班报表 (Z)",
                "终端 T03",
                "交班人 王小明",
                "开班 2026-12-07 08:00",
                "销售笔数",
                "按收银员",
                "李娜 (c02)",
                "-- 报表结束 --",
            ] {
                assert!(text.contains(expected), "{expected:?} not in\n{text}");
            }
            // ¥ goes to paper as the full-width ￥ a GBK printer has.
            let line = |label: &str| {
                text.lines()
                    .find(|l| l.starts_with(label))
                    .unwrap_or_else(|| panic!("no line {label:?} in\n{text}"))
                    .to_owned()
            };
            assert!(line("现金").ends_with("￥120.00"));
            assert!(line("银行卡").ends_with("￥200.00"));
            assert!(line("实收合计").ends_with("￥391.50"));
            assert!(commands.contains(&"chinese on") && commands.contains(&"cut"));
            assert!(
                !commands.contains(&"drawer kick"),
                "a report opens no drawer"
            );
        }
    }

    #[test]
    fn no_line_is_wider_than_its_paper() {
        let mut report = ZReport::sample();
        report.store = "Tillcard 上海市徐汇区漕溪北路旗舰店".to_owned();
        report.clerks[0].heading = "A clerk with a rather long display name (c0001)".to_owned();
        for paper in [Paper::Mm58, Paper::Mm80] {
            let mut double = false;
            for op in layout_z_report(&report, paper) {
                match op {
                    Op::DoubleSize(on) => double = on,
                    Op::Text(line) => {
                        assert!(columns(&line) <= line_capacity(paper, double), "{line}")
                    }
                    _ => {}
                }
            }
            let decoded = decode(&encode(&layout_z_report(&report, paper)).unwrap());
            for line in printed_lines(&decoded) {
                let cap = line_capacity(paper, line.double_width);
                assert!(columns(&line.text) <= cap, "{:?}", line.text);
            }
        }
    }

    #[test]
    fn a_reprint_says_so_and_an_empty_shift_prints_its_zeros() {
        let mut report = ZReport::sample();
        report.reprint = true;
        report.labels = ZLabels::en();
        report.opened_at.clear();
        report.clerks.clear();
        report.sections = vec![ZSection {
            heading: "Sales".to_owned(),
            rows: vec![TotalRow {
                label: "Sales".to_owned(),
                amount: "0".to_owned(),
                strong: false,
            }],
        }];
        let (text, _) = printed(&report, Paper::Mm58);
        assert!(text.starts_with("*** REPRINT ***"), "{text}");
        assert!(!text.contains("Opened"), "no opening moment printed");
        assert!(!text.contains("By clerk"));
        assert!(
            text.lines()
                .any(|l| l.starts_with("Sales") && l.ends_with(" 0"))
        );
    }
}
