//! Head office's settings on PostgreSQL (`hq_settings`): the keys it
//! generates once at first start and reads at every start.

use deadpool_postgres::GenericClient;

use crate::store::StoreResult;

/// A setting, if set.
pub(super) async fn setting<C: GenericClient>(
    client: &C,
    key: &str,
) -> StoreResult<Option<String>> {
    client
        .query_opt("SELECT value FROM hq_settings WHERE key = $1", &[&key])
        .await?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(Into::into)
}

/// Sets a setting unless already set; the value in force.
pub(super) async fn init_setting<C: GenericClient>(
    client: &C,
    key: &str,
    value: &str,
) -> StoreResult<String> {
    client
        .execute(
            "INSERT INTO hq_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &value],
        )
        .await?;
    Ok(client
        .query_one("SELECT value FROM hq_settings WHERE key = $1", &[&key])
        .await?
        .try_get(0)?)
}
