//! The catalog: category tree, products by category (keyset pages), product
//! details with stock state, sellers.
//!
//! Queries per request (PostgreSQL): categories 1; products page 2 (products,
//! their variants); product details 5 in 3 round trips (product, variants, then
//! stock levels of every variant in one read, the seller and the rating aggregate
//! concurrently), 0 when the product cache holds it
//! (`AppState::with_product_cache`); seller 1. None grows with the page or the
//! number of variants.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use commerce::core::ports::ProductQuery;
use commerce::core::{CategoryId, ProductId, ProductStatus, Sku};
use commerce::inventory::LocationCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views::{
    CategoryNode, OptionValueView, OptionView, ProductPage, ProductSummary, ProductView,
    SellerView, StockState, VariantView, category_tree, images,
};

/// Largest page of products.
pub const MAX_PAGE: u32 = 100;
/// Page size when none is asked.
pub const DEFAULT_PAGE: u32 = 24;

/// Parses an id of kind `T` from a request, as 422 `validation_failed` on `field`.
pub(crate) fn parse_id<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::validation(field, "is not a valid id"))
}

/// The category tree.
#[utoipa::path(get, path = "/v1/catalog/categories", tag = "catalog", responses(
    (status = 200, body = Vec<CategoryNode>), (status = 503, body = ErrorBody)))]
async fn categories(State(state): State<AppState>) -> Result<ApiJson<Vec<CategoryNode>>, ApiError> {
    let all = state.shop.catalog().categories().await?;
    Ok(ApiJson(category_tree(&all)))
}

/// Query of a product page.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    /// Only products listed in this category id.
    pub category: Option<String>,
    /// Keyset cursor: `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 100 (default 24).
    pub limit: Option<u32>,
}

/// Active products, by id, one keyset page at a time.
#[utoipa::path(get, path = "/v1/catalog/products", tag = "catalog", params(ProductsQuery),
    responses((status = 200, body = ProductPage), (status = 400, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn products(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProductsQuery>,
) -> Result<ApiJson<ProductPage>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    let query = ProductQuery::page(limit)
        .with_category(
            q.category
                .as_deref()
                .map(|c| parse_id::<CategoryId>("category", c))
                .transpose()?,
        )
        .with_status(ProductStatus::Active)
        .with_after(
            q.after
                .as_deref()
                .map(|a| parse_id::<ProductId>("after", a))
                .transpose()?,
        );
    let found = state.shop.catalog().list_products(&query).await?;
    let next_cursor = (found.len() == limit as usize)
        .then(|| found.last().map(|p| p.id.to_string()))
        .flatten();
    let cdn = &state.config.cdn_base_url;
    Ok(ApiJson(ProductPage {
        items: found.iter().map(|p| ProductSummary::of(p, cdn)).collect(),
        next_cursor,
    }))
}

/// A product with its variants, their stock state, images, seller and rating
/// aggregate. The path takes the product's handle or its id. Draft and archived
/// products are not found.
#[utoipa::path(get, path = "/v1/catalog/products/{slug}", tag = "catalog",
    params(("slug" = String, Path, description = "Product handle or id")),
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody)))]
async fn product(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Response, ApiError> {
    let cache = state.product_cache.as_deref();
    if let Some(body) = cache.and_then(|c| c.get(&slug)) {
        return Ok(json_bytes(body));
    }
    let epoch = cache.map(crate::cache::ProductCache::epoch);
    let (view, skus) = product_view(&state, &slug).await?;
    let body = Bytes::from(serde_json::to_vec(&view).map_err(|e| ApiError::unavailable(&e))?);
    // Cached under its slug only (a product also found by id is not cached twice).
    if let (Some(cache), Some(epoch)) = (cache, epoch)
        && view.slug == slug
        && let Ok(id) = view.id.parse::<ProductId>()
    {
        cache.fill(&slug, id, &skus, epoch, body.clone());
    }
    Ok(json_bytes(body))
}

fn json_bytes(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Reads and renders the details of an active product: the product (with its
/// variants), then its stock levels and its seller concurrently.
async fn product_view(state: &AppState, slug: &str) -> Result<(ProductView, Vec<Sku>), ApiError> {
    let shop = &state.shop;
    let product = crate::routes::reviews::active_product(state, slug).await?;
    let skus: Vec<Sku> = product.variants.iter().map(|v| v.sku.clone()).collect();
    let location = LocationCode::default_location();
    let (levels, seller, rating) = tokio::join!(
        shop.inventory().stock_levels(&skus, &location),
        shop.catalog().seller(product.seller_id),
        shop.reviews().aggregate(product.id)
    );
    let (levels, seller, rating) = (levels?, seller?, rating?);
    let low = state.config.low_stock_threshold;
    let variants = product
        .variants
        .iter()
        .map(|v| {
            let level = levels.iter().find(|l| l.sku == v.sku);
            let available = level.map_or(0, |l| l.on_hand.saturating_sub(l.reserved));
            VariantView {
                sku: v.sku.as_str().to_owned(),
                name: v.name.clone(),
                price: v.price.into(),
                compare_at_price: v.compare_at_price.map(Into::into),
                options: v
                    .options
                    .iter()
                    .map(|o| OptionValueView {
                        name: o.name.clone(),
                        value: o.value.clone(),
                    })
                    .collect(),
                stock: StockState::of(available, low),
            }
        })
        .collect();
    let view = ProductView {
        id: product.id.to_string(),
        slug: product.slug.clone(),
        title: product.title.clone(),
        description: product.description.clone(),
        brand: product.brand.clone(),
        tags: product.tags.clone(),
        category_ids: product
            .category_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        seller: seller.map(SellerView::from),
        images: images(&product, &state.config.cdn_base_url),
        options: product
            .options
            .iter()
            .map(|o| OptionView {
                name: o.name.clone(),
                values: o.values.clone(),
            })
            .collect(),
        variants,
        rating: (&rating).into(),
    };
    Ok((view, skus))
}

/// A seller by handle.
#[utoipa::path(get, path = "/v1/catalog/sellers/{slug}", tag = "catalog",
    params(("slug" = String, Path, description = "Seller handle")),
    responses((status = 200, body = SellerView), (status = 404, body = ErrorBody)))]
async fn seller(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<ApiJson<SellerView>, ApiError> {
    let seller = state
        .shop
        .catalog()
        .seller_by_slug(&slug)
        .await?
        .ok_or_else(|| ApiError::not_found("seller"))?;
    Ok(ApiJson(seller.into()))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(categories))
        .routes(routes!(products))
        .routes(routes!(product))
        .routes(routes!(seller))
}
