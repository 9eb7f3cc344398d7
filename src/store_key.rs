//! The store key: the random 256-bit key the terminal's SQLCipher store is
//! encrypted with (docs/STORE.md, docs/THREAT-MODEL.md), sealed to the
//! machine. The key itself is never written anywhere in the clear; what is
//! written is a *sealed* copy in the key directory (`key_dir`, outside the
//! data directory), which only this machine can open:
//!
//! - [`Tpm2Sealer`]: a TPM2 sealed-data object (tpm2-tools:
//!   `tpm2_createprimary` + `tpm2_create` to seal, `tpm2_load` +
//!   `tpm2_unseal` to open). The blob is the object's public and private
//!   parts; the private part is encrypted by the TPM's storage hierarchy,
//!   so the blob is useless on any other TPM (or without one).
//! - [`HostSealer`]: XChaCha20-Poly1305 with a host key file (`host.key`,
//!   0600) in the key directory. Weaker: whoever copies the key directory
//!   as well as the data directory has the store (docs/THREAT-MODEL.md).
//!
//! [`KeyVault`] keeps the sealed key file (`store-key.sealed`) and makes a
//! new key on re-provisioning ([`KeyVault::rotate`]): the new key is sealed
//! to `store-key.next` first, the store is re-keyed, then `next` replaces
//! the current file; a stop in between leaves both, and the start tries
//! both ([`KeyVault::candidates`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

/// The store's 32-byte key. Wiped from memory when dropped; its `Debug`
/// shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl Drop for StoreKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    /// A new random key from the OS.
    pub fn generate() -> Result<StoreKey, KeyError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(StoreKey(key))
    }

    /// A key from its bytes (tests, tools).
    pub fn from_bytes(bytes: [u8; 32]) -> StoreKey {
        StoreKey(bytes)
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// SQLCipher's raw-key literal, `x'<64 hex digits>'`: with a raw key
    /// SQLCipher skips its password KDF (the key is already random).
    pub fn sql_literal(&self) -> String {
        let mut text = String::with_capacity(67);
        text.push_str("x'");
        for b in self.0 {
            text.push_str(&format!("{b:02x}"));
        }
        text.push('\'');
        text
    }

    /// A key for another purpose derived from this one (HMAC-SHA256 of the
    /// purpose's name), e.g. the saved files' key: never the store key itself.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            // HMAC takes keys of any length: not reached.
            return [0u8; 32];
        };
        mac.update(b"tillcard/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Why the store key could not be sealed or opened. Worded for the person
/// installing or supporting the till; never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No randomness from the OS.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// Reading or writing the key directory failed.
    #[error("the store key directory {path} cannot be used: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TPM (or tpm2-tools) failed.
    #[error("the TPM could not {step}: {detail}")]
    Tpm {
        /// What was being done.
        step: &'static str,
        /// What the tool said.
        detail: String,
    },
    /// A sealed blob that this sealer cannot open (another machine's, or
    /// damaged).
    #[error(
        "the sealed store key in {path} cannot be opened on this machine ({detail}): it belongs to \
         another machine or was damaged"
    )]
    Unseal {
        /// The sealed file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// Seals a store key to this machine and opens it again.
pub trait Sealer: Send + Sync {
    /// `tpm2` or `host`.
    fn name(&self) -> &'static str;
    /// The sealed form of `key` (safe to write to disk).
    fn seal(&self, key: &StoreKey) -> Result<Vec<u8>, KeyError>;
    /// The key back from its sealed form.
    fn unseal(&self, blob: &[u8]) -> Result<StoreKey, String>;
}

/// Which sealer the configuration asks for (`key_sealing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sealing {
    /// The TPM2 (`/dev/tpmrm0`, or the TCTI named by `TPM2TOOLS_TCTI`).
    Tpm2,
    /// A host key file in the key directory (weaker).
    Host,
}

impl Sealing {
    /// The default: the TPM when the machine has one, else the host key.
    pub fn detect() -> Sealing {
        if Path::new("/dev/tpmrm0").exists() {
            Sealing::Tpm2
        } else {
            Sealing::Host
        }
    }
}

// ---------------------------------------------------------------------------
// Host key.

/// Seals with XChaCha20-Poly1305 under a host key file (created 0600 on
/// first use).
#[derive(Debug, Clone)]
pub struct HostSealer {
    key_file: PathBuf,
}

const HOST_MAGIC: &[u8; 8] = b"TCHOST01";

impl HostSealer {
    /// The sealer with its host key at `key_file`.
    pub fn new(key_file: PathBuf) -> HostSealer {
        HostSealer { key_file }
    }

    fn host_key(&self, create: bool) -> Result<chacha20poly1305::Key, KeyError> {
        let io = |source| KeyError::Io {
            path: self.key_file.clone(),
            source,
        };
        match std::fs::read(&self.key_file) {
            Ok(bytes) if bytes.len() == 32 => Ok(*chacha20poly1305::Key::from_slice(&bytes)),
            Ok(_) => Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the host key file is not 32 bytes",
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key = StoreKey::generate()?;
                write_private(&self.key_file, key.bytes()).map_err(io)?;
                Ok(*chacha20poly1305::Key::from_slice(key.bytes()))
            }
            Err(e) => Err(io(e)),
        }
    }
}

impl Sealer for HostSealer {
    fn name(&self) -> &'static str {
        "host"
    }

    fn seal(&self, key: &StoreKey) -> Result<Vec<u8>, KeyError> {
        let cipher = XChaCha20Poly1305::new(&self.host_key(true)?);
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), key.bytes().as_slice())
            .map_err(|_| KeyError::Random("encryption failed".into()))?;
        let mut blob = HOST_MAGIC.to_vec();
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    fn unseal(&self, blob: &[u8]) -> Result<StoreKey, String> {
        let rest = blob
            .strip_prefix(HOST_MAGIC.as_slice())
            .ok_or("not sealed with a host key")?;
        if rest.len() < 24 {
            return Err("too short".into());
        }
        let (nonce, sealed) = rest.split_at(24);
        let cipher = XChaCha20Poly1305::new(&self.host_key(false).map_err(|e| e.to_string())?);
        let mut plain = cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| "the host key does not open it".to_owned())?;
        let key: Result<[u8; 32], _> = plain.as_slice().try_into();
        plain.zeroize();
        key.map(StoreKey).map_err(|_| "wrong length".into())
    }
}

// ---------------------------------------------------------------------------
// TPM2.

/// Seals to a TPM2 through tpm2-tools. The primary key is re-derived each
/// time from the owner hierarchy's seed (same template, same key), so
/// nothing but the sealed object's two parts is kept.
#[derive(Debug, Clone)]
pub struct Tpm2Sealer {
    tcti: String,
}

const TPM_MAGIC: &[u8; 8] = b"TCTPM201";

impl Tpm2Sealer {
    /// The sealer on `tcti` (`device:/dev/tpmrm0`,
    /// `swtpm:host=127.0.0.1,port=2321`).
    pub fn new(tcti: impl Into<String>) -> Tpm2Sealer {
        Tpm2Sealer { tcti: tcti.into() }
    }

    /// The machine's TPM: `TPM2TOOLS_TCTI` when set, else the kernel's
    /// resource manager.
    pub fn system() -> Tpm2Sealer {
        Tpm2Sealer::new(
            std::env::var("TPM2TOOLS_TCTI").unwrap_or_else(|_| "device:/dev/tpmrm0".into()),
        )
    }

    fn run(
        &self,
        step: &'static str,
        args: &[&std::ffi::OsStr],
        input: Option<&[u8]>,
    ) -> Result<Vec<u8>, KeyError> {
        let tool = args.first().ok_or(KeyError::Tpm {
            step,
            detail: "no tool".into(),
        })?;
        let mut child = Command::new(tool)
            .args(&args[1..])
            .env("TPM2TOOLS_TCTI", &self.tcti)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| KeyError::Tpm {
                step,
                detail: format!(
                    "{} cannot be run ({e}); install tpm2-tools",
                    tool.to_string_lossy()
                ),
            })?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(data).map_err(|e| KeyError::Tpm {
                step,
                detail: e.to_string(),
            })?;
        }
        let out = child.wait_with_output().map_err(|e| KeyError::Tpm {
            step,
            detail: e.to_string(),
        })?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(KeyError::Tpm {
                step,
                detail: String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("failed")
                    .trim()
                    .to_owned(),
            })
        }
    }

    /// Creates the primary key into `dir/primary.ctx`.
    fn primary(&self, dir: &Path) -> Result<PathBuf, KeyError> {
        let ctx = dir.join("primary.ctx");
        self.run(
            "create its primary key",
            &[
                "tpm2_createprimary".as_ref(),
                "-Q".as_ref(),
                "-C".as_ref(),
                "o".as_ref(),
                "-G".as_ref(),
                "ecc256".as_ref(),
                "-c".as_ref(),
                ctx.as_os_str(),
            ],
            None,
        )?;
        // The saved context stays usable; the loaded copy would take one
        // of the TPM's three transient slots.
        self.flush();
        Ok(ctx)
    }

    /// Frees the TPM's transient slots (a TPM without a resource manager,
    /// such as swtpm, keeps them until flushed).
    fn flush(&self) {
        let _ = self.run(
            "flush",
            &["tpm2_flushcontext".as_ref(), "-t".as_ref()],
            None,
        );
    }

    fn scratch(step: &'static str) -> Result<tempfile::TempDir, KeyError> {
        tempfile::Builder::new()
            .prefix("tillcard-tpm")
            .tempdir()
            .map_err(|e| KeyError::Tpm {
                step,
                detail: e.to_string(),
            })
    }

    fn read(path: &Path, step: &'static str) -> Result<Vec<u8>, KeyError> {
        std::fs::read(path).map_err(|e| KeyError::Tpm {
            step,
            detail: e.to_string(),
        })
    }
}

impl Sealer for Tpm2Sealer {
    fn name(&self) -> &'static str {
        "tpm2"
    }

    fn seal(&self, key: &StoreKey) -> Result<Vec<u8>, KeyError> {
        let dir = Self::scratch("seal")?;
        let result = (|| {
            let primary = self.primary(dir.path())?;
            let public = dir.path().join("seal.pub");
            let private = dir.path().join("seal.priv");
            // The key goes in on stdin: never through a file.
            self.run(
                "seal the store key",
                &[
                    "tpm2_create".as_ref(),
                    "-Q".as_ref(),
                    "-C".as_ref(),
                    primary.as_os_str(),
                    "-i".as_ref(),
                    "-".as_ref(),
                    "-u".as_ref(),
                    public.as_os_str(),
                    "-r".as_ref(),
                    private.as_os_str(),
                ],
                Some(key.bytes()),
            )?;
            let public = Self::read(&public, "seal the store key")?;
            let private = Self::read(&private, "seal the store key")?;
            let mut blob = TPM_MAGIC.to_vec();
            for part in [&public, &private] {
                let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
                blob.extend_from_slice(&len.to_be_bytes());
                blob.extend_from_slice(part);
            }
            Ok(blob)
        })();
        self.flush();
        result
    }

    fn unseal(&self, blob: &[u8]) -> Result<StoreKey, String> {
        let mut rest = blob
            .strip_prefix(TPM_MAGIC.as_slice())
            .ok_or("not sealed to a TPM")?;
        let mut parts = Vec::new();
        for _ in 0..2 {
            let (len, tail) = rest.split_at_checked(4).ok_or("too short")?;
            let len = u32::from_be_bytes(len.try_into().map_err(|_| "too short")?) as usize;
            let (part, tail) = tail.split_at_checked(len).ok_or("too short")?;
            parts.push(part);
            rest = tail;
        }
        let dir = Self::scratch("unseal").map_err(|e| e.to_string())?;
        let result = (|| {
            let primary = self.primary(dir.path())?;
            let public = dir.path().join("seal.pub");
            let private = dir.path().join("seal.priv");
            let object = dir.path().join("seal.ctx");
            for (path, part) in [(&public, parts[0]), (&private, parts[1])] {
                std::fs::write(path, part).map_err(|e| KeyError::Tpm {
                    step: "load the sealed key",
                    detail: e.to_string(),
                })?;
            }
            self.run(
                "load the sealed key",
                &[
                    "tpm2_load".as_ref(),
                    "-Q".as_ref(),
                    "-C".as_ref(),
                    primary.as_os_str(),
                    "-u".as_ref(),
                    public.as_os_str(),
                    "-r".as_ref(),
                    private.as_os_str(),
                    "-c".as_ref(),
                    object.as_os_str(),
                ],
                None,
            )?;
            self.flush();
            self.run(
                "unseal the store key",
                &["tpm2_unseal".as_ref(), "-c".as_ref(), object.as_os_str()],
                None,
            )
        })();
        self.flush();
        let mut plain = result.map_err(|e| e.to_string())?;
        let key: Result<[u8; 32], _> = plain.as_slice().try_into();
        plain.zeroize();
        key.map(StoreKey)
            .map_err(|_| "the TPM returned a key of the wrong length".into())
    }
}

// ---------------------------------------------------------------------------
// The key directory.

/// The sealed store key's files in the key directory, and the sealer
/// that opens them.
pub struct KeyVault {
    dir: PathBuf,
    sealer: Box<dyn Sealer>,
}

impl std::fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVault")
            .field("dir", &self.dir)
            .field("sealer", &self.sealer.name())
            .finish()
    }
}

const SEALED: &str = "store-key.sealed";
const NEXT: &str = "store-key.next";

impl KeyVault {
    /// The vault in `dir` sealing with `sealer`.
    pub fn new(dir: PathBuf, sealer: Box<dyn Sealer>) -> KeyVault {
        KeyVault { dir, sealer }
    }

    /// The vault the configuration names: `sealing` in `dir` (the host
    /// key, for [`Sealing::Host`], is `dir/host.key`).
    pub fn for_sealing(dir: PathBuf, sealing: Sealing) -> KeyVault {
        let sealer: Box<dyn Sealer> = match sealing {
            Sealing::Tpm2 => Box::new(Tpm2Sealer::system()),
            Sealing::Host => Box::new(HostSealer::new(dir.join("host.key"))),
        };
        KeyVault::new(dir, sealer)
    }

    /// The key directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `tpm2` or `host`.
    pub fn sealing(&self) -> &'static str {
        self.sealer.name()
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> KeyError {
        let path = path.to_owned();
        move |source| KeyError::Io { path, source }
    }

    fn open_file(&self, name: &str) -> Result<Option<StoreKey>, KeyError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(blob) => self
                .sealer
                .unseal(&blob)
                .map(Some)
                .map_err(|detail| KeyError::Unseal { path, detail }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(&path)(e)),
        }
    }

    fn write_sealed(&self, name: &str, key: &StoreKey) -> Result<(), KeyError> {
        std::fs::create_dir_all(&self.dir).map_err(self.io(&self.dir))?;
        restrict_dir(&self.dir).map_err(self.io(&self.dir))?;
        let blob = self.sealer.seal(key)?;
        let path = self.dir.join(name);
        write_private(&path, &blob).map_err(self.io(&path))
    }

    /// The keys the store may be encrypted with, current first: the sealed
    /// key (made and sealed now if there is none) and, after a rotation
    /// that stopped half-way, the next one.
    pub fn candidates(&self) -> Result<Vec<StoreKey>, KeyError> {
        let current = match self.open_file(SEALED)? {
            Some(key) => key,
            None => {
                let key = StoreKey::generate()?;
                self.write_sealed(SEALED, &key)?;
                key
            }
        };
        let mut keys = vec![current];
        if let Some(next) = self.open_file(NEXT)? {
            keys.push(next);
        }
        Ok(keys)
    }

    /// Records that the store was found under `key`: a rotation that
    /// stopped after re-keying is finished (`next` becomes current).
    pub fn confirm(&self, key: &StoreKey) -> Result<(), KeyError> {
        if self.open_file(SEALED)?.as_ref() == Some(key) {
            let next = self.dir.join(NEXT);
            match std::fs::remove_file(&next) {
                Ok(()) => sync_dir(&self.dir).map_err(self.io(&self.dir))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io(&next)(e)),
            }
            return Ok(());
        }
        if self.open_file(NEXT)?.as_ref() == Some(key) {
            self.promote_next()?;
        }
        Ok(())
    }

    fn promote_next(&self) -> Result<(), KeyError> {
        let next = self.dir.join(NEXT);
        let sealed = self.dir.join(SEALED);
        std::fs::rename(&next, &sealed).map_err(self.io(&sealed))?;
        sync_dir(&self.dir).map_err(self.io(&self.dir))
    }

    /// Makes a new key (re-provisioning): seals it as `next`, lets `rekey`
    /// re-encrypt the store with it, then makes it current. Returns the
    /// new key. If `rekey` fails, `next` is removed and the old key stays.
    pub fn rotate<E>(
        &self,
        rekey: impl FnOnce(&StoreKey) -> Result<(), E>,
    ) -> Result<StoreKey, RotateError<E>> {
        let key = StoreKey::generate()?;
        self.write_sealed(NEXT, &key)?;
        if let Err(e) = rekey(&key) {
            let _ = std::fs::remove_file(self.dir.join(NEXT));
            return Err(RotateError::Rekey(e));
        }
        self.promote_next()?;
        Ok(key)
    }
}

/// Why a rotation did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RotateError<E> {
    /// Sealing or the key files.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Re-keying the store.
    #[error("re-keying the store failed: {0}")]
    Rekey(E),
}

/// Writes `bytes` to `path` readable by the owner only, atomically (a
/// temporary file, fsync, rename, fsync of the folder).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)
}

fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_literal_is_the_key_in_hex_and_derived_keys_differ() {
        let key = StoreKey::from_bytes([0xab; 32]);
        assert_eq!(key.sql_literal(), format!("x'{}'", "ab".repeat(32)));
        assert_ne!(key.derive("saved-files"), *key.bytes());
        assert_ne!(key.derive("saved-files"), key.derive("other"));
        assert_eq!(format!("{key:?}"), "StoreKey(..)");
    }

    #[test]
    fn a_rotation_whose_rekey_fails_keeps_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyVault::for_sealing(dir.path().join("keys"), Sealing::Host);
        let first = vault.candidates().unwrap();
        assert_eq!(first.len(), 1);
        let failed = vault.rotate(|_| Err::<(), _>("no"));
        assert!(matches!(failed, Err(RotateError::Rekey("no"))));
        assert_eq!(vault.candidates().unwrap(), first);
        let new = vault.rotate(|_| Ok::<(), ()>(())).unwrap();
        assert_eq!(vault.candidates().unwrap(), vec![new]);
    }
}
