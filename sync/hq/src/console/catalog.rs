//! The catalog page (`/console/catalog`, issue 24): a page of the chain's
//! items in SKU order (from a SKU on, the search), a form to add or change
//! one item, and a CSV import: the file's text pasted (from the file, or
//! copied out of a spreadsheet: tab-separated is read too), all or nothing
//! with every problem listed by row. Both go through the admin API's
//! operations on [`Hq`], audited; what they change reaches every terminal
//! with its next sync.

use axum::response::Response;
use minijinja::context;
use tillcard_rules::Money;
use tillcard_rules::catalog::{CatalogItem, TierPrice};

use super::forms::{Posted, Submission, accept};
use super::{Flash, redirect};
use crate::error::HqError;
use crate::service::Hq;
use crate::service::roles::Operation;

/// Where the page lives.
pub(super) const PATH: &str = "/console/catalog";

/// Items shown on one page.
const ROWS: i64 = 100;

fn yuan(m: Money) -> String {
    m.to_plain_string()
}

/// The page's context: `ROWS` items from `from` (a SKU) on.
pub(super) async fn page(hq: &Hq, from: Option<&str>) -> Result<minijinja::Value, HqError> {
    let from = from.map(str::trim).filter(|f| !f.is_empty());
    let mut items = Vec::new();
    if let Some(from) = from {
        // The page starts at `from` itself when the catalog holds it.
        items.extend(hq.store().catalog_item(from).await?);
    }
    items.extend(hq.catalog_page(from, Some(ROWS + 1)).await?);
    // One more than shown: the next page starts at it.
    let shown = usize::try_from(ROWS).unwrap_or(100);
    let next = items.get(shown).map(|i| i.sku.clone());
    items.truncate(shown);
    let rows: Vec<_> = items
        .iter()
        .map(|i| {
            let prices: Vec<String> = i
                .member_prices
                .iter()
                .map(|p| format!("{}={}", p.tier, yuan(p.price)))
                .collect();
            context! {
                sku => i.sku, barcode => i.barcode, name_zh => i.name_zh, name_en => i.name_en,
                category => i.category, price => yuan(i.price), member_prices => prices.join("; "),
                weighed => i.sold_by_weight, active => i.active,
            }
        })
        .collect();
    Ok(context! { items => rows, from => from.unwrap_or_default(), next => next })
}

/// The item of the one-item form.
fn posted_item(posted: &Posted) -> Result<CatalogItem, String> {
    let money = |field: &str| {
        posted
            .field(field)
            .parse::<Money>()
            .map_err(|_| format!("{field}: a price in yuan, e.g. 3.50"))
    };
    let mut member_prices = Vec::new();
    for pair in posted
        .field("member_prices")
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (tier, price) = pair
            .split_once('=')
            .ok_or("member_prices: tier=price pairs, e.g. gold=3.00")?;
        member_prices.push(TierPrice {
            tier: tier.trim().to_string(),
            price: price
                .parse()
                .map_err(|_| "member_prices: a price in yuan, e.g. 3.00".to_string())?,
        });
    }
    let item = CatalogItem {
        sku: posted.field("sku").to_string(),
        barcode: Some(posted.field("barcode"))
            .filter(|b| !b.is_empty())
            .map(str::to_string),
        name_zh: posted.field("name_zh").to_string(),
        name_en: posted.field("name_en").to_string(),
        category: posted.field("category").to_string(),
        price: money("price")?,
        member_prices,
        sold_by_weight: posted.field("sold_by_weight") == "on",
        active: posted.field("active") == "on",
    };
    Ok(item)
}

/// `POST /console/catalog`: save one item, or import a pasted file.
pub(super) async fn post(form: Submission) -> Result<Response, HqError> {
    let (hq, headers, body) = form.parts();
    let posted: Posted = match accept(hq, headers, body, PATH, Operation::WriteCatalog).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let actor = &posted.session.actor;
    let outcome = match posted.field("action") {
        "import" => {
            // A spreadsheet's copy is tab-separated: read it as CSV.
            let text = posted.field("csv");
            let csv = if text
                .lines()
                .next()
                .is_some_and(|h| h.contains('\t') && !h.contains(','))
            {
                text.replace('\t', ",")
            } else {
                text.to_string()
            };
            hq.import_catalog(actor, csv.as_bytes()).await
        }
        _ => match posted_item(&posted) {
            Ok(item) => hq.put_catalog_items(actor, &[item], "console").await,
            Err(problem) => Err(HqError::Refused(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_item",
                problem,
            )),
        },
    };
    let flash = match outcome {
        Ok(write) if write.written == 0 => super::forms::notice("catalog_unchanged"),
        Ok(_) => super::forms::notice("catalog_written"),
        Err(e @ (HqError::Internal(_) | HqError::Unavailable(_))) => return Err(e),
        Err(e) => Flash {
            error: Some(e.to_string()),
            error_code: Some(e.code().to_owned()),
            ..Flash::default()
        },
    };
    super::keep_flash(hq, &posted.session, &flash).await?;
    Ok(redirect(PATH))
}
