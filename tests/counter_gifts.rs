//! The gift catalogue at the counter (礼品兑换), driven headless: the
//! counter's controller (no display) against a real store, its commands run
//! as the terminal runs them. A member with 1,000 points takes a 400-point
//! mug (one transaction: the ledger entry and its outbox event), is refused
//! an 800-point kettle they can no longer afford, and once frozen by head
//! office is refused everything, in the clerk's language.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::time::{Duration, Instant};

use tillcard::counter::member::MemberSnapshot;
use tillcard::counter::{Action, Command, Counter, Done, Input, Page};
use tillcard::format::Language;
use tillcard::rules::MemberId;
use tillcard::rules::ledger::EntryKind;
use tillcard::rules::program::{Gift, Program};
use tillcard::store::clerks::Clerk;
use tillcard::store::events::EventBody;
use tillcard::store::{Store, StoreError};
use util::store::{MANAGER, TestStore, open_store_with_member};

/// The catalogue: a mug (400), a kettle (800), a bag no longer offered.
fn program_with_gifts() -> Program {
    let gift = |code: &str, name: &str, points: i64, active: bool| Gift {
        code: code.into(),
        name: name.into(),
        points,
        active,
    };
    Program {
        gifts: vec![
            gift("mug", "保温杯", 400, true),
            gift("kettle", "电水壶", 800, true),
            gift("bag", "帆布袋", 100, false),
        ],
        ..Program::default()
    }
}

fn snapshot(store: &Store, member: MemberId) -> Result<MemberSnapshot, StoreError> {
    let record = store
        .find_member(member)?
        .ok_or(StoreError::UnknownMember)?;
    Ok(MemberSnapshot {
        account: store.account(record.id)?,
        program: store.program()?,
        at: store.clock().now(),
        record,
        new_card: None,
    })
}

/// The counter with `clerk` signed in and `member` on the member screen.
fn counter_with_member(
    store: &Store,
    clerk: Clerk,
    member: MemberId,
    language: Language,
) -> Counter {
    let mut counter = Counter::new(language, Duration::from_secs(600), false);
    let t = Instant::now();
    counter.handle(Input::Done(Done::LoggedIn(Ok(clerk))), t);
    counter.handle(
        Input::Done(Done::Member(Ok(Some(snapshot(store, member).unwrap())))),
        t,
    );
    assert_eq!(counter.page, Page::Member);
    counter
}

/// Taps `action`, then runs the store commands it returns as the terminal
/// does (`Command::RedeemGift` on the store, the answer fed back), and
/// returns every command seen.
fn tap(counter: &mut Counter, store: &mut Store, action: Action) -> Vec<Command> {
    let mut seen = Vec::new();
    let mut pending = counter.handle(Input::Tap(action), Instant::now());
    while let Some(command) = pending.pop() {
        seen.push(command.clone());
        if let Command::RedeemGift {
            clerk,
            member,
            gift,
        } = command
        {
            let result = store
                .redeem_gift(&clerk, member, &gift)
                .and_then(|_| snapshot(store, member));
            pending.extend(counter.handle(Input::Done(Done::GiftRedeemed(result)), Instant::now()));
        }
    }
    seen
}

fn points(store: &Store, member: MemberId) -> i64 {
    store
        .account(member)
        .unwrap()
        .points_available(store.clock().now())
}

/// Outbox events of kind `gift_redeemed`, as (gift, points, entries).
fn gift_events(store: &Store) -> Vec<(String, i64, usize)> {
    store
        .pending_events(1000)
        .unwrap()
        .iter()
        .filter(|e| e.kind == "gift_redeemed")
        .map(
            |e| match serde_json::from_str::<EventBody>(&e.payload).unwrap() {
                EventBody::GiftRedeemed {
                    gift,
                    points,
                    entries,
                    ..
                } => (gift, points, entries.len()),
                other => panic!("a gift_redeemed row holds {other:?}"),
            },
        )
        .collect()
}

/// A store whose member 1 holds 1,000 points (a manager's adjustment) under
/// a program with the catalogue.
fn member_with_points() -> (TestStore, Clerk, MemberId) {
    let (mut t, clerk, member) = open_store_with_member();
    t.store.set_program(&program_with_gifts()).unwrap();
    let approval = t.store.approve(MANAGER.0, MANAGER.1).unwrap();
    t.store
        .adjust_points(&clerk, &approval, member.id, 1_000, "opening points")
        .unwrap();
    (t, clerk, member.id)
}

#[test]
fn a_cashier_redeems_a_gift_the_member_can_afford_and_is_refused_one_they_cannot() {
    let (mut t, clerk, member) = member_with_points();
    let mut counter = counter_with_member(&t.store, clerk, member, Language::ZhCn);

    tap(&mut counter, &mut t.store, Action::MemberGifts);
    assert_eq!(counter.page, Page::Gifts);
    // Confirming with nothing picked says so and sends nothing.
    let sent = tap(&mut counter, &mut t.store, Action::ConfirmGift);
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(
        counter.gifts.as_ref().unwrap().error.as_deref(),
        Some("请先选择礼品")
    );
    // The offers: the mug and the kettle (the bag is not active), both
    // affordable with 1,000 points.
    let offered = tillcard::counter::flows::gifts::offers_for(counter.member.as_ref().unwrap())
        .iter()
        .map(|o| (o.gift.code.clone(), o.affordable))
        .collect::<Vec<_>>();
    assert_eq!(
        offered,
        [("mug".to_string(), true), ("kettle".to_string(), true)]
    );

    // The mug: 400 points.
    tap(&mut counter, &mut t.store, Action::SelectGift(0));
    let sent = tap(&mut counter, &mut t.store, Action::ConfirmGift);
    let after_mug = points(&t.store, member);
    let notice = counter.notice.clone().unwrap();
    println!(
        "gift at the counter: 1000 points, mug for 400 leaves {after_mug}; commands {:?}; notice {:?}",
        sent.iter().map(command_name).collect::<Vec<_>>(),
        notice.text
    );
    assert_eq!(after_mug, 600);
    assert_eq!(counter.page, Page::Member, "back to the member");
    assert!(!notice.bad);
    assert!(
        notice.text.contains("保温杯") && notice.text.contains("400"),
        "{}",
        notice.text
    );
    assert!(counter.gifts.is_none());
    assert_eq!(
        counter
            .member
            .as_ref()
            .unwrap()
            .account
            .points_available(t.store.clock().now()),
        600,
        "the member on screen carries the new balance"
    );
    assert_eq!(gift_events(&t.store), [("mug".to_string(), 400, 1)]);
    let ledger_gift = t
        .store
        .account(member)
        .unwrap()
        .lots
        .iter()
        .map(|l| l.remaining)
        .sum::<i64>();
    assert_eq!(ledger_gift, 600);

    // The kettle (800) is now out of reach: offered disabled, refused
    // with the reason when picked anyway, nothing booked.
    tap(&mut counter, &mut t.store, Action::MemberGifts);
    let offered = tillcard::counter::flows::gifts::offers_for(counter.member.as_ref().unwrap())
        .iter()
        .map(|o| o.affordable)
        .collect::<Vec<_>>();
    assert_eq!(offered, [true, false]);
    tap(&mut counter, &mut t.store, Action::SelectGift(1));
    let form = counter.gifts.as_ref().unwrap();
    println!("kettle refused: {:?}", form.error);
    assert_eq!(form.picked, None);
    assert_eq!(
        form.error.as_deref(),
        Some("积分不足：该礼品需800积分，会员现有600积分")
    );
    let sent = tap(&mut counter, &mut t.store, Action::ConfirmGift);
    assert!(sent.is_empty(), "nothing sent: {sent:?}");
    assert_eq!(points(&t.store, member), 600);
    assert_eq!(gift_events(&t.store).len(), 1);

    // And if the store is asked anyway (a stale screen), the rules refuse:
    // the refusal is shown on the form, nothing booked.
    let result = t
        .store
        .redeem_gift(counter.clerk.as_ref().unwrap(), member, "kettle");
    assert!(matches!(result, Err(StoreError::Gift(_))), "{result:?}");
    counter.handle(
        Input::Done(Done::GiftRedeemed(Err(result.unwrap_err()))),
        Instant::now(),
    );
    assert_eq!(
        counter.gifts.as_ref().unwrap().error.as_deref(),
        Some("积分不足：该礼品需800积分，会员现有600积分")
    );
    assert_eq!(points(&t.store, member), 600);

    // Back to the member without redeeming.
    tap(&mut counter, &mut t.store, Action::CloseGifts);
    assert_eq!(counter.page, Page::Member);
}

#[test]
fn a_member_frozen_by_head_office_is_refused_every_gift_in_both_languages() {
    let (mut t, clerk, member) = member_with_points();
    // Head office's snapshot marks the member frozen (as the downlink does).
    let mut record = t.store.find_member(member).unwrap().unwrap();
    record.frozen = true;
    let account = t.store.account(member).unwrap();
    t.store.apply_member_snapshot(&record, &account).unwrap();

    let mut counter = counter_with_member(&t.store, clerk.clone(), member, Language::En);
    tap(&mut counter, &mut t.store, Action::MemberGifts);
    let offered = tillcard::counter::flows::gifts::offers_for(counter.member.as_ref().unwrap())
        .iter()
        .map(|o| o.affordable)
        .collect::<Vec<_>>();
    assert_eq!(offered, [false, false], "nothing affordable while frozen");
    tap(&mut counter, &mut t.store, Action::SelectGift(0));
    let english = counter.gifts.as_ref().unwrap().error.clone().unwrap();

    let mut chinese_counter = counter_with_member(&t.store, clerk.clone(), member, Language::ZhCn);
    tap(&mut chinese_counter, &mut t.store, Action::MemberGifts);
    tap(&mut chinese_counter, &mut t.store, Action::SelectGift(0));
    let chinese = chinese_counter
        .gifts
        .as_ref()
        .unwrap()
        .error
        .clone()
        .unwrap();

    // The store refuses as well, whatever the screen says.
    let refused = t.store.redeem_gift(&clerk, member, "mug").unwrap_err();
    println!("frozen: en {english:?}, zh {chinese:?}, store {refused}");
    assert_eq!(
        english,
        "This member's account is frozen by head office: no gifts for points."
    );
    assert_eq!(chinese, "该会员账户已被总部冻结：不能用积分兑换礼品");
    assert!(refused.to_string().contains("frozen"), "{refused}");
    assert_eq!(points(&t.store, member), 1_000, "nothing spent");
    assert!(gift_events(&t.store).is_empty(), "nothing queued");
}

#[test]
fn an_unknown_or_inactive_gift_is_refused_by_the_store_with_nothing_booked() {
    let (mut t, clerk, member) = member_with_points();
    let unknown = t
        .store
        .redeem_gift(&clerk, member, "kettle-xl")
        .unwrap_err();
    let inactive = t.store.redeem_gift(&clerk, member, "bag").unwrap_err();
    let words = |e: &StoreError| tillcard::counter::text::store_error(Language::ZhCn, e);
    println!(
        "unknown: {} / {}; inactive: {} / {}",
        unknown,
        words(&unknown),
        inactive,
        words(&inactive)
    );
    assert_eq!(words(&unknown), "礼品目录中没有该礼品");
    assert_eq!(words(&inactive), "该礼品暂停兑换");
    assert_eq!(points(&t.store, member), 1_000);
    assert!(gift_events(&t.store).is_empty());
    // The one redemption that works books one entry, oldest lots first.
    let entries = t.store.redeem_gift(&clerk, member, "mug").unwrap();
    assert!(matches!(
        entries.as_slice(),
        [e] if matches!(&e.kind, EntryKind::PointsRedeemedForGift { gift, draws } if gift == "mug" && draws.iter().map(|d| d.points).sum::<i64>() == 400)
    ));
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::RedeemGift { .. } => "redeem_gift",
        Command::Play(_) => "play",
        _ => "other",
    }
}
