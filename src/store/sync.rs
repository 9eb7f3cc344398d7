//! The store's side of sync: the terminal's credentials from provisioning,
//! the outbox as protocol batches, acknowledgements (including head office
//! restored from a backup), and applying a downlink page in one transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tillcard_protocol::client::{DownlinkSink, TerminalCredentials, apply_page};
use tillcard_protocol::enrollment::CertificatePin;
use tillcard_protocol::staff::StaffSnapshot;
use tillcard_protocol::trust::ChangeRefusal;
use tillcard_protocol::wire::{
    Change, ChangesPage, Envelope, MemberSnapshot, OutboxEvent, Provisioned, TerminalId, TrustedKey,
};
use tillcard_rules::account::MemberAccount;
use tillcard_rules::ledger::{Coupon, EntryKind, LedgerEntry};
use tillcard_rules::{MemberId, Program};
use uuid::Uuid;

use super::clerks::Approval;
use super::{Store, StoreError, outbox};
use crate::format::{mask_name, mask_phone};

/// Reads the credentials written at provisioning, if any.
pub(crate) fn load_credentials(
    conn: &Connection,
) -> Result<Option<TerminalCredentials>, StoreError> {
    type Row = (String, Vec<u8>, String, String, Option<String>);
    let row: Option<Row> = conn
        .query_row(
            "SELECT terminal_id, signing_key, hq_box_public_key, lookup_key, downlink_key
             FROM credentials WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((id, key, hq_box_public_key, lookup_key, downlink_key)) = row else {
        return Ok(None);
    };
    let key: [u8; 32] = key.try_into().map_err(|_| {
        StoreError::Damaged("the terminal's signing key has the wrong length".into())
    })?;
    Ok(Some(TerminalCredentials {
        terminal_id: TerminalId(
            Uuid::parse_str(&id).map_err(|e| StoreError::Damaged(format!("terminal id: {e}")))?,
        ),
        signing_key: ed25519_signing_key(&key),
        hq_box_public_key,
        lookup_key,
        downlink_key,
    }))
}

fn ed25519_signing_key(bytes: &[u8; 32]) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(bytes)
}

/// A page of changes could not be applied; nothing of it was.
fn sink_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("change from head office: {e}"))
}

struct TxSink<'a, 'c> {
    tx: &'a Transaction<'c>,
    credentials: Option<&'a TerminalCredentials>,
    at: String,
    program: Option<Program>,
    touched: Vec<MemberId>,
}

impl DownlinkSink for TxSink<'_, '_> {
    type Error = StoreError;

    fn program(&mut self, program: Program) -> Result<(), StoreError> {
        program
            .validate()
            .map_err(|e| StoreError::InvalidProgram(e.to_string()))?;
        let body = serde_json::to_string(&program)?;
        match program.effective_from {
            // A published version: kept beside the others.
            Some(from) => self.tx.execute(
                "INSERT INTO program_versions (version, effective_from, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(version) DO UPDATE SET effective_from = excluded.effective_from,
                                                    body = excluded.body",
                params![program.version, from.to_rfc3339(), body],
            )?,
            None => self.tx.execute(
                "INSERT INTO program (id, body) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                [body],
            )?,
        };
        self.program = Some(program);
        Ok(())
    }

    fn member(&mut self, snapshot: MemberSnapshot) -> Result<(), StoreError> {
        let phone_hash = snapshot
            .phone_lookup
            .as_deref()
            .map(hex_decode)
            .transpose()?;
        // The phone finds the member whose snapshot carries it last (one
        // phone's two accounts before a merge; the survivor after it): the
        // hash is unique here, so another row holding it lets go of it.
        if let Some(hash) = &phone_hash {
            self.tx.execute(
                "UPDATE members SET phone_hash = NULL WHERE phone_hash = ?1 AND member_id <> ?2",
                params![hash, snapshot.member.0.to_string()],
            )?;
        }
        self.tx.execute(
            "INSERT INTO members (member_id, phone_hash, phone_masked, name_masked, birthday_month,
                                  birthday_day, tags, snapshot, referred_by, balances_known,
                                  enrolled_at, frozen, card_serial, merged_into, head_office_card)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, datetime('now'), ?10, ?11, ?12, ?13)
             ON CONFLICT(member_id) DO UPDATE SET
                phone_hash = CASE WHEN excluded.merged_into IS NOT NULL THEN NULL
                                  ELSE COALESCE(excluded.phone_hash, members.phone_hash) END,
                referred_by = COALESCE(excluded.referred_by, members.referred_by),
                phone_masked = excluded.phone_masked, name_masked = excluded.name_masked,
                birthday_month = excluded.birthday_month, birthday_day = excluded.birthday_day,
                tags = excluded.tags, snapshot = excluded.snapshot, balances_known = 1,
                frozen = excluded.frozen, card_serial = excluded.card_serial,
                merged_into = excluded.merged_into,
                head_office_card = excluded.head_office_card",
            params![
                snapshot.member.0.to_string(),
                phone_hash,
                snapshot
                    .masked_phone
                    .as_deref()
                    .map(keep_masked(mask_phone))
                    .unwrap_or_default(),
                snapshot
                    .masked_name
                    .as_deref()
                    .map(keep_masked(mask_name))
                    .unwrap_or_default(),
                snapshot.birthday.map(|b| b.month),
                snapshot.birthday.map(|b| b.day),
                serde_json::to_string(&snapshot.tags)?,
                serde_json::to_string(&snapshot.account)?,
                snapshot.referrer.map(|r| r.0.to_string()),
                snapshot.frozen,
                snapshot.card_serial,
                snapshot.merged_into.map(|m| m.0.to_string()),
                snapshot.card,
            ],
        )?;
        self.touched.push(snapshot.member);
        Ok(())
    }

    fn coupon(&mut self, member: MemberId, coupon: Coupon) -> Result<(), StoreError> {
        // A head-office coupon joins the member's opening state.
        let body: Option<Option<String>> = self
            .tx
            .query_row(
                "SELECT snapshot FROM members WHERE member_id = ?1",
                [member.0.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(body) = body else {
            return Ok(()); // not a member of this store
        };
        let mut account: MemberAccount = match body {
            Some(body) => serde_json::from_str(&body)?,
            None => MemberAccount::new(member),
        };
        account.apply(&LedgerEntry {
            member,
            source: coupon.id.issued_by,
            at: coupon.valid_from,
            kind: EntryKind::CouponIssued { coupon },
        });
        self.tx.execute(
            "UPDATE members SET snapshot = ?2 WHERE member_id = ?1",
            params![member.0.to_string(), serde_json::to_string(&account)?],
        )?;
        self.touched.push(member);
        Ok(())
    }

    fn revocation(
        &mut self,
        member: Option<MemberId>,
        card_serial: Option<String>,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO revocations (member_id, card_serial) VALUES (?1, ?2)",
            params![member.map(|m| m.0.to_string()), card_serial],
        )?;
        Ok(())
    }

    fn trusted_key(&mut self, key: TrustedKey) -> Result<(), StoreError> {
        upsert_trusted_key(self.tx, &key)
    }

    fn erase(&mut self, member: MemberId) -> Result<(), StoreError> {
        // Personal fields go; the pseudonymous ledger (ids and amounts) stays
        // for the books.
        let id = member.0.to_string();
        self.tx
            .execute("DELETE FROM members WHERE member_id = ?1", [&id])?;
        super::erasure::scrub_outbox(self.tx, member)?;
        super::erasure::queue_files(self.tx, member)?;
        self.touched.push(member);
        Ok(())
    }

    fn forget(&mut self, member: MemberId) -> Result<(), StoreError> {
        // A member this terminal enrolled and head office has not
        // confirmed, or with events here still waiting to upload, stays:
        // the upload brings them back into this store's scope.
        let id = member.0.to_string();
        let forgotten = self.tx.execute(
            "DELETE FROM members WHERE member_id = ?1 AND snapshot IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM ledger l JOIN outbox o ON o.seq = l.event_seq
                               WHERE l.member_id = ?1 AND o.acked = 0)",
            [&id],
        )?;
        if forgotten > 0 {
            self.touched.push(member);
        }
        Ok(())
    }

    fn staff(&mut self, staff: StaffSnapshot) -> Result<(), StoreError> {
        super::staff::upsert(self.tx, self.credentials, &staff, &self.at)
    }

    fn item(&mut self, item: tillcard_rules::catalog::CatalogItem) -> Result<(), StoreError> {
        super::catalog::upsert(self.tx, &item, &self.at)
    }

    fn staff_removed(&mut self, staff_id: &str) -> Result<(), StoreError> {
        super::staff::remove(self.tx, staff_id, &self.at)
    }

    fn downlink_key(&self) -> Option<(ed25519_dalek::VerifyingKey, TerminalId)> {
        let credentials = self.credentials?;
        let key = credentials.downlink_key.as_deref()?;
        // A pinned key that does not decode refuses every signed change
        // (the safe failure) rather than applying them unchecked.
        let key = tillcard_protocol::auth::decode_public_key(key)
            .unwrap_or_else(|_| ed25519_dalek::SigningKey::from_bytes(&[0; 32]).verifying_key());
        Some((key, credentials.terminal_id))
    }

    fn refused(&mut self, change: &Change, why: ChangeRefusal) -> Result<(), StoreError> {
        let kind = match change {
            Change::Program { .. } => "program",
            Change::TrustedKey { .. } => "trusted_key",
            Change::Revocation { .. } => "revocation",
            Change::Staff { .. } => "staff",
            Change::StaffRemoved { .. } => "staff_removed",
            Change::Member { .. }
            | Change::Coupon { .. }
            | Change::Erasure { .. }
            | Change::Forget { .. }
            | Change::Item { .. } => "other",
        };
        self.tx.execute(
            "INSERT INTO downlink_refusals (at, kind, reason) VALUES (?1, ?2, ?3)",
            params![self.at, kind, why.code()],
        )?;
        super::audit::append(self.tx, &self.at, "system", "downlink_change_refused", kind)?;
        tracing::error!(
            kind,
            reason = why.code(),
            "downlink change refused: not signed by head office"
        );
        Ok(())
    }

    fn cursor(&mut self, cursor: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO downlink (id, cursor) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET cursor = excluded.cursor",
            [cursor],
        )?;
        Ok(())
    }
}

/// Stores a trusted key with its window. A withdrawal is never undone: the
/// earliest `revoked_at` received stays (a replayed older change cannot
/// restore a withdrawn key).
fn upsert_trusted_key(tx: &Transaction<'_>, key: &TrustedKey) -> Result<(), StoreError> {
    let int = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    tx.execute(
        "INSERT INTO trusted_keys (key_id, public_key, valid_from, valid_until, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(key_id) DO UPDATE SET public_key = excluded.public_key,
            valid_from = excluded.valid_from, valid_until = excluded.valid_until,
            revoked_at = COALESCE(min(trusted_keys.revoked_at, excluded.revoked_at),
                                  trusted_keys.revoked_at, excluded.revoked_at)",
        params![
            key.key_id,
            key.public_key,
            int(key.valid_from),
            int(key.valid_until),
            int(key.revoked_at)
        ],
    )?;
    Ok(())
}

/// Head office sends fields already masked; anything that arrives unmasked
/// is masked here, so a clerk never sees it whole.
fn keep_masked(mask: fn(&str) -> String) -> impl Fn(&str) -> String {
    move |value| {
        if value.contains('*') {
            value.to_owned()
        } else {
            mask(value)
        }
    }
}

fn hex_decode(text: &str) -> Result<Vec<u8>, StoreError> {
    if !text.len().is_multiple_of(2) {
        return Err(sink_error("odd-length phone lookup"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(sink_error))
        .collect()
}

/// A revoked member (all cards) or card: (member id, card serial).
pub type Revocation = (Option<String>, Option<String>);

/// Events ready to upload, with the highest sequence in the batch.
#[derive(Debug, Clone)]
pub struct UploadBatch {
    /// Events in ascending sequence.
    pub events: Vec<OutboxEvent>,
    /// Sequence of the last one.
    pub last_seq: u64,
    /// Highest sequence in the outbox (head office shows pending events).
    pub outbox_head_seq: u64,
    /// The audit chain since the head head office acknowledged last.
    pub audit: tillcard_protocol::wire::UploadAudit,
    /// The outbox epoch the events are numbered in (`store::epochs`).
    pub epoch: tillcard_protocol::wire::OutboxEpoch,
}

impl Store {
    /// Whether head office has provisioned this terminal.
    pub fn credentials(&self) -> Option<&TerminalCredentials> {
        self.credentials.as_ref()
    }

    /// The SHA-256 of head office's certificate this terminal registered
    /// with (from the enrollment QR), if it registered with one: the uplink
    /// accepts that certificate only.
    pub fn head_office_pin(&self) -> Result<Option<CertificatePin>, StoreError> {
        let pin: Option<Option<Vec<u8>>> = self
            .conn()
            .query_row(
                "SELECT hq_cert_sha256 FROM credentials WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        pin.flatten()
            .map(|bytes| {
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map(CertificatePin)
                    .map_err(|_| {
                        StoreError::Damaged("head office's pin has the wrong length".into())
                    })
            })
            .transpose()
    }

    /// Stores what head office answered to this terminal's enrollment code,
    /// with the signing key the terminal generated for it. A terminal
    /// already registered registers again only with a manager's approval:
    /// the enrollment code alone is the authority for the first
    /// registration only.
    pub fn provision(
        &mut self,
        signing_key: ed25519_dalek::SigningKey,
        provisioned: &Provisioned,
        approval: Option<&Approval>,
    ) -> Result<(), StoreError> {
        self.provision_with_card_key(signing_key, None, provisioned, approval, None)
    }

    /// [`Store::provision`] with keys by purpose: `card_seed` is the card
    /// key the terminal registered apart from its request key (head office
    /// named its id in `provisioned.card_key_id`). `None`: an older
    /// registration, where the request key also signs cards. `pin`: the SHA-256
    /// of head office's certificate from the enrollment QR, kept in the same
    /// transaction: every later connection to head office accepts that
    /// certificate only; `None` (keyed by hand) clears it.
    pub fn provision_with_card_key(
        &mut self,
        signing_key: ed25519_dalek::SigningKey,
        card_seed: Option<[u8; 32]>,
        provisioned: &Provisioned,
        approval: Option<&Approval>,
        pin: Option<CertificatePin>,
    ) -> Result<(), StoreError> {
        if self.credentials.is_some() && approval.is_none() {
            return Err(StoreError::AlreadyRegistered);
        }
        let now = self.clock.now().to_rfc3339();
        let key_bytes = signing_key.to_bytes();
        let card_bytes = card_seed.unwrap_or(key_bytes);
        // Cards signed before registration (by the local card key) keep
        // verifying here: that key stays trusted on this terminal.
        let previous_card_key = match provisioned.card_key_id {
            Some(_) => {
                let old = self.card_signer()?;
                Some((
                    old.key_id().to_string(),
                    tillcard_protocol::auth::encode_public_key(&old.verifying_key()),
                ))
            }
            None => None,
        };
        self.write(|tx, _| {
            if let Some(id) = provisioned.card_key_id {
                tx.execute(
                    "INSERT INTO card_issuer (id, key_id, seed) VALUES (1, ?1, ?2)
                     ON CONFLICT(id) DO UPDATE SET key_id = excluded.key_id, seed = excluded.seed",
                    params![i64::from(id), card_bytes.as_slice()],
                )?;
            }
            if let Some((key_id, public_key)) = &previous_card_key {
                tx.execute(
                    "INSERT INTO trusted_keys (key_id, public_key) VALUES (?1, ?2)
                     ON CONFLICT(key_id) DO UPDATE SET public_key = excluded.public_key",
                    params![key_id, public_key],
                )?;
            }
            tx.execute(
                "INSERT INTO credentials (id, terminal_id, store, signing_key, hq_box_public_key, lookup_key,
                                          provisioned_at, downlink_key)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET terminal_id = excluded.terminal_id, store = excluded.store,
                    signing_key = excluded.signing_key, hq_box_public_key = excluded.hq_box_public_key,
                    lookup_key = excluded.lookup_key, provisioned_at = excluded.provisioned_at,
                    downlink_key = excluded.downlink_key",
                params![
                    provisioned.terminal_id.0.to_string(),
                    provisioned.store,
                    key_bytes.as_slice(),
                    provisioned.hq_box_public_key,
                    provisioned.lookup_key,
                    now,
                    provisioned.downlink_key
                ],
            )?;
            for key in &provisioned.trusted_keys {
                upsert_trusted_key(tx, key)?;
            }
            tx.execute(
                "UPDATE credentials SET hq_cert_sha256 = ?1 WHERE id = 1",
                [pin.map(|p| p.0.to_vec())],
            )?;
            let registration = provisioned
                .registration
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?;
            tx.execute(
                "UPDATE credentials SET registration = ?1 WHERE id = 1",
                [registration],
            )?;
            super::audit::append(tx, &now, "system", "provisioned", &provisioned.terminal_id.0.to_string())
        })?;
        tracing::info!(
            terminal = %provisioned.terminal_id.0,
            store = %provisioned.store,
            trusted_keys = provisioned.trusted_keys.len(),
            "terminal provisioned"
        );
        self.credentials = Some(TerminalCredentials::from_provisioned(
            signing_key,
            provisioned,
        ));
        Ok(())
    }

    /// Up to `limit` unacknowledged events as protocol events, or `None`
    /// when nothing waits (or the terminal is not provisioned).
    pub fn upload_batch(&self, limit: usize) -> Result<Option<UploadBatch>, StoreError> {
        let Some(creds) = &self.credentials else {
            return Ok(None);
        };
        let rows = self.pending_events(limit)?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(None);
        };
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            events.push(OutboxEvent {
                envelope: Envelope {
                    event_id: row.event_id,
                    terminal_id: creds.terminal_id,
                    seq: row.seq,
                    wall_time: tillcard_rules::Timestamp::parse_from_rfc3339(&row.wall_time)
                        .map_err(|e| StoreError::Damaged(format!("event time: {e}")))?,
                    monotonic_ms: row.monotonic_ms,
                    schema_version: u16::try_from(row.schema_version).unwrap_or(u16::MAX),
                },
                body: serde_json::from_str(&row.payload)?,
            });
        }
        Ok(Some(UploadBatch {
            events,
            last_seq: last,
            outbox_head_seq: self
                .conn()
                .query_row("SELECT max(seq) FROM outbox", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })?
                .map_or(last, |s| u64::try_from(s).unwrap_or(last)),
            audit: self.audit_for_upload()?,
            epoch: self.outbox_epoch()?,
        }))
    }

    /// Head office holds every event up to `acked_seq`: those are marked
    /// acknowledged, and any later one marked before (head office restored
    /// from an older backup) is pending again.
    pub fn record_ack(&mut self, acked_seq: u64) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.write(|tx, _| {
            outbox::ack_through(tx, acked_seq, now)?;
            outbox::reopen_after(tx, acked_seq)
        })?;
        tracing::debug!(acked_seq, "head office acknowledgement recorded");
        Ok(())
    }

    /// The registration certificate head office gave this terminal, if it
    /// gave one: sent back to re-introduce the terminal to a head office
    /// restored from a backup older than the registration.
    pub fn registration_certificate(
        &self,
    ) -> Result<Option<tillcard_protocol::registration::RegistrationCertificate>, StoreError> {
        let text: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT registration FROM credentials WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text
            .flatten()
            .map(|text| serde_json::from_str(&text))
            .transpose()?)
    }

    /// Head office answered a downlink page holding events of this
    /// terminal up to `held` only. Below what this terminal recorded as
    /// acknowledged, head office was restored from a backup: the events
    /// after `held` are pending again (those whose bodies are still kept go
    /// up again). Returns how many were reopened.
    pub fn head_office_holds(&mut self, held: u64) -> Result<u64, StoreError> {
        let acked: i64 = self.conn().query_row(
            "SELECT COALESCE(max(seq), 0) FROM outbox WHERE acked = 1",
            [],
            |r| r.get(0),
        )?;
        let acked = u64::try_from(acked).unwrap_or(0);
        if held >= acked {
            return Ok(0);
        }
        self.write(|tx, _| outbox::reopen_after(tx, held))?;
        tracing::warn!(
            held,
            acked,
            "head office holds fewer of this terminal's events than it acknowledged (restored from a backup): sending them again"
        );
        Ok(acked - held)
    }

    /// Where the downlink resumes.
    pub fn downlink_cursor(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT cursor FROM downlink WHERE id = 1", [], |r| r.get(0))
            .optional()?)
    }

    /// Applies one downlink page in ONE transaction, cursor included.
    /// Returns whether more pages wait.
    pub fn apply_changes(&mut self, page: ChangesPage) -> Result<bool, StoreError> {
        let changes = page.changes.len();
        let credentials = self.credentials.clone();
        let at = self.clock.now().to_rfc3339();
        let (more, program, touched) = self.write(|tx, _| {
            let mut sink = TxSink {
                tx,
                credentials: credentials.as_ref(),
                at,
                program: None,
                touched: Vec::new(),
            };
            let more = apply_page(&mut sink, page)?;
            Ok((more, sink.program, sink.touched))
        })?;
        tracing::debug!(
            changes,
            members = touched.len(),
            program = program.is_some(),
            more,
            "downlink page applied"
        );
        if program.is_some() {
            *self.programs.borrow_mut() = None;
        }
        for member in touched {
            self.accounts.forget(member);
        }
        Ok(more)
    }

    /// Applies a member fetched on demand (`Uplink::fetch_member`) in one
    /// transaction, as the downlink would: a snapshot, or an erasure.
    /// A member already held with known balances is left as it is: the
    /// downlink got there first and holds state at least as new. Whether
    /// the change was applied.
    pub fn apply_fetched(&mut self, change: Change) -> Result<bool, StoreError> {
        let credentials = self.credentials.clone();
        let at = self.clock.now().to_rfc3339();
        let (applied, touched) = self.write(|tx, _| {
            let mut sink = TxSink {
                tx,
                credentials: credentials.as_ref(),
                at,
                program: None,
                touched: Vec::new(),
            };
            let applied = match change {
                Change::Member { snapshot } => {
                    let known: Option<bool> = tx
                        .query_row(
                            "SELECT balances_known FROM members WHERE member_id = ?1",
                            [snapshot.member.0.to_string()],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if known == Some(true) {
                        false
                    } else {
                        sink.member(*snapshot)?;
                        true
                    }
                }
                Change::Erasure { member } => {
                    sink.erase(member)?;
                    true
                }
                _ => false,
            };
            Ok((applied, sink.touched))
        })?;
        for member in touched {
            self.accounts.forget(member);
        }
        Ok(applied)
    }

    /// Card keys head office trusts (key id, base64 Ed25519 public key).
    pub fn trusted_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .trusted_key_windows()?
            .into_iter()
            .map(|(id, key, _)| (id, key))
            .collect())
    }

    /// Card keys head office trusts, each with its certified window.
    pub fn trusted_key_windows(
        &self,
    ) -> Result<Vec<(String, String, crate::scan::credential::KeyWindow)>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT key_id, public_key, valid_from, valid_until, revoked_at FROM trusted_keys",
        )?;
        let time = |v: Option<i64>| v.map(|v| u64::try_from(v).unwrap_or(0));
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                crate::scan::credential::KeyWindow {
                    valid_from: time(r.get(2)?),
                    valid_until: time(r.get(3)?),
                    revoked_at: time(r.get(4)?),
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many downlink changes were refused and skipped: trust-bearing
    /// ones with a missing or bad head-office signature, catalog items out
    /// of their bounds.
    pub fn refused_changes(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM downlink_refusals", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Revoked members and cards: (member id, card serial), either may be absent.
    pub fn revocations(&self) -> Result<Vec<Revocation>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT member_id, card_serial FROM revocations")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
