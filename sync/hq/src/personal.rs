//! Members' personal data at rest at head office: envelope encryption.
//!
//! A member's phone, name and birthday are each stored encrypted
//! (XChaCha20-Poly1305, a fresh 24-byte nonce per value) under a data key of
//! that member's own (the DEK, 32 random bytes). The DEK is stored beside
//! the member in `member_keys`, wrapped (encrypted) under head office's
//! key-encryption key (the KEK) with the KEK's version. The KEK is never in
//! the database: it is read at start from a file or a systemd credential
//! ([`PersonalKeys::read_file`], see `config`). Each ciphertext is bound to
//! its member and field (the AEAD's associated data), so a value copied to
//! another member or field does not open.
//!
//! Lookups and duplicate detection never read a phone: they compare
//! `phone_key`, an HMAC-SHA256 of the phone's digits under a lookup key
//! derived from the KEK ([`PersonalKeys::phone_key`]).
//!
//! Erasure deletes the member's `member_keys` row with the ciphertexts: a
//! copy of the ciphertext kept elsewhere no longer opens, whatever key
//! one holds, once every copy of the wrapped DEK is gone (a backup holds
//! its own wrapped DEKs: see sync/README.md, "Personal data at head office").
//!
//! [`PersonalKeys::open`] is the one place personal fields are decrypted;
//! its callers are the pages that show them (member care, audited) and the
//! member snapshots terminals download (the phone's per-terminal lookup and
//! the birthday).

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use tillcard_rules::ids::MemberId;
use tillcard_rules::pricing::MonthDay;
use zeroize::Zeroizing;

/// Name of the systemd credential head office reads its KEK from by
/// default (`$CREDENTIALS_DIRECTORY/personal-key`; `LoadCredential=` or
/// `LoadCredentialEncrypted=` in the unit).
pub const CREDENTIAL_NAME: &str = "personal-key";

/// The fields kept encrypted, as named in the associated data.
const PHONE: &str = "phone";
const NAME: &str = "name";
const BIRTHDAY: &str = "birthday";
const NONCE_BYTES: usize = 24;

/// Why the KEK could not be read. Never quotes the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("cannot read the personal-data key {0}: {1}")]
    Read(String, std::io::Error),
    /// The file holds neither 32 raw bytes nor 32 bytes in base64.
    #[error(
        "the personal-data key {0} is not 32 bytes (raw, or base64 on one line: `head -c 32 /dev/urandom | base64`)"
    )]
    Malformed(String),
}

/// Why a member's personal data did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Its data key is gone (erased: crypto-shredded).
    #[error("the member's data key is gone")]
    NoKey,
    /// Its data key was wrapped under a KEK version head office does not hold.
    #[error("the member's data key is wrapped under key version {0}, not loaded")]
    UnknownVersion(i64),
    /// A wrapped key or ciphertext does not open (another KEK, another
    /// member's or field's value, or damaged).
    #[error("the member's {0} does not open")]
    Damaged(&'static str),
}

/// A member's personal fields in plain.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Personal {
    /// Phone as entered (digits, perhaps grouped).
    pub phone: Option<String>,
    /// Name as entered.
    pub name: Option<String>,
    /// Birthday.
    pub birthday: Option<MonthDay>,
}

impl fmt::Debug for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never printed, whatever derives Debug around it.
        f.write_str("Personal { .. }")
    }
}

/// A member's personal fields as stored: each encrypted under the member's
/// DEK (base64 of nonce and ciphertext), and the DEK wrapped under the KEK
/// of `key_version`. `wrapped_dek` is `None` once erased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedPersonal {
    /// Version of the KEK the DEK is wrapped under.
    pub key_version: i64,
    /// The wrapped DEK (base64), from `member_keys`.
    pub wrapped_dek: Option<String>,
    /// Encrypted phone (base64).
    pub phone: Option<String>,
    /// Encrypted name (base64).
    pub name: Option<String>,
    /// Encrypted birthday (base64 of `MM-DD` encrypted).
    pub birthday: Option<String>,
}

/// Head office's keys for personal data, derived from the KEK: the key
/// that wraps DEKs and the phone lookup key. Debug prints only the version.
#[derive(Clone)]
pub struct PersonalKeys {
    version: i64,
    wrap: Zeroizing<[u8; 32]>,
    lookup: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for PersonalKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonalKeys {{ version: {}, .. }}", self.version)
    }
}

/// HMAC-SHA256(key, label): a key derived for one purpose.
fn derive(kek: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    if let Ok(mut mac) = <Hmac<Sha256> as hmac::Mac>::new_from_slice(kek) {
        mac.update(label.as_bytes());
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

fn nonce() -> [u8; NONCE_BYTES] {
    let random = tillcard_protocol::auth::random_32();
    let mut nonce = [0u8; NONCE_BYTES];
    nonce.copy_from_slice(&random[..NONCE_BYTES]);
    nonce
}

/// nonce || AEAD(key, nonce, plain, aad), base64.
pub(crate) fn seal(key: &[u8; 32], aad: &str, plain: &[u8]) -> String {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = nonce();
    // Encryption of a slice in memory cannot fail (only lengths beyond
    // 2^38 bytes would).
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    B64.encode(out)
}

/// The inverse of [`seal`].
pub(crate) fn unseal(key: &[u8; 32], aad: &str, text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = B64.decode(text).ok()?;
    if bytes.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .ok()
        .map(Zeroizing::new)
}

fn field_aad(member: MemberId, field: &str) -> String {
    format!("tillcard-hq personal v1|{field}|{member}")
}

fn dek_aad(member: MemberId, version: i64) -> String {
    format!("tillcard-hq dek v1|{member}|{version}")
}

impl PersonalKeys {
    /// The keys of the KEK `kek`, known as version `version`.
    pub fn from_kek(kek: &[u8; 32], version: i64) -> PersonalKeys {
        PersonalKeys {
            version,
            wrap: derive(kek, "tillcard-hq personal-data wrap v1"),
            lookup: derive(kek, "tillcard-hq phone lookup v1"),
        }
    }

    /// Reads the KEK from `path`: 32 raw bytes, or 32 bytes in base64 on the
    /// file's first line (what `systemd-creds decrypt` or `LoadCredential=`
    /// hand over unchanged).
    pub fn read_file(path: &Path, version: i64) -> Result<PersonalKeys, KeyError> {
        let shown = path.display().to_string();
        let bytes =
            Zeroizing::new(std::fs::read(path).map_err(|e| KeyError::Read(shown.clone(), e))?);
        let kek: Zeroizing<[u8; 32]> = if bytes.len() == 32 {
            let mut kek = Zeroizing::new([0u8; 32]);
            kek.copy_from_slice(&bytes);
            kek
        } else {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| KeyError::Malformed(shown.clone()))?
                .trim();
            let decoded = Zeroizing::new(
                B64.decode(text)
                    .map_err(|_| KeyError::Malformed(shown.clone()))?,
            );
            if decoded.len() != 32 {
                return Err(KeyError::Malformed(shown));
            }
            let mut kek = Zeroizing::new([0u8; 32]);
            kek.copy_from_slice(&decoded);
            kek
        };
        Ok(PersonalKeys::from_kek(&kek, version))
    }

    /// Keys of a fresh random KEK (a demo, the load generator's own head
    /// office): what they encrypt is lost with the process.
    pub fn generate() -> PersonalKeys {
        PersonalKeys::from_kek(&Zeroizing::new(tillcard_protocol::auth::random_32()), 1)
    }

    /// The fixed KEK tests use (so a test reopening head office on its
    /// database reads its members again). Never for a real head office.
    #[cfg(any(test, feature = "test-support"))]
    pub fn for_tests() -> PersonalKeys {
        PersonalKeys::from_kek(&[0x5a; 32], 1)
    }

    /// Version of the KEK (recorded with each wrapped DEK).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The chain-wide phone key of `phone`: HMAC-SHA256 of its digits under
    /// the lookup key, 64 hex digits (duplicates, member care's search).
    pub fn phone_key(&self, phone: &str) -> String {
        tillcard_protocol::auth::phone_lookup(&self.lookup, phone)
    }

    /// `personal` of `member` encrypted under a new DEK, wrapped under the KEK.
    pub fn seal(&self, member: MemberId, personal: &Personal) -> SealedPersonal {
        let dek = Zeroizing::new(tillcard_protocol::auth::random_32());
        let field = |name: &str, plain: Option<&[u8]>| {
            plain.map(|p| seal(&dek, &field_aad(member, name), p))
        };
        let birthday = personal
            .birthday
            .map(|b| Zeroizing::new(format!("{:02}-{:02}", b.month, b.day)));
        SealedPersonal {
            key_version: self.version,
            wrapped_dek: Some(seal(&self.wrap, &dek_aad(member, self.version), &*dek)),
            phone: field(PHONE, personal.phone.as_deref().map(str::as_bytes)),
            name: field(NAME, personal.name.as_deref().map(str::as_bytes)),
            birthday: field(BIRTHDAY, birthday.as_deref().map(String::as_bytes)),
        }
    }

    /// The one decryption of personal data: `sealed` of `member` opened.
    /// Fields stored as null stay `None`.
    pub fn open(&self, member: MemberId, sealed: &SealedPersonal) -> Result<Personal, OpenError> {
        if sealed.phone.is_none() && sealed.name.is_none() && sealed.birthday.is_none() {
            return Ok(Personal::default());
        }
        let wrapped = sealed.wrapped_dek.as_deref().ok_or(OpenError::NoKey)?;
        if sealed.key_version != self.version {
            return Err(OpenError::UnknownVersion(sealed.key_version));
        }
        let dek = unseal(&self.wrap, &dek_aad(member, sealed.key_version), wrapped)
            .ok_or(OpenError::Damaged("data key"))?;
        let dek: [u8; 32] = dek
            .as_slice()
            .try_into()
            .map_err(|_| OpenError::Damaged("data key"))?;
        let dek = Zeroizing::new(dek);
        let text =
            |name: &'static str, value: &Option<String>| -> Result<Option<String>, OpenError> {
                value
                    .as_deref()
                    .map(|v| {
                        let plain = unseal(&dek, &field_aad(member, name), v)
                            .ok_or(OpenError::Damaged(name))?;
                        String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Damaged(name))
                    })
                    .transpose()
            };
        let birthday = text(BIRTHDAY, &sealed.birthday)?
            .map(|b| parse_month_day(&b).ok_or(OpenError::Damaged(BIRTHDAY)))
            .transpose()?;
        Ok(Personal {
            phone: text(PHONE, &sealed.phone)?,
            name: text(NAME, &sealed.name)?,
            birthday,
        })
    }
}

/// `MM-DD` back to a [`MonthDay`].
fn parse_month_day(text: &str) -> Option<MonthDay> {
    let (month, day) = text.split_once('-')?;
    Some(MonthDay {
        month: month.parse().ok()?,
        day: day.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u128) -> MemberId {
        MemberId(uuid::Uuid::from_u128(n))
    }

    fn personal() -> Personal {
        Personal {
            phone: Some("13800138000".into()),
            name: Some("张三".into()),
            birthday: Some(MonthDay { month: 2, day: 29 }),
        }
    }

    #[test]
    fn sealed_fields_open_for_their_member_only() {
        let keys = PersonalKeys::for_tests();
        let sealed = keys.seal(member(1), &personal());
        assert_eq!(keys.open(member(1), &sealed), Ok(personal()));
        assert_eq!(
            keys.open(member(2), &sealed),
            Err(OpenError::Damaged("data key")),
            "another member's id is other associated data"
        );
        // A field moved to another field does not open.
        let swapped = SealedPersonal {
            name: sealed.phone.clone(),
            ..sealed.clone()
        };
        assert_eq!(
            keys.open(member(1), &swapped),
            Err(OpenError::Damaged("name"))
        );
        let other = PersonalKeys::from_kek(&[7; 32], 1);
        assert!(other.open(member(1), &sealed).is_err(), "another KEK");
        for text in [&sealed.phone, &sealed.name, &sealed.birthday] {
            let text = text.as_deref().unwrap_or_default();
            assert!(!text.contains("13800138000") && !text.contains("张三"));
        }
        println!("sealed and opened 1 member; 3 wrong openings refused");
    }

    #[test]
    fn without_its_data_key_nothing_opens() {
        let keys = PersonalKeys::for_tests();
        let mut sealed = keys.seal(member(1), &personal());
        sealed.wrapped_dek = None;
        assert_eq!(keys.open(member(1), &sealed), Err(OpenError::NoKey));
    }

    #[test]
    fn phone_keys_ignore_grouping_and_depend_on_the_kek() {
        let keys = PersonalKeys::for_tests();
        assert_eq!(
            keys.phone_key("138-0013-8000"),
            keys.phone_key("13800138000")
        );
        assert_ne!(
            keys.phone_key("13800138000"),
            PersonalKeys::from_kek(&[7; 32], 1).phone_key("13800138000")
        );
        assert!(format!("{keys:?}").starts_with("PersonalKeys { version: 1"));
    }

    #[test]
    fn a_key_file_is_raw_or_base64() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        std::fs::write(&raw, [0x5a; 32]).unwrap();
        let text = dir.path().join("text");
        std::fs::write(&text, format!("{}\n", B64.encode([0x5a; 32]))).unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "abc").unwrap();
        let sealed = PersonalKeys::for_tests().seal(member(1), &personal());
        for path in [&raw, &text] {
            let keys = PersonalKeys::read_file(path, 1).unwrap();
            assert_eq!(keys.open(member(1), &sealed), Ok(personal()));
        }
        assert!(matches!(
            PersonalKeys::read_file(&short, 1),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            PersonalKeys::read_file(&dir.path().join("none"), 1),
            Err(KeyError::Read(..))
        ));
    }
}
