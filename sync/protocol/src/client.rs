//! The terminal's side of the protocol, with no I/O: everything the uplink
//! needs to build signed requests and read the answers, so the uplink itself
//! is a thin loop of "take events from the outbox, send, delete up to the
//! ack; fetch changes, apply, store the cursor".

use ed25519_dalek::{SigningKey, VerifyingKey};
use tillcard_rules::Program;
use tillcard_rules::ids::{MemberId, Timestamp};
use uuid::Uuid;

use crate::auth::{self, AuthError};
use crate::staff::{SET_PIN_PATH, SetPinRequest, StaffSnapshot};
use crate::trust::{self, ChangeRefusal};
use crate::wire::{
    self, Change, ChangesPage, Envelope, EventBody, MemberSnapshot, OutboxEvent, ProtocolError,
    Provisioned, RedeemRequest, TerminalId, TrustedKey, UploadAck, UploadBatch,
};

/// Path of the upload endpoint.
pub const UPLOAD_PATH: &str = "/v1/batches";
/// Path of the downlink endpoint.
pub const CHANGES_PATH: &str = "/v1/changes";
/// Where a terminal fetches a member on demand (`/v1/members/{id}`).
pub const MEMBERS_PATH: &str = "/v1/members";
/// Path of the provisioning endpoint.
pub const REDEEM_PATH: &str = "/v1/terminals/redeem";

/// What a provisioned terminal keeps (the signing key must stay on the
/// terminal, in a file readable only by the terminal's user).
#[derive(Clone)]
pub struct TerminalCredentials {
    /// The terminal's id.
    pub terminal_id: TerminalId,
    /// The terminal's Ed25519 key.
    pub signing_key: SigningKey,
    /// Head office's X25519 public key (base64).
    pub hq_box_public_key: String,
    /// The terminal's phone lookup key (base64).
    pub lookup_key: String,
    /// Head office's downlink-signing public key (base64), pinned at
    /// registration; `None` for terminals registered before it.
    pub downlink_key: Option<String>,
}

impl TerminalCredentials {
    /// Credentials from a provisioning answer and the key that asked.
    pub fn from_provisioned(
        signing_key: SigningKey,
        provisioned: &Provisioned,
    ) -> TerminalCredentials {
        TerminalCredentials {
            terminal_id: provisioned.terminal_id,
            signing_key,
            hq_box_public_key: provisioned.hq_box_public_key.clone(),
            lookup_key: provisioned.lookup_key.clone(),
            downlink_key: provisioned.downlink_key.clone(),
        }
    }

    /// Seals personal data (phone, name) so only head office can read it.
    pub fn seal(&self, plaintext: &str) -> Result<String, AuthError> {
        auth::seal_to_hq(&self.hq_box_public_key, plaintext)
    }

    /// The lookup value of a phone on this terminal (compare with
    /// [`MemberSnapshot::phone_lookup`]).
    pub fn phone_lookup(&self, phone: &str) -> Result<String, AuthError> {
        Ok(auth::phone_lookup(
            &auth::decode_32(&self.lookup_key)?,
            phone,
        ))
    }

    /// An envelope for the event with this `seq`.
    pub fn envelope(&self, seq: u64, wall_time: Timestamp, monotonic_ms: u64) -> Envelope {
        Envelope {
            event_id: Uuid::now_v7(),
            terminal_id: self.terminal_id,
            seq,
            wall_time,
            monotonic_ms,
            schema_version: wire::SCHEMA_VERSION,
        }
    }

    /// An outbox event, ready to store in the outbox as JSON.
    pub fn event(
        &self,
        envelope: Envelope,
        body: &EventBody,
    ) -> Result<OutboxEvent, ProtocolError> {
        OutboxEvent::new(envelope, body)
    }

    /// A signed upload of `events` (ascending seq, at most
    /// [`wire::MAX_BATCH_EVENTS`]).
    pub fn upload_request(
        &self,
        events: Vec<OutboxEvent>,
        unix_now: i64,
    ) -> Result<SignedRequest, ProtocolError> {
        self.upload_request_with_head(events, None, None, unix_now)
    }

    /// A signed upload of `events` that also tells head office the highest
    /// sequence number in the terminal's outbox (`outbox_head_seq`), so head
    /// office can show how many events still wait at this terminal, and the
    /// version of the terminal's software (`app_version`, which must pass
    /// [`wire::is_app_version`]), so head office can list it.
    pub fn upload_request_with_head(
        &self,
        events: Vec<OutboxEvent>,
        outbox_head_seq: Option<u64>,
        app_version: Option<&str>,
        unix_now: i64,
    ) -> Result<SignedRequest, ProtocolError> {
        self.upload_request_with_audit(events, outbox_head_seq, app_version, None, unix_now)
    }

    /// [`Self::upload_request_with_head`] with the terminal's audit chain
    /// since the head head office acknowledged last
    /// ([`wire::UploadAudit`]).
    pub fn upload_request_with_audit(
        &self,
        events: Vec<OutboxEvent>,
        outbox_head_seq: Option<u64>,
        app_version: Option<&str>,
        audit: Option<wire::UploadAudit>,
        unix_now: i64,
    ) -> Result<SignedRequest, ProtocolError> {
        self.upload_request_in_epoch(
            UploadBatch {
                protocol_version: wire::PROTOCOL_VERSION,
                terminal_id: self.terminal_id,
                events,
                outbox_head_seq,
                app_version: app_version.map(str::to_string),
                audit,
                epoch: None,
            },
            unix_now,
        )
    }

    /// A signed upload of `batch` as it is (its `epoch` included: the
    /// outbox epoch its events are numbered in, [`wire::OutboxEpoch`]).
    pub fn upload_request_in_epoch(
        &self,
        batch: UploadBatch,
        unix_now: i64,
    ) -> Result<SignedRequest, ProtocolError> {
        let body = wire::encode(&batch)?;
        Ok(self.sign("POST", UPLOAD_PATH.to_string(), body, unix_now))
    }

    /// A signed PIN set-up for `staff_id` with the setup code head office
    /// showed: `pin_hash` (the Argon2id PHC string of the new PIN, never
    /// the PIN) is sealed to head office before it leaves.
    pub fn set_pin_request(
        &self,
        staff_id: &str,
        setup_code: &str,
        pin_hash: &str,
        unix_now: i64,
    ) -> Result<SignedRequest, ProtocolError> {
        let sealed_pin_hash = self
            .seal(pin_hash)
            .map_err(|e| ProtocolError::Encode(e.to_string()))?;
        let body = wire::encode(&SetPinRequest {
            protocol_version: wire::PROTOCOL_VERSION,
            staff_id: staff_id.to_owned(),
            setup_code: setup_code.to_owned(),
            sealed_pin_hash,
        })?;
        Ok(self.sign("POST", SET_PIN_PATH.to_string(), body, unix_now))
    }

    /// Opens a clerk's PIN hash head office sealed to this terminal.
    pub fn open_pin_hash(&self, sealed: &str) -> Result<String, AuthError> {
        auth::open_sealed_by_terminal(&self.signing_key, sealed)
    }

    /// A signed downlink request from `cursor` (`None` the first time).
    pub fn changes_request(&self, cursor: Option<&str>, unix_now: i64) -> SignedRequest {
        let path = match cursor {
            Some(c) => format!("{CHANGES_PATH}?cursor={c}"),
            None => CHANGES_PATH.to_string(),
        };
        self.sign("GET", path, Vec::new(), unix_now)
    }

    /// A signed request for one member this terminal does not hold (a
    /// card from another store scanned online): head office answers the
    /// member's change and keeps them in this store's scope.
    pub fn member_request(&self, member: MemberId, unix_now: i64) -> SignedRequest {
        self.sign(
            "GET",
            format!("{MEMBERS_PATH}/{}", member.0),
            Vec::new(),
            unix_now,
        )
    }

    fn sign(
        &self,
        method: &'static str,
        path_and_query: String,
        body: Vec<u8>,
        unix_now: i64,
    ) -> SignedRequest {
        let headers = auth::sign_request(
            &self.signing_key,
            self.terminal_id,
            method,
            &path_and_query,
            unix_now,
            &body,
        );
        SignedRequest {
            method,
            path_and_query,
            headers: headers
                .pairs()
                .iter()
                .map(|(n, v)| (*n, v.to_string()))
                .collect(),
            body,
        }
    }
}

/// The body of a provisioning request for `code` and the terminal's key
/// (an older terminal's: the one key signs requests and cards).
pub fn redeem_request(code: &str, signing_key: &SigningKey) -> Result<Vec<u8>, ProtocolError> {
    redeem_request_with_card_key(code, signing_key, None, None)
}

/// A redeem request whose key already signs member cards under
/// `card_key_id` (see [`RedeemRequest::card_key_id`]), from a terminal
/// configured for `store` (see [`RedeemRequest::store`]); an older
/// terminal's, with one key for requests and cards.
pub fn redeem_request_with_card_key(
    code: &str,
    signing_key: &SigningKey,
    card_key_id: Option<u16>,
    store: Option<&str>,
) -> Result<Vec<u8>, ProtocolError> {
    redeem_request_with_keys(code, signing_key, None, card_key_id, store)
}

/// A redeem request with keys by purpose: `signing_key` signs requests,
/// `card_key` (public half) signs member cards, under `card_key_id` when it
/// already signed some before registration.
pub fn redeem_request_with_keys(
    code: &str,
    signing_key: &SigningKey,
    card_key: Option<&VerifyingKey>,
    card_key_id: Option<u16>,
    store: Option<&str>,
) -> Result<Vec<u8>, ProtocolError> {
    wire::encode(&RedeemRequest {
        protocol_version: wire::PROTOCOL_VERSION,
        code: code.to_string(),
        public_key: auth::encode_public_key(&signing_key.verifying_key()),
        card_public_key: card_key.map(auth::encode_public_key),
        card_key_id,
        store: store.map(str::to_owned),
    })
}

/// An HTTP request ready to send: add `Content-Type` and `Content-Encoding`
/// from [`wire`] when `body` is not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path and query, exactly as signed.
    pub path_and_query: String,
    /// Authentication headers.
    pub headers: Vec<(&'static str, String)>,
    /// Gzipped JSON body (empty for GET).
    pub body: Vec<u8>,
}

impl SignedRequest {
    /// The request telling head office how far this terminal's wall clock
    /// is off ([`crate::server_clock::HEADER_CLOCK_SKEW`], milliseconds,
    /// positive when ahead); unchanged with `None` (nothing heard yet).
    pub fn with_clock_skew(mut self, skew_ms: Option<i64>) -> SignedRequest {
        if let Some(skew) = skew_ms {
            self.headers
                .push((crate::server_clock::HEADER_CLOCK_SKEW, skew.to_string()));
        }
        self
    }
}

/// Reads a provisioning answer.
pub fn decode_provisioned(body: &[u8]) -> Result<Provisioned, ProtocolError> {
    wire::decode(body)
}

/// Reads an upload answer. The terminal then deletes outbox events with
/// `seq <= acked_seq` and sends the next batch from `acked_seq + 1`. If
/// `acked_seq` is lower than a previous ack (head office restored from a
/// backup), it resends from `acked_seq + 1`: it must keep sent events until
/// they have been acked, and may keep a margin longer.
pub fn decode_ack(body: &[u8]) -> Result<UploadAck, ProtocolError> {
    wire::decode(body)
}

/// Reads the answer to [`TerminalCredentials::member_request`]: a
/// `member` or `erasure` change.
pub fn decode_change(body: &[u8]) -> Result<Change, ProtocolError> {
    wire::decode(body)
}

/// Reads a downlink page.
pub fn decode_page(body: &[u8]) -> Result<ChangesPage, ProtocolError> {
    wire::decode(body)
}

/// Where a terminal puts what comes down. Implemented by the terminal's
/// store, inside ONE transaction that also stores the page's cursor.
pub trait DownlinkSink {
    /// Error of the sink.
    type Error;
    /// Replace the program.
    fn program(&mut self, program: Program) -> Result<(), Self::Error>;
    /// Replace a member's cached snapshot (the opening account of its fold).
    fn member(&mut self, snapshot: MemberSnapshot) -> Result<(), Self::Error>;
    /// A coupon made available by head office.
    fn coupon(
        &mut self,
        member: MemberId,
        coupon: tillcard_rules::ledger::Coupon,
    ) -> Result<(), Self::Error>;
    /// A revoked member or card.
    fn revocation(
        &mut self,
        member: Option<MemberId>,
        card_serial: Option<String>,
    ) -> Result<(), Self::Error>;
    /// A key to trust for member cards.
    fn trusted_key(&mut self, key: TrustedKey) -> Result<(), Self::Error>;
    /// Delete everything cached about a member.
    fn erase(&mut self, member: MemberId) -> Result<(), Self::Error>;
    /// Drop a member who left this store's scope, unless events for them
    /// still wait to upload.
    fn forget(&mut self, member: MemberId) -> Result<(), Self::Error>;
    /// Stores (or replaces) an item of the chain's catalog.
    fn item(&mut self, item: tillcard_rules::catalog::CatalogItem) -> Result<(), Self::Error>;
    /// Stores (or replaces) a clerk of this terminal's store.
    fn staff(&mut self, staff: StaffSnapshot) -> Result<(), Self::Error>;
    /// Forgets a clerk who no longer works at this terminal's store.
    fn staff_removed(&mut self, staff_id: &str) -> Result<(), Self::Error>;
    /// Store the cursor to ask from next time.
    fn cursor(&mut self, cursor: &str) -> Result<(), Self::Error>;
    /// Head office's downlink key the terminal pinned at registration, with
    /// the terminal's id: once there is one, a trust-bearing change is
    /// applied only with a valid signature ([`crate::trust`]). `None`
    /// (terminals registered before downlink signatures) applies changes
    /// as they come.
    fn downlink_key(&self) -> Option<(VerifyingKey, TerminalId)>;
    /// A trust-bearing change whose signature is missing or does not
    /// verify: it is not applied, and the page goes on (the sink records
    /// and counts it).
    fn refused(&mut self, change: &Change, why: ChangeRefusal) -> Result<(), Self::Error>;
}

/// Applies a page in order and stores its cursor last. Returns whether more
/// pages wait.
///
/// With a pinned downlink key ([`DownlinkSink::downlink_key`]), a
/// trust-bearing change whose signature is missing or wrong is never
/// applied: it goes to [`DownlinkSink::refused`] and the page continues, so
/// one forged change cannot wedge the downlink (the cursor moves past it).
pub fn apply_page<S: DownlinkSink>(sink: &mut S, page: ChangesPage) -> Result<bool, S::Error> {
    let pinned = sink.downlink_key();
    for change in page.changes {
        if let Some((key, terminal)) = &pinned
            && let Err(why) = trust::verify_change(&change, key, *terminal)
        {
            sink.refused(&change, why)?;
            continue;
        }
        match change {
            Change::Program { program, .. } => sink.program(*program)?,
            Change::Member { snapshot } => sink.member(*snapshot)?,
            Change::Coupon { member, coupon } => sink.coupon(member, coupon)?,
            Change::Revocation {
                member,
                card_serial,
                ..
            } => sink.revocation(member, card_serial)?,
            Change::TrustedKey { key, .. } => sink.trusted_key(key)?,
            Change::Erasure { member } => sink.erase(member)?,
            Change::Forget { member } => sink.forget(member)?,
            Change::Item { item } => sink.item(*item)?,
            Change::Staff { staff, .. } => sink.staff(staff)?,
            Change::StaffRemoved { staff_id, .. } => sink.staff_removed(&staff_id)?,
        }
    }
    sink.cursor(&page.cursor)?;
    Ok(page.more)
}
