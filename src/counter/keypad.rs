//! What a clerk types on the on-screen numeric keypad: a PIN, a phone
//! number, an amount in yuan, a number of points. One buffer type with the
//! rules of each kind, so no screen has to re-implement digit handling.

use tillcard_rules::Money;

/// What the buffer holds, and so which keys it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// 4-8 digits, shown as dots.
    Pin,
    /// A mainland mobile number, 11 digits.
    Phone,
    /// Yuan with up to two decimals, at most ¥999,999.99.
    Amount,
    /// A whole number up to 9 digits (points, quantities).
    Count,
    /// A setup code from head office: its digits, shown as typed.
    SetupCode,
    /// A store's enrollment code from head office: 16 digits, shown in
    /// groups of four as head office prints it.
    EnrollCode,
}

/// A key on the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// 0-9.
    Digit(u8),
    /// The decimal point (amounts only).
    Point,
    /// Remove the last character.
    Back,
    /// Empty the buffer.
    Clear,
}

impl Key {
    /// The key for a keypad label ("0".."9", ".", "⌫", "C").
    pub fn from_label(label: &str) -> Option<Key> {
        match label {
            "." => Some(Key::Point),
            "⌫" | "back" => Some(Key::Back),
            "C" | "clear" => Some(Key::Clear),
            d if d.len() == 1 => d
                .bytes()
                .next()
                .filter(u8::is_ascii_digit)
                .map(|b| Key::Digit(b - b'0')),
            _ => None,
        }
    }
}

/// The text typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    kind: EntryKind,
    text: String,
}

impl Entry {
    /// An empty buffer of `kind`.
    pub fn new(kind: EntryKind) -> Entry {
        Entry {
            kind,
            text: String::new(),
        }
    }

    /// The raw text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.text.clear();
    }

    /// What the screen shows: dots for a PIN, `¥` for an amount.
    pub fn display(&self) -> String {
        match self.kind {
            EntryKind::Pin => "●".repeat(self.text.len()),
            EntryKind::Amount if !self.text.is_empty() => format!("¥{}", self.text),
            EntryKind::EnrollCode => {
                let groups: Vec<&str> = self
                    .text
                    .as_bytes()
                    .chunks(4)
                    .filter_map(|g| std::str::from_utf8(g).ok())
                    .collect();
                groups.join(" ")
            }
            _ => self.text.clone(),
        }
    }

    /// Applies a key; keys that would make the text invalid are ignored.
    pub fn press(&mut self, key: Key) {
        match key {
            Key::Back => {
                self.text.pop();
            }
            Key::Clear => self.text.clear(),
            Key::Point => {
                if self.kind == EntryKind::Amount && !self.text.contains('.') {
                    if self.text.is_empty() {
                        self.text.push('0');
                    }
                    self.text.push('.');
                }
            }
            Key::Digit(d) if d <= 9 => {
                let c = char::from(b'0' + d);
                let accept = match self.kind {
                    EntryKind::Pin => self.text.len() < 8,
                    EntryKind::Phone => self.text.len() < 11,
                    EntryKind::SetupCode => {
                        self.text.len() < tillcard_protocol::staff::SETUP_CODE_DIGITS
                    }
                    EntryKind::EnrollCode => {
                        self.text.len() < tillcard_protocol::auth::ENROLL_CODE_DIGITS
                    }
                    EntryKind::Count => self.text.len() < 9 && self.text != "0",
                    EntryKind::Amount => match self.text.split_once('.') {
                        Some((_, decimals)) => decimals.len() < 2,
                        None => self.text.len() < 6 && self.text != "0",
                    },
                };
                if accept {
                    self.text.push(c);
                }
            }
            Key::Digit(_) => {}
        }
    }

    /// The amount typed, if this is an amount above zero.
    pub fn amount(&self) -> Option<Money> {
        if self.kind != EntryKind::Amount {
            return None;
        }
        let money: Money = self.text.parse().ok()?;
        (money > Money::ZERO).then_some(money)
    }

    /// The whole number typed.
    pub fn count(&self) -> Option<i64> {
        self.text.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: EntryKind, keys: &str) -> Entry {
        let mut e = Entry::new(kind);
        for k in keys.chars() {
            e.press(Key::from_label(&k.to_string()).unwrap());
        }
        e
    }

    #[test]
    fn an_enrollment_code_takes_sixteen_digits_shown_in_fours() {
        let code = typed(EntryKind::EnrollCode, "12345678901234567890");
        assert_eq!(code.text(), "1234567890123456");
        assert_eq!(code.display(), "1234 5678 9012 3456");
        assert_eq!(typed(EntryKind::EnrollCode, "12345").display(), "1234 5");
    }

    #[test]
    fn amounts_take_two_decimals_and_one_point() {
        assert_eq!(typed(EntryKind::Amount, "128.505").text(), "128.50");
        assert_eq!(typed(EntryKind::Amount, "1..5").text(), "1.5");
        assert_eq!(typed(EntryKind::Amount, ".5").text(), "0.5");
        assert_eq!(typed(EntryKind::Amount, "00").text(), "0");
        assert_eq!(
            typed(EntryKind::Amount, "128.5").amount(),
            Some(Money::from_fen(12_850))
        );
        assert_eq!(typed(EntryKind::Amount, "0").amount(), None);
        assert_eq!(typed(EntryKind::Amount, "1234567").text(), "123456");
    }

    #[test]
    fn pins_and_phones_are_bounded_and_pins_are_hidden() {
        let pin = typed(EntryKind::Pin, "1234567890");
        assert_eq!(pin.text(), "12345678");
        assert_eq!(pin.display(), "●●●●●●●●");
        assert_eq!(
            typed(EntryKind::Phone, "138123456789").text(),
            "13812345678"
        );
        let mut e = typed(EntryKind::Phone, "139");
        e.press(Key::Back);
        assert_eq!(e.text(), "13");
        e.press(Key::Clear);
        assert!(e.is_empty());
        assert_eq!(typed(EntryKind::Pin, "12.").text(), "12");
    }
}
