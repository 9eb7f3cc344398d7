//! Talking to head office before the uplink runs: registering this
//! terminal with an enrollment code (`provision`), and a clerk choosing a
//! PIN with a setup code (`set_pin`).

use tillcard_protocol::client::{self, SignedRequest};
use tillcard_protocol::enrollment::CertificatePin;
use tillcard_protocol::staff::StaffSnapshot;
use tillcard_protocol::wire;

use super::http::{http_client, send};
use super::{UplinkError, on_store};
use crate::config::check_head_office_url;
use crate::store::StoreError;
use crate::store::clerks::{Approval, Clerk};
use crate::store::handle::StoreHandle;

/// Registers this terminal with head office using a one-time enrollment
/// code: generates the terminal's signing key, redeems the code, and stores
/// the answer. `configured_store` is the store the terminal's configuration
/// names, if any (a code for another store is refused); `approval` is a
/// manager's, needed when the terminal is already registered.
pub async fn provision(
    store: &StoreHandle,
    base_url: &str,
    code: &str,
    configured_store: Option<String>,
    approval: Option<Approval>,
) -> Result<(), UplinkError> {
    provision_pinned(store, base_url, code, configured_store, approval, None).await
}

/// [`provision`] with the pin of an enrollment QR: the registration's TLS
/// connection accepts the certificate with that SHA-256 only, and the pin
/// is stored with the credentials for every later connection. A refused
/// certificate ends it with [`UplinkError::Certificate`] before the code
/// is sent: nothing is registered, the code is not spent.
pub async fn provision_pinned(
    store: &StoreHandle,
    base_url: &str,
    code: &str,
    configured_store: Option<String>,
    approval: Option<Approval>,
    pin: Option<CertificatePin>,
) -> Result<(), UplinkError> {
    // Checked before anything else: the code must not cross a network in
    // the clear, and head office's keys must not come back that way.
    check_head_office_url(base_url)?;
    if approval.is_none() && on_store(store, |s| Ok(s.credentials().is_some())).await? {
        return Err(UplinkError::Store(StoreError::AlreadyRegistered));
    }
    // A terminal that already signed member cards before registration
    // (enrollment at the door on day one) offers that card key as its key,
    // with the id those cards name, so head office can make them valid at
    // every terminal. Never the demo's key: its seed is public.
    // Keys by purpose: a fresh request-signing key always; the card key
    // apart from it (the one that already signed cards, or a fresh one).
    let local_key = on_store(store, |s| s.local_card_key(&[crate::demo::DEMO_CARD_SEED])).await?;
    let key = tillcard_protocol::auth::generate_signing_key();
    let (card_seed, card_key_id) = match local_key {
        Some((id, seed)) => (seed, Some(id)),
        None => (
            tillcard_protocol::auth::generate_signing_key().to_bytes(),
            None,
        ),
    };
    let card_public = ed25519_dalek::SigningKey::from_bytes(&card_seed).verifying_key();
    let body = client::redeem_request_with_keys(
        code,
        &key,
        Some(&card_public),
        card_key_id,
        configured_store.as_deref(),
    )
    .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let http = http_client(None, pin)?;
    let answer = send(
        &http,
        base_url,
        SignedRequest {
            method: "POST",
            path_and_query: client::REDEEM_PATH.to_string(),
            headers: Vec::new(),
            body,
        },
    )
    .await?;
    let provisioned =
        client::decode_provisioned(&answer).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    on_store(store, move |s| {
        s.provision_with_card_key(key, Some(card_seed), &provisioned, approval.as_ref(), pin)
    })
    .await?;
    tracing::info!(pinned = pin.is_some(), "provisioned with head office");
    Ok(())
}

/// A clerk head office set up chooses their PIN with the setup code head
/// office showed: the PIN is hashed here (Argon2id), the hash sealed to
/// head office, and head office's answer (the clerk, the hash sealed back
/// to this terminal) applied at once. Then the clerk signs in with it.
pub async fn set_pin(
    store: &StoreHandle,
    base_url: &str,
    staff_id: String,
    setup_code: String,
    pin: String,
    unix_now: i64,
) -> Result<Clerk, UplinkError> {
    check_head_office_url(base_url)?;
    let (credentials, pin_hash, hq_pin) = {
        let pin = pin.clone();
        let staff_id = staff_id.clone();
        on_store(store, move |s| {
            let credentials = s.credentials().cloned().ok_or(StoreError::Damaged(
                "a PIN set-up before registration".into(),
            ))?;
            // A clerk not on this terminal yet is held to the stricter
            // (manager) policy.
            let role = match s.clerk_role(&staff_id) {
                Ok(role) => role,
                Err(StoreError::UnknownClerk) => crate::store::clerks::Role::Manager,
                Err(e) => return Err(e),
            };
            Ok((
                credentials,
                s.hash_new_pin(&pin, role)?,
                s.head_office_pin()?,
            ))
        })
        .await?
    };
    let request = credentials
        .set_pin_request(&staff_id, &setup_code, &pin_hash, unix_now)
        .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let answer = send(&http_client(None, hq_pin)?, base_url, request).await?;
    let staff: StaffSnapshot =
        wire::decode(&answer).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let clerk = on_store(store, move |s| {
        s.apply_staff(&staff)?;
        s.login(&staff_id, &pin)
    })
    .await?;
    tracing::info!(staff = %clerk.id(), "PIN set with a setup code");
    Ok(clerk)
}
