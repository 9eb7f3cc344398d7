//! Dashboard users and their sessions on PostgreSQL: Argon2id hashes and
//! hashed session tokens, never a password or a token itself.

use deadpool_postgres::GenericClient;

use super::sql::{execute_cached, query_cached};
use crate::store::rows::{columns, user_from_row};
use crate::store::{StoreResult, UserRecord};

/// A user by name.
pub(super) async fn user<C: GenericClient>(
    client: &C,
    username: &str,
) -> StoreResult<Option<UserRecord>> {
    query_cached(
        client,
        concat!(
            "SELECT ",
            columns!(user),
            " FROM hq_users WHERE username = $1"
        ),
        &[&username],
    )
    .await?
    .first()
    .map(user_from_row)
    .transpose()
}

/// Stores a session (the token's SHA-256).
pub(super) async fn insert_session<C: GenericClient>(
    client: &C,
    token_hash: &str,
    username: &str,
    expires_at_ms: i64,
) -> StoreResult<()> {
    execute_cached(
        client,
        "INSERT INTO hq_sessions (token_hash, username, expires_at_ms) VALUES ($1, $2, $3)",
        &[&token_hash, &username, &expires_at_ms],
    )
    .await?;
    Ok(())
}

/// The user of an unexpired session, if any.
pub(super) async fn session_user<C: GenericClient>(
    client: &C,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<String>> {
    query_cached(
        client,
        "SELECT username FROM hq_sessions WHERE token_hash = $1 AND expires_at_ms > $2",
        &[&token_hash, &now_ms],
    )
    .await?
    .first()
    .map(|row| row.try_get(0))
    .transpose()
    .map_err(Into::into)
}

/// Ends a session, and every expired one.
pub(super) async fn delete_session<C: GenericClient>(
    client: &C,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<()> {
    execute_cached(
        client,
        "DELETE FROM hq_sessions WHERE token_hash = $1 OR expires_at_ms <= $2",
        &[&token_hash, &now_ms],
    )
    .await?;
    Ok(())
}
