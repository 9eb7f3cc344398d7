//! `tillcard-hq`: head office. `tillcard-hq` serves; `tillcard-hq issue-code
//! --store S` prints a one-time terminal enrollment code for store S;
//! `tillcard-hq add-user NAME` creates a dashboard user (or sets a new
//! password), reading the password from the first line of standard input.
//! `--config FILE` (or `TILLCARD_HQ_CONFIG`) reads a TOML configuration;
//! environment variables override it (see `tillcard_hq::config`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tillcard_hq::config::{Config, open_store};
use tillcard_hq::service::{self, Hq};

// See the `tikv-jemallocator` dependency in Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Takes `--config FILE` / `--config=FILE` out of `args`.
fn take_config_arg(args: &mut Vec<String>) -> anyhow::Result<Option<PathBuf>> {
    let Some(i) = args
        .iter()
        .position(|a| a == "--config" || a.starts_with("--config="))
    else {
        return Ok(None);
    };
    let arg = args.remove(i);
    if let Some(path) = arg.strip_prefix("--config=") {
        return Ok(Some(path.into()));
    }
    if i < args.len() {
        return Ok(Some(args.remove(i).into()));
    }
    anyhow::bail!("--config needs a file name")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let config_file = take_config_arg(&mut args)?;
    let config = Config::load(config_file.as_deref(), &|name| std::env::var(name).ok())
        .context("reading the configuration")?;
    tillcard_protocol::logging::init("tillcard-hq", &config.log).context("starting the logs")?;
    let store = open_store(&config).await.context("opening the database")?;
    let hq = Arc::new(
        Hq::open(store, config.admin_token.clone())
            .await
            .context("starting head office")?,
    );
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
        ["add-user", name] => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            hq.add_user(name, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("dashboard user {name} saved");
        }
        _ => anyhow::bail!(
            "usage: tillcard-hq [--config FILE] [serve | issue-code --store STORE | add-user NAME (password on stdin)]"
        ),
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
