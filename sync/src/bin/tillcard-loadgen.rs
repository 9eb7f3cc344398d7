//! `tillcard-loadgen`: simulates N terminals (provisioned through the admin
//! API) uploading signed batches concurrently to a running `tillcard-hq`.
//!
//! `tillcard-loadgen [--url http://127.0.0.1:8640] [--terminals 1000]
//! [--batches 5] [--events 20]`; the admin token comes from
//! `TILLCARD_HQ_ADMIN_TOKEN`.

use anyhow::Context as _;
use tillcard_sync::loadgen;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut url = "http://127.0.0.1:8640".to_string();
    let (mut terminals, mut batches, mut events) = (1000usize, 5usize, 20usize);
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
            _ => anyhow::bail!("unknown flag {flag}"),
        }
    }
    let token = std::env::var("TILLCARD_HQ_ADMIN_TOKEN").context("set TILLCARD_HQ_ADMIN_TOKEN")?;
    let client = reqwest::Client::new();
    let creds = loadgen::provision(&client, &url, &token, terminals)
        .await
        .context("provisioning")?;
    let start = chrono::Utc::now().fixed_offset();
    let mut work = Vec::with_capacity(creds.len());
    for c in creds {
        let b = loadgen::make_batches(&c, batches, events, start).context("making batches")?;
        work.push((c, b));
    }
    let r = loadgen::run(&client, &url, work).await;
    println!(
        "terminals {terminals}, batches acked {}, events {}, errors {}, {:.1} s, {:.1} batches/s, ack p50 {:.1} ms, p99 {:.1} ms, bytes sent {} (uncompressed {})",
        r.batches,
        r.events,
        r.errors,
        r.elapsed.as_secs_f64(),
        r.batches_per_s(),
        r.quantile_ms(0.5),
        r.quantile_ms(0.99),
        r.bytes_sent,
        r.bytes_uncompressed
    );
    Ok(())
}
