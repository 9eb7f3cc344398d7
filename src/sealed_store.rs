//! The one place the terminal's store is opened with its sealed key: the
//! key vault of the configuration ([`crate::store_key`]) is asked for the
//! store key (made and sealed at the first start), the store is opened
//! with it (a plain store from the version before encryption is encrypted
//! then), and at a registration with head office the key is replaced
//! ([`rekey`]).

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::TerminalConfig;
use crate::saved_files::SavedFiles;
use crate::store::handle::StoreHandle;
use crate::store::{PinHashCost, Store, StoreConfig, StoreError};
use crate::store_key::{KeyError, KeyVault, RotateError};

/// The terminal's id in its own store before head office gives it one.
const LOCAL_TERMINAL_ID: &str = "T-LOCAL";

/// Why the store could not be opened with the machine's key.
#[derive(Debug, thiserror::Error)]
pub enum SealedStoreError {
    /// The store key could not be unsealed (or made and sealed).
    #[error("The terminal's store key could not be opened: {0}. Nothing was changed.")]
    Key(#[from] KeyError),
    /// The store refused to open.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the store of `config` with its sealed key (PINs hashed at
/// `pin_cost`). Returns the store and the vault (kept to re-key at
/// registration).
pub fn open(
    config: &TerminalConfig,
    clock: Arc<dyn Clock>,
    pin_cost: PinHashCost,
) -> Result<(Store, Arc<KeyVault>), SealedStoreError> {
    let vault = config.key_vault();
    let candidates = vault.candidates()?;
    let path = config.store_path();
    let mut last = None;
    for key in candidates {
        let store_config = StoreConfig {
            pin_cost,
            ..StoreConfig::new(LOCAL_TERMINAL_ID, key.clone())
        };
        match Store::open(&path, store_config, clock.clone()) {
            Ok(store) => {
                vault.confirm(&key)?;
                tracing::info!(
                    sealing = vault.sealing(),
                    "store opened with its sealed key"
                );
                return Ok((store, Arc::new(vault)));
            }
            Err(e @ StoreError::WrongKey { .. }) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.unwrap_or(StoreError::WrongKey { plain: false }).into())
}

/// Replaces the store key after a registration with head office: a new
/// random key, sealed, the store re-encrypted with it on its thread and
/// the saved files re-sealed. Blocks (the TPM and the re-encryption): call
/// it off the UI thread.
pub fn rekey(vault: &KeyVault, store: &StoreHandle, files: SavedFiles) -> Result<(), String> {
    let result = vault.rotate(|key| {
        let key = key.clone();
        store.call(move |s| {
            let old = s.files_key();
            s.rekey(&key)?;
            let (resealed, left) = files.reseal(&old, &s.files_key());
            tracing::info!(resealed, left, "saved files re-sealed");
            Ok(())
        })
    });
    match result {
        Ok(_) => {
            tracing::info!(
                sealing = vault.sealing(),
                "new store key after registration"
            );
            Ok(())
        }
        Err(RotateError::Key(e)) => Err(e.to_string()),
        Err(RotateError::Rekey(e)) => Err(e.to_string()),
    }
}
