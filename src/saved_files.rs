//! The files the terminal saves beside its store: a member's card as a PNG
//! (`cards/<member>.png`, at enrollment and when a re-issued card is
//! handed over) and receipts as text (`receipts/<sale>.txt`). Both carry a
//! member's masked name and phone, so an erasure from head office reaches
//! them: the store queues them in the erasure's transaction
//! ([`crate::store::erasure`]) and [`SavedFiles::delete_erased`] deletes
//! them after it commits, here at the edge, after each downlink pass and
//! at every start.
//!
//! Both are written encrypted ([`SavedFiles::write_sealed`]):
//! XChaCha20-Poly1305 under a key derived from the store key
//! ([`crate::store::Store::files_key`]), the file's name bound in as
//! associated data, so a copy of the data directory shows neither a card
//! nor a receipt. `tillcard saved-file FILE` prints one back on this
//! machine. A new store key re-seals them ([`SavedFiles::reseal`]).

use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

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

    /// Writes `bytes` to `path` encrypted under `key` (a temporary file
    /// renamed into place).
    pub fn write_sealed(path: &Path, key: &[u8; 32], bytes: &[u8]) -> std::io::Result<()> {
        let name = file_name(path);
        let cipher = XChaCha20Poly1305::new(key.into());
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: bytes,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| std::io::Error::other("encryption failed"))?;
        let mut out = SEALED_MAGIC.to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, &out)?;
        std::fs::rename(&tmp, path)
    }

    /// The contents of a file written by [`SavedFiles::write_sealed`].
    pub fn read_sealed(path: &Path, key: &[u8; 32]) -> std::io::Result<Vec<u8>> {
        let data = std::fs::read(path)?;
        let invalid = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        let rest = data
            .strip_prefix(SEALED_MAGIC.as_slice())
            .ok_or_else(|| invalid("not a sealed Tillcard file"))?;
        if rest.len() < 24 {
            return Err(invalid("too short"));
        }
        let (nonce, sealed) = rest.split_at(24);
        XChaCha20Poly1305::new(key.into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: file_name(path).as_bytes(),
                },
            )
            .map_err(|_| invalid("this machine's store key does not open it"))
    }

    /// Saves a member's card (its QR code as a PNG), sealed.
    pub fn save_card(&self, key: &[u8; 32], member: MemberId, card: &str) -> Option<PathBuf> {
        let code = crate::scan::card::card_qr(card).ok()?;
        let mut png = Vec::new();
        crate::scan::card::render_luma(&code, 8)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .ok()?;
        let path = self.card(member);
        Self::write_sealed(&path, key, &png).ok()?;
        Some(path)
    }

    /// Saves a receipt's text, sealed.
    pub fn save_receipt(&self, key: &[u8; 32], sale: &str, text: &str) -> std::io::Result<PathBuf> {
        let path = self.receipt(sale);
        Self::write_sealed(&path, key, text.as_bytes())?;
        Ok(path)
    }

    /// Re-encrypts every saved file from `old` to `new` (a new store key).
    /// Returns the files re-sealed; one that `old` does not open is left
    /// as it is and counted in the second number.
    pub fn reseal(&self, old: &[u8; 32], new: &[u8; 32]) -> (usize, usize) {
        let (mut done, mut left) = (0, 0);
        for dir in [&self.cards, &self.receipts] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for path in entries.flatten().map(|e| e.path()) {
                let moved = Self::read_sealed(&path, old)
                    .and_then(|bytes| Self::write_sealed(&path, new, &bytes));
                match moved {
                    Ok(()) => done += 1,
                    Err(e) => {
                        tracing::warn!(error = %e, "a saved file was not re-sealed under the new store key");
                        left += 1;
                    }
                }
            }
        }
        (done, left)
    }
}

/// The first bytes of a sealed saved file.
const SEALED_MAGIC: &[u8; 8] = b"TCSAVED1";

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
