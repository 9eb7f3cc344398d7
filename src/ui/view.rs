//! Copying the counter's state into the `Ui` global, and reading the views'
//! action names back into counter actions. Formatting decisions live in
//! `crate::counter` (text, receipt, member); this file only maps fields.

use std::path::PathBuf;

use slint::{Image, ModelRc, Rgb8Pixel, Rgba8Pixel, SharedPixelBuffer, SharedString};

use super::models::{model, shared, strings};
use super::{Choice, ClerkItem, KeyRow, LineItem, MemberCard, PageId, Row, StatusView, Ui};
use crate::counter::checkout::QUICK_KEYS;
use crate::counter::flows::gifts::offers_for;
use crate::counter::forms::{ADJUST_REASONS, COMMON_SURNAMES};
use crate::counter::keyboard::{TextField, TextKey};
use crate::counter::member::{MemberSnapshot, coupon_label, member_view};
use crate::counter::messages::{FirstRunStep, Notice, PinSetupStep};
use crate::counter::receipt::{earn_line, quote_rows};
use crate::counter::text::{self, pick, yuan};
use crate::counter::{Action, CameraStatus, Counter, Page};
use crate::format::Language;
use crate::scan::frame::LumaFrame;
use crate::store::clerks::Role;
use tillcard_rules::pricing::Quote;

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
    if let Some(action) = super::returns::action(name, index) {
        return Some(action);
    }
    if let Some(action) = super::shift_close::action(name) {
        return Some(action);
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
        "tender" => Action::Tender(n),
        "cancel-sale" => Action::CancelSale,
        "print-receipt" => Action::PrintReceipt,
        "find-phone" => Action::FindPhone,
        "member-checkout" => Action::MemberCheckout,
        "member-top-up" => Action::MemberTopUp,
        "member-adjust" => Action::MemberAdjust,
        "member-gifts" => Action::MemberGifts,
        "select-gift" => Action::SelectGift(n),
        "confirm-gift" => Action::ConfirmGift,
        "close-gifts" => Action::CloseGifts,
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
        "register" => Action::Register,
        "pin-setup-next" => Action::PinSetupNext,
        "pin-setup-back" => Action::PinSetupBack,
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
        Page::Return => PageId::ReceiptReturn,
        Page::Adjust => PageId::Adjust,
        Page::Gifts => PageId::Gifts,
        Page::Sync => PageId::Sync,
        Page::Settings => PageId::Settings,
        Page::FirstRun => PageId::FirstRun,
        Page::PinSetup => PageId::PinSetup,
        Page::ShiftClose => PageId::ShiftClose,
    }
}

fn member_card(snapshot: Option<&MemberSnapshot>, language: Language) -> MemberCard {
    let Some(snapshot) = snapshot else {
        return MemberCard::default();
    };
    let v = member_view(snapshot, language);
    MemberCard {
        shown: true,
        name: shared(v.name),
        phone: shared(v.phone),
        tier: shared(v.tier),
        tier_discount: shared(v.tier_discount),
        next_tier: shared(v.next_tier),
        tier_progress: v.tier_progress,
        points: shared(v.points.to_string()),
        points_expiry: shared(v.points_expiry),
        stored_value: shared(v.stored_value),
        stored_value_split: shared(v.stored_value_split),
        birthday_month: v.birthday_month,
        balances_unknown: v.balances_unknown,
        frozen: v.frozen,
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
                label: shared(r.label),
                amount: shared(r.amount),
                strong: r.strong,
            })
            .collect(),
    )
}

/// Lines shown at once on the checkout screen: the newest ones (the rest
/// are counted under them), so the totals and tender never scroll away.
const LINES_SHOWN: usize = 4;

/// What a line's discount column says: the discounts off its gross, or
/// for a line at a member price its shelf total and the words.
fn line_discount(line: &tillcard_rules::pricing::QuoteLine, lang: Language) -> SharedString {
    let off = line.tier_discount + line.member_day_discount + line.coupon_discount;
    let shelf = line
        .item
        .list_price
        .map(|p| tillcard_rules::Money::from_fen(p.fen().saturating_mul(line.item.quantity)))
        .filter(|shelf| *shelf > line.gross);
    match (shelf, off.is_zero()) {
        (Some(shelf), true) => shared(format!("{} {}", yuan(shelf), text::member_price(lang))),
        (Some(shelf), false) => shared(format!(
            "{} {} {}",
            yuan(shelf),
            text::member_price(lang),
            yuan(-off)
        )),
        (None, true) => SharedString::new(),
        (None, false) => shared(format!("{} {}", yuan(line.gross), yuan(-off))),
    }
}

fn line_items(
    quote: Option<&Quote>,
    fallback: &[tillcard_rules::pricing::BasketLine],
    lang: Language,
) -> Vec<LineItem> {
    let index = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
    match quote {
        Some(q) => q
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| LineItem {
                index: index(i),
                name: shared(&l.item.name),
                qty: shared(format!("×{}", l.item.quantity)),
                gross: shared(yuan(l.gross)),
                discount: line_discount(l, lang),
                net: shared(yuan(l.net)),
            })
            .collect(),
        None => fallback
            .iter()
            .enumerate()
            .map(|(i, l)| LineItem {
                index: index(i),
                name: shared(&l.name),
                qty: shared(format!("×{}", l.quantity)),
                gross: shared(yuan(l.unit_price)),
                discount: SharedString::new(),
                net: shared(yuan(l.unit_price)),
            })
            .collect(),
    }
}

fn lines(
    quote: Option<&Quote>,
    fallback: &[tillcard_rules::pricing::BasketLine],
    lang: Language,
) -> ModelRc<LineItem> {
    model(line_items(quote, fallback, lang))
}

fn choice(label: String, detail: String, selected: bool) -> Choice {
    Choice {
        label: shared(label),
        detail: shared(detail),
        selected,
        enabled: true,
    }
}

/// Copies the counter's whole state into the `Ui` global.
pub fn render(c: &Counter, ui: &Ui<'_>) {
    let lang = c.language;
    ui.set_page(page_id(c.page));
    ui.set_language(shared(match lang {
        Language::ZhCn => "zh-CN",
        Language::En => "en",
    }));

    // Status strip.
    let status = &c.status;
    let status_text = text::online(lang, status.online);
    let offline_note = if !c.head_office_configured {
        text::no_head_office(lang)
    } else if let Some(problem) = &status.last_error {
        text::uplink_problem(lang, problem)
    } else if status.quarantined > 0 {
        text::quarantined(lang, status.quarantined)
    } else if status.online {
        String::new()
    } else {
        text::connecting(lang)
    };
    let camera = match &c.camera {
        CameraStatus::None => text::camera_none(lang),
        CameraStatus::Streaming => text::camera_on(lang),
        CameraStatus::Lost(_) => text::camera_lost(lang),
        CameraStatus::Files => text::camera_files(lang),
    };
    ui.set_status(StatusView {
        online: status.online,
        text: shared(&status_text),
        pending: shared(status.pending.to_string()),
        last_sync: shared(text::sync_time(lang, status.last_success.as_ref())),
        camera: shared(camera),
        printer: shared(
            c.printer
                .filter(|p| *p != tillcard_print::PrinterStatus::Ready)
                .map(|p| match lang {
                    Language::ZhCn => p.zh_cn(),
                    Language::En => p.en(),
                })
                .unwrap_or_default(),
        ),
        clerk: shared(
            c.clerk
                .as_ref()
                .map(|k| k.name().to_owned())
                .unwrap_or_default(),
        ),
        offline_note: shared(offline_note),
    });
    let (notice, bad) = notice_parts(c.notice.as_ref());
    ui.set_notice(notice);
    ui.set_notice_bad(bad);
    if let Some(scan) = &c.scan {
        ui.set_scan_good(scan.kind.is_good());
        ui.set_scan_text(shared(text::scan_outcome(lang, scan.kind)));
    }

    // Login.
    ui.set_clerks(model(
        c.clerks
            .iter()
            .map(|k| ClerkItem {
                id: shared(&k.id),
                name: shared(&k.name),
                manager: k.role == Role::Manager,
                selected: c.login_clerk.as_deref() == Some(k.id.as_str()),
            })
            .collect(),
    ));
    ui.set_pin(shared(c.login_pin.display()));

    // Member.
    ui.set_member(member_card(c.member.as_ref(), lang));
    if let Some(m) = &c.member {
        ui.set_member_coupons(model(
            m.account
                .usable_coupons(m.at)
                .map(|cp| {
                    choice(
                        coupon_label(lang, cp),
                        text::valid_until(lang, cp.valid_until.format("%Y-%m-%d")),
                        false,
                    )
                })
                .collect(),
        ));
        ui.set_member_tags(strings(m.record.tags.clone()));
    }
    let new_card = c
        .member
        .as_ref()
        .and_then(|m| m.new_card.as_deref())
        .and_then(|card| crate::scan::card::card_qr(card).ok());
    ui.set_new_card_shown(new_card.is_some());
    if let Some(code) = &new_card {
        ui.set_new_card_image(rgba_image(&crate::scan::card::render_rgba(code, 6)));
        ui.set_new_card_note(shared(text::new_card_note(lang)));
    }

    // Checkout.
    let sale = &c.sale;
    let quote = sale.quote();
    let all = line_items(quote, &sale.lines, lang);
    let hidden = all.len().saturating_sub(LINES_SHOWN);
    ui.set_more_lines(shared(text::more_lines(lang, hidden)));
    ui.set_lines(model(all.into_iter().skip(hidden).collect()));
    ui.set_rows(rows(quote, lang));
    ui.set_entry(shared(sale.entry.display()));
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
    ui.set_stored_value_available(shared(yuan(sv)));
    ui.set_stored_value_enabled(
        sale.member
            .as_ref()
            .is_some_and(|m| m.record.balances_known && !m.record.frozen && !sv.is_zero()),
    );
    ui.set_earn_line(shared(
        quote.map(|q| earn_line(q, lang)).unwrap_or_default(),
    ));
    ui.set_notes(strings(
        quote
            .map(|q| {
                q.refusals
                    .iter()
                    .map(|r| text::refusal(lang, r.rule, &r.reason))
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default(),
    ));
    ui.set_sale_error(shared(sale.error.clone().unwrap_or_default()));
    ui.set_can_confirm(quote.is_some() && !sale.committing);
    ui.set_tenders_line(shared(text::tenders_taken(
        lang,
        &sale.payment(),
        sale.rest_due().unwrap_or_default(),
    )));
    ui.set_tender_names(strings(
        tillcard_rules::tenders::TenderKind::ALL
            .iter()
            .map(|k| text::tender_name(lang, *k)),
    ));
    ui.set_confirm_text(shared(text::confirm_sale(
        lang,
        quote.map(|q| q.amount_due),
    )));

    // Receipt.
    if let Some(done) = &c.last_sale {
        let q = &done.receipt.quote;
        ui.set_receipt_lines(lines(Some(q), &[], lang));
        let paid = c
            .last_payment
            .as_ref()
            .map(|p| text::payment_rows(lang, p))
            .unwrap_or_default()
            .into_iter()
            .map(|(label, amount)| Row {
                label: shared(label),
                amount: shared(amount),
                strong: false,
            });
        let mut receipt_rows: Vec<Row> = slint::Model::iter(&rows(Some(q), lang)).collect();
        receipt_rows.extend(paid);
        ui.set_receipt_rows(model(receipt_rows));
        let mut info = Vec::new();
        if q.member.is_some() {
            info.push(earn_line(q, lang));
        } else {
            info.push(text::walk_in_sale(lang));
        }
        if let Some(m) = &done.member_after {
            let v = member_view(m, lang);
            info.push(text::points_balance(lang, v.points));
            info.push(text::stored_value_balance(lang, &v.stored_value));
            info.push(text::tier_line(lang, &v.tier));
        }
        if q.offline {
            info.push(text::recorded_offline(lang));
        }
        ui.set_receipt_info(strings(info));
    }
    ui.set_receipt_saved(shared(
        c.receipt_saved
            .as_ref()
            .map(|p| text::receipt_saved(lang, p))
            .unwrap_or_default(),
    ));

    // Phone lookup and enrollment.
    ui.set_phone(shared(c.phone.display()));
    let e = &c.enroll;
    ui.set_enroll_phone(shared(e.phone.display()));
    ui.set_enroll_name(shared(&e.name));
    ui.set_enroll_birthday(shared(text::birthday(
        lang,
        e.birthday_month,
        e.birthday_day,
    )));
    ui.set_enroll_consent(e.consent);
    ui.set_enroll_referrer(shared(
        e.referrer
            .as_ref()
            .map(|r| {
                let v = member_view(r, lang);
                format!("{} {}", v.name, v.phone)
            })
            .unwrap_or_default(),
    ));
    ui.set_enroll_error(shared(e.error.clone().unwrap_or_default()));
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
        ui.set_card_saved(shared(
            done.card_png
                .as_ref()
                .map(|p| text::card_saved(lang, p.display()))
                .unwrap_or_default(),
        ));
        let v = member_view(&done.member, lang);
        let mut info = vec![format!("{} {}", v.name, v.phone), v.tier.clone()];
        info.extend(
            v.coupons
                .iter()
                .map(|cp| text::welcome_coupon(lang, &cp.label, &cp.valid_until)),
        );
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
                    id: shared(&k.id),
                    name: shared(&k.name),
                    manager: true,
                    selected: p.manager.as_deref() == Some(k.id.as_str()),
                })
                .collect(),
        ));
        ui.set_prompt_pin(shared(p.pin.display()));
        ui.set_prompt_error(shared(p.error.clone().unwrap_or_default()));
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
                    choice(
                        text::top_up_package(lang, p.pay, p.bonus),
                        String::new(),
                        form.package == Some(i),
                    )
                })
                .collect(),
        ));
        ui.set_top_up_amount(shared(form.amount.display()));
        form_error = form.error.clone().unwrap_or_default();
    }
    let r = &c.refund;
    let picked = r.sale.as_ref().map(|(id, _)| *id);
    ui.set_sales(model(
        r.sales
            .iter()
            .map(|sale| {
                let who = text::sale_customer(lang, sale.member.is_some());
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
    ui.set_refund_value(shared(yuan(r.value())));
    ui.set_refund_result(strings(
        c.refunded
            .as_ref()
            .map(|done| text::refund_outcome(lang, &done.outcome))
            .unwrap_or_default(),
    ));
    if r.error.is_some() {
        form_error = r.error.clone().unwrap_or_default();
    }
    if let Some(e) = super::returns::render(c, ui) {
        form_error = e;
    }
    if let Some(a) = &c.adjust {
        ui.set_adjust_points(shared(a.points.text()));
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
    if let (Some(form), Some(m)) = (&c.gifts, &c.member) {
        let offers = offers_for(m);
        ui.set_gift_offers(model(
            offers
                .iter()
                .map(|offer| Choice {
                    label: shared(&offer.gift.name),
                    detail: shared(text::gift_price(lang, offer.gift.points)),
                    selected: form.picked.as_deref() == Some(offer.gift.code.as_str()),
                    enabled: offer.affordable,
                })
                .collect(),
        ));
        ui.set_gifts_empty(shared(if offers.is_empty() {
            text::no_gifts(lang)
        } else {
            String::new()
        }));
        if let Some(e) = &form.error {
            form_error = e.clone();
        }
    }
    ui.set_form_error(shared(form_error));

    // Sync and settings.
    ui.set_sync_rows(model(
        text::sync_rows(lang, status)
            .into_iter()
            .map(|(label, value)| Row {
                label: shared(label),
                amount: shared(value),
                strong: false,
            })
            .collect(),
    ));
    ui.set_hq_url(shared(&c.hq_url));
    ui.set_provision_code(shared(&c.provision_code));
    render_keyboard(c, ui);
    super::shift_close::render(c, ui);
    // First run and a first PIN.
    if let Some(step) = c.first_run {
        ui.set_first_run_text(shared(text::first_run_step(lang, step)));
        ui.set_first_run_entry(shared(c.first_run_code.display()));
        ui.set_first_run_code_shown(matches!(
            step,
            FirstRunStep::EnterCode | FirstRunStep::Offline
        ));
    }
    if let Some(form) = &c.pin_setup {
        ui.set_pin_setup_text(shared(text::pin_setup_step(lang, form.step, &form.name)));
        ui.set_pin_setup_entry(shared(match form.step {
            PinSetupStep::SetupCode => form.setup_code.display(),
            PinSetupStep::NewPin => form.pin.display(),
            PinSetupStep::Repeat | PinSetupStep::Sending => form.repeat.display(),
        }));
        ui.set_pin_setup_error(shared(form.error.clone().unwrap_or_default()));
    }
    let (provision, provision_bad) = notice_parts(c.provision_result.as_ref());
    ui.set_provision_result(provision);
    ui.set_provision_bad(provision_bad);
}

/// A message's words and whether it is bad; empty when there is none.
fn notice_parts(notice: Option<&Notice>) -> (SharedString, bool) {
    notice.map_or((SharedString::new(), false), |n| (shared(&n.text), n.bad))
}

fn render_keyboard(c: &Counter, ui: &Ui<'_>) {
    ui.set_keyboard_shown(c.keyboard.is_some());
    let Some(keyboard) = &c.keyboard else {
        return;
    };
    let typed = match keyboard.field {
        TextField::EnrollName => &c.enroll.name,
        TextField::HeadOfficeUrl => &c.hq_url,
        TextField::EnrollmentCode => &c.provision_code,
    };
    ui.set_keyboard_title(shared(text::field_title(c.language, keyboard.field)));
    ui.set_keyboard_text(shared(typed));
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
