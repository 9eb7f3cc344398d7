//! The forms a store manager fills in at the door and in the back office:
//! enrollment, top-up, refund, a return from a receipt's QR code and points
//! adjustment. Plain state with its validation; the controller decides when
//! they are submitted.

use tillcard_rules::pricing::{MonthDay, Quote};
use tillcard_rules::refund::RefundLine;
use tillcard_rules::{MemberId, Money, SourceId};

use super::checkout::QUICK_KEYS;
use super::keypad::{Entry, EntryKind};
use super::member::MemberSnapshot;
use super::messages::{ReturnDone, ScannedReceipt};
use crate::format::Language;
use crate::store::actions::SaleSummary;
use crate::store::members::{EnrollRequest, normalize_phone};

/// The most common surnames (百家姓 by population), offered as one-tap keys
/// so a name can be given without a Chinese keyboard. The terminal keeps
/// only the masked form (`张*`); the full name, when typed, goes sealed to
/// head office.
pub const COMMON_SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋",
];

/// Enrollment at the door.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollForm {
    /// Phone on the keypad.
    pub phone: Entry,
    /// Name, optional (typed, or a surname key).
    pub name: String,
    /// Birthday month, 0 = not given.
    pub birthday_month: u8,
    /// Birthday day, 0 = not given.
    pub birthday_day: u8,
    /// The member agreed to the privacy notice.
    pub consent: bool,
    /// A referrer's card scanned while the form was open.
    pub referrer: Option<MemberSnapshot>,
    /// Why the last submit was refused, in words.
    pub error: Option<String>,
    /// Submitted and waiting for the store.
    pub submitting: bool,
}

impl Default for EnrollForm {
    fn default() -> Self {
        EnrollForm {
            phone: Entry::new(EntryKind::Phone),
            name: String::new(),
            birthday_month: 0,
            birthday_day: 0,
            consent: false,
            referrer: None,
            error: None,
            submitting: false,
        }
    }
}

/// What is wrong with an enrollment form before it reaches the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollProblem {
    /// Not 11 digits starting with 1.
    Phone,
    /// Consent not given.
    Consent,
    /// Month given without a day or the other way round, or no such date.
    Birthday,
}

impl EnrollForm {
    /// Days in the chosen birthday month (29 for February: the year is
    /// never asked).
    pub fn days_in_month(&self) -> u8 {
        match self.birthday_month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Steps the birthday month (wrapping 0 = none, 1..=12).
    pub fn step_month(&mut self, delta: i8) {
        let m = (i16::from(self.birthday_month) + i16::from(delta)).rem_euclid(13);
        self.birthday_month = u8::try_from(m).unwrap_or(0);
        if self.birthday_month == 0 {
            self.birthday_day = 0;
        } else if self.birthday_day == 0 {
            self.birthday_day = 1;
        }
        self.birthday_day = self.birthday_day.min(self.days_in_month());
    }

    /// Steps the birthday day within the month.
    pub fn step_day(&mut self, delta: i8) {
        if self.birthday_month == 0 {
            return;
        }
        let days = i16::from(self.days_in_month());
        let d = (i16::from(self.birthday_day) - 1 + i16::from(delta)).rem_euclid(days) + 1;
        self.birthday_day = u8::try_from(d).unwrap_or(1);
    }

    /// The request for the store, or what must be fixed first.
    pub fn request(&self) -> Result<EnrollRequest, EnrollProblem> {
        let phone = normalize_phone(self.phone.text()).ok_or(EnrollProblem::Phone)?;
        if !self.consent {
            return Err(EnrollProblem::Consent);
        }
        let birthday = match (self.birthday_month, self.birthday_day) {
            (0, 0) => None,
            (m, d) if (1..=12).contains(&m) && d >= 1 && d <= self.days_in_month() => {
                Some(MonthDay { month: m, day: d })
            }
            _ => return Err(EnrollProblem::Birthday),
        };
        let name = self.name.trim();
        Ok(EnrollRequest {
            phone,
            name: (!name.is_empty()).then(|| name.to_owned()),
            birthday,
            consent: true,
            referred_by: self.referrer.as_ref().map(MemberSnapshot::id),
        })
    }
}

/// Topping up the member on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct TopUpForm {
    /// The member.
    pub member: MemberId,
    /// Index of the chosen package in the program, if any.
    pub package: Option<usize>,
    /// A plain amount instead of a package.
    pub amount: Entry,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

impl TopUpForm {
    /// A form for `member`.
    pub fn new(member: MemberId) -> TopUpForm {
        TopUpForm {
            member,
            package: None,
            amount: Entry::new(EntryKind::Amount),
            error: None,
        }
    }
}

/// Redeeming a gift of the catalogue for the member on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct GiftForm {
    /// The member.
    pub member: MemberId,
    /// The code of the gift picked, if any.
    pub picked: Option<String>,
    /// Why the last pick or redemption was refused.
    pub error: Option<String>,
}

impl GiftForm {
    /// A form for `member`, nothing picked.
    pub fn new(member: MemberId) -> GiftForm {
        GiftForm {
            member,
            picked: None,
            error: None,
        }
    }
}

/// Refunding a past sale.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefundForm {
    /// Recent sales to pick from.
    pub sales: Vec<SaleSummary>,
    /// The sale picked, with its quote.
    pub sale: Option<(SourceId, Quote)>,
    /// Quantity to refund per line of the picked sale.
    pub quantities: Vec<i64>,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

impl RefundForm {
    /// Selects `quote` and proposes refunding every line in full.
    pub fn pick(&mut self, sale: SourceId, quote: Quote) {
        self.quantities = quote.lines.iter().map(|l| l.item.quantity).collect();
        self.sale = Some((sale, quote));
        self.error = None;
    }

    /// Changes the quantity of line `line` by `delta`, within 0..=sold.
    pub fn step(&mut self, line: usize, delta: i64) {
        let Some((_, quote)) = &self.sale else {
            return;
        };
        if let (Some(q), Some(l)) = (self.quantities.get_mut(line), quote.lines.get(line)) {
            *q = (*q + delta).clamp(0, l.item.quantity);
        }
    }

    /// The lines to refund (those with a quantity above zero).
    pub fn lines(&self) -> Vec<RefundLine> {
        self.quantities
            .iter()
            .enumerate()
            .filter(|(_, q)| **q > 0)
            .map(|(line, &quantity)| RefundLine { line, quantity })
            .collect()
    }

    /// What the picked lines are worth at the price paid.
    pub fn value(&self) -> Money {
        let Some((_, quote)) = &self.sale else {
            return Money::ZERO;
        };
        quote
            .lines
            .iter()
            .zip(&self.quantities)
            .map(|(l, &q)| {
                if l.item.quantity == 0 {
                    Money::ZERO
                } else {
                    l.net.mul_ratio_half_up(q, l.item.quantity)
                }
            })
            .sum()
    }
}

/// A return from a scanned receipt (issue 24): the sale as its verified
/// code carries it, the quantity picked per line (none at first: money
/// goes out only for what the clerk picks), the lines on their way to the
/// store, and the return booked last.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnForm {
    /// The receipt as the store verified it, with its items and member.
    pub scanned: ScannedReceipt,
    /// Quantity to return per line of the receipt.
    pub quantities: Vec<i64>,
    /// Why the last confirm was refused.
    pub error: Option<String>,
    /// The lines sent to the store, until it answers: the form is sent
    /// once and its quantities stay as sent meanwhile.
    pub sending: Option<Vec<RefundLine>>,
    /// The return booked last from this receipt (what was handed back).
    pub done: Option<ReturnDone>,
}

impl ReturnForm {
    /// A form for a verified receipt, nothing picked.
    pub fn new(scanned: ScannedReceipt) -> ReturnForm {
        let lines = scanned.receipt.summary.lines.len();
        ReturnForm {
            scanned,
            quantities: vec![0; lines],
            error: None,
            sending: None,
            done: None,
        }
    }

    /// Per line, what this till may still return.
    pub fn left(&self) -> Vec<i64> {
        self.scanned.receipt.left()
    }

    /// Whether every line was returned here already.
    pub fn nothing_left(&self) -> bool {
        self.left().iter().all(|l| *l <= 0)
    }

    /// Whether line `line` was sold by weight (its quantity is grams):
    /// such a line is returned whole or not at all.
    pub fn weighed(&self, line: usize) -> bool {
        self.scanned
            .items
            .get(line)
            .and_then(Option::as_ref)
            .is_some_and(|item| item.sold_by_weight)
    }

    /// Changes line `line`'s quantity by `delta`, within what is left (a
    /// weighed line jumps between none and all that is left); nothing
    /// while the form is on its way to the store.
    pub fn step(&mut self, line: usize, delta: i64) {
        if self.sending.is_some() {
            return;
        }
        let left = self.left().get(line).copied().unwrap_or(0);
        let weighed = self.weighed(line);
        if let Some(q) = self.quantities.get_mut(line) {
            *q = if weighed {
                if delta > 0 { left } else { 0 }
            } else {
                q.saturating_add(delta).clamp(0, left)
            };
            self.error = None;
        }
    }

    /// The lines to return (those with a quantity above zero).
    pub fn lines(&self) -> Vec<RefundLine> {
        self.quantities
            .iter()
            .enumerate()
            .filter(|(_, q)| **q > 0)
            .map(|(line, &quantity)| RefundLine { line, quantity })
            .collect()
    }

    /// What `lines` are worth at the price paid (each line's net shared
    /// by quantity): the screen's preview; the store's rules decide what
    /// goes back how.
    pub fn value_of(&self, lines: &[RefundLine]) -> Money {
        let sold = &self.scanned.receipt.summary.lines;
        lines
            .iter()
            .filter_map(|r| {
                let line = sold.get(r.line)?;
                (line.quantity > 0).then(|| line.net.mul_ratio_half_up(r.quantity, line.quantity))
            })
            .sum()
    }

    /// What the picked lines are worth at the price paid.
    pub fn value(&self) -> Money {
        self.value_of(&self.lines())
    }

    /// `lines` booked: they are no longer left here, nothing is picked.
    pub fn booked(&mut self, lines: &[RefundLine]) {
        for r in lines {
            if let Some(done) = self.scanned.receipt.returned_here.get_mut(r.line) {
                *done = done.saturating_add(r.quantity);
            }
        }
        self.quantities.iter_mut().for_each(|q| *q = 0);
        self.sending = None;
        self.error = None;
    }

    /// Line `line`'s name in `language`: the catalog's, else the quick
    /// key's of a keyed line (its SKU is `category-n`), else its SKU.
    pub fn line_name(&self, line: usize, language: Language) -> String {
        if let Some(item) = self.scanned.items.get(line).and_then(Option::as_ref) {
            return match language {
                Language::ZhCn => item.name_zh.clone(),
                Language::En => item.name_en.clone(),
            };
        }
        let sku = self
            .scanned
            .receipt
            .summary
            .lines
            .get(line)
            .map(|l| l.sku.as_str())
            .unwrap_or_default();
        let category = sku.rsplit_once('-').map_or("", |(c, _)| c);
        QUICK_KEYS
            .iter()
            .find(|k| k.category == category)
            .map_or_else(
                || sku.to_owned(),
                |k| match language {
                    Language::ZhCn => k.zh.to_owned(),
                    Language::En => k.en.to_owned(),
                },
            )
    }
}

/// Reasons offered for a manual points adjustment.
pub const ADJUST_REASONS: &[(&str, &str)] = &[
    ("补录漏积分", "Points missed at checkout"),
    ("客诉补偿", "Goodwill after a complaint"),
    ("纠正错误", "Correcting an error"),
    ("活动奖励", "Campaign reward"),
];

/// A manual points adjustment.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjustForm {
    /// The member.
    pub member: MemberId,
    /// Points on the keypad.
    pub points: Entry,
    /// Take points away instead of adding.
    pub negative: bool,
    /// Index into [`ADJUST_REASONS`].
    pub reason: Option<usize>,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

impl AdjustForm {
    /// A form for `member`.
    pub fn new(member: MemberId) -> AdjustForm {
        AdjustForm {
            member,
            points: Entry::new(EntryKind::Count),
            negative: false,
            reason: None,
            error: None,
        }
    }

    /// The signed change, if a number was typed.
    pub fn delta(&self) -> Option<i64> {
        let n = self.points.count().filter(|n| *n > 0)?;
        Some(if self.negative { -n } else { n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::keypad::Key;

    fn form(phone: &str) -> EnrollForm {
        let mut f = EnrollForm::default();
        for c in phone.chars() {
            f.phone.press(Key::from_label(&c.to_string()).unwrap());
        }
        f
    }

    #[test]
    fn enrollment_needs_a_mobile_number_and_consent() {
        assert_eq!(form("1381234").request(), Err(EnrollProblem::Phone));
        let mut f = form("13812345678");
        assert_eq!(f.request(), Err(EnrollProblem::Consent));
        f.consent = true;
        let r = f.request().unwrap();
        assert_eq!(r.phone, "13812345678");
        assert_eq!(r.name, None);
        assert_eq!(r.birthday, None);
    }

    #[test]
    fn the_birthday_steps_stay_inside_real_dates() {
        let mut f = form("13812345678");
        f.consent = true;
        f.step_month(2);
        assert_eq!((f.birthday_month, f.birthday_day), (2, 1));
        f.step_day(-1);
        assert_eq!(f.birthday_day, 29, "wraps to the last day of February");
        f.step_month(2);
        assert_eq!((f.birthday_month, f.birthday_day), (4, 29));
        f.step_month(-4);
        assert_eq!((f.birthday_month, f.birthday_day), (0, 0));
        f.step_month(-1);
        assert_eq!(f.birthday_month, 12, "wraps from none to December");
        assert_eq!(
            f.request().unwrap().birthday,
            Some(MonthDay { month: 12, day: 1 }),
            "a month chosen from none starts at day 1"
        );
    }

    #[test]
    fn adjustments_are_signed_and_need_a_number() {
        let mut a = AdjustForm::new(MemberId(uuid::Uuid::from_u128(1)));
        assert_eq!(a.delta(), None);
        a.points.press(Key::Digit(5));
        a.points.press(Key::Digit(0));
        assert_eq!(a.delta(), Some(50));
        a.negative = true;
        assert_eq!(a.delta(), Some(-50));
    }
}
