//! `tillcard-hq`: head office. `tillcard-hq` serves; `tillcard-hq issue-code
//! --store S` prints a one-time terminal enrollment code for store S.

use std::sync::Arc;

use anyhow::Context as _;
use tillcard_sync::config::{Config, open_store};
use tillcard_sync::service::{self, Hq};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = Config::from_env().map_err(anyhow::Error::msg)?;
    let store = open_store(&config.database)
        .await
        .context("opening the database")?;
    let hq = Arc::new(
        Hq::open(store, config.admin_token.clone())
            .await
            .context("starting head office")?,
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            tracing::info!(addr = %config.listen, "tillcard-hq listening");
            service::serve(listener, hq, shutdown_signal())
                .await
                .context("serving")?;
            tracing::info!("tillcard-hq stopped");
        }
        ["issue-code", "--store", store] => {
            println!(
                "{}",
                hq.issue_code(store)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            );
        }
        _ => anyhow::bail!("usage: tillcard-hq [serve] | tillcard-hq issue-code --store STORE"),
    }
    Ok(())
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
