//! Personal data stored in plain by head offices before encryption at rest
//! (migration 15), encrypted once at start-up: in transactions of
//! [`BATCH`] members, each member's fields sealed under a new data key and
//! its phone key recomputed under the KEK's lookup key, the plain values
//! emptied; then the plain columns dropped and the old phone-key setting
//! deleted. Under the migrations' lock, so two head offices starting
//! together do it once. Nothing happens on a database without the plain
//! columns. (The old row versions stay in the table's files until
//! PostgreSQL vacuums them: `VACUUM FULL members` rewrites the table now.)

use tillcard_rules::ids::MemberId;
use tillcard_rules::pricing::MonthDay;

use super::locks;
use crate::personal::{Personal, PersonalKeys};
use crate::store::{StoreResult, parse_json, parse_member};

/// Members encrypted per transaction.
const BATCH: i64 = 1_000;

/// Encrypts and drops the plain personal columns, if any; how many members
/// were encrypted.
pub(super) async fn seal_plaintext_members(
    client: &mut deadpool_postgres::Object,
    keys: &PersonalKeys,
) -> StoreResult<u64> {
    let mut sealed = 0u64;
    loop {
        let tx = client.transaction().await?;
        tx.execute(locks::LOCK_MIGRATIONS, &[]).await?;
        let plain_columns: i64 = tx
            .query_one(
                "SELECT count(*) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = 'members'
                   AND column_name IN ('phone', 'name', 'birthday')",
                &[],
            )
            .await?
            .try_get(0)?;
        if plain_columns == 0 {
            return Ok(sealed);
        }
        let rows = tx
            .query(
                "SELECT member_id, phone, name, birthday FROM members
                 WHERE phone IS NOT NULL OR name IS NOT NULL OR birthday IS NOT NULL
                 LIMIT $1",
                &[&BATCH],
            )
            .await?;
        if rows.is_empty() {
            tx.batch_execute(
                "ALTER TABLE members DROP COLUMN phone, DROP COLUMN name, DROP COLUMN birthday;
                 DELETE FROM hq_settings WHERE key = 'phone_key';",
            )
            .await?;
            tx.commit().await?;
            return Ok(sealed);
        }
        let update = tx
            .prepare(
                "UPDATE members SET phone_ct = $2, name_ct = $3, birthday_ct = $4,
                    birthday_month = $5, phone_key = $6, phone = NULL, name = NULL,
                    birthday = NULL WHERE member_id = $1",
            )
            .await?;
        let insert_key = tx
            .prepare(
                "INSERT INTO member_keys (member_id, kek_version, wrapped_dek) VALUES ($1, $2, $3)
                 ON CONFLICT (member_id) DO UPDATE
                 SET kek_version = EXCLUDED.kek_version, wrapped_dek = EXCLUDED.wrapped_dek",
            )
            .await?;
        for row in &rows {
            let id: String = row.try_get(0)?;
            let phone: Option<String> = row.try_get(1)?;
            let name: Option<String> = row.try_get(2)?;
            let birthday: Option<String> = row.try_get(3)?;
            let member: MemberId = parse_member(&id)?;
            let birthday: Option<MonthDay> = birthday.as_deref().map(parse_json).transpose()?;
            let phone_key = phone.as_deref().map(|p| keys.phone_key(p));
            let month = birthday.map(|b| i16::from(b.month));
            let s = keys.seal(
                member,
                &Personal {
                    phone,
                    name,
                    birthday,
                },
            );
            tx.execute(
                &update,
                &[&id, &s.phone, &s.name, &s.birthday, &month, &phone_key],
            )
            .await?;
            tx.execute(&insert_key, &[&id, &s.key_version, &s.wrapped_dek])
                .await?;
            sealed += 1;
        }
        tx.commit().await?;
    }
}
