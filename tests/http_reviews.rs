//! Reviews and recommendations over HTTP (issue 10), on the in-memory shop: the
//! verified-purchase rule (a cancelled order verifies nothing), one review per
//! customer per product under concurrent posts, votes and reports, moderation hiding
//! from lists and the aggregate, keyset pages, and the recommendation lists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use commerce::Shop;
use commerce::core::{Actor, SellerId};
use commerce::orders::SimulatedGateway;
use commerce::orders::simulated::test_cards;
use commerce::reviews::ReviewSettings;
use http_support::{App, As, card, checkout_body};
use serde_json::{Value, json};

fn shop_app(allow_unverified: bool) -> App {
    let gateway = Arc::new(SimulatedGateway::new());
    let shop = Shop::builder(commerce::default_config())
        .payments(gateway.clone())
        .review_settings(ReviewSettings::default().with_unverified(allow_unverified))
        .with_memory_defaults()
        .build()
        .unwrap();
    App::over(shop, gateway)
}

/// Buys one `sku` as `who`; returns the order body.
async fn buy(app: &App, who: &As, sku: &str, key: &str) -> Value {
    let added = app
        .post("/v1/cart/items", who, json!({"sku": sku, "quantity": 1}))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let order = app
        .post(
            "/v1/checkout",
            &who.clone().key(key),
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    order.body
}

fn review(stars: u8) -> Value {
    json!({"rating": stars, "title": "Solid mug", "body": "Holds tea."})
}

/// Runs the recommendation consumers over everything in the outbox.
async fn drain_recommendations(app: &App) {
    let config = commerce::core::RunnerConfig::default();
    let outbox = app.shop.outbox().as_ref();
    commerce::core::drain(outbox, &app.shop.recommend_signals_consumer(), config)
        .await
        .unwrap();
    commerce::core::drain(outbox, &app.shop.recommend_purchases_consumer(), config)
        .await
        .unwrap();
}

#[tokio::test]
async fn http_review_verified_purchase_votes_reports_and_aggregate() {
    let app = shop_app(false);
    let (mug_slug, _) = app.seed("rv1").await;
    let (_, buyer) = app.customer("buyer-rv1@example.com").await;
    let (_, other) = app.customer("other-rv1@example.com").await;
    let (buyer, other) = (As::customer(&buyer), As::customer(&other));
    let path = format!("/v1/catalog/products/{mug_slug}/reviews");

    // Not bought: refused with a typed error.
    let refused = app.post(&path, &buyer, review(5)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.code(), "purchase_required");

    // A cancelled order verifies nothing.
    let order = buy(&app, &buyer, "MUG-rv1", "rv1-a").await;
    let id = order["id"].as_str().unwrap();
    let cancelled = app
        .call(
            Method::POST,
            &format!("/v1/orders/{id}/cancel"),
            &buyer,
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(
        app.post(&path, &buyer, review(5)).await.code(),
        "purchase_required"
    );

    // Bought and confirmed: a verified review; a second one is a conflict.
    buy(&app, &buyer, "MUG-rv1", "rv1-b").await;
    let posted = app.post(&path, &buyer, review(5)).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    assert_eq!(posted.body["verified"], true);
    let review_id = posted.body["id"].as_str().unwrap().to_owned();
    let again = app.post(&path, &buyer, review(3)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "already_reviewed");
    assert_eq!(again.body["details"]["review_id"], review_id.as_str());

    // Bad input: typed 422s naming the field.
    let bad = app.post(&path, &buyer, review(6)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["details"]["field"], "rating");

    // Votes and reports count once per customer; authors do not vote.
    let helpful = format!("/v1/reviews/{review_id}/helpful");
    let first = app.call(Method::POST, &helpful, &other, None).await;
    assert_eq!(first.body["recorded"], true, "{}", first.body);
    let second = app.call(Method::POST, &helpful, &other, None).await;
    assert_eq!(second.body["recorded"], false);
    let own = app.call(Method::POST, &helpful, &buyer, None).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let report = format!("/v1/reviews/{review_id}/report");
    let reported = app.post(&report, &other, json!({"reason": "spam"})).await;
    assert_eq!(reported.body["recorded"], true, "{}", reported.body);

    // Only the author edits and deletes.
    let edit = format!("/v1/reviews/{review_id}");
    let foreign = app.call(Method::PUT, &edit, &other, Some(review(1))).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let edited = app.call(Method::PUT, &edit, &buyer, Some(review(4))).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["rating"], 4);

    // The aggregate shows on the rating route and the product details.
    let rating = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}/rating"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(rating.body["count"], 1, "{}", rating.body);
    assert_eq!(rating.body["average"], "4");
    assert_eq!(rating.body["histogram"], json!([0, 0, 0, 1, 0]));
    let details = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(details.body["rating"]["count"], 1, "{}", details.body);
    let list = app.get(&path, &As::anonymous()).await;
    assert_eq!(list.body["items"][0]["helpful_count"], 1);

    let deleted = app.call(Method::DELETE, &edit, &other, None).await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);
    let deleted = app.call(Method::DELETE, &edit, &buyer, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let rating = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}/rating"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(rating.body["count"], 0);
    let unknown = app
        .call(
            Method::PUT,
            "/v1/reviews/not-an-id",
            &buyer,
            Some(review(2)),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_review_one_per_customer_per_product_under_concurrent_posts() {
    let app = shop_app(true);
    let (mug_slug, _) = app.seed("rv2").await;
    let (_, bearer) = app.customer("racer-rv2@example.com").await;
    let who = As::customer(&bearer);
    let path = format!("/v1/catalog/products/{mug_slug}/reviews");
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let (app, who, path) = (app.clone(), who.clone(), path.clone());
            tokio::spawn(async move { app.post(&path, &who, review(1 + i % 5)).await })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    assert!(
        replies
            .iter()
            .filter(|r| r.status != StatusCode::CREATED)
            .all(|r| r.code() == "already_reviewed")
    );
    let rating = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}/rating"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(rating.body["count"], 1);
}

#[tokio::test]
async fn http_review_moderation_hides_from_lists_and_aggregate_and_pages_are_keyset() {
    let app = shop_app(true);
    let (mug_slug, _) = app.seed("rv3").await;
    let path = format!("/v1/catalog/products/{mug_slug}/reviews");
    let mut authors = Vec::new();
    for (i, stars) in [5u8, 3, 4, 1, 5].into_iter().enumerate() {
        let (_, bearer) = app.customer(&format!("c{i}-rv3@example.com")).await;
        let who = As::customer(&bearer);
        let posted = app.post(&path, &who, review(stars)).await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
        authors.push((who, posted.body["id"].as_str().unwrap().to_owned()));
    }

    // Keyset pages of two, highest rating first: every review once, in order.
    let mut seen = Vec::new();
    let mut url = format!("{path}?order=highest_rating&limit=2");
    loop {
        let page = app.get(&url, &As::anonymous()).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["rating"].as_u64().unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => url = format!("{path}?order=highest_rating&limit=2&after={c}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![5, 5, 4, 3, 1]);
    let bad = app
        .get(&format!("{path}?after=garbage"), &As::anonymous())
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app
        .get(&format!("{path}?order=loudest"), &As::anonymous())
        .await;
    assert_eq!(bad.body["details"]["field"], "order");

    // The product's seller hides the one-star review (staff sign-in comes with the
    // staff sessions: the seller acts through the Shop here); another seller may not.
    let product = app
        .shop
        .catalog()
        .product_by_slug(&mug_slug)
        .await
        .unwrap()
        .unwrap();
    let (author, hidden_id) = &authors[3];
    let hidden_id: commerce::reviews::ReviewId = hidden_id.parse().unwrap();
    let stranger = app
        .shop
        .reviews()
        .hide(&Actor::Seller(SellerId::new()), hidden_id, "not theirs")
        .await;
    assert!(matches!(
        stranger,
        Err(commerce::reviews::Error::Forbidden(_))
    ));
    app.shop
        .reviews()
        .hide(&Actor::Seller(product.seller_id), hidden_id, "abusive")
        .await
        .unwrap();
    let rating = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}/rating"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(rating.body["count"], 4);
    assert_eq!(rating.body["histogram"], json!([0, 0, 1, 1, 2]));
    let low = app.get(&format!("{path}?rating=1"), &As::anonymous()).await;
    assert_eq!(low.body["items"], json!([]));
    // Its author still sees it, hidden, with the reason.
    let mine = app.get("/v1/account/reviews", author).await;
    assert_eq!(mine.body["items"][0]["status"], "hidden", "{}", mine.body);
    assert_eq!(mine.body["items"][0]["moderation_reason"], "abusive");
    // Hidden reviews take no votes.
    let vote = app
        .call(
            Method::POST,
            &format!("/v1/reviews/{hidden_id}/helpful"),
            &authors[0].0,
            None,
        )
        .await;
    assert_eq!(vote.status, StatusCode::NOT_FOUND);

    // An admin restores it: counted again.
    app.shop
        .reviews()
        .restore(&Actor::Admin, hidden_id, "appeal upheld")
        .await
        .unwrap();
    let rating = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}/rating"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(rating.body["count"], 5);
}

#[tokio::test]
async fn http_recommendations_exclude_the_product_bought_and_out_of_stock_products() {
    let app = shop_app(false);
    let (mug_slug, tee_slug) = app.seed("rc1").await;
    let (_, bearer) = app.customer("rec-rc1@example.com").await;
    let who = As::customer(&bearer);
    // A new customer: popular now (nothing sold yet: empty), never an error.
    drain_recommendations(&app).await;
    let fresh = app.get("/v1/recommendations/for-you", &who).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);

    // Others buy the mug with the tee; our customer buys the mug.
    // (Two of the three tees: one stays in stock.)
    for i in 0..2 {
        let (_, b) = app.customer(&format!("o{i}-rc1@example.com")).await;
        let other = As::customer(&b);
        app.post(
            "/v1/cart/items",
            &other,
            json!({"sku": "TEE-rc1-S", "quantity": 1}),
        )
        .await;
        buy(&app, &other, "MUG-rc1", &format!("rc1-o{i}")).await;
    }
    buy(&app, &who, "MUG-rc1", "rc1-me").await;
    drain_recommendations(&app).await;
    let mug = app
        .shop
        .catalog()
        .product_by_slug(&mug_slug)
        .await
        .unwrap()
        .unwrap();
    let tee = app
        .shop
        .catalog()
        .product_by_slug(&tee_slug)
        .await
        .unwrap()
        .unwrap();
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["product_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let together = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}/bought-together"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(
        ids(&together.body),
        vec![tee.id.to_string()],
        "{}",
        together.body
    );
    // Each item carries what a list shows of its product (read in one batch).
    let item = &together.body["items"][0]["product"];
    assert_eq!(item["slug"], tee.slug.as_str(), "{}", together.body);
    assert_eq!(item["title"], tee.title.as_str(), "{}", together.body);
    assert!(
        item["price_from"]["amount"].is_string(),
        "{}",
        together.body
    );
    let popular = app.get("/v1/catalog/popular", &As::anonymous()).await;
    assert_eq!(
        ids(&popular.body),
        vec![mug.id.to_string(), tee.id.to_string()]
    );
    // For you: what goes with the mug, never the mug it bought.
    let for_you = app.get("/v1/recommendations/for-you", &who).await;
    assert_eq!(
        ids(&for_you.body),
        vec![tee.id.to_string()],
        "{}",
        for_you.body
    );
    // The cart's list never holds the cart's items.
    let cart_list = {
        app.post(
            "/v1/cart/items",
            &who,
            json!({"sku": "TEE-rc1-S", "quantity": 1}),
        )
        .await;
        app.get("/v1/cart/bought-together", &who).await
    };
    assert_eq!(cart_list.status, StatusCode::OK, "{}", cart_list.body);
    assert!(!ids(&cart_list.body).contains(&tee.id.to_string()));

    // The tee sells out: it leaves every list.
    let sold_out = app
        .shop
        .inventory()
        .adjust(
            &commerce::inventory::StockAdjustment::correction(
                commerce::core::Sku::new("TEE-rc1-S").unwrap(),
                -i64::try_from(app.available("TEE-rc1-S").await).unwrap(),
            ),
            app.shop.clock().now(),
        )
        .await;
    sold_out.unwrap();
    drain_recommendations(&app).await;
    let together = app
        .get(
            &format!("/v1/catalog/products/{}/bought-together", mug.id),
            &As::anonymous(),
        )
        .await;
    assert_eq!(
        ids(&together.body),
        Vec::<String>::new(),
        "{}",
        together.body
    );
    let for_you = app.get("/v1/recommendations/for-you", &who).await;
    assert!(!ids(&for_you.body).contains(&tee.id.to_string()));
    assert!(!ids(&for_you.body).contains(&mug.id.to_string()));

    // Typed errors.
    let bad = app
        .get("/v1/catalog/popular?limit=0", &As::anonymous())
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = app
        .get(
            "/v1/catalog/products/no-such-product/similar",
            &As::anonymous(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
}
