//! The database's collation, checked at start-up.
//!
//! Every key head office writes is an identifier (member, terminal, sale,
//! event, store code) compared as bytes: nothing sorts by a language's
//! rules (personal data is sealed; the console orders by ids and dates).
//! A database created under a language locale (`en_US.UTF-8`, even
//! `C.UTF-8` on PostgreSQL 15) compares every such key through the C
//! library's `strcoll` on each index step, and its indexes' order is only
//! as stable as that library: a glibc upgrade that changes collation
//! (2.28 did) silently leaves text indexes out of order. Under `C` keys
//! compare with `memcmp` and their order never changes. Measured on a
//! store's kind of batch (every sale another member): PostgreSQL's CPU per
//! event about 10% lower than under `C.UTF-8` (`sync/hq/README.md`).
//!
//! Head office does not change an existing database's collation (that
//! rebuilds every text index: an operator's decision, offline); it says so
//! at start-up, and `packaging/README.md` says how to create the database.

/// The current database's collation.
pub(super) const DATABASE_COLLATION: &str =
    "SELECT datcollate FROM pg_database WHERE datname = current_database()";

/// What to tell the operator about a database of collation `collate`:
/// nothing when keys compare as bytes.
pub(super) fn collation_advice(collate: &str) -> Option<String> {
    if matches!(collate, "C" | "POSIX") {
        return None;
    }
    Some(format!(
        "the database's collation is {collate}: identifiers compare through the C library's \
         locale rules on every index step, and text indexes depend on that library's \
         version; create the database with LC_COLLATE 'C' (packaging/README.md, \"PostgreSQL\")"
    ))
}

#[cfg(test)]
mod tests {
    use super::collation_advice;

    #[test]
    fn byte_order_collations_need_no_advice() {
        assert_eq!(collation_advice("C"), None);
        assert_eq!(collation_advice("POSIX"), None);
    }

    #[test]
    fn locale_collations_are_named_with_the_fix() {
        for collate in ["C.UTF-8", "en_US.UTF-8", "zh_CN.UTF-8"] {
            let advice = collation_advice(collate).unwrap_or_default();
            assert!(advice.contains(collate), "{advice}");
            assert!(advice.contains("LC_COLLATE 'C'"), "{advice}");
        }
    }
}
