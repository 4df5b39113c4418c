//! Search over the `ProductSearch` port: full text with filters, sorts, facets,
//! and suggestions for a search box. The index is fed by the outbox (the search
//! indexer worker), never by a handler.
//!
//! Queries per request: none on the database; one index search (facets counted in
//! the same pass) or one suggestion lookup.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use commerce::core::search::{
    ProductSearch, SearchFilters, SearchQuery, SearchResults, SearchSort, Suggestion,
};
use commerce::core::{CategoryId, Currency, SellerId};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::catalog::parse_id;
use crate::state::AppState;

fn index(state: &AppState) -> Result<&Arc<dyn ProductSearch>, ApiError> {
    state.search.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_unavailable",
            "this shop has no search index configured",
        )
    })
}

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What the shopper typed (empty: browse with filters).
    #[serde(default)]
    pub q: String,
    /// Category id (its subcategories included).
    pub category: Option<String>,
    /// Lowest price, in minor units.
    pub price_min: Option<i64>,
    /// Highest price, in minor units.
    pub price_max: Option<i64>,
    /// ISO 4217 currency.
    pub currency: Option<String>,
    /// Seller id.
    pub seller: Option<String>,
    /// Only products with a unit available.
    #[serde(default)]
    pub in_stock: bool,
    /// Lowest average rating, 0 to 5 (`"4.5"`).
    pub min_rating: Option<String>,
    /// `relevance` (default), `price_asc`, `price_desc`, `newest`, `rating`,
    /// `best_selling`.
    pub sort: Option<String>,
    /// Hits to skip.
    #[serde(default)]
    pub offset: u32,
    /// Hits to return, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// Count facets (default true).
    pub facets: Option<bool>,
}

fn sort_of(name: &str) -> Result<SearchSort, ApiError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        ApiError::validation(
            "sort",
            "one of relevance, price_asc, price_desc, newest, rating, best_selling",
        )
    })
}

/// Full-text search with filters, sorts, facets, highlights and "did you mean".
#[utoipa::path(get, path = "/v1/catalog/search", tag = "catalog", params(SearchParams),
    responses((status = 200, description = "Hits, total, facets", body = crate::routes::search_schema::SearchResultsSchema),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<ApiJson<SearchResults>, ApiError> {
    let index = index(&state)?;
    let filters = SearchFilters::default()
        .with_category(
            p.category
                .as_deref()
                .map(|c| parse_id::<CategoryId>("category", c))
                .transpose()?,
        )
        .with_price_min(p.price_min)
        .with_price_max(p.price_max)
        .with_currency(p.currency.as_deref().map(Currency::from_code).transpose()?)
        .with_seller(
            p.seller
                .as_deref()
                .map(|s| parse_id::<SellerId>("seller", s))
                .transpose()?,
        )
        .with_in_stock(p.in_stock)
        .with_min_rating(
            p.min_rating
                .as_deref()
                .map(|r| {
                    r.parse::<Decimal>()
                        .map_err(|_| ApiError::validation("min_rating", "a decimal from 0 to 5"))
                })
                .transpose()?,
        );
    let mut query = SearchQuery::text(p.q);
    query.filters = filters;
    query.sort = p
        .sort
        .as_deref()
        .map(sort_of)
        .transpose()?
        .unwrap_or_default();
    query.offset = p.offset;
    query.limit = p.limit.unwrap_or(20);
    query.facets = p.facets.unwrap_or(true);
    Ok(ApiJson(index.search(&query).await?))
}

/// Suggestion parameters.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What is typed so far.
    pub q: String,
    /// Suggestions, 1 to 20 (default 8).
    pub limit: Option<u32>,
}

/// Suggestions for a search box: categories and product titles by prefix.
#[utoipa::path(get, path = "/v1/catalog/suggest", tag = "catalog", params(SuggestParams),
    responses((status = 200, description = "Suggestions", body = Vec<crate::routes::search_schema::SuggestionSchema>),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn suggest(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SuggestParams>,
) -> Result<ApiJson<Vec<Suggestion>>, ApiError> {
    let index = index(&state)?;
    Ok(ApiJson(index.suggest(&p.q, p.limit.unwrap_or(8)).await?))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(suggest))
}
