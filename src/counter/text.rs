//! Words the counter shows that are built in Rust (messages, errors, labels
//! with numbers in them), in both languages. Static labels live in the
//! `.slint` views behind `@tr()`; everything dynamic comes from here, so a
//! language switch re-renders every string.

use tillcard_rules::Money;
use tillcard_rules::program::Tier;

use crate::format::{Language, discount_label, money};
use crate::scan::outcome::OutcomeKind;
use crate::store::StoreError;

/// Picks the text for `language`.
pub fn pick(language: Language, zh: &str, en: &str) -> String {
    match language {
        Language::ZhCn => zh.to_owned(),
        Language::En => en.to_owned(),
    }
}

/// A tier's name.
pub fn tier_name(language: Language, tier: &Tier) -> String {
    pick(language, &tier.name_zh, &tier.name_en)
}

/// "9折" / "10% off".
pub fn discount(language: Language, rate_bp: i64) -> String {
    discount_label(rate_bp, language)
}

/// What the clerk is told after a scan.
pub fn scan_outcome(language: Language, kind: OutcomeKind) -> String {
    let (zh, en) = match kind {
        OutcomeKind::MemberFound => ("会员已识别", "Member found"),
        OutcomeKind::UnknownMember => (
            "有效会员码，本店暂无资料：可累积积分，暂不能使用积分和储值",
            "Valid card, not known here yet: earns points; points and stored value need a known balance",
        ),
        OutcomeKind::LookupFailed => (
            "有效会员码，但本机会员资料读取失败：请重试",
            "Valid card, but this terminal could not read its member list: try again",
        ),
        OutcomeKind::NotMemberCode => ("这不是会员码", "Not a member code"),
        OutcomeKind::Forged => (
            "会员码无效（签名不符）：请勿受理",
            "Invalid card (signature does not match): do not accept",
        ),
        OutcomeKind::Revoked => (
            "此会员码已停用（挂失或注销）",
            "This card was revoked (lost or erased)",
        ),
        OutcomeKind::Expired => (
            "会员码已过期：请刷新会员码",
            "Card expired: ask for a fresh code",
        ),
        OutcomeKind::Unreadable => (
            "无法读取：请把码放稳或调亮屏幕",
            "Unreadable: hold the code steady or brighten the screen",
        ),
    };
    pick(language, zh, en)
}

/// A store refusal in words for the person at the screen.
pub fn store_error(language: Language, error: &StoreError) -> String {
    match error {
        StoreError::DuplicatePhone { masked_phone } => match language {
            Language::ZhCn => {
                format!("该手机号已是会员（{masked_phone}）：请直接扫码或按手机号查找")
            }
            Language::En => format!(
                "This phone number is already enrolled ({masked_phone}). Scan or look up that member instead."
            ),
        },
        StoreError::InvalidPhone => pick(
            language,
            "手机号无效：需为1开头的11位数字",
            "That is not a mobile number: it needs 11 digits starting with 1.",
        ),
        StoreError::NoConsent => pick(
            language,
            "入会前需会员同意隐私说明",
            "The member must agree to the privacy notice before enrolling.",
        ),
        StoreError::InvalidBirthday => {
            pick(language, "生日日期不存在", "That birthday does not exist.")
        }
        StoreError::UnknownMember => pick(
            language,
            "本机没有该会员",
            "This member is not on this terminal.",
        ),
        StoreError::UnknownSale => pick(
            language,
            "本机没有这笔销售",
            "No such sale on this terminal.",
        ),
        StoreError::UnknownClerk => pick(language, "没有该店员", "No such clerk."),
        StoreError::InvalidPin => pick(language, "密码为4到8位数字", "A PIN is 4 to 8 digits."),
        StoreError::WrongPin { attempts_left } => match language {
            Language::ZhCn => format!("密码错误，还可尝试{attempts_left}次"),
            Language::En => format!("Wrong PIN. {attempts_left} attempt(s) left before lockout."),
        },
        StoreError::Locked { until } => match language {
            Language::ZhCn => format!("密码错误次数过多，已锁定至{until}"),
            Language::En => format!("Too many wrong PINs: locked until {until}."),
        },
        StoreError::NotAManager => pick(language, "需要店长密码", "This needs a manager's PIN."),
        StoreError::DiskFull => pick(
            language,
            "终端磁盘已满：本次操作未记录，已记录的数据不会丢失。请联系技术支持",
            "The terminal's disk is full: this was NOT recorded. Nothing already recorded is lost. Call support.",
        ),
        other => match language {
            Language::ZhCn => format!("操作未完成：{other}"),
            Language::En => format!("Not done: {other}"),
        },
    }
}

/// "¥12.30".
pub fn yuan(amount: Money) -> String {
    money(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scan_outcome_has_words_in_both_languages() {
        use OutcomeKind::*;
        for kind in [
            MemberFound,
            UnknownMember,
            LookupFailed,
            NotMemberCode,
            Forged,
            Revoked,
            Expired,
            Unreadable,
        ] {
            let zh = scan_outcome(Language::ZhCn, kind);
            let en = scan_outcome(Language::En, kind);
            assert!(!zh.is_empty() && !en.is_empty());
            assert_ne!(zh, en, "{kind:?} is not translated");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }

    #[test]
    fn a_duplicate_phone_is_explained_with_the_masked_number_only() {
        let e = StoreError::DuplicatePhone {
            masked_phone: "138****5678".into(),
        };
        assert!(store_error(Language::ZhCn, &e).contains("138****5678"));
        assert!(store_error(Language::En, &e).contains("already enrolled"));
    }
}
