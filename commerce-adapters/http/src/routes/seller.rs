//! The seller console's API, for a seller's staff (a session opened with a
//! `Role::Seller` login): their own products (create, update, deactivate, prices,
//! stock per location), the orders with lines of theirs and what of those lines is
//! waiting, shipping some or all of their lines (with a carrier's label, or a carrier
//! name and tracking number), and their sales. Another seller's product or order
//! reads as 404, as an unknown one.
//!
//! Queries per request: products list 1; create 2 (the slug read, the write);
//! update and deactivate 2 (read, write); price 2 (listing read, write); stock 2
//! (listing read, adjustment); orders 1 (a keyset page); ship as the checkout service
//! (1 read, the label call when a carrier label is bought, 1 version-checked update);
//! sales 1 (the latest page of at most 100 orders).

use axum::extract::State;
use axum::http::StatusCode;
use commerce::core::ports::ProductQuery;
use commerce::core::{
    Actor, CategoryId, Currency, Money, Product, ProductId, ProductStatus, SellerId, Sku, Variant,
};
use commerce::inventory::{AdjustmentReason, LocationCode, StockAdjustment};
use commerce::orders::{
    CarrierCode, Order, OrderId, OrderPage, Parcel, ServiceLevel, ShipmentLine,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::routes::catalog::parse_id;
use crate::state::AppState;
use crate::views::{MoneyView, ProductSummary};

/// Most variants a product created over the API may have.
pub const MAX_VARIANTS: usize = 100;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Largest stock change in one request, in units.
pub const MAX_STOCK_DELTA: i64 = 1_000_000;

/// A money amount sent by a client: a decimal string and an ISO 4217 code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyInput {
    /// Decimal string, at most the currency's minor units (`"19.99"`).
    pub amount: String,
    /// ISO 4217 code (`USD`).
    pub currency: String,
}

impl MoneyInput {
    /// The amount; 422 for a malformed, negative or over-precise one.
    pub fn to_money(&self, field: &str) -> Result<Money, ApiError> {
        let currency = Currency::from_code(&self.currency)
            .map_err(|_| ApiError::validation(field, "unknown currency"))?;
        let money = Money::parse(&self.amount, currency)
            .map_err(|_| ApiError::validation(field, "is not a valid amount"))?;
        if money.amount().is_sign_negative() {
            return Err(ApiError::validation(field, "must not be negative"));
        }
        Ok(money)
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::validation(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(())
}

/// A variant of a new product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// SKU, unique in the shop.
    pub sku: String,
    /// Price.
    pub price: MoneyInput,
    /// Shipping weight in grams.
    pub weight_grams: Option<u32>,
}

/// A product to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductInput {
    /// Title.
    pub title: String,
    /// URL handle, unique in the shop.
    pub slug: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Brand.
    pub brand: Option<String>,
    /// Publish at once (`active`) or keep as a draft (default).
    #[serde(default)]
    pub active: bool,
    /// Variants, 1 to 100.
    pub variants: Vec<VariantInput>,
}

/// Changes to a product (absent fields are kept).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// `active` publishes, `false` keeps or makes it a draft.
    pub active: Option<bool>,
    /// The product's categories (replaces the list; ids of existing categories).
    #[serde(default)]
    pub category_ids: Option<Vec<String>>,
}

/// A seller's product as the console shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerProductView {
    /// The summary (id, slug, title, brand, lowest price, image).
    pub product: ProductSummary,
    /// `draft`, `active` or `archived` (deactivated).
    pub status: String,
    /// Variants: SKU and price.
    pub variants: Vec<SellerVariantView>,
}

/// A variant of a seller's product.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerVariantView {
    /// SKU.
    pub sku: String,
    /// Price.
    pub price: MoneyView,
}

fn status_name(status: ProductStatus) -> String {
    name_of(&status)
}

impl SellerProductView {
    fn of(p: &Product, cdn: &str) -> Self {
        SellerProductView {
            product: ProductSummary::of(p, cdn),
            status: status_name(p.status),
            variants: p
                .variants
                .iter()
                .map(|v| SellerVariantView {
                    sku: v.sku.as_str().to_owned(),
                    price: v.price.into(),
                })
                .collect(),
        }
    }
}

/// The console's view of `product`, its images under `cdn`.
pub(crate) fn product_view(product: &Product, cdn: &str) -> SellerProductView {
    SellerProductView::of(product, cdn)
}

/// A page query: after a product id (keyset), 1 to 100 items.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SellerProductsQuery {
    /// Only products after this id (the last id of the previous page).
    pub after: Option<String>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u32>,
}

fn limit_of(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if limit == 0 || limit > 100 {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    Ok(limit)
}

/// The product with `id` if the acting seller owns it (an admin: any); 404
/// otherwise, as for an unknown id.
async fn owned_product(state: &AppState, actor: &Actor, id: &str) -> Result<Product, ApiError> {
    let id = parse_id::<ProductId>("id", id).map_err(|_| ApiError::not_found("product"))?;
    state
        .shop
        .catalog()
        .product(id)
        .await?
        .filter(|p| actor.manages_seller(p.seller_id))
        .ok_or_else(|| ApiError::not_found("product"))
}

/// The acting seller's SKU `raw`; 404 when unknown or another seller's.
async fn owned_sku(state: &AppState, actor: &Actor, raw: &str) -> Result<Sku, ApiError> {
    let sku = Sku::new(raw).map_err(|_| ApiError::not_found("sku"))?;
    let listing = state
        .shop
        .catalog()
        .listings(std::slice::from_ref(&sku))
        .await?
        .into_iter()
        .next()
        .filter(|l| actor.manages_seller(l.seller_id))
        .ok_or_else(|| ApiError::not_found("sku"))?;
    Ok(listing.variant.sku)
}

/// The seller's products, by id.
#[utoipa::path(get, path = "/v1/seller/products", tag = "seller", params(SellerProductsQuery),
    responses((status = 200, body = Vec<SellerProductView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_products(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SellerProductsQuery>,
) -> Result<ApiJson<Vec<SellerProductView>>, ApiError> {
    let seller = caller.seller()?;
    let query = ProductQuery::page(limit_of(q.limit, 50)?)
        .with_seller(seller)
        .with_after(
            q.after
                .as_deref()
                .map(|a| parse_id::<ProductId>("after", a))
                .transpose()?,
        );
    let products = state.shop.catalog().list_products(&query).await?;
    let cdn = &state.config.cdn_base_url;
    Ok(ApiJson(
        products
            .iter()
            .map(|p| SellerProductView::of(p, cdn))
            .collect(),
    ))
}

/// Creates a product of the seller (a draft unless `active`).
#[utoipa::path(post, path = "/v1/seller/products", tag = "seller", request_body = NewProductInput,
    responses((status = 201, body = SellerProductView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewProductInput>,
) -> Result<(StatusCode, ApiJson<SellerProductView>), ApiError> {
    let seller = caller.seller()?;
    let product = new_product(seller, &input, state.shop.clock().now())?;
    if state
        .shop
        .catalog()
        .product_by_slug(&product.slug)
        .await?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a product with this slug exists",
        ));
    }
    state.shop.catalog().upsert_product(&product).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(SellerProductView::of(&product, &state.config.cdn_base_url)),
    ))
}

/// The product `input` describes, of `seller`, stamped `now`; 422 when malformed.
pub(crate) fn new_product(
    seller: SellerId,
    input: &NewProductInput,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Product, ApiError> {
    check_text("title", &input.title, MAX_TITLE_CHARS)?;
    if input.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::validation(
            "description",
            "at most 10000 characters",
        ));
    }
    if input.variants.is_empty() || input.variants.len() > MAX_VARIANTS {
        return Err(ApiError::validation("variants", "1 to 100 variants"));
    }
    let status = if input.active {
        ProductStatus::Active
    } else {
        ProductStatus::Draft
    };
    let mut builder = Product::builder(seller, input.title.trim(), input.slug.clone())
        .description(input.description.clone())
        .status(status)
        .created_at(now)
        .updated_at(now);
    if let Some(brand) = &input.brand {
        check_text("brand", brand, MAX_TITLE_CHARS)?;
        builder = builder.brand(brand.trim());
    }
    for v in &input.variants {
        let sku = Sku::new(&v.sku).map_err(|e| ApiError::validation("sku", e.to_string()))?;
        let mut variant = Variant::builder(sku, v.price.to_money("price")?);
        if let Some(grams) = v.weight_grams {
            variant = variant.weight_grams(grams);
        }
        builder = builder.variant(variant);
    }
    Ok(builder.build()?)
}

/// Changes a product of the seller.
#[utoipa::path(put, path = "/v1/seller/products/{id}", tag = "seller", request_body = ProductUpdate,
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = SellerProductView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn update_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ProductUpdate>,
) -> Result<ApiJson<SellerProductView>, ApiError> {
    caller.seller()?;
    let actor = caller.actor()?;
    let mut product = owned_product(&state, &actor, &id).await?;
    apply_update(&mut product, &input)?;
    if input.category_ids.is_some() {
        check_categories(&state, &product).await?;
    }
    product.updated_at = state.shop.clock().now();
    product.validate()?;
    state.shop.catalog().upsert_product(&product).await?;
    Ok(ApiJson(SellerProductView::of(
        &product,
        &state.config.cdn_base_url,
    )))
}

/// Applies `input` to `product` (absent fields kept); 422 for a field out of bounds.
pub(crate) fn apply_update(product: &mut Product, input: &ProductUpdate) -> Result<(), ApiError> {
    if let Some(title) = &input.title {
        check_text("title", title, MAX_TITLE_CHARS)?;
        product.title = title.trim().to_owned();
    }
    if let Some(description) = &input.description {
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ApiError::validation(
                "description",
                "at most 10000 characters",
            ));
        }
        product.description = description.clone();
    }
    if let Some(brand) = &input.brand {
        check_text("brand", brand, MAX_TITLE_CHARS)?;
        product.brand = Some(brand.trim().to_owned());
    }
    if let Some(active) = input.active {
        product.status = if active {
            ProductStatus::Active
        } else {
            ProductStatus::Draft
        };
    }
    if let Some(raw) = &input.category_ids {
        let mut ids = Vec::with_capacity(raw.len());
        for r in raw {
            let id = parse_id::<CategoryId>("category_ids", r)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        product.category_ids = ids;
    }
    Ok(())
}

/// 422 `category_ids` when `product` names a category the catalog lacks (1 query:
/// the category tree). Call after [`apply_update`] when the update set categories.
pub(crate) async fn check_categories(state: &AppState, product: &Product) -> Result<(), ApiError> {
    let known = state.shop.catalog().categories().await?;
    match product
        .category_ids
        .iter()
        .find(|id| !known.iter().any(|c| c.id == **id))
    {
        Some(unknown) => Err(ApiError::validation(
            "category_ids",
            format!("unknown category {unknown}"),
        )),
        None => Ok(()),
    }
}

/// Sets the price of `raw` (a SKU of a seller `actor` manages: its staff or an
/// admin) through the catalog, which puts the price event on the outbox; 404 for a
/// SKU unknown or not the actor's.
pub(crate) async fn price_for(
    state: &AppState,
    actor: &Actor,
    raw: &str,
    price: Money,
) -> Result<Sku, ApiError> {
    let sku = owned_sku(state, actor, raw).await?;
    state.shop.catalog().set_price(&sku, price).await?;
    Ok(sku)
}

/// Deactivates (archives) a product of the seller: it leaves the storefront and
/// search; orders already placed keep their lines.
#[utoipa::path(post, path = "/v1/seller/products/{id}/deactivate", tag = "seller",
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = SellerProductView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deactivate_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<SellerProductView>, ApiError> {
    caller.seller()?;
    let actor = caller.actor()?;
    let mut product = owned_product(&state, &actor, &id).await?;
    product.status = ProductStatus::Archived;
    product.updated_at = state.shop.clock().now();
    state.shop.catalog().upsert_product(&product).await?;
    Ok(ApiJson(SellerProductView::of(
        &product,
        &state.config.cdn_base_url,
    )))
}

/// A new price.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// The price.
    pub price: MoneyInput,
}

/// Sets the price of one of the seller's SKUs (carts see it at once; orders keep
/// the price they were placed at).
#[utoipa::path(put, path = "/v1/seller/skus/{sku}/price", tag = "seller", request_body = PriceInput,
    params(("sku" = String, Path, description = "SKU")),
    responses((status = 200, body = SellerVariantView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn set_price(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(sku): ApiPath<String>,
    ApiJson(input): ApiJson<PriceInput>,
) -> Result<ApiJson<SellerVariantView>, ApiError> {
    caller.seller()?;
    let actor = caller.actor()?;
    let price = input.price.to_money("price")?;
    let sku = price_for(&state, &actor, &sku, price).await?;
    Ok(ApiJson(SellerVariantView {
        sku: sku.as_str().to_owned(),
        price: price.into(),
    }))
}

/// A stock change at a location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockInput {
    /// Location code (default `default`).
    pub location: Option<String>,
    /// Units received (positive) or written off (negative), at most 1000000 either way.
    pub delta: i64,
    /// `received` (default), `correction` or `damaged`.
    pub reason: Option<String>,
}

/// Stock of a SKU at a location after a change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    /// SKU.
    pub sku: String,
    /// Location.
    pub location: String,
    /// Units on hand.
    pub on_hand: u64,
    /// Units held by checkouts.
    pub reserved: u64,
    /// Units that can be sold.
    pub available: u64,
}

/// A stock location's code when well formed ([`LocationCode::parse`], the
/// inventory's rule; the JSON route and the seller's page share it).
pub(crate) fn location_code(code: &str) -> Option<LocationCode> {
    LocationCode::parse(code)
}

/// Changes the stock of one of the seller's SKUs at a location.
#[utoipa::path(post, path = "/v1/seller/skus/{sku}/stock", tag = "seller", request_body = StockInput,
    params(("sku" = String, Path, description = "SKU")),
    responses((status = 200, body = StockView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn adjust_stock(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(sku): ApiPath<String>,
    ApiJson(input): ApiJson<StockInput>,
) -> Result<ApiJson<StockView>, ApiError> {
    caller.seller()?;
    let actor = caller.actor()?;
    let sku = owned_sku(&state, &actor, &sku).await?;
    if input.delta == 0 || input.delta.abs() > MAX_STOCK_DELTA {
        return Err(ApiError::validation(
            "delta",
            "must be non-zero and at most 1000000 units either way",
        ));
    }
    let location = match input.location.as_deref() {
        None => LocationCode::default_location(),
        Some(code) => location_code(code).ok_or_else(|| {
            ApiError::validation("location", "1 to 64 letters, digits, '-' or '_'")
        })?,
    };
    let reason = match input.reason.as_deref() {
        None | Some("received") => AdjustmentReason::Received,
        Some("correction") => AdjustmentReason::Correction,
        Some("damaged") => AdjustmentReason::Damaged,
        Some(_) => {
            return Err(ApiError::validation(
                "reason",
                "must be received, correction or damaged",
            ));
        }
    };
    let level = state
        .shop
        .inventory()
        .adjust(
            &StockAdjustment::new(sku.clone(), input.delta, reason).at(location.clone()),
            state.shop.clock().now(),
        )
        .await?;
    Ok(ApiJson(StockView {
        sku: sku.as_str().to_owned(),
        location: location.to_string(),
        on_hand: level.on_hand,
        reserved: level.reserved,
        available: level.on_hand.saturating_sub(level.reserved),
    }))
}

/// A line of an order as its seller sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerLineView {
    /// SKU.
    pub sku: String,
    /// Name at purchase.
    pub name: String,
    /// Units ordered.
    pub quantity: u32,
    /// Units shipped.
    pub shipped: u32,
    /// Units still to ship.
    pub waiting: u32,
    /// Line total paid.
    pub total: MoneyView,
}

/// An order with the seller's lines only (another seller's lines and the buyer's
/// payment are not shown).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerOrderView {
    /// Order id.
    pub id: String,
    /// Order number.
    pub number: Option<String>,
    /// Order status.
    pub status: String,
    /// Fulfilment status of the whole order.
    pub fulfilment_status: String,
    /// Where the goods go.
    pub shipping_address: crate::views::AddressView,
    /// The seller's lines.
    pub lines: Vec<SellerLineView>,
    /// When placed.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl SellerOrderView {
    fn of(order: &Order, seller: SellerId) -> Self {
        SellerOrderView {
            id: order.id.to_string(),
            number: order.number.clone(),
            status: name_of(&order.status),
            fulfilment_status: name_of(&order.fulfilment.status),
            shipping_address: (&order.shipping_address).into(),
            lines: order
                .lines
                .iter()
                .filter(|l| l.seller_id == Some(seller))
                .map(|l| {
                    let shipped = order.shipped_quantity(&l.sku);
                    SellerLineView {
                        sku: l.sku.as_str().to_owned(),
                        name: l.name.clone(),
                        quantity: l.quantity,
                        shipped,
                        waiting: l.quantity.saturating_sub(shipped),
                        total: l.total.into(),
                    }
                })
                .collect(),
            created_at: order.created_at,
        }
    }

    fn waiting(&self) -> bool {
        self.status == "confirmed" && self.lines.iter().any(|l| l.waiting > 0)
    }
}

/// A page of the seller's orders.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SellerOrdersQuery {
    /// Only orders older than this order id (the last id of the previous page).
    pub before: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// Only confirmed orders with lines of the seller still to ship.
    #[serde(default)]
    pub waiting: bool,
}

/// The orders with lines of the seller, newest first; `waiting=true` keeps those
/// with lines still to ship (the page is filtered after the keyset read, so it can
/// hold fewer than `limit`; page on with the last id read, `next_before`).
#[utoipa::path(get, path = "/v1/seller/orders", tag = "seller", params(SellerOrdersQuery),
    responses((status = 200, body = SellerOrderPage), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SellerOrdersQuery>,
) -> Result<ApiJson<SellerOrderPage>, ApiError> {
    let seller = caller.seller()?;
    let page = OrderPage {
        before: q
            .before
            .as_deref()
            .map(|b| parse_id::<OrderId>("before", b))
            .transpose()?,
        limit: limit_of(q.limit, 20)?,
    };
    let orders = state.shop.orders().list_for_seller(seller, page).await?;
    let next_before = if orders.len() == page.limit as usize {
        orders.last().map(|o| o.id.to_string())
    } else {
        None
    };
    let items = orders
        .iter()
        .map(|o| SellerOrderView::of(o, seller))
        .filter(|v| !q.waiting || v.waiting())
        .collect();
    Ok(ApiJson(SellerOrderPage { items, next_before }))
}

/// A page of a seller's orders.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerOrderPage {
    /// The orders.
    pub items: Vec<SellerOrderView>,
    /// Send as `before` for the next page; absent on the last page.
    pub next_before: Option<String>,
}

/// A line to ship.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipLineInput {
    /// SKU of a line of the seller.
    pub sku: String,
    /// Units, at least 1.
    pub quantity: u32,
}

/// A shipment of some or all of the seller's lines.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipInput {
    /// Lines and units shipped (1 to 100 lines).
    pub lines: Vec<ShipLineInput>,
    /// With `tracking_number`: the carrier's name as shown to the customer. Without:
    /// a carrier code (`fedex`, `ups`, `dhl`) whose label is bought (its tracking
    /// number is recorded).
    pub carrier: String,
    /// The tracking number of a parcel sent with a label bought elsewhere.
    pub tracking_number: Option<String>,
    /// Service level of a bought label (`ground`, `express`, ...; default `ground`).
    pub service: Option<String>,
    /// Parcel weight in grams for a bought label (default 1000).
    pub weight_grams: Option<u32>,
}

/// Ships some or all of the seller's lines of an order: with a carrier's label
/// (bought through the shop's carriers) or a carrier name and tracking number.
#[utoipa::path(post, path = "/v1/seller/orders/{id}/ship", tag = "seller", request_body = ShipInput,
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = SellerOrderView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ship(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ShipInput>,
) -> Result<ApiJson<SellerOrderView>, ApiError> {
    let seller = caller.seller()?;
    let actor = caller.actor()?;
    let id = parse_id::<OrderId>("id", &id).map_err(|_| ApiError::not_found("order"))?;
    let order = ship_lines(&state, &actor, id, &input).await?;
    Ok(ApiJson(SellerOrderView::of(&order, seller)))
}

/// Ships `input` for `actor` (the seller of every line, or staff) through the
/// checkout service.
pub(crate) async fn ship_lines(
    state: &AppState,
    actor: &Actor,
    id: OrderId,
    input: &ShipInput,
) -> Result<Order, ApiError> {
    if input.lines.is_empty() || input.lines.len() > 100 {
        return Err(ApiError::validation("lines", "1 to 100 lines"));
    }
    let mut lines = Vec::with_capacity(input.lines.len());
    for l in &input.lines {
        if l.quantity == 0 {
            return Err(ApiError::validation("quantity", "at least 1"));
        }
        lines.push(ShipmentLine {
            sku: Sku::new(&l.sku).map_err(|e| ApiError::validation("sku", e.to_string()))?,
            quantity: l.quantity,
        });
    }
    let checkout = state.shop.checkout();
    let order = match &input.tracking_number {
        Some(number) => {
            check_text("carrier", &input.carrier, 64)?;
            check_text("tracking_number", number, 64)?;
            checkout
                .ship(
                    actor,
                    id,
                    &lines,
                    Some(input.carrier.trim().to_owned()),
                    Some(number.trim().to_owned()),
                )
                .await?
        }
        None => {
            let carrier = CarrierCode::parse(&input.carrier).map_err(|_| {
                ApiError::validation("carrier", "fedex, ups or dhl (or send a tracking_number)")
            })?;
            let service = ServiceLevel::parse(input.service.as_deref().unwrap_or("ground"))
                .map_err(|_| ApiError::validation("service", "unknown service level"))?;
            let grams = input.weight_grams.unwrap_or(1000);
            if grams == 0 || grams > 70_000 {
                return Err(ApiError::validation("weight_grams", "1 to 70000"));
            }
            checkout
                .ship_with_carrier(
                    actor,
                    id,
                    &lines,
                    carrier,
                    service,
                    Parcel::standard_box(grams),
                )
                .await?
        }
    };
    Ok(order)
}

/// The seller's sales over their latest orders.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SalesView {
    /// Orders read (the latest, at most 100).
    pub orders: u32,
    /// Confirmed or completed orders with lines of the seller among them.
    pub paid_orders: u32,
    /// Units of the seller sold in them.
    pub units: u64,
    /// Revenue of the seller's lines (line totals less refunds), per currency.
    pub revenue: Vec<MoneyView>,
    /// Units still to ship.
    pub units_waiting: u64,
}

/// The seller's sales over their latest 100 orders: paid orders, units, revenue
/// per currency (line totals less refunds), units still to ship. (The admin
/// dashboard's rollups hold the shop-wide figures.)
#[utoipa::path(get, path = "/v1/seller/sales", tag = "seller",
    responses((status = 200, body = SalesView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn sales(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<SalesView>, ApiError> {
    let seller = caller.seller()?;
    Ok(ApiJson(sales_of(&state, seller).await?))
}

/// The sales of `seller` over their latest 100 orders (the figures of
/// [`sales`], shared with the seller console page).
pub(crate) async fn sales_of(state: &AppState, seller: SellerId) -> Result<SalesView, ApiError> {
    let orders = state
        .shop
        .orders()
        .list_for_seller(seller, OrderPage::first(OrderPage::MAX_LIMIT))
        .await?;
    let mut view = SalesView {
        orders: u32::try_from(orders.len()).unwrap_or(u32::MAX),
        paid_orders: 0,
        units: 0,
        revenue: Vec::new(),
        units_waiting: 0,
    };
    let mut revenue: Vec<Money> = Vec::new();
    for order in &orders {
        let paid = matches!(name_of(&order.status).as_str(), "confirmed" | "completed");
        if !paid {
            continue;
        }
        view.paid_orders += 1;
        for line in order.lines.iter().filter(|l| l.seller_id == Some(seller)) {
            view.units += u64::from(line.quantity);
            view.units_waiting += u64::from(
                line.quantity
                    .saturating_sub(order.shipped_quantity(&line.sku)),
            );
            let net = line.total.checked_sub(line.refunded)?;
            match revenue.iter_mut().find(|m| m.currency() == net.currency()) {
                Some(sum) => *sum = sum.checked_add(net)?,
                None => revenue.push(net),
            }
        }
    }
    view.revenue = revenue.into_iter().map(MoneyView::from).collect();
    Ok(view)
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(update_product))
        .routes(routes!(deactivate_product))
        .routes(routes!(set_price))
        .routes(routes!(adjust_stock))
        .routes(routes!(list_orders))
        .routes(routes!(ship))
        .routes(routes!(sales))
}
