//! Campaigns on PostgreSQL ([`CampaignStore`]): the campaigns, who each
//! reached, the facts segments read, the nightly RFM segments.
//!
//! Recording a run's grants writes coupons into many members' ledgers at
//! once, so it takes the wide lock exclusive (see `locks`): no batch plans
//! against a cached fold it drops. Runs are daily and short per chunk; a
//! batch waits at most one chunk. The campaign's row (`FOR UPDATE`) makes
//! two runs of one campaign take turns, so its budget holds.

use deadpool_postgres::GenericClient;
use tillcard_rules::ids::MemberId;

use super::PgStore;
use super::back_office::audit;
use super::locks::LOCK_WIDE;
use super::members::push_change;
use crate::campaigns::figures::{MemberSale, ReachedMember};
use crate::campaigns::issue::Grant;
use crate::campaigns::rfm::{RfmInput, RfmScore, RfmSegment};
use crate::campaigns::{CampaignRecord, CampaignSpec, MemberFacts};
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};
use crate::store::campaigns::{CampaignStore, GrantOutcome};
use crate::store::{
    BackOffice, StoreError, StoreResult, from_sql_int, parse_json, parse_member, parse_source,
    to_json, to_sql_int,
};

const SELECT_CAMPAIGN: &str =
    "SELECT spec, state, issued, treated, control, created_by, created_at FROM campaigns";

fn campaign_from_row(row: &tokio_postgres::Row) -> StoreResult<CampaignRecord> {
    let spec: String = row.try_get(0)?;
    Ok(CampaignRecord {
        spec: parse_json::<CampaignSpec>(&spec)?,
        state: row.try_get(1)?,
        issued: from_sql_int(row.try_get(2)?),
        treated: from_sql_int(row.try_get(3)?),
        control: from_sql_int(row.try_get(4)?),
        created_by: row.try_get(5)?,
        created_at: row.try_get(6)?,
    })
}

async fn campaign<C: GenericClient>(
    client: &C,
    code: &str,
    for_update: bool,
) -> StoreResult<Option<CampaignRecord>> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let row = client
        .query_opt(
            &format!("{SELECT_CAMPAIGN} WHERE code = $1{lock}"),
            &[&code],
        )
        .await?;
    row.as_ref().map(campaign_from_row).transpose()
}

fn facts_from_row(row: &tokio_postgres::Row) -> StoreResult<MemberFacts> {
    let member: String = row.try_get(0)?;
    let tags: String = row.try_get(2)?;
    let birthday_month: Option<i16> = row.try_get(4)?;
    let rfm: Option<String> = row.try_get(8)?;
    let spend: i64 = row.try_get(7)?;
    Ok(MemberFacts {
        member: parse_member(&member)?,
        tier: row
            .try_get::<_, Option<i64>>(1)?
            .and_then(|t| u8::try_from(t).ok()),
        tags: parse_json(&tags)?,
        last_store: row.try_get(3)?,
        birthday_month: birthday_month.and_then(|m| u8::try_from(m).ok()),
        enrolled_at_ms: row.try_get(5)?,
        last_purchase_ms: row.try_get(6)?,
        spend_fen: spend,
        rfm: rfm.as_deref().and_then(RfmSegment::from_name),
    })
}

async fn record_grants(
    client: &mut deadpool_postgres::Object,
    code: &str,
    grants: &[Grant],
    reached_at_ms: i64,
) -> StoreResult<GrantOutcome> {
    let tx = client.transaction().await?;
    tx.execute(LOCK_WIDE, &[]).await?;
    let mut out = GrantOutcome::default();
    let Some(current) = campaign(&tx, code, true).await? else {
        return Ok(out);
    };
    let mut room = current.room();
    let reach = tx
        .prepare(
            "INSERT INTO campaign_members (campaign, member_id, treated, sleeping,
                reached_at_ms, source, coupons) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
        )
        .await?;
    let ledger = tx
        .prepare("INSERT INTO ledger (member_id, entry_count, entries) VALUES ($1, $2, $3)")
        .await?;
    // Coupons change no balance, tier or summary column: only the cached
    // fold (which holds coupons) is dropped, to be refolded.
    let drop_fold = tx
        .prepare("UPDATE members SET account = NULL WHERE member_id = $1")
        .await?;
    for grant in grants {
        let coupons = u64::try_from(grant.entries.len()).unwrap_or(u64::MAX);
        if grant.treated && coupons > room {
            out.budget_spent = true;
            break;
        }
        let member = grant.member.to_string();
        let source = grant.entries.first().map(|e| e.source.to_string());
        let added = tx
            .execute(
                &reach,
                &[
                    &code,
                    &member,
                    &grant.treated,
                    &grant.sleeping,
                    &reached_at_ms,
                    &source,
                    &to_sql_int(coupons),
                ],
            )
            .await?;
        if added == 0 {
            continue;
        }
        if !grant.treated {
            out.control += 1;
            continue;
        }
        let chunk: Vec<(Option<u64>, &tillcard_rules::ledger::LedgerEntry)> =
            grant.entries.iter().map(|e| (None, e)).collect();
        let count =
            i32::try_from(chunk.len()).map_err(|_| StoreError::Corrupt("chunk size".into()))?;
        tx.execute(&ledger, &[&member, &count, &to_json(&chunk)?])
            .await?;
        tx.execute(&drop_fold, &[&member]).await?;
        push_change(&tx, "member", Some(grant.member), None).await?;
        room -= coupons;
        out.treated += 1;
        out.coupons += coupons;
    }
    tx.execute(
        "UPDATE campaigns SET issued = issued + $2, treated = treated + $3,
            control = control + $4 WHERE code = $1",
        &[
            &code,
            &to_sql_int(out.coupons),
            &to_sql_int(out.treated),
            &to_sql_int(out.control),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

#[async_trait::async_trait]
impl CampaignStore for PgStore {
    async fn create_campaign(&self, record: &CampaignRecord, entry: &AuditEntry) -> BackOffice<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let added = tx
            .execute(
                "INSERT INTO campaigns (code, spec, state, budget, issued, treated, control,
                    created_by, created_at) VALUES ($1, $2, 'active', $3, 0, 0, 0, $4, $5)
                 ON CONFLICT DO NOTHING",
                &[
                    &record.spec.code,
                    &to_json(&record.spec)?,
                    &i64::from(record.spec.budget),
                    &record.created_by,
                    &record.created_at,
                ],
            )
            .await?;
        if added == 0 {
            return Ok(Err(BackOfficeRefusal::CampaignExists));
        }
        audit(&tx, entry).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn stop_campaign(&self, code: &str, entry: &AuditEntry) -> BackOffice<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(current) = campaign(&tx, code, true).await? else {
            return Ok(Err(BackOfficeRefusal::UnknownCampaign));
        };
        if current.state != "active" {
            return Ok(Err(BackOfficeRefusal::CampaignStopped));
        }
        tx.execute(
            "UPDATE campaigns SET state = 'stopped' WHERE code = $1",
            &[&code],
        )
        .await?;
        audit(&tx, entry).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>> {
        let client = self.client().await?;
        client
            .query(
                &format!("{SELECT_CAMPAIGN} ORDER BY created_at DESC, code"),
                &[],
            )
            .await?
            .iter()
            .map(campaign_from_row)
            .collect()
    }

    async fn campaign(&self, code: &str) -> StoreResult<Option<CampaignRecord>> {
        campaign(&self.client().await?, code, false).await
    }

    async fn segment_facts(
        &self,
        code: &str,
        after: Option<MemberId>,
        limit: i64,
        since_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<MemberFacts>> {
        let client = self.client().await?;
        let after = after.map(|m| m.to_string()).unwrap_or_default();
        client
            .query(
                "SELECT m.member_id, m.tier, m.tags, m.last_store, m.birthday_month, m.enrolled_at_ms,
                    (SELECT max(s.at_ms) FROM sales s
                      WHERE s.member_id = m.member_id AND s.at_ms <= $4),
                    (SELECT coalesce(sum(s.total_fen), 0)::bigint FROM sales s
                      WHERE s.member_id = m.member_id AND s.at_ms >= $3 AND s.at_ms <= $4),
                    r.segment
                 FROM members m LEFT JOIN member_rfm r ON r.member_id = m.member_id
                 WHERE m.member_id > $2 AND m.erased_at IS NULL AND m.merged_into IS NULL
                   AND NOT EXISTS (SELECT 1 FROM campaign_members cm
                                   WHERE cm.campaign = $1 AND cm.member_id = m.member_id)
                 ORDER BY m.member_id LIMIT $5",
                &[&code, &after, &since_ms, &now_ms, &limit.max(0)],
            )
            .await?
            .iter()
            .map(facts_from_row)
            .collect()
    }

    async fn record_grants(
        &self,
        code: &str,
        grants: &[Grant],
        reached_at_ms: i64,
    ) -> StoreResult<GrantOutcome> {
        record_grants(&mut self.client().await?, code, grants, reached_at_ms).await
    }

    async fn reached_members(&self, code: &str) -> StoreResult<Vec<ReachedMember>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT member_id, treated, sleeping, reached_at_ms, source, coupons
                 FROM campaign_members WHERE campaign = $1 ORDER BY member_id",
                &[&code],
            )
            .await?
            .iter()
            .map(|row| {
                let member: String = row.try_get(0)?;
                let source: Option<String> = row.try_get(4)?;
                Ok(ReachedMember {
                    member: parse_member(&member)?,
                    treated: row.try_get(1)?,
                    sleeping: row.try_get(2)?,
                    reached_at_ms: row.try_get(3)?,
                    source: source.as_deref().map(parse_source).transpose()?,
                    coupons: u32::try_from(row.try_get::<_, i64>(5)?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn reached_sales(&self, code: &str, from_ms: i64) -> StoreResult<Vec<MemberSale>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT s.member_id, s.sale_id, s.at_ms, s.total_fen
                 FROM campaign_members cm JOIN sales s ON s.member_id = cm.member_id
                 WHERE cm.campaign = $1 AND s.at_ms >= $2",
                &[&code, &from_ms],
            )
            .await?
            .iter()
            .map(|row| {
                let member: String = row.try_get(0)?;
                let sale: String = row.try_get(1)?;
                Ok(MemberSale {
                    member: parse_member(&member)?,
                    sale: parse_source(&sale)?,
                    at_ms: row.try_get(2)?,
                    total_fen: row.try_get(3)?,
                })
            })
            .collect()
    }

    async fn rfm_inputs(&self, since_ms: i64, now_ms: i64) -> StoreResult<Vec<RfmInput>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT m.member_id, max(s.at_ms), count(s.sale_id),
                        coalesce(sum(s.total_fen), 0)::bigint
                 FROM members m LEFT JOIN sales s ON s.member_id = m.member_id
                      AND s.at_ms >= $1 AND s.at_ms <= $2
                 WHERE m.erased_at IS NULL AND m.merged_into IS NULL GROUP BY m.member_id",
                &[&since_ms, &now_ms],
            )
            .await?
            .iter()
            .map(|row| {
                let member: String = row.try_get(0)?;
                let last: Option<i64> = row.try_get(1)?;
                Ok(RfmInput {
                    member: parse_member(&member)?,
                    days_since: last.map(|l| now_ms.saturating_sub(l).max(0) / 86_400_000),
                    purchases: row.try_get(2)?,
                    spend_fen: row.try_get(3)?,
                })
            })
            .collect()
    }

    async fn store_rfm(&self, scores: &[RfmScore], day: &str) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM member_rfm", &[]).await?;
        // One statement per 10,000 members (arrays, not a statement each).
        for part in scores.chunks(10_000) {
            let members: Vec<String> = part.iter().map(|s| s.member.to_string()).collect();
            let r: Vec<i64> = part.iter().map(|s| i64::from(s.r)).collect();
            let f: Vec<i64> = part.iter().map(|s| i64::from(s.f)).collect();
            let m: Vec<i64> = part.iter().map(|s| i64::from(s.m)).collect();
            let segments: Vec<&str> = part.iter().map(|s| s.segment.name()).collect();
            tx.execute(
                "INSERT INTO member_rfm (member_id, r, f, m, segment, day)
                 SELECT u.member_id, u.r, u.f, u.m, u.segment, $6
                 FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[])
                      AS u (member_id, r, f, m, segment)",
                &[&members, &r, &f, &m, &segments, &day],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
