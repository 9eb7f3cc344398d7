//! Head office's refusals of a console form in the user's language. The
//! service refuses with a stable code (`sync/PROTOCOL.md`, "Errors") and
//! English words meant for API clients; the console shows the code's words
//! instead (the rows `refusal_<code>` of its string table), so a zh-CN user never reads "Not done: a store with this
//! code exists". Only specific codes are worded: a generic one
//! (`bad_request`) keeps the service's message, which says what to fix
//! (the console's own checks, like a revoke's confirmation, are worded by
//! the string table already); the test below keeps every back-office
//! code worded.

use super::text;
use crate::dashboard::Lang;

/// The words for `code` in `lang`, if the console has them: the row
/// `refusal_<code>` of the console's string table (`console::text`).
pub fn words(lang: Lang, code: &str) -> Option<&'static str> {
    text::rows()
        .find(|(key, _, _)| key.strip_prefix("refusal_") == Some(code))
        .map(|&(_, zh, en)| match lang {
            Lang::ZhCn => zh,
            Lang::En => en,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_back_office_refusal_has_words_in_both_languages() {
        let back_office = include_str!("../service/back_office.rs").to_owned()
            + include_str!("../service/checks.rs")
            + include_str!("../service/member_care.rs")
            + include_str!("../service/conflicts.rs")
            + include_str!("../service/review_queue.rs")
            + include_str!("../service/campaigns.rs")
            + include_str!("../service/member_money.rs")
            + include_str!("../store/back_office.rs");
        let codes: Vec<&str> = back_office
            .split('"')
            .filter(|s| {
                s.starts_with("invalid_")
                    || s.starts_with("unknown_")
                    || s.ends_with("_exists")
                    || *s == "duplicate_staff_name"
            })
            .collect();
        assert!(codes.len() >= 10, "{codes:?}");
        for code in codes {
            let zh = words(Lang::ZhCn, code).unwrap_or_else(|| panic!("no words for {code}"));
            let en = words(Lang::En, code).unwrap_or_default();
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{code}: {zh}"
            );
            assert!(!en.is_empty() && en != zh, "{code}");
        }
    }
}
