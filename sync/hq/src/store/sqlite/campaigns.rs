//! Campaigns on SQLite ([`CampaignStore`]): the campaigns, who each
//! reached, the facts segments read, the nightly RFM segments.

use rusqlite::{Connection, params};
use tillcard_rules::ids::MemberId;

use super::SqliteStore;
use super::back_office::audit;
use super::batch::push_change;
use crate::campaigns::figures::{MemberSale, ReachedMember};
use crate::campaigns::issue::Grant;
use crate::campaigns::rfm::{RfmInput, RfmScore, RfmSegment};
use crate::campaigns::{CampaignRecord, CampaignSpec, MemberFacts};
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};
use crate::store::campaigns::{CampaignStore, GrantOutcome};
use crate::store::{
    BackOffice, StoreResult, from_sql_int, parse_json, parse_member, parse_source, to_json,
    to_sql_int,
};

const CAMPAIGN_COLUMNS: &str = "spec, state, issued, treated, control, created_by, created_at";

fn campaign_from_row(row: &rusqlite::Row<'_>) -> StoreResult<CampaignRecord> {
    let spec: String = row.get(0)?;
    Ok(CampaignRecord {
        spec: parse_json::<CampaignSpec>(&spec)?,
        state: row.get(1)?,
        issued: from_sql_int(row.get(2)?),
        treated: from_sql_int(row.get(3)?),
        control: from_sql_int(row.get(4)?),
        created_by: row.get(5)?,
        created_at: row.get(6)?,
    })
}

fn campaign(c: &Connection, code: &str) -> StoreResult<Option<CampaignRecord>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE code = ?1"
    ))?;
    let mut rows = stmt.query_and_then(params![code], campaign_from_row)?;
    rows.next().transpose()
}

/// A member's facts from a row of [`segment_facts`]'s query.
fn facts_from_row(row: &rusqlite::Row<'_>) -> StoreResult<MemberFacts> {
    let member: String = row.get(0)?;
    let tags: String = row.get(2)?;
    let birthday_month: Option<i64> = row.get(4)?;
    let rfm: Option<String> = row.get(8)?;
    Ok(MemberFacts {
        member: parse_member(&member)?,
        tier: row
            .get::<_, Option<i64>>(1)?
            .and_then(|t| u8::try_from(t).ok()),
        tags: parse_json(&tags)?,
        last_store: row.get(3)?,
        birthday_month: birthday_month.and_then(|m| u8::try_from(m).ok()),
        enrolled_at_ms: row.get(5)?,
        last_purchase_ms: row.get(6)?,
        spend_fen: row.get(7)?,
        rfm: rfm.as_deref().and_then(RfmSegment::from_name),
    })
}

fn record_grants(
    c: &mut Connection,
    code: &str,
    grants: &[Grant],
    reached_at_ms: i64,
) -> StoreResult<GrantOutcome> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut out = GrantOutcome::default();
    let Some(current) = campaign(&tx, code)? else {
        return Ok(out);
    };
    let mut room = current.room();
    {
        let mut reach = tx.prepare_cached(
            "INSERT INTO campaign_members (campaign, member_id, treated, sleeping,
                reached_at_ms, source, coupons) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING",
        )?;
        let mut ledger =
            tx.prepare_cached("INSERT INTO ledger (member_id, source, entry) VALUES (?1, ?2, ?3)")?;
        // Coupons change no balance, tier or summary column: only the
        // cached fold (which holds coupons) is dropped, to be refolded.
        let mut drop_fold =
            tx.prepare_cached("UPDATE members SET account = NULL WHERE member_id = ?1")?;
        for grant in grants {
            let coupons = u64::try_from(grant.entries.len()).unwrap_or(u64::MAX);
            if grant.treated && coupons > room {
                out.budget_spent = true;
                break;
            }
            let member = grant.member.to_string();
            let source = grant.entries.first().map(|e| e.source.to_string());
            let added = reach.execute(params![
                code,
                member,
                grant.treated,
                grant.sleeping,
                reached_at_ms,
                source,
                to_sql_int(coupons)
            ])?;
            if added == 0 {
                continue;
            }
            if !grant.treated {
                out.control += 1;
                continue;
            }
            for entry in &grant.entries {
                ledger.execute(params![member, entry.source.to_string(), to_json(entry)?])?;
            }
            drop_fold.execute(params![member])?;
            push_change(&tx, "member", Some(grant.member), None)?;
            room -= coupons;
            out.treated += 1;
            out.coupons += coupons;
        }
    }
    tx.execute(
        "UPDATE campaigns SET issued = issued + ?2, treated = treated + ?3,
            control = control + ?4 WHERE code = ?1",
        params![
            code,
            to_sql_int(out.coupons),
            to_sql_int(out.treated),
            to_sql_int(out.control)
        ],
    )?;
    tx.commit()?;
    Ok(out)
}

#[async_trait::async_trait]
impl CampaignStore for SqliteStore {
    async fn create_campaign(
        &self,
        campaign: &CampaignRecord,
        entry: &AuditEntry,
    ) -> BackOffice<()> {
        let (campaign, entry) = (campaign.clone(), entry.clone());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let added = tx.execute(
                "INSERT INTO campaigns (code, spec, state, budget, issued, treated, control,
                    created_by, created_at) VALUES (?1, ?2, 'active', ?3, 0, 0, 0, ?4, ?5)
                 ON CONFLICT DO NOTHING",
                params![
                    campaign.spec.code,
                    to_json(&campaign.spec)?,
                    i64::from(campaign.spec.budget),
                    campaign.created_by,
                    campaign.created_at
                ],
            )?;
            if added == 0 {
                return Ok(Err(BackOfficeRefusal::CampaignExists));
            }
            audit(&tx, &entry)?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn stop_campaign(&self, code: &str, entry: &AuditEntry) -> BackOffice<()> {
        let (code, entry) = (code.to_string(), entry.clone());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let Some(current) = campaign(&tx, &code)? else {
                return Ok(Err(BackOfficeRefusal::UnknownCampaign));
            };
            if current.state != "active" {
                return Ok(Err(BackOfficeRefusal::CampaignStopped));
            }
            tx.execute(
                "UPDATE campaigns SET state = 'stopped' WHERE code = ?1",
                params![code],
            )?;
            audit(&tx, &entry)?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>> {
        self.run(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at DESC, code"
            ))?;
            stmt.query_and_then([], campaign_from_row)?.collect()
        })
        .await
    }

    async fn campaign(&self, code: &str) -> StoreResult<Option<CampaignRecord>> {
        let code = code.to_string();
        self.run(move |c| campaign(c, &code)).await
    }

    async fn segment_facts(
        &self,
        code: &str,
        after: Option<MemberId>,
        limit: i64,
        since_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<MemberFacts>> {
        let code = code.to_string();
        let after = after.map(|m| m.to_string()).unwrap_or_default();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.member_id, m.tier, m.tags, m.last_store, m.birthday_month, m.enrolled_at_ms,
                    (SELECT max(s.at_ms) FROM sales s
                      WHERE s.member_id = m.member_id AND s.at_ms <= ?4),
                    (SELECT coalesce(sum(s.total_fen), 0) FROM sales s
                      WHERE s.member_id = m.member_id AND s.at_ms >= ?3 AND s.at_ms <= ?4),
                    r.segment
                 FROM members m LEFT JOIN member_rfm r ON r.member_id = m.member_id
                 WHERE m.member_id > ?2 AND m.erased_at IS NULL AND m.merged_into IS NULL
                   AND NOT EXISTS (SELECT 1 FROM campaign_members cm
                                   WHERE cm.campaign = ?1 AND cm.member_id = m.member_id)
                 ORDER BY m.member_id LIMIT ?5",
            )?;
            stmt.query_and_then(
                params![code, after, since_ms, now_ms, limit.max(0)],
                facts_from_row,
            )?
            .collect()
        })
        .await
    }

    async fn record_grants(
        &self,
        code: &str,
        grants: &[Grant],
        reached_at_ms: i64,
    ) -> StoreResult<GrantOutcome> {
        let (code, grants) = (code.to_string(), grants.to_vec());
        self.run(move |c| record_grants(c, &code, &grants, reached_at_ms))
            .await
    }

    async fn reached_members(&self, code: &str) -> StoreResult<Vec<ReachedMember>> {
        let code = code.to_string();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT member_id, treated, sleeping, reached_at_ms, source, coupons
                 FROM campaign_members WHERE campaign = ?1 ORDER BY member_id",
            )?;
            stmt.query_and_then(params![code], |row| {
                let member: String = row.get(0)?;
                let source: Option<String> = row.get(4)?;
                Ok(ReachedMember {
                    member: parse_member(&member)?,
                    treated: row.get(1)?,
                    sleeping: row.get(2)?,
                    reached_at_ms: row.get(3)?,
                    source: source.as_deref().map(parse_source).transpose()?,
                    coupons: u32::try_from(row.get::<_, i64>(5)?).unwrap_or(0),
                })
            })?
            .collect()
        })
        .await
    }

    async fn reached_sales(&self, code: &str, from_ms: i64) -> StoreResult<Vec<MemberSale>> {
        let code = code.to_string();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT s.member_id, s.sale_id, s.at_ms, s.total_fen
                 FROM campaign_members cm JOIN sales s ON s.member_id = cm.member_id
                 WHERE cm.campaign = ?1 AND s.at_ms >= ?2",
            )?;
            stmt.query_and_then(params![code, from_ms], |row| {
                let member: String = row.get(0)?;
                let sale: String = row.get(1)?;
                Ok(MemberSale {
                    member: parse_member(&member)?,
                    sale: parse_source(&sale)?,
                    at_ms: row.get(2)?,
                    total_fen: row.get(3)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn rfm_inputs(&self, since_ms: i64, now_ms: i64) -> StoreResult<Vec<RfmInput>> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT m.member_id, max(s.at_ms), count(s.sale_id), coalesce(sum(s.total_fen), 0)
                 FROM members m LEFT JOIN sales s ON s.member_id = m.member_id
                      AND s.at_ms >= ?1 AND s.at_ms <= ?2
                 WHERE m.erased_at IS NULL AND m.merged_into IS NULL GROUP BY m.member_id",
            )?;
            stmt.query_and_then(params![since_ms, now_ms], |row| {
                let member: String = row.get(0)?;
                let last: Option<i64> = row.get(1)?;
                Ok(RfmInput {
                    member: parse_member(&member)?,
                    days_since: last.map(|l| now_ms.saturating_sub(l).max(0) / 86_400_000),
                    purchases: row.get(2)?,
                    spend_fen: row.get(3)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn store_rfm(&self, scores: &[RfmScore], day: &str) -> StoreResult<()> {
        let (scores, day) = (scores.to_vec(), day.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM member_rfm", [])?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO member_rfm (member_id, r, f, m, segment, day)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for s in &scores {
                    insert.execute(params![
                        s.member.to_string(),
                        s.r,
                        s.f,
                        s.m,
                        s.segment.name(),
                        day
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
