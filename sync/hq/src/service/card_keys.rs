//! Terminals' member-card keys as head office certifies them
//! (`docs/CREDENTIAL.md`, "Keys"): each registered card key is trusted for
//! a validity window, renewed while its terminal keeps in touch, and
//! withdrawn when the terminal is revoked. The members whose card a
//! withdrawn key signed (the terminal enrolled them) get a card head office
//! signs, in their next snapshot.

use std::collections::HashMap;

use tillcard_protocol::card::{CardSigner, Credential, HQ_CARD_KEY_ID};
use tillcard_protocol::wire::{TerminalId, TrustedKey};

use super::{Hq, now};
use crate::error::HqError;
use crate::store::{MemberRecord, TerminalRecord};

/// How long a card key is certified for from its registration (or its
/// last renewal): a year.
pub const CARD_KEY_VALIDITY_S: u64 = 365 * 86_400;
/// A card key is renewed for another [`CARD_KEY_VALIDITY_S`] when its
/// terminal fetches changes within this long of the window's end.
pub const RENEW_BEFORE_S: u64 = 60 * 86_400;
/// The window opens this long before registration: terminal clocks drift
/// offline, and a card issued a little "before" its key was registered must
/// still scan.
pub const CLOCK_DRIFT_S: u64 = 86_400;
/// For a card key that already signed cards before registration (offline
/// enrollment on day one, [`tillcard_protocol::wire::RedeemRequest::card_key_id`]),
/// the window opens this long before registration instead.
pub const PRE_REGISTRATION_S: u64 = 30 * 86_400;

/// Unix seconds now, 0 before 1970.
pub(super) fn unix_now() -> u64 {
    u64::try_from(now().timestamp()).unwrap_or(0)
}

/// `terminal`'s card key renewed from now, when it is due
/// ([`RENEW_BEFORE_S`]); `None` when not due, revoked or not kept.
pub(super) fn renewed_card_key(terminal: &TerminalRecord) -> Result<Option<TrustedKey>, HqError> {
    let Some(text) = &terminal.card_key else {
        return Ok(None);
    };
    let mut key: TrustedKey = crate::store::parse_json(text)?;
    let at = unix_now();
    let due = key
        .valid_until
        .is_some_and(|until| until.saturating_sub(at) < RENEW_BEFORE_S);
    if terminal.revoked || key.revoked_at.is_some() || !due {
        return Ok(None);
    }
    key.valid_until = Some(at.saturating_add(CARD_KEY_VALIDITY_S));
    Ok(Some(key))
}

/// The window a card key registered at `at` is certified for.
pub(super) fn certified(
    key_id: u16,
    public_key: &str,
    at: u64,
    signed_before_registration: bool,
) -> TrustedKey {
    let lead = if signed_before_registration {
        PRE_REGISTRATION_S
    } else {
        CLOCK_DRIFT_S
    };
    TrustedKey {
        key_id: key_id.to_string(),
        public_key: public_key.to_owned(),
        valid_from: Some(at.saturating_sub(lead)),
        valid_until: Some(at.saturating_add(CARD_KEY_VALIDITY_S)),
        revoked_at: None,
    }
}

impl Hq {
    /// Renews `terminal`'s card key when its window ends within
    /// [`RENEW_BEFORE_S`]: the window's end moves to a year from now and
    /// the key goes down again. A revoked terminal's key is never renewed
    /// (its requests are refused before this anyway).
    pub(super) async fn renew_card_key(&self, terminal: &TerminalRecord) -> Result<(), HqError> {
        let Some(key) = renewed_card_key(terminal)? else {
            return Ok(());
        };
        self.store
            .set_card_key(terminal.terminal_id, &crate::store::to_json(&key)?)
            .await?;
        // A remembered record would renew it again.
        self.poll_cache.forget(terminal.terminal_id);
        tracing::info!(terminal = %terminal.terminal_id, key_id = %key.key_id, "card key renewed");
        Ok(())
    }

    /// `terminal`'s card key withdrawn now (`revoked_at` set; kept when
    /// it was withdrawn before), as the JSON to store and send down; `None`
    /// for a terminal head office keeps no card key for.
    pub(super) async fn withdrawn_card_key(
        &self,
        terminal: TerminalId,
    ) -> Result<Option<String>, HqError> {
        let Some(record) = self.store.terminal(terminal).await? else {
            return Ok(None);
        };
        let Some(text) = record.card_key else {
            return Ok(None);
        };
        let mut key: TrustedKey = crate::store::parse_json(&text)?;
        key.revoked_at.get_or_insert(unix_now());
        Ok(Some(crate::store::to_json(&key)?))
    }

    /// The withdrawn card keys, by the terminal that held them: when each
    /// was withdrawn.
    pub(super) async fn withdrawals(&self) -> Result<HashMap<TerminalId, u64>, HqError> {
        let mut out = HashMap::new();
        for (terminal, text) in self.store.withdrawn_card_keys().await? {
            let key: TrustedKey = crate::store::parse_json(&text)?;
            if let Some(at) = key.revoked_at {
                out.insert(terminal, at);
            }
        }
        Ok(out)
    }

    /// The card head office signs for `record` when the terminal that
    /// enrolled them had its card key withdrawn: the member's current
    /// serial, signed with head office's card key, `issued_at` the
    /// withdrawal (so every terminal receives the same token).
    pub(super) fn reissued_card(
        &self,
        record: &MemberRecord,
        withdrawals: &HashMap<TerminalId, u64>,
    ) -> Option<String> {
        let withdrawn_at = withdrawals.get(&record.enrolled_by?)?;
        let signer = CardSigner::from_seed(HQ_CARD_KEY_ID, &self.card_key.to_bytes());
        Some(signer.issue(&Credential {
            member_id: record.member.0,
            card_serial: record.card_serial,
            issuer: HQ_CARD_KEY_ID,
            issued_at: u32::try_from(*withdrawn_at).unwrap_or(u32::MAX),
            valid_until: None,
        }))
    }
}
