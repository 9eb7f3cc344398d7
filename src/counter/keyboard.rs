//! The on-screen text keyboard. A counter kiosk has no hardware keyboard
//! and no input method (SPEC section 7: "no hardware keyboard needed"), so
//! an optional name, head office's address and the terminal's enrollment
//! code are typed on this keyboard. This module decides which field it
//! types into and what each key does to that field's text; the view only
//! draws [`TextKeyboard::rows`] and reports key labels.
//!
//! Chinese names are not typed here: enrollment offers the common
//! surnames as one-tap keys, and the terminal keeps only the masked form
//! (赵*) anyway. The keyboard types Latin letters (pinyin or a foreign
//! name), digits and the punctuation URLs and codes need.

/// A text field the on-screen keyboard can type into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// Enrollment: the member's name (optional).
    EnrollName,
    /// Settings: head office's address.
    HeadOfficeUrl,
    /// Settings: the one-time enrollment code from head office.
    EnrollmentCode,
}

impl TextField {
    /// Longest text the field takes, in characters.
    pub const fn max_chars(self) -> usize {
        match self {
            TextField::EnrollName => 40,
            TextField::HeadOfficeUrl => 200,
            TextField::EnrollmentCode => 64,
        }
    }

    /// The field for a view's field name (`name`, `url`, `code`).
    pub fn from_name(name: &str) -> Option<TextField> {
        Some(match name {
            "name" => TextField::EnrollName,
            "url" => TextField::HeadOfficeUrl,
            "code" => TextField::EnrollmentCode,
            _ => return None,
        })
    }
}

/// A key of the on-screen keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKey {
    /// A character key (already in the case the keyboard showed).
    Char(char),
    /// The space bar.
    Space,
    /// Delete the last character.
    Backspace,
    /// Upper case for the next letter.
    Shift,
    /// Close the keyboard.
    Done,
}

/// Label of the shift key.
pub const SHIFT: &str = "⇧";
/// Label of the backspace key.
pub const BACKSPACE: &str = "⌫";

impl TextKey {
    /// The key for a label the view reports: one character, or the shift,
    /// backspace, `space` and `done` keys.
    pub fn from_label(label: &str) -> Option<TextKey> {
        match label {
            SHIFT => return Some(TextKey::Shift),
            BACKSPACE => return Some(TextKey::Backspace),
            "space" => return Some(TextKey::Space),
            "done" => return Some(TextKey::Done),
            _ => {}
        }
        let mut chars = label.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => Some(TextKey::Char(c)),
            _ => None,
        }
    }
}

/// Character keys, row by row (lower case).
const LETTER_ROWS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];
/// Punctuation on the last row: what URLs (`https://hq.example.com:8443`),
/// codes (`K7Q2-9XHM`) and names (`O'Brien`) need.
const PUNCTUATION: [char; 6] = ['.', '-', '/', ':', '_', '\''];

/// The keyboard while it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextKeyboard {
    /// The field it types into.
    pub field: TextField,
    /// The next letter is upper case.
    pub shifted: bool,
}

impl TextKeyboard {
    /// A keyboard typing into `field`. Names start with a capital letter.
    pub fn open(field: TextField, text: &str) -> TextKeyboard {
        TextKeyboard {
            field,
            shifted: field == TextField::EnrollName && text.is_empty(),
        }
    }

    /// The character keys, row by row, in the case the next letter takes;
    /// the last row ends with the punctuation keys. Shift, space, backspace
    /// and done are drawn by the view around them.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = LETTER_ROWS
            .iter()
            .map(|row| row.chars().map(|c| self.case(c).to_string()).collect())
            .collect();
        if let Some(last) = rows.last_mut() {
            last.extend(PUNCTUATION.iter().map(char::to_string));
        }
        rows
    }

    fn case(&self, c: char) -> char {
        if self.shifted {
            c.to_ascii_uppercase()
        } else {
            c
        }
    }

    /// Applies `key` to `text` (the field's text); returns whether the
    /// keyboard stays open. Text longer than the field takes is not
    /// extended; shift lasts for one letter.
    pub fn press(&mut self, key: TextKey, text: &mut String) -> bool {
        let room = text.chars().count() < self.field.max_chars();
        match key {
            TextKey::Char(c) => {
                if room {
                    text.push(c);
                }
                self.shifted = false;
            }
            TextKey::Space => {
                // A URL or a code has no spaces; a name has single ones.
                if room && self.field == TextField::EnrollName && !text.ends_with(' ') {
                    text.push(' ');
                    self.shifted = true;
                }
            }
            TextKey::Backspace => {
                text.pop();
                self.shifted =
                    self.field == TextField::EnrollName && (text.is_empty() || text.ends_with(' '));
            }
            TextKey::Shift => self.shifted = !self.shifted,
            TextKey::Done => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(field: TextField, keys: &[TextKey]) -> (String, TextKeyboard) {
        let mut text = String::new();
        let mut keyboard = TextKeyboard::open(field, &text);
        for &key in keys {
            let shown = keyboard.rows().concat();
            if let TextKey::Char(c) = key {
                assert!(
                    shown.contains(&c.to_string()),
                    "{c:?} is not on the keyboard as shown: {shown:?}"
                );
            }
            assert!(keyboard.press(key, &mut text));
        }
        (text, keyboard)
    }

    fn chars(s: &str) -> Vec<TextKey> {
        s.chars().map(TextKey::Char).collect()
    }

    #[test]
    fn a_url_types_with_the_keys_shown() {
        let (text, _) = typed(
            TextField::HeadOfficeUrl,
            &chars("https://hq.example.com:8443"),
        );
        assert_eq!(text, "https://hq.example.com:8443");
    }

    #[test]
    fn a_name_starts_upper_case_and_each_word_after_a_space() {
        let mut keys = vec![TextKey::Char('L'), TextKey::Char('i'), TextKey::Space];
        keys.extend([TextKey::Char('L')]);
        keys.extend(chars("ei"));
        let (text, keyboard) = typed(TextField::EnrollName, &keys);
        assert_eq!(text, "Li Lei");
        assert!(!keyboard.shifted);
    }

    #[test]
    fn shift_lasts_for_one_letter_and_toggles() {
        let mut text = String::new();
        let mut keyboard = TextKeyboard::open(TextField::EnrollmentCode, &text);
        assert!(!keyboard.shifted, "codes start lower case");
        keyboard.press(TextKey::Shift, &mut text);
        assert_eq!(keyboard.rows()[1][0], "Q");
        keyboard.press(TextKey::Char('Q'), &mut text);
        assert_eq!(keyboard.rows()[1][0], "q");
        keyboard.press(TextKey::Shift, &mut text);
        keyboard.press(TextKey::Shift, &mut text);
        assert!(!keyboard.shifted);
        assert_eq!(text, "Q");
    }

    #[test]
    fn spaces_only_go_into_names_and_never_twice() {
        let (url, _) = typed(
            TextField::HeadOfficeUrl,
            &[TextKey::Char('a'), TextKey::Space, TextKey::Char('b')],
        );
        assert_eq!(url, "ab");
        let (name, _) = typed(
            TextField::EnrollName,
            &[TextKey::Char('A'), TextKey::Space, TextKey::Space],
        );
        assert_eq!(name, "A ");
    }

    #[test]
    fn backspace_deletes_one_character_and_is_harmless_when_empty() {
        let mut text = String::from("张a");
        let mut keyboard = TextKeyboard::open(TextField::EnrollName, &text);
        keyboard.press(TextKey::Backspace, &mut text);
        assert_eq!(text, "张");
        keyboard.press(TextKey::Backspace, &mut text);
        keyboard.press(TextKey::Backspace, &mut text);
        assert_eq!(text, "");
        assert!(
            keyboard.shifted,
            "an empty name starts with a capital again"
        );
    }

    #[test]
    fn a_full_field_takes_no_more_characters() {
        let mut text = "x".repeat(TextField::EnrollName.max_chars());
        let mut keyboard = TextKeyboard::open(TextField::EnrollName, &text);
        keyboard.press(TextKey::Char('y'), &mut text);
        keyboard.press(TextKey::Space, &mut text);
        assert_eq!(text.chars().count(), TextField::EnrollName.max_chars());
        assert!(!text.ends_with('y'));
    }

    #[test]
    fn done_closes_and_leaves_the_text() {
        let mut text = String::from("abc");
        let mut keyboard = TextKeyboard::open(TextField::EnrollmentCode, &text);
        assert!(!keyboard.press(TextKey::Done, &mut text));
        assert_eq!(text, "abc");
    }

    #[test]
    fn labels_map_to_keys() {
        assert_eq!(TextKey::from_label("a"), Some(TextKey::Char('a')));
        assert_eq!(TextKey::from_label(":"), Some(TextKey::Char(':')));
        assert_eq!(TextKey::from_label(SHIFT), Some(TextKey::Shift));
        assert_eq!(TextKey::from_label(BACKSPACE), Some(TextKey::Backspace));
        assert_eq!(TextKey::from_label("space"), Some(TextKey::Space));
        assert_eq!(TextKey::from_label("done"), Some(TextKey::Done));
        assert_eq!(TextKey::from_label("ab"), None);
        assert_eq!(TextKey::from_label(""), None);
        assert_eq!(TextKey::from_label("\n"), None);
        assert_eq!(TextField::from_name("url"), Some(TextField::HeadOfficeUrl));
        assert_eq!(TextField::from_name("phone"), None);
    }
}
