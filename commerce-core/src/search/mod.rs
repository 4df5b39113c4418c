//! Product search: the [`ProductSearch`] port, what a query asks and what it gets.
//!
//! Search backends hold a denormalized [`SearchDocument`] per active product and are
//! fed [`IndexChange`]s by an outbox consumer (never by a second write in a
//! handler). [`crate::memory::MemorySearch`] is the in-memory reference backend;
//! `commerce-search` implements the port on tantivy. The behaviour every backend
//! shares is specified once, in `testkit::search` (feature `testkit`).

pub mod text;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::{Category, Product};
use crate::error::{Error, Result};
use crate::id::{CategoryId, ProductId, SellerId, Sku};
use crate::money::{Currency, Money};

pub use text::Highlight;

/// Longest query text accepted, in bytes; a longer one is a `Validation` error.
pub const MAX_QUERY_BYTES: usize = 512;
/// Most words of a query that are matched; further words are ignored.
pub const MAX_QUERY_WORDS: usize = 10;
/// Largest page of hits.
pub const MAX_LIMIT: u32 = 100;
/// Deepest page start (`offset + limit`) a query may ask for.
pub const MAX_WINDOW: u32 = 10_000;

/// A variant as search sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchVariant {
    /// SKU.
    pub sku: Sku,
    /// Variant name ("Red / M"), searched as text.
    pub name: String,
    /// Price in minor units of the document's currency.
    pub price_minor: i64,
}

/// The stock of one SKU at one location, as the last stock event told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// SKU.
    pub sku: Sku,
    /// Location code.
    pub location: String,
    /// Units that can be sold now (`on_hand - reserved`, never below zero).
    pub available: u64,
}

/// What changes often about a product and is not in the catalog: stock, rating,
/// units sold. Kept by a backend across catalog upserts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// Stock per SKU and location.
    pub stock: Vec<StockLevel>,
    /// Number of ratings.
    pub rating_count: u32,
    /// Average rating, 0 to 5.
    #[serde(with = "rust_decimal::serde::str")]
    pub rating_average: Decimal,
    /// Units sold (confirmed orders).
    pub units_sold: u64,
}

impl Signals {
    /// Popularity: units sold plus five per rating. Ranks equally relevant products.
    pub fn popularity(&self) -> u64 {
        self.units_sold
            .saturating_add(u64::from(self.rating_count).saturating_mul(5))
    }

    /// Whether any SKU has a unit available somewhere.
    pub fn in_stock(&self) -> bool {
        self.stock.iter().any(|s| s.available > 0)
    }

    /// Sets the stock of `sku` at `location`.
    pub fn set_stock(&mut self, sku: &Sku, location: &str, available: u64) {
        match self
            .stock
            .iter_mut()
            .find(|s| &s.sku == sku && s.location == location)
        {
            Some(level) => level.available = available,
            None => self.stock.push(StockLevel {
                sku: sku.clone(),
                location: location.to_owned(),
                available,
            }),
        }
    }
}

/// One product as a search backend holds it: the catalog fields searched and shown,
/// and its [`Signals`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchDocument {
    /// Product id.
    pub product_id: ProductId,
    /// Title (searched, boosted; shown with accents).
    pub title: String,
    /// URL handle.
    pub slug: String,
    /// Description (searched).
    pub description: String,
    /// Tags and brand (searched).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Categories the product is listed in (their ancestors are added by the backend
    /// from the category tree).
    pub category_ids: Vec<CategoryId>,
    /// Seller.
    pub seller_id: SellerId,
    /// Seller display name (searched; empty when unknown).
    #[serde(default)]
    pub seller_name: String,
    /// Currency of every price.
    pub currency: Currency,
    /// Variants (at least one; the product's price is the lowest).
    pub variants: Vec<SearchVariant>,
    /// When the product was created (the "newest" sort).
    pub created_at: DateTime<Utc>,
    /// Stock, rating and sales.
    #[serde(default)]
    pub signals: Signals,
}

impl SearchDocument {
    /// The document of an active catalog product, with empty signals.
    /// `Validation` when the product has no variant or prices not in minor units.
    pub fn from_product(product: &Product, seller_name: &str) -> Result<Self> {
        let first = product
            .variants
            .first()
            .ok_or_else(|| Error::validation("variants", "a product needs a variant"))?;
        let currency = first.price.currency();
        let mut variants = Vec::with_capacity(product.variants.len());
        for v in &product.variants {
            if v.price.currency() != currency {
                return Err(Error::CurrencyMismatch {
                    expected: currency,
                    found: v.price.currency(),
                });
            }
            variants.push(SearchVariant {
                sku: v.sku.clone(),
                name: v.name.clone(),
                price_minor: v.price.to_minor()?,
            });
        }
        Ok(SearchDocument {
            product_id: product.id,
            title: product.title.clone(),
            slug: product.slug.clone(),
            description: product.description.clone(),
            tags: product
                .tags
                .iter()
                .chain(product.brand.as_ref())
                .cloned()
                .collect(),
            category_ids: product.category_ids.clone(),
            seller_id: product.seller_id,
            seller_name: seller_name.to_owned(),
            currency,
            variants,
            created_at: product.created_at,
            signals: Signals::default(),
        })
    }

    /// The lowest variant price in minor units (the price filters and sorts use).
    pub fn price_minor(&self) -> i64 {
        self.variants
            .iter()
            .map(|v| v.price_minor)
            .min()
            .unwrap_or(0)
    }

    /// The lowest price as [`Money`].
    pub fn price(&self) -> Money {
        Money::from_minor(self.price_minor(), self.currency)
    }

    /// Searched text other than the title: description, tags, variant names, seller.
    /// (Category names are added by the backend.)
    pub fn body_text(&self) -> String {
        let mut body = self.description.clone();
        for part in self
            .tags
            .iter()
            .chain(self.variants.iter().map(|v| &v.name))
            .chain(std::iter::once(&self.seller_name))
        {
            body.push('\n');
            body.push_str(part);
        }
        body
    }
}

/// A change to a search index, made by the indexer from outbox events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IndexChange {
    /// Adds or replaces a document, signals included (bulk loads, tests).
    Put(SearchDocument),
    /// Adds or replaces the catalog fields of a document, keeping the signals the
    /// backend already holds for it (a `product_upserted` event, a reindex).
    PutCatalog(SearchDocument),
    /// Removes a product (deactivated, archived).
    Remove(ProductId),
    /// Replaces the category tree (names and parents, for subcategory filters and the
    /// category facet). Applies to documents indexed after it.
    Categories(Vec<Category>),
    /// The price of a SKU changed.
    Price {
        /// SKU.
        sku: Sku,
        /// New price in minor units.
        price_minor: i64,
    },
    /// The stock of a SKU at a location changed.
    Stock {
        /// SKU.
        sku: Sku,
        /// Location code.
        location: String,
        /// Units available there now.
        available: u64,
    },
    /// The ratings of a product changed.
    Rating {
        /// Product.
        product_id: ProductId,
        /// Number of ratings.
        rating_count: u32,
        /// Average, 0 to 5.
        rating_average: Decimal,
    },
    /// Units of a SKU were sold (adds to the product's units sold and popularity).
    UnitsSold {
        /// SKU.
        sku: Sku,
        /// Units.
        quantity: u64,
    },
}

/// Filters of a search; all given ones must hold.
///
/// Starts from [`Default`] (no filter) and adds filters with the `with_*` setters;
/// each takes a value or an `Option` (`None` leaves that filter off):
///
/// ```
/// use commerce_core::search::SearchFilters;
///
/// let filters = SearchFilters::default()
///     .with_price_min(1_000)
///     .with_price_max(None)
///     .with_in_stock(true);
/// assert_eq!(filters.price_min, Some(1_000));
/// assert_eq!(filters.price_max, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchFilters {
    /// Only products in this category or any of its descendants.
    pub category_id: Option<CategoryId>,
    /// Only products whose price (lowest variant) is at least this, in minor units.
    pub price_min: Option<i64>,
    /// Only products whose price is at most this, in minor units.
    pub price_max: Option<i64>,
    /// Only products priced in this currency.
    pub currency: Option<Currency>,
    /// Only products of this seller.
    pub seller_id: Option<SellerId>,
    /// Only products with a unit available.
    #[serde(default)]
    pub in_stock: bool,
    /// Only products rated at least this on average (0 to 5).
    pub min_rating: Option<Decimal>,
}

impl SearchFilters {
    /// Only products in this category or any of its descendants.
    pub fn with_category(mut self, category_id: impl Into<Option<CategoryId>>) -> Self {
        self.category_id = category_id.into();
        self
    }

    /// Only products whose price is at least this, in minor units.
    pub fn with_price_min(mut self, minor: impl Into<Option<i64>>) -> Self {
        self.price_min = minor.into();
        self
    }

    /// Only products whose price is at most this, in minor units.
    pub fn with_price_max(mut self, minor: impl Into<Option<i64>>) -> Self {
        self.price_max = minor.into();
        self
    }

    /// Only products priced in this currency.
    pub fn with_currency(mut self, currency: impl Into<Option<Currency>>) -> Self {
        self.currency = currency.into();
        self
    }

    /// Only products of this seller.
    pub fn with_seller(mut self, seller_id: impl Into<Option<SellerId>>) -> Self {
        self.seller_id = seller_id.into();
        self
    }

    /// Only products with a unit available (when `in_stock`).
    pub fn with_in_stock(mut self, in_stock: bool) -> Self {
        self.in_stock = in_stock;
        self
    }

    /// Only products rated at least this on average (0 to 5).
    pub fn with_min_rating(mut self, rating: impl Into<Option<Decimal>>) -> Self {
        self.min_rating = rating.into();
        self
    }
}

/// The order of hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Best match first; ties by popularity, then newest.
    #[default]
    Relevance,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Newest first.
    Newest,
    /// Best rated first (ties: more ratings first).
    Rating,
    /// Most units sold first.
    BestSelling,
}

/// A search request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchQuery {
    /// What the shopper typed (may be empty: browse with filters).
    pub text: String,
    /// Filters.
    #[serde(default)]
    pub filters: SearchFilters,
    /// Order.
    #[serde(default)]
    pub sort: SearchSort,
    /// Hits to skip.
    #[serde(default)]
    pub offset: u32,
    /// Hits to return, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Whether to count facets over the whole result set.
    #[serde(default)]
    pub facets: bool,
    /// Upper edges of the price buckets in minor units, increasing (a last bucket
    /// holds everything above the last edge). Empty: [`DEFAULT_PRICE_EDGES`].
    #[serde(default)]
    pub price_edges: Vec<i64>,
}

/// Default price bucket edges, in minor units.
pub const DEFAULT_PRICE_EDGES: [i64; 6] = [1_000, 2_500, 5_000, 10_000, 25_000, 50_000];

impl SearchQuery {
    /// A query for `text`, first page of 20, by relevance, with facets.
    pub fn text(text: impl Into<String>) -> Self {
        SearchQuery {
            text: text.into(),
            filters: SearchFilters::default(),
            sort: SearchSort::Relevance,
            offset: 0,
            limit: 20,
            facets: true,
            price_edges: Vec::new(),
        }
    }

    /// Checks the bounds every backend enforces: text length, limit, window, price
    /// range, rating, price edges.
    pub fn validate(&self) -> Result<()> {
        if self.text.len() > MAX_QUERY_BYTES {
            return Err(Error::validation(
                "text",
                format!("at most {MAX_QUERY_BYTES} bytes"),
            ));
        }
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(Error::validation(
                "limit",
                format!("must be 1 to {MAX_LIMIT}"),
            ));
        }
        if self.offset.saturating_add(self.limit) > MAX_WINDOW {
            return Err(Error::validation(
                "offset",
                format!("offset + limit must be at most {MAX_WINDOW}"),
            ));
        }
        if let (Some(min), Some(max)) = (self.filters.price_min, self.filters.price_max)
            && min > max
        {
            return Err(Error::validation("price_min", "must not exceed price_max"));
        }
        if let Some(r) = self.filters.min_rating
            && (r < Decimal::ZERO || r > Decimal::from(5))
        {
            return Err(Error::validation("min_rating", "must be 0 to 5"));
        }
        if self.price_edges.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::validation("price_edges", "must increase"));
        }
        Ok(())
    }

    /// The price edges in force.
    pub fn edges(&self) -> Vec<i64> {
        if self.price_edges.is_empty() {
            DEFAULT_PRICE_EDGES.to_vec()
        } else {
            self.price_edges.clone()
        }
    }
}

/// One hit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchHit {
    /// Product.
    pub product_id: ProductId,
    /// Title as stored (accents kept).
    pub title: String,
    /// URL handle.
    pub slug: String,
    /// Lowest variant price.
    pub price: Money,
    /// Seller.
    pub seller_id: SellerId,
    /// Whether a unit is available.
    pub in_stock: bool,
    /// Average rating.
    #[serde(with = "rust_decimal::serde::str")]
    pub rating_average: Decimal,
    /// Number of ratings.
    pub rating_count: u32,
    /// Units sold.
    pub units_sold: u64,
    /// The title with matched words marked.
    pub title_highlight: Highlight,
    /// A window of the description with matched words marked.
    pub description_highlight: Highlight,
}

/// A category and how many results it holds (itself and its descendants).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CategoryCount {
    /// Category.
    pub category_id: CategoryId,
    /// Its name.
    pub name: String,
    /// Results in it or below it.
    pub count: u64,
    /// Its subcategories with a result, by count then name.
    pub children: Vec<CategoryCount>,
}

/// Results whose price falls in `[min, max)` (minor units; `max` `None`: no upper end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PriceBucket {
    /// Lower edge, included.
    pub min: i64,
    /// Upper edge, excluded.
    pub max: Option<i64>,
    /// Results.
    pub count: u64,
}

/// Facet counts over the whole result set (not just the page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    /// Category tree: roots with a result, their children below.
    pub categories: Vec<CategoryCount>,
    /// Price buckets, in order, every bucket present.
    pub prices: Vec<PriceBucket>,
    /// Results per seller, by count then id.
    pub sellers: Vec<(SellerId, u64)>,
    /// Results rated at least 1, 2, 3 and 4 stars (index 0 is "1 and up").
    pub ratings_at_least: [u64; 4],
    /// Results with a unit available.
    pub in_stock: u64,
}

/// The answer to a [`SearchQuery`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Results in all (for pagination).
    pub total: u64,
    /// The requested page.
    pub hits: Vec<SearchHit>,
    /// Facet counts when asked for.
    pub facets: Option<Facets>,
    /// A corrected query that finds more, when this one found little.
    pub did_you_mean: Option<String>,
}

/// What a suggestion points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SuggestionTarget {
    /// A product page.
    Product(ProductId),
    /// A category page.
    Category(CategoryId),
}

/// A search-box suggestion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Text to show (a title or a category name, accents kept).
    pub text: String,
    /// Where it leads.
    pub target: SuggestionTarget,
}

/// Synonyms and stop words of a backend.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vocabulary {
    /// Groups of equivalent words or phrases (`["tee", "t-shirt"]`): a query word
    /// in a group also finds the others.
    pub synonyms: Vec<Vec<String>>,
    /// Words left out of a query (unless the query has nothing else).
    pub stop_words: Vec<String>,
}

impl Vocabulary {
    /// A few English, French, German and Vietnamese stop words and common synonyms.
    pub fn default_shop() -> Self {
        let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        Vocabulary {
            synonyms: vec![
                words("tee t-shirt"),
                vec!["sneakers".into(), "trainers".into()],
                vec!["hoodie".into(), "sweatshirt".into()],
                vec!["sofa".into(), "couch".into()],
            ],
            stop_words: words(
                "a an and the of for with in on to de la le et und der die das va cho",
            ),
        }
    }

    /// Folded synonym alternatives of a folded word: each alternative as its words.
    pub fn alternatives(&self, folded: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for group in &self.synonyms {
            let forms: Vec<Vec<String>> = group.iter().map(|s| text::folded_words(s)).collect();
            if forms.iter().any(|f| f.len() == 1 && f[0] == folded) {
                out.extend(
                    forms
                        .into_iter()
                        .filter(|f| !(f.is_empty() || (f.len() == 1 && f[0] == folded))),
                );
            }
        }
        out
    }

    /// Checks a suggestion request (`limit` 1 to 20, `prefix` at most
    /// [`MAX_QUERY_BYTES`]) and gives the words every backend matches for it: exact
    /// spelling, each word a prefix; with the limit as a count.
    pub fn suggestion_words(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<(Vec<text::QueryWord>, usize)> {
        if limit == 0 || limit > 20 {
            return Err(Error::validation("limit", "must be 1 to 20"));
        }
        if prefix.len() > MAX_QUERY_BYTES {
            return Err(Error::validation("prefix", "too long"));
        }
        let limit = usize::try_from(limit).map_err(|_| Error::Overflow)?;
        let words = self
            .query_words(prefix)
            .into_iter()
            .map(|mut w| {
                w.typos = 0;
                w.prefix = true;
                w
            })
            .collect();
        Ok((words, limit))
    }

    /// The query words of `text` as backends match them: folded, stop words left
    /// out unless nothing else is left, at most [`MAX_QUERY_WORDS`], the last one a
    /// prefix (unless the text ends with a space).
    pub fn query_words(&self, text: &str) -> Vec<text::QueryWord> {
        let stop: Vec<String> = self.stop_words.iter().map(|s| text::fold(s)).collect();
        let all = text::folded_words(text);
        let kept: Vec<String> = all.iter().filter(|w| !stop.contains(w)).cloned().collect();
        let mut words = if kept.is_empty() { all } else { kept };
        words.truncate(MAX_QUERY_WORDS);
        let ends_open = text.chars().last().is_some_and(char::is_alphanumeric);
        let n = words.len();
        words
            .into_iter()
            .enumerate()
            .map(|(i, folded)| text::QueryWord {
                typos: text::typo_budget(&folded),
                prefix: ends_open && i + 1 == n,
                folded,
            })
            .collect()
    }
}

/// A category with its ancestors, root first, from a tree given as a list.
/// Unknown ids and cycles end the walk.
pub fn category_path(tree: &BTreeMap<CategoryId, Category>, id: CategoryId) -> Vec<CategoryId> {
    let mut path = vec![id];
    let mut at = tree.get(&id).and_then(|c| c.parent_id);
    while let Some(parent) = at {
        if path.contains(&parent) || path.len() > 64 {
            break;
        }
        path.push(parent);
        at = tree.get(&parent).and_then(|c| c.parent_id);
    }
    path.reverse();
    path
}

/// Builds the category facet tree from counts per category (each count already
/// including descendants), keeping categories with a result.
pub fn category_counts(
    tree: &BTreeMap<CategoryId, Category>,
    counts: &BTreeMap<CategoryId, u64>,
) -> Vec<CategoryCount> {
    fn children_of(
        parent: Option<CategoryId>,
        tree: &BTreeMap<CategoryId, Category>,
        counts: &BTreeMap<CategoryId, u64>,
        depth: usize,
    ) -> Vec<CategoryCount> {
        if depth > 64 {
            return Vec::new();
        }
        let mut out: Vec<CategoryCount> = tree
            .values()
            .filter(|c| c.parent_id == parent)
            .filter_map(|c| {
                let count = *counts.get(&c.id)?;
                Some(CategoryCount {
                    category_id: c.id,
                    name: c.name.clone(),
                    count,
                    children: children_of(Some(c.id), tree, counts, depth + 1),
                })
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        out
    }
    children_of(None, tree, counts, 0)
}

/// What a backend can do beyond the common core, passed to the conformance suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchCapabilities {
    /// Misspelled words (by the length rule) still match.
    pub typo_tolerance: bool,
    /// "Did you mean" is offered.
    pub did_you_mean: bool,
}

/// Full-text product search with filters, sorts, facets and suggestions.
///
/// A backend is fed by one indexer ([`ProductSearch::apply`]) while any number of
/// searches run. Bad query text never fails with anything but `Validation`.
#[async_trait]
pub trait ProductSearch: Send + Sync {
    /// Applies `changes` in order and makes them visible to searches before it
    /// returns. `position` is the outbox position the changes come from; the backend
    /// records it with them ([`ProductSearch::position`]) so an indexer resumes
    /// after it and never applies an event twice.
    async fn apply(&self, changes: Vec<IndexChange>, position: Option<u64>) -> Result<()>;
    /// The last outbox position applied (`None`: nothing yet).
    async fn position(&self) -> Result<Option<u64>>;
    /// Searches. `Validation` for a query out of bounds ([`SearchQuery::validate`]).
    async fn search(&self, query: &SearchQuery) -> Result<SearchResults>;
    /// Up to `limit` (1 to 20) suggestions for what is typed: categories whose name
    /// has a word starting with the last word, then product titles matching the
    /// words (the last as a prefix), most popular first.
    async fn suggest(&self, prefix: &str, limit: u32) -> Result<Vec<Suggestion>>;
    /// A stored document by product id (what the index holds).
    async fn document(&self, id: ProductId) -> Result<Option<SearchDocument>>;
    /// Number of documents.
    async fn document_count(&self) -> Result<u64>;
}
