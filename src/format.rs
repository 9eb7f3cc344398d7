//! How money, discounts and personal data are shown to people, in zh-CN and
//! en. Display only: no rule lives here.

use tillcard_rules::Money;

/// The two languages the terminal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Simplified Chinese.
    #[default]
    ZhCn,
    /// English.
    En,
}

/// A discount rate the way shoppers read it: `9折` / `95折` in Chinese (the
/// share of the price paid), `10% off` in English.
pub fn discount_label(rate_bp: i64, language: Language) -> String {
    match language {
        Language::ZhCn => {
            let paid_bp = 10_000 - rate_bp.clamp(0, 10_000);
            // 9000 -> 9折, 9500 -> 95折, 8850 -> 88.5折
            if paid_bp % 1000 == 0 {
                format!("{}折", paid_bp / 1000)
            } else if paid_bp % 100 == 0 {
                format!("{}折", paid_bp / 100)
            } else {
                let text = format!("{:.2}", paid_bp as f64 / 100.0);
                format!("{}折", text.trim_end_matches('0').trim_end_matches('.'))
            }
        }
        Language::En => {
            if rate_bp % 100 == 0 {
                format!("{}% off", rate_bp / 100)
            } else {
                let text = format!("{:.2}", rate_bp as f64 / 100.0);
                format!("{}% off", text.trim_end_matches('0').trim_end_matches('.'))
            }
        }
    }
}

/// Money for display: `¥1,234.50`.
pub fn money(amount: Money) -> String {
    amount.to_string()
}

/// A mainland mobile number masked for clerks: `138****5678`. Anything that
/// is not at least 7 digits is masked completely.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return "*".repeat(digits.len().max(4));
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(digits.len() - 7))
}

/// A name masked for clerks: the first character, then `*` for the rest
/// (`张*`, `欧阳**`→`欧**`, `Alice`→`A****`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounts_read_the_chinese_way_and_as_percent_in_english() {
        assert_eq!(discount_label(1000, Language::ZhCn), "9折");
        assert_eq!(discount_label(500, Language::ZhCn), "95折");
        assert_eq!(discount_label(1500, Language::ZhCn), "85折");
        assert_eq!(discount_label(1150, Language::ZhCn), "88.5折");
        assert_eq!(discount_label(1000, Language::En), "10% off");
        assert_eq!(discount_label(1150, Language::En), "11.5% off");
    }

    #[test]
    fn personal_data_is_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "****");
        assert_eq!(mask_name("张伟"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("张"), "张*");
    }
}
