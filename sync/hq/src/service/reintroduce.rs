//! A terminal re-introducing itself to a head office restored from a
//! backup older than its registration (issue 22): its registration
//! certificate, signed at registration with head office's downlink key, is
//! the authority. Head office registers it again as the certificate names
//! it (id, store, request key, phone lookup key), certifies its card key
//! again under the same id and window when that id is still free, and
//! audits it (`terminal_reintroduced`). The terminal then re-uploads what
//! the restored database lacks (`sync/PROTOCOL.md`, "Re-introduction").

use tillcard_protocol::registration::{Reintroduce, Reintroduced};
use tillcard_protocol::wire;

use super::{Hq, card_keys};
use crate::error::HqError;
use crate::store::TerminalRecord;
use crate::store::back_office::AuditEntry;

fn refused(why: &str) -> HqError {
    HqError::Forbidden(
        "certificate_refused",
        format!("the registration certificate is refused: {why}"),
    )
}

impl Hq {
    /// `POST /v1/terminals/reintroduce`.
    pub async fn reintroduce(&self, request: &Reintroduce) -> Result<Reintroduced, HqError> {
        if request.protocol_version != wire::PROTOCOL_VERSION {
            return Err(HqError::BadRequest("unsupported protocol_version".into()));
        }
        let certificate = &request.certificate;
        if !certificate.verify(&self.downlink_key.verifying_key()) {
            return Err(refused("not signed by this head office"));
        }
        let id = certificate.terminal_id;
        if let Some(known) = self.store.terminal(id).await? {
            if known.public_key != certificate.public_key {
                return Err(refused("the terminal is registered with another key"));
            }
            return Ok(Reintroduced {
                terminal_id: id,
                registered: false,
                acked_seq: known.acked_seq,
            });
        }
        let terminal = TerminalRecord {
            terminal_id: id,
            store: certificate.store.clone(),
            public_key: certificate.public_key.clone(),
            lookup_key: certificate.lookup_key.clone(),
            acked_seq: 0,
            revoked: false,
            card_key: None,
            clock_skew_ms: None,
        };
        let audit = AuditEntry {
            at: super::now().to_rfc3339(),
            actor: format!("terminal:{id}"),
            action: "terminal_reintroduced".into(),
            subject: format!("terminal:{id}"),
            detail: format!(
                "registered again from its registration certificate (registered at {}, store {}): head office was restored from an older backup",
                certificate.registered_at, certificate.store
            ),
        };
        let registered = self.store.reintroduce_terminal(&terminal, &audit).await?;
        if registered {
            // Its card key under the same id and window, when no terminal
            // registered since the restore took the id.
            let owner = id.0.to_string();
            let key_id = certificate.card_key_id;
            let holder = self
                .store
                .init_setting(&format!("card_key_id:{key_id}"), &owner)
                .await?;
            if holder == owner {
                let trusted = card_keys::certified(
                    key_id,
                    &certificate.card_public_key,
                    certificate.registered_at,
                    false,
                );
                self.store
                    .set_card_key(id, &crate::store::to_json(&trusted)?)
                    .await?;
            } else {
                tracing::warn!(terminal = %id, card_key_id = key_id, "re-introduced terminal's card key id is taken since the restore: its card key is not certified again");
            }
            tracing::warn!(terminal = %id, store = %certificate.store, "terminal re-introduced with its registration certificate (head office restored from a backup)");
        }
        Ok(Reintroduced {
            terminal_id: id,
            registered,
            acked_seq: 0,
        })
    }
}
