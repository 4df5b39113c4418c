//! The cart, checkout, and the order page (confirmation and tracking timeline).
//!
//! Queries per request: cart page 3 (cart, listings of all its lines in one read
//! for pricing, the same listings for weights); add 3; checkout as the checkout
//! service; order page 1.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use commerce::cart::{Cart, CartKey, CartLimits, PricingContext, price_cart};
use commerce::core::{Address, CountryCode, ProductStatus, Sku};
use commerce::orders::simulated::test_cards;
use commerce::orders::{
    CancelReason, CheckoutRequest, IdempotencyKey, Order, OrderId, OrderStatus, OrderTracking,
    PaymentMethod,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::support::{CsrfForm, PageError, Visitor, humanize, money, name_of, page, see_other};
use crate::state::AppState;

fn shopper_cart(visitor: &Visitor) -> Result<CartKey, PageError> {
    visitor.cart_key().ok_or_else(|| {
        PageError::new(
            StatusCode::FORBIDDEN,
            "Staff accounts do not shop: sign in with a customer account.",
        )
    })
}

/// The priced cart and the shipping options with their price for its weight.
async fn priced(state: &AppState, key: CartKey) -> Result<(Value, bool), PageError> {
    let shop = &state.shop;
    let config = shop.checkout().config();
    let cart = shop
        .carts()
        .cart(&key)
        .await?
        .unwrap_or_else(|| Cart::empty(key, shop.clock().now()));
    // The tables admins keep (cached; see commerce_orders::pricing_tables).
    let tables = shop.pricing_tables().current().await?;
    let promotions = tables.promotions_at(shop.clock().now());
    let context = PricingContext::new(config.currency, &tables.tax).with_promotions(&promotions);
    let priced = price_cart(&cart, shop.catalog().as_ref(), &context).await?;
    let skus: Vec<Sku> = cart.lines.iter().map(|l| l.sku.clone()).collect();
    let listings = if skus.is_empty() {
        Vec::new()
    } else {
        shop.catalog().listings(&skus).await?
    };
    let weight: u64 = cart
        .lines
        .iter()
        .map(|l| {
            listings
                .iter()
                .find(|x| x.variant.sku == l.sku)
                .map_or(0, |x| {
                    u64::from(x.variant.weight_grams) * u64::from(l.quantity)
                })
        })
        .sum();
    let b = &priced.breakdown;
    let lines: Vec<Value> = b
        .lines
        .iter()
        .map(|l| {
            json!({
                "sku": l.sku.as_str(),
                "name": l.name,
                "quantity": l.quantity,
                "unit_price": money(l.unit_price),
                "discount": (!l.discount.is_zero()).then(|| money(l.discount)),
                "total": money(l.total),
            })
        })
        .collect();
    let options: Vec<Value> = tables
        .shipping_methods
        .iter()
        .map(|m| {
            let free = m
                .free_over
                .is_some_and(|f| f.amount() <= b.subtotal.amount());
            let price = if free {
                Some("Free".to_owned())
            } else {
                m.rate_for_weight(weight).ok().map(|p| {
                    if p.is_zero() {
                        "Free".to_owned()
                    } else {
                        money(p)
                    }
                })
            };
            json!({ "code": m.code, "name": m.name, "price": price })
        })
        .collect();
    let view = json!({
        "lines": lines,
        "subtotal": money(b.subtotal),
        "discount": (!b.discount_total.is_zero()).then(|| money(b.discount_total)),
        "tax": money(b.tax_total),
        "total": money(b.grand_total),
        "promotions": b.applied_promotions,
        "shipping_options": options,
    });
    Ok((view, cart.lines.is_empty()))
}

/// The cart page.
pub(super) async fn cart(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let key = shopper_cart(&visitor)?;
    let (cart, empty) = priced(&state, key).await?;
    page(
        &state,
        &visitor,
        "cart.html",
        json!({ "title": "Your cart", "cart": cart, "empty": empty }),
    )
    .await
}

/// A line to add.
#[derive(Debug, Deserialize)]
pub(super) struct AddForm {
    sku: String,
    #[serde(default = "one")]
    quantity: u32,
    /// Where to go after (a path of this site).
    #[serde(default)]
    back: Option<String>,
}

fn one() -> u32 {
    1
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A local path to go back to (never another site).
fn local(back: Option<&str>, default: &str) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_owned(),
        _ => default.to_owned(),
    }
}

/// Adds units of a SKU; answers JSON `{count}` to the script, else redirects.
pub(super) async fn add(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, PageError> {
    let key = shopper_cart(&visitor)?;
    let sku = Sku::new(&form.sku)?;
    if form.quantity == 0 {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose at least one.",
        ));
    }
    let listing = state
        .shop
        .catalog()
        .listings(std::slice::from_ref(&sku))
        .await?;
    listing
        .first()
        .filter(|l| l.status == ProductStatus::Active)
        .ok_or_else(|| PageError::not_found("product"))?;
    let now = state.shop.clock().now();
    let cart = state
        .shop
        .carts()
        .add(&key, &sku, form.quantity, CartLimits::default(), now)
        .await?;
    if wants_json(&headers) {
        let count: u32 = cart.lines.iter().map(|l| l.quantity).sum();
        return Ok(axum::Json(json!({ "count": count })).into_response());
    }
    Ok(see_other(&local(form.back.as_deref(), "/cart")))
}

/// A new quantity for a line (0 removes it).
#[derive(Debug, Deserialize)]
pub(super) struct UpdateForm {
    sku: String,
    quantity: u32,
}

/// Changes a line of the cart.
pub(super) async fn update(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response, PageError> {
    let key = shopper_cart(&visitor)?;
    let sku = Sku::new(&form.sku)?;
    let now = state.shop.clock().now();
    state
        .shop
        .carts()
        .set_quantity(&key, &sku, form.quantity, CartLimits::default(), now)
        .await?;
    Ok(see_other("/cart"))
}

/// What the checkout form sends.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub(super) struct CheckoutForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    shipping_method: String,
    #[serde(default)]
    payment: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_expiry: String,
    #[serde(default)]
    card_cvc: String,
    #[serde(default)]
    gift_card: String,
    /// `quote`: the "Show shipping options" button (re-draws the form with the
    /// options for the address; places nothing).
    #[serde(default, skip_serializing)]
    action: String,
}

fn nonempty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl CheckoutForm {
    fn address(&self) -> Result<Address, PageError> {
        let mut a = Address::new(
            self.name.trim(),
            self.line1.trim(),
            self.city.trim(),
            self.postal_code.trim(),
            CountryCode::new(self.country.trim())?,
        );
        a.line2 = nonempty(&self.line2);
        a.region = nonempty(&self.region);
        a.phone = nonempty(&self.phone);
        a.validate()?;
        Ok(a)
    }

    fn payment_method(&self) -> Result<PaymentMethod, PageError> {
        match self.payment.as_str() {
            "card" => {
                let (m, y) = self
                    .card_expiry
                    .trim()
                    .split_once('/')
                    .and_then(|(m, y)| {
                        let m: u8 = m.trim().parse().ok()?;
                        let y: u16 = y.trim().parse().ok()?;
                        Some((m, if y < 100 { 2000 + y } else { y }))
                    })
                    .ok_or_else(|| {
                        PageError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "Card expiry: write it as MM/YY.",
                        )
                    })?;
                Ok(PaymentMethod::Card {
                    number: self.card_number.replace(' ', ""),
                    expiry_month: m,
                    expiry_year: y,
                    cvc: self.card_cvc.trim().to_owned(),
                })
            }
            "gift_card" => Ok(PaymentMethod::GiftCard {
                code: self.gift_card.trim().to_owned(),
            }),
            "cash_on_delivery" => Ok(PaymentMethod::CashOnDelivery),
            _ => Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose how to pay.",
            )),
        }
    }
}

async fn checkout_view(
    state: &AppState,
    visitor: &Visitor,
    form: CheckoutForm,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let key = shopper_cart(visitor)?;
    let (cart, empty) = priced(state, key).await?;
    if empty {
        return Ok(see_other("/cart"));
    }
    let test_cards = state.config.show_test_cards.then(|| {
        json!([
            { "number": test_cards::APPROVED, "outcome": "approved" },
            { "number": test_cards::DECLINED, "outcome": "declined" },
            { "number": test_cards::INSUFFICIENT_FUNDS, "outcome": "insufficient funds" },
            { "number": test_cards::EXPIRED, "outcome": "expired card" },
        ])
    });
    // With an address, every option serving it (the table's and the configured
    // carriers' quotes, cheapest and fastest marked), as the cart quote route gives.
    let mut form = form;
    let quoted = match form.address() {
        Ok(address) => match state
            .shop
            .checkout()
            .quote(&visitor.actor(), &address, None, &[])
            .await
        {
            Ok(q) => Some(q.options),
            // An address no option serves: the table's methods and the error on
            // placing say so.
            Err(_) => None,
        },
        Err(_) => None,
    };
    let mut cart = cart;
    if let Some(options) = &quoted {
        if !options.iter().any(|o| o.code == form.shipping_method)
            && let Some(first) = options.first()
        {
            form.shipping_method = first.code.clone();
        }
        cart["shipping_options"] = json!(
            options
                .iter()
                .map(|o| json!({
                    "code": o.code,
                    "name": o.name,
                    "price": if o.price.is_zero() { "Free".to_owned() } else { money(o.price) },
                    "days": o.transit_days,
                    "cheapest": o.cheapest,
                    "fastest": o.fastest,
                    "carrier": o.carrier.is_some(),
                }))
                .collect::<Vec<_>>()
        );
    }
    let mut response = page(
        state,
        visitor,
        "checkout.html",
        json!({
            "title": "Checkout",
            "quoted": quoted.is_some(),
            "cart": cart,
            "form": form,
            "test_cards": test_cards,
            "error": error.as_ref().map(|e| e.1.clone()),
        }),
    )
    .await?;
    if let Some((status, _)) = error {
        *response.status_mut() = status;
    }
    Ok(response)
}

/// The checkout form, prefilled from the customer's default address.
pub(super) async fn checkout_page(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let mut form = CheckoutForm {
        key: uuid::Uuid::now_v7().to_string(),
        country: "US".to_owned(),
        payment: "card".to_owned(),
        ..CheckoutForm::default()
    };
    let tables = state.shop.pricing_tables().current().await?;
    if let Some(first) = tables.shipping_methods.first() {
        form.shipping_method = first.code.clone();
    }
    if let Some(id) = visitor.customer() {
        if let Some(c) = state.shop.customers().customer(id).await? {
            form.email = c.email;
            form.name = c.name;
        }
        let book = state.shop.customers().addresses(id).await?;
        if let Some(a) = book.iter().find(|a| a.is_default_shipping).or(book.first()) {
            let a = &a.address;
            form.name = a.name.clone();
            form.line1 = a.line1.clone();
            form.line2 = a.line2.clone().unwrap_or_default();
            form.city = a.city.clone();
            form.region = a.region.clone().unwrap_or_default();
            form.postal_code = a.postal_code.clone();
            form.country = a.country.as_str().to_owned();
            form.phone = a.phone.clone().unwrap_or_default();
        }
    }
    checkout_view(&state, &visitor, form, None).await
}

/// Places the order; on failure shows the form again with the reason.
pub(super) async fn checkout(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<CheckoutForm>,
) -> Result<Response, PageError> {
    shopper_cart(&visitor)?;
    if form.action == "quote" {
        return checkout_view(&state, &visitor, form, None).await;
    }
    let attempt = async {
        let key = IdempotencyKey::new(form.key.trim())?;
        let mut request = CheckoutRequest::new(
            key,
            form.email.trim().to_owned(),
            form.address()?,
            form.shipping_method.clone(),
            form.payment_method()?,
        );
        request = request.with_billing_address(form.address()?);
        let order = state
            .shop
            .checkout()
            .checkout(&visitor.actor(), &request)
            .await?;
        Ok::<_, PageError>(order)
    };
    match attempt.await {
        Ok(order) => Ok(see_other(&format!("/orders/{}?placed=1", order.id))),
        Err(e) => {
            let mut form = form;
            // A declined attempt is final for its key: a new attempt gets a new one.
            form.key = uuid::Uuid::now_v7().to_string();
            checkout_view(&state, &visitor, form, Some((e.status, e.message))).await
        }
    }
}

/// The steps of an order for its timeline, oldest first.
fn timeline(order: &Order, tracking: &OrderTracking) -> Vec<Value> {
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%b %e, %Y %H:%M UTC").to_string();
    let mut steps = vec![json!({
        "label": "Order placed",
        "when": when(order.created_at),
        "done": true,
    })];
    let paid = matches!(
        order.status,
        OrderStatus::Confirmed | OrderStatus::Completed
    );
    steps.push(json!({
        "label": format!("Payment {}", humanize(&name_of(&order.payment.status)).to_lowercase()),
        "when": Value::Null,
        "done": paid,
    }));
    if order.status == OrderStatus::Cancelled {
        steps.push(json!({ "label": "Cancelled", "when": when(order.updated_at), "done": true }));
        return steps;
    }
    for s in &tracking.shipments {
        let carrier = s
            .carrier_name
            .clone()
            .unwrap_or_else(|| "the carrier".into());
        let number = s.tracking_number.clone().unwrap_or_default();
        steps.push(json!({
            "label": format!("Shipped with {carrier}"),
            "detail": (!number.is_empty()).then(|| format!("Tracking number {number}")),
            "url": s.tracking_url,
            "when": when(s.shipped_at),
            "done": true,
        }));
        for e in &s.events {
            steps.push(json!({
                "label": e.description,
                "detail": e.location,
                "when": when(e.occurred_at),
                "done": true,
            }));
        }
        if let Some(d) = s.delivered_at {
            steps.push(json!({ "label": "Delivered", "when": when(d), "done": true }));
        }
    }
    if tracking.shipments.is_empty() {
        steps.push(json!({ "label": "Shipped", "when": Value::Null, "done": false }));
    }
    if tracking.shipments.iter().all(|s| s.delivered_at.is_none()) {
        steps.push(json!({ "label": "Delivered", "when": Value::Null, "done": false }));
    }
    steps
}

/// The view of an order for a page.
pub(super) fn order_view(order: &Order) -> Value {
    let tracking = OrderTracking::of(order);
    let a = &order.shipping_address;
    json!({
        "id": order.id.to_string(),
        "number": order.number.clone().unwrap_or_else(|| order.id.to_string()),
        "status": humanize(order.status.as_str()),
        "status_code": order.status.as_str(),
        "payment_status": humanize(&name_of(&order.payment.status)),
        "payment_method": order.payment.method.label,
        "fulfilment": humanize(&name_of(&order.fulfilment.status)),
        "email": order.email,
        "placed": order.created_at.format("%b %e, %Y").to_string(),
        "lines": order.lines.iter().map(|l| json!({
            "sku": l.sku.as_str(),
            "name": l.name,
            "quantity": l.quantity,
            "unit_price": money(l.unit_price),
            "total": money(l.total),
            "shipped": order.shipped_quantity(&l.sku),
        })).collect::<Vec<_>>(),
        "subtotal": money(order.totals.subtotal),
        "discount": (!order.totals.discount_total.is_zero()).then(|| money(order.totals.discount_total)),
        "shipping": money(order.totals.shipping_total),
        "tax": money(order.totals.tax_total),
        "total": money(order.totals.grand_total),
        "address": ([
            Some(a.name.clone()), Some(a.line1.clone()), a.line2.clone(),
            Some(format!("{} {} {}", a.city, a.region.clone().unwrap_or_default(), a.postal_code)),
            Some(a.country.as_str().to_owned()),
        ].into_iter().flatten().collect::<Vec<_>>()),
        "shipping_method": order.shipping.name,
        "timeline": timeline(order, &tracking),
        "cancellable": matches!(order.status, OrderStatus::PendingPayment | OrderStatus::Confirmed) && order.nothing_shipped(),
    })
}

/// An order: confirmation after checkout, then its tracking timeline.
pub(super) async fn order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id: OrderId = id.parse().map_err(|_| PageError::not_found("order"))?;
    let order = state.shop.checkout().order(&visitor.actor(), id).await?;
    page(
        &state,
        &visitor,
        "order.html",
        json!({
            "title": format!("Order {}", order.number.clone().unwrap_or_default()),
            "order": order_view(&order),
            "placed": q.contains_key("placed"),
        }),
    )
    .await
}

/// Cancels the visitor's order before it ships.
pub(super) async fn cancel(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id: OrderId = id.parse().map_err(|_| PageError::not_found("order"))?;
    state
        .shop
        .checkout()
        .cancel(&visitor.actor(), id, CancelReason::CustomerRequested)
        .await?;
    Ok(see_other(&format!("/orders/{id}")))
}
