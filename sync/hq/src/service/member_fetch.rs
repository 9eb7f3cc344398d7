//! A member fetched on demand (issue 23): a card from another store
//! scanned at a terminal that does not hold its member, while online. The
//! member joins the terminal's store's scope (`store::scope`) first, then
//! is read, so every change committed after the read reaches that store's
//! downlink too: the terminal holds them from now on as if enrolled there.
//!
//! The answer is the change a downlink page would carry for the member
//! (a snapshot, or an erasure), and the terminal applies it the same way.
//! A member head office does not know (an enrollment still on its way from
//! another store) is `404 not_found`, and nothing is recorded.

use std::collections::HashMap;

use tillcard_protocol::auth;
use tillcard_protocol::wire::Change;
use tillcard_rules::ids::MemberId;

use super::{Hq, now};
use crate::error::HqError;
use crate::store::TerminalRecord;

impl Hq {
    /// The member for a terminal that scanned their card, now in its
    /// store's scope ([module docs](self)).
    pub async fn fetch_member(
        &self,
        terminal: &TerminalRecord,
        member: MemberId,
    ) -> Result<Change, HqError> {
        if self.store.members_with_ledgers(&[member]).await?.is_empty() {
            return Err(HqError::NotFound);
        }
        self.store
            .see_member(&terminal.store, member, now())
            .await?;
        // Read after the scope is written: nothing committed later is lost.
        let Some((record, entries)) = self.store.members_with_ledgers(&[member]).await?.pop()
        else {
            return Err(HqError::NotFound);
        };
        let account = tillcard_rules::MemberAccount::fold(
            tillcard_rules::MemberAccount::new(member),
            &entries,
        );
        let folded = super::snapshots::FoldedMember { record, account };
        let lookup_key = auth::decode_32(&terminal.lookup_key).map_err(|_| {
            HqError::Internal(crate::store::StoreError::Corrupt("lookup key".into()))
        })?;
        let withdrawals = if folded.record.enrolled_by.is_some() {
            self.withdrawals().await?
        } else {
            HashMap::new()
        };
        self.metrics.downlink_members_fetched.inc();
        tracing::debug!(terminal = %terminal.terminal_id, store = %terminal.store, "member fetched on demand");
        self.member_change(&lookup_key, &folded, &withdrawals)
    }
}
