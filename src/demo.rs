//! The embedded demo: the default program, demo members with balances, demo
//! clerks and the key the demo member cards are signed with. [`seed`] puts
//! them into an empty store, so the README's run command opens a terminal a
//! newcomer can scan, check out and enroll on with no hardware and no
//! network. The demo card images in `assets/demo-cards/` are made by
//! `tillcard demo-cards DIR` from the same data.

use std::fmt::Write as _;

use tillcard_rules::Money;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::booking::{self, Authority};
use tillcard_rules::expiry::lot_expiry;
use tillcard_rules::ids::{LotId, MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{EarnReason, EntryKind, LedgerEntry};
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, PricingRequest, Quote, Shopper,
    StoredValueRequest, TenderRequest,
};
use tillcard_rules::program::{Program, TierLevel};
use uuid::Uuid;

use chrono::Datelike;
use tillcard_rules::pricing::MonthDay;

use crate::format::{Language, discount_label, mask_name, mask_phone, money};
use crate::scan::credential::Credential;
use crate::scan::signer::CardSigner;
use crate::store::clerks::Role;
use crate::store::members::MemberRecord;
use crate::store::{Store, StoreError};

/// Key id of the demo card key (written into the demo cards).
pub const DEMO_CARD_KEY_ID: u16 = 0xD3E0;

/// The demo card key's seed. Public on purpose: a demo terminal is not a
/// production terminal, and its cards are worthless anywhere else.
pub const DEMO_CARD_SEED: [u8; 32] = *b"tillcard-demo-card-key-is-public";

/// The surname the screenshots type into the enrollment form (demo data,
/// like the demo members' names).
pub const DEMO_ENROLL_SURNAME: &str = "赵";

/// A demo clerk: (id, name, role, PIN).
pub const DEMO_CLERKS: &[(&str, &str, Role, &str)] = &[
    ("c01", "Wang Fang 王芳", Role::Cashier, "3817"),
    ("c02", "Liu Yang 刘洋", Role::Cashier, "4926"),
    ("m01", "Chen Jing 陈静", Role::Manager, "738162"),
];

/// A demo member: what the clerk sees and the opening balances.
#[derive(Debug, Clone, Copy)]
pub struct DemoMember {
    /// Fixed id, so the committed demo cards keep working.
    pub id: u128,
    /// Phone (made up; only its keyed hash and masked form are stored).
    pub phone: &'static str,
    /// Name (only its masked form is stored).
    pub name: &'static str,
    /// Tier level (0 regular .. 3 diamond).
    pub tier: u8,
    /// Opening points.
    pub points: i64,
    /// Opening stored value: principal and bonus in yuan.
    pub stored_value: (i64, i64),
    /// Birthday in the current month (double points today).
    pub birthday_this_month: bool,
    /// Tags from head office.
    pub tags: &'static [&'static str],
}

/// The demo members. Their phone numbers (199 0000 1xxx) and names are made
/// up for the demo.
pub const DEMO_MEMBERS: &[DemoMember] = &[
    DemoMember {
        id: 0xD3E0_0001,
        phone: "19900001001",
        name: "张伟",
        tier: 2,
        points: 1_200,
        stored_value: (500, 50),
        birthday_this_month: false,
        tags: &["VIP"],
    },
    DemoMember {
        id: 0xD3E0_0002,
        phone: "19900001002",
        name: "李娜",
        tier: 1,
        points: 860,
        stored_value: (0, 0),
        birthday_this_month: true,
        tags: &[],
    },
    DemoMember {
        id: 0xD3E0_0003,
        phone: "19900001003",
        name: "王磊",
        tier: 3,
        points: 25_400,
        stored_value: (1_000, 150),
        birthday_this_month: false,
        tags: &["VIP", "员工 staff"],
    },
];

impl DemoMember {
    /// The member's id.
    pub fn member_id(&self) -> MemberId {
        MemberId(Uuid::from_u128(self.id))
    }

    /// The opening ledger: tier, points, stored value, welcome coupon.
    pub fn ledger(&self, program: &Program, now: Timestamp) -> Vec<LedgerEntry> {
        let member = self.member_id();
        let id = |n: u128| SourceId(Uuid::from_u128((self.id << 8) + n));
        let earlier = now - chrono::Duration::days(40);
        let entry = |n: u128, kind: EntryKind| LedgerEntry {
            member,
            source: id(n),
            at: earlier,
            kind,
        };
        let mut entries = Vec::new();
        if self.tier > 0 {
            entries.push(entry(
                1,
                EntryKind::TierChanged {
                    from: TierLevel(0),
                    to: TierLevel(self.tier),
                    provisional: false,
                },
            ));
        }
        if self.points > 0 {
            entries.push(entry(
                2,
                EntryKind::PointsEarned {
                    lot: LotId(id(2)),
                    points: self.points,
                    expires_at: lot_expiry(program.expiry, earlier),
                    reason: EarnReason::Purchase,
                },
            ));
        }
        let (principal, bonus) = self.stored_value;
        if principal + bonus > 0 {
            entries.push(entry(
                3,
                EntryKind::StoredValueCredited {
                    principal: Money::from_yuan(principal),
                    bonus: Money::from_yuan(bonus),
                    package: None,
                },
            ));
        }
        entries.extend(booking::book_enrollment(
            program,
            member,
            now - chrono::Duration::days(2),
            id(4),
        ));
        entries
    }
}

/// Seeds an empty store with the demo program, clerks, members and card
/// key. Does nothing when the store already has clerks (safe on every start).
pub fn seed(store: &mut Store) -> Result<bool, StoreError> {
    if !store.clerk_list()?.is_empty() {
        return Ok(false);
    }
    for (id, name, role, pin) in DEMO_CLERKS {
        store.add_clerk(id, name, *role, pin)?;
    }
    store.set_card_signer(DEMO_CARD_KEY_ID, &DEMO_CARD_SEED)?;
    store.put_catalog_items(&crate::demo_catalog::demo_items())?;
    let program = store.program()?;
    let now = store.clock().now();
    let records: Vec<(MemberRecord, &str)> = DEMO_MEMBERS
        .iter()
        .map(|m| {
            (
                MemberRecord {
                    id: m.member_id(),
                    phone_masked: mask_phone(m.phone),
                    name_masked: mask_name(m.name),
                    birthday: m.birthday_this_month.then(|| MonthDay {
                        month: u8::try_from(now.month()).unwrap_or(1),
                        day: 1,
                    }),
                    referred_by: None,
                    tags: m.tags.iter().map(|t| (*t).to_owned()).collect(),
                    balances_known: true,
                    frozen: false,
                },
                m.phone,
            )
        })
        .collect();
    store.import_members(records.iter().map(|(r, p)| (r, Some(*p))))?;
    for (m, (record, _)) in DEMO_MEMBERS.iter().zip(&records) {
        let account =
            MemberAccount::fold(MemberAccount::new(m.member_id()), &m.ledger(&program, now));
        store.apply_member_snapshot(record, &account)?;
    }
    Ok(true)
}

/// The demo card of `member`, signed with the demo key.
pub fn demo_card_text(member: &DemoMember) -> String {
    CardSigner::from_seed(DEMO_CARD_KEY_ID, &DEMO_CARD_SEED).issue(&Credential {
        member_id: Uuid::from_u128(member.id),
        card_serial: 1,
        issuer: DEMO_CARD_KEY_ID,
        // 2026-01-01: a fixed moment, so the committed card images never change.
        issued_at: 1_767_225_600,
        valid_until: None,
    })
}

/// Writes each demo member's card as `demo-N.png` into `dir`.
pub fn write_demo_cards(
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, crate::scan::card::CardError> {
    let mut paths = Vec::new();
    for (n, member) in DEMO_MEMBERS.iter().enumerate() {
        let path = dir.join(format!("demo-{}.png", n + 1));
        crate::scan::card::save_png(&demo_card_text(member), &path, 8)?;
        paths.push(path);
    }
    Ok(paths)
}

/// The demo basket.
pub fn demo_basket() -> Basket {
    let line = |sku: &str, name: &str, category: &str, quantity, yuan: &str| BasketLine {
        sku: sku.into(),
        name: name.into(),
        category: category.into(),
        quantity,
        unit_price: yuan.parse().unwrap_or_default(),
        list_price: None,
    };
    Basket {
        lines: vec![
            line("6901", "东北大米 5kg", "grocery", 1, "59.90"),
            line("6902", "花生油 1.8L", "grocery", 2, "32.50"),
            line("6903", "矿泉水 24瓶", "drinks", 1, "28.00"),
            line("6904", "香烟", "tobacco", 1, "25.00"),
        ],
    }
}

/// The first demo member (gold) at `now`: their account and profile under
/// the default program.
fn demo_shopper(program: &Program, now: Timestamp) -> (MemberAccount, MemberProfile) {
    let demo = &DEMO_MEMBERS[0];
    let member = demo.member_id();
    let account = MemberAccount::fold(MemberAccount::new(member), &demo.ledger(program, now));
    let profile = MemberProfile {
        id: member,
        birthday: None,
        referred_by: None,
        balances_known: true,
        frozen: false,
    };
    (account, profile)
}

/// The demo basket priced for the first demo member (gold) at `now`,
/// paying with `tender`: what `tillcard demo` prints and what tests of the
/// quote's readers price.
pub fn demo_quote(now: Timestamp, tender: &TenderRequest) -> Result<Quote, pricing::PricingError> {
    let program = Program::default();
    let (account, profile) = demo_shopper(&program, now);
    pricing::price(&PricingRequest {
        quote_id: SourceId(Uuid::from_u128(0xD3E0_1000)),
        program: &program,
        basket: &demo_basket(),
        shopper: Some(Shopper {
            profile: &profile,
            account: &account,
        }),
        context: Context {
            now,
            offline: true,
            offline_allowance_left: program.offline.allowance_per_member_per_day,
        },
        tender,
    })
}

/// Prices the demo basket for the demo member at `now` and renders the
/// program and the quote as text.
pub fn demo_text(now: Timestamp) -> Result<String, pricing::PricingError> {
    let program = Program::default();
    let demo = &DEMO_MEMBERS[0];
    let (account, profile) = demo_shopper(&program, now);
    let tender = TenderRequest {
        coupons: account.usable_coupons(now).map(|c| c.id).collect(),
        redeem_points: 500,
        stored_value: StoredValueRequest::UpTo(Money::from_yuan(50)),
    };
    let quote = demo_quote(now, &tender)?;
    let mut out = String::new();
    let _ = writeln!(out, "Tillcard demo — program v{}", program.version);
    for tier in &program.tiers {
        let _ = writeln!(
            out,
            "  {:<6} {:<8} from {:>10}  {:<8} {:<8} points ×{}",
            tier.name_zh,
            tier.name_en,
            money(tier.qualifying_spend),
            if tier.discount_bp == 0 {
                "-".to_string()
            } else {
                discount_label(tier.discount_bp, Language::ZhCn)
            },
            if tier.discount_bp == 0 {
                "-".to_string()
            } else {
                discount_label(tier.discount_bp, Language::En)
            },
            tier.points_multiplier_milli as f64 / 1000.0,
        );
    }
    let _ = writeln!(
        out,
        "\nMember {} {} — {} — {} points — stored value {} (principal {}, bonus {})",
        mask_name(demo.name),
        mask_phone(demo.phone),
        program
            .tier(account.tier)
            .map_or("?", |t| t.name_zh.as_str()),
        account.points_available(now),
        money(account.stored_value.total()),
        money(account.stored_value.principal),
        money(account.stored_value.bonus),
    );
    render_quote(&mut out, &quote);
    let entries = booking::book_sale(&program, &quote, &profile, &account, Authority::Terminal)
        .unwrap_or_default();
    let after = MemberAccount::fold(account, &entries);
    let _ = writeln!(
        out,
        "\nAfter the sale: {} points, stored value {} ({} ledger entries booked)",
        after.points_available(now),
        money(after.stored_value.total()),
        entries.len()
    );
    Ok(out)
}

fn render_quote(out: &mut String, quote: &Quote) {
    let _ = writeln!(
        out,
        "\n{:<16} {:>4} {:>10} {:>10} {:>10}",
        "item", "qty", "gross", "discount", "net"
    );
    for line in &quote.lines {
        let _ = writeln!(
            out,
            "{:<16} {:>4} {:>10} {:>10} {:>10}",
            line.item.name,
            line.item.quantity,
            money(line.gross),
            money(line.tier_discount + line.member_day_discount + line.coupon_discount),
            money(line.net),
        );
    }
    let _ = writeln!(out, "{:<32} {:>10}", "subtotal", money(quote.subtotal));
    if let Some(d) = &quote.tier_discount {
        let label = format!(
            "tier discount {} / {}",
            discount_label(d.rate_bp, Language::ZhCn),
            discount_label(d.rate_bp, Language::En)
        );
        let _ = writeln!(out, "{label:<32} {:>10}", money(-d.amount));
    }
    if let Some(c) = &quote.coupon {
        let _ = writeln!(
            out,
            "{:<32} {:>10}",
            format!("coupon {}", c.code),
            money(-c.amount)
        );
    }
    let _ = writeln!(out, "{:<32} {:>10}", "total", money(quote.total));
    if quote.points_redeemed > 0 {
        let _ = writeln!(
            out,
            "{:<32} {:>10}",
            format!("{} points", quote.points_redeemed),
            money(-quote.points_value)
        );
    }
    if !quote.stored_value_used().is_zero() {
        let _ = writeln!(
            out,
            "{:<32} {:>10}",
            format!(
                "stored value (principal {}, bonus {})",
                money(quote.stored_value_principal),
                money(quote.stored_value_bonus)
            ),
            money(-quote.stored_value_used())
        );
    }
    let _ = writeln!(out, "{:<32} {:>10}", "DUE", money(quote.amount_due));
    let _ = writeln!(
        out,
        "points earned: {} (¥{} paid on earning items × {} tier{})",
        quote.earn.points,
        quote.earn.eligible_paid.whole_yuan(),
        quote.earn.tier_multiplier_milli as f64 / 1000.0,
        quote
            .earn
            .occasion
            .map(|o| format!(
                " × {} {o:?}",
                quote.earn.occasion_multiplier_milli as f64 / 1000.0
            ))
            .unwrap_or_default()
    );
    for refusal in &quote.refusals {
        let _ = writeln!(out, "note: {}", refusal.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_prices_the_basket_with_gold_discount_coupon_points_and_stored_value() {
        let now = Timestamp::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap();
        let text = demo_text(now).unwrap();
        assert!(text.contains("9折 / 10% off"), "{text}");
        assert!(text.contains("coupon welcome-10-off-50"), "{text}");
        assert!(text.contains("500 points"), "{text}");
        assert!(text.contains("张* 199****1001"), "{text}");
        assert!(
            !text.contains(DEMO_MEMBERS[0].phone),
            "raw phone shown: {text}"
        );
    }
}
