//! The downlink's scoping on SQLite ([`crate::store::scope`]): one
//! store's log read, scopes lapsed by the daily job. (Seeing members and
//! fanning their changes out happen inside a batch: `batch.rs`.)

use rusqlite::{Connection, params};
use tillcard_rules::ids::{MemberId, Timestamp};

use super::SqliteStore;
use super::batch::see;
use crate::store::rows::{change_from_row, columns};
use crate::store::scope::{LapsePage, LogHeads, ScopeKey, ScopeRow, ScopeStore, scope_day};
use crate::store::{ChangeRow, StoreResult, parse_member, to_json};

/// The log after `position` for `store`'s terminals: the two index ranges
/// (chain-wide, the store's) each read up to `limit`, merged in order.
pub(super) fn changes_for(
    c: &Connection,
    store: &str,
    position: i64,
    limit: i64,
) -> StoreResult<Vec<ChangeRow>> {
    let mut rows = Vec::new();
    // `store IS ?3` is true for NULL = NULL: the first range is the
    // chain-wide one, the second the store's.
    for scope in [None, Some(store)] {
        let mut stmt = c.prepare_cached(concat!(
            "SELECT ",
            columns!(change with "0"),
            " FROM changes WHERE store IS ?3 AND position > ?1 ORDER BY position LIMIT ?2"
        ))?;
        for row in stmt.query_and_then(params![position, limit, scope], |r| change_from_row(r))? {
            rows.push(row?);
        }
    }
    rows.sort_by_key(|r| r.position);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(rows)
}

/// Those of `ids` with a member change for `store` or every terminal after
/// `position`.
pub(super) fn changed_after_for(
    c: &Connection,
    store: &str,
    ids: &[MemberId],
    position: i64,
) -> StoreResult<Vec<MemberId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = to_json(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let mut stmt = c.prepare_cached(
        "SELECT DISTINCT member_id FROM changes
         WHERE kind = 'member' AND position > ?2 AND (store IS NULL OR store = ?3)
           AND member_id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt
        .query_map(params![list, position, store], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.iter().map(|m| parse_member(m)).collect()
}

/// Each scope's last change after position `mark` (writers are serialized,
/// so a change written later has a higher position).
pub(super) fn log_heads(c: &Connection, mark: Option<i64>) -> StoreResult<LogHeads> {
    let mark = mark.unwrap_or(0);
    // SQLite takes the bare columns from the row holding the max().
    let mut stmt = c.prepare_cached(
        "SELECT 0, position, kind, member_id, payload, store, max(position) FROM changes
          WHERE position > ?1 GROUP BY store",
    )?;
    let mut heads = LogHeads {
        mark,
        heads: Vec::new(),
    };
    for row in stmt.query_and_then(params![mark], |r| {
        Ok::<_, crate::store::StoreError>((r.get::<_, Option<String>>(5)?, change_from_row(r)?))
    })? {
        let (store, change) = row?;
        heads.mark = heads.mark.max(change.position);
        heads.heads.push((store, change));
    }
    Ok(heads)
}

/// Up to `limit` scopes after `after`, those seen before `cutoff_day`
/// lapsed, each with its store's `forget` change, in one transaction.
fn lapse(
    c: &mut Connection,
    cutoff_day: &str,
    after: &ScopeKey,
    limit: i64,
) -> StoreResult<LapsePage> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let page: Vec<(String, String, bool)> = tx
        .prepare_cached(
            "SELECT member_id, store, active AND seen_on < ?1 FROM member_scope
              WHERE (member_id, store) > (?2, ?3) ORDER BY member_id, store LIMIT ?4",
        )?
        .query_map(params![cutoff_day, after.0, after.1, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut lapsed = 0;
    {
        let mut lapse = tx.prepare_cached(
            "UPDATE member_scope SET active = 0 WHERE member_id = ?1 AND store = ?2",
        )?;
        let mut forget = tx.prepare_cached(
            "INSERT INTO changes (kind, member_id, store) VALUES ('forget', ?1, ?2)",
        )?;
        for (member, store, _) in page.iter().filter(|(_, _, due)| *due) {
            lapse.execute(params![member, store])?;
            forget.execute(params![member, store])?;
            lapsed += 1;
        }
    }
    tx.commit()?;
    let next = if page.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
        None
    } else {
        page.last().map(|(m, s, _)| (m.clone(), s.clone()))
    };
    Ok(LapsePage { lapsed, next })
}

fn scopes_of(c: &Connection, member: MemberId) -> StoreResult<Vec<ScopeRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT store, seen_on, active FROM member_scope WHERE member_id = ?1 ORDER BY store",
    )?;
    let rows = stmt
        .query_map(params![member.to_string()], |r| {
            Ok(ScopeRow {
                store: r.get(0)?,
                seen_on: r.get(1)?,
                active: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[async_trait::async_trait]
impl ScopeStore for SqliteStore {
    async fn changes_for(
        &self,
        store: &str,
        after: (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<ChangeRow>> {
        let store = store.to_string();
        self.run(move |c| changes_for(c, &store, after.1, limit))
            .await
    }

    async fn changed_after_for(
        &self,
        store: &str,
        ids: &[MemberId],
        after: (i64, i64),
    ) -> StoreResult<Vec<MemberId>> {
        let (store, ids) = (store.to_string(), ids.to_vec());
        self.run(move |c| changed_after_for(c, &store, &ids, after.1))
            .await
    }

    async fn see_member(&self, store: &str, member: MemberId, now: Timestamp) -> StoreResult<()> {
        let store = store.to_string();
        self.run(move |c| see(c, &store, [member], &scope_day(now)))
            .await
    }

    async fn lapse_scopes(
        &self,
        cutoff_day: &str,
        after: &ScopeKey,
        limit: i64,
    ) -> StoreResult<LapsePage> {
        let (cutoff, after) = (cutoff_day.to_string(), after.clone());
        self.run(move |c| lapse(c, &cutoff, &after, limit)).await
    }

    async fn log_heads(&self, mark: Option<i64>) -> StoreResult<LogHeads> {
        self.run(move |c| log_heads(c, mark)).await
    }

    async fn scopes_of(&self, member: MemberId) -> StoreResult<Vec<ScopeRow>> {
        self.run(move |c| scopes_of(c, member)).await
    }
}
