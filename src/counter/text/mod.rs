//! Words the counter shows that are built in Rust (messages, errors, labels
//! with numbers in them), in both languages. Static labels live in the
//! `.slint` views behind `@tr()`; everything dynamic comes from here, so a
//! language switch re-renders every string. The flows and the view adapter
//! (`crate::ui`) hold no clerk-facing words of their own: each message is a
//! function here that takes the language (and the numbers it shows).

use tillcard_rules::gifts::GiftError;
use tillcard_rules::pricing::Rule;
use tillcard_rules::program::Tier;
use tillcard_rules::refund::RefundOutcome;
use tillcard_rules::{Money, Timestamp};

use crate::counter::keyboard::TextField;

pub mod customer;
mod first_day;
mod items;
mod returns;
mod shift;
mod tenders;
use crate::format::{Language, discount_label, money};
use crate::scan::outcome::OutcomeKind;
use crate::store::StoreError;
use crate::uplink::UplinkStatus;
pub use first_day::*;
pub use items::*;
pub use returns::*;
pub use shift::*;
pub use tenders::*;

/// Picks the text for `language`.
pub fn pick(language: Language, zh: &str, en: &str) -> String {
    match language {
        Language::ZhCn => zh.to_owned(),
        Language::En => en.to_owned(),
    }
}

/// Declares fixed messages: each entry becomes `pub fn name(Language) ->
/// String` answering its Chinese or its English words, so a message with
/// no numbers in it is one line of the table rather than a function body.
macro_rules! phrases {
    ($($(#[$doc:meta])* $name:ident => $zh:literal, $en:literal;)+) => {
        $(
            $(#[$doc])*
            pub fn $name(language: Language) -> String {
                $crate::counter::text::pick(language, $zh, $en)
            }
        )+
    };
}
use phrases;

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
        OutcomeKind::Item => ("已扫描商品条码", "Product barcode scanned"),
        OutcomeKind::Receipt => ("已扫描小票二维码：退货", "Receipt code scanned: a return"),
        OutcomeKind::Enrollment => (
            "这是总部的开通二维码：仅在新收银机的首次开通界面扫描",
            "That is head office's enrollment code: scan it on a new till's first screen",
        ),
        OutcomeKind::Forged => (
            "会员码无效（签名不符）：请勿受理",
            "Invalid card (signature does not match): do not accept",
        ),
        OutcomeKind::Revoked => (
            "此会员码已停用（挂失或注销）",
            "This card was revoked (lost or erased)",
        ),
        OutcomeKind::KeyWithdrawn => (
            "此会员码由已吊销的终端在吊销后签发（疑似伪造）：请勿受理，请按手机号查找会员",
            "Card signed by a revoked terminal's key after its revocation (likely forged): do not accept; look the member up by phone",
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
    let (zh, en) = match error {
        StoreError::DuplicatePhone { masked_phone } => {
            return match language {
                Language::ZhCn => {
                    format!("该手机号已是会员（{masked_phone}）：请直接扫码或按手机号查找")
                }
                Language::En => format!(
                    "This phone number is already enrolled ({masked_phone}). Scan or look up that member instead."
                ),
            };
        }
        StoreError::InvalidPhone => (
            "手机号无效：需为1开头的11位数字",
            "That is not a mobile number: it needs 11 digits starting with 1.",
        ),
        StoreError::NoConsent => (
            "入会前需会员同意隐私说明",
            "The member must agree to the privacy notice before enrolling.",
        ),
        StoreError::InvalidBirthday => ("生日日期不存在", "That birthday does not exist."),
        StoreError::UnknownMember => ("本机没有该会员", "This member is not on this terminal."),
        StoreError::UnknownSale => ("本机没有这笔销售", "No such sale on this terminal."),
        StoreError::UnknownClerk => ("没有该店员", "No such clerk."),
        StoreError::WeakPin(problem) => return first_day::new_pin_problem(language, *problem),
        StoreError::WrongPin { attempts_left } => {
            return match language {
                Language::ZhCn => format!("密码错误，还可尝试{attempts_left}次"),
                Language::En => {
                    format!("Wrong PIN. {attempts_left} attempt(s) left before lockout.")
                }
            };
        }
        StoreError::Locked { wait_secs } => return first_day::locked_out(language, *wait_secs),
        StoreError::ManagerLockout => (
            "店长被锁定：需由总部重置密码解除",
            "A manager's lockout is lifted by a PIN reset at head office.",
        ),
        StoreError::NotAManager => ("需要店长密码", "This needs a manager's PIN."),
        StoreError::ClerkInactive => (
            "该店员已停用或不在本店：请联系店长",
            "This clerk is no longer active at this store. Ask the store manager.",
        ),
        StoreError::PinNotSet => (
            "尚未设置密码：请用总部提供的设置码设置",
            "No PIN yet: set one with the setup code from head office.",
        ),
        StoreError::AlreadyRegistered => (
            "本机已注册：重新注册需要店长密码",
            "This terminal is already registered: registering it again needs a manager's PIN.",
        ),
        StoreError::Gift(refusal) => return gift_refusal(language, refusal),
        StoreError::Receipt(_)
        | StoreError::AlreadyReturned { .. }
        | StoreError::ReceiptTooLarge(_) => return receipt_refused(language, error),
        StoreError::Tenders(_) => (
            "付款与应付金额不符：本次未记录，请核对支付方式",
            "The payment does not match the amount due: nothing was recorded. Check the tenders.",
        ),
        StoreError::DiskFull => (
            "终端磁盘已满：本次操作未记录，已记录的数据不会丢失。请联系技术支持",
            "The terminal's disk is full: this was NOT recorded. Nothing already recorded is lost. Call support.",
        ),
        other => {
            return match language {
                Language::ZhCn => format!("操作未完成：{other}"),
                Language::En => format!("Not done: {other}"),
            };
        }
    };
    pick(language, zh, en)
}

/// "¥12.30".
pub fn yuan(amount: Money) -> String {
    money(amount)
}

// The session: logging in, the manager PIN prompt.

phrases! {
    /// A scan while nobody is logged in.
    log_in_before_scanning => "请先登录再扫码", "Log in first, then scan";
    /// The login screen's OK with no clerk picked.
    pick_your_name => "请先选择店员", "Pick your name first";
    /// The manager prompt's OK with no manager picked.
    pick_a_manager => "请选择店长", "Pick a manager";
}

// Finding a member.

phrases! {
    /// The phone lookup's search with too few digits.
    key_the_phone => "请输入11位手机号", "Key the 11-digit mobile number";
    /// No member has the phone number keyed.
    no_member_with_phone => "没有找到该手机号的会员：可为其办理入会", "No member with that phone here: you can enroll them";
    /// A member's form opened with no member on screen.
    find_the_member_first => "请先扫码或按手机号找到会员", "Scan or look up the member first";
}

/// "有效至 2026-12-31" / "until 2026-12-31": a coupon's last day.
pub fn valid_until(language: Language, date: impl std::fmt::Display) -> String {
    format!("{} {date}", pick(language, "有效至", "until"))
}

// Checkout and the receipt.

phrases! {
    /// A quick key tapped with no amount keyed.
    amount_before_category => "请先输入金额，再按品类键", "Key the amount first, then the category";
    /// Confirming a sale with nothing rung up.
    ring_up_first => "请先录入商品", "Ring up the items first";
}

/// "+2 more lines (in the subtotal)": lines the checkout screen has no
/// room for; empty when every line shows.
pub fn more_lines(language: Language, hidden: usize) -> String {
    match (hidden, language) {
        (0, _) => String::new(),
        (n, Language::ZhCn) => format!("另有{n}行（见小计）"),
        (n, Language::En) => format!("+{n} more lines (in the subtotal)"),
    }
}

/// The confirm button: "Confirm ¥12.30", or "Confirm" with no quote yet.
pub fn confirm_sale(language: Language, amount_due: Option<Money>) -> String {
    match amount_due {
        Some(due) => match language {
            Language::ZhCn => format!("确认收款 {}", yuan(due)),
            Language::En => format!("Confirm {}", yuan(due)),
        },
        None => pick(language, "确认收款", "Confirm"),
    }
}

/// A rule's refusal for the clerk, in the clerk's language (the rules
/// engine's reason text is English; the rule says which one it was).
pub fn refusal(language: Language, rule: Rule, reason: &str) -> String {
    if language == Language::En {
        return reason.to_owned();
    }
    match rule {
        Rule::MembersOnly => "非会员不能使用会员权益".into(),
        Rule::CouponsPerOrder => "每单限用一张优惠券".into(),
        Rule::CouponNotHeld => "会员没有这张券".into(),
        Rule::CouponUsed => "这张券已使用".into(),
        Rule::CouponNotValidNow => "这张券不在有效期内".into(),
        Rule::CouponNothingInScope => "本单没有适用这张券的商品".into(),
        Rule::CouponMinimumSpend => "未达到优惠券的最低消费".into(),
        Rule::CouponDoesNotStack => "优惠券不能与会员折扣同享，已选更优惠的一项".into(),
        Rule::BalanceUnknown => "本店暂无该会员余额，暂不能使用积分和储值".into(),
        Rule::MemberFrozen => "该会员账户已被总部冻结，不能使用积分和储值".into(),
        Rule::PointsStep => "积分需按100分的整数倍使用".into(),
        Rule::PointsBalance => "积分余额不足".into(),
        Rule::PointsShareCap => "积分最多抵扣应付金额的50%".into(),
        Rule::PointsOrderCap => "超过每单积分上限".into(),
        Rule::PointsDayCap => "超过每日积分上限".into(),
        Rule::OfflineAllowance => "离线时每位会员每日可用额度已用完".into(),
        Rule::StoredValueBalance => "储值余额不足".into(),
    }
}

phrases! {
    /// The receipt screen's line for a sale with no member.
    walk_in_sale => "非会员销售", "Walk-in sale";
}

/// "Points balance 1280".
pub fn points_balance(language: Language, points: impl std::fmt::Display) -> String {
    format!("{} {points}", pick(language, "积分余额", "Points balance"))
}

/// "Stored value ¥300.00".
pub fn stored_value_balance(language: Language, amount: &str) -> String {
    format!("{} {amount}", pick(language, "储值余额", "Stored value"))
}

/// "Tier Gold".
pub fn tier_line(language: Language, tier: &str) -> String {
    format!("{} {tier}", pick(language, "会员等级", "Tier"))
}

phrases! {
    /// The receipt screen's note on a sale booked offline.
    recorded_offline => "离线记账，联网后自动同步", "Recorded offline; syncs when the network is back";
}

/// "Receipt saved: /path".
pub fn receipt_saved(language: Language, path: &str) -> String {
    format!(
        "{} {path}",
        pick(language, "小票已保存：", "Receipt saved:")
    )
}

// Enrollment.

phrases! {
    /// The enrollment form's phone is not a mobile number.
    enroll_phone_invalid => "手机号需为1开头的11位数字", "The phone number needs 11 digits starting with 1";
    /// The enrollment form sent without the member's consent.
    enroll_needs_consent => "请会员阅读并同意隐私说明", "The member must read and accept the privacy notice";
    /// The enrollment form's birthday is no date.
    enroll_birthday_invalid => "生日日期无效", "That birthday is not a date";
}

/// The birthday on the enrollment form ("3月14日" / "3/14 (month/day)");
/// month 0 is none given.
pub fn birthday(language: Language, month: u8, day: u8) -> String {
    if month == 0 {
        return pick(language, "未填写", "not given");
    }
    match language {
        Language::ZhCn => format!("{month}月{day}日"),
        Language::En => format!("{month}/{day} (month/day)"),
    }
}

/// "Card saved: /path".
pub fn card_saved(language: Language, path: impl std::fmt::Display) -> String {
    format!("{} {path}", pick(language, "会员码已保存：", "Card saved:"))
}

/// Beside a re-issued card on the member screen.
pub fn new_card_note(language: Language) -> String {
    pick(
        language,
        "总部已为该会员补发新会员码：请会员扫描或打印保存，旧码已作废。",
        "Head office re-issued this member's card: let them scan or print this one; the old card no longer scans.",
    )
}

/// "Welcome coupon ¥10 off (2026-12-31)".
pub fn welcome_coupon(language: Language, label: &str, valid_until: &str) -> String {
    format!(
        "{} {label} ({valid_until})",
        pick(language, "欢迎券", "Welcome coupon")
    )
}

// The manager's forms: top-up, refund, adjustment.

phrases! {
    /// Top-up confirmed with neither a package nor an amount.
    pick_package_or_amount => "请选择充值套餐或输入金额", "Pick a package or key an amount";
}

/// A top-up package: "充100送20" / "Pay ¥100.00 get ¥120.00".
pub fn top_up_package(language: Language, pay: Money, bonus: Money) -> String {
    match language {
        Language::ZhCn => format!("充{}送{}", pay.whole_yuan(), bonus.whole_yuan()),
        Language::En => format!("Pay {} get {}", yuan(pay), yuan(pay + bonus)),
    }
}

phrases! {
    /// Refund confirmed with no sale picked.
    pick_a_sale => "请选择一笔销售", "Pick a sale";
    /// Refund confirmed with nothing to give back.
    choose_refund_lines => "请选择要退的商品数量", "Choose what to refund";
}

/// Who a recent sale was for, on the refund screen.
pub fn sale_customer(language: Language, member: bool) -> String {
    if member {
        pick(language, "会员", "member")
    } else {
        pick(language, "非会员", "walk-in")
    }
}

/// What a booked refund gives back, line by line.
pub fn refund_outcome(language: Language, o: &RefundOutcome) -> Vec<String> {
    let mut lines = vec![match language {
        Language::ZhCn => format!(
            "退现金{}，退储值{}，退回积分{}，扣回积分{}",
            yuan(o.money),
            yuan(o.stored_value_principal + o.stored_value_bonus),
            o.points_returned,
            o.points_reversed
        ),
        Language::En => format!(
            "Give back {} cash, {} stored value, {} points returned, {} earned points taken back",
            yuan(o.money),
            yuan(o.stored_value_principal + o.stored_value_bonus),
            o.points_returned,
            o.points_reversed
        ),
    }];
    if o.coupon_restored {
        lines.push(pick(language, "优惠券已恢复", "The coupon is usable again"));
    }
    if o.flagged_negative {
        lines.push(pick(
            language,
            "积分已为负，已提交总部复核",
            "Points went negative: flagged for head office",
        ));
    }
    lines
}

phrases! {
    /// Adjustment confirmed without points or a reason.
    key_points_and_reason => "请输入积分数并选择原因", "Key the points and pick a reason";
    /// A top-up or adjustment booked.
    booked => "已记账", "Done: booked";
    /// A refund booked.
    refund_booked => "退款已记账", "Refund booked";
}

// Status, sync and settings.

/// The status strip's "Online" / "Offline".
pub fn online(language: Language, online: bool) -> String {
    if online {
        pick(language, "在线", "Online")
    } else {
        pick(language, "离线", "Offline")
    }
}

phrases! {
    /// The status strip's note when no head office is configured.
    no_head_office => "未连接总部：仅本机记账", "No head office set: recording locally";
    /// The status strip's note while head office has not answered yet.
    connecting => "正在连接总部…", "Connecting to head office…";
    /// The status strip with no camera: a keyboard-wedge scanner or demo cards.
    camera_none => "扫码枪/演示卡", "Scanner / demo cards";
    /// The status strip with the camera streaming.
    camera_on => "摄像头正常", "Camera on";
    /// The status strip with the camera lost.
    camera_lost => "摄像头未连接，重试中", "Camera unplugged: retrying";
    /// The status strip while scanning image files.
    camera_files => "从图片扫码", "Scanning image files";
}

/// When head office last answered ("11-30 10:00"), or never.
pub fn sync_time(language: Language, at: Option<&Timestamp>) -> String {
    at.map_or_else(
        || pick(language, "从未", "never"),
        |t| t.format("%m-%d %H:%M").to_string(),
    )
}

/// The status strip's note when events were quarantined: head office can
/// never take them; they are kept here and reported for review.
pub fn quarantined(language: Language, events: u64) -> String {
    match language {
        Language::ZhCn => format!("{events} 笔记录总部无法接收，已隔离并上报总部"),
        Language::En => {
            format!("{events} event(s) head office cannot take: set aside and reported")
        }
    }
}

/// The sync screen's rows: (label, value).
pub fn sync_rows(language: Language, status: &UplinkStatus) -> Vec<(String, String)> {
    let l = |zh: &str, en: &str| pick(language, zh, en);
    vec![
        (l("状态", "State"), online(language, status.online)),
        (
            l("待上传事件", "Events waiting"),
            status.pending.to_string(),
        ),
        (
            l("最早待上传", "Oldest waiting since"),
            status.oldest_pending.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            l("上次同步", "Last sync"),
            sync_time(language, status.last_success.as_ref()),
        ),
        (
            l("最近错误", "Last error"),
            status
                .last_error
                .as_ref()
                .map_or_else(|| "-".into(), |p| uplink_problem(language, p)),
        ),
        (
            l("总部已确认至", "Head office holds up to"),
            format!("#{}", status.acked_seq),
        ),
        (
            l("已隔离事件", "Events set aside"),
            status.quarantined.to_string(),
        ),
    ]
}

/// The on-screen keyboard's title: the field it types into.
pub fn field_title(language: Language, field: TextField) -> String {
    match field {
        TextField::EnrollName => pick(language, "姓名", "Name"),
        TextField::HeadOfficeUrl => pick(language, "总部地址", "Head office address"),
        TextField::EnrollmentCode => pick(language, "开通码", "Enrollment code"),
    }
}

phrases! {
    /// Registering with head office without an address or a code.
    fill_in_registration => "请填写总部地址和开通码", "Fill in head office's address and the enrollment code";
    /// Registered with head office.
    registered => "已向总部登记，本机开始同步", "Registered with head office; syncing starts now";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scan_outcome_has_words_in_both_languages() {
        for kind in OutcomeKind::ALL {
            let zh = scan_outcome(Language::ZhCn, kind);
            let en = scan_outcome(Language::En, kind);
            assert!(!zh.is_empty() && !en.is_empty());
            assert_ne!(zh, en, "{kind:?} is not translated");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }

    #[test]
    fn why_syncing_fails_is_said_in_the_clerks_language() {
        use crate::uplink::UplinkProblem;
        let problems = [
            UplinkProblem::NotRegistered,
            UplinkProblem::Unreachable,
            UplinkProblem::Trouble(503),
            UplinkProblem::Refused {
                code: "terminal_revoked".into(),
                detail: "this terminal is revoked".into(),
            },
            UplinkProblem::Garbled,
            UplinkProblem::Stalled(42),
            UplinkProblem::DiskFull,
            UplinkProblem::Address(crate::config::AddressProblem::PlainHttp {
                host: "hq.example.com".into(),
            }),
            UplinkProblem::Certificate(crate::uplink::CertificateProblem::NotPinned),
            UplinkProblem::Certificate(crate::uplink::CertificateProblem::Untrusted),
        ];
        for problem in problems {
            let zh = uplink_problem(Language::ZhCn, &problem);
            let en = uplink_problem(Language::En, &problem);
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{problem:?}: {zh}"
            );
            assert!(en.is_ascii() || en.contains('’'), "{problem:?}: {en}");
            assert_ne!(zh, en);
        }
        assert!(
            uplink_problem(
                Language::ZhCn,
                &UplinkProblem::Refused {
                    code: "terminal_revoked".into(),
                    detail: "revoked".into()
                }
            )
            .contains("停用"),
            "a refusal is worded by its code, not head office's English"
        );
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

// Gifts for points (礼品兑换).

phrases! {
    /// Confirming with no gift picked.
    pick_a_gift => "请先选择礼品", "Pick a gift first";
    /// The catalogue has no active gift.
    no_gifts => "当前没有可兑换的礼品", "No gifts to redeem at the moment";
}

/// "400积分" / "400 points": a gift's price.
pub fn gift_price(language: Language, points: i64) -> String {
    match language {
        Language::ZhCn => format!("{points}积分"),
        Language::En => format!("{points} points"),
    }
}

/// What the clerk is told after a gift is redeemed.
pub fn gift_redeemed(language: Language, name: &str, points: i64) -> String {
    match language {
        Language::ZhCn => format!("已兑换礼品：{name}（扣除{points}积分），请将礼品交给会员"),
        Language::En => {
            format!("Gift redeemed: {name} ({points} points taken). Hand the gift to the member.")
        }
    }
}

/// Why the member cannot take a gift of `price` points now.
pub fn gift_not_affordable(
    language: Language,
    frozen: bool,
    balances_known: bool,
    price: i64,
    available: i64,
) -> String {
    if frozen {
        gift_refusal(language, &GiftError::MemberFrozen)
    } else if !balances_known {
        gift_refusal(language, &GiftError::BalanceUnknown)
    } else {
        gift_refusal(language, &GiftError::NotEnoughPoints { price, available })
    }
}

/// A gift redemption the rules refused, in words.
pub fn gift_refusal(language: Language, refusal: &GiftError) -> String {
    match (refusal, language) {
        (GiftError::MemberFrozen, Language::ZhCn) => {
            "该会员账户已被总部冻结：不能用积分兑换礼品".to_owned()
        }
        (GiftError::MemberFrozen, Language::En) => {
            "This member's account is frozen by head office: no gifts for points.".to_owned()
        }
        (GiftError::BalanceUnknown, Language::ZhCn) => {
            "本机暂无该会员的余额：同步后才能兑换礼品".to_owned()
        }
        (GiftError::BalanceUnknown, Language::En) => {
            "This member's balances are not known here yet: sync first, then redeem.".to_owned()
        }
        (GiftError::UnknownGift(_), Language::ZhCn) => "礼品目录中没有该礼品".to_owned(),
        (GiftError::UnknownGift(_), Language::En) => {
            "That gift is not in the catalogue.".to_owned()
        }
        (GiftError::InactiveGift(_), Language::ZhCn) => "该礼品暂停兑换".to_owned(),
        (GiftError::InactiveGift(_), Language::En) => {
            "That gift is not offered at the moment.".to_owned()
        }
        (GiftError::NotEnoughPoints { price, available }, Language::ZhCn) => {
            format!("积分不足：该礼品需{price}积分，会员现有{available}积分")
        }
        (GiftError::NotEnoughPoints { price, available }, Language::En) => {
            format!("Not enough points: the gift costs {price} points, the member has {available}.")
        }
        (GiftError::AlreadyBooked(_), Language::ZhCn) => "该兑换已记录，未重复记录".to_owned(),
        (GiftError::AlreadyBooked(_), Language::En) => {
            "This redemption is already recorded; it was not recorded again.".to_owned()
        }
        (GiftError::WrongMember, Language::ZhCn) => "本机没有该会员".to_owned(),
        (GiftError::WrongMember, Language::En) => "This member is not on this terminal.".to_owned(),
    }
}
