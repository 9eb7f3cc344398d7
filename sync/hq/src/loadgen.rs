//! Load generation: N provisioned terminals uploading signed batches
//! concurrently to one head office over HTTP. Used by the
//! `tillcard-loadgen` binary and by `benches/hq.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tillcard_rules::booking::{self, Authority, TopUp};
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::pricing::{
    self, Basket, BasketLine, Context, MemberProfile, PricingRequest, Shopper, TenderRequest,
};
use tillcard_rules::{MemberAccount, Money, Program};
use uuid::Uuid;

use tillcard_protocol::auth;
use tillcard_protocol::client::{self, SignedRequest, TerminalCredentials};
use tillcard_protocol::wire::{self, Consent, EventBody, OutboxEvent};

/// Load generation failures.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// HTTP failed.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// Head office refused.
    #[error("head office answered {0}")]
    Status(u16),
    /// Encoding failed.
    #[error("protocol: {0}")]
    Protocol(#[from] wire::ProtocolError),
    /// Bad answer.
    #[error("{0}")]
    Other(String),
}

/// What happened during a run.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Batches acknowledged.
    pub batches: u64,
    /// Events acknowledged.
    pub events: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Uploads head office refused `503 busy` (its admission, see
    /// `Hq::upload_turn`) and that were sent again after a backoff.
    pub busy_retries: u64,
    /// Wall time of the upload phase.
    pub elapsed: Duration,
    /// Ack latency of every batch, ms.
    pub latencies_ms: Vec<f64>,
    /// Compressed bytes sent.
    pub bytes_sent: u64,
    /// Uncompressed JSON bytes those batches would take.
    pub bytes_uncompressed: u64,
}

impl LoadReport {
    /// Latency quantile (0..=1), ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        let rank = (q * (v.len() - 1) as f64).round() as usize;
        v[rank.min(v.len() - 1)]
    }

    /// Batches per second.
    pub fn batches_per_s(&self) -> f64 {
        self.batches as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Sends a signed request to `base` (e.g. `http://127.0.0.1:8640`).
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    req: SignedRequest,
) -> Result<Vec<u8>, LoadError> {
    let url = format!("{base}{}", req.path_and_query);
    let mut builder = match req.method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    for (n, v) in &req.headers {
        builder = builder.header(*n, v);
    }
    let res = builder
        .header("content-type", wire::CONTENT_TYPE)
        .header("content-encoding", wire::CONTENT_ENCODING)
        .body(req.body)
        .send()
        .await?;
    let status = res.status().as_u16();
    let body = res.bytes().await?.to_vec();
    if status != 200 {
        return Err(LoadError::Status(status));
    }
    Ok(body)
}

/// Provisions `n` terminals through the admin and redeem endpoints, at
/// 3,600 stores in turn.
pub async fn provision(
    client: &reqwest::Client,
    base: &str,
    admin_token: &str,
    n: usize,
) -> Result<Vec<TerminalCredentials>, LoadError> {
    provision_at_stores(client, base, admin_token, n, 3600).await
}

/// [`provision`] at `stores` stores in turn (terminal `i` at store
/// `i % stores`).
pub async fn provision_at_stores(
    client: &reqwest::Client,
    base: &str,
    admin_token: &str,
    n: usize,
    stores: usize,
) -> Result<Vec<TerminalCredentials>, LoadError> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let store = format!("S{:04}", i % stores.max(1));
        // Codes are issued for existing stores: the first terminal of each
        // creates it (409 `store_exists` afterwards, on a rerun too).
        let res = client
            .post(format!("{base}/v1/admin/stores"))
            .bearer_auth(admin_token)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({"code": store, "name": store, "time_zone": "Asia/Shanghai"})
                    .to_string(),
            )
            .send()
            .await?;
        if !res.status().is_success() && res.status().as_u16() != 409 {
            return Err(LoadError::Status(res.status().as_u16()));
        }
        let res = client
            .post(format!("{base}/v1/admin/enroll-codes"))
            .bearer_auth(admin_token)
            .header("content-type", "application/json")
            .body(serde_json::json!({"store": store}).to_string())
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(LoadError::Status(res.status().as_u16()));
        }
        let v: serde_json::Value = serde_json::from_slice(&res.bytes().await?)
            .map_err(|e| LoadError::Other(e.to_string()))?;
        let code = v["code"]
            .as_str()
            .ok_or_else(|| LoadError::Other("no code".into()))?
            .to_string();
        let key = auth::generate_signing_key();
        let res = client
            .post(format!("{base}{}", client::REDEEM_PATH))
            .header("content-type", wire::CONTENT_TYPE)
            .header("content-encoding", wire::CONTENT_ENCODING)
            .body(client::redeem_request(&code, &key)?)
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(LoadError::Status(res.status().as_u16()));
        }
        let provisioned = client::decode_provisioned(&res.bytes().await?)?;
        out.push(TerminalCredentials::from_provisioned(key, &provisioned));
    }
    Ok(out)
}

/// One simulated terminal: its events dealt in turn to its members, as a
/// till deals its sales to whoever is at the counter; each member's first
/// event enrolls them (phone sealed to head office), the rest are booked by
/// the rules as its [`Mix`] says. Batches are made a few at a time, so
/// members' histories can grow between uploads.
pub struct Till {
    creds: TerminalCredentials,
    program: Program,
    accounts: Vec<MemberAccount>,
    next_member: usize,
    seq: u64,
    mix: Mix,
}

/// What a simulated terminal books after enrolling its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mix {
    /// Top-ups of ¥10 (the benchmark's load: one ledger entry an event).
    #[default]
    TopUps,
    /// A store's day: sales of ¥38 paid at the till (points earned, spend
    /// recorded), every tenth visit a ¥100 top-up instead; events an hour
    /// apart, so a member dealt every Nth event comes back every N hours.
    Sales,
}

impl Till {
    /// A terminal with `members` members not enrolled yet (at least one).
    pub fn new(creds: TerminalCredentials, members: usize) -> Till {
        Till {
            creds,
            program: Program::default(),
            accounts: (0..members.max(1))
                .map(|_| MemberAccount::new(MemberId(Uuid::now_v7())))
                .collect(),
            next_member: 0,
            seq: 1,
            mix: Mix::TopUps,
        }
    }

    /// The same terminal booking `mix` instead.
    pub fn with_mix(mut self, mix: Mix) -> Till {
        self.mix = mix;
        self
    }

    /// The terminal's credentials.
    pub fn credentials(&self) -> &TerminalCredentials {
        &self.creds
    }

    /// The next batch of `events` events; event times are `start` plus
    /// one second per sequence number.
    pub fn batch(
        &mut self,
        events: usize,
        start: Timestamp,
    ) -> Result<Vec<OutboxEvent>, LoadError> {
        let bad = |e: &dyn std::fmt::Display| LoadError::Other(e.to_string());
        let mut batch = Vec::with_capacity(events);
        for _ in 0..events {
            let seq = self.seq;
            let step = match self.mix {
                Mix::TopUps => chrono::Duration::seconds(1),
                Mix::Sales => chrono::Duration::hours(1),
            };
            let at = start + step * i32::try_from(seq).unwrap_or(i32::MAX);
            let source = SourceId(Uuid::now_v7());
            // Members are dealt in order: the first round enrolls them.
            let visit = (seq - 1) / self.accounts.len() as u64;
            let dealt = self.next_member;
            self.next_member = (dealt + 1) % self.accounts.len();
            let account = &mut self.accounts[dealt];
            let member = account.member;
            let body = if visit == 0 {
                let phone = format!(
                    "139{:08}",
                    u64::from(member.0.as_u128() as u32) % 100_000_000
                );
                let entries = booking::book_enrollment(&self.program, member, at, source);
                for entry in &entries {
                    account.apply(entry);
                }
                EventBody::MemberEnrolled {
                    member,
                    masked_name: None,
                    masked_phone: format!("{}****{}", &phone[..3], &phone[7..]),
                    phone_sealed: self.creds.seal(&phone).map_err(|e| bad(&e))?,
                    name_sealed: None,
                    birthday: None,
                    consent: Consent { given: true, at },
                    referrer: None,
                    entries,
                }
            } else if self.mix == Mix::Sales && !visit.is_multiple_of(10) {
                let profile = MemberProfile {
                    id: member,
                    birthday: None,
                    referred_by: None,
                    balances_known: true,
                    frozen: false,
                };
                let basket = Basket {
                    lines: vec![BasketLine {
                        sku: "rice-5kg".into(),
                        name: "Rice 5kg".into(),
                        category: "grocery".into(),
                        quantity: 1,
                        unit_price: Money::from_yuan(38),
                        list_price: None,
                    }],
                };
                let quote = pricing::price(&PricingRequest {
                    quote_id: source,
                    program: &self.program,
                    basket: &basket,
                    shopper: Some(Shopper {
                        profile: &profile,
                        account,
                    }),
                    context: Context {
                        now: at,
                        offline: false,
                        offline_allowance_left: Money::ZERO,
                    },
                    tender: &TenderRequest::default(),
                })
                .map_err(|e| bad(&e))?;
                let entries = booking::book_sale(
                    &self.program,
                    &quote,
                    &profile,
                    account,
                    Authority::Terminal,
                )
                .map_err(|e| bad(&e))?;
                for entry in &entries {
                    account.apply(entry);
                }
                EventBody::SaleBooked {
                    quote: Box::new(quote),
                    entries,
                    payment: None,
                }
            } else {
                let yuan = if self.mix == Mix::Sales { 100 } else { 10 };
                let entries = booking::book_top_up(
                    &self.program,
                    account,
                    &TopUp::Amount(Money::from_yuan(yuan)),
                    at,
                    source,
                )
                .map_err(|e| bad(&e))?;
                for entry in &entries {
                    account.apply(entry);
                }
                EventBody::TopUp {
                    member,
                    principal: Money::from_yuan(yuan),
                    bonus: Money::ZERO,
                    package: None,
                    entries,
                }
            };
            batch.push(
                self.creds
                    .event(self.creds.envelope(seq, at, seq * 100), &body)?,
            );
            self.seq += 1;
        }
        Ok(batch)
    }
}

/// Every terminal uploads its batches one after the other (as a real
/// uplink does), all terminals at once. Requests are encoded and signed
/// before the clock starts, so the figures measure head office, not the
/// simulated terminals sharing its CPU.
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    terminals: Vec<(TerminalCredentials, Vec<Vec<OutboxEvent>>)>,
) -> LoadReport {
    run_encoded(client, base, encode(terminals)).await
}

/// Signed upload requests of every terminal (with their event counts),
/// made by [`encode`] before a run starts.
pub struct Encoded {
    requests: Vec<Vec<(u64, SignedRequest)>>,
    report: LoadReport,
}

/// Encodes and signs every batch of every terminal, so that [`run_encoded`]
/// only sends them.
pub fn encode(terminals: Vec<(TerminalCredentials, Vec<Vec<OutboxEvent>>)>) -> Encoded {
    let mut prepared = Vec::with_capacity(terminals.len());
    let mut total = LoadReport::default();
    let now = chrono::Utc::now().timestamp();
    for (creds, batches) in terminals {
        let mut requests = Vec::with_capacity(batches.len());
        for batch in batches {
            let n = batch.len() as u64;
            total.bytes_uncompressed += serde_json::to_vec(&batch)
                .map(|v| v.len() as u64)
                .unwrap_or(0);
            match creds.upload_request(batch, now) {
                Ok(req) => {
                    total.bytes_sent += req.body.len() as u64;
                    requests.push((n, req));
                }
                Err(_) => total.errors += 1,
            }
        }
        prepared.push(requests);
    }
    Encoded {
        requests: prepared,
        report: total,
    }
}

/// The first wait before an upload refused `503 busy` is sent again (the
/// terminal's uplink starts its backoff at a second too), doubled per
/// refusal up to eight times.
const BUSY_BACKOFF: Duration = Duration::from_secs(1);

/// A seed for one terminal's retry jitter: the length of its first
/// request's signature header, mixed with the request count, is enough to
/// keep terminals from retrying in step.
fn jitter_seed(requests: &[(u64, SignedRequest)]) -> u64 {
    requests
        .first()
        .map(|(_, r)| {
            r.headers
                .iter()
                .flat_map(|(_, v)| v.bytes())
                .fold(requests.len() as u64, |h, b| {
                    h.wrapping_mul(0x100_0000_01b3) ^ u64::from(b)
                })
        })
        .unwrap_or(1)
}

/// Sends encoded requests: each terminal's one after the other, all
/// terminals at once, an upload refused `503 busy` sent again after a
/// backoff; the report's time covers the sending alone.
pub async fn run_encoded(client: &reqwest::Client, base: &str, encoded: Encoded) -> LoadReport {
    let base: Arc<str> = Arc::from(base);
    let Encoded {
        requests: prepared,
        report: mut total,
    } = encoded;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(prepared.len());
    for requests in prepared {
        let (client, base) = (client.clone(), Arc::clone(&base));
        tasks.push(tokio::spawn(async move {
            let mut r = LoadReport::default();
            // Each terminal's own jitter (xorshift; no randomness needed
            // beyond spreading the retries).
            let mut jitter = jitter_seed(&requests) | 1;
            for (n, req) in requests {
                let t = Instant::now();
                let mut backoff = BUSY_BACKOFF;
                loop {
                    match send(&client, &base, req.clone())
                        .await
                        .and_then(|b| Ok(client::decode_ack(&b)?))
                    {
                        Ok(_) => {
                            r.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                            r.batches += 1;
                            r.events += n;
                        }
                        // Refused at admission: sent again after the
                        // uplink's full-jitter backoff, as a till does.
                        Err(LoadError::Status(503)) => {
                            r.busy_retries += 1;
                            jitter ^= jitter << 13;
                            jitter ^= jitter >> 7;
                            jitter ^= jitter << 17;
                            let wait = jitter % (backoff.as_millis() as u64 + 1);
                            tokio::time::sleep(Duration::from_millis(wait)).await;
                            backoff = (backoff * 2).min(BUSY_BACKOFF * 8);
                            continue;
                        }
                        Err(_) => r.errors += 1,
                    }
                    break;
                }
            }
            r
        }));
    }
    for t in tasks {
        if let Ok(r) = t.await {
            total.batches += r.batches;
            total.events += r.events;
            total.errors += r.errors;
            total.busy_retries += r.busy_retries;
            total.latencies_ms.extend(r.latencies_ms);
        } else {
            total.errors += 1;
        }
    }
    total.elapsed = started.elapsed();
    total
}
