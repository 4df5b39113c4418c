//! Recommendation lists, read from the precomputed tables: frequently bought
//! together (for a product, for the caller's cart), similar products, popular now
//! (per category or shop-wide), and "for you". Every list holds only active, in-stock
//! products, never the product (or cart items) asked about; "for you" never what the
//! customer bought. Items carry the product's summary (title, handle, price, image)
//! and a score, read for the whole list in one batch ([`CatalogStore::products`]).
//!
//! Queries per request (PostgreSQL, uncached): product lists 4 (product, list, the
//! products and their variants); cart 5 (cart, listings of its lines in one read,
//! list, products, variants); popular 3; for you 3 or 4 (the precomputed list;
//! popular when it has none). None grows with the list.
//!
//! [`CatalogStore::products`]: commerce::core::ports::CatalogStore::products

use axum::extract::State;
use commerce::core::{CategoryId, ProductId, ProductStatus};
use commerce::recommend::{MAX_LIST, Scored};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::routes::catalog::parse_id;
use crate::routes::reviews::active_product;
use crate::state::AppState;
use crate::views::ProductSummary;

/// List length when none is asked.
pub const DEFAULT_LIST: u32 = 10;

/// A recommended product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendedView {
    /// Product id (`GET /v1/catalog/products/{id}` shows it).
    pub product_id: String,
    /// Score within this list (higher first; not comparable across lists).
    pub score: f64,
    /// What a list shows of the product.
    pub product: ProductSummary,
}

/// A recommendation list, best first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendationsView {
    /// Products, best first.
    pub items: Vec<RecommendedView>,
}

/// The view of `list`: its products read in one batch, in the list's order. A
/// product deactivated since the list was computed is left out.
async fn view(
    state: &AppState,
    list: Vec<Scored>,
) -> Result<ApiJson<RecommendationsView>, ApiError> {
    let ids: Vec<ProductId> = list.iter().map(|s| s.product_id).collect();
    let products = state.shop.catalog().products(&ids).await?;
    let cdn = &state.config.cdn_base_url;
    let items = list
        .into_iter()
        .filter_map(|s| {
            let product = products
                .iter()
                .find(|p| p.id == s.product_id && p.status == ProductStatus::Active)?;
            Some(RecommendedView {
                product_id: s.product_id.to_string(),
                score: s.score,
                product: ProductSummary::of(product, cdn),
            })
        })
        .collect();
    Ok(ApiJson(RecommendationsView { items }))
}

/// Length of a list.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Products, 1 to 50 (default 10).
    pub limit: Option<u32>,
}

/// Query of "popular now".
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PopularQuery {
    /// Only this category id (shop-wide when absent).
    pub category: Option<String>,
    /// Products, 1 to 50 (default 10).
    pub limit: Option<u32>,
}

fn list_size(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIST);
    if limit == 0 || limit > MAX_LIST {
        return Err(ApiError::validation("limit", "must be 1 to 50"));
    }
    Ok(limit)
}

/// Frequently bought together with a product (co-purchases, normalised so
/// best-sellers do not crowd every list).
#[utoipa::path(get, path = "/v1/catalog/products/{slug}/bought-together", tag = "recommendations",
    params(("slug" = String, Path, description = "Product handle or id"), ListQuery),
    responses((status = 200, body = RecommendationsView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn bought_together(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<RecommendationsView>, ApiError> {
    let limit = list_size(q.limit)?;
    let product = active_product(&state, &slug).await?;
    let list = state
        .shop
        .recommendations()
        .bought_together(product.id, limit)
        .await?;
    view(&state, list).await
}

/// Products similar to a product by text and category (for products nobody bought
/// yet too).
#[utoipa::path(get, path = "/v1/catalog/products/{slug}/similar", tag = "recommendations",
    params(("slug" = String, Path, description = "Product handle or id"), ListQuery),
    responses((status = 200, body = RecommendationsView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn similar(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<RecommendationsView>, ApiError> {
    let limit = list_size(q.limit)?;
    let product = active_product(&state, &slug).await?;
    let list = state
        .shop
        .recommendations()
        .similar(product.id, limit)
        .await?;
    view(&state, list).await
}

/// Popular now (units sold with time decay), in a category or shop-wide.
#[utoipa::path(get, path = "/v1/catalog/popular", tag = "recommendations", params(PopularQuery),
    responses((status = 200, body = RecommendationsView), (status = 422, body = ErrorBody)))]
async fn popular(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PopularQuery>,
) -> Result<ApiJson<RecommendationsView>, ApiError> {
    let limit = list_size(q.limit)?;
    let category = q
        .category
        .as_deref()
        .map(|c| parse_id::<CategoryId>("category", c))
        .transpose()?;
    let list = state
        .shop
        .recommendations()
        .popular(category, limit)
        .await?;
    view(&state, list).await
}

/// Frequently bought together with the products in the caller's cart (never one of
/// them); empty for an empty cart.
#[utoipa::path(get, path = "/v1/cart/bought-together", tag = "recommendations", params(ListQuery),
    responses((status = 200, body = RecommendationsView), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn cart_bought_together(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<RecommendationsView>, ApiError> {
    let limit = list_size(q.limit)?;
    let key = caller.cart()?;
    let Some(cart) = state.shop.carts().cart(&key).await? else {
        return Ok(ApiJson(RecommendationsView { items: Vec::new() }));
    };
    let skus: Vec<_> = cart.lines.iter().map(|l| l.sku.clone()).collect();
    if skus.is_empty() {
        return Ok(ApiJson(RecommendationsView { items: Vec::new() }));
    }
    let mut products: Vec<ProductId> = state
        .shop
        .catalog()
        .listings(&skus)
        .await?
        .into_iter()
        .map(|l| l.variant.product_id)
        .collect();
    products.sort();
    products.dedup();
    let list = state
        .shop
        .recommendations()
        .for_cart(&products, limit)
        .await?;
    view(&state, list).await
}

/// For the signed-in customer: what goes with what they bought, like it, and
/// popular, never what they bought; popular now for a customer with no orders.
#[utoipa::path(get, path = "/v1/recommendations/for-you", tag = "recommendations",
    params(ListQuery),
    responses((status = 200, body = RecommendationsView), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn for_you(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<RecommendationsView>, ApiError> {
    let limit = list_size(q.limit)?;
    let actor = caller.actor()?;
    let list = state.shop.recommendations().for_you(&actor, limit).await?;
    view(&state, list).await
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(bought_together))
        .routes(routes!(similar))
        .routes(routes!(popular))
        .routes(routes!(cart_bought_together))
        .routes(routes!(for_you))
}
