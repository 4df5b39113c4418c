//! Shared by the `http_*` tests: a shop with a small catalog, the Router over it,
//! and a helper that sends one request through `tower::ServiceExt::oneshot`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use commerce::Shop;
use commerce::core::{
    Currency, Customer, CustomerId, Money, Product, ProductStatus, Role, Seller, SellerId, Sku,
    Variant,
};
use commerce::inventory::{LocationCode, StockAdjustment};
use commerce::orders::SimulatedGateway;
use commerce_http::{AppState, HttpConfig};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A test shop and its router.
pub struct App {
    pub router: Router,
    pub shop: Shop,
    pub gateway: Arc<SimulatedGateway>,
}

/// A response: status, JSON body (Null when empty), headers.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    /// The `code` of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// Who sends a request.
#[derive(Clone, Default)]
pub struct As {
    pub bearer: Option<String>,
    pub cart_token: Option<String>,
    pub idempotency_key: Option<String>,
}

impl As {
    pub fn anonymous() -> Self {
        As::default()
    }
    pub fn guest(token: &str) -> Self {
        As {
            cart_token: Some(token.to_owned()),
            ..As::default()
        }
    }
    /// A signed-in account of any role (customer, seller staff, admin).
    pub fn signed_in(bearer: &str) -> Self {
        As::customer(bearer)
    }
    pub fn customer(bearer: &str) -> Self {
        As {
            bearer: Some(bearer.to_owned()),
            ..As::default()
        }
    }
    pub fn key(mut self, key: &str) -> Self {
        self.idempotency_key = Some(key.to_owned());
        self
    }
    pub fn with_cart(mut self, token: &str) -> Self {
        self.cart_token = Some(token.to_owned());
        self
    }
}

impl App {
    /// The router over `shop` with the default HTTP configuration (CDN `/static`).
    pub fn over(shop: Shop, gateway: Arc<SimulatedGateway>) -> App {
        let state = AppState::new(
            shop.clone(),
            HttpConfig::default().with_body_limit(16 * 1024),
        );
        App {
            router: commerce_http::router(state),
            shop,
            gateway,
        }
    }

    /// An in-memory shop (the embedded default) with the simulated gateway.
    pub fn in_memory() -> App {
        let gateway = Arc::new(SimulatedGateway::new());
        let shop = Shop::builder(commerce::default_config())
            .payments(gateway.clone())
            .with_memory_defaults()
            .build()
            .unwrap();
        App::over(shop, gateway)
    }

    /// Sends a raw request.
    pub async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    /// Sends `method path` as `who` with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, who: &As, body: Option<Value>) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(b) = &who.bearer {
            request = request.header("authorization", format!("Bearer {b}"));
        }
        if let Some(t) = &who.cart_token {
            request = request.header("x-cart-token", t);
        }
        if let Some(k) = &who.idempotency_key {
            request = request.header("idempotency-key", k);
        }
        let request = match body {
            Some(b) => request
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        self.raw(request).await
    }

    pub async fn get(&self, path: &str, who: &As) -> Reply {
        self.call(Method::GET, path, who, None).await
    }

    pub async fn post(&self, path: &str, who: &As, body: Value) -> Reply {
        self.call(Method::POST, path, who, Some(body)).await
    }

    /// A new guest cart token from the API.
    pub async fn new_cart(&self) -> String {
        let reply = self
            .call(Method::POST, "/v1/cart", &As::anonymous(), None)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert!(
            reply.headers["set-cookie"]
                .to_str()
                .unwrap()
                .contains("HttpOnly; SameSite=Lax")
        );
        reply.body["cart_token"].as_str().unwrap().to_owned()
    }

    /// A customer with a live session; returns the id and the bearer token.
    /// (Registration and login routes come with the accounts port.)
    pub async fn customer(&self, email: &str) -> (CustomerId, String) {
        let customer = Customer {
            id: CustomerId::new(),
            email: email.to_owned(),
            name: "Test Customer".to_owned(),
            created_at: self.shop.clock().now(),
        };
        self.shop
            .customers()
            .create_customer(&customer)
            .await
            .unwrap();
        let session = self
            .shop
            .sessions()
            .create(
                customer.id,
                chrono::Duration::hours(1),
                self.shop.clock().now(),
            )
            .await
            .unwrap();
        (customer.id, session.token.as_str().to_owned())
    }

    /// A staff account with `role` (a seller's staff or an admin) signed in through
    /// the accounts service; returns the account id and the bearer token.
    pub async fn staff(&self, email: &str, role: Role) -> (CustomerId, String) {
        let now = self.shop.clock().now();
        let account = self
            .shop
            .accounts()
            .create_staff(None, email, "Test Staff", "staff password", role, now)
            .await
            .unwrap();
        let session = self
            .shop
            .accounts()
            .sign_in(
                self.shop.sessions().as_ref(),
                email,
                "staff password",
                chrono::Duration::hours(1),
                now,
            )
            .await
            .unwrap();
        (account.id, session.token.as_str().to_owned())
    }

    /// Units available of `sku` at the default location.
    pub async fn available(&self, sku: &str) -> u64 {
        let level = self
            .shop
            .inventory()
            .stock(&Sku::new(sku).unwrap(), &LocationCode::default_location())
            .await
            .unwrap()
            .unwrap();
        level.on_hand - level.reserved
    }

    /// Seeds a seller, a mug (`MUG-<tag>`, 12.50, 10 in stock) and a two-size tee
    /// (`TEE-<tag>-S` 3 in stock, `TEE-<tag>-M` none); returns the mug and tee slugs.
    pub async fn seed(&self, tag: &str) -> (String, String) {
        let catalog = self.shop.catalog();
        let seller = Seller::new(
            SellerId::new(),
            "Test Seller",
            format!("seller-{tag}"),
            "s@example.com",
        );
        catalog.upsert_seller(&seller).await.unwrap();
        let usd = |minor| Money::from_minor(minor, Currency::USD);
        let mug_slug = format!("mug-{tag}");
        let mug = Product::builder(seller.id, "Mug", mug_slug.clone())
            .status(ProductStatus::Active)
            .brand("Acme")
            .tag("kitchen")
            .image("products/mug.jpg", "A mug")
            .variant(
                Variant::builder(Sku::new(format!("MUG-{tag}")).unwrap(), usd(1250))
                    .weight_grams(300),
            )
            .build()
            .unwrap();
        catalog.upsert_product(&mug).await.unwrap();
        let tee_slug = format!("tee-{tag}");
        let tee = Product::builder(seller.id, "Tee", tee_slug.clone())
            .status(ProductStatus::Active)
            .option("size", ["S", "M"])
            .variant(
                Variant::builder(Sku::new(format!("TEE-{tag}-S")).unwrap(), usd(1999))
                    .option("size", "S"),
            )
            .variant(
                Variant::builder(Sku::new(format!("TEE-{tag}-M")).unwrap(), usd(1999))
                    .option("size", "M"),
            )
            .build()
            .unwrap();
        catalog.upsert_product(&tee).await.unwrap();
        for (sku, units) in [(format!("MUG-{tag}"), 10), (format!("TEE-{tag}-S"), 3)] {
            self.shop
                .inventory()
                .adjust(
                    &StockAdjustment::received(Sku::new(sku).unwrap(), units),
                    self.shop.clock().now(),
                )
                .await
                .unwrap();
        }
        (mug_slug, tee_slug)
    }
}

/// A US shipping address.
pub fn address() -> Value {
    serde_json::json!({
        "name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield",
        "region": "CA", "postal_code": "90001", "country": "US"
    })
}

/// A checkout body paying with `payment`.
pub fn checkout_body(payment: Value) -> Value {
    serde_json::json!({
        "email": "ada@example.com",
        "shipping_address": address(),
        "shipping_method": "standard",
        "payment_method": payment,
    })
}

/// A card payment with `number`.
pub fn card(number: &str) -> Value {
    serde_json::json!({"type": "card", "number": number, "expiry_month": 12, "expiry_year": 2030, "cvc": "123"})
}
