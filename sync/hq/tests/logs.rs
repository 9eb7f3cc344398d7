//! Head office's logs at TRACE level, as JSON (the format of
//! `TILLCARD_HQ_LOG_FORMAT=json`): spans carry the terminal and the batch
//! size; refusals, dead letters and conflicts are logged; and no phone,
//! name or birthday of the test data appears, not even masked, even when
//! the data sits in a poison event or a conflict.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::io::Write;

use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::util::SubscriberInitExt as _;

use axum::http::StatusCode;
use tillcard_protocol::logging::{self, LogFormat};
use tillcard_protocol::wire::OutboxEvent;
use util::{Backend, harness, new_member};

both!(logs_carry_ids_and_no_personal_data, scenario);

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One JSON subscriber for the whole test binary (both backends write to it).
fn logs() -> &'static Buffer {
    static LOGS: OnceLock<Buffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        // Head office's own subscriber, as `TILLCARD_HQ_LOG_FORMAT=json
        // RUST_LOG=trace` sets it up.
        logging::subscriber(
            LogFormat::Json,
            tracing_subscriber::EnvFilter::new("trace"),
            move || writer.clone(),
        )
        .try_init()
        .unwrap();
        buffer
    })
}

const PHONE: &str = "13912345678";
const MASKED_PHONE: &str = "139****5678";

async fn scenario(backend: Backend) {
    let buffer = logs();
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let member = new_member();
    // Enrolled at both stores with the same phone: a duplicate_phone
    // conflict whose subject is personal data.
    let (e1, _) = a.enroll(member, PHONE);
    let (s, _) = h.upload(&a, vec![e1]).await;
    assert_eq!(s, StatusCode::OK);
    let (e2, _) = b.enroll(new_member(), PHONE);
    // A poison event quoting the phone, the name and the birthday.
    let env = b.creds.envelope(b.next_seq, b.clock, 1);
    b.next_seq += 1;
    let poison = OutboxEvent {
        envelope: env,
        body: serde_json::json!({"type": "member_enrolled", "masked_phone": PHONE,
            "name": "张三", "birthday": {"month": 5, "day": 17}}),
    };
    let (s, ack) = h.upload(&b, vec![e2, poison]).await;
    let ack = ack.unwrap();
    assert_eq!((s, ack.applied, ack.dead_lettered), (StatusCode::OK, 1, 1));
    // A refusal.
    assert_eq!(h.upload_unsigned().await, StatusCode::UNAUTHORIZED);
    // Dashboard use.
    h.hq.add_user("ana", "s3cret-enough").await.unwrap();
    let _ = h.figures_at(chrono::Utc::now().fixed_offset()).await;

    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let tid = b.creds.terminal_id.to_string();
    let ours = |msg: &str| {
        lines
            .iter()
            .any(|l| l["fields"]["message"] == msg && l.to_string().contains(&tid))
    };
    // The batch span names the terminal and the batch size.
    assert!(
        lines.iter().any(|l| l["span"]["name"] == "batch"
            && l["span"]["terminal"] == tid.as_str()
            && l["span"]["events"].as_u64() == Some(2)),
        "no batch span for {tid}"
    );
    assert!(ours("event dead-lettered"), "dead letter not logged");
    assert!(ours("conflict recorded for review"), "conflict not logged");
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "request refused"
                && l["fields"]["code"] == "unsigned"),
        "refusal not logged"
    );
    for needle in [
        PHONE,
        MASKED_PHONE,
        "5678",
        "张三",
        "张*",
        "\"day\":17",
        "05-17",
        "s3cret-enough",
    ] {
        let hit = text.lines().find(|l| contains_standalone(l, needle));
        assert!(
            hit.is_none(),
            "[{backend:?}] {needle:?} appears in the logs: {hit:?}"
        );
    }
}

/// Whether `needle` occurs in `line` other than inside a longer run of
/// letters and digits: the phone's last four digits are personal, the same
/// four digits inside a random id (card key 56782, a UUID) are not.
fn contains_standalone(line: &str, needle: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    line.match_indices(needle).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + needle.len()..].chars().next();
        let edge_alnum = |n: Option<char>, own: Option<char>| alnum(n) && alnum(own);
        !(edge_alnum(before, needle.chars().next())
            || edge_alnum(after, needle.chars().next_back()))
    })
}

#[test]
fn standalone_match_skips_digits_inside_ids_only() {
    assert!(contains_standalone("phone ****5678 seen", "5678"));
    assert!(contains_standalone("\"last4\":\"5678\"", "5678"));
    assert!(!contains_standalone("\"card_key_id\":56782", "5678"));
    assert!(!contains_standalone("terminal 01a2-5678ab", "5678"));
    assert!(contains_standalone("name 张三 here", "张三"));
    assert!(contains_standalone("\"day\":17,", "\"day\":17"));
}
