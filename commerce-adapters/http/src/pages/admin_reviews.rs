//! The admin's review moderation: the queue of reviews reported or hidden (every
//! product, newest first, keyset paging, optionally one status filtered in the
//! store), hide with a reason, restore.
//!
//! Queries per request: the queue 1 (one page of the review store's moderation
//! queue); hide and restore as the review service (1 read, 1 version-checked
//! update with its events).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use commerce::core::Actor;
use commerce::reviews::{ModerationPage, ReviewId, ReviewStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::staff_only;
use super::admin_orders::admin_required;
use super::support::{CsrfForm, PageError, Visitor, humanize, name_of, page, see_other};
use crate::state::AppState;

/// Reviews per page of the queue.
const PAGE: u32 = 30;

#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    status: Option<String>,
    before: Option<String>,
    done: Option<String>,
}

fn review_id(raw: &str) -> Result<ReviewId, PageError> {
    raw.parse().map_err(|_| PageError::not_found("review"))
}

/// The moderation queue.
pub(super) async fn queue(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/reviews") {
        return Ok(*r);
    }
    let before = q
        .before
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(review_id)
        .transpose()?;
    // An unknown status shows the whole queue, as the orders page does.
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| ReviewStatus::parse(s).ok());
    let found = state
        .shop
        .reviews()
        .moderation_queue(
            &Actor::Admin,
            ModerationPage {
                status,
                before,
                limit: PAGE,
            },
        )
        .await?;
    let next = (found.len() == PAGE as usize)
        .then(|| found.last().map(|r| r.id.to_string()))
        .flatten();
    let rows: Vec<Value> = found
        .iter()
        .map(|r| {
            json!({
                "id": r.id.to_string(),
                "stars": r.rating.stars(),
                "title": r.title,
                "body": r.body,
                "verified": r.verified,
                "reports": r.report_count,
                "hidden": r.status == ReviewStatus::Hidden,
                "status": humanize(&name_of(&r.status)),
                "written": r.created_at.format("%b %e, %Y").to_string(),
                "product": r.product_id.to_string(),
                "moderation": r.moderation.as_ref().map(|m| json!({
                    "action": humanize(&name_of(&m.action)),
                    "reason": m.reason,
                    "when": m.at.format("%b %e, %Y %H:%M UTC").to_string(),
                })),
            })
        })
        .collect();
    let done = match q.done.as_deref() {
        Some("hidden") => Some("Review hidden: it left the product page and its rating."),
        Some("restored") => Some("Review restored: it is on the product page again."),
        _ => None,
    };
    page(
        &state,
        &visitor,
        "admin_reviews.html",
        json!({
            "title": "Review moderation",
            "section": "reviews",
            "reviews": rows,
            "next": next,
            "status": status.map(ReviewStatus::as_str),
            "paged": before.is_some(),
            "done": done,
        }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// Hides a review (it leaves lists and the product's rating), with a reason.
pub(super) async fn hide(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    state
        .shop
        .reviews()
        .hide(&Actor::Admin, review_id(&id)?, &form.reason)
        .await?;
    Ok(see_other("/admin/reviews?done=hidden"))
}

/// Publishes a hidden review again, with a reason.
pub(super) async fn restore(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    state
        .shop
        .reviews()
        .restore(&Actor::Admin, review_id(&id)?, &form.reason)
        .await?;
    Ok(see_other("/admin/reviews?done=restored"))
}
