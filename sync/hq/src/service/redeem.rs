//! Registration: an enrollment code redeemed for a terminal's keys, its
//! card key certified by head office for a validity window.

use uuid::Uuid;

use super::{Hq, card_keys, now};
use crate::error::HqError;
use crate::store::{Redeemed, TerminalRecord};
use tillcard_protocol::auth;
use tillcard_protocol::registration::RegistrationCertificate;
use tillcard_protocol::wire::{self, Provisioned, RedeemRequest, TerminalId};

impl Hq {
    /// Redeems an enrollment code for a terminal key.
    pub async fn redeem(&self, request: &RedeemRequest) -> Result<Provisioned, HqError> {
        if request.protocol_version != wire::PROTOCOL_VERSION {
            return Err(HqError::BadRequest("unsupported protocol_version".into()));
        }
        if let Some(id) = request.card_key_id
            && !wire::TERMINAL_CARD_KEY_IDS.contains(&id)
        {
            return Err(HqError::BadRequest(format!(
                "card_key_id must be in {}..={}",
                wire::TERMINAL_CARD_KEY_IDS.start(),
                wire::TERMINAL_CARD_KEY_IDS.end()
            )));
        }
        auth::decode_public_key(&request.public_key)
            .map_err(|_| HqError::BadRequest("public_key is not an Ed25519 key".into()))?;
        // Keys by purpose: the card key apart from the request key; an
        // older terminal's one key is both.
        let card_public_key = match &request.card_public_key {
            Some(card) => {
                auth::decode_public_key(card).map_err(|_| {
                    HqError::BadRequest("card_public_key is not an Ed25519 key".into())
                })?;
                if *card == request.public_key {
                    return Err(HqError::BadRequest(
                        "card_public_key must differ from public_key (keys by purpose)".into(),
                    ));
                }
                card.clone()
            }
            None => request.public_key.clone(),
        };
        let lookup_key = auth::b64(&auth::random_32());
        let terminal = TerminalRecord {
            terminal_id: TerminalId(Uuid::now_v7()),
            store: String::new(),
            public_key: request.public_key.clone(),
            lookup_key: lookup_key.clone(),
            acked_seq: 0,
            revoked: false,
            card_key: None,
            clock_skew_ms: None,
        };
        if let Some(store) = &request.store
            && !tillcard_protocol::staff::is_store_code(store)
        {
            return Err(HqError::BadRequest(
                "store: 1 to 32 ASCII letters, digits, . _ or -".into(),
            ));
        }
        match self
            .store
            .redeem_code(
                &auth::sha256_hex(&auth::enroll_code_key(&request.code)),
                &terminal,
                now(),
                request.store.as_deref(),
            )
            .await?
        {
            Redeemed::Ok { store } => {
                let card_key_id = self
                    .register_card_key(&terminal, &card_public_key, request.card_key_id)
                    .await?;
                tracing::info!(terminal = %terminal.terminal_id, store = %store, card_key_id, "terminal provisioned");
                let registration = RegistrationCertificate {
                    terminal_id: terminal.terminal_id,
                    store: store.clone(),
                    public_key: terminal.public_key.clone(),
                    lookup_key: lookup_key.clone(),
                    card_public_key: card_public_key.clone(),
                    card_key_id,
                    registered_at: card_keys::unix_now(),
                    signature: String::new(),
                }
                .sign(&self.downlink_key);
                Ok(Provisioned {
                    terminal_id: terminal.terminal_id,
                    store,
                    hq_box_public_key: self.box_public_key(),
                    trusted_keys: self.trusted_keys(),
                    lookup_key,
                    card_key_id: Some(card_key_id),
                    downlink_key: Some(self.downlink_public_key()),
                    registration: Some(registration),
                })
            }
            Redeemed::Unknown => Err(HqError::Forbidden(
                "code_unknown",
                "unknown enrollment code".into(),
            )),
            Redeemed::Expired => Err(HqError::Forbidden(
                "code_expired",
                "the enrollment code expired: ask head office for a new one".into(),
            )),
            Redeemed::Used => Err(HqError::Forbidden(
                "code_used",
                "the enrollment code was used already".into(),
            )),
            Redeemed::OtherStore => Err(HqError::Forbidden(
                "code_for_other_store",
                "the enrollment code is for another store than this terminal is set up for".into(),
            )),
        }
    }

    /// Registers a newly provisioned terminal's card key as a member-card
    /// issuer: takes a free card key id (the upper half of the 16-bit
    /// space), certifies the key for a window ([`card_keys::certified`])
    /// and pushes it to every terminal as a trusted key. A card a terminal
    /// issues offline at enrollment then verifies at every other terminal
    /// after its next sync (SPEC section 3). The id is the one the terminal
    /// asks for when it is free (its key already signed cards under it
    /// before registration), else the first free one from an id derived
    /// from the key, so ids spread out.
    async fn register_card_key(
        &self,
        terminal: &TerminalRecord,
        card_public_key: &str,
        wanted: Option<u16>,
    ) -> Result<u16, HqError> {
        const FIRST: u16 = *wire::TERMINAL_CARD_KEY_IDS.start();
        let digest = auth::sha256_hex(card_public_key);
        let derived = u16::from_str_radix(digest.get(..4).unwrap_or("0"), 16).unwrap_or(0) & 0x7FFF;
        let start = match wanted {
            Some(id) if id >= FIRST => id & 0x7FFF,
            _ => derived,
        };
        let owner = terminal.terminal_id.0.to_string();
        for probe in 0..=0x7FFFu16 {
            let id = FIRST | (start.wrapping_add(probe) & 0x7FFF);
            // init_setting is insert-if-absent: whoever wrote first owns the id.
            let holder = self
                .store
                .init_setting(&format!("card_key_id:{id}"), &owner)
                .await?;
            if holder == owner {
                let trusted = card_keys::certified(
                    id,
                    card_public_key,
                    card_keys::unix_now(),
                    wanted == Some(id),
                );
                self.store
                    .set_card_key(terminal.terminal_id, &crate::store::to_json(&trusted)?)
                    .await?;
                return Ok(id);
            }
        }
        Err(HqError::Internal(crate::store::StoreError::Corrupt(
            "no member-card key id left".into(),
        )))
    }
}
