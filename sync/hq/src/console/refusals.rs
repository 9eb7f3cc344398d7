//! Head office's refusals of a console form in the user's language. The
//! service refuses with a stable code (`sync/PROTOCOL.md`, "Errors") and
//! English words meant for API clients; the console shows the code's words
//! here instead, so a zh-CN user never reads "Not done: a store with this
//! code exists". Only specific codes are worded: a generic one
//! (`bad_request`) keeps the service's message, which says what to fix
//! (the console's own checks, like a revoke's confirmation, are worded by
//! the string table already); the test below keeps every back-office
//! code worded.

use crate::dashboard::Lang;

/// `(code, zh-CN, en)`.
const TABLE: &[(&str, &str, &str)] = &[
    (
        "store_exists",
        "已有相同编号的门店",
        "A store with this code exists",
    ),
    (
        "staff_exists",
        "已有相同工号的店员",
        "A clerk with this staff id exists",
    ),
    (
        "duplicate_staff_name",
        "该门店已有同名店员：请加以区分（如“李娜2”）",
        "A clerk of that store has this name: tell them apart (e.g. \"Li Na 2\")",
    ),
    ("unknown_store", "没有该门店", "No such store"),
    ("unknown_staff", "没有该店员", "No such clerk"),
    ("unknown_user", "没有该总部用户", "No such head-office user"),
    (
        "invalid_store_code",
        "门店编号为1到32位字母、数字或 . _ -",
        "A store code is 1 to 32 of letters, digits, . _ -",
    ),
    (
        "invalid_store_name",
        "门店名称不能为空，最多100个字",
        "A store name is not blank and at most 100 characters",
    ),
    (
        "invalid_time_zone",
        "时区需为 IANA 名称（如 Asia/Shanghai）",
        "A time zone is an IANA name (Asia/Shanghai)",
    ),
    (
        "invalid_address",
        "地址最多200个字",
        "An address is at most 200 characters",
    ),
    (
        "invalid_staff_id",
        "工号为1到32位字母、数字或 . _ -",
        "A staff id is 1 to 32 of letters, digits, . _ -",
    ),
    (
        "invalid_display_name",
        "姓名不能为空，最多40个字",
        "A name is not blank and at most 40 characters",
    ),
    (
        "invalid_staff_stores",
        "店员需属于1到20家门店",
        "A clerk works at 1 to 20 stores",
    ),
    (
        "invalid_expiry",
        "有效期为1到90天",
        "A code is good for 1 to 90 days",
    ),
    (
        "invalid_username",
        "用户名为1到64位字母、数字或 . _ - @",
        "A user name is 1 to 64 of letters, digits, . _ - @",
    ),
    (
        "invalid_password",
        "密码需8到1024个字符",
        "A password is 8 to 1024 characters",
    ),
    (
        "invalid_subject",
        "查询对象最多200个字",
        "A subject is at most 200 characters",
    ),
    (
        "role_forbidden",
        "你的角色不能执行此操作",
        "Your role may not do this",
    ),
    (
        "terminal_revoked",
        "该终端已停用",
        "That terminal is revoked",
    ),
];

/// The words for `code` in `lang`, if the console has them.
pub fn words(lang: Lang, code: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, zh, en)| match lang {
            Lang::ZhCn => *zh,
            Lang::En => *en,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_back_office_refusal_has_words_in_both_languages() {
        let back_office = include_str!("../service/back_office.rs").to_owned()
            + include_str!("../service/checks.rs")
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
