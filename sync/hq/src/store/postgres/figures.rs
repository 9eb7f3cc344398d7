//! The figures' SQL on PostgreSQL: the aggregates of [`FigureRows`], read
//! in one repeatable-read snapshot so the figures agree with each other,
//! with exact sums (`numeric`, read as `i128`), and every terminal's sync
//! state ([`terminal_rows`], also behind `/metrics`).

use deadpool_postgres::GenericClient;
use tillcard_rules::MemberAccount;
use tokio_postgres::Row;

use super::members::load_entries;
use super::sql::query_cached;
use crate::figures::{
    AccountRow, ActivityRows, AgeCount, CONFLICTS_SHOWN, FigureQuery, FigureRows, SalesRows,
    TerminalRow,
};
use crate::store::rows::{
    columns, conflict_item_from_row, refund_from_row, refunded_sale_from_row, terminal_row_from_row,
};
use crate::store::{StoreError, StoreResult, from_sql_int, parse_json, parse_member};

/// A sum PostgreSQL computed as `numeric` (exact whatever its size: the sum
/// of `bigint`s), sent as text and read as `i128`; casting it to `bigint`
/// failed once the chain's stored value passed 2^63 fen.
fn exact_sum(row: &Row, index: usize) -> StoreResult<i128> {
    let text: String = row.try_get(index)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("sum {text:?} is not an integer")))
}

/// A count column.
fn count(row: &Row, index: usize) -> StoreResult<u64> {
    Ok(from_sql_int(row.try_get(index)?))
}

/// The figures' rows, in one read-only repeatable-read transaction.
pub(super) async fn figure_rows(
    client: &mut deadpool_postgres::Object,
    query: &FigureQuery,
) -> StoreResult<FigureRows> {
    // One snapshot for every query, so the figures agree with each other.
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let rows = figure_rows_in_snapshot(&tx, query).await?;
    tx.commit().await?;
    Ok(rows)
}

/// The figures' rows, inside one repeatable-read transaction.
async fn figure_rows_in_snapshot<C: GenericClient>(
    c: &C,
    q: &FigureQuery,
) -> StoreResult<FigureRows> {
    let mut rows = FigureRows::default();
    // Members whose summary is there and whose points have not started to
    // expire are summed here; the others are folded by the caller.
    let summed = "tier IS NOT NULL AND (points_min_expiry_ms IS NULL OR points_min_expiry_ms > $1)";
    rows.tiers = c
        .query(
            &format!(
                "SELECT tier, count(*) FROM members WHERE {summed} AND erased_at IS NULL
                 GROUP BY tier ORDER BY tier"
            ),
            &[&q.now_ms],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<_, i64>(0)?, count(r, 1)?)))
        .collect::<StoreResult<_>>()?;
    let r = c
        .query_one(
            &format!(
                "SELECT coalesce(sum(sv_principal), 0)::text, coalesce(sum(sv_bonus), 0)::text,
                    coalesce(sum(points_positive + points_debt), 0)::text FROM members WHERE {summed}"
            ),
            &[&q.now_ms],
        )
        .await?;
    (rows.sv_principal, rows.sv_bonus, rows.points) =
        (exact_sum(&r, 0)?, exact_sum(&r, 1)?, exact_sum(&r, 2)?);
    let unsummed = c
        .query(
            &format!(
                "SELECT member_id, account, erased_at IS NOT NULL FROM members WHERE NOT ({summed})"
            ),
            &[&q.now_ms],
        )
        .await?;
    for r in unsummed {
        let member = parse_member(r.try_get(0)?)?;
        let account = match r.try_get::<_, Option<&str>>(1)? {
            Some(json) => parse_json(json)?,
            None => {
                MemberAccount::fold(MemberAccount::new(member), &load_entries(c, member).await?)
            }
        };
        rows.accounts.push(AccountRow {
            account,
            erased: r.try_get(2)?,
        });
    }
    rows.enrollments = c
        .query(
            "SELECT enrolled_on, count(*) FROM members
             WHERE enrolled_on >= $1 AND enrolled_on <= $2 AND enrolled_at_ms <= $3
             GROUP BY enrolled_on ORDER BY enrolled_on",
            &[&q.first_day, &q.last_day, &q.now_ms],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<_, String>(0)?, count(r, 1)?)))
        .collect::<StoreResult<_>>()?;
    let r = c
        .query_one(
            "SELECT
                count(*) FILTER (WHERE s.last_ms > $2),
                count(*) FILTER (WHERE s.last_ms <= $2),
                count(*) FILTER (WHERE s.last_ms IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= $2)),
                count(*) FILTER (WHERE s.last_ms IS NULL AND m.enrolled_at_ms > $2)
             FROM members m LEFT JOIN (
                SELECT member_id, max(at_ms) AS last_ms FROM sales
                WHERE member_id IS NOT NULL AND at_ms <= $1 GROUP BY member_id
             ) s ON s.member_id = m.member_id
             WHERE m.erased_at IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= $1)",
            &[&q.now_ms, &q.active_since_ms],
        )
        .await?;
    rows.activity = ActivityRows {
        active: count(&r, 0)?,
        lapsed: count(&r, 1)?,
        never_purchased_old: count(&r, 2)?,
        never_purchased_new: count(&r, 3)?,
    };
    let r = c
        .query_one(
            "SELECT
                coalesce(sum(total_fen) FILTER (WHERE member_id IS NOT NULL), 0)::text,
                count(*) FILTER (WHERE member_id IS NOT NULL),
                coalesce(sum(total_fen) FILTER (WHERE member_id IS NULL), 0)::text,
                count(*) FILTER (WHERE member_id IS NULL)
             FROM sales WHERE at_ms > $1 AND at_ms <= $2",
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?;
    rows.sales = SalesRows {
        member_fen: exact_sum(&r, 0)?,
        member_count: count(&r, 1)?,
        walk_in_fen: exact_sum(&r, 2)?,
        walk_in_count: count(&r, 3)?,
    };
    // Sales refunded in the window, and every refund of those sales.
    let window = "SELECT sale_id FROM refunds WHERE at_ms > $1 AND at_ms <= $2";
    rows.refunded_sales = c
        .query(
            &format!(
                "SELECT {} FROM sales WHERE sale_id IN ({window})",
                columns!(refunded_sale)
            ),
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?
        .iter()
        .map(refunded_sale_from_row)
        .collect::<StoreResult<_>>()?;
    rows.refunds = c
        .query(
            &format!(
                "SELECT {} FROM refunds WHERE sale_id IN ({window})",
                columns!(refund)
            ),
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?
        .iter()
        .map(refund_from_row)
        .collect::<StoreResult<_>>()?;
    let r = c
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (
                SELECT member_id, count(*) AS n FROM sales
                WHERE member_id IS NOT NULL AND at_ms > $1 AND at_ms <= $2 GROUP BY member_id) b",
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?;
    (rows.buyers, rows.repeat_buyers) = (count(&r, 0)?, count(&r, 1)?);
    rows.terminals = terminal_rows(c).await?;
    let shown = i64::try_from(CONFLICTS_SHOWN).unwrap_or(i64::MAX);
    rows.conflicts = c
        .query(
            concat!(
                "SELECT ",
                columns!(conflict),
                " FROM conflicts
             ORDER BY conflict_no DESC LIMIT $1"
            ),
            &[&shown],
        )
        .await?
        .iter()
        .map(conflict_item_from_row)
        .collect::<StoreResult<_>>()?;
    rows.conflicts_total = count(
        &c.query_one("SELECT count(*) FROM conflicts", &[]).await?,
        0,
    )?;
    rows.review_ages = c
        .query(
            crate::store::review::REVIEW_AGES_SQL,
            &[&q.day_ago, &q.week_ago],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(AgeCount {
                kind: r.try_get(0)?,
                under_a_day: count(r, 1)?,
                under_a_week: count(r, 2)?,
                older: count(r, 3)?,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(rows)
}

/// Every terminal's sync state, by store.
pub(super) async fn terminal_rows<C: GenericClient>(c: &C) -> StoreResult<Vec<TerminalRow>> {
    query_cached(
        c,
        concat!(
            "SELECT ",
            columns!(terminal_row),
            "
         FROM terminals ORDER BY store, terminal_id"
        ),
        &[],
    )
    .await?
    .iter()
    .map(terminal_row_from_row)
    .collect()
}

/// How far the database `c` is on trails its primary, in milliseconds
/// (none on a primary). Caught up: a receiver streaming from the primary
/// and everything it received replayed. Otherwise the age of the last
/// transaction replayed (since the server started when none was). The
/// receiver's status needs `pg_read_all_stats` (or a superuser): without
/// it a caught-up standby reads as that age, never as fresher than it is.
pub(super) async fn standby_behind_ms<C: GenericClient>(c: &C) -> StoreResult<Option<i64>> {
    let row = c
        .query_one(
            "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL
               WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
               THEN 0::bigint
               ELSE (extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(),
                                                        pg_postmaster_start_time())) * 1000)::bigint
             END",
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}
