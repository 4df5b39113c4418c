//! The storefront: home, category and search listings with facets, product pages.
//!
//! Listings read the search index (one search with its facets counted in the same
//! pass); without an index a category page lists the catalog by keyset instead.
//! A product page reads the product, the stock of all its variants in one call, its
//! seller, its rating aggregate, its newest reviews (one page), its recommendation
//! list and the recommended products in one batch read (seven reads whatever the
//! list's length).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use commerce::core::ports::ProductQuery;
use commerce::core::search::{
    CategoryCount, Facets, SearchFilters, SearchHit, SearchQuery, SearchResults, SearchSort,
};
use commerce::core::{Category, CategoryId, Product, ProductStatus, Sku};
use commerce::inventory::LocationCode;
use commerce::reviews::{ProductReviewQuery, ReviewOrder};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::support::{PageError, Visitor, money, page};
use crate::state::AppState;
use crate::views::StockState;

/// Products per listing page.
const PAGE: u32 = 24;
/// Recommendations on a product page.
const RECOMMENDED: u32 = 5;

/// A product card from a search hit.
fn hit_card(h: &SearchHit) -> Value {
    json!({
        "title": h.title,
        "slug": h.slug,
        "price": money(h.price),
        "in_stock": h.in_stock,
        "rating": (h.rating_count > 0).then(|| h.rating_average.round_dp(1).to_string()),
        "rating_count": h.rating_count,
    })
}

/// A product card from a catalog record.
fn product_card(p: &Product) -> Value {
    let price = p
        .variants
        .iter()
        .map(|v| v.price)
        .min_by(|a, b| a.amount().cmp(&b.amount()));
    json!({
        "title": p.title,
        "slug": p.slug,
        "price": price.map(money),
        "in_stock": true,
        "rating": Value::Null,
        "rating_count": 0,
    })
}

/// Roots of the category tree with their children, for navigation.
fn category_nav(all: &[Category]) -> Vec<Value> {
    let mut roots: Vec<&Category> = all.iter().filter(|c| c.parent_id.is_none()).collect();
    roots.sort_by(|a, b| a.name.cmp(&b.name));
    roots
        .into_iter()
        .map(|r| {
            let mut children: Vec<&Category> =
                all.iter().filter(|c| c.parent_id == Some(r.id)).collect();
            children.sort_by(|a, b| a.name.cmp(&b.name));
            json!({
                "name": r.name,
                "slug": r.slug,
                "children": children.iter().map(|c| json!({"name": c.name, "slug": c.slug})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The home page: categories and the best-selling products.
pub(super) async fn home(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let categories = state.shop.catalog().categories().await?;
    let popular: Vec<Value> = match &state.search {
        Some(index) => {
            let mut q = SearchQuery::text("");
            q.sort = SearchSort::BestSelling;
            q.limit = 8;
            q.facets = false;
            q.filters.in_stock = true;
            index.search(&q).await?.hits.iter().map(hit_card).collect()
        }
        None => state
            .shop
            .catalog()
            .list_products(&ProductQuery::page(8).with_status(ProductStatus::Active))
            .await?
            .iter()
            .map(product_card)
            .collect(),
    };
    page(
        &state,
        &visitor,
        "home.html",
        json!({ "title": "Home", "categories": category_nav(&categories), "popular": popular }),
    )
    .await
}

/// Filters and sort of a listing, from the query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListingParams {
    #[serde(default)]
    q: String,
    /// A category slug (search page).
    category: Option<String>,
    sort: Option<String>,
    /// A price bucket, `min-max` in minor units (`max` may be empty).
    price: Option<String>,
    #[serde(default)]
    in_stock: Option<String>,
    min_rating: Option<u8>,
    #[serde(default)]
    page: Option<u32>,
}

impl ListingParams {
    /// The query string of these parameters with `key` set to `value` (removed when
    /// `None`) and the page reset, for facet links.
    fn with(&self, key: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let current = [
            ("q", (!self.q.is_empty()).then(|| self.q.clone())),
            ("category", self.category.clone()),
            ("sort", self.sort.clone()),
            ("price", self.price.clone()),
            ("in_stock", self.in_stock.clone()),
            ("min_rating", self.min_rating.map(|r| r.to_string())),
        ];
        for (k, v) in current {
            if k == key {
                continue;
            }
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        if let Some(v) = value {
            pairs.push((key, v.to_owned()));
        }
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if qs.is_empty() {
            String::new()
        } else {
            format!("?{qs}")
        }
    }

    fn page_link(&self, page: u32) -> String {
        let base = self.with("page", None);
        let sep = if base.is_empty() { "?" } else { "&" };
        format!("{base}{sep}page={page}")
    }

    fn sort(&self) -> SearchSort {
        match self.sort.as_deref() {
            Some("price_asc") => SearchSort::PriceAsc,
            Some("price_desc") => SearchSort::PriceDesc,
            Some("newest") => SearchSort::Newest,
            Some("rating") => SearchSort::Rating,
            Some("best_selling") => SearchSort::BestSelling,
            _ => SearchSort::Relevance,
        }
    }

    fn price_range(&self) -> (Option<i64>, Option<i64>) {
        let Some((min, max)) = self.price.as_deref().and_then(|p| p.split_once('-')) else {
            return (None, None);
        };
        // The bucket's upper edge is excluded; the filter's is included.
        (
            min.parse().ok(),
            max.parse::<i64>().ok().map(|m| m.saturating_sub(1)),
        )
    }
}

/// Facet links of `facets` for the listing at `base` with `params`.
fn facet_links(
    base: &str,
    params: &ListingParams,
    facets: &Facets,
    categories: &[Category],
    current: Option<CategoryId>,
    currency: &str,
) -> Value {
    let slug_of = |id: CategoryId| {
        categories
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.slug.clone())
            .unwrap_or_default()
    };
    // The categories below the current one (or the roots), with their counts.
    fn find(nodes: &[CategoryCount], id: CategoryId) -> Option<&CategoryCount> {
        nodes.iter().find_map(|n| {
            if n.category_id == id {
                Some(n)
            } else {
                find(&n.children, id)
            }
        })
    }
    let level: &[CategoryCount] = match current {
        Some(id) => find(&facets.categories, id).map_or(&[], |n| n.children.as_slice()),
        None => &facets.categories,
    };
    let on_search = base == "/search";
    let cats: Vec<Value> = level
        .iter()
        .map(|c| {
            let slug = slug_of(c.category_id);
            let url = if on_search {
                format!("{base}{}", params.with("category", Some(&slug)))
            } else {
                format!("/c/{slug}{}", params.with("category", None))
            };
            json!({ "name": c.name, "count": c.count, "url": url })
        })
        .collect();
    let prices: Vec<Value> = facets
        .prices
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| {
            let key = format!("{}-{}", b.min, b.max.map(|m| m.to_string()).unwrap_or_default());
            let cur = commerce::core::Currency::from_code(currency).ok();
            let fmt = |minor: i64| {
                cur.map(|c| money(commerce::core::Money::from_minor(minor, c)))
                    .unwrap_or_else(|| minor.to_string())
            };
            let label = match b.max {
                Some(max) if b.min == 0 => format!("Under {}", fmt(max)),
                Some(max) => format!("{} to {}", fmt(b.min), fmt(max)),
                None => format!("{} and up", fmt(b.min)),
            };
            let selected = params.price.as_deref() == Some(key.as_str());
            json!({
                "label": label,
                "count": b.count,
                "selected": selected,
                "url": format!("{base}{}", params.with("price", (!selected).then_some(key.as_str()))),
            })
        })
        .collect();
    let ratings: Vec<Value> = (1..=4u8)
        .rev()
        .map(|stars| {
            let selected = params.min_rating == Some(stars);
            let s = stars.to_string();
            json!({
                "stars": stars,
                "count": facets.ratings_at_least[usize::from(stars - 1)],
                "selected": selected,
                "url": format!("{base}{}", params.with("min_rating", (!selected).then_some(s.as_str()))),
            })
        })
        .collect();
    let stock_selected = params.in_stock.is_some();
    json!({
        "categories": cats,
        "prices": prices,
        "ratings": ratings,
        "in_stock": {
            "count": facets.in_stock,
            "selected": stock_selected,
            "url": format!("{base}{}", params.with("in_stock", (!stock_selected).then_some("1"))),
        },
    })
}

/// Sort choices for a listing's form.
fn sorts(params: &ListingParams, with_relevance: bool) -> Vec<Value> {
    let mut all = vec![
        ("best_selling", "Best selling"),
        ("price_asc", "Price: low to high"),
        ("price_desc", "Price: high to low"),
        ("rating", "Best rated"),
        ("newest", "Newest"),
    ];
    if with_relevance {
        all.insert(0, ("relevance", "Best match"));
    }
    let current = params.sort.as_deref().unwrap_or(if with_relevance {
        "relevance"
    } else {
        "best_selling"
    });
    all.into_iter()
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": v == current }))
        .collect()
}

async fn run_search(
    state: &AppState,
    params: &ListingParams,
    category: Option<CategoryId>,
    default_sort: SearchSort,
) -> Result<Option<SearchResults>, PageError> {
    let Some(index) = &state.search else {
        return Ok(None);
    };
    let (price_min, price_max) = params.price_range();
    let mut q = SearchQuery::text(params.q.chars().take(200).collect::<String>());
    q.filters = SearchFilters::default()
        .with_category(category)
        .with_price_min(price_min)
        .with_price_max(price_max)
        .with_in_stock(params.in_stock.is_some())
        .with_min_rating(params.min_rating.map(|r| Decimal::from(r.min(5))));
    q.sort = if params.sort.is_some() {
        params.sort()
    } else {
        default_sort
    };
    q.limit = PAGE;
    q.offset = params.page.unwrap_or(1).saturating_sub(1).min(400) * PAGE;
    q.facets = true;
    Ok(Some(index.search(&q).await?))
}

fn pagination(params: &ListingParams, base: &str, total: u64) -> Value {
    let current = params.page.unwrap_or(1).max(1);
    let pages = u32::try_from(total.div_ceil(u64::from(PAGE)))
        .unwrap_or(u32::MAX)
        .min(400);
    json!({
        "current": current,
        "pages": pages,
        "prev": (current > 1).then(|| format!("{base}{}", params.page_link(current - 1))),
        "next": (current < pages).then(|| format!("{base}{}", params.page_link(current + 1))),
    })
}

/// A category page: its products with filters and facets.
pub(super) async fn category(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Query(params): Query<ListingParams>,
) -> Result<Response, PageError> {
    let all = state.shop.catalog().categories().await?;
    let cat = all
        .iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| PageError::not_found("category"))?;
    let mut trail = vec![json!({"name": cat.name, "url": format!("/c/{}", cat.slug)})];
    let mut parent = cat.parent_id;
    while let Some(p) = parent.and_then(|id| all.iter().find(|c| c.id == id)) {
        trail.insert(0, json!({"name": p.name, "url": format!("/c/{}", p.slug)}));
        parent = p.parent_id;
        if trail.len() > 16 {
            break;
        }
    }
    let base = format!("/c/{}", cat.slug);
    let currency = state.shop.checkout().config().currency.code();
    let mut ctx = json!({
        "title": cat.name,
        "heading": cat.name,
        "trail": trail,
        "base": base,
        "params": { "q": params.q, "in_stock": params.in_stock, "price": params.price, "min_rating": params.min_rating },
        "sorts": sorts(&params, false),
    });
    match run_search(&state, &params, Some(cat.id), SearchSort::BestSelling).await? {
        Some(results) => {
            ctx["products"] = results.hits.iter().map(hit_card).collect();
            ctx["total"] = json!(results.total);
            ctx["pagination"] = pagination(&params, &base, results.total);
            if let Some(f) = &results.facets {
                ctx["facets"] = facet_links(&base, &params, f, &all, Some(cat.id), currency);
            }
        }
        None => {
            let products = state
                .shop
                .catalog()
                .list_products(
                    &ProductQuery::page(PAGE)
                        .with_category(cat.id)
                        .with_status(ProductStatus::Active),
                )
                .await?;
            ctx["total"] = json!(products.len());
            ctx["products"] = products.iter().map(product_card).collect();
        }
    }
    page(&state, &visitor, "listing.html", ctx).await
}

/// Search results with facets and "did you mean".
pub(super) async fn search(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(params): Query<ListingParams>,
) -> Result<Response, PageError> {
    let all = state.shop.catalog().categories().await?;
    let category = params
        .category
        .as_deref()
        .and_then(|s| all.iter().find(|c| c.slug == s));
    let currency = state.shop.checkout().config().currency.code();
    let heading = if params.q.is_empty() {
        "All products".to_owned()
    } else {
        format!("Results for “{}”", params.q)
    };
    let mut ctx = json!({
        "title": if params.q.is_empty() { "Search".to_owned() } else { format!("{} – search", params.q) },
        "heading": heading,
        "base": "/search",
        "query": params.q,
        "params": { "q": params.q, "category": params.category, "in_stock": params.in_stock, "price": params.price, "min_rating": params.min_rating },
        "sorts": sorts(&params, true),
        "trail": category.map(|c| vec![json!({"name": c.name, "url": format!("/c/{}", c.slug)})]).unwrap_or_default(),
    });
    let sort = if params.q.is_empty() {
        SearchSort::BestSelling
    } else {
        SearchSort::Relevance
    };
    match run_search(&state, &params, category.map(|c| c.id), sort).await? {
        Some(results) => {
            ctx["products"] = results.hits.iter().map(hit_card).collect();
            ctx["total"] = json!(results.total);
            ctx["pagination"] = pagination(&params, "/search", results.total);
            if let Some(f) = &results.facets {
                ctx["facets"] = facet_links(
                    "/search",
                    &params,
                    f,
                    &all,
                    category.map(|c| c.id),
                    currency,
                );
            }
            if let Some(dym) = &results.did_you_mean {
                let qs = serde_urlencoded::to_string([("q", dym.as_str())]).unwrap_or_default();
                ctx["did_you_mean"] = json!({ "text": dym, "url": format!("/search?{qs}") });
            }
        }
        None => {
            ctx["unavailable"] = json!(true);
            ctx["products"] = json!([]);
            ctx["total"] = json!(0);
        }
    }
    page(&state, &visitor, "listing.html", ctx).await
}

/// A product page: art, price, variants with their stock state, seller.
pub(super) async fn product(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let shop = &state.shop;
    let product = shop
        .catalog()
        .product_by_slug(&slug)
        .await?
        .filter(|p| p.status == ProductStatus::Active)
        .ok_or_else(|| PageError::not_found("product"))?;
    let skus: Vec<Sku> = product.variants.iter().map(|v| v.sku.clone()).collect();
    let levels = shop
        .inventory()
        .stock_levels(&skus, &LocationCode::default_location())
        .await?;
    let seller = shop.catalog().seller(product.seller_id).await?;
    let low = state.config.low_stock_threshold;
    let mut first_available = None;
    let variants: Vec<Value> = product
        .variants
        .iter()
        .map(|v| {
            let available = levels
                .iter()
                .find(|l| l.sku == v.sku)
                .map_or(0, |l| l.on_hand.saturating_sub(l.reserved));
            let stock = StockState::of(available, low);
            let (label, class) = match stock {
                StockState::Available => ("In stock".to_owned(), "ok"),
                StockState::Low => (format!("Only {available} left"), "low"),
                StockState::Out => ("Out of stock".to_owned(), "out"),
            };
            if stock != StockState::Out && first_available.is_none() {
                first_available = Some(v.sku.as_str().to_owned());
            }
            json!({
                "sku": v.sku.as_str(),
                "name": v.name,
                "price": money(v.price),
                "compare_at": v.compare_at_price.filter(|c| c.amount() > v.price.amount()).map(money),
                "stock_label": label,
                "stock_class": class,
                "available": stock != StockState::Out,
                "options": v.options.iter().map(|o| format!("{}: {}", o.name, o.value)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let all = shop.catalog().categories().await?;
    let trail: Vec<Value> = product
        .category_ids
        .first()
        .and_then(|id| all.iter().find(|c| c.id == *id))
        .map(|c| vec![json!({"name": c.name, "url": format!("/c/{}", c.slug)})])
        .unwrap_or_default();
    let price = product
        .variants
        .iter()
        .map(|v| v.price)
        .min_by(|a, b| a.amount().cmp(&b.amount()))
        .map(money);
    // Rating, the newest reviews, and what others bought (a list of at most
    // RECOMMENDED products, each read once).
    let aggregate = shop.reviews().aggregate(product.id).await?;
    let count = aggregate.count();
    let rating = (count > 0).then(|| {
        json!({
            "average": aggregate.average().round_dp(1).to_string(),
            "count": count,
            "histogram": (1..=5usize).rev().map(|stars| {
                let n = aggregate.histogram[stars - 1];
                json!({ "stars": stars, "count": n, "pct": u64::from(n) * 100 / u64::from(count) })
            }).collect::<Vec<_>>(),
        })
    });
    let reviews: Vec<Value> = if count > 0 {
        shop.reviews()
            .for_product(&ProductReviewQuery::first(
                product.id,
                ReviewOrder::Newest,
                5,
            ))
            .await?
            .iter()
            .map(|r| {
                json!({
                    "title": r.title,
                    "body": r.body,
                    "rating": u8::from(r.rating),
                    "author": if r.verified { "Verified buyer" } else { "A customer" },
                    "when": r.created_at.format("%b %e, %Y").to_string(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let recommended: Vec<_> = shop
        .recommendations()
        .for_product(product.id, RECOMMENDED)
        .await?
        .into_iter()
        .map(|s| s.product_id)
        .collect();
    let recommendations: Vec<_> = shop
        .catalog()
        .products(&recommended)
        .await?
        .iter()
        .filter(|p| p.status == ProductStatus::Active)
        .map(product_card)
        .collect();
    let ctx = json!({
        "title": product.title,
        "rating": rating,
        "reviews": reviews,
        "recommendations": recommendations,
        "product": {
            "title": product.title,
            "slug": product.slug,
            "description": product.description,
            "brand": product.brand,
            "tags": product.tags,
            "price": price,
            "options": product.options.iter().map(|o| json!({"name": o.name, "values": o.values})).collect::<Vec<_>>(),
        },
        "variants": variants,
        "selected": first_available,
        "seller": seller.map(|s| json!({"name": s.name, "slug": s.slug})),
        "trail": trail,
        "added": q.contains_key("added"),
    });
    page(&state, &visitor, "product.html", ctx).await
}
