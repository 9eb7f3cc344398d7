//! A terminal's audit chain at head office: each batch's links must still
//! reach the head head office acknowledged last; a link that differs there
//! (a row rewritten), a chain shorter than it or with rows missing (a
//! truncation) and a break the terminal's own check reports raise a
//! terminal flag (`audit_rewritten`, `audit_truncated`) and count in
//! `/metrics`, in the batch's transaction, while the batch's events apply
//! all the same. Head office cannot recompute links (the key is the
//! terminal's), so the links here are made up: only their equality
//! matters. Every scenario runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::auth;
use tillcard_protocol::wire::{AuditLink, UploadAudit};
use util::{Backend, Harness, Till, harness};

both!(
    a_rewritten_or_truncated_chain_is_flagged_and_its_batch_still_applies,
    rewritten_and_truncated
);
both!(
    an_untouched_chain_in_pieces_and_an_older_terminal_raise_no_flag,
    untouched
);

/// Links `from..=to`, each the 32 bytes `version` then its number.
fn links(from: u64, to: u64, version: u8) -> Vec<AuditLink> {
    (from..=to)
        .map(|n| {
            let mut mac = [version; 32];
            mac[..8].copy_from_slice(&n.to_le_bytes());
            AuditLink {
                n,
                mac: auth::b64(&mac),
            }
        })
        .collect()
}

fn chain(links: Vec<AuditLink>, rows: u64) -> UploadAudit {
    UploadAudit {
        links,
        rows,
        broken_at: None,
    }
}

/// Uploads one walk-in sale with `audit`; the ack's seq.
async fn sale_with(h: &Harness, till: &mut Till, audit: UploadAudit) -> u64 {
    let (event, _) = till.walk_in_sale(10);
    let (s, ack) = h.upload_with_audit(till, vec![event], audit).await;
    assert_eq!(s, StatusCode::OK);
    ack.unwrap().acked_seq
}

async fn flags(h: &Harness) -> Vec<String> {
    h.hq.store()
        .terminal_flags()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, reason)| reason)
        .collect()
}

/// `tillcard_hq_audit_flags_total` of `kind` in `/metrics`.
async fn counted(h: &Harness, kind: &str) -> u64 {
    let (s, _, body) = h.get("/metrics", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    let prefix = format!("tillcard_hq_audit_flags_total{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |v| v.trim().parse().unwrap())
}

async fn rewritten_and_truncated(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let mut acks = Vec::new();
    acks.push(sale_with(&h, &mut till, chain(links(1, 3, 1), 3)).await);
    acks.push(sale_with(&h, &mut till, chain(links(3, 5, 1), 5)).await);
    let clean = flags(&h).await.len();
    // Row 2 rewritten: every link from it on differs, row 5 among them.
    acks.push(sale_with(&h, &mut till, chain(links(5, 6, 2), 6)).await);
    let after_rewrite = flags(&h).await;
    // The rewritten chain is the reference now: the same links again
    // raise nothing more.
    acks.push(sale_with(&h, &mut till, chain(links(6, 7, 2), 7)).await);
    let after_same = flags(&h).await.len();
    // Rows 5 to 7 deleted: the chain ends below head office's head.
    acks.push(sale_with(&h, &mut till, chain(links(1, 4, 2), 4)).await);
    let after_truncation = flags(&h).await;
    // A row missing in the middle, and the terminal's own check failing.
    let mut gapped = chain([links(4, 5, 2), links(7, 8, 2)].concat(), 8);
    gapped.broken_at = Some(6);
    acks.push(sale_with(&h, &mut till, gapped).await);
    let after_gap = flags(&h).await;
    let (rewritten, truncated) = (
        counted(&h, "audit_rewritten").await,
        counted(&h, "audit_truncated").await,
    );
    println!(
        "[{backend:?}] acks {acks:?}; flags: clean {clean}, after a rewrite {}, the same chain again {after_same}, after a truncation {}, after a gap and a local break {}; metric rewritten {rewritten}, truncated {truncated}",
        after_rewrite.len(),
        after_truncation.len(),
        after_gap.len()
    );
    for reason in &after_gap {
        println!("[{backend:?}]   flag: {reason}");
    }
    assert_eq!(clean, 0);
    assert_eq!(after_rewrite.len(), 1);
    assert!(after_rewrite[0].starts_with("audit_rewritten: row 5 "));
    assert_eq!(after_same, 1);
    assert_eq!(after_truncation.len(), 2);
    assert!(after_truncation[1].starts_with("audit_truncated: "));
    assert_eq!(after_gap.len(), 4);
    assert!(after_gap[2].starts_with("audit_truncated: audit rows 6 to 6 are missing"));
    assert!(after_gap[3].starts_with("audit_rewritten: ") && after_gap[3].contains("row 6"));
    assert_eq!((rewritten, truncated), (2, 2));
    // The flags are for people: every batch's event applied.
    assert_eq!(acks, (1..=6).collect::<Vec<u64>>());
    let queue = h.hq.flag_queue().await.unwrap();
    assert_eq!(queue.iter().filter(|f| f.state == "open").count(), 4);
}

async fn untouched(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let max = tillcard_protocol::wire::MAX_AUDIT_LINKS as u64;
    // A terminal with more rows than one batch carries sends the oldest,
    // then the rest from where head office acknowledged.
    let mut acked_head = 0;
    let mut sent = 0;
    for round in 0..4u64 {
        let rows = (round + 1) * (max + 40);
        let from = acked_head.max(1);
        let to = rows.min(from + max - 1);
        let piece = links(from, to, 1);
        sent += piece.len();
        sale_with(&h, &mut till, chain(piece, rows)).await;
        acked_head = to;
    }
    // A terminal from before (no chain) changes nothing.
    let (event, _) = till.walk_in_sale(10);
    let (s, _) = h.upload(&till, vec![event]).await;
    assert_eq!(s, StatusCode::OK);
    sale_with(
        &h,
        &mut till,
        chain(links(acked_head, acked_head + 1, 1), acked_head + 1),
    )
    .await;
    let flags = flags(&h).await;
    println!(
        "[{backend:?}] untouched: 6 batches, {sent} links sent in pieces of at most {max}, head office's head at row {acked_head}; flags {}",
        flags.len()
    );
    assert!(flags.is_empty(), "{flags:?}");
    // More links than the bound, or links out of order, are refused.
    let (event, _) = till.walk_in_sale(10);
    let (s, _) = h
        .upload_with_audit(
            &till,
            vec![event.clone()],
            chain(links(1, max + 1, 1), max + 1),
        )
        .await;
    let mut backwards = links(1, 2, 1);
    backwards.reverse();
    let (s2, _) = h
        .upload_with_audit(&till, vec![event], chain(backwards, 2))
        .await;
    println!(
        "[{backend:?}] {} links: {s}; links out of order: {s2}",
        max + 1
    );
    assert_eq!((s, s2), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
}
