//! The downlink: a page of the change log for one terminal (its cursor
//! checked against the log, members' snapshots, staff and trust-bearing
//! changes signed by head office) and what head office holds of it.
//! Members are read and folded once for all terminals (`snapshots`); what
//! differs per terminal (the phone-lookup hash under its own key, a
//! re-issued card, head office's signature) is added per answer.

use std::collections::HashMap;
use std::sync::Arc;

use tillcard_rules::MemberAccount;
use tillcard_rules::ids::MemberId;

use super::snapshots::FoldedMember;
use super::{CHANGES_PAGE_LIMIT, Hq};
use crate::admin;
use crate::error::HqError;
use crate::store::TerminalRecord;
use tillcard_protocol::auth;
use tillcard_protocol::wire::{self, Change, ChangesPage, MemberSnapshot};

use super::poll_cache::row_check;

impl Hq {
    /// One page of the downlink for a terminal.
    pub async fn changes(
        &self,
        terminal: &TerminalRecord,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, HqError> {
        let (mut after, check) = match cursor {
            None => ((0, 0), None),
            Some(c) => {
                wire::cursor_parts(c).ok_or_else(|| HqError::BadRequest("unknown cursor".into()))?
            }
        };
        self.renew_card_key(terminal).await?;
        // The chain-wide changes and this terminal's store's
        // (`store::scope`). A checked cursor names the change it stopped
        // at, read here with the page (one statement): a head office
        // restored from a backup holds another change there, or none, and
        // starts this terminal's log again rather than skip what it lacks.
        let checked = check.filter(|_| after != (0, 0));
        let from = match checked {
            Some(_) => (after.0, after.1.saturating_sub(1)),
            None => after,
        };
        let limit = CHANGES_PAGE_LIMIT + i64::from(checked.is_some());
        let mut rows = self.store.changes_for(&terminal.store, from, limit).await?;
        let mut check = check.map(str::to_owned);
        let mut resync = false;
        if let Some(expected) = checked {
            let holds = rows.first().is_some_and(|row| {
                (row.xid, row.position) == after && row_check(row).eq_ignore_ascii_case(expected)
            });
            if holds {
                rows.remove(0);
            } else {
                tracing::warn!(
                    terminal = %terminal.terminal_id,
                    "downlink cursor names a change this head office does not hold (restored from a backup): the terminal's log starts again"
                );
                resync = true;
                after = (0, 0);
                check = None;
                rows = self
                    .store
                    .changes_for(&terminal.store, after, CHANGES_PAGE_LIMIT)
                    .await?;
            }
        }
        let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= CHANGES_PAGE_LIMIT;
        let last = rows.last().map_or(after, |r| (r.xid, r.position));
        if let Some(row) = rows.last() {
            check = Some(row_check(row));
        }
        let lookup_key = auth::decode_32(&terminal.lookup_key).map_err(|_| {
            HqError::Internal(crate::store::StoreError::Corrupt("lookup key".into()))
        })?;
        // A member or clerk changed several times in a page is sent once,
        // at its last place; a member changed again after this page is
        // left out here, sent once by the page that holds their last change
        // (a pull sends each member once, however many pages they changed
        // on).
        let mut last_place: HashMap<MemberId, (i64, i64)> = HashMap::new();
        let mut staff_last_place: HashMap<String, i64> = HashMap::new();
        for row in &rows {
            match (row.kind.as_str(), row.member) {
                ("member", Some(m)) => {
                    last_place.insert(m, (row.xid, row.position));
                }
                ("staff", _) => {
                    staff_last_place
                        .insert(self.staff_id_of(row.payload.as_deref())?, row.position);
                }
                _ => {}
            }
        }
        if !last_place.is_empty() {
            let in_page: Vec<MemberId> = last_place.keys().copied().collect();
            let later = self
                .store
                .changed_after_for(&terminal.store, &in_page, last)
                .await?;
            self.metrics
                .downlink_members_deferred
                .inc_by(later.len() as u64);
            for member in later {
                last_place.remove(&member);
            }
        }
        // Withdrawn card keys, read only for a page that sends members.
        let withdrawals = if last_place.is_empty() {
            HashMap::new()
        } else {
            self.withdrawals().await?
        };
        let folded = self.folded_members(&last_place, last).await?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            let bad = || {
                HqError::Internal(crate::store::StoreError::Corrupt(format!(
                    "change {}",
                    row.position
                )))
            };
            let payload = row.payload.as_deref().unwrap_or("null");
            match row.kind.as_str() {
                "program" => changes.push(Change::Program {
                    program: crate::store::parse_json(payload)?,
                    signature: None,
                }),
                "trusted_key" => changes.push(Change::TrustedKey {
                    key: crate::store::parse_json(payload)?,
                    signature: None,
                }),
                "revocation" => {
                    let r: admin::Revocation = crate::store::parse_json(payload)?;
                    changes.push(Change::Revocation {
                        member: r.member,
                        card_serial: r.card_serial,
                        signature: None,
                    });
                }
                "staff" => {
                    let staff_id = self.staff_id_of(row.payload.as_deref())?;
                    if staff_last_place.get(&staff_id) == Some(&row.position) {
                        changes.push(self.staff_change(terminal, &staff_id).await?);
                    }
                }
                "erasure" => changes.push(Change::Erasure {
                    member: row.member.ok_or_else(bad)?,
                }),
                "item" => changes.push(Change::Item {
                    item: crate::store::parse_json(payload)?,
                }),
                "forget" => changes.push(Change::Forget {
                    member: row.member.ok_or_else(bad)?,
                }),
                "member" => {
                    let member = row.member.ok_or_else(bad)?;
                    if last_place.get(&member) != Some(&(row.xid, row.position)) {
                        continue;
                    }
                    let Some(folded) = folded.get(&member) else {
                        continue;
                    };
                    changes.push(self.member_change(&lookup_key, folded, &withdrawals)?);
                }
                _ => {}
            }
        }
        // Trust-bearing changes carry head office's signature (the
        // chain-wide ones signed once for every terminal, `chain_signatures`);
        // the terminal applies them only if it verifies.
        for change in &mut changes {
            if self
                .chain_signatures
                .sign(change, &self.downlink_key, terminal.terminal_id)
            {
                self.metrics.downlink_signatures.inc();
            }
        }
        Ok(ChangesPage {
            changes,
            cursor: match check {
                Some(check) => wire::checked_cursor(last, &check),
                None => wire::cursor_from_position(last),
            },
            more,
            acked_seq: Some(terminal.acked_seq),
            resync,
        })
    }

    /// A member's change for a terminal: the snapshot with the phone-lookup
    /// hash under the terminal's key and a card re-issued for a withdrawn
    /// key, or an erasure.
    pub(super) fn member_change(
        &self,
        lookup_key: &[u8; 32],
        folded: &FoldedMember,
        withdrawals: &HashMap<tillcard_protocol::wire::TerminalId, u64>,
    ) -> Result<Change, HqError> {
        let record = &folded.record;
        let member = record.member;
        if record.erased {
            return Ok(Change::Erasure { member });
        }
        // A merged-away member keeps no phone on terminals: the phone finds
        // the survivor.
        let personal = self.personal_data(member, &record.personal)?;
        let phone = personal
            .phone
            .as_deref()
            .filter(|_| record.merged_into.is_none());
        let card = self.reissued_card(record, withdrawals);
        Ok(Change::Member {
            snapshot: Box::new(MemberSnapshot {
                member,
                masked_name: record.masked_name.clone(),
                masked_phone: record.masked_phone.clone(),
                phone_lookup: phone.map(|p| auth::phone_lookup(lookup_key, p)),
                birthday: personal.birthday,
                tags: record.tags.clone(),
                referrer: record.referrer,
                frozen: record.frozen,
                card_serial: (record.card_serial > 1).then_some(record.card_serial),
                merged_into: record.merged_into,
                card,
                account: folded.account.clone(),
            }),
        })
    }

    /// The members a page sends, each read and folded once for every
    /// terminal ([`super::snapshots`]): from the cache when a reading
    /// covers the member's change in this page, the rest in two set
    /// queries, kept as covering the page's end `covers`.
    pub(super) async fn folded_members(
        &self,
        last_place: &HashMap<MemberId, (i64, i64)>,
        covers: (i64, i64),
    ) -> Result<HashMap<MemberId, Arc<FoldedMember>>, HqError> {
        let mut folded = HashMap::with_capacity(last_place.len());
        let mut missing = Vec::new();
        for (&member, &change) in last_place {
            match self.snapshots.get(member, change) {
                Some(cached) => {
                    folded.insert(member, cached);
                }
                None => missing.push(member),
            }
        }
        let cached = folded.len() as u64;
        for (record, entries) in self.store.members_with_ledgers(&missing).await? {
            let member = record.member;
            let account = MemberAccount::fold(MemberAccount::new(member), &entries);
            let reading = Arc::new(FoldedMember { record, account });
            self.snapshots.put(member, covers, Arc::clone(&reading));
            folded.insert(member, reading);
        }
        self.metrics.downlink_members_cached.inc_by(cached);
        self.metrics
            .downlink_members_read
            .inc_by(missing.len() as u64);
        Ok(folded)
    }
}
