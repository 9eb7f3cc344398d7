//! The admin API's campaign handlers (`/v1/admin/campaigns`): each
//! authorizes for its operation (reading needs the back office's read
//! operation, changing needs `Campaigns`), decodes, and calls [`super::Hq`].

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;

use super::http::admin_body;
use super::http_back_office::{OfficeRequest, done, json};
use super::now;
use super::roles::Operation;
use crate::admin;
use crate::campaigns::CampaignSpec;
use crate::error::HqError;

pub(super) async fn list(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.campaigns().await?))
}

pub(super) async fn create(office: OfficeRequest, body: Bytes) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::Campaigns).await?;
    let spec: CampaignSpec = admin_body(&body)?;
    Ok(json(&hq.create_campaign(&actor, &spec).await?))
}

pub(super) async fn show(
    office: OfficeRequest,
    Path(code): Path<String>,
) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.campaign_view(&code).await?))
}

pub(super) async fn run(
    office: OfficeRequest,
    Path(code): Path<String>,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::Campaigns).await?;
    let run = hq.run_campaign(&code, now()).await?;
    tracing::info!(campaign = %code, actor = %actor.name, coupons = run.coupons, "campaign run by hand");
    Ok(json(&run))
}

pub(super) async fn stop(
    office: OfficeRequest,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::Campaigns).await?;
    let request: admin::StandingChange = admin_body(&body)?;
    hq.stop_campaign(&actor, &code, &request.reason).await?;
    Ok(done())
}
