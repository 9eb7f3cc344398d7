//! The terminal without its window, for installers and scripts: register
//! with head office using the store's enrollment code (the first
//! registration only; a registered terminal registers again from the
//! settings screen with a manager's PIN) and sync once. `tillcard
//! register CODE` and `tillcard sync` run these on the configuration's
//! store and head office, so a till installed from the package can be
//! brought up over SSH before anyone touches its screen.

use std::sync::Arc;

use anyhow::Context as _;

use crate::clock::{Clock, SystemClock};
use crate::config::TerminalConfig;
use crate::store::PinHashCost;
use crate::store::handle::StoreHandle;
use crate::store_key::KeyVault;
use crate::uplink::{Uplink, UplinkConfig, UplinkStatus};

/// What a headless registration or sync leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// The terminal's id at head office.
    pub terminal_id: String,
    /// Clerks who can sign in or set their PIN here.
    pub clerks: usize,
    /// Events still waiting for head office.
    pub pending: u64,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the network runtime")
}

fn open(
    config: &TerminalConfig,
    corrected: &Arc<crate::server_time::CorrectedClock>,
) -> anyhow::Result<(StoreHandle, String, Arc<KeyVault>)> {
    let clock: Arc<dyn Clock> = corrected.clone();
    anyhow::ensure!(
        !config.demo,
        "the demo terminal does not register with head office: use a configuration file"
    );
    let url = config
        .head_office_url()
        .context("the configuration names no head office (head_office.url)")?
        .to_owned();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let (store, vault) = crate::sealed_store::open(config, clock, PinHashCost::PRODUCTION)
        .context("opening the terminal's store")?;
    if let Some(offset_ms) = store.clock_offset()? {
        corrected.restore_offset(offset_ms);
    }
    Ok((StoreHandle::spawn(store)?, url, vault))
}

async fn sync_and_count(
    handle: &StoreHandle,
    url: &str,
    clock: Arc<dyn Clock>,
    config: &TerminalConfig,
) -> anyhow::Result<Synced> {
    let (status, _) = tokio::sync::watch::channel(UplinkStatus::default());
    let uplink = Uplink::new(
        handle.clone(),
        clock,
        UplinkConfig {
            outbox_retention: config.head_office.outbox_retention(),
            ..UplinkConfig::new(url.to_owned())
        },
        status,
    )?;
    uplink.sync_until_idle().await?;
    let handle = handle.clone();
    let synced = tokio::task::spawn_blocking(move || {
        handle.call(|s| {
            Ok(Synced {
                terminal_id: s
                    .credentials()
                    .map(|c| c.terminal_id.to_string())
                    .unwrap_or_default(),
                clerks: s.clerk_list()?.len(),
                pending: s.outbox_status()?.pending,
            })
        })
    })
    .await??;
    Ok(synced)
}

/// Registers with `code` and syncs once (the store's staff, program and
/// members come down). `code` may be the enrollment QR's text (`TCE1:...`,
/// pasted): its code is used and its certificate pin trusted alone; its
/// address must be the configuration's.
pub fn register(config: &TerminalConfig, code: &str) -> anyhow::Result<Synced> {
    use tillcard_protocol::enrollment::{EnrollmentText, PREFIX};
    let corrected = crate::server_time::CorrectedClock::new(Arc::new(SystemClock::new()));
    let clock: Arc<dyn Clock> = corrected.clone();
    let (handle, url, vault) = open(config, &corrected)?;
    let (code, pin) = if code.trim().starts_with(PREFIX) {
        let text = EnrollmentText::parse(code)?;
        anyhow::ensure!(
            text.url.eq_ignore_ascii_case(url.trim_end_matches('/')),
            "the enrollment code is for head office {}, the configuration names {url}",
            text.url
        );
        (text.code, Some(text.pin))
    } else {
        (code.trim().to_owned(), None)
    };
    runtime()?.block_on(async {
        crate::uplink::provision_pinned(
            &handle,
            &url,
            &code,
            config.head_office_store().map(str::to_owned),
            None,
            pin,
        )
        .await
        .context("registering with head office")?;
        // Registered: a new store key (docs/STORE.md, Store key).
        let rekey_handle = handle.clone();
        let files = crate::saved_files::SavedFiles::of(config);
        tokio::task::spawn_blocking(move || {
            crate::sealed_store::rekey(&vault, &rekey_handle, files)
        })
        .await?
        .map_err(|e| anyhow::anyhow!("registered, but the store key was not renewed: {e}"))?;
        sync_and_count(&handle, &url, clock, config).await
    })
}

/// Syncs once: the waiting events up, head office's changes down.
pub fn sync(config: &TerminalConfig) -> anyhow::Result<Synced> {
    let corrected = crate::server_time::CorrectedClock::new(Arc::new(SystemClock::new()));
    let clock: Arc<dyn Clock> = corrected.clone();
    let (handle, url, _) = open(config, &corrected)?;
    runtime()?.block_on(sync_and_count(&handle, &url, clock, config))
}
