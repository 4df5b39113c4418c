//! Reviews and ratings: a product's published reviews (newest, most helpful, by
//! rating; keyset pages) and its rating aggregate; customers post, edit, delete,
//! report and vote; the product's seller (their products only) and admins hide and
//! restore with a reason.
//!
//! Queries per request (PostgreSQL): list 2 (product, one page); aggregate 2
//! (product, one row); post 5 (product, existing review, purchase check, one write
//! transaction); edit 2 or 3; delete 2; report and vote 2; moderate 2 or 3; the
//! customer's own 1; the staff's moderation queue 1. None grows with the page size.

use axum::extract::State;
use axum::http::StatusCode;
use commerce::core::{Product, ProductId, ProductStatus, Sku};
use commerce::reviews::{
    CustomerReviewPage, ModerationPage, ProductReviewQuery, Rating, RatingAggregate, Review,
    ReviewCursor, ReviewDraft, ReviewId, ReviewOrder, ReviewStatus,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::routes::catalog::parse_id;
use crate::state::AppState;

/// Largest page of reviews.
pub const MAX_PAGE: u32 = 100;
/// Page size when none is asked.
pub const DEFAULT_PAGE: u32 = 20;

/// A product's rating aggregate: published reviews only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatingView {
    /// Published reviews counted.
    pub count: u32,
    /// Average stars to two decimals, as a string (`"4.33"`); `"0"` with none.
    #[schema(value_type = String)]
    pub average: Decimal,
    /// Reviews with 1, 2, 3, 4 and 5 stars.
    pub histogram: [u32; 5],
}

impl From<&RatingAggregate> for RatingView {
    fn from(a: &RatingAggregate) -> Self {
        RatingView {
            count: a.count(),
            average: a.average(),
            histogram: a.histogram,
        }
    }
}

/// A review as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewView {
    /// Id.
    pub id: String,
    /// The product reviewed.
    pub product_id: String,
    /// Stars, 1 to 5.
    pub rating: u8,
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// The variant reviewed, if named.
    pub sku: Option<String>,
    /// The author had a confirmed order of the product when posting.
    pub verified: bool,
    /// `published` or `hidden` (hidden reviews show only in their author's list).
    pub status: String,
    /// Why a moderator last hid or restored it.
    pub moderation_reason: Option<String>,
    /// Customers who found it helpful.
    pub helpful_count: u32,
    /// Posted at (RFC 3339).
    pub created_at: String,
    /// Last changed at (RFC 3339).
    pub updated_at: String,
}

impl From<&Review> for ReviewView {
    fn from(r: &Review) -> Self {
        ReviewView {
            id: r.id.to_string(),
            product_id: r.product_id.to_string(),
            rating: r.rating.stars(),
            title: r.title.clone(),
            body: r.body.clone(),
            sku: r.sku.as_ref().map(|s| s.as_str().to_owned()),
            verified: r.verified,
            status: r.status.as_str().to_owned(),
            moderation_reason: r.moderation.as_ref().map(|m| m.reason.clone()),
            helpful_count: r.helpful_count,
            created_at: r.created_at.to_rfc3339(),
            updated_at: r.updated_at.to_rfc3339(),
        }
    }
}

/// A page of reviews.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewPage {
    /// Reviews in the order asked.
    pub items: Vec<ReviewView>,
    /// Pass as `after` (product lists) or `before` (own reviews) for the next page;
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What a customer writes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// Stars, 1 to 5.
    pub rating: u8,
    /// Headline, 1 to 120 characters on one line.
    pub title: String,
    /// Text, up to 5000 characters.
    #[serde(default)]
    pub body: String,
    /// The variant reviewed (a SKU of the product).
    #[serde(default)]
    pub sku: Option<String>,
}

impl ReviewBody {
    fn draft(self) -> Result<ReviewDraft, ApiError> {
        Ok(ReviewDraft::new(Rating::new(self.rating)?, self.title)
            .with_body(self.body)
            .with_sku(self.sku.map(Sku::new).transpose()?))
    }
}

/// A reason (reports and moderation).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why, 1 to 500 characters.
    pub reason: String,
}

/// Whether a report or vote was recorded now (`false`: this customer did before).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    /// True the first time.
    pub recorded: bool,
}

/// Query of a product's review list.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewsQuery {
    /// `newest` (default), `most_helpful`, `highest_rating`, `lowest_rating`.
    pub order: Option<String>,
    /// Only reviews with this many stars.
    pub rating: Option<u8>,
    /// Keyset cursor: `next_cursor` of the previous page (same order and filter).
    pub after: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// Query of the caller's own reviews.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OwnReviewsQuery {
    /// Only reviews older than this review id (`next_cursor` of the previous page).
    pub before: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    Ok(limit)
}

fn order_of(name: &str) -> Result<ReviewOrder, ApiError> {
    match name {
        "newest" => Ok(ReviewOrder::Newest),
        "most_helpful" => Ok(ReviewOrder::MostHelpful),
        "highest_rating" => Ok(ReviewOrder::HighestRating),
        "lowest_rating" => Ok(ReviewOrder::LowestRating),
        _ => Err(ApiError::validation(
            "order",
            "one of newest, most_helpful, highest_rating, lowest_rating",
        )),
    }
}

/// A cursor as sent: `{key}.{review id}`.
fn cursor_text(c: &ReviewCursor) -> String {
    format!("{}.{}", c.key, c.id)
}

fn parse_cursor(raw: &str) -> Result<ReviewCursor, ApiError> {
    let bad = || ApiError::validation("after", "not a cursor this list returned");
    let (key, id) = raw.split_once('.').ok_or_else(bad)?;
    Ok(ReviewCursor {
        key: key.parse().map_err(|_| bad())?,
        id: id.parse().map_err(|_| bad())?,
    })
}

/// The active product a path names: by handle, or by id. Draft and archived
/// products are not found.
pub(crate) async fn active_product(state: &AppState, handle: &str) -> Result<Product, ApiError> {
    let catalog = state.shop.catalog();
    let found = match catalog.product_by_slug(handle).await? {
        Some(p) => Some(p),
        None => match handle.parse::<ProductId>() {
            Ok(id) => catalog.product(id).await?,
            Err(_) => None,
        },
    };
    found
        .filter(|p| p.status == ProductStatus::Active)
        .ok_or_else(|| ApiError::not_found("product"))
}

fn review_id(raw: &str) -> Result<ReviewId, ApiError> {
    parse_id::<ReviewId>("id", raw).map_err(|_| ApiError::not_found("review"))
}

/// A product's published reviews, one keyset page at a time.
#[utoipa::path(get, path = "/v1/catalog/products/{slug}/reviews", tag = "reviews",
    params(("slug" = String, Path, description = "Product handle or id"), ReviewsQuery),
    responses((status = 200, body = ReviewPage), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn product_reviews(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReviewsQuery>,
) -> Result<ApiJson<ReviewPage>, ApiError> {
    let limit = page_size(q.limit)?;
    let order = q.order.as_deref().map(order_of).transpose()?;
    let rating = q.rating.map(Rating::new).transpose()?;
    let after = q.after.as_deref().map(parse_cursor).transpose()?;
    let product = active_product(&state, &slug).await?;
    let query = ProductReviewQuery::first(product.id, order.unwrap_or_default(), limit)
        .with_rating(rating)
        .with_after(after);
    let found = state.shop.reviews().for_product(&query).await?;
    let next_cursor = (found.len() == limit as usize)
        .then(|| found.last())
        .flatten()
        .map(|last| cursor_text(&ReviewCursor::after(query.order, last)));
    Ok(ApiJson(ReviewPage {
        items: found.iter().map(ReviewView::from).collect(),
        next_cursor,
    }))
}

/// A product's rating aggregate (published reviews only).
#[utoipa::path(get, path = "/v1/catalog/products/{slug}/rating", tag = "reviews",
    params(("slug" = String, Path, description = "Product handle or id")),
    responses((status = 200, body = RatingView), (status = 404, body = ErrorBody)))]
async fn product_rating(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<ApiJson<RatingView>, ApiError> {
    let product = active_product(&state, &slug).await?;
    let aggregate = state.shop.reviews().aggregate(product.id).await?;
    Ok(ApiJson(RatingView::from(&aggregate)))
}

/// Posts the caller's review of a product: verified when they bought it; refused
/// (`purchase_required`) when the shop takes reviews of bought products only; one
/// per customer per product (`already_reviewed`).
#[utoipa::path(post, path = "/v1/catalog/products/{slug}/reviews", tag = "reviews",
    params(("slug" = String, Path, description = "Product handle or id")),
    request_body = ReviewBody,
    responses((status = 201, body = ReviewView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<(StatusCode, ApiJson<ReviewView>), ApiError> {
    let actor = caller.actor()?;
    let draft = body.draft()?;
    let product = active_product(&state, &slug).await?;
    let review = state.shop.reviews().post(&actor, product.id, draft).await?;
    Ok((StatusCode::CREATED, ApiJson(ReviewView::from(&review))))
}

/// The author replaces their review's rating, text and variant.
#[utoipa::path(put, path = "/v1/reviews/{id}", tag = "reviews",
    params(("id" = String, Path, description = "Review id")), request_body = ReviewBody,
    responses((status = 200, body = ReviewView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn edit_review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<ApiJson<ReviewView>, ApiError> {
    let actor = caller.actor()?;
    let id = review_id(&id)?;
    let review = state.shop.reviews().edit(&actor, id, body.draft()?).await?;
    Ok(ApiJson(ReviewView::from(&review)))
}

/// The author deletes their review.
#[utoipa::path(delete, path = "/v1/reviews/{id}", tag = "reviews",
    params(("id" = String, Path, description = "Review id")),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let actor = caller.actor()?;
    state.shop.reviews().delete(&actor, review_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reports a published review as abusive (once per customer).
#[utoipa::path(post, path = "/v1/reviews/{id}/report", tag = "reviews",
    params(("id" = String, Path, description = "Review id")), request_body = ReasonBody,
    responses((status = 200, body = Recorded), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<ApiJson<Recorded>, ApiError> {
    let actor = caller.actor()?;
    let recorded = state
        .shop
        .reviews()
        .report(&actor, review_id(&id)?, &body.reason)
        .await?;
    Ok(ApiJson(Recorded { recorded }))
}

/// Votes a published review helpful (once per customer; not one's own).
#[utoipa::path(post, path = "/v1/reviews/{id}/helpful", tag = "reviews",
    params(("id" = String, Path, description = "Review id")),
    responses((status = 200, body = Recorded), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn vote_helpful(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Recorded>, ApiError> {
    let actor = caller.actor()?;
    let recorded = state
        .shop
        .reviews()
        .vote_helpful(&actor, review_id(&id)?)
        .await?;
    Ok(ApiJson(Recorded { recorded }))
}

/// The caller's own reviews, hidden ones included, newest first.
#[utoipa::path(get, path = "/v1/account/reviews", tag = "reviews", params(OwnReviewsQuery),
    responses((status = 200, body = ReviewPage), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn own_reviews(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<OwnReviewsQuery>,
) -> Result<ApiJson<ReviewPage>, ApiError> {
    let actor = caller.actor()?;
    let limit = page_size(q.limit)?;
    let before = q
        .before
        .as_deref()
        .map(|b| parse_id::<ReviewId>("before", b))
        .transpose()?;
    let found = state
        .shop
        .reviews()
        .of_customer(&actor, CustomerReviewPage { before, limit })
        .await?;
    let next_cursor = (found.len() == limit as usize)
        .then(|| found.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(ApiJson(ReviewPage {
        items: found.iter().map(ReviewView::from).collect(),
        next_cursor,
    }))
}

async fn moderate(
    state: &AppState,
    caller: &Caller,
    id: &str,
    reason: &str,
    hide: bool,
) -> Result<ApiJson<ReviewView>, ApiError> {
    let actor = caller.actor()?;
    let id = review_id(id)?;
    let reviews = state.shop.reviews();
    let review = if hide {
        reviews.hide(&actor, id, reason).await?
    } else {
        reviews.restore(&actor, id, reason).await?
    };
    Ok(ApiJson(ReviewView::from(&review)))
}

/// A seller hides a review of one of their products (it leaves lists and the
/// aggregate). Another seller's product: 403.
#[utoipa::path(post, path = "/v1/seller/reviews/{id}/hide", tag = "reviews",
    params(("id" = String, Path, description = "Review id")), request_body = ReasonBody,
    responses((status = 200, body = ReviewView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn seller_hide(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<ApiJson<ReviewView>, ApiError> {
    moderate(&state, &caller, &id, &body.reason, true).await
}

/// A seller publishes a hidden review of one of their products again.
#[utoipa::path(post, path = "/v1/seller/reviews/{id}/restore", tag = "reviews",
    params(("id" = String, Path, description = "Review id")), request_body = ReasonBody,
    responses((status = 200, body = ReviewView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn seller_restore(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<ApiJson<ReviewView>, ApiError> {
    moderate(&state, &caller, &id, &body.reason, false).await
}

/// Staff hide any review.
#[utoipa::path(post, path = "/v1/admin/reviews/{id}/hide", tag = "reviews",
    params(("id" = String, Path, description = "Review id")), request_body = ReasonBody,
    responses((status = 200, body = ReviewView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn admin_hide(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<ApiJson<ReviewView>, ApiError> {
    moderate(&state, &caller, &id, &body.reason, true).await
}

/// Staff publish any hidden review again.
#[utoipa::path(post, path = "/v1/admin/reviews/{id}/restore", tag = "reviews",
    params(("id" = String, Path, description = "Review id")), request_body = ReasonBody,
    responses((status = 200, body = ReviewView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn admin_restore(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<ApiJson<ReviewView>, ApiError> {
    moderate(&state, &caller, &id, &body.reason, false).await
}

/// The moderation queue's filter and page.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ModerationQuery {
    /// Only reviews in this status (`published`: reported but shown; `hidden`).
    pub status: Option<String>,
    /// Only reviews older than this one (the `next_cursor` of the previous page).
    pub before: Option<String>,
    /// Page size, 1 to 100 (default 30).
    pub limit: Option<u32>,
}

/// A review of the moderation queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModerationItem {
    /// The review.
    pub review: ReviewView,
    /// Customers who reported it.
    pub report_count: u32,
}

/// A page of the moderation queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModerationQueue {
    /// Reviews newest first.
    pub items: Vec<ModerationItem>,
    /// Pass as `before` (with the same `status`) for the next page; `None` on the
    /// last page. The store filters by status before it counts, so a page holds
    /// `limit` items whenever that many remain.
    pub next_cursor: Option<String>,
}

/// The moderation queue (reviews reported at least once, or hidden), newest first:
/// one page of `ReviewStore::list_for_moderation` (1 query), filtered by status in
/// the store.
#[utoipa::path(get, path = "/v1/admin/reviews", tag = "reviews", params(ModerationQuery),
    responses((status = 200, body = ModerationQueue), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn moderation_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ModerationQuery>,
) -> Result<ApiJson<ModerationQueue>, ApiError> {
    caller.admin()?;
    let actor = caller.actor()?;
    let limit = q.limit.unwrap_or(30);
    if limit == 0 || limit > 100 {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("published") => Some(ReviewStatus::Published),
        Some("hidden") => Some(ReviewStatus::Hidden),
        Some(_) => return Err(ApiError::validation("status", "published or hidden")),
    };
    let before = q
        .before
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|b| parse_id::<ReviewId>("before", b))
        .transpose()?;
    let found = state
        .shop
        .reviews()
        .moderation_queue(
            &actor,
            ModerationPage {
                status,
                before,
                limit,
            },
        )
        .await?;
    let next_cursor = (found.len() == limit as usize)
        .then(|| found.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(ApiJson(ModerationQueue {
        items: found
            .iter()
            .map(|r| ModerationItem {
                review: ReviewView::from(r),
                report_count: r.report_count,
            })
            .collect(),
        next_cursor,
    }))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(product_reviews, post_review))
        .routes(routes!(product_rating))
        .routes(routes!(edit_review, delete_review))
        .routes(routes!(report_review))
        .routes(routes!(vote_helpful))
        .routes(routes!(own_reviews))
        .routes(routes!(seller_hide))
        .routes(routes!(seller_restore))
        .routes(routes!(admin_hide))
        .routes(routes!(admin_restore))
        .routes(routes!(moderation_queue))
}
