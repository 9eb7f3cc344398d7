//! Talking to head office outside the uplink's rounds: registering this
//! terminal (the address then saved and the store re-keyed), a clerk's PIN
//! set with a setup code, and a member fetched on demand, each answered
//! through the sink.

use std::sync::PoisonError;

use super::{Terminal, registered_url_path, snapshot};
use crate::counter::messages::HeadOfficeRefusal;
use crate::counter::{Done, Input};
use crate::saved_files::SavedFiles;
use crate::store::clerks::Approval;
use crate::uplink::UplinkError;
use tillcard_protocol::enrollment::CertificatePin;
use tillcard_rules::MemberId;

impl Terminal {
    /// Opens a scanned member; one the store does not hold is admitted as
    /// the card's holder (served, balances unknown) first.
    pub(super) fn open_member(&self, member: MemberId, unknown_card: bool) {
        self.on_store(
            move |s| {
                if unknown_card {
                    s.admit_card_holder(member)?;
                }
                // A member whose card key head office withdrew is
                // handed the card head office signed for them.
                let mut found = snapshot(s, member)?;
                if let Some(found) = found.as_mut() {
                    found.new_card = s.head_office_card(found.id().0)?;
                }
                Ok(found)
            },
            Done::Member,
        );
    }

    /// A card whose member this terminal does not hold (issued at another
    /// store), scanned while head office is configured: the member is
    /// fetched and applied (`Uplink::fetch_member`), and the counter gets
    /// them again with known balances. Offline, or unknown at head office,
    /// nothing changes: the holder is served with balances unknown.
    pub(super) fn fetch_member(&self, member: MemberId) {
        let fetcher = {
            let slot = self.uplink.lock().unwrap_or_else(PoisonError::into_inner);
            match slot.as_ref() {
                Some(task) => task.fetcher.clone(),
                None => return,
            }
        };
        let store = self.store.clone();
        let sink = self.sink.clone();
        self.runtime.spawn(async move {
            match fetcher.fetch_member(member).await {
                Ok(true) => {
                    let _ = store.submit(
                        move |s| snapshot(s, member),
                        move |result| sink(Input::Done(Done::MemberFetched(result))),
                    );
                }
                Ok(false) => tracing::info!("a scanned member is not known at head office yet"),
                Err(error) => tracing::info!(%error, "a scanned member could not be fetched"),
            }
        });
    }

    /// Registers this terminal with head office with an enrollment code:
    /// remembers the address and renews the store key once registered.
    pub(super) fn provision(
        &self,
        url: String,
        code: String,
        approval: Option<Approval>,
        pin: Option<CertificatePin>,
    ) {
        let store = self.store.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let configured_store = self.config.head_office_store().map(str::to_owned);
        self.runtime.spawn(async move {
            let result = crate::uplink::provision_pinned(
                &store,
                &url,
                &code,
                configured_store,
                approval,
                pin,
            )
            .await
            .map(|()| url)
            .map_err(head_office_refusal);
            let _ = tx.send(result);
        });
        // Registered: remember the address and start syncing. Done
        // on a helper thread, which may wait for the answer.
        let sink = self.sink.clone();
        let path = registered_url_path(&self.config);
        let head_office = self.head_office.clone();
        let configured = self.config.head_office_url().is_some();
        let vault = self.vault.clone();
        let rekey_store = self.store.clone();
        let files = SavedFiles::of(&self.config);
        let _ = std::thread::Builder::new()
            .name("provision".into())
            .spawn(move || {
                let result = rx.recv().unwrap_or_else(|_| {
                    Err(HeadOfficeRefusal::Other(
                        "the registration was interrupted".into(),
                    ))
                });
                let result = result.and_then(|url| {
                    std::fs::write(&path, &url).map(|()| url).map_err(|e| {
                        HeadOfficeRefusal::Other(format!(
                            "registered, but the address was not saved: {e}"
                        ))
                    })
                });
                // Registered (anew): a new store key.
                let result = result.and_then(|url| {
                    crate::sealed_store::rekey(&vault, &rekey_store, files)
                        .map(|()| url)
                        .map_err(|e| {
                            HeadOfficeRefusal::Other(format!(
                                "registered, but the store key was not renewed: {e}"
                            ))
                        })
                });
                if let (Ok(url), false) = (&result, configured) {
                    *head_office.lock().unwrap_or_else(PoisonError::into_inner) = Some(url.clone());
                }
                sink(Input::Done(Done::Provisioned(result.map(|_| ()))));
            });
    }

    /// A clerk head office set up chooses their PIN with a setup code.
    pub(super) fn set_pin(&self, staff_id: String, setup_code: String, pin: String) {
        let Some(url) = self.head_office_url() else {
            (self.sink)(Input::Done(Done::PinSet(Err(
                HeadOfficeRefusal::Unreachable,
            ))));
            return;
        };
        let store = self.store.clone();
        let sink = self.sink.clone();
        let unix_now = self.clock.now().timestamp();
        self.runtime.spawn(async move {
            let result = crate::uplink::set_pin(&store, &url, staff_id, setup_code, pin, unix_now)
                .await
                .map_err(head_office_refusal);
            sink(Input::Done(Done::PinSet(result)));
        });
    }
}

/// An uplink failure as the counter's flows tell it apart.
fn head_office_refusal(error: UplinkError) -> HeadOfficeRefusal {
    match error {
        UplinkError::Unreachable(_) | UplinkError::Server(_) => HeadOfficeRefusal::Unreachable,
        UplinkError::Refused { code, detail, .. } => HeadOfficeRefusal::Refused { code, detail },
        UplinkError::Store(e) => HeadOfficeRefusal::Store(e),
        UplinkError::Address(problem) => HeadOfficeRefusal::Address(problem),
        UplinkError::Certificate(problem) => HeadOfficeRefusal::Certificate(problem),
        other => HeadOfficeRefusal::Other(other.to_string()),
    }
}
