//! The `Store` trait's test hooks on SQLite (feature `test-support`, never
//! in the release binary): row counts, a search of every column's text
//! (erasure checks), and a simulated restore from an older backup.

use rusqlite::{Connection, params};
use tillcard_protocol::wire::TerminalId;

use crate::store::{Counts, StoreResult, from_sql_int, to_sql_int};

/// Row counts.
pub(super) fn counts(c: &Connection) -> StoreResult<Counts> {
    let count = |sql: &str| -> StoreResult<u64> {
        Ok(from_sql_int(c.query_row(sql, [], |r| r.get::<_, i64>(0))?))
    };
    Ok(Counts {
        events: count("SELECT count(*) FROM events")?,
        ledger: count("SELECT count(*) FROM ledger")?,
        dead_letters: count("SELECT count(*) FROM dead_letters")?,
        conflicts: count("SELECT count(*) FROM conflicts")?,
    })
}

/// The `table.column`s with a value whose text contains `needle`.
pub(super) fn find_text(c: &Connection, needle: &str) -> StoreResult<Vec<String>> {
    let tables: Vec<String> = {
        let mut stmt = c.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut hits = Vec::new();
    for table in tables {
        let columns: Vec<String> = {
            let mut stmt = c.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        for column in columns {
            let found: i64 = c.query_row(
                &format!(
                    "SELECT count(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE '%' || ?1 || '%'"
                ),
                params![needle],
                |r| r.get(0),
            )?;
            if found > 0 {
                hits.push(format!("{table}.{column}"));
            }
        }
    }
    Ok(hits)
}

/// Makes head office look restored from a backup taken when only events
/// 1..=keep of `terminal` were stored, in one transaction.
pub(super) fn simulate_restore(
    c: &mut Connection,
    terminal: TerminalId,
    keep: u64,
) -> StoreResult<()> {
    let tx = c.transaction()?;
    let (t, k) = (terminal.to_string(), to_sql_int(keep));
    tx.execute(
        "DELETE FROM events WHERE terminal_id = ?1 AND seq > ?2",
        params![t, k],
    )?;
    tx.execute(
        "DELETE FROM ledger WHERE terminal_id = ?1 AND seq > ?2",
        params![t, k],
    )?;
    tx.execute(
        "DELETE FROM dead_letters WHERE terminal_id = ?1 AND seq > ?2",
        params![t, k],
    )?;
    tx.execute("UPDATE members SET account = NULL, tier = NULL", [])?;
    tx.execute(
        "DELETE FROM sales WHERE terminal_id = ?1 AND seq > ?2",
        params![t, k],
    )?;
    tx.execute(
        "DELETE FROM refunds WHERE terminal_id = ?1 AND seq > ?2",
        params![t, k],
    )?;
    tx.execute(
        "UPDATE terminals SET acked_seq = ?2 WHERE terminal_id = ?1",
        params![t, k],
    )?;
    tx.commit()?;
    Ok(())
}
