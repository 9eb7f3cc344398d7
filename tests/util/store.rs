//! Store fixtures: a fresh store in a temporary directory with a fake clock,
//! clerks with known PINs, members and baskets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tillcard::clock::FakeClock;
use tillcard::rules::pricing::{Basket, BasketLine, Quote, TenderRequest};
use tillcard::rules::{MemberId, Money, Timestamp};
use tillcard::store::clerks::{Clerk, Role};
use tillcard::store::members::{EnrollRequest, MemberRecord};
use tillcard::store::{PinHashCost, Store, StoreConfig, StoreError};
use tillcard::store_key::StoreKey;

/// Cashier id and PIN.
pub const CASHIER: (&str, &str) = ("c1", "3817");
/// Manager id and PIN.
pub const MANAGER: (&str, &str) = ("m1", "738162");

/// Monday 15 June 2026, 10:00 in China.
pub fn start_time() -> Timestamp {
    Timestamp::parse_from_rfc3339("2026-06-15T10:00:00+08:00").unwrap()
}

/// Test settings: cheap PIN hashing, default lockout. Also starts the test
/// logs (`TILLCARD_LOG_DIR`, see `tillcard::logging`), since every test that
/// opens a store comes through here.
pub fn config() -> StoreConfig {
    tillcard::logging::init_for_tests();
    StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new("T-TEST-0001", test_key())
    }
}

/// The fixed store key the test stores are encrypted with.
pub fn test_key() -> StoreKey {
    StoreKey::from_bytes([0x5a; 32])
}

/// A raw connection to a test store's file, keyed (tests that inspect or
/// break the database directly).
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&tillcard::store::key_statements(&test_key()))
        .unwrap();
    conn
}

/// Opens the store file at `path` with the test settings, its clock at
/// [`start_time`].
pub fn open_file(path: &Path) -> Result<Store, StoreError> {
    Store::open(path, config(), Arc::new(FakeClock::at(start_time())))
}

/// A store in its own temporary directory.
pub struct TestStore {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The store.
    pub store: Store,
    /// Its clock.
    pub clock: Arc<FakeClock>,
}

impl TestStore {
    /// The database file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("terminal.sqlite")
    }

    /// Closes and reopens the store (as after a restart).
    pub fn reopen(self) -> TestStore {
        let TestStore { dir, store, clock } = self;
        drop(store);
        let store =
            Store::open(&dir.path().join("terminal.sqlite"), config(), clock.clone()).unwrap();
        TestStore { dir, store, clock }
    }
}

/// A fresh store with a cashier and a manager.
pub fn open_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::at(start_time()));
    let mut store =
        Store::open(&dir.path().join("terminal.sqlite"), config(), clock.clone()).unwrap();
    store
        .add_clerk(CASHIER.0, "Cashier", Role::Cashier, CASHIER.1)
        .unwrap();
    store
        .add_clerk(MANAGER.0, "Manager", Role::Manager, MANAGER.1)
        .unwrap();
    TestStore { dir, store, clock }
}

/// The cashier, logged in.
pub fn cashier(store: &mut Store) -> Clerk {
    store.login(CASHIER.0, CASHIER.1).unwrap()
}

/// An enrollment for phone `138000000NN`.
pub fn enroll_request(n: u32) -> EnrollRequest {
    EnrollRequest {
        phone: format!("1380000{n:04}"),
        name: Some("张伟".into()),
        birthday: None,
        consent: true,
        referred_by: None,
    }
}

/// Enrolls member `n`.
pub fn enroll(store: &mut Store, clerk: &Clerk, n: u32) -> MemberRecord {
    store.enroll(clerk, &enroll_request(n)).unwrap().member
}

/// [`open_store`] with the cashier logged in and member 1 enrolled.
pub fn open_store_with_member() -> (TestStore, Clerk, MemberRecord) {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    let member = enroll(&mut t.store, &clerk, 1);
    (t, clerk, member)
}

/// A basket of `lines` grocery lines at `yuan` each.
pub fn basket(lines: usize, yuan: i64) -> Basket {
    Basket {
        lines: (0..lines)
            .map(|i| BasketLine {
                sku: format!("sku{i}"),
                name: format!("item {i}"),
                category: "grocery".into(),
                quantity: 1 + (i as i64 % 3),
                unit_price: Money::from_yuan(yuan),
                list_price: None,
            })
            .collect(),
    }
}

/// The price of [`basket`]`(lines, yuan)` for `member` (or a walk-in),
/// online and paid the default way.
pub fn quote(store: &Store, member: Option<MemberId>, lines: usize, yuan: i64) -> Quote {
    store
        .price(
            member,
            &basket(lines, yuan),
            &TenderRequest::default(),
            false,
        )
        .unwrap()
}

/// A store file holding `extra` anonymous members plus the scan fixture's
/// member (gold tier via a ledger entry), and a read-only member reader on
/// it, as the scan thread uses.
pub fn store_with_card_member(
    extra: u128,
) -> (tempfile::TempDir, tillcard::store::reader::MemberReader) {
    use tillcard::rules::MemberId;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terminal.sqlite");
    let mut store = open_file(&path).unwrap();
    let fixture = MemberRecord {
        id: MemberId(super::member_id()),
        phone_masked: "138****5678".into(),
        name_masked: "张*".into(),
        birthday: None,
        referred_by: None,
        tags: vec!["VIP".into()],
        balances_known: true,
        frozen: false,
    };
    let others: Vec<MemberRecord> = (0..extra)
        .map(|i| MemberRecord {
            id: MemberId(uuid::Uuid::from_u128(0xB000_0000 + i)),
            phone_masked: "139****0000".into(),
            name_masked: "李*".into(),
            ..fixture.clone()
        })
        .collect();
    store
        .import_members(
            std::iter::once((&fixture, Some("13812345678")))
                .chain(others.iter().map(|r| (r, None))),
        )
        .unwrap();
    let mut account = tillcard::rules::account::MemberAccount::new(fixture.id);
    account.tier = tillcard::rules::TierLevel(2);
    store.apply_member_snapshot(&fixture, &account).unwrap();
    let reader = store.reader().unwrap();
    drop(store);
    (dir, reader)
}
