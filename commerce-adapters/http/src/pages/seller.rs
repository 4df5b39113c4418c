//! The seller console: the seller's products (create, edit, prices, stock,
//! deactivate), an order's lines of theirs with a ship form (carrier and tracking
//! number).
//!
//! Every handler acts for the seller of the session; a product of another seller
//! is not found, and shipping goes through the checkout service with the seller as
//! the actor (it refuses lines of other sellers).
//!
//! Queries per request: console 2 (the seller's products, the stock of all their
//! SKUs in one read) + 1 for an order lookup; product edit 2; saves 1 per change.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use commerce::core::ports::ProductQuery;
use commerce::core::{
    Actor, CategoryId, Money, Product, ProductId, ProductStatus, SellerId, Sku, Variant,
};
use commerce::inventory::{AdjustmentReason, LocationCode, StockAdjustment};
use commerce::orders::{OrderId, ShipmentLine};
use serde::Deserialize;
use serde_json::{Value, json};

use super::shopping::order_view;
use super::support::{CsrfForm, PageError, Visitor, humanize, money, name_of, page, see_other};
use crate::state::AppState;

/// The seller acting, or the response to give instead (sign in, or 403).
fn seller_of(visitor: &Visitor, path: &str) -> Result<SellerId, Box<Response>> {
    match visitor.actor() {
        Actor::Seller(id) => Ok(id),
        Actor::Guest(_) => {
            let qs = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
            Err(Box::new(see_other(&format!("/signin?{qs}"))))
        }
        _ => Err(Box::new(
            PageError::new(
                StatusCode::FORBIDDEN,
                "The seller console is for a seller's staff.",
            )
            .into_response(),
        )),
    }
}

fn seller_required(visitor: &Visitor) -> Result<SellerId, PageError> {
    visitor.seller().ok_or_else(|| {
        PageError::new(
            StatusCode::FORBIDDEN,
            "The seller console is for a seller's staff.",
        )
    })
}

/// A product of `seller`; another seller's (or an unknown id) is not found.
async fn own_product(state: &AppState, seller: SellerId, id: &str) -> Result<Product, PageError> {
    let id: ProductId = id.parse().map_err(|_| PageError::not_found("product"))?;
    state
        .shop
        .catalog()
        .product(id)
        .await?
        .filter(|p| p.seller_id == seller)
        .ok_or_else(|| PageError::not_found("product"))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ConsoleQuery {
    order: Option<String>,
    shipped: Option<String>,
}

/// The console: the seller's products with stock, and an order lookup to ship.
pub(super) async fn console(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<ConsoleQuery>,
) -> Result<Response, PageError> {
    let seller = match seller_of(&visitor, "/seller") {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let shop = &state.shop;
    let record = shop.catalog().seller(seller).await?;
    let products = shop
        .catalog()
        .list_products(&ProductQuery {
            seller_id: Some(seller),
            limit: 100,
            ..ProductQuery::default()
        })
        .await?;
    let skus: Vec<Sku> = products
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.sku.clone()))
        .collect();
    let levels = shop
        .inventory()
        .stock_levels(&skus, &LocationCode::default_location())
        .await?;
    let rows: Vec<Value> = products
        .iter()
        .map(|p| {
            let available: u64 = p
                .variants
                .iter()
                .filter_map(|v| levels.iter().find(|l| l.sku == v.sku))
                .map(|l| l.on_hand.saturating_sub(l.reserved))
                .sum();
            json!({
                "id": p.id.to_string(),
                "title": p.title,
                "slug": p.slug,
                "status": humanize(&name_of(&p.status)),
                "active": p.status == ProductStatus::Active,
                "variants": p.variants.len(),
                "price": p.variants.first().map(|v| money(v.price)),
                "available": available,
            })
        })
        .collect();
    // An order to ship: its lines of this seller.
    let mut lookup = Value::Null;
    if let Some(raw) = q.order.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let found = match raw.parse::<OrderId>() {
            Ok(id) => match shop.checkout().order(&Actor::Seller(seller), id).await {
                Ok(o) => Some(o),
                Err(commerce::orders::Error::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        lookup = match found {
            Some(o) => {
                let mut view = order_view(&o);
                let mine: Vec<Value> = o
                    .lines
                    .iter()
                    .filter(|l| l.seller_id == Some(seller))
                    .map(|l| {
                        json!({
                            "sku": l.sku.as_str(),
                            "name": l.name,
                            "quantity": l.quantity,
                            "waiting": l.quantity.saturating_sub(o.shipped_quantity(&l.sku)),
                        })
                    })
                    .collect();
                view["mine"] = json!(mine);
                view["waiting"] = json!(
                    o.lines
                        .iter()
                        .filter(|l| l.seller_id == Some(seller))
                        .any(|l| l.quantity > o.shipped_quantity(&l.sku))
                );
                json!({ "query": raw, "order": view })
            }
            None => json!({ "query": raw, "order": Value::Null }),
        };
    }
    page(
        &state,
        &visitor,
        "seller.html",
        json!({
            "title": "Seller console",
            "seller": record.map(|s| json!({"name": s.name, "slug": s.slug})),
            "products": rows,
            "lookup": lookup,
            "shipped": q.shipped.is_some(),
            "carriers": carriers(),
        }),
    )
    .await
}

fn carriers() -> Vec<Value> {
    [
        ("ups", "UPS"),
        ("fedex", "FedEx"),
        ("usps", "USPS"),
        ("dhl", "DHL"),
    ]
    .iter()
    .map(|(code, name)| json!({ "code": code, "name": name }))
    .collect()
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipForm {
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    tracking_number: String,
}

/// Ships every waiting unit of the seller's lines of an order.
pub(super) async fn ship(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ShipForm>,
) -> Result<Response, PageError> {
    let seller = seller_required(&visitor)?;
    let id: OrderId = id.parse().map_err(|_| PageError::not_found("order"))?;
    let actor = Actor::Seller(seller);
    let order = state.shop.checkout().order(&actor, id).await?;
    let lines: Vec<ShipmentLine> = order
        .lines
        .iter()
        .filter(|l| l.seller_id == Some(seller))
        .filter_map(|l| {
            let waiting = l.quantity.saturating_sub(order.shipped_quantity(&l.sku));
            (waiting > 0).then(|| ShipmentLine {
                sku: l.sku.clone(),
                quantity: waiting,
            })
        })
        .collect();
    if lines.is_empty() {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "Nothing of yours is waiting in this order.",
        ));
    }
    let carrier = form.carrier.trim();
    let tracking = form.tracking_number.trim();
    if tracking.is_empty() || tracking.len() > 64 {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the tracking number (up to 64 characters).",
        ));
    }
    let carrier_name = carriers()
        .iter()
        .find(|c| c["code"] == carrier)
        .and_then(|c| c["name"].as_str().map(str::to_owned))
        .ok_or_else(|| PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "Choose a carrier."))?;
    state
        .shop
        .checkout()
        .ship(
            &actor,
            id,
            &lines,
            Some(carrier_name),
            Some(tracking.to_owned()),
        )
        .await?;
    Ok(see_other(&format!("/seller?order={id}&shipped=1")))
}

/// The form of a new product.
pub(super) async fn new_product(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    if let Err(r) = seller_of(&visitor, "/seller/products/new") {
        return Ok(*r);
    }
    let categories = state.shop.catalog().categories().await?;
    page(
        &state,
        &visitor,
        "seller_product.html",
        json!({
            "title": "New product",
            "new": true,
            "categories": categories.iter().map(|c| json!({"id": c.id.to_string(), "name": c.name})).collect::<Vec<_>>(),
        }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct NewProductForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    stock: String,
    #[serde(default)]
    active: Option<String>,
}

fn unprocessable(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// Creates a product with one variant and its opening stock.
pub(super) async fn create_product(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<NewProductForm>,
) -> Result<Response, PageError> {
    let seller = seller_required(&visitor)?;
    let shop = &state.shop;
    let currency = shop.checkout().config().currency;
    let price = Money::parse(form.price.trim(), currency)
        .map_err(|_| unprocessable("Price: a decimal amount like 19.99."))?;
    let sku = Sku::new(form.sku.trim())?;
    let stock: u32 = if form.stock.trim().is_empty() {
        0
    } else {
        form.stock
            .trim()
            .parse()
            .map_err(|_| unprocessable("Stock: a whole number of units."))?
    };
    let now = shop.clock().now();
    let mut builder = Product::builder(seller, form.title.trim(), form.slug.trim())
        .description(form.description.trim())
        .status(if form.active.is_some() {
            ProductStatus::Active
        } else {
            ProductStatus::Draft
        })
        .created_at(now)
        .updated_at(now)
        .variant(Variant::builder(sku.clone(), price).name(form.title.trim()));
    if let Ok(category) = form.category.parse::<CategoryId>() {
        builder = builder.category(category);
    }
    let product = builder.build()?;
    if !shop
        .catalog()
        .listings(std::slice::from_ref(&sku))
        .await?
        .is_empty()
    {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "That SKU is taken: choose another.",
        ));
    }
    shop.catalog().upsert_product(&product).await?;
    if stock > 0 {
        shop.inventory()
            .adjust(
                &StockAdjustment {
                    sku,
                    location: LocationCode::default_location(),
                    delta: i64::from(stock),
                    reason: AdjustmentReason::Received,
                    note: None,
                },
                now,
            )
            .await?;
    }
    Ok(see_other(&format!("/seller/products/{}", product.id)))
}

/// The edit form of one of the seller's products.
pub(super) async fn edit_product(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let seller = match seller_of(&visitor, "/seller") {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let product = own_product(&state, seller, &id).await?;
    let skus: Vec<Sku> = product.variants.iter().map(|v| v.sku.clone()).collect();
    let levels = state
        .shop
        .inventory()
        .stock_levels(&skus, &LocationCode::default_location())
        .await?;
    page(
        &state,
        &visitor,
        "seller_product.html",
        json!({
            "title": format!("Edit {}", product.title),
            "new": false,
            "product": {
                "id": product.id.to_string(),
                "title": product.title,
                "slug": product.slug,
                "description": product.description,
                "status": name_of(&product.status),
            },
            "variants": product.variants.iter().map(|v| {
                let level = levels.iter().find(|l| l.sku == v.sku);
                json!({
                    "sku": v.sku.as_str(),
                    "name": v.name,
                    "price": v.price.amount().to_string(),
                    "on_hand": level.map_or(0, |l| l.on_hand),
                    "reserved": level.map_or(0, |l| l.reserved),
                })
            }).collect::<Vec<_>>(),
        }),
    )
    .await
}

/// Saves the title, description, status and prices of a product.
pub(super) async fn update_product(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let seller = seller_required(&visitor)?;
    let mut product = own_product(&state, seller, &id).await?;
    let shop = &state.shop;
    if let Some(t) = form.get("title") {
        product.title = t.trim().to_owned();
    }
    if let Some(d) = form.get("description") {
        product.description = d.trim().to_owned();
    }
    product.status = match form.get("status").map(String::as_str) {
        Some("active") => ProductStatus::Active,
        Some("draft") => ProductStatus::Draft,
        Some("archived") => ProductStatus::Archived,
        _ => product.status,
    };
    let currency = shop.checkout().config().currency;
    for v in &mut product.variants {
        if let Some(raw) = form.get(&format!("price:{}", v.sku.as_str())) {
            v.price = Money::parse(raw.trim(), currency)
                .map_err(|_| unprocessable("Price: a decimal amount like 19.99."))?;
        }
    }
    product.updated_at = shop.clock().now();
    product.validate()?;
    shop.catalog().upsert_product(&product).await?;
    Ok(see_other(&format!("/seller/products/{}", product.id)))
}

#[derive(Debug, Deserialize)]
pub(super) struct StockForm {
    sku: String,
    #[serde(default)]
    delta: String,
}

/// Receives (positive) or writes off (negative) units of a variant at the default
/// location.
pub(super) async fn adjust_stock(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<StockForm>,
) -> Result<Response, PageError> {
    let seller = seller_required(&visitor)?;
    let product = own_product(&state, seller, &id).await?;
    let sku = Sku::new(form.sku.trim())?;
    if !product.variants.iter().any(|v| v.sku == sku) {
        return Err(PageError::not_found("variant"));
    }
    let delta: i64 = form
        .delta
        .trim()
        .parse()
        .map_err(|_| unprocessable("Units: a whole number, negative to write off."))?;
    if delta == 0 {
        return Ok(see_other(&format!("/seller/products/{}", product.id)));
    }
    state
        .shop
        .inventory()
        .adjust(
            &StockAdjustment {
                sku,
                location: LocationCode::default_location(),
                delta,
                reason: if delta > 0 {
                    AdjustmentReason::Received
                } else {
                    AdjustmentReason::Correction
                },
                note: None,
            },
            state.shop.clock().now(),
        )
        .await?;
    Ok(see_other(&format!("/seller/products/{}", product.id)))
}
