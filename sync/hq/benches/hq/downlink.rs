//! `hq.downlink_*`: what terminals pulling the change log cost head office
//! (issue 23). One terminal of one store uploads a store's sales (300
//! members, 20 visits each: 6,000 events in 300 batches of 20, so each
//! member is on the log 20 times); then other terminals of the same store
//! pull the whole log from an empty cursor, one after another, as a new
//! till or one back from a long offline spell does. (Terminals of other
//! stores are sent none of these members since the downlink is scoped,
//! `store::scope`: until 2026-12-07 the pullers were of other stores, and
//! after scoping that measured an empty pull.) Printed: the CPU of this process
//! (head office and the pulling client's decoding) for the first
//! terminal's pull and the mean of the others', and the member snapshots
//! each pull received. SQLite backend, one process.

use std::sync::Arc;

use tillcard_hq::loadgen::{self, Mix};
use tillcard_protocol::client;

use super::{ADMIN, cpu_seconds, line, start_hq};

pub(super) async fn downlink_part(quick: bool) {
    let pullers = if quick { 5 } else { 20 };
    let (members, batches, events) = (300, 300, 20);
    let tmp = tempfile::tempdir().unwrap();
    let store =
        tillcard_hq::store::sqlite::SqliteStore::open(&tmp.path().join("downlink.sqlite")).unwrap();
    let (base, stop) = start_hq(Arc::new(store)).await;
    let http = reqwest::Client::new();
    let mut creds = loadgen::provision_at_stores(&http, &base, ADMIN, 1 + pullers, 1)
        .await
        .unwrap();
    let seller = creds.remove(0);
    let start = chrono::Utc::now().fixed_offset();
    let mut till = loadgen::Till::new(seller.clone(), members).with_mix(Mix::Sales);
    let work = vec![(
        seller,
        (0..batches)
            .map(|_| till.batch(events, start).unwrap())
            .collect(),
    )];
    let report = loadgen::run_encoded(&http, &base, loadgen::encode(work)).await;
    assert_eq!(report.errors, 0);

    let mut cpu_ms = Vec::new();
    let mut sent = Vec::new();
    for terminal in &creds {
        let before = cpu_seconds(0).0;
        let (mut cursor, mut snapshots) = (None::<String>, 0usize);
        loop {
            let request =
                terminal.changes_request(cursor.as_deref(), chrono::Utc::now().timestamp());
            let body = loadgen::send(&http, &base, request).await.unwrap();
            let page = client::decode_page(&body).unwrap();
            snapshots += page
                .changes
                .iter()
                .filter(|c| matches!(c, tillcard_protocol::wire::Change::Member { .. }))
                .count();
            cursor = Some(page.cursor.clone());
            if !page.more {
                break;
            }
        }
        cpu_ms.push((cpu_seconds(0).0 - before) * 1000.0);
        sent.push(snapshots);
    }
    let _ = stop.send(());
    assert!(
        sent.iter().all(|&n| n == members),
        "every till of the store is sent each member once: {sent:?}"
    );
    let further = &cpu_ms[1..];
    eprintln!(
        "downlink: {members} members x {} events on the log; {pullers} terminals pulled it whole, CPU ms each {:?}, member snapshots each {:?}",
        batches * events,
        cpu_ms.iter().map(|v| v.round()).collect::<Vec<_>>(),
        sent
    );
    line("hq.downlink_first_pull_cpu_ms", cpu_ms[0], "ms");
    line(
        "hq.downlink_further_pull_cpu_ms",
        further.iter().sum::<f64>() / further.len() as f64,
        "ms",
    );
    line(
        "hq.downlink_pull_member_snapshots",
        sent[0] as f64,
        "snapshots",
    );
}
