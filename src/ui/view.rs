//! Copying the counter's state into the `Ui` global, and reading the views'
//! action names back into counter actions. Formatting decisions live in
//! `crate::counter` (text, receipt, member); this file only maps fields.

use std::path::PathBuf;
use std::rc::Rc;

use slint::{Image, ModelRc, Rgb8Pixel, Rgba8Pixel, SharedPixelBuffer, SharedString, VecModel};

use super::{Choice, ClerkItem, KeyRow, LineItem, MemberCard, PageId, Row, StatusView, Ui};
use crate::counter::checkout::QUICK_KEYS;
use crate::counter::forms::{ADJUST_REASONS, COMMON_SURNAMES};
use crate::counter::keyboard::{TextField, TextKey};
use crate::counter::member::{MemberSnapshot, coupon_label, member_view};
use crate::counter::messages::Notice;
use crate::counter::receipt::{earn_line, quote_rows};
use crate::counter::text::{pick, scan_outcome, yuan};
use crate::counter::{Action, CameraStatus, Counter, Page};
use crate::format::Language;
use crate::scan::frame::LumaFrame;
use crate::store::clerks::Role;
use tillcard_rules::pricing::Quote;

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(items)))
}

fn s(text: impl AsRef<str>) -> SharedString {
    SharedString::from(text.as_ref())
}

fn strings(items: impl IntoIterator<Item = String>) -> ModelRc<SharedString> {
    model(items.into_iter().map(SharedString::from).collect())
}

/// The counter action for a view's action name (and index where one is
/// needed). Unknown names are ignored.
pub fn action_from(name: &str, index: i32) -> Option<Action> {
    let n = usize::try_from(index).unwrap_or(0);
    if let Some(id) = name.strip_prefix("select-clerk:") {
        return Some(Action::SelectClerk(id.to_owned()));
    }
    if let Some(id) = name.strip_prefix("select-manager:") {
        return Some(Action::SelectManager(id.to_owned()));
    }
    if let Some(surname) = name.strip_prefix("surname:") {
        return Some(Action::Surname(surname.to_owned()));
    }
    if let Some(field) = name.strip_prefix("keyboard:") {
        return TextField::from_name(field).map(Action::OpenKeyboard);
    }
    if let Some(key) = name.strip_prefix("type:") {
        return TextKey::from_label(key).map(Action::TypeKey);
    }
    Some(match name {
        "submit-pin" => Action::SubmitPin,
        "lock" => Action::Lock,
        "language-zh" => Action::SetLanguage(Language::ZhCn),
        "language-en" => Action::SetLanguage(Language::En),
        "home" => Action::Home,
        "open-checkout" => Action::OpenCheckout,
        "open-enroll" => Action::OpenEnroll,
        "open-phone" => Action::OpenPhoneLookup,
        "open-manager" => Action::OpenManager,
        "quick-key" => Action::QuickKey(n),
        "remove-line" => Action::RemoveLine(n),
        "toggle-coupon" => Action::ToggleCoupon(n),
        "max-points" => Action::MaxPoints,
        "toggle-stored-value" => Action::ToggleStoredValue,
        "detach-member" => Action::DetachMember,
        "confirm-sale" => Action::ConfirmSale,
        "cancel-sale" => Action::CancelSale,
        "print-receipt" => Action::PrintReceipt,
        "find-phone" => Action::FindPhone,
        "member-checkout" => Action::MemberCheckout,
        "member-top-up" => Action::MemberTopUp,
        "member-adjust" => Action::MemberAdjust,
        "birthday-month" => Action::BirthdayMonth(i8::try_from(index).unwrap_or(0)),
        "birthday-day" => Action::BirthdayDay(i8::try_from(index).unwrap_or(0)),
        "toggle-consent" => Action::ToggleConsent,
        "clear-referrer" => Action::ClearReferrer,
        "submit-enroll" => Action::SubmitEnroll,
        "cancel-approval" => Action::CancelApproval,
        "open-top-up" => Action::OpenTopUp,
        "open-refund" => Action::OpenRefund,
        "open-adjust" => Action::OpenAdjust,
        "open-sync" => Action::OpenSync,
        "open-settings" => Action::OpenSettings,
        "select-package" => Action::SelectPackage(n),
        "confirm-top-up" => Action::ConfirmTopUp,
        "select-sale" => Action::SelectSale(n),
        "refund-less" => Action::RefundStep(n, -1),
        "refund-more" => Action::RefundStep(n, 1),
        "confirm-refund" => Action::ConfirmRefund,
        "toggle-adjust-sign" => Action::ToggleAdjustSign,
        "select-reason" => Action::SelectReason(n),
        "confirm-adjust" => Action::ConfirmAdjust,
        "sync-now" => Action::SyncNow,
        "provision" => Action::Provision,
        _ => return None,
    })
}

/// A luma frame as a Slint image (grey RGB).
pub fn luma_image(frame: &LumaFrame) -> Image {
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(frame.width, frame.height);
    for (px, &y) in buffer.make_mut_slice().iter_mut().zip(frame.data.iter()) {
        *px = Rgb8Pixel { r: y, g: y, b: y };
    }
    Image::from_rgb8(buffer)
}

fn rgba_image(img: &image::RgbaImage) -> Image {
    let buffer =
        SharedPixelBuffer::<Rgba8Pixel>::clone_from_slice(img.as_raw(), img.width(), img.height());
    Image::from_rgba8(buffer)
}

/// The demo card files as images (unreadable files are left out).
pub fn demo_card_images(paths: &[PathBuf]) -> Vec<Image> {
    paths
        .iter()
        .filter_map(|p| image::open(p).ok())
        .map(|img| rgba_image(&img.to_rgba8()))
        .collect()
}

fn page_id(page: Page) -> PageId {
    match page {
        Page::Login => PageId::Login,
        Page::Home => PageId::Home,
        Page::Member => PageId::Member,
        Page::Checkout => PageId::Checkout,
        Page::Receipt => PageId::Receipt,
        Page::Enroll => PageId::Enroll,
        Page::EnrollDone => PageId::EnrollDone,
        Page::PhoneLookup => PageId::Phone,
        Page::Manager => PageId::Manager,
        Page::TopUp => PageId::TopUp,
        Page::Refund => PageId::Refund,
        Page::Adjust => PageId::Adjust,
        Page::Sync => PageId::Sync,
        Page::Settings => PageId::Settings,
    }
}

fn member_card(snapshot: Option<&MemberSnapshot>, language: Language) -> MemberCard {
    let Some(snapshot) = snapshot else {
        return MemberCard::default();
    };
    let v = member_view(snapshot, language);
    MemberCard {
        shown: true,
        name: s(v.name),
        phone: s(v.phone),
        tier: s(v.tier),
        tier_discount: s(v.tier_discount),
        next_tier: s(v.next_tier),
        tier_progress: v.tier_progress,
        points: s(v.points.to_string()),
        points_expiry: s(v.points_expiry),
        stored_value: s(v.stored_value),
        stored_value_split: s(v.stored_value_split),
        birthday_month: v.birthday_month,
        balances_unknown: v.balances_unknown,
        flagged: v.flagged,
    }
}

fn rows(quote: Option<&Quote>, language: Language) -> ModelRc<Row> {
    model(
        quote
            .map(|q| quote_rows(q, language))
            .unwrap_or_default()
            .into_iter()
            .map(|r| Row {
                label: s(r.label),
                amount: s(r.amount),
                strong: r.strong,
            })
            .collect(),
    )
}

/// Lines shown at once on the checkout screen: the newest ones (the rest
/// are counted under them), so the totals and tender never scroll away.
const LINES_SHOWN: usize = 4;

fn line_items(
    quote: Option<&Quote>,
    fallback: &[tillcard_rules::pricing::BasketLine],
) -> Vec<LineItem> {
    let index = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
    match quote {
        Some(q) => q
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let off = l.tier_discount + l.member_day_discount + l.coupon_discount;
                LineItem {
                    index: index(i),
                    name: s(&l.item.name),
                    qty: s(format!("×{}", l.item.quantity)),
                    gross: s(yuan(l.gross)),
                    discount: if off.is_zero() {
                        SharedString::new()
                    } else {
                        s(format!("{} {}", yuan(l.gross), yuan(-off)))
                    },
                    net: s(yuan(l.net)),
                }
            })
            .collect(),
        None => fallback
            .iter()
            .enumerate()
            .map(|(i, l)| LineItem {
                index: index(i),
                name: s(&l.name),
                qty: s(format!("×{}", l.quantity)),
                gross: s(yuan(l.unit_price)),
                discount: SharedString::new(),
                net: s(yuan(l.unit_price)),
            })
            .collect(),
    }
}

fn lines(
    quote: Option<&Quote>,
    fallback: &[tillcard_rules::pricing::BasketLine],
) -> ModelRc<LineItem> {
    model(line_items(quote, fallback))
}

fn choice(label: String, detail: String, selected: bool) -> Choice {
    Choice {
        label: s(label),
        detail: s(detail),
        selected,
        enabled: true,
    }
}

fn time_text(t: Option<&tillcard_rules::Timestamp>, language: Language) -> String {
    t.map_or_else(
        || pick(language, "从未", "never"),
        |t| t.format("%m-%d %H:%M").to_string(),
    )
}

/// Copies the counter's whole state into the `Ui` global.
pub fn render(c: &Counter, ui: &Ui<'_>) {
    let lang = c.language;
    let l = |zh: &str, en: &str| pick(lang, zh, en);
    ui.set_page(page_id(c.page));
    ui.set_language(s(match lang {
        Language::ZhCn => "zh-CN",
        Language::En => "en",
    }));

    // Status strip.
    let status = &c.status;
    let status_text = if status.online {
        l("在线", "Online")
    } else {
        l("离线", "Offline")
    };
    let offline_note = if !c.head_office_configured {
        l(
            "未连接总部：仅本机记账",
            "No head office set: recording locally",
        )
    } else if let Some(e) = &status.last_error {
        e.clone()
    } else if status.online {
        String::new()
    } else {
        l("正在连接总部…", "Connecting to head office…")
    };
    let camera = match &c.camera {
        CameraStatus::None => l("扫码枪/演示卡", "Scanner / demo cards"),
        CameraStatus::Streaming => l("摄像头正常", "Camera on"),
        CameraStatus::Lost(_) => l("摄像头未连接，重试中", "Camera unplugged: retrying"),
        CameraStatus::Files => l("从图片扫码", "Scanning image files"),
    };
    ui.set_status(StatusView {
        online: status.online,
        text: s(&status_text),
        pending: s(status.pending.to_string()),
        last_sync: s(time_text(status.last_success.as_ref(), lang)),
        camera: s(camera),
        clerk: s(c
            .clerk
            .as_ref()
            .map(|k| k.name().to_owned())
            .unwrap_or_default()),
        offline_note: s(offline_note),
    });
    let (notice, bad) = notice_parts(c.notice.as_ref());
    ui.set_notice(notice);
    ui.set_notice_bad(bad);
    if let Some(scan) = &c.scan {
        ui.set_scan_good(scan.kind.is_good());
        ui.set_scan_text(s(scan_outcome(lang, scan.kind)));
    }

    // Login.
    ui.set_clerks(model(
        c.clerks
            .iter()
            .map(|k| ClerkItem {
                id: s(&k.id),
                name: s(&k.name),
                manager: k.role == Role::Manager,
                selected: c.login_clerk.as_deref() == Some(k.id.as_str()),
            })
            .collect(),
    ));
    ui.set_pin(s(c.login_pin.display()));

    // Member.
    ui.set_member(member_card(c.member.as_ref(), lang));
    if let Some(m) = &c.member {
        ui.set_member_coupons(model(
            m.account
                .usable_coupons(m.at)
                .map(|cp| {
                    choice(
                        coupon_label(lang, cp),
                        format!(
                            "{} {}",
                            l("有效至", "until"),
                            cp.valid_until.format("%Y-%m-%d")
                        ),
                        false,
                    )
                })
                .collect(),
        ));
        ui.set_member_tags(strings(m.record.tags.clone()));
    }

    // Checkout.
    let sale = &c.sale;
    let quote = sale.quote();
    let all = line_items(quote, &sale.lines);
    let hidden = all.len().saturating_sub(LINES_SHOWN);
    ui.set_more_lines(s(match (hidden, lang) {
        (0, _) => String::new(),
        (n, Language::ZhCn) => format!("另有{n}行（见小计）"),
        (n, Language::En) => format!("+{n} more lines (in the subtotal)"),
    }));
    ui.set_lines(model(all.into_iter().skip(hidden).collect()));
    ui.set_rows(rows(quote, lang));
    ui.set_entry(s(sale.entry.display()));
    ui.set_quick_keys(strings(QUICK_KEYS.iter().map(|k| pick(lang, k.zh, k.en))));
    ui.set_sale_member(member_card(sale.member.as_ref(), lang));
    let applied = quote.and_then(|q| q.coupon.as_ref()).map(|cp| cp.coupon);
    ui.set_sale_coupons(model(
        sale.member
            .as_ref()
            .map(|m| {
                m.account
                    .usable_coupons(m.at)
                    .map(|cp| {
                        choice(
                            coupon_label(lang, cp),
                            String::new(),
                            applied == Some(cp.id),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    ));
    let priced = sale.priced.as_ref();
    ui.set_points(i32::try_from(sale.points).unwrap_or(i32::MAX));
    ui.set_max_points(i32::try_from(priced.map_or(0, |p| p.max_points)).unwrap_or(i32::MAX));
    ui.set_points_step(i32::try_from(priced.map_or(100, |p| p.points_step)).unwrap_or(100));
    ui.set_use_stored_value(sale.use_stored_value);
    let sv = sale
        .member
        .as_ref()
        .map(|m| m.account.stored_value.total())
        .unwrap_or_default();
    ui.set_stored_value_available(s(yuan(sv)));
    ui.set_stored_value_enabled(
        sale.member
            .as_ref()
            .is_some_and(|m| m.record.balances_known && !sv.is_zero()),
    );
    ui.set_earn_line(s(quote.map(|q| earn_line(q, lang)).unwrap_or_default()));
    ui.set_notes(strings(
        quote
            .map(|q| {
                q.refusals
                    .iter()
                    .map(|r| refusal_text(r.rule, &r.reason, lang))
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default(),
    ));
    ui.set_sale_error(s(sale.error.clone().unwrap_or_default()));
    ui.set_can_confirm(quote.is_some() && !sale.committing);
    ui.set_confirm_text(s(match quote {
        Some(q) => match lang {
            Language::ZhCn => format!("确认收款 {}", yuan(q.amount_due)),
            Language::En => format!("Confirm {}", yuan(q.amount_due)),
        },
        None => l("确认收款", "Confirm"),
    }));

    // Receipt.
    if let Some(done) = &c.last_sale {
        let q = &done.receipt.quote;
        ui.set_receipt_lines(lines(Some(q), &[]));
        ui.set_receipt_rows(rows(Some(q), lang));
        let mut info = Vec::new();
        if q.member.is_some() {
            info.push(earn_line(q, lang));
        } else {
            info.push(l("非会员销售", "Walk-in sale"));
        }
        if let Some(m) = &done.member_after {
            let v = member_view(m, lang);
            info.push(format!("{} {}", l("积分余额", "Points balance"), v.points));
            info.push(format!(
                "{} {}",
                l("储值余额", "Stored value"),
                v.stored_value
            ));
            info.push(format!("{} {}", l("会员等级", "Tier"), v.tier));
        }
        if q.offline {
            info.push(l(
                "离线记账，联网后自动同步",
                "Recorded offline; syncs when the network is back",
            ));
        }
        ui.set_receipt_info(strings(info));
    }
    ui.set_receipt_saved(s(c
        .receipt_saved
        .as_ref()
        .map(|p| format!("{} {p}", l("小票已保存：", "Receipt saved:")))
        .unwrap_or_default()));

    // Phone lookup and enrollment.
    ui.set_phone(s(c.phone.display()));
    let e = &c.enroll;
    ui.set_enroll_phone(s(e.phone.display()));
    ui.set_enroll_name(s(&e.name));
    ui.set_enroll_birthday(s(if e.birthday_month == 0 {
        l("未填写", "not given")
    } else {
        match lang {
            Language::ZhCn => format!("{}月{}日", e.birthday_month, e.birthday_day),
            Language::En => format!("{}/{} (month/day)", e.birthday_month, e.birthday_day),
        }
    }));
    ui.set_enroll_consent(e.consent);
    ui.set_enroll_referrer(s(e
        .referrer
        .as_ref()
        .map(|r| {
            let v = member_view(r, lang);
            format!("{} {}", v.name, v.phone)
        })
        .unwrap_or_default()));
    ui.set_enroll_error(s(e.error.clone().unwrap_or_default()));
    ui.set_surnames(model(
        COMMON_SURNAMES
            .chunks(8)
            .map(|chunk| KeyRow {
                keys: strings(chunk.iter().map(|s| (*s).to_owned())),
            })
            .collect(),
    ));
    if let Some(done) = &c.enrolled {
        if let Ok(code) = crate::scan::card::card_qr(&done.card_text) {
            ui.set_card_image(rgba_image(&crate::scan::card::render_rgba(&code, 10)));
        }
        ui.set_card_saved(s(done
            .card_png
            .as_ref()
            .map(|p| format!("{} {}", l("会员码已保存：", "Card saved:"), p.display()))
            .unwrap_or_default()));
        let v = member_view(&done.member, lang);
        let mut info = vec![format!("{} {}", v.name, v.phone), v.tier.clone()];
        info.extend(v.coupons.iter().map(|cp| {
            format!(
                "{} {} ({})",
                l("欢迎券", "Welcome coupon"),
                cp.label,
                cp.valid_until
            )
        }));
        ui.set_enrolled_info(strings(info));
    }

    // Manager PIN prompt.
    ui.set_prompt_shown(c.prompt.is_some());
    if let Some(p) = &c.prompt {
        ui.set_managers(model(
            c.clerks
                .iter()
                .filter(|k| k.role == Role::Manager)
                .map(|k| ClerkItem {
                    id: s(&k.id),
                    name: s(&k.name),
                    manager: true,
                    selected: p.manager.as_deref() == Some(k.id.as_str()),
                })
                .collect(),
        ));
        ui.set_prompt_pin(s(p.pin.display()));
        ui.set_prompt_error(s(p.error.clone().unwrap_or_default()));
    }

    // Forms.
    let mut form_error = String::new();
    if let (Some(form), Some(m)) = (&c.top_up, &c.member) {
        ui.set_packages(model(
            m.program
                .top_up_packages
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let label = match lang {
                        Language::ZhCn => {
                            format!("充{}送{}", p.pay.whole_yuan(), p.bonus.whole_yuan())
                        }
                        Language::En => {
                            format!("Pay {} get {}", yuan(p.pay), yuan(p.pay + p.bonus))
                        }
                    };
                    choice(label, String::new(), form.package == Some(i))
                })
                .collect(),
        ));
        ui.set_top_up_amount(s(form.amount.display()));
        form_error = form.error.clone().unwrap_or_default();
    }
    let r = &c.refund;
    let picked = r.sale.as_ref().map(|(id, _)| *id);
    ui.set_sales(model(
        r.sales
            .iter()
            .map(|sale| {
                let who = if sale.member.is_some() {
                    l("会员", "member")
                } else {
                    l("非会员", "walk-in")
                };
                let at = sale.at.get(5..16).unwrap_or(&sale.at).replace('T', " ");
                choice(
                    format!("{at} {}", yuan(sale.total)),
                    who,
                    picked == Some(sale.sale),
                )
            })
            .collect(),
    ));
    ui.set_refund_lines(model(
        r.sale
            .as_ref()
            .map(|(_, q)| {
                q.lines
                    .iter()
                    .zip(&r.quantities)
                    .map(|(line, qty)| {
                        choice(
                            format!(
                                "{} ×{}  {}",
                                line.item.name,
                                line.item.quantity,
                                yuan(line.net)
                            ),
                            qty.to_string(),
                            *qty > 0,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    ));
    ui.set_refund_value(s(yuan(r.value())));
    ui.set_refund_result(strings(c.refunded.as_ref().map(|done| {
        let o = &done.outcome;
        let mut lines = vec![match lang {
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
            lines.push(l("优惠券已恢复", "The coupon is usable again"));
        }
        if o.flagged_negative {
            lines.push(l(
                "积分已为负，已提交总部复核",
                "Points went negative: flagged for head office",
            ));
        }
        lines
    }).unwrap_or_default()));
    if r.error.is_some() {
        form_error = r.error.clone().unwrap_or_default();
    }
    if let Some(a) = &c.adjust {
        ui.set_adjust_points(s(a.points.text()));
        ui.set_adjust_negative(a.negative);
        ui.set_reasons(model(
            ADJUST_REASONS
                .iter()
                .enumerate()
                .map(|(i, (zh, en))| choice(pick(lang, zh, en), String::new(), a.reason == Some(i)))
                .collect(),
        ));
        if let Some(e) = &a.error {
            form_error = e.clone();
        }
    }
    ui.set_form_error(s(form_error));

    // Sync and settings.
    let sync_rows = vec![
        (l("状态", "State"), status_text),
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
            time_text(status.last_success.as_ref(), lang),
        ),
        (
            l("最近错误", "Last error"),
            status.last_error.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            l("总部已确认至", "Head office holds up to"),
            format!("#{}", status.acked_seq),
        ),
    ];
    ui.set_sync_rows(model(
        sync_rows
            .into_iter()
            .map(|(label, value)| Row {
                label: s(label),
                amount: s(value),
                strong: false,
            })
            .collect(),
    ));
    ui.set_hq_url(s(&c.hq_url));
    ui.set_provision_code(s(&c.provision_code));
    render_keyboard(c, ui);
    let (provision, provision_bad) = notice_parts(c.provision_result.as_ref());
    ui.set_provision_result(provision);
    ui.set_provision_bad(provision_bad);
}

/// A message's words and whether it is bad; empty when there is none.
fn notice_parts(notice: Option<&Notice>) -> (SharedString, bool) {
    notice.map_or((SharedString::new(), false), |n| (s(&n.text), n.bad))
}

fn render_keyboard(c: &Counter, ui: &Ui<'_>) {
    ui.set_keyboard_shown(c.keyboard.is_some());
    let Some(keyboard) = &c.keyboard else {
        return;
    };
    let (title, text) = match keyboard.field {
        TextField::EnrollName => (pick(c.language, "姓名", "Name"), &c.enroll.name),
        TextField::HeadOfficeUrl => (
            pick(c.language, "总部地址", "Head office address"),
            &c.hq_url,
        ),
        TextField::EnrollmentCode => (
            pick(c.language, "开通码", "Enrollment code"),
            &c.provision_code,
        ),
    };
    ui.set_keyboard_title(s(title));
    ui.set_keyboard_text(s(text));
    ui.set_keyboard_shifted(keyboard.shifted);
    ui.set_keyboard_rows(model(
        keyboard
            .rows()
            .into_iter()
            .map(|keys| KeyRow {
                keys: strings(keys),
            })
            .collect(),
    ));
}

/// A rule's refusal for the clerk, in the clerk's language (the rules
/// engine's reason text is English; the rule says which one it was).
fn refusal_text(rule: tillcard_rules::pricing::Rule, reason: &str, language: Language) -> String {
    use tillcard_rules::pricing::Rule;
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
        Rule::PointsStep => "积分需按100分的整数倍使用".into(),
        Rule::PointsBalance => "积分余额不足".into(),
        Rule::PointsShareCap => "积分最多抵扣应付金额的50%".into(),
        Rule::PointsOrderCap => "超过每单积分上限".into(),
        Rule::PointsDayCap => "超过每日积分上限".into(),
        Rule::OfflineAllowance => "离线时每位会员每日可用额度已用完".into(),
        Rule::StoredValueBalance => "储值余额不足".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::action_from;

    /// Every action name a view sends (`Ui.act("...", i)` in `ui/`) is one
    /// the counter knows: an unknown name is silently ignored at run time,
    /// so a typo in a view would be a dead button.
    #[test]
    fn every_action_a_view_sends_maps_to_a_counter_action() {
        let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut files = vec![ui];
        let mut names = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    files.push(entry.unwrap().path());
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "slint") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("Ui.act(\"") {
                let rest = &text[at + "Ui.act(\"".len()..];
                let Some(end) = rest.find('"') else { continue };
                let literal = &rest[..end];
                // A name built as `"prefix:" + value`: try it with a value
                // of the kind the view appends.
                let name = if rest[end + 1..].trim_start().starts_with('+') {
                    let sample = match literal {
                        "surname:" => "王",
                        "type:" => "a",
                        _ => "id-1",
                    };
                    format!("{literal}{sample}")
                } else {
                    literal.to_string()
                };
                names.push((path.display().to_string(), name));
            }
        }
        assert!(names.len() > 40, "found only {} action names", names.len());
        let unknown: Vec<_> = names
            .iter()
            .filter(|(_, name)| action_from(name, 0).is_none())
            .collect();
        assert!(
            unknown.is_empty(),
            "views send unknown actions: {unknown:?}"
        );
    }
}
