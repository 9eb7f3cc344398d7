//! Events applied in any order give what sequence order gives. A terminal
//! uploads a member's history (enrollment, sales that earn points, sales
//! that redeem them, top-ups, adjustments) with its events permuted across
//! batches and gaps, as retries and lost batches deliver them; a second
//! head office receives the same events in sequence order. Both must hold
//! the same account (lots and their expiry, stored value, tier), the same
//! figures, and expire the same points a year later.
//!
//! Cases: `PROPTEST_CASES` (default 24 on SQLite; PostgreSQL runs a quarter
//! of them, at least 4, each case costing two fresh databases).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use proptest::prelude::*;
use tillcard_protocol::wire::{EventBody, OutboxEvent};
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::MemberId;
use tillcard_rules::pricing::TenderRequest;
use util::{Backend, Harness, Till, harness, new_member};

/// One business action of the member's history.
#[derive(Debug, Clone)]
enum Action {
    /// A sale of this many yuan (earns points).
    Sale(i64),
    /// A sale of 50 yuan redeeming this many hundred points, when held.
    Redeem(i64),
    /// A top-up of this many yuan.
    TopUp(i64),
    /// A manager's adjustment of this many points (negative: a deduction,
    /// when held).
    Adjust(i64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (1i64..800).prop_map(Action::Sale),
        2 => (1i64..4).prop_map(Action::Redeem),
        1 => (1i64..500).prop_map(Action::TopUp),
        1 => (-150i64..300).prop_map(Action::Adjust),
    ]
}

/// Books `actions` at `till` in order, as the terminal would, and returns
/// the events in sequence order.
fn book(till: &mut Till, member: MemberId, actions: &[Action]) -> Vec<OutboxEvent> {
    let (enrolled, mut account) = till.enroll_account(member, "13800138099");
    let mut events = vec![enrolled];
    for action in actions {
        // Days pass between actions so lots earn on different dates.
        till.clock += chrono::Duration::days(3);
        let at = till.clock;
        let (event, entries) = match *action {
            Action::Sale(yuan) => till.sale(&account, yuan, TenderRequest::default()),
            Action::Redeem(hundreds) => {
                let points = hundreds * 100;
                if account.points_balance(at) < points {
                    continue;
                }
                let tender = TenderRequest {
                    redeem_points: points,
                    ..Default::default()
                };
                till.sale(&account, 50, tender)
            }
            Action::TopUp(yuan) => till.top_up(&account, yuan),
            Action::Adjust(points) => {
                if points == 0 || account.points_balance(at) + points < 0 {
                    continue;
                }
                till.add_points(&account, points)
            }
        };
        account = MemberAccount::fold(account, &entries);
        events.push(event);
    }
    events
}

/// The figures without what differs between two head offices by when they
/// ran (the moment computed, the terminals' last-seen times).
async fn figures(h: &Harness, at: tillcard_rules::ids::Timestamp) -> serde_json::Value {
    let mut figures = serde_json::to_value(h.hq.figures(at).await.unwrap()).unwrap();
    let object = figures.as_object_mut().unwrap();
    object.remove("as_of");
    object.remove("terminals");
    figures
}

/// Everything compared at one moment.
#[derive(Debug, PartialEq)]
struct Outcome {
    account: MemberAccount,
    figures: serde_json::Value,
    expired_entries: usize,
    /// The lots after the expiry job (the account's other fields differ by
    /// the job's own source id, which each head office draws).
    lots_after_expiry: Vec<tillcard_rules::account::PointsLot>,
}

async fn outcome(h: &Harness, till: &Till, member: MemberId) -> Outcome {
    let at = util::t0() + chrono::Duration::days(200);
    let account = h.member_account(till, member).await;
    let figures = figures(h, at).await;
    // Past every lot's expiry (12 months after the month earned).
    let later = util::t0() + chrono::Duration::days(800);
    let expired_entries = h.hq.expire_points(later).await.unwrap();
    let lots_after_expiry = h.member_account(till, member).await.lots;
    Outcome {
        account,
        figures,
        expired_entries,
        lots_after_expiry,
    }
}

/// Uploads `events` in the order `order` gives, cut into batches of the
/// given sizes; then everything once more (a terminal retrying), which
/// must change nothing.
async fn deliver(
    h: &Harness,
    till: &Till,
    events: &[OutboxEvent],
    order: &[usize],
    cuts: &[usize],
) {
    let mut rest: Vec<OutboxEvent> = order.iter().map(|&i| events[i].clone()).collect();
    let mut cuts = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = (*cuts.next().unwrap()).clamp(1, rest.len());
        let batch: Vec<_> = rest.drain(..n).collect();
        let (s, _) = h.upload(till, batch).await;
        assert_eq!(s, axum::http::StatusCode::OK);
    }
    let (_, ack) = h.upload(till, events.to_vec()).await;
    let ack = ack.unwrap();
    assert_eq!(ack.acked_seq, events.len() as u64, "every gap filled");
    assert_eq!(ack.applied, 0, "the retry applies nothing again");
}

async fn same_as_in_order(
    backend: Backend,
    actions: Vec<Action>,
    order: Vec<usize>,
    cuts: Vec<usize>,
) {
    let in_order = harness(backend).await;
    let shuffled = harness(backend).await;
    let mut till = in_order.provision("S001").await;
    let member = new_member();
    let events = book(&mut till, member, &actions);
    let order: Vec<usize> = order.into_iter().filter(|&i| i < events.len()).collect();
    // The other head office knows the terminal under its own id, and the
    // enrollment's personal data are sealed to its own key; nothing else of
    // the events changes.
    let mut other = shuffled.provision("S001").await;
    let events_there: Vec<OutboxEvent> = events
        .iter()
        .map(|e| {
            let mut envelope = e.envelope.clone();
            envelope.terminal_id = other.creds.terminal_id;
            let mut body = e.decode_body().unwrap();
            if let EventBody::MemberEnrolled {
                phone_sealed,
                name_sealed,
                ..
            } = &mut body
            {
                *phone_sealed = other.creds.seal("13800138099").unwrap();
                *name_sealed = Some(other.creds.seal("张三").unwrap());
            }
            OutboxEvent::new(envelope, &body).unwrap()
        })
        .collect();
    other.next_seq = till.next_seq;
    let sequence: Vec<usize> = (0..events.len()).collect();
    deliver(&in_order, &till, &events, &sequence, &[events.len()]).await;
    deliver(&shuffled, &other, &events_there, &order, &cuts).await;
    let want = outcome(&in_order, &till, member).await;
    let got = outcome(&shuffled, &other, member).await;
    println!(
        "[{backend:?}] {} events in order {order:?}, batches {cuts:?}: lots {}, points expired {}",
        events.len(),
        want.account.lots.len(),
        want.expired_entries
    );
    assert_eq!(got, want, "[{backend:?}] any order = sequence order");
}

fn cases(backend: Backend) -> u32 {
    let all = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24u32);
    match backend {
        Backend::Sqlite => all,
        _ => (all / 4).max(4),
    }
}

fn run(backend: Backend) {
    let config = ProptestConfig {
        cases: cases(backend),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let strategy = (
        prop::collection::vec(action(), 3..12),
        Just((0..13usize).collect::<Vec<_>>()).prop_shuffle(),
        prop::collection::vec(1usize..5, 1..6),
    );
    proptest::test_runner::TestRunner::new(config)
        .run(&strategy, |(actions, order, cuts)| {
            runtime.block_on(same_as_in_order(backend, actions, order, cuts));
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_order_of_a_members_events_gives_the_sequence_order_account_sqlite() {
    run(Backend::Sqlite);
}

#[test]
fn any_order_of_a_members_events_gives_the_sequence_order_account_postgres() {
    run(Backend::Postgres);
}
