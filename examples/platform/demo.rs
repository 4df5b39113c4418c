//! The demo catalog seeded into an empty store: a category tree, two sellers,
//! products with brands, tags, images and size/colour variants, and stock.
//!
//! To be replaced by the search issue's synthetic catalog generator (commerce-core
//! feature `generator`) once it is on main.

use commerce::Shop;
use commerce::core::ports::{CatalogStore, ProductQuery};
use commerce::core::{
    Category, CategoryId, Currency, Money, Product, ProductStatus, Seller, SellerId, Sku, Variant,
};
use commerce::inventory::{AdjustmentReason, LocationCode, StockAdjustment};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const SIZES: [&str; 3] = ["S", "M", "L"];
const COLOURS: [&str; 3] = ["black", "white", "red"];
const KINDS: [(&str, &str, u32); 6] = [
    ("T-shirt", "tees", 1999),
    ("Hoodie", "hoodies", 4999),
    ("Cap", "caps", 1499),
    ("Mug", "mugs", 1299),
    ("Notebook", "notebooks", 899),
    ("Tote bag", "bags", 1799),
];
const ADJECTIVES: [&str; 10] = [
    "Classic", "Organic", "Vintage", "Minimal", "Bold", "Cosy", "Urban", "Retro", "Coastal",
    "Alpine",
];

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

/// Seeds the demo catalog; returns the number of products and the two sellers.
pub(crate) async fn seed(shop: &Shop) -> Result<(usize, Vec<Seller>)> {
    let catalog = shop.catalog();
    let sellers = vec![
        Seller::new(
            SellerId::new(),
            "Northwind Goods",
            "northwind",
            "sales@northwind.example",
        ),
        Seller::new(
            SellerId::new(),
            "Southpaw Supply",
            "southpaw",
            "hello@southpaw.example",
        ),
    ];
    for s in &sellers {
        catalog.upsert_seller(s).await?;
    }
    let apparel = Category {
        id: CategoryId::new(),
        parent_id: None,
        name: "Apparel".into(),
        slug: "apparel".into(),
    };
    let home = Category {
        id: CategoryId::new(),
        parent_id: None,
        name: "Home & office".into(),
        slug: "home-office".into(),
    };
    catalog.upsert_category(&apparel).await?;
    catalog.upsert_category(&home).await?;
    let mut count = 0;
    let now = shop.clock().now();
    for (k, (kind, slug, base)) in KINDS.iter().enumerate() {
        let parent = if k < 3 { &apparel } else { &home };
        let category = Category {
            id: CategoryId::new(),
            parent_id: Some(parent.id),
            name: format!("{kind}s"),
            slug: (*slug).to_owned(),
        };
        catalog.upsert_category(&category).await?;
        for (a, adjective) in ADJECTIVES.iter().enumerate() {
            let seller = &sellers[(k + a) % 2];
            let product_slug = format!("{}-{}", adjective.to_lowercase(), slug);
            let code = format!("{}-{}", &adjective[..3], &slug[..3]).to_uppercase();
            let price = Money::from_minor(i64::from(*base) + (a as i64) * 100, Currency::USD);
            let wearable = k < 2;
            let mut builder = Product::builder(
                seller.id,
                format!("{adjective} {kind}"),
                product_slug.clone(),
            )
            .status(ProductStatus::Active)
            .description(format!(
                "A {} {} from {}.",
                adjective.to_lowercase(),
                kind.to_lowercase(),
                seller.name
            ))
            .brand(seller.name.clone())
            .tag(slug.trim_end_matches('s'))
            .tag(adjective.to_lowercase())
            .category(category.id)
            .category(parent.id)
            .image(
                format!("products/{product_slug}/front.jpg"),
                format!("{adjective} {kind}, front"),
            )
            .image(
                format!("products/{product_slug}/back.jpg"),
                format!("{adjective} {kind}, back"),
            )
            .created_at(now);
            if wearable {
                builder = builder.option("size", SIZES).option("colour", COLOURS);
                for size in SIZES {
                    for colour in COLOURS {
                        builder = builder.variant(
                            Variant::builder(
                                Sku::new(format!("{code}-{size}-{}", &colour[..2].to_uppercase()))?,
                                price,
                            )
                            .name(format!("{size} / {colour}"))
                            .weight_grams(300)
                            .option("size", size)
                            .option("colour", colour),
                        );
                    }
                }
            } else {
                builder = builder
                    .variant(Variant::builder(Sku::new(code.clone())?, price).weight_grams(400));
            }
            let product = builder.build()?;
            catalog.upsert_product(&product).await?;
            for (v, variant) in product.variants.iter().enumerate() {
                // Some variants low, one product out of stock, the rest plenty.
                let units = match (a, v % 4) {
                    (9, _) => 0,
                    (_, 0) => 3,
                    _ => 50,
                };
                if units > 0 {
                    shop.inventory()
                        .adjust(
                            &StockAdjustment {
                                sku: variant.sku.clone(),
                                location: LocationCode::default_location(),
                                delta: units,
                                reason: AdjustmentReason::Received,
                                note: None,
                            },
                            now,
                        )
                        .await?;
                }
            }
            count += 1;
        }
    }
    Ok((count, sellers))
}
