//! The shift closes' pages (issue 24): head office's view of the Z reports
//! the terminals upload. `/console/shift-closes` lists one store's closes,
//! newest first, optionally within store-local days: per close its
//! terminal, when it opened and closed, the clerk who closed it, and its
//! figures (sales, net by tender, discounts, points, stored value,
//! refunds, the cash the drawer should hold), with the page's totals under
//! them; `/console/shift-closes/{terminal}/{shift}` opens one close with
//! each tender's sales, refunds and net and every clerk's figures;
//! `/console/shift-closes.csv` exports every close of the chosen days
//! with a totals row over all of them (up to [`EXPORT_ROWS`]), for the
//! analyst's spreadsheet.
//!
//! The role table decides who reads them ([`Operation::ReadShiftCloses`]:
//! not marketing). A close names clerks by id only, never a member, so
//! viewing one is not audited (member care's views are).
//!
//! Pages go by key ([`ShiftCloseKey`], in the `after` link), not offset:
//! a close uploaded while an operator pages neither repeats nor hides a
//! row. Days are the chain's business days
//! ([`crate::figures::BUSINESS_OFFSET_SECONDS`]), as everywhere in the
//! console.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDate, TimeZone};
use minijinja::{Value, context};
use serde::Deserialize;
use tillcard_rules::Money;
use tillcard_rules::ids::Timestamp;
use tillcard_rules::shift::{ShiftFigures, ShiftTender};

use super::pages::Visit;
use crate::error::HqError;
use crate::figures::{BUSINESS_OFFSET_SECONDS, in_business_offset};
use crate::service::Hq;
use crate::service::roles::Operation;
use crate::store::shift_closes::{ShiftCloseKey, ShiftClosePage, ShiftCloseRecord};

/// Where the list lives.
pub(super) const PATH: &str = "/console/shift-closes";

/// Closes on one page. With at most [`tillcard_rules::limits::MAX_FEN`] in
/// any figure of a close, a page's totals stay far inside an `i64`.
pub const ROWS: i64 = 50;

/// The list's query: the store, the first and last store-local day
/// (`YYYY-MM-DD`, both included, either may be left out), and where the
/// page resumes (`after`, from the previous page's "older" link).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    store: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
}

impl ListQuery {
    /// The chosen store (trimmed) and the first and last day as given
    /// (empty when left out).
    fn store_and_days(&self) -> (&str, &str, &str) {
        (
            self.store.as_deref().map(str::trim).unwrap_or_default(),
            self.from.as_deref().unwrap_or_default(),
            self.to.as_deref().unwrap_or_default(),
        )
    }
}

/// The shift closes' console routes.
pub(super) fn routes() -> Router<Arc<Hq>> {
    Router::new()
        .route(PATH, get(list))
        .route(CSV_PATH, get(export))
        .route(
            "/console/shift-closes/{terminal_id}/{shift_id}",
            get(detail),
        )
}

/// Where the list's CSV export lives (the list's query without `after`).
pub(super) const CSV_PATH: &str = "/console/shift-closes.csv";

/// Closes one export holds at most: three tills closing three shifts a
/// day is about 3,300 a year. A wider range is refused with a word on
/// narrowing it, not cut short (a cut file's totals row would lie).
pub const EXPORT_ROWS: usize = 20_000;

/// Closes read per page while exporting.
const EXPORT_PAGE: i64 = 1_000;

/// A key as the "older" link carries it: `<closed_at_ms>~<seq>~<terminal>`
/// (the terminal id last, so whatever it holds cannot split the others).
fn key_text(key: &ShiftCloseKey) -> String {
    format!("{}~{}~{}", key.closed_at_ms, key.seq, key.terminal_id)
}

/// The key of an `after` link; `None` for text no link of ours carries.
fn key_of(text: &str) -> Option<ShiftCloseKey> {
    let mut parts = text.splitn(3, '~');
    let closed_at_ms = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let terminal_id = parts.next()?.to_string();
    Some(ShiftCloseKey {
        closed_at_ms,
        terminal_id,
        seq,
    })
}

/// The first moment of store-local day `day`, ms since the Unix epoch.
fn day_start_ms(day: NaiveDate) -> Option<i64> {
    let offset = chrono::FixedOffset::east_opt(BUSINESS_OFFSET_SECONDS)?;
    let start = offset
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()?;
    Some(start.timestamp_millis())
}

/// A day the form gave: `None` when left empty.
fn day(text: &str) -> Result<Option<NaiveDate>, chrono::ParseError> {
    match text.trim() {
        "" => Ok(None),
        t => NaiveDate::parse_from_str(t, "%Y-%m-%d").map(Some),
    }
}

/// The range `[since, until)` in ms of days `from` to `to`, both
/// included (either left empty: unbounded on that side); `None` when a
/// day is not a date or the range is backwards.
fn range(from: &str, to: &str) -> Option<(i64, i64)> {
    let (from, to) = (day(from).ok()?, day(to).ok()?);
    let since = match from {
        Some(d) => day_start_ms(d)?,
        None => i64::MIN,
    };
    let until = match to {
        Some(d) => day_start_ms(d.succ_opt()?)?,
        None => i64::MAX,
    };
    (since < until).then_some((since, until))
}

/// A moment as the store-local minute it is (`2026-12-07 18:00`).
fn local(at: Timestamp) -> String {
    in_business_offset(at).format("%Y-%m-%d %H:%M").to_string()
}

fn yuan(m: Money) -> String {
    m.to_string()
}

/// `figures` for a row of the list or the detail: money in yuan, each
/// tender's sales, refunds and net in [`ShiftTender::ALL`] order.
fn figures(f: &ShiftFigures) -> Value {
    let tenders: Vec<Value> = ShiftTender::ALL
        .into_iter()
        .map(|tender| {
            let line = f.tender(tender);
            context! {
                key => format!("tender_{}", tender_key(tender)),
                sales => yuan(line.sales),
                refunds => yuan(line.refunds),
                net => yuan(line.net),
            }
        })
        .collect();
    context! {
        sales => f.sales,
        gross => yuan(f.gross),
        discounts => yuan(f.discounts),
        net => yuan(f.net),
        tenders => tenders,
        change_given => yuan(f.change_given),
        points_issued => f.points_issued,
        points_redeemed => f.points_redeemed,
        points_returned => f.points_returned,
        points_reversed => f.points_reversed,
        top_ups => f.top_ups,
        stored_value_in => yuan(f.stored_value_in()),
        stored_value_in_principal => yuan(f.stored_value_in_principal),
        stored_value_in_bonus => yuan(f.stored_value_in_bonus),
        stored_value_out => yuan(f.stored_value_out),
        refunds => f.refunds,
        refunded => yuan(f.refunded),
        cash_expected => yuan(f.cash_expected),
    }
}

/// The string-table key's tail of a tender line (`tender_cash`, ...).
fn tender_key(tender: ShiftTender) -> &'static str {
    match tender {
        ShiftTender::Cash => "cash",
        ShiftTender::BankCard => "bank_card",
        ShiftTender::WechatPay => "wechat_pay",
        ShiftTender::Alipay => "alipay",
        ShiftTender::StoredValue => "stored_value",
        ShiftTender::Points => "points",
    }
}

/// Adds `f` into `total`, field by field. Money's operators saturate; a
/// page's figures are each within the protocol's bounds (checked at
/// upload), so they never reach the ends.
fn add_into(total: &mut ShiftFigures, f: &ShiftFigures) {
    total.sales = total.sales.saturating_add(f.sales);
    total.gross += f.gross;
    total.discounts += f.discounts;
    total.net += f.net;
    for line in &mut total.tenders {
        let other = f.tender(line.tender);
        line.sales += other.sales;
        line.refunds += other.refunds;
        line.net += other.net;
    }
    total.change_given += f.change_given;
    total.points_issued = total.points_issued.saturating_add(f.points_issued);
    total.points_redeemed = total.points_redeemed.saturating_add(f.points_redeemed);
    total.points_returned = total.points_returned.saturating_add(f.points_returned);
    total.points_reversed = total.points_reversed.saturating_add(f.points_reversed);
    total.top_ups = total.top_ups.saturating_add(f.top_ups);
    total.stored_value_in_principal += f.stored_value_in_principal;
    total.stored_value_in_bonus += f.stored_value_in_bonus;
    total.stored_value_out += f.stored_value_out;
    total.refunds = total.refunds.saturating_add(f.refunds);
    total.refunded += f.refunded;
    total.cash_expected += f.cash_expected;
}

/// The figures of `closes` added up: the page's totals row.
fn totals<'a>(closes: impl IntoIterator<Item = &'a ShiftFigures>) -> ShiftFigures {
    let mut total = ShiftFigures::default();
    for f in closes {
        add_into(&mut total, f);
    }
    total
}

/// A close's row in the list (and the head of its own page).
fn row(c: &ShiftCloseRecord) -> Value {
    context! {
        terminal_id => c.terminal_id,
        shift_id => c.shift_id,
        store => c.store,
        closed_at => local(c.report.closed_at),
        opened_at => c.report.opened_at.map(local),
        closed_by => c.closed_by,
        first_seq => c.report.first_seq,
        last_seq => c.report.last_seq,
        figures => figures(&c.report.terminal),
    }
}

/// The list's context: the stores to pick from, then the chosen store's
/// page of closes, its totals and the link to the next (older) page.
async fn list_page(hq: &Hq, q: &ListQuery) -> Result<Value, HqError> {
    let stores = hq.list_stores().await?;
    let (store, from, to) = q.store_and_days();
    let chosen = !store.is_empty();
    let bounds = range(from, to);
    let after = q.after.as_deref().and_then(key_of);
    let mut closes = Vec::new();
    if let (true, Some((since_ms, until_ms))) = (chosen, bounds) {
        closes = hq
            .store()
            .shift_close_page(&ShiftClosePage {
                store: store.to_string(),
                since_ms,
                until_ms,
                after: after.clone(),
                // One more than shown: whether an older page exists.
                limit: ROWS + 1,
            })
            .await?;
    }
    let shown = usize::try_from(ROWS).unwrap_or(50);
    let older = (closes.len() > shown).then(|| {
        closes.truncate(shown);
        closes.last().map(|c| key_text(&ShiftCloseKey::of(c)))
    });
    let rows: Vec<Value> = closes.iter().map(row).collect();
    let total = totals(closes.iter().map(|c| &c.report.terminal));
    Ok(context! {
        stores => stores,
        store => store,
        from => from,
        to => to,
        chosen => chosen,
        bad_days => chosen && bounds.is_none(),
        paged => after.is_some(),
        older => older.flatten(),
        closes => rows,
        totals => figures(&total),
    })
}

/// `GET /console/shift-closes?store=S001[&from=&to=][&after=]`.
async fn list(Query(q): Query<ListQuery>, visit: Visit) -> Result<Response, HqError> {
    visit
        .show(
            "shift_closes",
            Some(Operation::ReadShiftCloses),
            async |hq, _| list_page(hq, &q).await,
        )
        .await
}

/// The CSV columns after the close's own (store, terminal, shift, opened,
/// closed, closed by): its figures, money in yuan as plain decimals.
const FIGURE_COLUMNS: [&str; 22] = [
    "sales",
    "gross",
    "discounts",
    "net",
    "net_cash",
    "net_bank_card",
    "net_wechat_pay",
    "net_alipay",
    "net_stored_value",
    "net_points",
    "change_given",
    "points_issued",
    "points_redeemed",
    "points_returned",
    "points_reversed",
    "top_ups",
    "stored_value_in",
    "stored_value_out",
    "refunds",
    "refunded",
    "cash_expected",
    "seqs",
];

/// A close's figures as CSV fields, in [`FIGURE_COLUMNS`]' order (the
/// last, the close's first and last seq, is left to the caller).
fn figure_fields(f: &ShiftFigures) -> Vec<String> {
    let mut fields = vec![
        f.sales.to_string(),
        f.gross.to_plain_string(),
        f.discounts.to_plain_string(),
        f.net.to_plain_string(),
    ];
    fields.extend(
        ShiftTender::ALL
            .into_iter()
            .map(|tender| f.tender(tender).net.to_plain_string()),
    );
    fields.extend([
        f.change_given.to_plain_string(),
        f.points_issued.to_string(),
        f.points_redeemed.to_string(),
        f.points_returned.to_string(),
        f.points_reversed.to_string(),
        f.top_ups.to_string(),
        f.stored_value_in().to_plain_string(),
        f.stored_value_out.to_plain_string(),
        f.refunds.to_string(),
        f.refunded.to_plain_string(),
        f.cash_expected.to_plain_string(),
    ]);
    fields
}

/// Every close of `store` within `[since_ms, until_ms)`, newest first,
/// then a `total` row over all of them: the CSV file's bytes. Refused
/// (400) beyond [`EXPORT_ROWS`] closes.
async fn export_csv(
    hq: &Hq,
    store: &str,
    (since_ms, until_ms): (i64, i64),
) -> Result<Vec<u8>, HqError> {
    let mut closes: Vec<ShiftCloseRecord> = Vec::new();
    let mut after = None;
    loop {
        let page = hq
            .store()
            .shift_close_page(&ShiftClosePage {
                store: store.to_string(),
                since_ms,
                until_ms,
                after: after.clone(),
                limit: EXPORT_PAGE,
            })
            .await?;
        let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= EXPORT_PAGE;
        after = page.last().map(ShiftCloseKey::of);
        closes.extend(page);
        if closes.len() > EXPORT_ROWS {
            return Err(HqError::Refused(
                axum::http::StatusCode::BAD_REQUEST,
                "too_many_rows",
                format!("more than {EXPORT_ROWS} shift closes: choose fewer days"),
            ));
        }
        if !full {
            break;
        }
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "store",
        "terminal",
        "shift",
        "opened_at",
        "closed_at",
        "closed_by",
    ];
    header.extend(FIGURE_COLUMNS);
    let io = |e: csv::Error| HqError::Internal(crate::store::StoreError::Corrupt(e.to_string()));
    out.write_record(&header).map_err(io)?;
    for c in &closes {
        let mut record = vec![
            c.store.clone(),
            c.terminal_id.clone(),
            c.shift_id.clone(),
            c.report.opened_at.map(local).unwrap_or_default(),
            local(c.report.closed_at),
            c.closed_by.clone(),
        ];
        record.extend(figure_fields(&c.report.terminal));
        record.push(format!("{}-{}", c.report.first_seq, c.report.last_seq));
        out.write_record(&record).map_err(io)?;
    }
    let total = totals(closes.iter().map(|c| &c.report.terminal));
    let mut record = vec![
        store.to_string(),
        "total".to_string(),
        closes.len().to_string(),
        String::new(),
        String::new(),
        String::new(),
    ];
    record.extend(figure_fields(&total));
    record.push(String::new());
    out.write_record(&record).map_err(io)?;
    out.into_inner()
        .map_err(|e| HqError::Internal(crate::store::StoreError::Corrupt(e.to_string())))
}

/// `GET /console/shift-closes.csv?store=S001[&from=&to=]`: every close of
/// the store within the days (store days, both included), newest first,
/// and a totals row over the whole range (the list's totals are a
/// page's).
async fn export(Query(q): Query<ListQuery>, visit: Visit) -> Result<Response, HqError> {
    let (store, from, to) = q.store_and_days();
    let store = store.to_string();
    let bounds = range(from, to);
    // A file name of what it holds (a store code is letters and digits;
    // anything else in it is left out of the name, not the file).
    let safe = |t: &str| -> String {
        t.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    };
    let file_name = format!(
        "shift-closes-{}{}{}.csv",
        safe(&store),
        if from.is_empty() {
            String::new()
        } else {
            format!("-from-{}", safe(from))
        },
        if to.is_empty() {
            String::new()
        } else {
            format!("-to-{}", safe(to))
        },
    );
    visit
        .download(
            PATH,
            Operation::ReadShiftCloses,
            ("text/csv; charset=utf-8", &file_name),
            async |hq| {
                if store.is_empty() {
                    return Err(HqError::BadRequest("choose a store".into()));
                }
                let bounds = bounds.ok_or_else(|| {
                    HqError::BadRequest(
                        "the days are not dates, or the first is after the last".into(),
                    )
                })?;
                export_csv(hq, &store, bounds).await
            },
        )
        .await
}

/// `GET /console/shift-closes/{terminal}/{shift}`: one close, per tender
/// and per clerk; 404 when head office holds no such close.
async fn detail(
    Path((terminal_id, shift_id)): Path<(String, String)>,
    visit: Visit,
) -> Result<Response, HqError> {
    visit
        .show(
            "shift_close",
            Some(Operation::ReadShiftCloses),
            async |hq, _| {
                let close = hq
                    .store()
                    .shift_close(&terminal_id, &shift_id)
                    .await?
                    .ok_or(HqError::NotFound)?;
                let clerks: Vec<Value> = close
                    .report
                    .clerks
                    .iter()
                    .map(|c| context! { clerk => c.clerk, figures => figures(&c.figures) })
                    .collect();
                Ok(context! { close => row(&close), clerks => clerks })
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_after_link_reads_back_as_its_key() {
        let key = ShiftCloseKey {
            closed_at_ms: 1_765_000_000_000,
            terminal_id: "t~1".into(),
            seq: 42,
        };
        assert_eq!(key_of(&key_text(&key)), Some(key));
        assert_eq!(key_of("12~x~t"), None);
    }

    #[test]
    fn days_are_business_days_both_included() {
        // 2026-12-07 00:00 +08:00 is 2026-12-06 16:00 UTC.
        let (since, until) = range("2026-12-07", "2026-12-07").unwrap();
        assert_eq!(since, 1_796_601_600_000 - 8 * 3_600_000);
        assert_eq!(until - since, 86_400_000);
        assert_eq!(range("", " "), Some((i64::MIN, i64::MAX)));
        assert_eq!(range("2026-12-08", "2026-12-07"), None);
        assert_eq!(range("7 Dec", ""), None);
    }
}
