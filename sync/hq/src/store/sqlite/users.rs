//! Dashboard users and their sessions on SQLite: Argon2id hashes and
//! hashed session tokens, never a password or a token itself.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::rows::{columns, user_from_row};
use crate::store::{StoreResult, UserRecord};

/// A user by name.
pub(super) fn user(c: &Connection, username: &str) -> StoreResult<Option<UserRecord>> {
    let mut stmt = c.prepare_cached(concat!(
        "SELECT ",
        columns!(user),
        " FROM hq_users WHERE username = ?1"
    ))?;
    stmt.query_and_then(params![username], |row| user_from_row(row))?
        .next()
        .transpose()
}

/// A new session under the hash of its token.
pub(super) fn insert_session(
    c: &Connection,
    token_hash: &str,
    username: &str,
    expires_at_ms: i64,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO hq_sessions (token_hash, username, expires_at_ms) VALUES (?1, ?2, ?3)",
        params![token_hash, username, expires_at_ms],
    )?;
    Ok(())
}

/// Whose session this is, while it has not expired.
pub(super) fn session_user(
    c: &Connection,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<String>> {
    Ok(c.query_row(
        "SELECT username FROM hq_sessions WHERE token_hash = ?1 AND expires_at_ms > ?2",
        params![token_hash, now_ms],
        |r| r.get(0),
    )
    .optional()?)
}

/// Ends a session, and sweeps the expired ones.
pub(super) fn delete_session(c: &Connection, token_hash: &str, now_ms: i64) -> StoreResult<()> {
    c.execute(
        "DELETE FROM hq_sessions WHERE token_hash = ?1 OR expires_at_ms <= ?2",
        params![token_hash, now_ms],
    )?;
    Ok(())
}
