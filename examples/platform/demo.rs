//! The demo catalog seeded into an empty store, from the synthetic catalog
//! generator (commerce-core feature `generator`): a three-level category tree, two
//! sellers, a few hundred products with their stock; the demo staff logins (an
//! admin, the staff of a seller); then a history of past orders placed through the
//! real checkout over the last four weeks (several customers, card, wallet and cash
//! on delivery, some cancelled, some partly refunded), so analytics and
//! recommendations have data from the first start.

use std::sync::Arc;

use commerce::Shop;
use commerce::cart::{CartKey, CartLimits};
use commerce::core::generator::CatalogGenerator;
use commerce::core::ports::{CatalogStore, ProductQuery};
use commerce::core::{
    Actor, Address, CountryCode, Customer, CustomerId, ManualClock, Money, Role, Seller, Sku,
};
use commerce::inventory::StockAdjustment;
use commerce::orders::simulated::test_cards;
use commerce::orders::{CancelReason, CheckoutRequest, IdempotencyKey, PaymentMethod};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Products in the demo catalog.
pub(crate) const PRODUCTS: u64 = 300;
/// Seed of the generator (the same demo on every start).
const SEED: u64 = 2026;

/// Whether the catalog holds no product yet.
pub(crate) async fn catalog_is_empty(catalog: &dyn CatalogStore) -> Result<bool> {
    let first = catalog.list_products(&ProductQuery::page(1)).await?;
    Ok(first.is_empty())
}

/// Seeds the demo catalog; returns the number of products and the sellers.
pub(crate) async fn seed(shop: &Shop) -> Result<(u64, Vec<Seller>)> {
    let generator = CatalogGenerator::new(SEED, 2);
    let catalog = shop.catalog();
    for seller in generator.sellers() {
        catalog.upsert_seller(seller).await?;
    }
    // Parents come before their children.
    for category in generator.categories() {
        catalog.upsert_category(category).await?;
    }
    let now = shop.clock().now();
    for generated in generator.products(0..PRODUCTS) {
        catalog.upsert_product(&generated.product).await?;
        for level in &generated.signals.stock {
            if level.available == 0 {
                continue;
            }
            shop.inventory()
                .adjust(
                    &StockAdjustment::received(
                        Sku::new(level.sku.as_str())?,
                        i64::try_from(level.available)?,
                    ),
                    now,
                )
                .await?;
        }
    }
    Ok((PRODUCTS, generator.sellers().to_vec()))
}

/// A demo staff login: what the example prints with its URL.
pub(crate) struct StaffLogin {
    /// `admin` or `seller <slug>`.
    pub(crate) label: String,
    /// The account's email.
    pub(crate) email: &'static str,
    /// Its password (the demo's, fixed so it holds across restarts on PostgreSQL).
    pub(crate) password: &'static str,
    /// A bearer token of a session opened with that login.
    pub(crate) token: String,
}

/// The demo admin and the staff of the first seller: created once (kept when they
/// exist already, as on a restart over PostgreSQL), each signed in for a week.
pub(crate) async fn staff(shop: &Shop) -> Result<Vec<StaffLogin>> {
    let mut out = Vec::new();
    let first_seller = shop.catalog().sellers().await?.into_iter().next();
    let mut wanted = vec![(
        "admin".to_owned(),
        "admin@example.com",
        "admin-demo-password",
        Role::Admin,
    )];
    if let Some(seller) = first_seller {
        wanted.push((
            format!("seller {}", seller.slug),
            "seller@example.com",
            "seller-demo-password",
            Role::Seller(seller.id),
        ));
    }
    let now = shop.clock().now();
    for (label, email, password, role) in wanted {
        if shop.customers().customer_by_email(email).await?.is_none() {
            shop.accounts()
                .create_staff(None, email, &label, password, role, now)
                .await?;
        }
        let session = shop
            .accounts()
            .sign_in(
                shop.sessions().as_ref(),
                email,
                password,
                chrono::Duration::days(7),
                now,
            )
            .await?;
        out.push(StaffLogin {
            label,
            email,
            password,
            token: session.token.as_str().to_owned(),
        });
    }
    Ok(out)
}

/// Demo reviewers (customers without a login).
const REVIEWERS: [(&str, &str); 4] = [
    ("ada@example.com", "Ada"),
    ("grace@example.com", "Grace"),
    ("linus@example.com", "Linus"),
    ("barbara@example.com", "Barbara"),
];

/// Titles of demo reviews by stars (index 0 for one star).
const TITLES: [&str; 5] = [
    "Disappointing",
    "Not for me",
    "Does the job",
    "Very good",
    "Excellent, would buy again",
];

/// The stars of the demo reviews in turn: mostly good, some poor, so that the rating
/// filter and its facet counts differ from one threshold to the next.
const STARS: [u8; 8] = [5, 4, 5, 3, 4, 2, 5, 1];

/// Seeds a few reviews on the first products of the demo catalog (deterministic:
/// the same reviews on every start), written through the review store so each
/// product's aggregate and its `catalog.rating_changed` event come with them. They
/// are unverified: the demo reviewers have no orders. Returns how many were written.
pub(crate) async fn seed_reviews(shop: &Shop) -> Result<u64> {
    use commerce::core::{Customer, CustomerId};
    use commerce::reviews::{Rating, Review, ReviewId, ReviewStatus};

    let mut reviewers = Vec::new();
    for (email, name) in REVIEWERS {
        let customer = match shop.customers().customer_by_email(email).await? {
            Some(c) => c,
            None => {
                let c = Customer {
                    id: CustomerId::new(),
                    email: email.to_owned(),
                    name: name.to_owned(),
                    created_at: shop.clock().now(),
                };
                shop.customers().create_customer(&c).await?;
                c
            }
        };
        reviewers.push(customer.id);
    }
    let products = shop
        .catalog()
        .list_products(&ProductQuery::page(40))
        .await?;
    let now = shop.clock().now();
    let mut written = 0;
    for (i, product) in products.iter().enumerate() {
        for (j, customer_id) in reviewers.iter().enumerate().take(1 + i % 4) {
            let stars = STARS[(3 * i + j) % STARS.len()];
            let rating = Rating::new(stars)?;
            let review = Review {
                id: ReviewId::new(),
                product_id: product.id,
                customer_id: *customer_id,
                sku: None,
                rating,
                title: TITLES[usize::from(stars - 1)].to_owned(),
                body: format!("{} after a few weeks of use.", product.title),
                verified: false,
                status: ReviewStatus::Published,
                moderation: None,
                helpful_count: 0,
                report_count: 0,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            match shop.review_store().create(&review, &[]).await {
                Ok(_) => written += 1,
                // Seeded by an earlier start against the same database.
                Err(commerce::reviews::Error::AlreadyReviewed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(written)
}

/// Orders in the demo history by default (`DEMO_ORDERS`).
pub(crate) const HISTORY_ORDERS: usize = 60;
/// Customers placing them (besides the demo customer).
const HISTORY_CUSTOMERS: usize = 6;
/// Days the history spreads over, ending now.
const HISTORY_DAYS: i64 = 28;

/// What the demo history placed.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) orders: usize,
    pub(crate) cancelled: usize,
    pub(crate) refunded: usize,
}

/// Places the demo order history through the real checkout: `shop`'s stores with a
/// clock set back in time for each order, so orders, their events and the rollups
/// built from them are dated over the last [`HISTORY_DAYS`] days. Deterministic
/// (the same products, buyers and payment methods on every start).
pub(crate) async fn seed_history(
    shop: &Shop,
    buyers_too: &[CustomerId],
    orders: usize,
) -> Result<History> {
    if orders == 0 {
        return Ok(History::default());
    }
    let clock = Arc::new(ManualClock::new(shop.clock().now()));
    // The same stores as `shop`, driven by a clock we move back in time.
    let past = Shop::builder(commerce::default_config())
        .catalog(shop.catalog().clone())
        .customers(shop.customers().clone())
        .outbox(shop.outbox().clone())
        .inventory(shop.inventory().clone())
        .carts(shop.carts().clone())
        .orders(shop.orders().clone())
        .payments(shop.payments().clone())
        .sessions(shop.sessions().clone())
        .login_limits(shop.login_limits().clone())
        .credentials(shop.credentials().clone())
        .clock(clock.clone())
        .build()?;
    let now = shop.clock().now();
    let start = now - chrono::Duration::days(HISTORY_DAYS);
    let mut buyers: Vec<CustomerId> = buyers_too.to_vec();
    for i in 0..HISTORY_CUSTOMERS {
        let customer = Customer {
            id: CustomerId::new(),
            email: format!("shopper{}@example.com", i + 1),
            name: format!("Demo Shopper {}", i + 1),
            created_at: start,
        };
        past.customers().create_customer(&customer).await?;
        buyers.push(customer.id);
    }
    // Products with stock to spare, in catalog order.
    let generator = CatalogGenerator::new(SEED, 2);
    let skus: Vec<Sku> = generator
        .products(0..PRODUCTS)
        .flat_map(|g| g.signals.stock)
        .filter(|l| l.available >= 20)
        .filter_map(|l| Sku::new(l.sku.as_str()).ok())
        .take(40)
        .collect();
    if skus.is_empty() || buyers.is_empty() {
        return Ok(History::default());
    }
    let step = chrono::Duration::days(HISTORY_DAYS) / i32::try_from(orders)?;
    let mut history = History::default();
    for n in 0..orders {
        let at =
            start + step * i32::try_from(n)? + chrono::Duration::minutes((n as i64 * 37) % 600);
        clock.set(at);
        let buyer = buyers[n % buyers.len()];
        let actor = Actor::customer(buyer);
        let cart = CartKey::Customer(buyer);
        past.carts().clear(&cart).await?;
        // Two or three lines; products bought together recur (recommendations).
        let lines = 2 + n % 2;
        for k in 0..lines {
            let sku = &skus[(n * 3 + k * 7) % skus.len()];
            let quantity = 1 + u32::try_from((n + k) % 3)?;
            past.carts()
                .add(&cart, sku, quantity, CartLimits::default(), at)
                .await?;
        }
        let payment = match n % 4 {
            0 | 1 => PaymentMethod::Card {
                number: test_cards::APPROVED.into(),
                expiry_month: 12,
                expiry_year: 2099,
                cvc: "123".into(),
            },
            2 => PaymentMethod::Wallet {
                provider: "apple_pay".into(),
                token: format!("tok_demo_{n}"),
            },
            _ => PaymentMethod::CashOnDelivery,
        };
        let to = Address::new(
            format!("Demo Shopper {}", n % buyers.len() + 1),
            "1 Main St",
            "Springfield",
            "62701",
            CountryCode::new("US")?,
        );
        let method = if n % 3 == 0 { "pickup" } else { "standard" };
        let key = IdempotencyKey::new(format!("demo-history-{n}"))?;
        let request =
            CheckoutRequest::new(key, format!("shopper{n}@example.com"), to, method, payment);
        let order = past.checkout().checkout(&actor, &request).await?;
        history.orders += 1;
        if n % 9 == 4 {
            clock.set(at + chrono::Duration::hours(2));
            past.checkout()
                .cancel(&actor, order.id, CancelReason::CustomerRequested)
                .await?;
            history.cancelled += 1;
        } else if n % 11 == 7 && n % 4 != 3 {
            // Part of a paid order refunded by staff a few days later.
            clock.set(at + chrono::Duration::days(2));
            let part = Money::from_minor(500, order.totals.grand_total.currency());
            past.checkout()
                .refund(
                    &Actor::Admin,
                    order.id,
                    part,
                    IdempotencyKey::new(format!("demo-refund-{n}"))?,
                    "demo: damaged in transit",
                )
                .await?;
            history.refunded += 1;
        }
    }
    Ok(history)
}
