//! Conformance checks for [`CatalogStore`] implementations.
//!
//! Run them all for a backend with [`crate::catalog_store_conformance!`]. The checks
//! panic (they are assertions) and expect a fresh, empty store whose events go to
//! `outbox`.
#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use futures::future::join_all;

use crate::catalog::{Category, OptionValue, ProductImage, ProductStatus};
use crate::error::Error;
use crate::event::{CatalogEvent, CategoryEvent, EventEnvelope};
use crate::id::{CategoryId, ProductId, SellerId};
use crate::money::Currency;
use crate::ports::{CatalogStore, Outbox, ProductQuery};
use crate::testkit::fixtures::{
    category, described_product, eur, product, product_with_variants, seller, sku, usd, variant,
};
use crate::testkit::support::drain;

/// What every catalog check gets: a fresh, empty catalog and the outbox its events
/// are written to.
#[derive(Clone)]
pub struct CatalogFixture {
    /// The store under test.
    pub store: Arc<dyn CatalogStore>,
    /// Where the store writes its catalog events.
    pub outbox: Arc<dyn Outbox>,
}

/// Every catalog event in the outbox not yet seen by the checks' consumer group.
async fn catalog_events(fx: &CatalogFixture) -> Vec<CatalogEvent> {
    let events: Vec<EventEnvelope> = drain(fx.outbox.as_ref(), "conformance")
        .await
        .expect("drain outbox");
    events
        .into_iter()
        .filter(|e| e.topic.starts_with("catalog.") && e.aggregate_type == "product")
        .map(|e| serde_json::from_value(e.payload).expect("catalog event payload"))
        .collect()
}

fn page(limit: u32) -> ProductQuery {
    ProductQuery::page(limit)
}

/// A product reads back equal by id and by slug; unknown ids and slugs give `None`.
pub async fn upsert_then_read_by_id_and_slug(fx: CatalogFixture) {
    let p = product_with_variants("tee", &[("TEE-S", usd("19.99")), ("TEE-M", usd("21.00"))]);
    fx.store.upsert_product(&p).await.expect("upsert");
    assert_eq!(fx.store.product(p.id).await.expect("read"), Some(p.clone()));
    assert_eq!(
        fx.store.product_by_slug("tee").await.expect("read"),
        Some(p.clone())
    );
    assert_eq!(
        fx.store.product(ProductId::new()).await.expect("read"),
        None
    );
    assert_eq!(fx.store.product_by_slug("nope").await.expect("read"), None);
}

/// Upserting again replaces the product: removed SKUs and the old slug are free.
pub async fn upsert_replaces_variants_and_slug(fx: CatalogFixture) {
    let mut p = product_with_variants("mug", &[("MUG-1", usd("9.00")), ("MUG-2", usd("9.00"))]);
    fx.store.upsert_product(&p).await.expect("upsert");
    p.slug = "big-mug".into();
    p.title = "Big mug".into();
    p.variants = vec![variant(p.id, "MUG-3", usd("12.00"))];
    fx.store.upsert_product(&p).await.expect("replace");
    assert_eq!(fx.store.product(p.id).await.expect("read"), Some(p.clone()));
    assert_eq!(fx.store.product_by_slug("mug").await.expect("read"), None);
    let listings = fx
        .store
        .listings(&[sku("MUG-1"), sku("MUG-3")])
        .await
        .expect("listings");
    assert_eq!(listings.len(), 1);
    assert_eq!(listings[0].variant.sku, sku("MUG-3"));
    assert_eq!(listings[0].product_title, "Big mug");
    // The freed SKU and slug can go to another product.
    let other = product_with_variants("mug", &[("MUG-1", usd("5.00"))]);
    fx.store
        .upsert_product(&other)
        .await
        .expect("freed sku and slug are reusable");
}

/// A malformed product is a `Validation` error and is not stored.
pub async fn malformed_product_is_rejected(fx: CatalogFixture) {
    let mut p = product("EMPTY", usd("1.00"));
    p.variants.clear();
    let err = fx.store.upsert_product(&p).await.expect_err("no variants");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let mut p = product("BAD-SLUG", usd("1.00"));
    p.slug = "Not A Slug".into();
    let err = fx.store.upsert_product(&p).await.expect_err("bad slug");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert_eq!(fx.store.product(p.id).await.expect("read"), None);
}

/// A slug that belongs to another product is a `Conflict`.
pub async fn slug_of_another_product_is_a_conflict(fx: CatalogFixture) {
    let a = product_with_variants("lamp", &[("LAMP-A", usd("30.00"))]);
    let b = product_with_variants("lamp", &[("LAMP-B", usd("30.00"))]);
    fx.store.upsert_product(&a).await.expect("upsert");
    let err = fx.store.upsert_product(&b).await.expect_err("slug taken");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(fx.store.product(b.id).await.expect("read"), None);
    assert!(
        fx.store
            .listings(&[sku("LAMP-B")])
            .await
            .expect("listings")
            .is_empty(),
        "a rejected upsert leaves nothing behind"
    );
}

/// A SKU that belongs to another product is a `Conflict`.
pub async fn sku_of_another_product_is_a_conflict(fx: CatalogFixture) {
    let a = product_with_variants("desk", &[("DESK-1", usd("100.00"))]);
    let b = product_with_variants(
        "table",
        &[("TABLE-1", usd("80.00")), ("DESK-1", usd("90.00"))],
    );
    fx.store.upsert_product(&a).await.expect("upsert");
    let err = fx.store.upsert_product(&b).await.expect_err("sku taken");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(fx.store.product(b.id).await.expect("read"), None);
    let listing = fx.store.listings(&[sku("DESK-1")]).await.expect("listings");
    assert_eq!(listing[0].variant.product_id, a.id);
}

/// Listing pages by id with a keyset cursor: pages are ordered, disjoint and cover
/// every product.
pub async fn list_products_pages_by_id(fx: CatalogFixture) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let p = product(&format!("PAGE-{i}"), usd("1.00"));
        fx.store.upsert_product(&p).await.expect("upsert");
        ids.push(p.id);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut query = page(3);
    loop {
        let batch = fx.store.list_products(&query).await.expect("list");
        assert!(batch.len() <= 3);
        if batch.is_empty() {
            break;
        }
        query.after = batch.last().map(|p| p.id);
        seen.extend(batch.iter().map(|p| p.id));
    }
    assert_eq!(seen, ids);
}

/// Listing filters by status, seller and category (combined with `and`).
pub async fn list_products_filters(fx: CatalogFixture) {
    let shoes = category("shoes", None);
    fx.store.upsert_category(&shoes).await.expect("category");
    let seller = SellerId::new();
    let mut a = product("FILTER-A", usd("1.00"));
    a.seller_id = seller;
    a.category_ids = vec![shoes.id];
    let mut b = product("FILTER-B", usd("1.00"));
    b.seller_id = seller;
    b.status = ProductStatus::Draft;
    let mut c = product("FILTER-C", usd("1.00"));
    c.category_ids = vec![shoes.id];
    c.status = ProductStatus::Archived;
    for p in [&a, &b, &c] {
        fx.store.upsert_product(p).await.expect("upsert");
    }
    let ids = |v: Vec<crate::catalog::Product>| {
        let mut ids: Vec<ProductId> = v.into_iter().map(|p| p.id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<ProductId>| {
        v.sort();
        v
    };
    let by_seller = page(50).with_seller(seller);
    assert_eq!(
        ids(fx.store.list_products(&by_seller).await.expect("list")),
        sorted(vec![a.id, b.id])
    );
    let by_category = page(50).with_category(shoes.id);
    assert_eq!(
        ids(fx.store.list_products(&by_category).await.expect("list")),
        sorted(vec![a.id, c.id])
    );
    let active_shoes = by_category.clone().with_status(ProductStatus::Active);
    assert_eq!(
        ids(fx.store.list_products(&active_shoes).await.expect("list")),
        vec![a.id]
    );
    let drafts_of_seller = by_seller.clone().with_status(ProductStatus::Draft);
    assert_eq!(
        ids(fx
            .store
            .list_products(&drafts_of_seller)
            .await
            .expect("list")),
        vec![b.id]
    );
}

/// A page size of 0 is a `Validation` error; larger pages are capped at 500.
pub async fn list_products_limit_is_checked(fx: CatalogFixture) {
    let err = fx.store.list_products(&page(0)).await.expect_err("limit 0");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    fx.store
        .upsert_product(&product("CAP", usd("1.00")))
        .await
        .expect("upsert");
    let all = fx.store.list_products(&page(u32::MAX)).await.expect("list");
    assert_eq!(all.len(), 1);
}

/// The batch read leaves unknown SKUs out, returns duplicates once and carries the
/// product's title, status and seller.
pub async fn listings_skip_unknown_and_duplicate_skus(fx: CatalogFixture) {
    let p = product_with_variants("sock", &[("SOCK-1", usd("3.00")), ("SOCK-2", usd("4.00"))]);
    fx.store.upsert_product(&p).await.expect("upsert");
    let listings = fx
        .store
        .listings(&[sku("SOCK-2"), sku("GHOST"), sku("SOCK-1"), sku("SOCK-2")])
        .await
        .expect("listings");
    let mut skus: Vec<_> = listings.iter().map(|l| l.variant.sku.clone()).collect();
    skus.sort();
    assert_eq!(skus, vec![sku("SOCK-1"), sku("SOCK-2")]);
    for l in &listings {
        assert_eq!(l.product_title, p.title);
        assert_eq!(l.status, p.status);
        assert_eq!(l.seller_id, p.seller_id);
        let v = p
            .variants
            .iter()
            .find(|v| v.sku == l.variant.sku)
            .expect("variant");
        assert_eq!(&l.variant, v);
    }
    assert!(fx.store.listings(&[]).await.expect("listings").is_empty());
}

/// The batch read by id returns the products asked for in the order asked, with
/// their variants, leaving unknown ids out and duplicates once; an empty batch reads
/// nothing and more than 500 ids is a `Validation` error.
pub async fn products_by_ids_keep_order_and_skip_unknown(fx: CatalogFixture) {
    let a = product_with_variants(
        "alpha",
        &[("ALPHA-1", usd("3.00")), ("ALPHA-2", usd("4.00"))],
    );
    let b = product_with_variants("beta", &[("BETA-1", usd("5.00"))]);
    let c = product_with_variants("gamma", &[("GAMMA-1", usd("6.00"))]);
    for p in [&a, &b, &c] {
        fx.store.upsert_product(p).await.expect("upsert");
    }
    let ghost = ProductId::new();
    let found = fx
        .store
        .products(&[c.id, ghost, a.id, c.id])
        .await
        .expect("products");
    assert_eq!(found, vec![c.clone(), a.clone()]);
    assert!(fx.store.products(&[]).await.expect("empty").is_empty());
    let too_many = vec![ghost; crate::ports::MAX_BATCH_IDS + 1];
    assert!(matches!(
        fx.store.products(&too_many).await,
        Err(Error::Validation { .. })
    ));
}

/// Upserts emit `ProductUpserted`, and `PriceChanged` for each variant whose price
/// changed (not for unchanged ones).
pub async fn upsert_emits_catalog_events(fx: CatalogFixture) {
    let mut p = product_with_variants("cap", &[("CAP-1", usd("10.00")), ("CAP-2", usd("10.00"))]);
    fx.store.upsert_product(&p).await.expect("upsert");
    assert_eq!(
        catalog_events(&fx).await,
        vec![CatalogEvent::ProductUpserted { product_id: p.id }]
    );
    p.variants[1].price = usd("12.50");
    fx.store.upsert_product(&p).await.expect("upsert");
    let events = catalog_events(&fx).await;
    assert!(events.contains(&CatalogEvent::ProductUpserted { product_id: p.id }));
    let price_changes: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, CatalogEvent::PriceChanged { .. }))
        .collect();
    assert_eq!(
        price_changes,
        vec![&CatalogEvent::PriceChanged {
            product_id: p.id,
            sku: sku("CAP-2"),
            price: usd("12.50"),
        }]
    );
}

/// `set_price` changes the listing and writes `PriceChanged` to the outbox.
pub async fn set_price_changes_price_and_emits_event(fx: CatalogFixture) {
    let p = product("HAT", usd("15.00"));
    fx.store.upsert_product(&p).await.expect("upsert");
    catalog_events(&fx).await;
    fx.store
        .set_price(&sku("HAT"), usd("13.99"))
        .await
        .expect("set price");
    let listing = fx.store.listings(&[sku("HAT")]).await.expect("listings");
    assert_eq!(listing[0].variant.price, usd("13.99"));
    let stored = fx
        .store
        .product(p.id)
        .await
        .expect("read")
        .expect("product");
    assert_eq!(stored.variants[0].price, usd("13.99"));
    assert_eq!(
        catalog_events(&fx).await,
        vec![CatalogEvent::PriceChanged {
            product_id: p.id,
            sku: sku("HAT"),
            price: usd("13.99"),
        }]
    );
}

/// `set_price` on an unknown SKU is `NotFound`; in another currency it is
/// `CurrencyMismatch`; a negative or sub-minor-unit price is `InvalidAmount`. None
/// of them changes anything or emits an event.
pub async fn set_price_rejects_bad_input(fx: CatalogFixture) {
    let p = product("SCARF", usd("20.00"));
    fx.store.upsert_product(&p).await.expect("upsert");
    catalog_events(&fx).await;
    let err = fx
        .store
        .set_price(&sku("NOPE"), usd("1.00"))
        .await
        .expect_err("unknown sku");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = fx
        .store
        .set_price(&sku("SCARF"), eur("20.00"))
        .await
        .expect_err("other currency");
    assert!(
        matches!(err, Error::CurrencyMismatch { expected, found } if expected == Currency::USD && found == Currency::EUR),
        "{err:?}"
    );
    let err = fx
        .store
        .set_price(&sku("SCARF"), usd("-1.00"))
        .await
        .expect_err("negative");
    assert!(matches!(err, Error::InvalidAmount(_)), "{err:?}");
    let listing = fx.store.listings(&[sku("SCARF")]).await.expect("listings");
    assert_eq!(listing[0].variant.price, usd("20.00"));
    assert!(catalog_events(&fx).await.is_empty());
}

/// Categories read back; a slug taken by another category is a `Conflict`; an
/// unknown parent is `NotFound`.
pub async fn categories_round_trip_and_check_slug_and_parent(fx: CatalogFixture) {
    let root = category("clothing", None);
    let child = category("shirts", Some(root.id));
    fx.store.upsert_category(&root).await.expect("root");
    fx.store.upsert_category(&child).await.expect("child");
    let mut all = fx.store.categories().await.expect("categories");
    all.sort_by_key(|c| c.id);
    let mut want = vec![root.clone(), child.clone()];
    want.sort_by_key(|c| c.id);
    assert_eq!(all, want);
    let dup = category("shirts", None);
    let err = fx
        .store
        .upsert_category(&dup)
        .await
        .expect_err("slug taken");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let orphan = category("orphans", Some(CategoryId::new()));
    let err = fx
        .store
        .upsert_category(&orphan)
        .await
        .expect_err("unknown parent");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let renamed = Category {
        name: "Shirts & tops".into(),
        ..child.clone()
    };
    fx.store.upsert_category(&renamed).await.expect("rename");
    assert!(
        fx.store
            .categories()
            .await
            .expect("categories")
            .contains(&renamed)
    );
}

/// A parent that would make a category its own ancestor is a `CategoryCycle`, directly or
/// through a longer chain; the tree is unchanged.
pub async fn category_parent_cycle_is_rejected(fx: CatalogFixture) {
    let a = category("a", None);
    let b = category("b", Some(a.id));
    let c = category("c", Some(b.id));
    for cat in [&a, &b, &c] {
        fx.store.upsert_category(cat).await.expect("category");
    }
    let self_parent = Category {
        parent_id: Some(a.id),
        ..a.clone()
    };
    let err = fx
        .store
        .upsert_category(&self_parent)
        .await
        .expect_err("self");
    assert!(matches!(err, Error::CategoryCycle { .. }), "{err:?}");
    let cycle = Category {
        parent_id: Some(c.id),
        ..a.clone()
    };
    let err = fx.store.upsert_category(&cycle).await.expect_err("cycle");
    assert!(matches!(err, Error::CategoryCycle { .. }), "{err:?}");
    let stored = fx.store.categories().await.expect("categories");
    assert!(stored.contains(&a), "a is still a root");
}

/// Every category write (create, rename, move) puts `CategoryUpserted` on the outbox
/// with the parent before and after a move; a refused write (a cycle) puts nothing.
pub async fn category_writes_emit_events(fx: CatalogFixture) {
    let a = category("outer", None);
    let b = category("inner", Some(a.id));
    fx.store.upsert_category(&a).await.expect("a");
    fx.store.upsert_category(&b).await.expect("b");
    let renamed = Category {
        name: "Inner renamed".into(),
        ..b.clone()
    };
    fx.store.upsert_category(&renamed).await.expect("rename");
    let moved = Category {
        parent_id: None,
        ..renamed.clone()
    };
    fx.store.upsert_category(&moved).await.expect("move");
    let cycle = Category {
        parent_id: Some(a.id),
        ..a.clone()
    };
    fx.store
        .upsert_category(&cycle)
        .await
        .expect_err("a cycle is refused");
    let events: Vec<CategoryEvent> = drain(fx.outbox.as_ref(), "conformance")
        .await
        .expect("drain outbox")
        .into_iter()
        .filter(|e| e.topic == "catalog.category_upserted")
        .map(|e| {
            assert_eq!(e.aggregate_type, "category");
            serde_json::from_value(e.payload).expect("category event payload")
        })
        .collect();
    let upserted = |c: &Category, previous: Option<CategoryId>| CategoryEvent::CategoryUpserted {
        category_id: c.id,
        parent_id: c.parent_id,
        previous_parent_id: previous,
    };
    assert_eq!(
        events,
        vec![
            upserted(&a, None),
            upserted(&b, None),
            upserted(&renamed, None),
            upserted(&moved, Some(a.id)),
        ]
    );
}

/// 200 products upserted at once all land, each with its event.
pub async fn concurrent_upserts_all_land(fx: CatalogFixture) {
    let products: Vec<_> = (0..200)
        .map(|i| product(&format!("BULK-{i}"), usd("1.00")))
        .collect();
    let results = join_all(products.iter().map(|p| {
        let store = Arc::clone(&fx.store);
        async move { store.upsert_product(p).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let skus: Vec<_> = products.iter().map(|p| p.variants[0].sku.clone()).collect();
    assert_eq!(fx.store.listings(&skus).await.expect("listings").len(), 200);
    let upserted = catalog_events(&fx)
        .await
        .into_iter()
        .filter(|e| matches!(e, CatalogEvent::ProductUpserted { .. }))
        .count();
    assert_eq!(upserted, 200);
}

/// 50 different products racing for one slug: exactly one wins, the others get
/// `Conflict`, and only the winner's event is written.
pub async fn concurrent_slug_race_has_one_winner(fx: CatalogFixture) {
    let contenders: Vec<_> = (0..50)
        .map(|i| product_with_variants("contested", &[(&format!("RACE-{i}"), usd("1.00"))]))
        .collect();
    let results = join_all(contenders.iter().map(|p| {
        let store = Arc::clone(&fx.store);
        async move { store.upsert_product(p).await }
    }))
    .await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Conflict(_)))),
        "{results:?}"
    );
    let winner = fx
        .store
        .product_by_slug("contested")
        .await
        .expect("read")
        .expect("winner");
    assert_eq!(
        catalog_events(&fx).await,
        vec![CatalogEvent::ProductUpserted {
            product_id: winner.id
        }]
    );
}

/// Brand, tags, images (with their positions and stored order), options and
/// variant option values read back exactly, by id, by slug, in lists and in
/// listings.
pub async fn descriptors_round_trip(fx: CatalogFixture) {
    let p = described_product("described");
    fx.store.upsert_product(&p).await.expect("upsert");
    assert_eq!(fx.store.product(p.id).await.expect("read"), Some(p.clone()));
    assert_eq!(
        fx.store.product_by_slug("described").await.expect("read"),
        Some(p.clone())
    );
    assert_eq!(
        fx.store.list_products(&page(10)).await.expect("list"),
        vec![p.clone()]
    );
    let listings = fx
        .store
        .listings(&[p.variants[1].sku.clone()])
        .await
        .expect("listings");
    assert_eq!(listings[0].variant.option("size"), Some("M"));
    let first = p.images_in_order()[0].clone();
    assert_eq!(first.url, "https://img.example.com/front.jpg");
    // Changing descriptors replaces them.
    let mut changed = p.clone();
    changed.brand = None;
    changed.tags = vec!["winter".into()];
    changed.images = vec![ProductImage::new("products/only.jpg", "", 0)];
    fx.store.upsert_product(&changed).await.expect("upsert");
    assert_eq!(fx.store.product(p.id).await.expect("read"), Some(changed));
}

/// Malformed descriptors are `Validation` errors and write nothing: duplicate
/// tags, an empty brand, an image URL with white space or another scheme, an
/// option value outside the option, a variant missing an option, two variants with
/// the same options.
pub async fn malformed_descriptors_are_rejected(fx: CatalogFixture) {
    let good = described_product("bad-descriptors");
    let mut cases = Vec::new();
    let mut p = good.clone();
    p.tags = vec!["a".into(), "a".into()];
    cases.push(p);
    let mut p = good.clone();
    p.brand = Some("  ".into());
    cases.push(p);
    let mut p = good.clone();
    p.images = vec![ProductImage::new("products/a b.jpg", "", 0)];
    cases.push(p);
    let mut p = good.clone();
    p.images = vec![ProductImage::new("javascript://x", "", 0)];
    cases.push(p);
    let mut p = good.clone();
    p.variants[0].options[0] = OptionValue::new("size", "XXL");
    cases.push(p);
    let mut p = good.clone();
    p.variants[0].options.pop();
    cases.push(p);
    let mut p = good.clone();
    p.variants[1].options = p.variants[0].options.clone();
    cases.push(p);
    for case in cases {
        let err = fx.store.upsert_product(&case).await.expect_err("rejected");
        assert!(
            matches!(err, Error::Validation { .. }),
            "{err:?} for {case:?}"
        );
    }
    assert_eq!(fx.store.product(good.id).await.expect("read"), None);
    assert!(catalog_events(&fx).await.is_empty());
}

/// Seller records read back by id and slug with the contact email normalized;
/// `sellers` lists them by id; a slug of another seller is a `Conflict`; a bad
/// email or slug is a `Validation` error; an upsert replaces the record.
pub async fn sellers_round_trip(fx: CatalogFixture) {
    let mut a = seller("north-shop");
    a.contact_email = "  Sales@North.Example ".into();
    let b = seller("south-shop");
    fx.store.upsert_seller(&a).await.expect("upsert a");
    fx.store.upsert_seller(&b).await.expect("upsert b");
    let read = fx.store.seller(a.id).await.expect("read").expect("a");
    assert_eq!(read.contact_email, "sales@north.example");
    assert_eq!(read.name, "north-shop");
    assert_eq!(
        fx.store.seller_by_slug("south-shop").await.expect("read"),
        Some(b.clone())
    );
    assert_eq!(fx.store.seller(SellerId::new()).await.expect("read"), None);
    assert_eq!(fx.store.seller_by_slug("nobody").await.expect("read"), None);
    let mut ids = vec![a.id, b.id];
    ids.sort();
    let listed: Vec<SellerId> = fx
        .store
        .sellers()
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ids);
    let mut thief = seller("north-shop");
    thief.name = "Thief".into();
    assert!(matches!(
        fx.store.upsert_seller(&thief).await,
        Err(Error::Conflict(_))
    ));
    let mut bad = seller("bad-email");
    bad.contact_email = "no-at-sign".into();
    assert!(matches!(
        fx.store.upsert_seller(&bad).await,
        Err(Error::Validation { .. })
    ));
    let mut bad = seller("x");
    bad.slug = "Not A Slug".into();
    assert!(matches!(
        fx.store.upsert_seller(&bad).await,
        Err(Error::Validation { .. })
    ));
    let mut renamed = b.clone();
    renamed.name = "South Shop Ltd".into();
    renamed.slug = "south".into();
    fx.store.upsert_seller(&renamed).await.expect("rename");
    assert_eq!(fx.store.seller(b.id).await.expect("read"), Some(renamed));
    assert_eq!(
        fx.store.seller_by_slug("south-shop").await.expect("read"),
        None
    );
}

/// Runs every catalog check against a backend: one tokio test per check.
///
/// `make` is the path of an `async fn() -> CatalogFixture` returning a fresh, empty
/// store (and its outbox) each call.
///
/// ```no_run
/// use std::sync::Arc;
/// use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
/// use commerce_core::testkit::catalog::CatalogFixture;
///
/// async fn make() -> CatalogFixture {
///     let outbox = Arc::new(MemoryOutbox::new());
///     CatalogFixture { store: Arc::new(MemoryCatalog::new(outbox.clone())), outbox }
/// }
/// commerce_core::catalog_store_conformance!(make);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! catalog_store_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod catalog_store_conformance {
            use super::*;
            $crate::__core_conformance_tests!($make, catalog:
                upsert_then_read_by_id_and_slug,
                upsert_replaces_variants_and_slug,
                malformed_product_is_rejected,
                slug_of_another_product_is_a_conflict,
                sku_of_another_product_is_a_conflict,
                list_products_pages_by_id,
                list_products_filters,
                list_products_limit_is_checked,
                listings_skip_unknown_and_duplicate_skus,
                products_by_ids_keep_order_and_skip_unknown,
                upsert_emits_catalog_events,
                set_price_changes_price_and_emits_event,
                set_price_rejects_bad_input,
                categories_round_trip_and_check_slug_and_parent,
                category_parent_cycle_is_rejected,
                category_writes_emit_events,
                concurrent_upserts_all_land,
                concurrent_slug_race_has_one_winner,
                descriptors_round_trip,
                malformed_descriptors_are_rejected,
                sellers_round_trip,
            );
        }
    };
}
