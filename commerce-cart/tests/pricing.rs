//! Pricing a cart against the in-memory catalog.

// Helpers outside `#[test]` functions unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Utc;

use commerce_cart::{
    Cart, CartKey, CartLimits, CartStore, Error, MemoryCartStore, PricingContext, price_cart,
};
use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::CatalogStore;
use commerce_core::testkit::fixtures;
use commerce_core::{Currency, CustomerId, ProductStatus};

async fn cart_of(store: &MemoryCartStore, lines: &[(&str, u32)]) -> Cart {
    let key = CartKey::Customer(CustomerId::new());
    for (sku, quantity) in lines {
        store
            .add(
                &key,
                &fixtures::sku(sku),
                *quantity,
                CartLimits::default(),
                Utc::now(),
            )
            .await
            .unwrap();
    }
    store.cart(&key).await.unwrap().unwrap()
}

fn catalog() -> MemoryCatalog {
    MemoryCatalog::new(Arc::new(MemoryOutbox::new()))
}

#[tokio::test]
async fn prices_lines_with_catalog_prices_and_names() {
    let catalog = catalog();
    let mut shirt = fixtures::product_with_variants(
        "shirt",
        &[
            ("SHIRT-M", fixtures::usd("20.00")),
            ("SHIRT-L", fixtures::usd("22.50")),
        ],
    );
    shirt.title = "Shirt".to_owned();
    shirt.variants[0].name = "M".to_owned();
    shirt.variants[1].name = String::new();
    catalog.upsert_product(&shirt).await.unwrap();
    let cart = cart_of(&MemoryCartStore::new(), &[("SHIRT-M", 2), ("SHIRT-L", 1)]).await;

    let tax = fixtures::us_tax_table();
    let priced = price_cart(&cart, &catalog, &PricingContext::new(Currency::USD, &tax))
        .await
        .unwrap();

    let lines: Vec<_> = priced
        .breakdown
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.name.as_str(), l.quantity, l.subtotal))
        .collect();
    assert_eq!(
        lines,
        [
            ("SHIRT-L", "Shirt", 1, fixtures::usd("22.50")),
            ("SHIRT-M", "Shirt - M", 2, fixtures::usd("40.00")),
        ]
    );
    assert_eq!(priced.breakdown.subtotal, fixtures::usd("62.50"));
}

#[tokio::test]
async fn unknown_and_inactive_skus_are_rejected_by_name() {
    let catalog = catalog();
    catalog
        .upsert_product(&fixtures::product("LIVE", fixtures::usd("1.00")))
        .await
        .unwrap();
    let mut draft = fixtures::product("DRAFT", fixtures::usd("1.00"));
    draft.status = ProductStatus::Draft;
    catalog.upsert_product(&draft).await.unwrap();
    let store = MemoryCartStore::new();
    let tax = fixtures::us_tax_table();
    let context = PricingContext::new(Currency::USD, &tax);

    let cart = cart_of(&store, &[("LIVE", 1), ("GONE", 1)]).await;
    match price_cart(&cart, &catalog, &context).await {
        Err(Error::UnknownSku { sku }) => assert_eq!(sku, fixtures::sku("GONE")),
        other => panic!("expected UnknownSku, got {other:?}"),
    }
    let cart = cart_of(&store, &[("LIVE", 1), ("DRAFT", 1)]).await;
    match price_cart(&cart, &catalog, &context).await {
        Err(Error::NotPurchasable { sku, status }) => {
            assert_eq!(sku, fixtures::sku("DRAFT"));
            assert_eq!(status, ProductStatus::Draft);
        }
        other => panic!("expected NotPurchasable, got {other:?}"),
    }
}

#[tokio::test]
async fn prices_in_another_currency_are_a_pricing_error() {
    let catalog = catalog();
    catalog
        .upsert_product(&fixtures::product("EURO", fixtures::eur("5.00")))
        .await
        .unwrap();
    let cart = cart_of(&MemoryCartStore::new(), &[("EURO", 1)]).await;
    let tax = fixtures::us_tax_table();
    let err = price_cart(&cart, &catalog, &PricingContext::new(Currency::USD, &tax))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Pricing(commerce_core::Error::CurrencyMismatch { .. })
        ),
        "got {err:?}"
    );
}
