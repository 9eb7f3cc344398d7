//! The files the terminal saves beside its store: a member's card as a PNG
//! (`cards/<member>.png`, at enrollment and when a re-issued card is
//! handed over) and receipts as text (`receipts/<sale>.txt`). Both carry a
//! member's masked name and phone, so an erasure from head office reaches
//! them: the store queues them in the erasure's transaction
//! ([`crate::store::erasure`]) and [`SavedFiles::delete_erased`] deletes
//! them after it commits, here at the edge, after each downlink pass and
//! at every start.

use std::path::{Path, PathBuf};

use tillcard_rules::MemberId;

use crate::config::TerminalConfig;
use crate::store::{Store, StoreError};

/// Where the terminal saves cards and receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFiles {
    cards: PathBuf,
    receipts: PathBuf,
}

impl SavedFiles {
    /// The folders of `config`'s data directory.
    pub fn of(config: &TerminalConfig) -> SavedFiles {
        SavedFiles {
            cards: config.cards_dir(),
            receipts: config.receipts_dir(),
        }
    }

    /// The folder of saved cards.
    pub fn cards(&self) -> &Path {
        &self.cards
    }

    /// A member's saved card.
    pub fn card(&self, member: MemberId) -> PathBuf {
        self.cards.join(format!("{}.png", member.0))
    }

    /// The folder of saved receipts.
    pub fn receipts(&self) -> &Path {
        &self.receipts
    }

    /// The receipt saved for an action (a sale) by its id.
    pub fn receipt(&self, source: &str) -> PathBuf {
        self.receipts.join(format!("{source}.txt"))
    }

    /// Deletes the saved files of every erased member the store has
    /// queued; a member leaves the queue once none of their files is left.
    /// A file that cannot be deleted (other than one already gone) keeps
    /// its member queued for the next pass. Returns the files deleted.
    pub fn delete_erased(&self, store: &mut Store) -> Result<usize, StoreError> {
        let mut deleted = 0;
        'members: for erased in store.erased_files()? {
            // Only ids read as UUIDs name a file: nothing else can.
            let receipts = erased
                .sources
                .iter()
                .filter_map(|s| uuid::Uuid::parse_str(s).ok())
                .map(|id| self.receipt(&id.to_string()));
            let paths = std::iter::once(self.card(erased.member)).chain(receipts);
            for path in paths {
                match std::fs::remove_file(&path) {
                    Ok(()) => deleted += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(member = %erased.member, error = %e, "an erased member's saved file could not be deleted; tried again later");
                        continue 'members;
                    }
                }
            }
            store.erased_files_deleted(erased.member)?;
        }
        Ok(deleted)
    }
}
