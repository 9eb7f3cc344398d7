//! The PostgreSQL backend's own unit tests: the lock budget, and the batch
//! statement's parameters in every shape (no server needed).

use std::collections::BTreeSet;

use uuid::Uuid;

use super::batch::{Columns, IdText, batch_statement};
use super::locks::{OTHER_LOCKS_PER_BATCH, key_lock_budget};

#[test]
fn the_lock_budget_leaves_half_the_servers_lock_table_to_others() {
    // PostgreSQL's defaults: 64 locks per transaction x 100 connections.
    let budget = key_lock_budget(6_400, 16);
    assert_eq!(budget, 160);
    // The pool's batches at the budget, each with its other locks, fill
    // at most half of the table, whatever the pool's size.
    for pool in [1, 4, 6, 16, 32] {
        let budget = key_lock_budget(6_400, pool);
        assert!(pool * (budget + OTHER_LOCKS_PER_BATCH) <= 6_400 / 2);
    }
    assert_eq!(key_lock_budget(6_400, 6), 493);
    // A bigger table, a bigger budget; a tiny one leaves none (every
    // batch with a member then takes the wide lock).
    assert_eq!(key_lock_budget(128 * 400, 16), 1_560);
    assert_eq!(key_lock_budget(640, 16), 0);
    assert_eq!(key_lock_budget(-1, 16), 0);
}

/// The `$n` a statement names, each once.
fn named_parameters(sql: &str) -> BTreeSet<usize> {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn every_shape_of_batch_statement_names_each_of_its_parameters() {
    let id = IdText(Uuid::nil());
    // Events, dead letters, chunks, sales, refunds, conflicts, members,
    // enrollments, changes: each present or not.
    for shape in 0u32..512 {
        let has = |part: u32| shape & (1 << part) != 0;
        let mut c = Columns::default();
        if has(0) {
            c.event_seqs.push(1);
        }
        if has(1) {
            c.dead_seqs.push(2);
        }
        if has(2) {
            c.chunk_members.push(id);
        }
        if has(3) {
            c.sale_ids.push(id);
        }
        if has(4) {
            c.refund_ids.push(id);
        }
        if has(5) {
            c.conflict_members.push(id);
        }
        if has(6) {
            c.member_ids.push(id);
        }
        if has(7) {
            c.member_enrolled_ms.push(Some(0));
        }
        if has(8) {
            c.changed.push(id);
        }
        let (sql, params) = batch_statement(&c);
        let named = named_parameters(&sql);
        assert_eq!(
            named,
            (1..=params.len()).collect::<BTreeSet<_>>(),
            "shape {shape:09b}: {sql}"
        );
        for (part, table) in [
            (0, "INSERT INTO events"),
            (1, "INSERT INTO dead_letters"),
            (2, "INSERT INTO ledger"),
            (3, "INSERT INTO sales"),
            (4, "INSERT INTO refunds"),
            (5, "INSERT INTO conflicts"),
            (6, "INSERT INTO members"),
            (8, "INSERT INTO changes"),
        ] {
            assert_eq!(sql.contains(table), has(part), "shape {shape:09b}: {sql}");
        }
        assert_eq!(
            sql.contains("enrolled_on"),
            has(6) && has(7),
            "shape {shape:09b}: {sql}"
        );
        assert!(sql.contains("UPDATE terminals SET acked_seq"));
    }
}
