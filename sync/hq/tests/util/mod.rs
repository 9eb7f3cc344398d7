//! Shared test helpers: a head office on either backend, driven in-process
//! through its router, and simulated terminals that book with the real rules.
#![allow(dead_code, reason = "each test binary uses part of the helpers")]

pub mod browser;
pub mod pg;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tillcard_hq::service::{self, Hq};
use tillcard_hq::store::Store;
use tillcard_protocol::auth;
use tillcard_protocol::client::{self, SignedRequest, TerminalCredentials};
use tillcard_protocol::wire::{self, Change, Consent, EventBody, OutboxEvent, UploadAck};
use tillcard_rules::booking::{self, Authority, TopUp};
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, PricingRequest, Quote, Shopper, TenderRequest,
};
use tillcard_rules::refund::{self, RefundLine, SaleHistory};
use tillcard_rules::{MemberAccount, Money, Program};
use tower::ServiceExt as _;
use uuid::Uuid;

/// Admin token the tests configure.
pub const ADMIN: &str = "test-admin-token";
/// The client address requests come from unless a test names another:
/// this machine (loopback), as a browser or scraper on head office's PC.
pub const LOCAL_PEER: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50_000);

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temp dir.
    Sqlite,
    /// A fresh database on the throwaway PostgreSQL.
    Postgres,
    /// The same, with head office allowed this many member and phone locks
    /// per batch: batches about more take the wide lock.
    PostgresLockBudget(usize),
}

/// A head office under test.
pub struct Harness {
    /// Head office.
    pub hq: Arc<Hq>,
    /// Its router.
    pub router: Router,
    /// Backend.
    pub backend: Backend,
    _tmp: Option<tempfile::TempDir>,
}

/// Head office served over HTTP on a free loopback port (the browser
/// tests), until [`Served::stop`].
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Shuts the server down gracefully; it must end without an error.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// Opens a store of the given backend.
pub async fn open_store(backend: Backend) -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    // Test logs for the no-personal-data proof (TILLCARD_LOG_DIR).
    tillcard_protocol::logging::init_for_tests("tillcard-hq-tests");
    match backend {
        Backend::Sqlite => {
            let tmp = tempfile::tempdir().unwrap();
            let store =
                tillcard_hq::store::sqlite::SqliteStore::open(&tmp.path().join("hq.sqlite"))
                    .unwrap();
            (Arc::new(store), Some(tmp))
        }
        Backend::Postgres | Backend::PostgresLockBudget(_) => {
            let (mut store, _) = postgres_store().await;
            if let Backend::PostgresLockBudget(budget) = backend {
                store = store.with_key_lock_budget(budget);
            }
            (Arc::new(store), None)
        }
    }
}

/// A store on a fresh database of the throwaway PostgreSQL, and its URL.
async fn postgres_store() -> (tillcard_hq::store::postgres::PgStore, String) {
    let url = pg::fresh_database().await;
    let store = tillcard_hq::store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    (store, url)
}

/// A head office over `store`.
async fn serve(store: Arc<dyn Store>, backend: Backend, tmp: Option<tempfile::TempDir>) -> Harness {
    let hq = Arc::new(Hq::open(store, Some(ADMIN.into())).await.unwrap());
    Harness {
        router: service::router(Arc::clone(&hq)),
        hq,
        backend,
        _tmp: tmp,
    }
}

/// A head office on a fresh database.
pub async fn harness(backend: Backend) -> Harness {
    let (store, tmp) = open_store(backend).await;
    serve(store, backend, tmp).await
}

/// A head office on a fresh SQLite database, and that database's file
/// (for tests that read the file itself).
pub async fn harness_sqlite() -> (Harness, std::path::PathBuf) {
    let (store, tmp) = open_store(Backend::Sqlite).await;
    let path = tmp.as_ref().unwrap().path().join("hq.sqlite");
    (serve(store, Backend::Sqlite, tmp).await, path)
}

/// A head office on a fresh PostgreSQL database, and that database's URL
/// (for tests that look at the server beside head office).
pub async fn harness_postgres() -> (Harness, String) {
    tillcard_protocol::logging::init_for_tests("tillcard-hq-tests");
    let (store, url) = postgres_store().await;
    (serve(Arc::new(store), Backend::Postgres, None).await, url)
}

/// The moment the tests' terminals start from.
pub fn t0() -> Timestamp {
    Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap()
}

/// The password [`Harness::sign_in`] gives console users.
#[allow(dead_code, reason = "not every test signs in to the console")]
pub const CONSOLE_PASSWORD: &str = "s3cret-enough";

/// A signed-in console user: the cookie header and the CSRF token.
#[allow(dead_code, reason = "not every test signs in to the console")]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl Harness {
    /// Saves console user `user` with `role` (password
    /// [`CONSOLE_PASSWORD`]) and signs them in, pages in English.
    #[allow(dead_code, reason = "not every test signs in to the console")]
    pub async fn sign_in(&self, user: &str, role: tillcard_hq::service::roles::Role) -> Browser {
        use tillcard_hq::service::LoginOutcome;
        use tillcard_hq::service::back_office::Actor;
        self.hq
            .save_user(&Actor::cli(), user, CONSOLE_PASSWORD, Some(role))
            .await
            .unwrap();
        let LoginOutcome::Session(token) = self.hq.login(user, CONSOLE_PASSWORD).await.unwrap()
        else {
            panic!("login refused");
        };
        Browser {
            cookie: format!(
                "{}={token}; tillcard_lang=en",
                tillcard_hq::dashboard::SESSION_COOKIE
            ),
            csrf: tillcard_hq::console::csrf_token(&token),
        }
    }

    /// A harness over a head office the test built itself (another
    /// configuration), on SQLite, keeping `tmp` (its files) alive.
    pub fn over(hq: Arc<Hq>, tmp: Option<tempfile::TempDir>) -> Harness {
        Harness {
            router: service::router(Arc::clone(&hq)),
            hq,
            backend: Backend::Sqlite,
            _tmp: tmp,
        }
    }

    /// Another head office on the same store (a restart: it reads its
    /// keys from the store's settings again). This harness keeps the
    /// store's files.
    pub async fn reopened(&self) -> Harness {
        serve(Arc::clone(self.hq.store()), self.backend, None).await
    }

    /// The SQLite database file, on the SQLite backend.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._tmp.as_ref().map(|t| t.path().join("hq.sqlite"))
    }

    /// A harness sharing `h`'s head office (for spawned tasks).
    pub fn shell(h: &Harness) -> Harness {
        Harness {
            hq: Arc::clone(&h.hq),
            router: h.router.clone(),
            backend: h.backend,
            _tmp: None,
        }
    }

    /// Sends a raw request; status, headers and body.
    pub async fn exchange(
        &self,
        req: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        self.exchange_from(LOCAL_PEER, req).await
    }

    /// Sends a raw request as from the client at `peer` (what the server
    /// gives handlers as the connection's address); status, headers, body.
    pub async fn exchange_from(
        &self,
        peer: std::net::SocketAddr,
        mut req: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, body.to_vec())
    }

    /// Sends a raw request; status and body.
    pub async fn request(&self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        let (status, _, body) = self.exchange(req).await;
        (status, body)
    }

    /// Posts an unsigned, empty upload (one head office refuses).
    pub async fn upload_unsigned(&self) -> StatusCode {
        let req = Request::builder()
            .method("POST")
            .uri("/v1/batches")
            .body(Body::empty())
            .unwrap();
        self.request(req).await.0
    }

    /// Sends a signed request.
    pub async fn send(&self, signed: SignedRequest) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder()
            .method(signed.method)
            .uri(&signed.path_and_query);
        for (n, v) in &signed.headers {
            req = req.header(*n, v);
        }
        req = req
            .header("content-type", wire::CONTENT_TYPE)
            .header("content-encoding", wire::CONTENT_ENCODING);
        self.request(req.body(Body::from(signed.body)).unwrap())
            .await
    }

    /// Admin POST with a JSON body.
    pub async fn admin_post(
        &self,
        path: &str,
        json: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            .body(Body::from(json.to_string()))
            .unwrap();
        let (s, b) = self.request(req).await;
        (
            s,
            serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Creates `store` through the HTTP API unless it exists.
    pub async fn ensure_store(&self, store: &str) {
        let (s, body) = self
            .admin_post(
                "/v1/admin/stores",
                serde_json::json!({"code": store, "name": store, "time_zone": "Asia/Shanghai"}),
            )
            .await;
        assert!(
            s == StatusCode::OK || body["error"] == "store_exists",
            "{s} {body}"
        );
    }

    /// A new enrollment code for `store` (which exists) through the admin
    /// API, answered 200.
    pub async fn issue_code(&self, store: &str) -> String {
        let (s, code) = self
            .admin_post(
                "/v1/admin/enroll-codes",
                serde_json::json!({"store": store}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{code}");
        code["code"].as_str().unwrap().to_string()
    }

    /// Provisions a terminal for `store` through the HTTP API (creating the
    /// store if needed).
    pub async fn provision(&self, store: &str) -> Till {
        self.ensure_store(store).await;
        let code = self.issue_code(store).await;
        let key = auth::generate_signing_key();
        let req = Request::builder()
            .method("POST")
            .uri(client::REDEEM_PATH)
            .header("content-type", wire::CONTENT_TYPE)
            .header("content-encoding", wire::CONTENT_ENCODING)
            .body(Body::from(client::redeem_request(&code, &key).unwrap()))
            .unwrap();
        let (s, body) = self.request(req).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let provisioned = client::decode_provisioned(&body).unwrap();
        Till {
            creds: TerminalCredentials::from_provisioned(key, &provisioned),
            next_seq: 1,
            clock: t0(),
            program: Program::default(),
        }
    }

    /// This head office served over HTTP on a free loopback port.
    pub async fn serve(&self) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(service::serve(listener, Arc::clone(&self.hq), async {
            let _ = stopped.await;
        }));
        Served { base, stop, server }
    }

    /// Two terminals at two stores: one provisioned for S001, then one for
    /// S002.
    pub async fn two_stores(&self) -> (Till, Till) {
        let a = self.provision("S001").await;
        let b = self.provision("S002").await;
        (a, b)
    }

    /// [`Self::two_stores`], the second till's clock `later` than the
    /// first's: two stores offline at different moments.
    pub async fn two_stores_apart(&self, later: chrono::Duration) -> (Till, Till) {
        let (a, mut b) = self.two_stores().await;
        b.clock += later;
        (a, b)
    }

    /// Uploads events; returns the status and the ack if 200.
    pub async fn upload(
        &self,
        till: &Till,
        events: Vec<OutboxEvent>,
    ) -> (StatusCode, Option<UploadAck>) {
        self.upload_telling(till, events, None, None).await
    }

    /// Uploads events telling head office the terminal's outbox head.
    pub async fn upload_with_head(
        &self,
        till: &Till,
        events: Vec<OutboxEvent>,
        outbox_head_seq: u64,
    ) -> (StatusCode, Option<UploadAck>) {
        self.upload_telling(till, events, Some(outbox_head_seq), None)
            .await
    }

    /// Uploads events telling head office the terminal's software version
    /// (sent as given, even one head office refuses).
    pub async fn upload_with_version(
        &self,
        till: &Till,
        events: Vec<OutboxEvent>,
        app_version: &str,
    ) -> (StatusCode, Option<UploadAck>) {
        self.upload_telling(till, events, None, Some(app_version))
            .await
    }

    /// Uploads events with the terminal's audit chain as given.
    pub async fn upload_with_audit(
        &self,
        till: &Till,
        events: Vec<OutboxEvent>,
        audit: tillcard_protocol::wire::UploadAudit,
    ) -> (StatusCode, Option<UploadAck>) {
        let req = till
            .creds
            .upload_request_with_audit(
                events,
                None,
                None,
                Some(audit),
                chrono::Utc::now().timestamp(),
            )
            .unwrap();
        let (s, body) = self.send(req).await;
        let ack = (s == StatusCode::OK).then(|| client::decode_ack(&body).unwrap());
        (s, ack)
    }

    /// Uploads events, telling head office the outbox head and the
    /// software version if given; the acknowledgement when the upload was
    /// taken.
    async fn upload_telling(
        &self,
        till: &Till,
        events: Vec<OutboxEvent>,
        outbox_head_seq: Option<u64>,
        app_version: Option<&str>,
    ) -> (StatusCode, Option<UploadAck>) {
        let req = till
            .creds
            .upload_request_with_head(
                events,
                outbox_head_seq,
                app_version,
                chrono::Utc::now().timestamp(),
            )
            .unwrap();
        let (s, body) = self.send(req).await;
        let ack = (s == StatusCode::OK).then(|| client::decode_ack(&body).unwrap());
        (s, ack)
    }

    /// GET with optional extra headers; status, headers and body.
    pub async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::builder().uri(path);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        self.exchange(req.body(Body::empty()).unwrap()).await
    }

    /// The figures JSON as of `at`, with the admin token.
    pub async fn figures_at(&self, at: Timestamp) -> serde_json::Value {
        let path = format!(
            "/v1/admin/figures?at={}",
            at.to_rfc3339().replace('+', "%2B")
        );
        let (s, _, body) = self
            .get(&path, &[("authorization", &format!("Bearer {ADMIN}"))])
            .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// Every change on the downlink for `till`, following cursors.
    /// Every change from the start, pulled again until `ready` holds of
    /// them (at most 10 s). On PostgreSQL a change becomes visible to the
    /// downlink only once no older transaction of the cluster is still open
    /// (see `changes_after`), and the tests of other databases on the same
    /// throwaway cluster hold transactions open, so "visible after commit"
    /// may take a moment.
    pub async fn changes_when(
        &self,
        till: &Till,
        ready: impl Fn(&[Change]) -> bool,
    ) -> Vec<Change> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let changes = self.all_changes(till).await;
            if ready(&changes) || std::time::Instant::now() > deadline {
                return changes;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// `member`'s account as head office last sent it down (waiting, as
    /// [`Harness::changes_when`] does, until a snapshot of it is visible).
    pub async fn member_account(&self, till: &Till, member: MemberId) -> MemberAccount {
        let is_member =
            |c: &Change| matches!(c, Change::Member { snapshot } if snapshot.member == member);
        self.changes_when(till, |changes| changes.iter().any(is_member))
            .await
            .into_iter()
            .rev()
            .find_map(|c| match c {
                Change::Member { snapshot } if snapshot.member == member => Some(snapshot.account),
                _ => None,
            })
            .unwrap()
    }

    /// Waits (bounded) until the downlink serves every change committed so
    /// far: PostgreSQL's withholds changes newer than the oldest transaction
    /// running in the cluster, another test's included.
    pub async fn settle_downlink(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self.hq.store().downlink_settled().await.unwrap() {
            assert!(
                std::time::Instant::now() < deadline,
                "the downlink's horizon did not pass the newest change in 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Every change from the start, in one pass.
    pub async fn all_changes(&self, till: &Till) -> Vec<Change> {
        self.settle_downlink().await;
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let req = till
                .creds
                .changes_request(cursor.as_deref(), chrono::Utc::now().timestamp());
            let (s, body) = self.send(req).await;
            assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            let page = client::decode_page(&body).unwrap();
            out.extend(page.changes);
            cursor = Some(page.cursor);
            if !page.more {
                return out;
            }
        }
    }
}

/// A simulated terminal: books with the real rules and writes outbox events.
#[derive(Clone)]
pub struct Till {
    /// Credentials.
    pub creds: TerminalCredentials,
    /// Next sequence number.
    pub next_seq: u64,
    /// The terminal's wall clock (advanced a minute per event).
    pub clock: Timestamp,
    /// Program.
    pub program: Program,
}

impl Till {
    /// Wraps a body into the next outbox event.
    pub fn event(&mut self, body: &EventBody) -> OutboxEvent {
        let env = self
            .creds
            .envelope(self.next_seq, self.clock, self.next_seq * 1000);
        self.next_seq += 1;
        self.clock += chrono::Duration::minutes(1);
        OutboxEvent::new(env, body).unwrap()
    }

    /// Enrolls a member with a phone; returns the event and their entries.
    pub fn enroll(&mut self, member: MemberId, phone: &str) -> (OutboxEvent, Vec<LedgerEntry>) {
        self.enroll_born(member, phone, pricing::MonthDay { month: 5, day: 17 })
    }

    /// [`Till::enroll`] with the member's birthday.
    pub fn enroll_born(
        &mut self,
        member: MemberId,
        phone: &str,
        birthday: pricing::MonthDay,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        let entries =
            booking::book_enrollment(&self.program, member, self.clock, SourceId(Uuid::now_v7()));
        let body = EventBody::MemberEnrolled {
            member,
            masked_name: Some("张*".into()),
            masked_phone: format!("{}****{}", &phone[..3], &phone[phone.len() - 4..]),
            phone_sealed: self.creds.seal(phone).unwrap(),
            name_sealed: Some(self.creds.seal("张三").unwrap()),
            birthday: Some(birthday),
            consent: Consent {
                given: true,
                at: self.clock,
            },
            referrer: None,
            entries: entries.clone(),
        };
        (self.event(&body), entries)
    }

    /// Enrolls `member` as [`Till::enroll`] does: the event and the account
    /// its entries open.
    pub fn enroll_account(
        &mut self,
        member: MemberId,
        phone: &str,
    ) -> (OutboxEvent, MemberAccount) {
        let (event, entries) = self.enroll(member, phone);
        (
            event,
            MemberAccount::fold(MemberAccount::new(member), &entries),
        )
    }

    /// Tops up stored value.
    pub fn top_up(
        &mut self,
        account: &MemberAccount,
        yuan: i64,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        let entries = booking::book_top_up(
            &self.program,
            account,
            &TopUp::Amount(Money::from_yuan(yuan)),
            self.clock,
            SourceId(Uuid::now_v7()),
        )
        .unwrap();
        let body = EventBody::TopUp {
            member: account.member,
            principal: Money::from_yuan(yuan),
            bonus: Money::ZERO,
            package: None,
            entries: entries.clone(),
        };
        (self.event(&body), entries)
    }

    /// Tops up stored value with a program package (pay and bonus).
    pub fn top_up_package(
        &mut self,
        account: &MemberAccount,
        code: &str,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        let package = self.program.package(code).unwrap().clone();
        let entries = booking::book_top_up(
            &self.program,
            account,
            &TopUp::Package(code.into()),
            self.clock,
            SourceId(Uuid::now_v7()),
        )
        .unwrap();
        let body = EventBody::TopUp {
            member: account.member,
            principal: package.pay,
            bonus: package.bonus,
            package: Some(code.into()),
            entries: entries.clone(),
        };
        (self.event(&body), entries)
    }

    /// A walk-in sale (no member) of one line of `yuan`, paid in money.
    pub fn walk_in_sale(&mut self, yuan: i64) -> (OutboxEvent, Quote) {
        self.walk_in_basket_sale(&rice(yuan))
    }

    /// A walk-in sale (no member) of `basket`, paid in money.
    pub fn walk_in_basket_sale(&mut self, basket: &Basket) -> (OutboxEvent, Quote) {
        let request = PricingRequest {
            quote_id: SourceId(Uuid::now_v7()),
            program: &self.program,
            basket,
            shopper: None,
            context: Context {
                now: self.clock,
                offline: false,
                offline_allowance_left: Money::from_yuan(100_000),
            },
            tender: &TenderRequest::default(),
        };
        let quote = pricing::price(&request).unwrap();
        let body = EventBody::SaleBooked {
            quote: Box::new(quote.clone()),
            entries: vec![],
            payment: None,
        };
        (self.event(&body), quote)
    }

    /// A full refund of a one-line sale, booked by the rules (`account` is
    /// the sale's member's account, `None` for a walk-in sale).
    pub fn refund_all(
        &mut self,
        quote: &Quote,
        sale_entries: &[LedgerEntry],
        account: Option<&MemberAccount>,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        let lines = vec![RefundLine {
            line: 0,
            quantity: quote.lines[0].item.quantity,
        }];
        self.refund_lines(quote, sale_entries, account, lines)
    }

    /// A refund of `lines` of a sale, booked by the rules as a terminal
    /// that holds none of the sale's other refunds (offline) would.
    pub fn refund_lines(
        &mut self,
        quote: &Quote,
        sale_entries: &[LedgerEntry],
        account: Option<&MemberAccount>,
        lines: Vec<RefundLine>,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        let source = SourceId(Uuid::now_v7());
        let outcome = refund::refund(
            SaleHistory {
                quote,
                entries: sale_entries,
                refunds: &[],
            },
            account,
            &lines,
            self.clock,
            source,
        )
        .unwrap();
        let body = EventBody::Refunded {
            sale: quote.id,
            refund: source,
            lines,
            approved_by: "manager-1".into(),
            entries: outcome.entries.clone(),
            tenders: None,
            sale_terminal: None,
        };
        (self.event(&body), outcome.entries)
    }

    /// Adds points by a manager's adjustment.
    pub fn add_points(
        &mut self,
        account: &MemberAccount,
        points: i64,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        let entries = booking::book_points_adjustment(
            &self.program,
            account,
            points,
            self.clock,
            SourceId(Uuid::now_v7()),
        )
        .unwrap();
        let body = EventBody::ManualAdjustment {
            member: account.member,
            reason: "goodwill".into(),
            approved_by: "manager-1".into(),
            entries: entries.clone(),
        };
        (self.event(&body), entries)
    }

    /// A sale of `yuan` (one line, groceries) with a tender, priced and
    /// booked by the rules against `account` (this terminal's view).
    pub fn sale(
        &mut self,
        account: &MemberAccount,
        yuan: i64,
        tender: TenderRequest,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        self.referred_sale(account, None, yuan, tender)
    }

    /// [`Till::sale`] for a member `referred_by` another: on the member's
    /// first purchase the rules book points for both.
    pub fn referred_sale(
        &mut self,
        account: &MemberAccount,
        referred_by: Option<MemberId>,
        yuan: i64,
        tender: TenderRequest,
    ) -> (OutboxEvent, Vec<LedgerEntry>) {
        let profile = MemberProfile {
            id: account.member,
            birthday: None,
            referred_by,
            balances_known: true,
            frozen: false,
        };
        let basket = rice(yuan);
        let request = PricingRequest {
            quote_id: SourceId(Uuid::now_v7()),
            program: &self.program,
            basket: &basket,
            shopper: Some(Shopper {
                profile: &profile,
                account,
            }),
            context: Context {
                now: self.clock,
                offline: false,
                offline_allowance_left: Money::from_yuan(100_000),
            },
            tender: &tender,
        };
        let quote = pricing::price(&request).unwrap();
        let entries = booking::book_sale(
            &self.program,
            &quote,
            &profile,
            account,
            Authority::Terminal,
        )
        .unwrap();
        let body = EventBody::SaleBooked {
            quote: Box::new(quote),
            entries: entries.clone(),
            payment: None,
        };
        (self.event(&body), entries)
    }

    /// A batch of `n` simple events (top-ups of one member) after enrolling it.
    pub fn simple_batch(&mut self, member: MemberId, phone: &str, n: usize) -> Vec<OutboxEvent> {
        let (e, entries) = self.enroll(member, phone);
        let mut account = MemberAccount::fold(MemberAccount::new(member), &entries);
        let mut out = vec![e];
        while out.len() < n {
            let (e, entries) = self.top_up(&account, 10);
            account = MemberAccount::fold(account, &entries);
            out.push(e);
        }
        out
    }
}

/// A basket of one line of rice at `yuan`.
pub fn rice(yuan: i64) -> Basket {
    Basket {
        lines: vec![BasketLine {
            sku: "rice-5kg".into(),
            name: "Rice 5kg".into(),
            category: "grocery".into(),
            quantity: 1,
            unit_price: Money::from_yuan(yuan),
            list_price: None,
        }],
    }
}

/// The quote inside a sale event.
pub fn quote_of(event: &OutboxEvent) -> Quote {
    match event.decode_body().unwrap() {
        EventBody::SaleBooked { quote, .. } => *quote,
        other => panic!("not a sale: {other:?}"),
    }
}

/// A random member id.
pub fn new_member() -> MemberId {
    MemberId(Uuid::now_v7())
}

/// Runs a scenario on both backends: `both!(name, scenario_fn)`.
#[macro_export]
macro_rules! both {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$scenario($crate::util::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$scenario($crate::util::Backend::Postgres).await;
            }
        }
    };
}
