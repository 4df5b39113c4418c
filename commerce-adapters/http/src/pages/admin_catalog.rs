//! The admin's catalog pages: the category tree with create, rename and move forms,
//! every seller's products (filter by seller and status, search by title over the
//! search index), a form creating a product for a chosen seller, and a product's
//! edit page (fields, categories, variant prices) and deactivation. Forms post and
//! redirect, so it works without JavaScript; the writes are the JSON routes'
//! (`routes::admin_catalog`, and the seller price route's `price_for`, which puts
//! the price event on the outbox).
//!
//! Queries per request: the page 3 (the tree, the sellers, one keyset page of
//! products; a search instead reads the index once and the found products in one
//! batch read); category writes as the JSON routes; product create 3 (seller, slug,
//! write); product edit page 2 (the product, the tree); product update and
//! deactivate 2 (read, write); categories 3 (read, tree, write); price 2 (listing,
//! write with its event).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use commerce::core::search::{SearchFilters, SearchQuery, SearchSort};
use commerce::core::{Actor, Category, CategoryId, Product, ProductStatus, SellerId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::staff_only;
use super::admin_orders::admin_required;
use super::support::{CsrfForm, PageError, Visitor, humanize, money, name_of, page, see_other};
use crate::routes::admin_catalog::{
    AdminProductsQuery, create, create_for, move_to, product_query, rename, update_for,
};
use crate::routes::seller::{MoneyInput, NewProductInput, ProductUpdate, VariantInput, price_for};
use crate::state::AppState;

/// Products per page of the list.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub(super) struct CatalogQuery {
    seller: Option<String>,
    status: Option<String>,
    q: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// The tree flattened depth first (each level by name), with each category's
/// depth and the categories it may move under (not itself nor a descendant).
fn tree_rows(all: &[Category]) -> Vec<Value> {
    fn walk(
        all: &[Category],
        parent: Option<CategoryId>,
        depth: usize,
        out: &mut Vec<(Category, usize)>,
    ) {
        if depth > 64 {
            return;
        }
        let mut level: Vec<&Category> = all.iter().filter(|c| c.parent_id == parent).collect();
        level.sort_by(|a, b| a.name.cmp(&b.name));
        for c in level {
            out.push((c.clone(), depth));
            walk(all, Some(c.id), depth + 1, out);
        }
    }
    let mut flat = Vec::new();
    walk(all, None, 0, &mut flat);
    let names: BTreeMap<CategoryId, String> = flat
        .iter()
        .map(|(c, d)| (c.id, format!("{}{}", "— ".repeat(*d), c.name)))
        .collect();
    flat.iter()
        .map(|(c, depth)| {
            // The descendants of `c`: those whose path up reaches it.
            let below = |other: &Category| {
                let mut cursor = Some(other.id);
                let mut steps = 0;
                while let Some(id) = cursor {
                    if id == c.id {
                        return true;
                    }
                    cursor = all.iter().find(|x| x.id == id).and_then(|x| x.parent_id);
                    steps += 1;
                    if steps > 64 {
                        break;
                    }
                }
                false
            };
            let parents: Vec<Value> = flat
                .iter()
                .filter(|(o, _)| !below(o))
                .map(|(o, _)| {
                    json!({
                        "id": o.id.to_string(),
                        "label": names.get(&o.id).cloned().unwrap_or_default(),
                        "selected": Some(o.id) == c.parent_id,
                    })
                })
                .collect();
            json!({
                "id": c.id.to_string(),
                "name": c.name,
                "slug": c.slug,
                "depth": depth,
                "indent": depth * 24,
                "root": c.parent_id.is_none(),
                "parents": parents,
            })
        })
        .collect()
}

fn product_row(p: &Product, sellers: &BTreeMap<SellerId, String>) -> Value {
    let price = p
        .variants
        .iter()
        .map(|v| v.price)
        .min_by_key(|m| m.amount());
    json!({
        "id": p.id.to_string(),
        "title": p.title,
        "slug": p.slug,
        "seller": sellers.get(&p.seller_id).cloned().unwrap_or_else(|| p.seller_id.to_string()),
        "status": humanize(&name_of(&p.status)),
        "status_code": name_of(&p.status),
        "archived": p.status == ProductStatus::Archived,
        "price": price.map(money),
        "skus": p.variants.len(),
    })
}

/// The catalog page: categories and products.
pub(super) async fn catalog(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<CatalogQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/catalog") {
        return Ok(*r);
    }
    let store = state.shop.catalog();
    let categories = store.categories().await?;
    let sellers = store.sellers().await?;
    let seller_names: BTreeMap<SellerId, String> =
        sellers.iter().map(|s| (s.id, s.name.clone())).collect();
    let text = q.q.as_deref().map(str::trim).unwrap_or("").to_owned();
    let filter = AdminProductsQuery {
        seller_id: q.seller.clone(),
        status: q.status.clone(),
        after: q.after.clone(),
        limit: Some(PAGE),
    };
    let query = product_query(&filter)?;
    let (products, next) = match (&state.search, text.is_empty()) {
        (Some(index), false) => {
            let mut search = SearchQuery::text(text.clone());
            search.limit = PAGE;
            search.facets = false;
            search.sort = SearchSort::Relevance;
            search.filters = SearchFilters::default().with_seller(query.seller_id);
            let hits = index.search(&search).await?.hits;
            let ids: Vec<_> = hits.iter().map(|h| h.product_id).collect();
            (store.products(&ids).await?, None)
        }
        _ => {
            let found = store.list_products(&query).await?;
            let next = (found.len() == PAGE as usize)
                .then(|| found.last().map(|p| p.id.to_string()))
                .flatten();
            (found, next)
        }
    };
    let next_url = next.map(|after| {
        let mut pairs = vec![("after", after)];
        if let Some(s) = q.seller.as_deref().filter(|s| !s.is_empty()) {
            pairs.push(("seller", s.to_owned()));
        }
        if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
            pairs.push(("status", s.to_owned()));
        }
        format!(
            "/admin/catalog?{}#products",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let done = match q.done.as_deref() {
        Some("created") => Some("Category created."),
        Some("renamed") => Some("Category renamed."),
        Some("moved") => Some("Category moved."),
        Some("saved") => Some("Product saved."),
        Some("deactivated") => Some("Product deactivated: it left the storefront and search."),
        _ => None,
    };
    let tree = tree_rows(&categories);
    page(
        &state,
        &visitor,
        "admin_catalog.html",
        json!({
            "title": "Catalog",
            "section": "catalog",
            "done": done,
            "categories": tree,
            "sellers": sellers.iter().map(|s| json!({
                "id": s.id.to_string(),
                "name": s.name,
                "selected": q.seller.as_deref() == Some(s.id.to_string().as_str()),
            })).collect::<Vec<_>>(),
            "statuses": (["draft", "active", "archived"]).iter().map(|s| json!({
                "code": s, "name": humanize(s), "selected": q.status.as_deref() == Some(*s),
            })).collect::<Vec<_>>(),
            "q": text,
            "searchable": state.search.is_some(),
            "products": products.iter().map(|p| product_row(p, &seller_names)).collect::<Vec<_>>(),
            "next": next_url,
            "paged": q.after.as_deref().is_some_and(|a| !a.is_empty()),
        }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct NewCategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    parent_id: String,
}

/// Creates a category.
pub(super) async fn create_category(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<NewCategoryForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    create(
        &state,
        &form.name,
        Some(form.slug.as_str()),
        Some(form.parent_id.as_str()),
    )
    .await?;
    Ok(see_other("/admin/catalog?done=created"))
}

#[derive(Debug, Deserialize)]
pub(super) struct RenameForm {
    #[serde(default)]
    name: String,
}

/// Renames a category.
pub(super) async fn rename_category(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    rename(&state, &id, &form.name).await?;
    Ok(see_other("/admin/catalog?done=renamed"))
}

#[derive(Debug, Deserialize)]
pub(super) struct MoveForm {
    #[serde(default)]
    parent_id: String,
}

/// Moves a category under another parent (empty: to the root).
pub(super) async fn move_category(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    move_to(&state, &id, Some(form.parent_id.as_str())).await?;
    Ok(see_other("/admin/catalog?done=moved"))
}

/// A product's edit form.
pub(super) async fn edit_product(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/catalog") {
        return Ok(*r);
    }
    let id = id
        .parse::<commerce::core::ProductId>()
        .map_err(|_| PageError::not_found("product"))?;
    let product = state
        .shop
        .catalog()
        .product(id)
        .await?
        .ok_or_else(|| PageError::not_found("product"))?;
    let categories = state.shop.catalog().categories().await?;
    let done = match q.done.as_deref() {
        Some("categories") => Some("Categories saved."),
        Some("price") => Some("Price saved: carts see it at once."),
        Some("created") => Some("Product created. Add categories and check the price."),
        _ => None,
    };
    page(
        &state,
        &visitor,
        "admin_product.html",
        json!({
            "title": format!("Edit {}", product.title),
            "section": "catalog",
            "done": done,
            "categories": tree_rows(&categories).into_iter().map(|mut c| {
                let chosen = c["id"].as_str().is_some_and(|id| {
                    product.category_ids.iter().any(|p| p.to_string() == id)
                });
                c["checked"] = json!(chosen);
                c
            }).collect::<Vec<_>>(),
            "product": {
                "id": product.id.to_string(),
                "title": product.title,
                "slug": product.slug,
                "brand": product.brand,
                "description": product.description,
                "active": product.status == ProductStatus::Active,
                "archived": product.status == ProductStatus::Archived,
                "status": humanize(&name_of(&product.status)),
                "seller": product.seller_id.to_string(),
                "variants": product.variants.iter().map(|v| json!({
                    "sku": v.sku.as_str(), "price": money(v.price),
                    "amount": v.price.amount().to_string(),
                    "currency": v.price.currency().code(),
                })).collect::<Vec<_>>(),
            },
        }),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProductForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    description: String,
    active: Option<String>,
}

/// Saves a product's edit form (as `PUT /v1/admin/products/{id}`).
pub(super) async fn update_product(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ProductForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let brand = form.brand.trim();
    let update = ProductUpdate {
        title: Some(form.title),
        description: Some(form.description),
        brand: (!brand.is_empty()).then(|| brand.to_owned()),
        active: Some(form.active.is_some()),
        category_ids: None,
    };
    update_for(&state, &Actor::Admin, &id, &update).await?;
    Ok(see_other("/admin/catalog?done=saved#products"))
}

/// Deactivates (archives) a product.
pub(super) async fn deactivate_product(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(_form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let id = id
        .parse::<commerce::core::ProductId>()
        .map_err(|_| PageError::not_found("product"))?;
    let store = state.shop.catalog();
    let mut product = store
        .product(id)
        .await?
        .ok_or_else(|| PageError::not_found("product"))?;
    product.status = ProductStatus::Archived;
    product.updated_at = state.shop.clock().now();
    store.upsert_product(&product).await?;
    Ok(see_other("/admin/catalog?done=deactivated#products"))
}

/// Saves a product's categories: the checked boxes (`category_id`, repeated)
/// replace the list, as `category_ids` in `PUT /v1/admin/products/{id}`.
pub(super) async fn set_categories(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let update = ProductUpdate {
        title: None,
        description: None,
        brand: None,
        active: None,
        category_ids: Some(
            pairs
                .into_iter()
                .filter(|(k, _)| k == "category_id")
                .map(|(_, v)| v)
                .collect(),
        ),
    };
    let product = update_for(&state, &Actor::Admin, &id, &update).await?;
    Ok(see_other(&format!(
        "/admin/catalog/products/{}?done=categories",
        product.id
    )))
}

#[derive(Debug, Deserialize)]
pub(super) struct PriceForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
}

/// Sets a variant's price through the seller price route's `price_for` (the
/// catalog emits the price event).
pub(super) async fn set_price(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PriceForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let id = id
        .parse::<commerce::core::ProductId>()
        .map_err(|_| PageError::not_found("product"))?;
    let price = MoneyInput {
        amount: form.amount.trim().to_owned(),
        currency: form.currency,
    }
    .to_money("price")?;
    price_for(&state, &Actor::Admin, &form.sku, price).await?;
    Ok(see_other(&format!(
        "/admin/catalog/products/{id}?done=price"
    )))
}

#[derive(Debug, Deserialize)]
pub(super) struct NewProductForm {
    #[serde(default)]
    seller_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    active: Option<String>,
}

/// Creates a product with one variant for the chosen seller (as
/// `POST /v1/admin/sellers/{seller_id}/products`) and opens its edit page.
pub(super) async fn create_product(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<NewProductForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let title = form.title.trim().to_owned();
    let slug = match form.slug.trim() {
        "" => commerce::core::catalog::rules::slugify(&title),
        given => given.to_owned(),
    };
    let input = NewProductInput {
        title,
        slug,
        description: String::new(),
        brand: None,
        active: form.active.is_some(),
        variants: vec![VariantInput {
            sku: form.sku.trim().to_owned(),
            price: MoneyInput {
                amount: form.amount.trim().to_owned(),
                currency: form.currency,
            },
            weight_grams: None,
        }],
    };
    let product = create_for(&state, &Actor::Admin, &form.seller_id, &input).await?;
    Ok(see_other(&format!(
        "/admin/catalog/products/{}?done=created",
        product.id
    )))
}
