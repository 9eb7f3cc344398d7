//! Member cards at this terminal: the key it signs new members' cards with,
//! and the verifier the scan pipeline checks cards against (head office's
//! trusted keys, this terminal's own card key, and the revocations pushed
//! down).

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{Store, StoreError, audit};
use crate::scan::credential::{CardVerifier, Credential, KeyId, RevocationList, TrustedKeys};
use crate::scan::signer::CardSigner;

/// Key ids this terminal draws for its own card key when it creates one: the
/// upper half of the range, so they never collide with head office's
/// numbering of its own keys (small numbers).
const LOCAL_KEY_IDS: std::ops::RangeInclusive<u16> = 0x8000..=0xFFFF;

/// Reads a key id as head office writes it: `"7"` or `"hq-7"`.
pub fn parse_key_id(text: &str) -> Option<KeyId> {
    let digits = text.rsplit('-').next().unwrap_or(text);
    digits.parse().ok()
}

impl Store {
    /// The key this terminal signs cards with, created on first use.
    pub fn card_signer(&mut self) -> Result<CardSigner, StoreError> {
        if let Some((key_id, seed)) = self.stored_card_key()? {
            return Ok(CardSigner::from_seed(key_id, &seed));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| StoreError::Database(format!("no randomness from the OS: {e}")))?;
        let mut id_bytes = [0u8; 2];
        getrandom::fill(&mut id_bytes)
            .map_err(|e| StoreError::Database(format!("no randomness from the OS: {e}")))?;
        let key_id = u16::from_be_bytes(id_bytes) | *LOCAL_KEY_IDS.start();
        self.set_card_signer(key_id, &seed)?;
        Ok(CardSigner::from_seed(key_id, &seed))
    }

    /// The card key this terminal made for itself before it was registered
    /// with head office, as (key id, seed), when it has one: registration
    /// offers it as the terminal's key, so the cards it already signed
    /// verify chain-wide. `None` once registered, before any card was
    /// signed, and for a key whose seed is public (`public_seeds`: the
    /// caller names them, e.g. the demo's; the store knows no demo).
    pub fn local_card_key(
        &mut self,
        public_seeds: &[[u8; 32]],
    ) -> Result<Option<(KeyId, [u8; 32])>, StoreError> {
        if self.credentials.is_some() {
            return Ok(None);
        }
        let Some((key_id, seed)) = self.stored_card_key()? else {
            return Ok(None);
        };
        if public_seeds.contains(&seed) || !LOCAL_KEY_IDS.contains(&key_id) {
            return Ok(None);
        }
        Ok(Some((key_id, seed)))
    }

    /// The card key in the store, as (key id, seed), if one was made or
    /// installed.
    fn stored_card_key(&self) -> Result<Option<(KeyId, [u8; 32])>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = self
            .conn()
            .query_row(
                "SELECT key_id, seed FROM card_issuer WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((key_id, seed)) = row else {
            return Ok(None);
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| StoreError::Damaged("card key has the wrong length".into()))?;
        let key_id = u16::try_from(key_id)
            .map_err(|_| StoreError::Damaged("card key id out of range".into()))?;
        Ok(Some((key_id, seed)))
    }

    /// Installs the key this terminal signs cards with (the demo's fixed key,
    /// or one head office assigned).
    pub fn set_card_signer(&mut self, key_id: KeyId, seed: &[u8; 32]) -> Result<(), StoreError> {
        let now = self.clock.now().to_rfc3339();
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO card_issuer (id, key_id, seed) VALUES (1, ?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET key_id = excluded.key_id, seed = excluded.seed",
                params![i64::from(key_id), seed.as_slice()],
            )?;
            audit::append(tx, &now, "system", "card_key", &key_id.to_string())
        })
    }

    /// Signs a card for `member` with this terminal's card key.
    pub fn issue_card(&mut self, member: Uuid, card_serial: u16) -> Result<String, StoreError> {
        let signer = self.card_signer()?;
        let issued_at = u32::try_from(self.clock.now().timestamp()).unwrap_or(u32::MAX);
        Ok(signer.issue(&Credential {
            member_id: member,
            card_serial,
            issuer: signer.key_id(),
            issued_at,
            valid_until: None,
        }))
    }

    /// The serial of `member`'s current card when head office re-issued
    /// it (the card before is revoked), `None` while they hold the card
    /// from their enrollment or are unknown here.
    pub fn card_serial(&self, member: Uuid) -> Result<Option<u16>, StoreError> {
        let serial: Option<Option<i64>> = self
            .conn()
            .query_row(
                "SELECT card_serial FROM members WHERE member_id = ?1",
                [member.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        serial
            .flatten()
            .map(|s| {
                u16::try_from(s).map_err(|_| StoreError::Damaged("card serial out of range".into()))
            })
            .transpose()
    }

    /// The card head office re-issued for `member`, signed here with this
    /// terminal's card key at the serial head office gave (every terminal
    /// trusts this key, so it scans chain-wide): what the member is handed
    /// on their next visit. `None` when their card was never re-issued.
    pub fn reissued_card(&mut self, member: Uuid) -> Result<Option<String>, StoreError> {
        if let Some(card) = self.head_office_card(member)? {
            return Ok(Some(card));
        }
        match self.card_serial(member)? {
            Some(serial) => self.issue_card(member, serial).map(Some),
            None => Ok(None),
        }
    }

    /// The card head office signed for `member` because the key that
    /// signed their card was withdrawn (their enrolling terminal revoked),
    /// if it sent one: what the member screen hands over.
    pub fn head_office_card(&self, member: Uuid) -> Result<Option<String>, StoreError> {
        let card: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT head_office_card FROM members WHERE member_id = ?1",
                [member.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(card.flatten())
    }

    /// The verifier for the scan pipeline: head office's trusted keys, this
    /// terminal's card key, and every revocation received.
    pub fn card_verifier(&mut self) -> Result<CardVerifier, StoreError> {
        let mut keys = TrustedKeys::new();
        for (key_id, public_key, window) in self.trusted_key_windows()? {
            // A malformed key from head office is skipped: cards it signed
            // will read as forged, which is the safe failure.
            let Some(id) = parse_key_id(&key_id) else {
                continue;
            };
            let Ok(key) = tillcard_protocol::auth::decode_public_key(&public_key) else {
                continue;
            };
            keys.insert_with_window(id, key, window);
        }
        // This terminal's own card key scans here at once (before head
        // office's copy arrives); head office's certified window, when it
        // came down, is the one kept.
        let own = self.card_signer()?;
        if !keys.contains(own.key_id()) {
            keys.insert(own.key_id(), own.verifying_key());
        }
        let mut revoked = RevocationList::new();
        for (member, serial) in self.revocations()? {
            let Some(member) = member.as_deref().and_then(|m| Uuid::parse_str(m).ok()) else {
                continue;
            };
            match serial.as_deref().and_then(|s| s.parse().ok()) {
                Some(serial) => revoked.revoke_card(member, serial),
                None => revoked.revoke_member(member),
            }
        }
        Ok(CardVerifier::new(keys, revoked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_read_with_or_without_a_prefix() {
        assert_eq!(parse_key_id("hq-1"), Some(1));
        assert_eq!(parse_key_id("7"), Some(7));
        assert_eq!(parse_key_id("hq-x"), None);
        assert_eq!(parse_key_id("70000"), None);
    }
}
