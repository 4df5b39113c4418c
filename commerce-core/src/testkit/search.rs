//! Conformance checks for [`ProductSearch`] backends.
//!
//! Run them for a backend with [`crate::product_search_conformance!`], giving a
//! function that returns a fresh, empty index with [`crate::search::Vocabulary::default_shop`] and
//! the backend's [`SearchCapabilities`]. Checks a backend cannot pass by design
//! (typo tolerance, did you mean) are skipped by its capabilities, not by its tests.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use crate::catalog::Category;
use crate::error::Error;
use crate::id::{CategoryId, ProductId, SellerId, Sku};
use crate::memory::COMMON_WORD_DOCS;
use crate::money::Currency;
use crate::search::{
    IndexChange, ProductSearch, SearchCapabilities, SearchDocument, SearchFilters, SearchQuery,
    SearchSort, SearchVariant, Signals, StockLevel, SuggestionTarget, category_path,
};
use crate::testkit::fixtures::{category, fixed_time};

/// What every search check gets: a fresh, empty index and what it can do.
#[derive(Clone)]
pub struct SearchFixture {
    /// The index under test (vocabulary: [`crate::search::Vocabulary::default_shop`]).
    pub search: Arc<dyn ProductSearch>,
    /// What the backend does.
    pub capabilities: SearchCapabilities,
}

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

/// A document with one variant, in stock, unrated, created `age_days` before the
/// fixed time.
pub fn doc(title: &str, description: &str, price_minor: i64) -> SearchDocument {
    let id = ProductId::new();
    let sku = Sku::new(format!("SKU-{}", id.as_uuid().simple())).unwrap();
    SearchDocument {
        product_id: id,
        title: title.to_owned(),
        slug: format!("p-{}", id.as_uuid().simple()),
        description: description.to_owned(),
        tags: Vec::new(),
        category_ids: Vec::new(),
        seller_id: SellerId::from_uuid(uuid::Uuid::nil()),
        seller_name: String::new(),
        currency: usd(),
        variants: vec![SearchVariant {
            sku: sku.clone(),
            name: "Default".to_owned(),
            price_minor,
        }],
        created_at: fixed_time(),
        signals: Signals {
            stock: vec![StockLevel {
                sku,
                location: "main".to_owned(),
                available: 5,
            }],
            ..Signals::default()
        },
    }
}

async fn put(fx: &SearchFixture, docs: &[SearchDocument]) {
    let changes = docs.iter().cloned().map(IndexChange::Put).collect();
    fx.search.apply(changes, None).await.unwrap();
}

async fn ids(fx: &SearchFixture, query: SearchQuery) -> Vec<ProductId> {
    fx.search
        .search(&query)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.product_id)
        .collect()
}

fn q(text: &str) -> SearchQuery {
    SearchQuery::text(text)
}

/// A word in the title ranks a product above one with the word only in its
/// description.
pub async fn search_title_matches_outrank_description_matches(fx: SearchFixture) {
    let in_desc = doc("Garden chair", "A lantern hangs above this chair", 1000);
    let in_title = doc("Lantern", "Lights the garden", 1000);
    put(&fx, &[in_desc.clone(), in_title.clone()]).await;
    assert_eq!(
        ids(&fx, q("lantern ")).await,
        vec![in_title.product_id, in_desc.product_id]
    );
}

/// Every word must match; the last word matches as a prefix while typing.
pub async fn search_last_word_is_a_prefix(fx: SearchFixture) {
    let bag = doc("Leather backpack", "Brown", 5000);
    let other = doc("Leather belt", "Brown", 2000);
    put(&fx, &[bag.clone(), other]).await;
    assert_eq!(ids(&fx, q("leather backp")).await, vec![bag.product_id]);
    assert_eq!(ids(&fx, q("leather backp ")).await, Vec::<ProductId>::new());
}

/// Accents and case are folded for matching and kept for display.
pub async fn search_folds_accents_and_case(fx: SearchFixture) {
    let ao = doc("Áo thun nữ", "Cotton", 15000);
    let de = doc("Jacke Größe M", "Warm", 8000);
    put(&fx, &[ao.clone(), de.clone()]).await;
    let r = fx.search.search(&q("ao thun")).await.unwrap();
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].title, "Áo thun nữ");
    assert_eq!(r.hits[0].title_highlight.marked("[", "]"), "[Áo] [thun] nữ");
    assert_eq!(ids(&fx, q("GROSSE")).await, vec![de.product_id]);
    assert_eq!(ids(&fx, q("größe")).await, vec![de.product_id]);
}

/// Synonyms find each other; stop words are left out of a query.
pub async fn search_synonyms_and_stop_words(fx: SearchFixture) {
    let tee = doc("Organic t-shirt", "Soft", 2000);
    let hoodie = doc("Zip sweatshirt", "Warm", 4000);
    put(&fx, &[tee.clone(), hoodie.clone()]).await;
    assert_eq!(ids(&fx, q("tee ")).await, vec![tee.product_id]);
    assert_eq!(ids(&fx, q("hoodie ")).await, vec![hoodie.product_id]);
    assert_eq!(ids(&fx, q("the organic tee ")).await, vec![tee.product_id]);
}

/// A misspelled word of 5+ letters finds its product, exact matches first; a
/// misspelled 4-letter word does not (typo tolerance by word length).
pub async fn search_typos_by_word_length(fx: SearchFixture) {
    if !fx.capabilities.typo_tolerance {
        return;
    }
    let lamp = doc("Desk lamp", "Bright", 3000);
    let speaker = doc("Wireless speaker", "Loud", 9000);
    let speakers = doc("Wireles speakr", "Misspelled listing", 9000);
    put(&fx, &[lamp.clone(), speaker.clone(), speakers.clone()]).await;
    assert_eq!(
        ids(&fx, q("wireless ")).await,
        vec![speaker.product_id, speakers.product_id]
    );
    assert_eq!(ids(&fx, q("wirelless speaker ")).await.len(), 2);
    assert_eq!(
        ids(&fx, q("spekaer ")).await.first(),
        Some(&speaker.product_id)
    );
    assert_eq!(ids(&fx, q("lanp ")).await, Vec::<ProductId>::new());
    assert_eq!(ids(&fx, q("lamp ")).await, vec![lamp.product_id]);
}

/// A query that finds little gets a close spelling that finds more.
pub async fn search_did_you_mean(fx: SearchFixture) {
    if !fx.capabilities.did_you_mean {
        return;
    }
    put(
        &fx,
        &[
            doc("Desk lamp", "Bright", 3000),
            doc("Floor lamp", "Tall", 6000),
        ],
    )
    .await;
    let r = fx.search.search(&q("lanp ")).await.unwrap();
    assert_eq!(r.total, 0);
    assert_eq!(r.did_you_mean.as_deref(), Some("lamp"));
    let r = fx.search.search(&q("lamp ")).await.unwrap();
    assert_eq!(r.did_you_mean, None);
}

/// "Did you mean" leaves a word found in [`COMMON_WORD_DOCS`] products alone, even
/// when a close, more frequent word would find more: the query found nothing
/// because its words do not meet, not because of a typo.
pub async fn search_did_you_mean_leaves_common_words_alone(fx: SearchFixture) {
    if !fx.capabilities.did_you_mean {
        return;
    }
    let common = COMMON_WORD_DOCS as usize;
    let mut docs: Vec<SearchDocument> = (0..common)
        .map(|i| doc(&format!("Lamb figure {i}"), "Wool", 1000))
        .collect();
    docs.extend((0..common + 100).map(|i| doc(&format!("Lamp stand {i}"), "Brass", 2000)));
    docs.push(doc("Lamp zinc", "Glows", 3000));
    put(&fx, &docs).await;
    let r = fx.search.search(&q("lamb zinc ")).await.unwrap();
    assert_eq!(r.total, 0);
    assert_eq!(r.did_you_mean, None, "a common word is taken as meant");
    // A rare word beside a common one is still corrected.
    let r = fx.search.search(&q("lamp zinx ")).await.unwrap();
    assert_eq!(r.total, 0);
    assert_eq!(r.did_you_mean.as_deref(), Some("lamp zinc"));
}

fn tree() -> (
    Vec<Category>,
    CategoryId,
    CategoryId,
    CategoryId,
    CategoryId,
) {
    let clothing = category("clothing", None);
    let shirts = category("shirts", Some(clothing.id));
    let tees = category("tees", Some(shirts.id));
    let home = category("home", None);
    let ids = (clothing.id, shirts.id, tees.id, home.id);
    (
        vec![clothing, shirts, tees, home],
        ids.0,
        ids.1,
        ids.2,
        ids.3,
    )
}

/// A category filter includes products of every descendant category; the category
/// facet is a tree whose counts include descendants.
pub async fn search_category_filter_includes_descendants(fx: SearchFixture) {
    let (cats, clothing, shirts, tees, home) = tree();
    fx.search
        .apply(vec![IndexChange::Categories(cats)], None)
        .await
        .unwrap();
    let mut a = doc("Plain shirt", "", 1000);
    a.category_ids = vec![shirts];
    let mut b = doc("Graphic shirt", "", 1000);
    b.category_ids = vec![tees];
    let mut c = doc("Shirt hanger", "", 1000);
    c.category_ids = vec![home];
    put(&fx, &[a.clone(), b.clone(), c.clone()]).await;
    let mut query = q("shirt");
    query.filters.category_id = Some(clothing);
    let mut got = ids(&fx, query.clone()).await;
    got.sort();
    let mut want = vec![a.product_id, b.product_id];
    want.sort();
    assert_eq!(got, want);
    query.filters.category_id = Some(tees);
    assert_eq!(ids(&fx, query).await, vec![b.product_id]);
    let r = fx.search.search(&q("shirt")).await.unwrap();
    let f = r.facets.unwrap();
    assert_eq!(f.categories.len(), 2);
    let top = f
        .categories
        .iter()
        .find(|c| c.category_id == clothing)
        .unwrap();
    assert_eq!(top.count, 2);
    assert_eq!(top.name, "clothing");
    assert_eq!(top.children[0].category_id, shirts);
    assert_eq!(top.children[0].count, 2);
    assert_eq!(top.children[0].children[0].category_id, tees);
    assert_eq!(top.children[0].children[0].count, 1);
}

/// Price range (exact minor units, both ends included), currency, seller, stock
/// and minimum rating filters.
pub async fn search_filters(fx: SearchFixture) {
    let seller = SellerId::new();
    let mut cheap = doc("Mug red", "", 999);
    let mut edge = doc("Mug blue", "", 1000);
    let mut dear = doc("Mug gold", "", 1001);
    dear.seller_id = seller;
    let mut euro = doc("Mug euro", "", 1000);
    euro.currency = Currency::from_code("EUR").unwrap();
    edge.signals.stock[0].available = 0;
    cheap.signals.rating_average = Decimal::new(45, 1);
    cheap.signals.rating_count = 2;
    edge.signals.rating_average = Decimal::new(399, 2);
    put(
        &fx,
        &[cheap.clone(), edge.clone(), dear.clone(), euro.clone()],
    )
    .await;
    let run = |f: SearchFilters| {
        let mut query = q("mug");
        query.filters = f;
        let fx = fx.clone();
        async move {
            let mut got = ids(&fx, query).await;
            got.sort();
            got
        }
    };
    let sorted = |mut v: Vec<ProductId>| {
        v.sort();
        v
    };
    let usd = Some(usd());
    assert_eq!(
        run(SearchFilters::default()
            .with_price_min(1000)
            .with_price_max(1000)
            .with_currency(usd))
        .await,
        vec![edge.product_id]
    );
    assert_eq!(
        run(SearchFilters::default().with_price_min(1000)).await,
        sorted(vec![edge.product_id, dear.product_id, euro.product_id])
    );
    assert_eq!(
        run(SearchFilters::default().with_currency(Currency::from_code("EUR").unwrap())).await,
        vec![euro.product_id]
    );
    assert_eq!(
        run(SearchFilters::default().with_seller(seller)).await,
        vec![dear.product_id]
    );
    assert_eq!(
        run(SearchFilters::default().with_in_stock(true)).await,
        sorted(vec![cheap.product_id, dear.product_id, euro.product_id])
    );
    assert_eq!(
        run(SearchFilters::default().with_min_rating(Decimal::new(399, 2))).await,
        sorted(vec![cheap.product_id, edge.product_id])
    );
    assert_eq!(
        run(SearchFilters::default().with_min_rating(Decimal::from(4))).await,
        vec![cheap.product_id]
    );
}

/// Every sort: relevance (ties by popularity, then newest), price both ways, newest,
/// rating, best selling.
pub async fn search_sorts(fx: SearchFixture) {
    let mut a = doc("Candle", "", 3000);
    let mut b = doc("Candle", "", 1000);
    let mut c = doc("Candle", "", 2000);
    a.created_at = fixed_time() - Duration::days(3);
    b.created_at = fixed_time() - Duration::days(1);
    c.created_at = fixed_time() - Duration::days(2);
    a.signals.units_sold = 50;
    c.signals.units_sold = 10;
    b.signals.rating_average = Decimal::new(48, 1);
    b.signals.rating_count = 1;
    c.signals.rating_average = Decimal::new(30, 1);
    c.signals.rating_count = 9;
    put(&fx, &[a.clone(), b.clone(), c.clone()]).await;
    let (a, b, c) = (a.product_id, b.product_id, c.product_id);
    let sorted = |sort| {
        let mut query = q("candle");
        query.sort = sort;
        ids(&fx, query)
    };
    // Popularity: a 50 sold; c 10 + 9 ratings * 5 = 55; b 5.
    assert_eq!(sorted(SearchSort::Relevance).await, vec![c, a, b]);
    assert_eq!(sorted(SearchSort::PriceAsc).await, vec![b, c, a]);
    assert_eq!(sorted(SearchSort::PriceDesc).await, vec![a, c, b]);
    assert_eq!(sorted(SearchSort::Newest).await, vec![b, c, a]);
    assert_eq!(sorted(SearchSort::Rating).await, vec![b, c, a]);
    assert_eq!(sorted(SearchSort::BestSelling).await, vec![a, c, b]);
}

/// Pages cut the ordered result; the total counts every result.
pub async fn search_pagination_with_total(fx: SearchFixture) {
    let docs: Vec<SearchDocument> = (0..25)
        .map(|i| doc(&format!("Poster {i}"), "", 1000 + i))
        .collect();
    put(&fx, &docs).await;
    let mut query = q("poster");
    query.sort = SearchSort::PriceAsc;
    query.limit = 10;
    query.offset = 20;
    let r = fx.search.search(&query).await.unwrap();
    assert_eq!(r.total, 25);
    let want: Vec<ProductId> = docs[20..].iter().map(|d| d.product_id).collect();
    assert_eq!(
        r.hits.iter().map(|h| h.product_id).collect::<Vec<_>>(),
        want
    );
    assert_eq!(fx.search.document_count().await.unwrap(), 25);
}

/// Facet counts equal a brute-force count over the same products, for a query and
/// a filter, over the whole result set (not the page).
pub async fn search_facet_counts_equal_brute_force(fx: SearchFixture) {
    let (cats, clothing, shirts, tees, home) = tree();
    let all_cats = cats.clone();
    fx.search
        .apply(vec![IndexChange::Categories(cats)], None)
        .await
        .unwrap();
    let sellers = [SellerId::new(), SellerId::new(), SellerId::new()];
    let words = ["lamp", "chair", "table"];
    let leaf = [clothing, shirts, tees, home];
    let docs: Vec<SearchDocument> = (0..90usize)
        .map(|i| {
            let mut d = doc(
                &format!("{} model {i}", words[i % 3]),
                &format!("{} and more", words[(i / 3) % 3]),
                i64::try_from(i).unwrap() * 997 % 60_000,
            );
            // Most products in one category; some in two (under one root, or
            // under two), so a shared ancestor is counted once per product.
            d.category_ids = match i % 7 {
                0 => vec![shirts, tees],
                3 => vec![tees, home],
                _ => vec![leaf[i % 4]],
            };
            d.seller_id = sellers[i % 3 * (i % 2)];
            d.signals.rating_average = Decimal::new(i64::try_from(i % 11).unwrap() * 5, 1);
            d.signals.stock[0].available = (i % 5) as u64;
            d
        })
        .collect();
    put(&fx, &docs).await;
    let tree: BTreeMap<CategoryId, Category> = all_cats.into_iter().map(|c| (c.id, c)).collect();
    for (text, filters) in [
        ("lamp", SearchFilters::default()),
        ("", SearchFilters::default().with_in_stock(true)),
        ("chair", SearchFilters::default().with_price_max(30_000)),
    ] {
        let mut query = q(text);
        query.filters = filters.clone();
        query.limit = 5;
        let r = fx.search.search(&query).await.unwrap();
        let matched: Vec<&SearchDocument> = docs
            .iter()
            .filter(|d| {
                let t = format!("{} {}", d.title, d.description);
                (text.is_empty() || t.contains(text))
                    && (!filters.in_stock || d.signals.in_stock())
                    && filters.price_max.is_none_or(|m| d.price_minor() <= m)
            })
            .collect();
        assert_eq!(r.total, matched.len() as u64, "total for {text:?}");
        let f = r.facets.unwrap();
        assert_eq!(
            f.in_stock,
            matched.iter().filter(|d| d.signals.in_stock()).count() as u64
        );
        for (k, n) in f.ratings_at_least.iter().enumerate() {
            let want = matched
                .iter()
                .filter(|d| d.signals.rating_average >= Decimal::from(k + 1))
                .count() as u64;
            assert_eq!(*n, want, "ratings >= {}", k + 1);
        }
        for bucket in &f.prices {
            let want = matched
                .iter()
                .filter(|d| {
                    d.price_minor() >= bucket.min && bucket.max.is_none_or(|m| d.price_minor() < m)
                })
                .count() as u64;
            assert_eq!(bucket.count, want, "price bucket {bucket:?}");
        }
        assert_eq!(f.prices.iter().map(|b| b.count).sum::<u64>(), r.total);
        for (seller, n) in &f.sellers {
            let want = matched.iter().filter(|d| d.seller_id == *seller).count() as u64;
            assert_eq!(*n, want);
        }
        assert_eq!(f.sellers.iter().map(|s| s.1).sum::<u64>(), r.total);
        let mut flat = Vec::new();
        let mut stack: Vec<_> = f.categories.iter().collect();
        while let Some(c) = stack.pop() {
            flat.push((c.category_id, c.count));
            stack.extend(c.children.iter());
        }
        for cat in tree.keys() {
            let listed = flat.iter().any(|(c, _)| c == cat);
            let found = matched.iter().any(|d| {
                d.category_ids
                    .iter()
                    .any(|c| category_path(&tree, *c).contains(cat))
            });
            assert_eq!(listed, found, "category listed when it has results");
        }
        for (cat, n) in flat {
            let want = matched
                .iter()
                .filter(|d| {
                    d.category_ids
                        .iter()
                        .any(|c| category_path(&tree, *c).contains(&cat))
                })
                .count() as u64;
            assert_eq!(n, want, "category count");
        }
    }
}

/// A removed (deactivated) product disappears from results and suggestions.
pub async fn search_removed_product_disappears(fx: SearchFixture) {
    let gone = doc("Vintage camera", "", 20000);
    let kept = doc("Camera strap", "", 1500);
    put(&fx, &[gone.clone(), kept.clone()]).await;
    assert_eq!(ids(&fx, q("camera")).await.len(), 2);
    fx.search
        .apply(vec![IndexChange::Remove(gone.product_id)], Some(7))
        .await
        .unwrap();
    assert_eq!(ids(&fx, q("camera")).await, vec![kept.product_id]);
    assert!(fx.search.document(gone.product_id).await.unwrap().is_none());
    assert_eq!(fx.search.position().await.unwrap(), Some(7));
    let s = fx.search.suggest("vint", 5).await.unwrap();
    assert!(s.is_empty(), "{s:?}");
}

/// A price change re-sorts results as soon as `apply` returns; stock, rating and
/// units sold update the document; a catalog upsert keeps those signals.
pub async fn search_signal_changes_apply(fx: SearchFixture) {
    let a = doc("Teapot white", "", 1000);
    let b = doc("Teapot black", "", 2000);
    put(&fx, &[a.clone(), b.clone()]).await;
    let mut query = q("teapot");
    query.sort = SearchSort::PriceAsc;
    assert_eq!(
        ids(&fx, query.clone()).await,
        vec![a.product_id, b.product_id]
    );
    let sku = a.variants[0].sku.clone();
    fx.search
        .apply(
            vec![
                IndexChange::Price {
                    sku: sku.clone(),
                    price_minor: 2500,
                },
                IndexChange::Stock {
                    sku: sku.clone(),
                    location: "main".into(),
                    available: 0,
                },
                IndexChange::Rating {
                    product_id: a.product_id,
                    rating_count: 3,
                    rating_average: Decimal::new(4333, 3),
                },
                IndexChange::UnitsSold {
                    sku: sku.clone(),
                    quantity: 2,
                },
                IndexChange::UnitsSold { sku, quantity: 1 },
            ],
            Some(3),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&fx, query.clone()).await,
        vec![b.product_id, a.product_id]
    );
    let hit = fx.search.search(&query).await.unwrap().hits.remove(1);
    assert!(!hit.in_stock);
    assert_eq!(hit.rating_count, 3);
    assert_eq!(hit.rating_average, Decimal::new(433, 2));
    assert_eq!(hit.units_sold, 3);
    assert_eq!(hit.price.to_minor().unwrap(), 2500);
    let mut renamed = a.clone();
    renamed.title = "Teapot ivory".into();
    renamed.signals = Signals::default();
    fx.search
        .apply(vec![IndexChange::PutCatalog(renamed)], Some(4))
        .await
        .unwrap();
    let stored = fx.search.document(a.product_id).await.unwrap().unwrap();
    assert_eq!(stored.title, "Teapot ivory");
    assert_eq!(stored.signals.units_sold, 3);
    assert_eq!(stored.signals.rating_count, 3);
    assert_eq!(fx.search.position().await.unwrap(), Some(4));
}

/// Title and description snippets mark the matched words.
pub async fn search_highlights_title_and_description(fx: SearchFixture) {
    let long = format!(
        "{} The kettle boils fast. {}",
        "Filler words here. ".repeat(20),
        "More filler. ".repeat(20)
    );
    put(&fx, &[doc("Steel kettle", &long, 3000)]).await;
    let r = fx.search.search(&q("kettle")).await.unwrap();
    let hit = &r.hits[0];
    assert_eq!(
        hit.title_highlight.marked("<b>", "</b>"),
        "Steel <b>kettle</b>"
    );
    let d = &hit.description_highlight;
    assert!(d.text.len() <= 200, "snippet of {} bytes", d.text.len());
    assert!(d.marked("<b>", "</b>").contains("The <b>kettle</b> boils"));
}

/// Suggestions by prefix: categories, then product titles by popularity.
pub async fn search_suggestions(fx: SearchFixture) {
    let (cats, ..) = tree();
    fx.search
        .apply(vec![IndexChange::Categories(cats)], None)
        .await
        .unwrap();
    let mut popular = doc("Shirt dress", "", 3000);
    popular.signals.units_sold = 100;
    let plain = doc("Shirt collar stays", "", 500);
    put(&fx, &[plain.clone(), popular.clone()]).await;
    let s = fx.search.suggest("shi", 5).await.unwrap();
    assert_eq!(s[0].text, "shirts");
    assert!(matches!(s[0].target, SuggestionTarget::Category(_)));
    assert_eq!(s[1].target, SuggestionTarget::Product(popular.product_id));
    assert_eq!(s[2].target, SuggestionTarget::Product(plain.product_id));
    assert_eq!(fx.search.suggest("shirt dr", 5).await.unwrap().len(), 1);
    assert!(fx.search.suggest("", 5).await.unwrap().is_empty());
    assert!(matches!(
        fx.search.suggest("x", 0).await,
        Err(Error::Validation { .. })
    ));
}

/// Hostile text gives results or a `Validation` error, never a failure or a panic.
pub async fn search_bad_queries_are_safe(fx: SearchFixture) {
    put(&fx, &[doc("Quote \"mark\" (test)", "a+b -c", 100)]).await;
    for text in [
        "",
        "   ",
        "\"unbalanced",
        "(((",
        "a AND OR NOT",
        "title:foo",
        "*?~^",
        "\u{0}\u{7}\u{1b}[31m",
        "🙂🙂",
        "+-&&||!(){}[]^\"~*?:\\/",
    ] {
        let r = fx.search.search(&q(text)).await;
        assert!(r.is_ok(), "{text:?}: {r:?}");
        let s = fx.search.suggest(text, 5).await;
        assert!(s.is_ok(), "{text:?}: {s:?}");
    }
    let huge = "x".repeat(10 * 1024);
    assert!(matches!(
        fx.search.search(&q(&huge)).await,
        Err(Error::Validation { .. })
    ));
    let mut zero = q("a");
    zero.limit = 0;
    assert!(matches!(
        fx.search.search(&zero).await,
        Err(Error::Validation { .. })
    ));
    let mut inverted = q("a");
    inverted.filters.price_min = Some(10);
    inverted.filters.price_max = Some(5);
    assert!(matches!(
        fx.search.search(&inverted).await,
        Err(Error::Validation { .. })
    ));
    // Everything that is not an error finds the product or nothing.
    assert_eq!(fx.search.search(&q("quote mark")).await.unwrap().total, 1);
}

/// Runs every [`ProductSearch`] check against a backend: `$make` is an
/// `async fn() -> SearchFixture` returning a fresh, empty index.
#[macro_export]
macro_rules! product_search_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod product_search_conformance {
            use super::*;
            $crate::__core_conformance_tests!($make, search:
                search_title_matches_outrank_description_matches,
                search_last_word_is_a_prefix,
                search_folds_accents_and_case,
                search_synonyms_and_stop_words,
                search_typos_by_word_length,
                search_did_you_mean,
                search_did_you_mean_leaves_common_words_alone,
                search_category_filter_includes_descendants,
                search_filters,
                search_sorts,
                search_pagination_with_total,
                search_facet_counts_equal_brute_force,
                search_removed_product_disappears,
                search_signal_changes_apply,
                search_highlights_title_and_description,
                search_suggestions,
                search_bad_queries_are_safe,
            );
        }
    };
}
