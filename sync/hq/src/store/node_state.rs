//! What several head-office nodes on one database share besides the data
//! (issue 23): sign-in failure counts ([`super::throttles`]) and the
//! console's one-time notices by session. A trait of its own beside
//! [`super::Store`], which requires it; each backend keeps it in its
//! `node_state` file.

use super::StoreResult;
use super::throttles::{ThrottleRow, ThrottleRule};

/// What head-office nodes share.
#[async_trait::async_trait]
pub trait NodeStateStore {
    /// A sign-in failure count ([`super::throttles`]), if the key has one.
    async fn throttle(&self, key: &str) -> StoreResult<Option<ThrottleRow>>;
    /// Counts one failed sign-in under `key` by `rule` at `now_ms`, in one
    /// statement (nodes counting at once add up); the count after it.
    async fn count_failure(
        &self,
        key: &str,
        rule: ThrottleRule,
        now_ms: i64,
    ) -> StoreResult<ThrottleRow>;
    /// Forgets `key`'s count (a successful sign-in).
    async fn clear_throttle(&self, key: &str) -> StoreResult<()>;
    /// Keeps the console's one-time notice for a session (by its token's
    /// hash), replacing one not yet shown.
    async fn put_flash(&self, session_hash: &str, body: &str, now_ms: i64) -> StoreResult<()>;
    /// Takes the session's notice: read once, then gone.
    async fn take_flash(&self, session_hash: &str) -> StoreResult<Option<String>>;
}
