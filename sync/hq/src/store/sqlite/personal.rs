//! Personal data stored in plain by head offices before encryption at rest
//! (migration 12), encrypted once at start-up: in transactions of
//! [`BATCH`] members, each member's fields sealed under a new data key and
//! its phone key recomputed under the KEK's lookup key, the plain values
//! emptied; then the plain columns dropped, the old phone-key setting
//! deleted and the file vacuumed, so the plain values leave its free pages
//! too. Nothing happens on a database without the plain columns.

use rusqlite::{Connection, params};
use tillcard_rules::ids::MemberId;
use tillcard_rules::pricing::MonthDay;

use crate::personal::{Personal, PersonalKeys};
use crate::store::{StoreResult, parse_json, parse_member};

/// Members encrypted per transaction.
const BATCH: usize = 1_000;

type PlainRow = (String, Option<String>, Option<String>, Option<String>);

/// Encrypts and drops the plain personal columns, if any; how many members
/// were encrypted.
pub(super) fn seal_plaintext_members(c: &mut Connection, keys: &PersonalKeys) -> StoreResult<u64> {
    let plain_columns: i64 = c.query_row(
        "SELECT count(*) FROM pragma_table_info('members')
         WHERE name IN ('phone', 'name', 'birthday')",
        [],
        |r| r.get(0),
    )?;
    if plain_columns == 0 {
        return Ok(0);
    }
    let mut sealed = 0u64;
    loop {
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows: Vec<PlainRow> = {
            let mut stmt = tx.prepare(
                "SELECT member_id, phone, name, birthday FROM members
                 WHERE phone IS NOT NULL OR name IS NOT NULL OR birthday IS NOT NULL
                 LIMIT ?1",
            )?;
            stmt.query_map(params![i64::try_from(BATCH).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?
        };
        if rows.is_empty() {
            break;
        }
        for (id, phone, name, birthday) in rows {
            let member: MemberId = parse_member(&id)?;
            let birthday: Option<MonthDay> = birthday.as_deref().map(parse_json).transpose()?;
            let phone_key = phone.as_deref().map(|p| keys.phone_key(p));
            let personal = Personal {
                phone,
                name,
                birthday,
            };
            let s = keys.seal(member, &personal);
            tx.execute(
                "UPDATE members SET phone_ct = ?2, name_ct = ?3, birthday_ct = ?4,
                    birthday_month = ?5, phone_key = ?6, phone = NULL, name = NULL,
                    birthday = NULL WHERE member_id = ?1",
                params![
                    id,
                    s.phone,
                    s.name,
                    s.birthday,
                    birthday.map(|b| b.month),
                    phone_key
                ],
            )?;
            tx.execute(
                "INSERT INTO member_keys (member_id, kek_version, wrapped_dek) VALUES (?1, ?2, ?3)
                 ON CONFLICT (member_id) DO UPDATE
                 SET kek_version = excluded.kek_version, wrapped_dek = excluded.wrapped_dek",
                params![id, s.key_version, s.wrapped_dek],
            )?;
            sealed += 1;
        }
        tx.commit()?;
    }
    let tx = c.transaction()?;
    for column in ["phone", "name", "birthday"] {
        tx.execute_batch(&format!("ALTER TABLE members DROP COLUMN {column}"))?;
    }
    // The HMAC key of the phone keys before (they are now under the KEK's
    // lookup key).
    tx.execute("DELETE FROM hq_settings WHERE key = 'phone_key'", [])?;
    tx.commit()?;
    c.execute_batch("VACUUM")?;
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(sealed)
}
