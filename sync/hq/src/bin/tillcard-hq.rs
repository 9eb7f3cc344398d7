//! `tillcard-hq`: head office. With no subcommand (or `serve`) it serves;
//! the other subcommands run the back office from the command line
//! (`tillcard_hq::cli`: stores, staff, enrollment codes, terminals, users,
//! the audit trail) and print for scripts on standard output. `--config
//! FILE` (or `TILLCARD_HQ_CONFIG`) reads a TOML configuration; environment
//! variables override it (see `tillcard_hq::config`).

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use tillcard_hq::cli::{Cli, Command, run_office};
use tillcard_hq::config::{Config, open_standby, open_store};
use tillcard_hq::jobs::{self, JobsConfig};
use tillcard_hq::service::{self, Hq};

/// How often the daily jobs look for a day owed (a run starts at most
/// this long after its moment).
const JOBS_TICK: std::time::Duration = std::time::Duration::from_secs(60);

// See the `tikv-jemallocator` dependency in Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref(), &|name| std::env::var(name).ok())
        .context("reading the configuration")?;
    tillcard_protocol::logging::init("tillcard-hq", &config.log).context("starting the logs")?;
    // Before the database: without its personal-data key head office does
    // not start (nothing personal could be stored or read).
    let personal = config
        .personal_keys()
        .map_err(anyhow::Error::msg)
        .context("reading the personal-data key")?;
    let store = open_store(&config).await.context("opening the database")?;
    let jobs = JobsConfig {
        time_of_day: config.jobs_at,
        scope_days: config.scope_days,
        ..JobsConfig::default()
    };
    let mut hq = Hq::open_with(store, config.admin_token.clone(), personal)
        .await
        .context("starting head office")?
        .with_jobs(jobs)
        .with_metrics_token(config.metrics_token.clone())
        .with_trusted_proxies(config.trusted_proxies.clone());
    if config.poll_cache {
        hq.set_poll_bounds(service::poll_cache::PollBounds::DEFAULT);
    }
    if let Some(standby) = open_standby(&config).context("the standby to read from")? {
        hq = hq.with_standby(standby);
    }
    let hq = Arc::new(hq);
    match cli.command {
        None | Some(Command::Serve) => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            tracing::info!(addr = %config.listen, "tillcard-hq listening");
            // The daily jobs run beside the service and stop with it.
            let (stop_jobs, jobs_stopped) = tokio::sync::oneshot::channel::<()>();
            let scheduler = tokio::spawn(jobs::run_scheduler(
                Arc::clone(&hq),
                jobs,
                Arc::new(|| chrono::Utc::now().fixed_offset()),
                JOBS_TICK,
                async {
                    let _ = jobs_stopped.await;
                },
            ));
            // On SIGTERM: `/health` says draining for `drain` while requests
            // are still served, then the server stops accepting and
            // finishes what is in flight.
            let drain = config.drain;
            let draining = Arc::clone(&hq);
            let shutdown = async move {
                shutdown_signal().await;
                draining.start_draining();
                if !drain.is_zero() {
                    tracing::info!(seconds = drain.as_secs(), "draining before stopping");
                    tokio::time::sleep(drain).await;
                }
            };
            let served = service::serve(listener, hq, shutdown).await;
            let _ = stop_jobs.send(());
            let _ = scheduler.await;
            served.context("serving")?;
            tracing::info!("tillcard-hq stopped");
        }
        Some(command) => {
            let mut stdin = std::io::stdin().lock();
            let lines = run_office(&hq, command, cli.json, &mut stdin).await?;
            print_lines(&lines)?;
        }
    }
    Ok(())
}

/// Prints the command's answer. A reader that stops early (`| head -n 1`)
/// is not an error: the command's work is already committed, and `println!`
/// would panic on the closed pipe (Rust ignores SIGPIPE).
fn print_lines(lines: &[String]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in lines {
        match writeln!(out, "{line}") {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e).context("writing to standard output"),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(()),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
