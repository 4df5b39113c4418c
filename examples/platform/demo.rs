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
