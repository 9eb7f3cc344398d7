//! The downlink's scoping on PostgreSQL ([`crate::store::scope`]): member
//! changes fanned out to the stores in scope, one store's log read below
//! the horizon of running transactions, members seen on demand, scopes
//! lapsed by the daily job. A batch's own scope writes are part of its
//! one statement (`batch::statement`).

use deadpool_postgres::GenericClient;
use tillcard_rules::ids::{MemberId, Timestamp};

use super::PgStore;
use super::sql::execute_cached;
use crate::store::rows::{change_from_row, columns};
use crate::store::scope::{
    LapsePage, LogHeads, ScopeKey, ScopeRow, ScopeStore, fan_out_sql, scope_day,
};
use crate::store::{ChangeRow, StoreResult, parse_member};

/// A `member` change for each store in the member's scope (for every
/// terminal if no store has seen them).
pub(super) async fn push_member_change<C: GenericClient>(
    client: &C,
    member: MemberId,
) -> StoreResult<()> {
    execute_cached(
        client,
        &fan_out_sql("SELECT $1::text AS member_id"),
        &[&member.to_string()],
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl ScopeStore for PgStore {
    async fn changes_for(
        &self,
        store: &str,
        after: (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<ChangeRow>> {
        // Two index ranges (chain-wide, the store's), each limited, merged
        // in the log's order.
        let client = self.client().await?;
        let statement = client
            .prepare_cached(concat!(
                "WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS x)
                 SELECT * FROM (
                   (SELECT ",
                columns!(change with "xid"),
                " FROM changes, horizon WHERE store IS NULL AND (xid, position) > ($1, $2)
                      AND xid < horizon.x ORDER BY xid, position LIMIT $3)
                   UNION ALL
                   (SELECT ",
                columns!(change with "xid"),
                " FROM changes, horizon WHERE store = $4 AND (xid, position) > ($1, $2)
                      AND xid < horizon.x ORDER BY xid, position LIMIT $3)
                 ) AS page ORDER BY 1, 2 LIMIT $3"
            ))
            .await?;
        client
            .query(&statement, &[&after.0, &after.1, &limit, &store])
            .await?
            .iter()
            .map(change_from_row)
            .collect()
    }

    async fn changed_after_for(
        &self,
        store: &str,
        ids: &[MemberId],
        after: (i64, i64),
    ) -> StoreResult<Vec<MemberId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT DISTINCT member_id FROM changes
                 WHERE kind = 'member' AND member_id = ANY($1) AND (xid, position) > ($2, $3)
                   AND (store IS NULL OR store = $4)",
            )
            .await?;
        client
            .query(&statement, &[&list, &after.0, &after.1, &store])
            .await?
            .iter()
            .map(|row| parse_member(row.try_get(0)?))
            .collect()
    }

    async fn see_member(&self, store: &str, member: MemberId, now: Timestamp) -> StoreResult<()> {
        execute_cached(
            &self.client().await?,
            "INSERT INTO member_scope (member_id, store, seen_on, active) VALUES ($1, $2, $3, true)
             ON CONFLICT (member_id, store) DO UPDATE SET seen_on = EXCLUDED.seen_on, active = true
             WHERE member_scope.seen_on < EXCLUDED.seen_on OR NOT member_scope.active",
            &[&member.to_string(), &store, &scope_day(now)],
        )
        .await?;
        Ok(())
    }

    async fn lapse_scopes(
        &self,
        cutoff_day: &str,
        after: &ScopeKey,
        limit: i64,
    ) -> StoreResult<LapsePage> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // A range of the key; its due rows lapsed in key order, as batches
        // take scope rows (sorted members), so the job and a batch never
        // wait on each other in a cycle; rows a batch holds are skipped, to
        // lapse another day if still due.
        let rows = tx
            .query(
                "WITH page AS (
                   SELECT member_id, store, active AND seen_on < $1 AS due FROM member_scope
                    WHERE (member_id, store) > ($2, $3) ORDER BY member_id, store LIMIT $4),
                 due AS (
                   SELECT s.member_id, s.store FROM member_scope s
                     JOIN page p ON p.due AND s.member_id = p.member_id AND s.store = p.store
                    WHERE s.active AND s.seen_on < $1
                    ORDER BY s.member_id, s.store FOR UPDATE OF s SKIP LOCKED),
                 lapsed AS (
                   UPDATE member_scope s SET active = false FROM due
                    WHERE s.member_id = due.member_id AND s.store = due.store
                   RETURNING s.member_id, s.store),
                 forgotten AS (
                   INSERT INTO changes (kind, member_id, store)
                   SELECT 'forget', member_id, store FROM lapsed ORDER BY member_id, store
                   RETURNING 1)
                 SELECT (SELECT count(*) FROM page), (SELECT count(*) FROM forgotten),
                        last.member_id, last.store
                   FROM (SELECT 1) one
                   LEFT JOIN (SELECT member_id, store FROM page
                               ORDER BY member_id DESC, store DESC LIMIT 1) last ON true",
                &[&cutoff_day, &after.0, &after.1, &limit],
            )
            .await?;
        tx.commit().await?;
        let row = rows.first().ok_or_else(|| {
            crate::store::StoreError::Corrupt("the scope page answered no row".into())
        })?;
        let (read, lapsed): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let next = match (row.try_get(2)?, row.try_get(3)?) {
            (Some(member), Some(store)) if read >= limit => Some((member, store)),
            _ => None,
        };
        Ok(LapsePage {
            lapsed: usize::try_from(lapsed).unwrap_or(0),
            next,
        })
    }

    async fn log_heads(&self, mark: Option<i64>) -> StoreResult<LogHeads> {
        // Below the horizon, as `changes_for` reads: every transaction
        // before it has ended, so whatever is written later has a higher
        // xid, and the next reading starts at this horizon. The first
        // reading takes each store's last change by its index (one probe a
        // store), the later ones what was written since, in xid order.
        let client = self.client().await?;
        let rows = match mark {
            None => {
                let statement = client
                    .prepare_cached(
                        "WITH horizon AS MATERIALIZED
                           (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS x)
                         SELECT h.xid, h.position, h.kind, h.member_id, h.payload, h.store, horizon.x
                           FROM horizon LEFT JOIN LATERAL (
                             (SELECT xid, position, kind, member_id, payload, store FROM changes
                               WHERE store IS NULL AND xid < horizon.x
                               ORDER BY xid DESC, position DESC LIMIT 1)
                             UNION ALL
                             SELECT c.* FROM stores s CROSS JOIN LATERAL
                               (SELECT xid, position, kind, member_id, payload, store FROM changes
                                 WHERE store = s.code AND xid < horizon.x
                                 ORDER BY xid DESC, position DESC LIMIT 1) c
                           ) h ON true",
                    )
                    .await?;
                client.query(&statement, &[]).await?
            }
            Some(mark) => {
                let statement = client
                    .prepare_cached(
                        "WITH horizon AS MATERIALIZED
                           (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS x)
                         SELECT d.xid, d.position, d.kind, d.member_id, d.payload, d.store, horizon.x
                           FROM horizon LEFT JOIN LATERAL (
                             SELECT DISTINCT ON (store) xid, position, kind, member_id, payload, store
                               FROM changes WHERE xid >= $1 AND xid < horizon.x
                              ORDER BY store, xid DESC, position DESC
                           ) d ON true",
                    )
                    .await?;
                client.query(&statement, &[&mark]).await?
            }
        };
        let mut heads = LogHeads {
            mark: mark.unwrap_or(0),
            heads: Vec::with_capacity(rows.len()),
        };
        for row in &rows {
            heads.mark = heads.mark.max(row.try_get(6)?);
            if row.try_get::<_, Option<i64>>(1)?.is_some() {
                heads.heads.push((row.try_get(5)?, change_from_row(row)?));
            }
        }
        Ok(heads)
    }

    async fn scopes_of(&self, member: MemberId) -> StoreResult<Vec<ScopeRow>> {
        self.client()
            .await?
            .query(
                "SELECT store, seen_on, active FROM member_scope WHERE member_id = $1 ORDER BY store",
                &[&member.to_string()],
            )
            .await?
            .iter()
            .map(|row| {
                Ok(ScopeRow {
                    store: row.try_get(0)?,
                    seen_on: row.try_get(1)?,
                    active: row.try_get(2)?,
                })
            })
            .collect()
    }
}
