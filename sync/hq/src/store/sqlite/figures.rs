//! The figures' SQL on SQLite: exact sums, the aggregates of
//! [`FigureRows`] and the terminals' sync rows, all read in one snapshot.

use rusqlite::{Connection, Transaction, params};
use tillcard_rules::MemberAccount;

use super::batch::load_entries;
use crate::figures::{
    AccountRow, ActivityRows, AgeCount, CONFLICTS_SHOWN, FigureQuery, FigureRows, SalesRows,
    TerminalRow,
};
use crate::store::rows::{
    columns, conflict_item_from_row, refund_from_row, refunded_sale_from_row, terminal_row_from_row,
};
use crate::store::{StoreResult, from_sql_int, parse_json, parse_member};

/// SQLite's `sum()` of integers fails with "integer overflow" past `i64`
/// (two members holding 2^62 fen each), and `total()` is a float. An exact
/// sum as two columns that cannot overflow: the sum of the billions and the
/// sum of the remainders (each term below 10^9 in magnitude), read back by
/// [`read_exact_sum`]. Each column overflows only past 9 x 10^9 rows at the
/// largest bounded value.
pub(super) fn exact_sum(expression: &str) -> String {
    format!(
        "coalesce(sum(({expression}) / {EXACT_SUM_SPLIT}), 0), \
         coalesce(sum(({expression}) % {EXACT_SUM_SPLIT}), 0)"
    )
}

/// What [`exact_sum`] splits on.
const EXACT_SUM_SPLIT: i64 = 1_000_000_000;

/// The sum [`exact_sum`] wrote at columns `index` and `index + 1`.
pub(super) fn read_exact_sum(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<i128> {
    let billions: i64 = row.get(index)?;
    let rest: i64 = row.get(index + 1)?;
    Ok(i128::from(billions) * i128::from(EXACT_SUM_SPLIT) + i128::from(rest))
}

/// The figures' rows, in one read transaction (a consistent snapshot).
pub(super) fn figure_rows(tx: &Transaction<'_>, q: &FigureQuery) -> StoreResult<FigureRows> {
    let mut rows = FigureRows::default();
    // Members whose summary is there and whose points have not started to
    // expire are summed here; the others are folded by the caller.
    let summed = "tier IS NOT NULL AND (points_min_expiry_ms IS NULL OR points_min_expiry_ms > ?1)";
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT tier, count(*) FROM members WHERE {summed} AND erased_at IS NULL
             GROUP BY tier ORDER BY tier"
        ))?;
        rows.tiers = stmt
            .query_map(params![q.now_ms], |r| {
                Ok((r.get::<_, i64>(0)?, from_sql_int(r.get(1)?)))
            })?
            .collect::<Result<_, _>>()?;
    }
    (rows.sv_principal, rows.sv_bonus, rows.points) = tx.query_row(
        &format!(
            "SELECT {}, {}, {} FROM members WHERE {summed}",
            exact_sum("sv_principal"),
            exact_sum("sv_bonus"),
            exact_sum("points_positive + points_debt"),
        ),
        params![q.now_ms],
        |r| {
            Ok((
                read_exact_sum(r, 0)?,
                read_exact_sum(r, 2)?,
                read_exact_sum(r, 4)?,
            ))
        },
    )?;
    let unsummed: Vec<(String, Option<String>, bool)> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT member_id, account, erased_at IS NOT NULL FROM members WHERE NOT ({summed})"
        ))?;
        stmt.query_map(params![q.now_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    for (member, account, erased) in unsummed {
        let member = parse_member(&member)?;
        let account = match account {
            Some(json) => parse_json(&json)?,
            None => MemberAccount::fold(MemberAccount::new(member), &load_entries(tx, member)?),
        };
        rows.accounts.push(AccountRow { account, erased });
    }
    {
        let mut stmt = tx.prepare(
            "SELECT enrolled_on, count(*) FROM members
             WHERE enrolled_on >= ?1 AND enrolled_on <= ?2 AND enrolled_at_ms <= ?3
             GROUP BY enrolled_on ORDER BY enrolled_on",
        )?;
        rows.enrollments = stmt
            .query_map(params![q.first_day, q.last_day, q.now_ms], |r| {
                Ok((r.get::<_, String>(0)?, from_sql_int(r.get(1)?)))
            })?
            .collect::<Result<_, _>>()?;
    }
    rows.activity = tx.query_row(
        "SELECT
            coalesce(sum(CASE WHEN s.last_ms > ?2 THEN 1 ELSE 0 END), 0),
            coalesce(sum(CASE WHEN s.last_ms <= ?2 THEN 1 ELSE 0 END), 0),
            coalesce(sum(CASE WHEN s.last_ms IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= ?2) THEN 1 ELSE 0 END), 0),
            coalesce(sum(CASE WHEN s.last_ms IS NULL AND m.enrolled_at_ms > ?2 THEN 1 ELSE 0 END), 0)
         FROM members m LEFT JOIN (
            SELECT member_id, max(at_ms) AS last_ms FROM sales
            WHERE member_id IS NOT NULL AND at_ms <= ?1 GROUP BY member_id
         ) s ON s.member_id = m.member_id
         WHERE m.erased_at IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= ?1)",
        params![q.now_ms, q.active_since_ms],
        |r| {
            Ok(ActivityRows {
                active: from_sql_int(r.get(0)?),
                lapsed: from_sql_int(r.get(1)?),
                never_purchased_old: from_sql_int(r.get(2)?),
                never_purchased_new: from_sql_int(r.get(3)?),
            })
        },
    )?;
    rows.sales = tx.query_row(
        &format!(
            "SELECT {},
                coalesce(sum(CASE WHEN member_id IS NOT NULL THEN 1 ELSE 0 END), 0),
                {},
                coalesce(sum(CASE WHEN member_id IS NULL THEN 1 ELSE 0 END), 0)
             FROM sales WHERE at_ms > ?1 AND at_ms <= ?2",
            exact_sum("CASE WHEN member_id IS NOT NULL THEN total_fen ELSE 0 END"),
            exact_sum("CASE WHEN member_id IS NULL THEN total_fen ELSE 0 END"),
        ),
        params![q.sales_since_ms, q.now_ms],
        |r| {
            Ok(SalesRows {
                member_fen: read_exact_sum(r, 0)?,
                member_count: from_sql_int(r.get(2)?),
                walk_in_fen: read_exact_sum(r, 3)?,
                walk_in_count: from_sql_int(r.get(5)?),
            })
        },
    )?;
    {
        let window = "SELECT sale_id FROM refunds WHERE at_ms > ?1 AND at_ms <= ?2";
        let mut stmt = tx.prepare(&format!(
            "SELECT {} FROM sales WHERE sale_id IN ({window})",
            columns!(refunded_sale)
        ))?;
        rows.refunded_sales = stmt
            .query_and_then(params![q.sales_since_ms, q.now_ms], |row| {
                refunded_sale_from_row(row)
            })?
            .collect::<StoreResult<_>>()?;
        let mut stmt = tx.prepare(&format!(
            "SELECT {} FROM refunds WHERE sale_id IN ({window})",
            columns!(refund)
        ))?;
        rows.refunds = stmt
            .query_and_then(params![q.sales_since_ms, q.now_ms], |row| {
                refund_from_row(row)
            })?
            .collect::<StoreResult<_>>()?;
    }
    (rows.buyers, rows.repeat_buyers) = tx.query_row(
        "SELECT count(*), coalesce(sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 0) FROM (
            SELECT member_id, count(*) AS n FROM sales
            WHERE member_id IS NOT NULL AND at_ms > ?1 AND at_ms <= ?2 GROUP BY member_id)",
        params![q.sales_since_ms, q.now_ms],
        |r| Ok((from_sql_int(r.get(0)?), from_sql_int(r.get(1)?))),
    )?;
    rows.terminals = terminal_rows(tx)?;
    {
        let mut stmt = tx.prepare(concat!(
            "SELECT ",
            columns!(conflict),
            " FROM conflicts
             ORDER BY conflict_no DESC LIMIT ?1"
        ))?;
        rows.conflicts = stmt
            .query_and_then(
                params![i64::try_from(CONFLICTS_SHOWN).unwrap_or(i64::MAX)],
                |row| conflict_item_from_row(row),
            )?
            .collect::<StoreResult<_>>()?;
    }
    rows.conflicts_total =
        from_sql_int(tx.query_row("SELECT count(*) FROM conflicts", [], |r| r.get(0))?);
    {
        let mut stmt = tx.prepare(crate::store::review::REVIEW_AGES_SQL)?;
        rows.review_ages = stmt
            .query_map(params![q.day_ago, q.week_ago], |r| {
                Ok(AgeCount {
                    kind: r.get(0)?,
                    under_a_day: from_sql_int(r.get(1)?),
                    under_a_week: from_sql_int(r.get(2)?),
                    older: from_sql_int(r.get(3)?),
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(rows)
}

/// Every terminal's sync state, by store.
pub(super) fn terminal_rows(c: &Connection) -> StoreResult<Vec<TerminalRow>> {
    let mut stmt = c.prepare_cached(concat!(
        "SELECT ",
        columns!(terminal_row),
        "
         FROM terminals ORDER BY store, terminal_id"
    ))?;
    stmt.query_and_then([], |row| terminal_row_from_row(row))?
        .collect()
}
