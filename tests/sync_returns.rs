//! Returns at any store (issue 24) against a real head office: a sale at
//! terminal A of store 1 prints a signed receipt code; terminal B of store
//! 2, offline and holding no record of the member, takes a partial return
//! of it, the money going back over the sale's tenders; once both sync,
//! head office's balances are the sale's less the return. The same receipt
//! returned again at terminal C (which cannot know of B's return) is
//! booked there and flagged at head office as returned twice.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;

use std::sync::Arc;

use sync_util::{served_hq, sync_until_idle, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::booking::TopUp;
use tillcard::rules::ledger::EntryKind;
use tillcard::rules::pricing::{Basket, BasketLine, StoredValueRequest, TenderRequest};
use tillcard::rules::refund::RefundLine;
use tillcard::rules::tenders::{Payment, Tender, TenderKind};
use tillcard::rules::{MemberAccount, MemberId, Money, SourceId};
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::store::returns::{ReceiptRefund, VerifiedReceipt};
use tillcard::store::{Store, StoreError};
use tillcard::uplink::provision;
use tillcard_hq::service::Hq;

struct World {
    dirs: Vec<tempfile::TempDir>,
    hq: Arc<Hq>,
    hq_store: Arc<dyn tillcard_hq::store::Store>,
    url: String,
    clock: Arc<dyn Clock>,
}

async fn world() -> World {
    tillcard::logging::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let (hq_store, hq, url) = served_hq(dir.path()).await;
    World {
        dirs: vec![dir],
        hq,
        hq_store,
        url,
        clock: Arc::new(SystemClock::new()),
    }
}

/// A registered terminal of `store` with cashier `c1` and manager `m1`.
async fn terminal(world: &mut World, store: &str) -> StoreHandle {
    let dir = tempfile::tempdir().unwrap();
    let handle = terminal_with_cashier(dir.path(), store, world.clock.clone());
    world.dirs.push(dir);
    call(&handle, |s| {
        s.add_clerk("m1", "Manager", Role::Manager, "738162")
    });
    let code = world.hq.issue_code(store).await.unwrap();
    provision(&handle, &world.url, &code, None, None)
        .await
        .unwrap();
    handle
}

async fn sync(world: &World, handle: &StoreHandle) {
    sync_until_idle(handle, &world.url, world.clock.clone(), None).await;
}

fn call<R: Send + 'static>(
    handle: &StoreHandle,
    f: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
) -> R {
    handle.call(f).unwrap()
}

fn line(sku: &str, quantity: i64, yuan: i64) -> BasketLine {
    BasketLine {
        sku: sku.into(),
        name: sku.into(),
        category: "grocery".into(),
        quantity,
        unit_price: Money::from_yuan(yuan),
        list_price: None,
    }
}

/// Returns `lines` of the receipt `code` at `till`, approved by its manager.
fn return_at(
    till: &StoreHandle,
    code: &str,
    lines: Vec<RefundLine>,
) -> Result<(VerifiedReceipt, ReceiptRefund), StoreError> {
    let code = code.to_owned();
    till.call(move |s| {
        let clerk = s.login("c1", "3817")?;
        let approval = s.approve("m1", "738162")?;
        let receipt = s.verify_receipt(&code)?;
        let done = s.refund_from_receipt(&clerk, &approval, &receipt, &lines)?;
        Ok((receipt, done))
    })
}

async fn hq_account(world: &World, member: MemberId) -> MemberAccount {
    let (_, entries) = world.hq_store.member(member).await.unwrap().unwrap();
    MemberAccount::fold(MemberAccount::new(member), &entries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_returned_offline_at_another_store_books_at_head_office_and_twice_is_flagged() {
    let mut world = world().await;
    let till_a = terminal(&mut world, "store-1").await;
    let till_b = terminal(&mut world, "store-2").await;
    let till_c = terminal(&mut world, "store-3").await;

    // A member of store 1 with ¥550 of stored value buys 3 × ¥100 of rice
    // and 2 × ¥50 of tea: ¥100 from stored value, the rest by WeChat Pay
    // and cash.
    let (member, sale, quote) = call(&till_a, |s| {
        let clerk = s.login("c1", "3817")?;
        let member = s
            .enroll(
                &clerk,
                &EnrollRequest {
                    phone: "13812340001".into(),
                    name: None,
                    birthday: None,
                    consent: true,
                    referred_by: None,
                },
            )?
            .member
            .id;
        s.top_up(&clerk, member, &TopUp::Package("500+50".into()))?;
        let basket = Basket {
            lines: vec![line("6901234567892", 3, 100), line("6901234567908", 2, 50)],
        };
        let tender = TenderRequest {
            stored_value: StoredValueRequest::UpTo(Money::from_yuan(100)),
            ..TenderRequest::default()
        };
        let quote = s.price(Some(member), &basket, &tender, false)?;
        let due = quote.amount_due;
        let payment = Payment {
            tenders: vec![
                Tender {
                    kind: TenderKind::WechatPay,
                    amount: Money::from_fen(due.fen() - 5_000),
                },
                Tender {
                    kind: TenderKind::Cash,
                    amount: Money::from_fen(5_000),
                },
            ],
            cash_given: Some(Money::from_fen(5_000)),
        };
        let sale = s.commit_sale(&clerk, &quote, &payment)?;
        Ok((member, sale.sale, quote))
    });
    let due = quote.amount_due;
    let tenders = vec![
        Tender {
            kind: TenderKind::WechatPay,
            amount: Money::from_fen(due.fen() - 5_000),
        },
        Tender {
            kind: TenderKind::Cash,
            amount: Money::from_fen(5_000),
        },
    ];
    let code = {
        let tenders = tenders.clone();
        call(&till_a, move |s| s.receipt_code(sale, &tenders))
    };
    println!("receipt code for a 2-line sale: {} characters", code.len());
    sync(&world, &till_a).await;
    // B and C learn the chain's card keys (A's among them), nothing of the
    // member (enrolled at store 1, never scanned at 2 or 3).
    sync(&world, &till_b).await;
    sync(&world, &till_c).await;
    assert!(call(&till_b, move |s| s.find_member(member)).is_none());

    // B, offline from here: one bag of rice back.
    let one_rice = vec![RefundLine {
        line: 0,
        quantity: 1,
    }];
    let (receipt, at_b) = return_at(&till_b, &code, one_rice).unwrap();
    assert!(!receipt.sold_here);
    assert_eq!(receipt.summary.member, Some(member));
    assert_eq!(receipt.left(), vec![3, 2]);
    let money = at_b.outcome.money;
    assert!(money > Money::ZERO);
    assert_eq!(
        at_b.money_back.iter().map(|t| t.amount).sum::<Money>(),
        money,
        "the money back adds up to the refund's money"
    );
    assert!(
        at_b.money_back.iter().all(|t| tenders
            .iter()
            .any(|s| s.kind == t.kind && t.amount <= s.amount)),
        "money goes back over the sale's own tenders: {:?}",
        at_b.money_back
    );
    // All of the rice again, here: refused, only 2 are left.
    let again = return_at(
        &till_b,
        &code,
        vec![RefundLine {
            line: 0,
            quantity: 3,
        }],
    );
    assert!(
        matches!(again, Err(StoreError::AlreadyReturned { line: 0, left: 2 })),
        "{again:?}"
    );
    // A forged code (one character changed) is refused.
    let mut forged = code.clone().into_bytes();
    let at = forged.len() / 2;
    forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).unwrap();
    let refused = call(&till_b, move |s| Ok(s.verify_receipt(&forged).is_err()));
    assert!(refused, "a changed receipt code verified");

    sync(&world, &till_b).await;
    let account = hq_account(&world, member).await;
    let sv = account.stored_value;
    assert_eq!(
        sv.principal + sv.bonus,
        Money::from_yuan(550) - quote.stored_value_used()
            + at_b.outcome.stored_value_principal
            + at_b.outcome.stored_value_bonus,
        "head office's stored value is the sale's less the return"
    );
    let now = world.clock.now();
    assert_eq!(
        account.points_balance(now),
        quote.earn.points - at_b.outcome.points_reversed,
        "head office's points are the sale's less the return's"
    );

    // C, which cannot know of B's return, takes all the rice back.
    let (_, at_c) = return_at(
        &till_c,
        &code,
        vec![RefundLine {
            line: 0,
            quantity: 3,
        }],
    )
    .unwrap();
    sync(&world, &till_c).await;
    let flagged: Vec<_> = world
        .hq
        .conflict_queue()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == "returned_twice")
        .collect();
    let refunded = refunds_at_hq(&world, member).await;
    println!(
        "returns at other stores: refunded {refunded} times at head office (b: {} fen, c: {} fen), flagged {}: {:?}",
        money.fen(),
        at_c.outcome.money.fen(),
        flagged.len(),
        flagged.iter().map(|c| &c.reason).collect::<Vec<_>>()
    );
    assert_eq!(refunded, 2);
    assert_eq!(flagged.len(), 1, "the second return is flagged once");
    assert_eq!(flagged[0].member_id, member);
    assert!(flagged[0].reason.contains("line 1: sold 3, refunded 4"));
}

/// How many refunds head office booked for `member`: the actions that
/// took qualifying spend back.
async fn refunds_at_hq(world: &World, member: MemberId) -> usize {
    let (_, entries) = world.hq_store.member(member).await.unwrap().unwrap();
    entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::QualifyingSpend { amount } if amount < Money::ZERO))
        .map(|e| e.source)
        .collect::<std::collections::BTreeSet<SourceId>>()
        .len()
}
