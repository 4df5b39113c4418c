//! OpenAPI schemas of the search answers (`commerce::core::search::SearchResults`
//! and `Suggestion`), which the routes return as the domain serializes them. The
//! schemas mirror that serialization; `tests/http_openapi_typed.rs` checks a real
//! answer against them, so they cannot drift apart unnoticed.

#![allow(dead_code)] // Schema-only types: read by utoipa, never built.

use utoipa::ToSchema;

use crate::views::MoneyView;

/// A byte range of a highlighted text.
#[derive(ToSchema)]
pub struct HighlightRange {
    /// First byte.
    pub start: u64,
    /// Byte after the last.
    pub end: u64,
}

/// A text with the words that matched marked.
#[derive(ToSchema)]
pub struct HighlightSchema {
    /// The text (or a window of it).
    pub text: String,
    /// Byte ranges to emphasize, in order.
    pub ranges: Vec<HighlightRange>,
}

/// One result.
#[derive(ToSchema)]
pub struct SearchHitSchema {
    /// Product id.
    pub product_id: String,
    /// Title.
    pub title: String,
    /// URL handle.
    pub slug: String,
    /// Lowest variant price.
    pub price: MoneyView,
    /// Seller id.
    pub seller_id: String,
    /// Whether a unit is available.
    pub in_stock: bool,
    /// Average rating (decimal string).
    pub rating_average: String,
    /// Number of ratings.
    pub rating_count: u32,
    /// Units sold.
    pub units_sold: u64,
    /// The title, matches marked.
    pub title_highlight: HighlightSchema,
    /// A window of the description, matches marked.
    pub description_highlight: HighlightSchema,
}

/// A category and its results (itself and below).
#[derive(ToSchema)]
pub struct CategoryCountSchema {
    /// Category id.
    pub category_id: String,
    /// Name.
    pub name: String,
    /// Results.
    pub count: u64,
    /// Subcategories with a result.
    #[schema(no_recursion)]
    pub children: Vec<CategoryCountSchema>,
}

/// Results whose price (minor units) is in `[min, max)`.
#[derive(ToSchema)]
pub struct PriceBucketSchema {
    /// Lower edge.
    pub min: i64,
    /// Upper edge; absent: none.
    pub max: Option<i64>,
    /// Results.
    pub count: u64,
}

/// An element of a `[seller_id, count]` pair.
#[derive(ToSchema, serde::Serialize)]
#[serde(untagged)]
pub enum SellerCountPart {
    /// The seller id (first).
    Seller(String),
    /// Its results (second).
    Count(u64),
}

/// Facet counts over the whole result set.
#[derive(ToSchema)]
pub struct FacetsSchema {
    /// Category tree with counts.
    pub categories: Vec<CategoryCountSchema>,
    /// Price buckets.
    pub prices: Vec<PriceBucketSchema>,
    /// `[seller_id, count]` pairs, by count.
    pub sellers: Vec<Vec<SellerCountPart>>,
    /// Results rated at least 1, 2, 3 and 4 stars.
    pub ratings_at_least: Vec<u64>,
    /// Results with a unit available.
    pub in_stock: u64,
}

/// A search answer.
#[derive(ToSchema)]
pub struct SearchResultsSchema {
    /// Results in all.
    pub total: u64,
    /// The page.
    pub hits: Vec<SearchHitSchema>,
    /// Facets when asked for.
    pub facets: Option<FacetsSchema>,
    /// A corrected query that finds more.
    pub did_you_mean: Option<String>,
}

/// Where a suggestion leads.
#[derive(ToSchema)]
pub struct SuggestionTargetSchema {
    /// `product` or `category`.
    pub kind: String,
    /// Its id.
    pub id: String,
}

/// A search-box suggestion.
#[derive(ToSchema)]
pub struct SuggestionSchema {
    /// Text to show.
    pub text: String,
    /// Where it leads.
    pub target: SuggestionTargetSchema,
}
