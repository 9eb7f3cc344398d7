//! The member cache: who this terminal knows, what a clerk may see of them,
//! and their accounts (head office's last snapshot plus this terminal's own
//! ledger entries, folded with the rules engine).
//!
//! The raw phone number is never stored: lookups go through a keyed hash
//! (HMAC-SHA256 under a key that never leaves the terminal), and clerks see
//! `138****5678`. Names are stored only masked (`张*`).

use hmac::{Hmac, Mac};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Sha256;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::booking;
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::pricing::{MemberProfile, MonthDay};
use tillcard_rules::program::TierLevel;
use tillcard_rules::{EntryKind, MemberId, SourceId};
use uuid::Uuid;

use super::clerks::Clerk;
use super::events::{Consent, EventBody};
use super::{Store, StoreError, audit, outbox};
use crate::format::{mask_name, mask_phone};

/// What a manager enters at the door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollRequest {
    /// Mobile number (11 digits starting with 1; spaces and dashes ignored).
    pub phone: String,
    /// Name, optional.
    pub name: Option<String>,
    /// Birthday month and day, optional.
    pub birthday: Option<MonthDay>,
    /// The member agreed to the privacy notice.
    pub consent: bool,
    /// The referrer's member id, if a referral card was scanned.
    pub referred_by: Option<MemberId>,
}

/// A member as a clerk may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The member.
    pub id: MemberId,
    /// `138****5678`.
    pub phone_masked: String,
    /// `张*`.
    pub name_masked: String,
    /// Birthday month and day.
    pub birthday: Option<MonthDay>,
    /// Referrer.
    pub referred_by: Option<MemberId>,
    /// Tags from head office (VIP, staff...).
    pub tags: Vec<String>,
    /// Whether balances are known here.
    pub balances_known: bool,
    /// Frozen by head office: no points or stored value redeemed.
    pub frozen: bool,
}

impl MemberRecord {
    /// What pricing needs.
    pub fn profile(&self) -> MemberProfile {
        MemberProfile {
            id: self.id,
            birthday: self.birthday,
            referred_by: self.referred_by,
            balances_known: self.balances_known,
            frozen: self.frozen,
        }
    }
}

/// Digits of a mainland mobile number, or `None` if it is not one.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let digits: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect::<String>();
    let digits = digits.strip_prefix("+86").unwrap_or(&digits).to_owned();
    (digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// The keyed hash a phone is looked up by.
pub(crate) fn phone_hash(key: &[u8; 32], normalized: &str) -> Result<Vec<u8>, StoreError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|e| StoreError::Database(format!("phone key: {e}")))?;
    mac.update(normalized.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

fn parse_member_id(text: &str) -> Result<MemberId, StoreError> {
    Uuid::parse_str(text)
        .map(MemberId)
        .map_err(|e| StoreError::Damaged(format!("member id: {e}")))
}

const MEMBER_COLUMNS: &str = "member_id, phone_masked, name_masked, birthday_month, birthday_day, referred_by, tags, balances_known, frozen, merged_into";

type MemberRow = (
    String,
    String,
    String,
    Option<u8>,
    Option<u8>,
    Option<String>,
    String,
    bool,
    bool,
    Option<String>,
);

fn member_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MemberRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn record(row: MemberRow) -> Result<MemberRecord, StoreError> {
    let (id, phone_masked, name_masked, month, day, referred_by, tags, balances_known, frozen, _) =
        row;
    Ok(MemberRecord {
        id: parse_member_id(&id)?,
        phone_masked,
        name_masked,
        birthday: month.zip(day).map(|(month, day)| MonthDay { month, day }),
        referred_by: referred_by.as_deref().map(parse_member_id).transpose()?,
        tags: serde_json::from_str(&tags)?,
        balances_known,
        frozen,
    })
}

/// How many merges a lookup follows (a merged account's survivor merged
/// again later); more is a loop, and the last member read is served.
const MERGE_HOPS: usize = 8;

/// Reads one member by id on any connection. An account head office
/// merged into another is served as that member (the survivor holds its
/// ledger): its card and id find the survivor.
pub(crate) fn find_by_id(
    conn: &Connection,
    id: MemberId,
) -> Result<Option<MemberRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE member_id = ?1"
    ))?;
    let mut key = id.0.to_string();
    let mut found = None;
    for _ in 0..MERGE_HOPS {
        let Some(row) = stmt.query_row([&key], member_from_row).optional()? else {
            break;
        };
        let survivor = row.9.clone();
        found = Some(row);
        match survivor {
            Some(survivor) => key = survivor,
            None => break,
        }
    }
    found.map(record).transpose()
}

/// The member's current tier: the newest tier change in the local ledger,
/// else the snapshot's, else the entry tier.
pub(crate) fn current_tier(conn: &Connection, id: MemberId) -> Result<TierLevel, StoreError> {
    let key = id.0.to_string();
    let change: Option<String> = conn
        .prepare_cached(
            "SELECT body FROM ledger WHERE member_id = ?1 AND kind = 'tier_changed' ORDER BY id DESC LIMIT 1",
        )?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    if let Some(body) = change {
        let entry: LedgerEntry = serde_json::from_str(&body)?;
        if let EntryKind::TierChanged { to, .. } = entry.kind {
            return Ok(to);
        }
    }
    let snapshot: Option<Option<String>> = conn
        .prepare_cached("SELECT snapshot FROM members WHERE member_id = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    match snapshot.flatten() {
        Some(body) => Ok(serde_json::from_str::<MemberAccount>(&body)?.tier),
        None => Ok(TierLevel(0)),
    }
}

/// Accounts already folded, so an action folds only the ledger rows written
/// since (the fold stays the source of truth; this only avoids re-reading a
/// long history on every sale). Keyed by the newest ledger row folded in.
#[derive(Debug, Default)]
pub(crate) struct AccountCache {
    accounts: std::cell::RefCell<std::collections::HashMap<MemberId, CachedAccount>>,
}

#[derive(Debug, Clone)]
struct CachedAccount {
    last_ledger_id: i64,
    snapshot_sources: std::collections::BTreeSet<SourceId>,
    account: MemberAccount,
}

/// Members kept folded in memory at most.
const ACCOUNT_CACHE_LIMIT: usize = 4096;

impl AccountCache {
    /// Forgets everything (after a transaction rolled back).
    pub(crate) fn clear(&self) {
        self.accounts.borrow_mut().clear();
    }

    /// Forgets a member (after head office sent a new snapshot).
    pub(crate) fn forget(&self, id: MemberId) {
        self.accounts.borrow_mut().remove(&id);
    }
}

/// The member's account: head office's snapshot (or an empty account) with
/// this terminal's ledger entries folded on, skipping actions the snapshot
/// already contains.
pub(crate) fn load_account(
    conn: &Connection,
    cache: &AccountCache,
    id: MemberId,
) -> Result<MemberAccount, StoreError> {
    let key = id.0.to_string();
    let newest: Option<i64> = conn
        .prepare_cached("SELECT MAX(id) FROM ledger WHERE member_id = ?1")?
        .query_row([&key], |r| r.get(0))?;
    let newest = newest.unwrap_or(0);
    let cached = cache.accounts.borrow().get(&id).cloned();
    let mut state = match cached {
        Some(hit) if hit.last_ledger_id == newest => return Ok(hit.account),
        Some(hit) if hit.last_ledger_id < newest => hit,
        _ => {
            let snapshot: Option<Option<String>> = conn
                .prepare_cached("SELECT snapshot FROM members WHERE member_id = ?1")?
                .query_row([&key], |r| r.get(0))
                .optional()?;
            let account: MemberAccount = match snapshot.flatten() {
                Some(body) => serde_json::from_str(&body)?,
                None => MemberAccount::new(id),
            };
            CachedAccount {
                last_ledger_id: 0,
                snapshot_sources: account.sources.clone(),
                account,
            }
        }
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, body FROM ledger WHERE member_id = ?1 AND id > ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![&key, state.last_ledger_id], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (row_id, body) = row?;
        let entry: LedgerEntry = serde_json::from_str(&body)?;
        if !state.snapshot_sources.contains(&entry.source) {
            state.account.apply(&entry);
        }
        state.last_ledger_id = row_id;
    }
    let account = state.account.clone();
    let mut accounts = cache.accounts.borrow_mut();
    if accounts.len() >= ACCOUNT_CACHE_LIMIT {
        accounts.clear();
    }
    accounts.insert(id, state);
    Ok(account)
}

/// Writes ledger entries inside an action's transaction.
pub(crate) fn insert_entries(
    tx: &rusqlite::Transaction<'_>,
    seq: i64,
    entries: &[LedgerEntry],
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO ledger (member_id, source_id, event_seq, at, kind, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for entry in entries {
        let body = serde_json::to_string(entry)?;
        let kind = serde_json::to_value(&entry.kind)?
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("unknown")
            .to_owned();
        stmt.execute(params![
            entry.member.0.to_string(),
            entry.source.0.to_string(),
            seq,
            entry.at.to_rfc3339(),
            kind,
            body
        ])?;
    }
    Ok(())
}

/// What enrollment produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The new member.
    pub member: MemberRecord,
    /// Entries booked (the welcome coupon).
    pub entries: Vec<LedgerEntry>,
}

impl Store {
    /// Enrolls a new member: one transaction writing the member, the welcome
    /// coupon, the outbox event and the audit row. A phone already enrolled
    /// here is refused.
    pub fn enroll(
        &mut self,
        clerk: &Clerk,
        request: &EnrollRequest,
    ) -> Result<Enrolled, StoreError> {
        if !request.consent {
            return Err(StoreError::NoConsent);
        }
        let phone = normalize_phone(&request.phone).ok_or(StoreError::InvalidPhone)?;
        if let Some(b) = request.birthday {
            let valid = chrono::NaiveDate::from_ymd_opt(2024, u32::from(b.month), u32::from(b.day))
                .is_some();
            if !valid {
                return Err(StoreError::InvalidBirthday);
            }
        }
        let program = self.program()?;
        let now = self.clock.now();
        let member = MemberId(Uuid::now_v7());
        let source = SourceId(Uuid::now_v7());
        let phone_masked = mask_phone(&phone);
        let name_masked = request.name.as_deref().map(mask_name).unwrap_or_default();
        let entries = booking::book_enrollment(&program, member, now, source);
        // Only head office can open these: a stolen terminal's queue
        // reveals no phone and no name. An unprovisioned terminal (demo)
        // has no head-office key and sends nothing anywhere.
        let (phone_sealed, name_sealed) = match &self.credentials {
            Some(creds) => (
                creds
                    .seal(&phone)
                    .map_err(|e| StoreError::Database(format!("sealing for head office: {e}")))?,
                request
                    .name
                    .as_deref()
                    .map(|name| creds.seal(name))
                    .transpose()
                    .map_err(|e| StoreError::Database(format!("sealing for head office: {e}")))?,
            ),
            None => (String::new(), None),
        };
        let body = EventBody::MemberEnrolled {
            member,
            masked_name: (!name_masked.is_empty()).then(|| name_masked.clone()),
            masked_phone: phone_masked.clone(),
            phone_sealed,
            name_sealed,
            birthday: request.birthday,
            consent: Consent {
                given: request.consent,
                at: now,
            },
            referrer: request.referred_by,
            entries: entries.clone(),
        };
        let record = MemberRecord {
            id: member,
            phone_masked: phone_masked.clone(),
            name_masked,
            birthday: request.birthday,
            referred_by: request.referred_by,
            tags: Vec::new(),
            balances_known: true,
            frozen: false,
        };
        let hashes = self.phone_hashes(&phone)?;
        self.write(|tx, ctx| {
            let hash = hashes[0].clone();
            let taken: Option<String> = tx
                .query_row(
                    "SELECT member_id FROM members WHERE phone_hash IN (?1, ?2)",
                    params![hashes[0], hashes.last()],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::DuplicatePhone { masked_phone: phone_masked.clone() });
            }
            tx.execute(
                "INSERT INTO members (member_id, phone_hash, phone_masked, name_masked, birthday_month,
                                      birthday_day, referred_by, enrolled_at, consent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    member.0.to_string(),
                    hash,
                    record.phone_masked,
                    record.name_masked,
                    request.birthday.map(|b| b.month),
                    request.birthday.map(|b| b.day),
                    request.referred_by.map(|r| r.0.to_string()),
                    now.to_rfc3339(),
                ],
            )?;
            let seq = outbox::append(tx, ctx, &body)?;
            insert_entries(tx, seq, &entries)?;
            audit::append(tx, &now.to_rfc3339(), clerk.id(), "enroll", &member.0.to_string())
        })?;
        tracing::info!(member = %member.0, clerk = clerk.id(), "member enrolled");
        Ok(Enrolled {
            member: record,
            entries,
        })
    }

    /// Loads members from head office in one transaction (first
    /// provisioning of a store's member list). `phone` is used only to
    /// compute the keyed lookup hash; it is not stored.
    pub fn import_members<'a>(
        &mut self,
        members: impl IntoIterator<Item = (&'a MemberRecord, Option<&'a str>)>,
    ) -> Result<usize, StoreError> {
        let now = self.clock.now().to_rfc3339();
        let key = self.current_phone_key()?;
        self.write(|tx, _| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO members (member_id, phone_hash, phone_masked, name_masked, birthday_month,
                                      birthday_day, referred_by, tags, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut n = 0;
            for (record, phone) in members {
                let hash = phone
                    .and_then(normalize_phone)
                    .map(|p| phone_hash(&key, &p))
                    .transpose()?;
                stmt.execute(params![
                    record.id.0.to_string(),
                    hash,
                    record.phone_masked,
                    record.name_masked,
                    record.birthday.map(|b| b.month),
                    record.birthday.map(|b| b.day),
                    record.referred_by.map(|r| r.0.to_string()),
                    serde_json::to_string(&record.tags)?,
                    now
                ])?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// The key new phone hashes are made with.
    fn current_phone_key(&self) -> Result<[u8; 32], StoreError> {
        match &self.credentials {
            Some(creds) => tillcard_protocol::auth::decode_32(&creds.lookup_key)
                .map_err(|e| StoreError::Damaged(format!("lookup key: {e}"))),
            None => Ok(self.phone_key),
        }
    }

    /// Makes a verified card's holder known to this terminal when its cache
    /// does not have them yet (SPEC section 3): a member row with nothing
    /// personal and `balances_known = false`, so they are served and earn,
    /// while redemption waits for head office's snapshot. Returns the
    /// member as cached (unchanged if already known).
    pub fn admit_card_holder(&mut self, id: MemberId) -> Result<MemberRecord, StoreError> {
        if let Some(record) = self.find_member(id)? {
            return Ok(record);
        }
        let now = self.clock.now().to_rfc3339();
        self.write(|tx, _| {
            tx.execute(
                "INSERT OR IGNORE INTO members (member_id, phone_masked, name_masked, balances_known, enrolled_at)
                 VALUES (?1, '', '', 0, ?2)",
                params![id.0.to_string(), now],
            )?;
            find_by_id(tx, id)?.ok_or(StoreError::UnknownMember)
        })
    }

    /// The member with `id`, if this terminal knows them.
    pub fn find_member(&self, id: MemberId) -> Result<Option<MemberRecord>, StoreError> {
        find_by_id(self.conn(), id)
    }

    /// The member enrolled with `phone`, if this terminal knows them.
    pub fn find_member_by_phone(&self, phone: &str) -> Result<Option<MemberRecord>, StoreError> {
        let Some(phone) = normalize_phone(phone) else {
            return Err(StoreError::InvalidPhone);
        };
        let hashes = self.phone_hashes(&phone)?;
        let row = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE phone_hash IN (?1, ?2)"
            ))?
            .query_row(params![hashes[0], hashes.last()], member_from_row)
            .optional()?;
        row.map(record).transpose()
    }

    /// The keyed hashes a phone may be stored under: head office's lookup
    /// key once provisioned (first), and the terminal's own key from before.
    fn phone_hashes(&self, normalized: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut hashes = Vec::with_capacity(2);
        if let Some(creds) = &self.credentials {
            let key = tillcard_protocol::auth::decode_32(&creds.lookup_key)
                .map_err(|e| StoreError::Damaged(format!("lookup key: {e}")))?;
            hashes.push(phone_hash(&key, normalized)?);
        }
        hashes.push(phone_hash(&self.phone_key, normalized)?);
        Ok(hashes)
    }

    /// The member's provisional account (snapshot + local entries).
    pub fn account(&self, id: MemberId) -> Result<MemberAccount, StoreError> {
        if find_by_id(self.conn(), id)?.is_none() {
            return Err(StoreError::UnknownMember);
        }
        load_account(self.conn(), &self.accounts, id)
    }

    /// Records head office's snapshot of a member (balances as an opening
    /// account, masked fields, tags). Local entries already contained in the
    /// snapshot are no longer added on top.
    pub fn apply_member_snapshot(
        &mut self,
        record: &MemberRecord,
        account: &MemberAccount,
    ) -> Result<(), StoreError> {
        let snapshot = serde_json::to_string(account)?;
        let tags = serde_json::to_string(&record.tags)?;
        self.accounts.forget(record.id);
        let now = self.clock.now().to_rfc3339();
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO members (member_id, phone_masked, name_masked, birthday_month, birthday_day,
                                      referred_by, tags, snapshot, balances_known, enrolled_at, frozen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10)
                 ON CONFLICT(member_id) DO UPDATE SET
                    phone_masked = excluded.phone_masked, name_masked = excluded.name_masked,
                    birthday_month = excluded.birthday_month, birthday_day = excluded.birthday_day,
                    tags = excluded.tags, snapshot = excluded.snapshot, balances_known = 1,
                    frozen = excluded.frozen",
                params![
                    record.id.0.to_string(),
                    record.phone_masked,
                    record.name_masked,
                    record.birthday.map(|b| b.month),
                    record.birthday.map(|b| b.day),
                    record.referred_by.map(|r| r.0.to_string()),
                    tags,
                    snapshot,
                    now,
                    record.frozen
                ],
            )?;
            Ok(())
        })
    }
}
