//! `tillcard-loadgen`: simulates N terminals (provisioned through the admin
//! API) uploading signed batches concurrently to a running `tillcard-hq`.
//!
//! `tillcard-loadgen [--url http://127.0.0.1:8640] [--terminals 1000]
//! [--batches 5] [--events 20] [--members 1] [--phases 1] [--mix top-ups]`;
//! the admin token comes from `TILLCARD_HQ_ADMIN_TOKEN`.
//!
//! `--members M` deals each terminal's events in turn to M members (a
//! batch of 100 events with M = 100 touches 100 members, as a store's day
//! does); `--phases P` uploads the batches in P phases one after the other
//! and prints each phase's rate, which shows how ingest moves as members'
//! histories grow. `--mix sales` books sales (points, spend) with a top-up
//! every tenth event, an hour apart, instead of top-ups a second apart.

use anyhow::Context as _;
use tillcard_hq::loadgen;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut url = "http://127.0.0.1:8640".to_string();
    let (mut terminals, mut batches, mut events) = (1000usize, 5usize, 20usize);
    let (mut members, mut phases) = (1usize, 1usize);
    let mut mix = loadgen::Mix::TopUps;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = value,
            "--terminals" => terminals = value.parse()?,
            "--batches" => batches = value.parse()?,
            "--events" => events = value.parse()?,
            "--members" => members = value.parse()?,
            "--phases" => phases = value.parse()?,
            "--mix" => {
                mix = match value.as_str() {
                    "top-ups" => loadgen::Mix::TopUps,
                    "sales" => loadgen::Mix::Sales,
                    _ => anyhow::bail!("--mix is top-ups or sales"),
                }
            }
            _ => anyhow::bail!("unknown flag {flag}"),
        }
    }
    let token = std::env::var("TILLCARD_HQ_ADMIN_TOKEN").context("set TILLCARD_HQ_ADMIN_TOKEN")?;
    let client = reqwest::Client::new();
    let creds = loadgen::provision(&client, &url, &token, terminals)
        .await
        .context("provisioning")?;
    let start = chrono::Utc::now().fixed_offset();
    let mut tills: Vec<loadgen::Till> = creds
        .into_iter()
        .map(|c| loadgen::Till::new(c, members).with_mix(mix))
        .collect();
    let phases = phases.clamp(1, batches.max(1));
    for phase in 0..phases {
        // Batches of this phase: an even share, the remainder in the last.
        let share = batches / phases
            + if phase + 1 == phases {
                batches % phases
            } else {
                0
            };
        let mut work = Vec::with_capacity(tills.len());
        for till in &mut tills {
            let b = (0..share)
                .map(|_| till.batch(events, start))
                .collect::<Result<Vec<_>, _>>()
                .context("making batches")?;
            work.push((till.credentials().clone(), b));
        }
        let r = loadgen::run(&client, &url, work).await;
        println!(
            "phase {}/{phases}: terminals {terminals}, members {members} each, batches acked {}, events {}, errors {}, {:.1} s, {:.0} events/s, {:.1} batches/s, ack p50 {:.1} ms, p99 {:.1} ms, bytes sent {} (uncompressed {})",
            phase + 1,
            r.batches,
            r.events,
            r.errors,
            r.elapsed.as_secs_f64(),
            r.events as f64 / r.elapsed.as_secs_f64().max(1e-9),
            r.batches_per_s(),
            r.quantile_ms(0.5),
            r.quantile_ms(0.99),
            r.bytes_sent,
            r.bytes_uncompressed
        );
    }
    Ok(())
}
