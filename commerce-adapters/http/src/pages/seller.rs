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
use commerce::inventory::{LocationCode, StockAdjustment};
use commerce::orders::{CarrierCode, OrderId, OrderPage, OrderStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::shopping::order_view;
use super::support::{CsrfForm, PageError, Visitor, humanize, money, name_of, page, see_other};
use crate::routes::seller::{ShipInput, ShipLineInput, location_code, sales_of, ship_lines};
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
    deactivated: Option<String>,
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
        .list_products(&ProductQuery::page(100).with_seller(seller))
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
                view["ship"] = json!({ "id": o.id.to_string(), "lines": mine });
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
    let figures = sales_of(&state, seller).await?;
    let revenue = if figures.revenue.is_empty() {
        "0.00".to_owned()
    } else {
        figures
            .revenue
            .iter()
            .map(|m| format!("{} {}", m.amount, m.currency))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sales = json!([
        { "label": "Paid orders", "value": figures.paid_orders.to_string() },
        { "label": "Units sold", "value": figures.units.to_string() },
        { "label": "Revenue (less refunds)", "value": revenue },
        { "label": "Units waiting to ship", "value": figures.units_waiting.to_string() },
    ]);
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
            "deactivated": q.deactivated.is_some(),
            "carriers": carriers(&state),
            "sales": sales,
        }),
    )
    .await
}

/// The carriers of the ship form: the shop's configured carriers (a label is
/// bought from them, its tracking number recorded), else none (free text only).
fn carriers(state: &AppState) -> Vec<Value> {
    state
        .shop
        .carriers()
        .map(|set| {
            set.carriers()
                .iter()
                .map(|c| {
                    let code = c.code();
                    json!({ "code": code.as_str(), "name": code.display_name() })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The ship form: `carrier` is a configured carrier's code (its label is bought
/// unless a `tracking_number` is given) or `other` with `carrier_name` and
/// `tracking_number`; `qty:<SKU>` fields choose the units per line (absent: every
/// waiting unit of the seller's lines); `back=orders` returns to the waiting lines.
#[derive(Debug, Default)]
struct ShipForm {
    carrier: String,
    carrier_name: String,
    tracking_number: String,
    back: String,
    lines: Vec<(String, String)>,
}

impl ShipForm {
    fn of(fields: Vec<(String, String)>) -> Self {
        let mut form = ShipForm::default();
        for (k, v) in fields {
            match k.as_str() {
                "carrier" => form.carrier = v.trim().to_owned(),
                "carrier_name" => form.carrier_name = v.trim().to_owned(),
                "tracking_number" => form.tracking_number = v.trim().to_owned(),
                "back" => form.back = v,
                _ => {
                    if let Some(sku) = k.strip_prefix("qty:") {
                        form.lines.push((sku.to_owned(), v.trim().to_owned()));
                    }
                }
            }
        }
        form
    }
}

/// Ships some or all of the seller's waiting units of an order: with a label of a
/// configured carrier (its tracking number recorded), or a carrier named in free
/// text with a tracking number. Goes through the JSON route's `ship_lines`.
pub(super) async fn ship(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let seller = seller_required(&visitor)?;
    let form = ShipForm::of(fields);
    let id: OrderId = id.parse().map_err(|_| PageError::not_found("order"))?;
    let actor = Actor::Seller(seller);
    let order = state.shop.checkout().order(&actor, id).await?;
    let waiting = |sku: &str| {
        order
            .lines
            .iter()
            .filter(|l| l.seller_id == Some(seller) && l.sku.as_str() == sku)
            .map(|l| l.quantity.saturating_sub(order.shipped_quantity(&l.sku)))
            .next()
    };
    let mut lines = Vec::new();
    if form.lines.is_empty() {
        for l in order.lines.iter().filter(|l| l.seller_id == Some(seller)) {
            let left = l.quantity.saturating_sub(order.shipped_quantity(&l.sku));
            if left > 0 {
                lines.push(ShipLineInput {
                    sku: l.sku.as_str().to_owned(),
                    quantity: left,
                });
            }
        }
    } else {
        for (sku, raw) in &form.lines {
            let quantity: u32 = if raw.is_empty() {
                0
            } else {
                raw.parse()
                    .map_err(|_| unprocessable("Units: a whole number for each line."))?
            };
            if quantity == 0 {
                continue;
            }
            let left = waiting(sku).ok_or_else(|| PageError::not_found("line"))?;
            if quantity > left {
                return Err(unprocessable(format!(
                    "Only {left} of {sku} are waiting to ship."
                )));
            }
            lines.push(ShipLineInput {
                sku: sku.clone(),
                quantity,
            });
        }
    }
    if lines.is_empty() {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "Nothing of yours to ship: choose at least one unit waiting.",
        ));
    }
    let configured = carriers(&state)
        .iter()
        .any(|c| c["code"] == form.carrier.as_str());
    let input = if form.carrier == "other" || !configured {
        if form.carrier_name.is_empty() || form.tracking_number.is_empty() {
            return Err(unprocessable(
                "Another carrier: enter its name and the tracking number.",
            ));
        }
        ShipInput {
            lines,
            carrier: form.carrier_name.clone(),
            tracking_number: Some(form.tracking_number.clone()),
            service: None,
            weight_grams: None,
        }
    } else if form.tracking_number.is_empty() {
        ShipInput {
            lines,
            carrier: form.carrier.clone(),
            tracking_number: None,
            service: None,
            weight_grams: None,
        }
    } else {
        let name = CarrierCode::parse(&form.carrier)
            .map(|c| c.display_name().to_owned())
            .unwrap_or_else(|_| form.carrier.clone());
        ShipInput {
            lines,
            carrier: name,
            tracking_number: Some(form.tracking_number.clone()),
            service: None,
            weight_grams: None,
        }
    };
    let shipped = ship_lines(&state, &actor, id, &input).await?;
    let number = shipped.number.clone().unwrap_or_else(|| id.to_string());
    let qs = serde_urlencoded::to_string([("shipped", number.as_str())]).unwrap_or_default();
    if form.back == "orders" {
        Ok(see_other(&format!("/seller/orders?{qs}")))
    } else {
        Ok(see_other(&format!("/seller?order={id}&shipped=1")))
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct OrdersQuery {
    before: Option<String>,
    shipped: Option<String>,
}

/// Orders read per page of the waiting lines.
const ORDERS_PAGE: u32 = 20;

/// The order lines waiting for the seller, newest order first, each order with a
/// ship form (units per line, carrier, tracking number). One keyset read of the
/// seller's orders per page (filtered to those waiting, as `GET /v1/seller/orders?waiting=true`).
pub(super) async fn orders(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<OrdersQuery>,
) -> Result<Response, PageError> {
    let seller = match seller_of(&visitor, "/seller/orders") {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let before = match q.before.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            raw.parse::<OrderId>()
                .map_err(|_| PageError::not_found("page"))?,
        ),
        None => None,
    };
    let found = state
        .shop
        .orders()
        .list_for_seller(
            seller,
            OrderPage {
                before,
                limit: ORDERS_PAGE,
            },
        )
        .await?;
    let next = (found.len() == ORDERS_PAGE as usize)
        .then(|| found.last().map(|o| o.id.to_string()))
        .flatten();
    let waiting: Vec<Value> = found
        .iter()
        .filter(|o| o.status == OrderStatus::Confirmed)
        .filter_map(|o| {
            let lines: Vec<Value> = o
                .lines
                .iter()
                .filter(|l| l.seller_id == Some(seller))
                .filter_map(|l| {
                    let shipped = o.shipped_quantity(&l.sku);
                    let left = l.quantity.saturating_sub(shipped);
                    (left > 0).then(|| {
                        json!({
                            "sku": l.sku.as_str(),
                            "name": l.name,
                            "quantity": l.quantity,
                            "shipped": shipped,
                            "waiting": left,
                        })
                    })
                })
                .collect();
            if lines.is_empty() {
                return None;
            }
            let view = order_view(o);
            Some(json!({
                "id": o.id.to_string(),
                "number": view["number"],
                "placed": view["placed"],
                "address": view["address"],
                "shipping_method": view["shipping_method"],
                "lines": lines,
            }))
        })
        .collect();
    page(
        &state,
        &visitor,
        "seller_orders.html",
        json!({
            "title": "Orders to ship",
            "orders": waiting,
            "next": next,
            "shipped": q.shipped,
            "carriers": carriers(&state),
        }),
    )
    .await
}

/// Deactivates (archives) one of the seller's products: it leaves the storefront
/// and search; placed orders keep their lines.
pub(super) async fn deactivate(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let seller = seller_required(&visitor)?;
    let mut product = own_product(&state, seller, &id).await?;
    product.status = ProductStatus::Archived;
    product.updated_at = state.shop.clock().now();
    state.shop.catalog().upsert_product(&product).await?;
    Ok(see_other("/seller?deactivated=1"))
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
            .adjust(&StockAdjustment::received(sku, i64::from(stock)), now)
            .await?;
    }
    Ok(see_other(&format!("/seller/products/{}", product.id)))
}

/// Which stock location the product page shows and adjusts.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LocationQuery {
    location: Option<String>,
}

/// The location named by a form or query (trimmed), `default` when blank; a
/// malformed code is a 422 with the rule.
fn chosen_location(raw: Option<&str>) -> Result<LocationCode, PageError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(LocationCode::default_location()),
        Some(code) => location_code(code)
            .ok_or_else(|| unprocessable("Location: 1 to 64 letters, digits, '-' or '_'.")),
    }
}

/// Where to go after a change: the product page, at the location changed.
fn product_page_at(product: ProductId, location: &LocationCode) -> String {
    if *location == LocationCode::default_location() {
        format!("/seller/products/{product}")
    } else {
        let qs =
            serde_urlencoded::to_string([("location", location.0.as_str())]).unwrap_or_default();
        format!("/seller/products/{product}?{qs}")
    }
}

/// The edit form of one of the seller's products, with its stock at the location
/// asked (`?location=`, the default location when none).
pub(super) async fn edit_product(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(query): Query<LocationQuery>,
) -> Result<Response, PageError> {
    let seller = match seller_of(&visitor, "/seller") {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let product = own_product(&state, seller, &id).await?;
    let location = chosen_location(query.location.as_deref())?;
    let skus: Vec<Sku> = product.variants.iter().map(|v| v.sku.clone()).collect();
    let levels = state
        .shop
        .inventory()
        .stock_levels(&skus, &location)
        .await?;
    page(
        &state,
        &visitor,
        "seller_product.html",
        json!({
            "title": format!("Edit {}", product.title),
            "new": false,
            "location": location.0,
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
    #[serde(default)]
    location: Option<String>,
}

/// Receives (positive) or writes off (negative) units of a variant at the location
/// of the form (the default location when blank).
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
    let location = chosen_location(form.location.as_deref())?;
    let delta: i64 = form
        .delta
        .trim()
        .parse()
        .map_err(|_| unprocessable("Units: a whole number, negative to write off."))?;
    let back = product_page_at(product.id, &location);
    if delta == 0 {
        return Ok(see_other(&back));
    }
    state
        .shop
        .inventory()
        .adjust(
            &if delta > 0 {
                StockAdjustment::received(sku, delta)
            } else {
                StockAdjustment::correction(sku, delta)
            }
            .at(location),
            state.shop.clock().now(),
        )
        .await?;
    Ok(see_other(&back))
}
