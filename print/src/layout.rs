//! Where each text of a receipt goes on a paper of a given width: a
//! `Receipt` becomes a list of printer operations (`Op`), every line already
//! cut to fit, so the encoder only translates and never measures.
//!
//! Widths are counted the way a thermal printer counts them in its Chinese
//! mode with Font A (12 × 24 dots): an ASCII character takes one column, any
//! other printable character one double-wide glyph, two columns. A 58 mm
//! printer prints 384 dots (32 columns), an 80 mm one 576 dots (48 columns).
//! `unicode-width` tells which characters take no column at all (combining
//! marks, controls).
//!
//! Characters a GBK printer has no glyph for are replaced before measuring
//! (`printable`): cheap printers know GB18030's two-byte part (GBK) only,
//! and print its four-byte sequences as garbage.

use serde::{Deserialize, Serialize};
use unicode_width::UnicodeWidthChar;

use crate::receipt::{Receipt, TotalRow};

/// The paper roll, by width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Paper {
    /// 58 mm: 384 dots, 32 columns of Font A.
    Mm58,
    /// 80 mm: 576 dots, 48 columns of Font A.
    Mm80,
}

impl Paper {
    /// Columns of Font A (12 dots each) across the printable width.
    pub fn columns(self) -> usize {
        match self {
            Paper::Mm58 => 32,
            Paper::Mm80 => 48,
        }
    }

    /// Printable dots across.
    pub fn dots(self) -> u32 {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }

    /// The QR code's module size in dots: a code of about 30 mm either way.
    pub fn qr_module_dots(self) -> u8 {
        match self {
            Paper::Mm58 => 5,
            Paper::Mm80 => 6,
        }
    }
}

/// Where a line sits across the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Align {
    /// Flush left.
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// One thing for the printer to do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Reset the printer to its power-on settings.
    Init,
    /// Enter (true) or leave (false) the printer's Chinese mode, in which
    /// text is GB18030.
    ChineseMode(bool),
    /// Print one line; the layout made sure it fits. The encoder ends it.
    Text(String),
    /// Emphasis on or off.
    Bold(bool),
    /// Alignment of the lines that follow.
    Align(Align),
    /// Double width and height on or off (half as many columns).
    DoubleSize(bool),
    /// Feed this many blank lines.
    Feed(u8),
    /// Print a QR code holding this text (model 2, error level M).
    QrCode {
        /// What the code holds.
        payload: String,
        /// Module size in dots (1-16).
        module_dots: u8,
    },
    /// Feed to the cutter and cut, leaving a hinge (partial cut).
    Cut,
    /// Kick the cash drawer open (pin 2).
    DrawerKick,
}

/// Columns one character takes on the printer in Chinese mode.
pub fn char_columns(c: char) -> usize {
    if c.is_ascii() {
        // Control characters print nothing; the layout never sends them.
        usize::from(!c.is_ascii_control())
    } else {
        match c.width_cjk() {
            Some(0) | None => 0,
            Some(_) => 2,
        }
    }
}

/// Columns a text takes on the printer.
pub fn columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

/// The text with every character the printer can print: ASCII controls
/// become spaces, `¥` becomes its full-width form `￥` (the one in GB2312),
/// and anything outside GBK (emoji, rare characters) becomes `?`.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_ascii_control() => ' ',
            c if c.is_ascii() => c,
            '¥' => '￥',
            c if in_gbk(c) => c,
            _ => '?',
        })
        .collect()
}

fn in_gbk(c: char) -> bool {
    let mut buffer = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buffer));
    !unmappable
}

/// The longest start of `text` that fits in `width` columns.
pub fn truncate(text: &str, width: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = char_columns(c);
        if used + w > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

/// Splits text into lines of at most `width` columns. Latin words move to
/// the next line whole; a CJK character may end a line anywhere (Chinese has
/// no spaces to break at); a word longer than a line is cut where it must.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    let mut line = String::new();
    for token in tokens(text) {
        let token_width = columns(&token);
        if token == " " {
            if !line.is_empty() && columns(&line) < width {
                line.push(' ');
            }
            continue;
        }
        if columns(&line) + token_width > width {
            if !line.is_empty() {
                lines.push(line.trim_end().to_owned());
                line = String::new();
            }
            let mut rest = token.as_str();
            while columns(rest) > width {
                let head = truncate(rest, width);
                rest = &rest[head.len()..];
                lines.push(head);
            }
            line.push_str(rest);
        } else {
            line.push_str(&token);
        }
    }
    let line = line.trim_end();
    if !line.is_empty() || lines.is_empty() {
        lines.push(line.to_owned());
    }
    lines
}

/// Words, single spaces and single wide characters, in order.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() || char_columns(c) == 2 {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            tokens.push(if c.is_whitespace() {
                " ".to_owned()
            } else {
                c.to_string()
            });
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// `label` on the left and `amount` on the right of `width` columns. A label
/// too long wraps, with the amount on its last line when it fits there and
/// on a line of its own when it does not.
pub fn label_amount(label: &str, amount: &str, width: usize) -> Vec<String> {
    let amount = truncate(amount, width);
    let amount_width = columns(&amount);
    let mut lines = wrap(label, width);
    let last = lines.pop().unwrap_or_default();
    let last_width = columns(&last);
    if last_width + 1 + amount_width <= width {
        let gap = width - last_width - amount_width;
        lines.push(format!("{last}{}{amount}", " ".repeat(gap)));
    } else {
        lines.push(last);
        lines.push(format!("{}{amount}", " ".repeat(width - amount_width)));
    }
    lines
}

/// A rule across the paper.
pub fn rule(width: usize) -> String {
    "-".repeat(width)
}

/// The receipt as printer operations for this paper. Every `Op::Text` fits
/// its line (half the columns inside `DoubleSize`); the drawer is kicked
/// after the cut when `open_drawer` is set.
pub fn layout(receipt: &Receipt, paper: Paper, open_drawer: bool) -> Vec<Op> {
    let width = paper.columns();
    let labels = &receipt.labels;
    let mut ops = vec![Op::Init, Op::ChineseMode(true), Op::Align(Align::Center)];
    if receipt.reprint {
        ops.push(Op::Bold(true));
        push_wrapped(&mut ops, &labels.reprint, width);
        ops.push(Op::Bold(false));
    }
    ops.push(Op::DoubleSize(true));
    for line in wrap(&printable(&receipt.store), width / 2) {
        ops.push(Op::Text(line));
    }
    ops.push(Op::DoubleSize(false));
    if let Some(title) = &receipt.title {
        ops.push(Op::Bold(true));
        push_wrapped(&mut ops, title, width);
        ops.push(Op::Bold(false));
    }
    ops.push(Op::Align(Align::Left));
    let heading = [
        format!("{} {}", labels.terminal, receipt.terminal),
        format!("{} {}", labels.clerk, receipt.clerk),
    ];
    push_wrapped(&mut ops, &heading.join("  "), width);
    push_wrapped(&mut ops, &receipt.at, width);
    push_wrapped(
        &mut ops,
        &format!("{} {}", labels.sale_ref, receipt.sale_ref),
        width,
    );
    ops.push(Op::Text(rule(width)));
    for item in &receipt.lines {
        push_wrapped(&mut ops, &item.name, width);
        // Quantity and amount indented under the name, so the names stand
        // out as the list.
        let qty = printable(&item.qty_text);
        for line in label_amount(&qty, &printable(&item.amount_text), width - 2) {
            ops.push(Op::Text(format!("  {line}")));
        }
    }
    ops.push(Op::Text(rule(width)));
    push_rows(&mut ops, &receipt.totals, width);
    if !receipt.tenders.is_empty() {
        ops.push(Op::Text(rule(width)));
        push_rows(&mut ops, &receipt.tenders, width);
    }
    if let Some(member) = &receipt.member {
        ops.push(Op::Text(rule(width)));
        push_wrapped(
            &mut ops,
            &format!("{} {}", labels.member, member.masked_name),
            width,
        );
        let mut rows = vec![(&labels.points_earned, &member.points_earned)];
        if !member.points_used.is_empty() {
            rows.push((&labels.points_used, &member.points_used));
        }
        rows.push((&labels.points_balance, &member.points_balance));
        rows.push((&labels.stored_value_balance, &member.stored_value_balance));
        for (label, value) in rows {
            for line in label_amount(&printable(label), &printable(value), width) {
                ops.push(Op::Text(line));
            }
        }
        if let Some(coupon) = &member.coupon_used {
            push_wrapped(&mut ops, &format!("{} {coupon}", labels.coupon_used), width);
        }
    }
    ops.push(Op::Align(Align::Center));
    if let Some(payload) = &receipt.qr_payload {
        ops.push(Op::Feed(1));
        ops.push(Op::QrCode {
            payload: payload.clone(),
            module_dots: paper.qr_module_dots(),
        });
    }
    if !receipt.footer.is_empty() {
        ops.push(Op::Feed(1));
        for line in &receipt.footer {
            push_wrapped(&mut ops, line, width);
        }
    }
    ops.push(Op::Align(Align::Left));
    ops.push(Op::ChineseMode(false));
    ops.push(Op::Feed(2));
    ops.push(Op::Cut);
    if open_drawer {
        ops.push(Op::DrawerKick);
    }
    ops
}

/// `text` made printable and wrapped to `width`, one `Op::Text` a line.
pub(crate) fn push_wrapped(ops: &mut Vec<Op>, text: &str, width: usize) {
    for line in wrap(&printable(text), width) {
        ops.push(Op::Text(line));
    }
}

/// Label/amount rows, a strong one in bold.
pub(crate) fn push_rows(ops: &mut Vec<Op>, rows: &[TotalRow], width: usize) {
    for row in rows {
        if row.strong {
            ops.push(Op::Bold(true));
        }
        for line in label_amount(&printable(&row.label), &printable(&row.amount), width) {
            ops.push(Op::Text(line));
        }
        if row.strong {
            ops.push(Op::Bold(false));
        }
    }
}

/// The columns of Font A a line may take inside the given size.
pub fn line_capacity(paper: Paper, double: bool) -> usize {
    if double {
        paper.columns() / 2
    } else {
        paper.columns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_takes_two_columns_and_ascii_one() {
        assert_eq!(columns("乌龙茶 500ml"), 12);
        assert_eq!(columns("￥6.50"), 6);
        assert_eq!(columns("e\u{301}"), 1);
    }

    #[test]
    fn printable_replaces_what_a_gbk_printer_cannot_print() {
        assert_eq!(printable("¥6.50"), "￥6.50");
        assert_eq!(printable("茶😀\t"), "茶? ");
        assert_eq!(printable("张*华"), "张*华");
    }

    #[test]
    fn words_move_whole_and_chinese_breaks_anywhere() {
        assert_eq!(
            wrap("Espresso beans, dark roast 1kg", 16),
            vec!["Espresso beans,", "dark roast 1kg"]
        );
        assert_eq!(
            wrap("全麦面包切片家庭装", 8),
            vec!["全麦面包", "切片家庭", "装"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
    }

    #[test]
    fn an_odd_column_left_by_chinese_is_not_overfilled() {
        for line in wrap("a全麦面包切片家庭装", 8) {
            assert!(columns(&line) <= 8, "{line}");
        }
    }

    #[test]
    fn label_left_amount_right() {
        assert_eq!(label_amount("小计", "￥9.00", 16), vec!["小计      ￥9.00"]);
        assert_eq!(
            label_amount("优惠券 WELCOME-TEN", "-￥10.00", 16),
            vec!["优惠券", "WELCOME-TEN", "        -￥10.00"]
        );
    }

    #[test]
    fn a_title_prints_bold_and_centred_under_the_store() {
        let mut slip = Receipt::sample();
        slip.title = Some("退货单 RETURN".into());
        let ops = layout(&slip, Paper::Mm58, false);
        let at = ops
            .iter()
            .position(|op| *op == Op::Text("退货单 RETURN".into()))
            .expect("the title is printed");
        assert_eq!(ops[at - 1], Op::Bold(true));
        assert_eq!(ops[at + 1], Op::Bold(false));
        let store = ops
            .iter()
            .position(|op| matches!(op, Op::Text(t) if t.contains("Tillcard")))
            .unwrap();
        assert!(store < at, "under the store's name");
        let centred = ops[..at].iter().rev().find_map(|op| match op {
            Op::Align(a) => Some(*a),
            _ => None,
        });
        assert_eq!(centred, Some(Align::Center));
        assert!(
            !layout(&Receipt::sample(), Paper::Mm58, false)
                .iter()
                .any(|op| *op == Op::Text("退货单 RETURN".into())),
            "a sale's receipt has none"
        );
    }

    #[test]
    fn no_line_is_wider_than_its_paper() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let mut double = false;
            let mut titled = Receipt::sample();
            titled.title = Some("退货单 RETURN: a title long enough to wrap on 58 mm".into());
            for op in layout(&Receipt::sample(), paper, true)
                .into_iter()
                .chain(layout(&titled, paper, true))
            {
                match op {
                    Op::DoubleSize(on) => double = on,
                    Op::Text(line) => {
                        assert!(columns(&line) <= line_capacity(paper, double), "{line}")
                    }
                    _ => {}
                }
            }
        }
    }
}
