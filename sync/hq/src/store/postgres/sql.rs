//! The helpers every PostgreSQL statement of head office goes through:
//! running a query or a statement through the connection's statement cache,
//! and the parameter types. A leaf: it uses nothing else of the backend.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::store::StoreResult;

/// One parameter of a statement.
pub(super) type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);

/// A statement's parameters.
pub(super) type Params<'a> = &'a [Param<'a>];

// Statements on the hot path go through the connection's statement cache:
// an unprepared query costs an extra round trip (parse, then execute).

/// Runs a query, prepared once per connection; its rows.
pub(super) async fn query_cached<C: GenericClient>(
    client: &C,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Vec<Row>> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

/// Runs a statement, prepared once per connection; the rows it touched.
pub(super) async fn execute_cached<C: GenericClient>(
    client: &C,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<u64> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}
