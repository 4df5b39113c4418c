//! The demo catalog seeded into an empty store, from the synthetic catalog
//! generator (commerce-core feature `generator`): a three-level category tree, two
//! sellers, a few hundred products with their stock.

use commerce::Shop;
use commerce::core::generator::CatalogGenerator;
use commerce::core::ports::{CatalogStore, ProductQuery};
use commerce::core::{Seller, Sku};
use commerce::inventory::{AdjustmentReason, LocationCode, StockAdjustment};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Products in the demo catalog.
pub(crate) const PRODUCTS: u64 = 300;
/// Seed of the generator (the same demo on every start).
const SEED: u64 = 2026;

/// Whether the catalog holds no product yet.
pub(crate) async fn catalog_is_empty(catalog: &dyn CatalogStore) -> Result<bool> {
    let first = catalog
        .list_products(&ProductQuery {
            limit: 1,
            ..ProductQuery::default()
        })
        .await?;
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
                    &StockAdjustment {
                        sku: Sku::new(level.sku.as_str())?,
                        location: LocationCode::default_location(),
                        delta: i64::try_from(level.available)?,
                        reason: AdjustmentReason::Received,
                        note: None,
                    },
                    now,
                )
                .await?;
        }
    }
    Ok((PRODUCTS, generator.sellers().to_vec()))
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
        .list_products(&ProductQuery {
            limit: 40,
            ..ProductQuery::default()
        })
        .await?;
    let now = shop.clock().now();
    let mut written = 0;
    for (i, product) in products.iter().enumerate() {
        for (j, customer_id) in reviewers.iter().enumerate().take(1 + i % 4) {
            let stars = u8::try_from(5 - (i + 2 * j) % 5 / 2)?;
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
