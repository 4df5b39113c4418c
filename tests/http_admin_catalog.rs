//! Staff's catalog, customers and moderation over JSON: categories created, renamed
//! and moved (a cycle refused with `category_cycle`, nothing changed), any seller's
//! products listed, created and updated; a customer read with their addresses and
//! keyset pages of orders; the moderation queue filtered by status; the seller's price
//! route the admin product page shares. Bad input is a 4xx JSON error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::http::{Method, StatusCode};
use commerce::core::{CategoryId, Role, SellerId};
use http_support::{App, As, card, checkout_body};
use serde_json::json;

#[tokio::test]
async fn http_admin_categories_create_rename_move_and_refuse_a_cycle() {
    let app = App::in_memory();
    let (_, bearer) = app.staff("cat-admin@example.com", Role::Admin).await;
    let admin = As::signed_in(&bearer);
    let home = app
        .post("/v1/admin/categories", &admin, json!({"name": "Home"}))
        .await;
    assert_eq!(home.status, StatusCode::CREATED, "{}", home.body);
    assert_eq!(home.body["slug"], "home");
    let home_id = home.body["id"].as_str().unwrap().to_owned();
    let lamps = app
        .post(
            "/v1/admin/categories",
            &admin,
            json!({"name": "Lamps", "slug": "lamps", "parent_id": home_id}),
        )
        .await;
    assert_eq!(lamps.status, StatusCode::CREATED, "{}", lamps.body);
    assert_eq!(lamps.body["parent_id"], home_id.as_str());
    let lamps_id = lamps.body["id"].as_str().unwrap().to_owned();

    let renamed = app
        .post(
            &format!("/v1/admin/categories/{lamps_id}/rename"),
            &admin,
            json!({"name": "Lighting"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Lighting");
    assert_eq!(renamed.body["slug"], "lamps");

    // Home under its own child: a typed 409, the tree unchanged.
    let cycle = app
        .post(
            &format!("/v1/admin/categories/{home_id}/move"),
            &admin,
            json!({"parent_id": lamps_id}),
        )
        .await;
    assert_eq!(cycle.status, StatusCode::CONFLICT, "{}", cycle.body);
    assert_eq!(cycle.code(), "category_cycle");
    assert_eq!(cycle.body["details"]["category_id"], home_id.as_str());
    let itself = app
        .post(
            &format!("/v1/admin/categories/{home_id}/move"),
            &admin,
            json!({"parent_id": home_id}),
        )
        .await;
    assert_eq!(itself.code(), "category_cycle");
    let tree = app.get("/v1/admin/categories", &admin).await;
    assert_eq!(tree.body[0]["name"], "Home", "{}", tree.body);
    assert_eq!(tree.body[0]["children"][0]["name"], "Lighting");

    let moved = app
        .post(
            &format!("/v1/admin/categories/{lamps_id}/move"),
            &admin,
            json!({"parent_id": null}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert!(moved.body["parent_id"].is_null());
    let tree = app.get("/v1/admin/categories", &admin).await;
    assert_eq!(tree.body.as_array().unwrap().len(), 2, "{}", tree.body);

    // The write reached the outbox for the search index and caches.
    let events = app
        .shop
        .outbox()
        .claim("admin-test", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let category_events = events
        .iter()
        .filter(|e| e.event.topic == "catalog.category_upserted")
        .count();
    assert_eq!(category_events, 4, "create, create, rename, move");

    // Bad input: 4xx JSON, never a 500, nothing written.
    let unknown = CategoryId::new();
    for (method, path, body, status, code) in [
        (
            Method::POST,
            "/v1/admin/categories".to_owned(),
            json!({"name": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::POST,
            "/v1/admin/categories".to_owned(),
            json!({"name": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::POST,
            "/v1/admin/categories".to_owned(),
            json!({"name": "Home"}),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            Method::POST,
            "/v1/admin/categories".to_owned(),
            json!({"name": "X", "parent_id": unknown.to_string()}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/v1/admin/categories".to_owned(),
            json!({"name": "X", "parent_id": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::POST,
            "/v1/admin/categories".to_owned(),
            json!({"name": "X", "bogus": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            Method::POST,
            "/v1/admin/categories".to_owned(),
            json!({"name": "X", "slug": "Not A Slug"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::POST,
            format!("/v1/admin/categories/{unknown}/rename"),
            json!({"name": "Y"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            format!("/v1/admin/categories/{home_id}/rename"),
            json!({"name": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::POST,
            format!("/v1/admin/categories/{unknown}/move"),
            json!({"parent_id": null}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            format!("/v1/admin/categories/{home_id}/move"),
            json!({"parent_id": unknown.to_string()}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let reply = app.call(method, &path, &admin, Some(body.clone())).await;
        assert_eq!(reply.status, status, "{path} {body}: {}", reply.body);
        assert!(reply.body["code"].is_string(), "{path}: a JSON error");
        if !code.is_empty() {
            assert_eq!(reply.code(), code, "{path} {body}");
        }
    }
    let tree = app.get("/v1/admin/categories", &admin).await;
    assert_eq!(
        tree.body.as_array().unwrap().len(),
        2,
        "nothing half-written"
    );
}

#[tokio::test]
async fn http_admin_products_for_any_seller_and_a_customer_with_orders() {
    let app = App::in_memory();
    let (mug, _) = app.seed("adm").await;
    let (_, bearer) = app.staff("prod-admin@example.com", Role::Admin).await;
    let admin = As::signed_in(&bearer);
    let seller = app
        .shop
        .catalog()
        .product_by_slug(&mug)
        .await
        .unwrap()
        .unwrap()
        .seller_id;

    let listed = app
        .get(
            &format!("/v1/admin/products?seller_id={seller}&limit=1"),
            &admin,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let other = app
        .get(
            &format!("/v1/admin/products?seller_id={}", SellerId::new()),
            &admin,
        )
        .await;
    assert_eq!(other.body, json!([]));

    let new = json!({"title": "Lamp", "slug": "adm-lamp", "active": true,
                     "variants": [{"sku": "LAMP-ADM", "price": {"amount": "30.00", "currency": "USD"}}]});
    let made = app
        .post(
            &format!("/v1/admin/sellers/{seller}/products"),
            &admin,
            new.clone(),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.body["product"]["id"].as_str().unwrap().to_owned();
    let again = app
        .post(
            &format!("/v1/admin/sellers/{seller}/products"),
            &admin,
            new.clone(),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let nobody = app
        .post(
            &format!("/v1/admin/sellers/{}/products", SellerId::new()),
            &admin,
            new,
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let updated = app
        .call(
            Method::PUT,
            &format!("/v1/admin/products/{id}"),
            &admin,
            Some(json!({"title": "Desk lamp", "active": false})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["product"]["title"], "Desk lamp");
    assert_eq!(updated.body["status"], "draft");
    let empty = app
        .call(
            Method::PUT,
            &format!("/v1/admin/products/{id}"),
            &admin,
            Some(json!({"title": " "})),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = app
        .call(
            Method::PUT,
            &format!("/v1/admin/products/{}", commerce::core::ProductId::new()),
            &admin,
            Some(json!({"title": "X"})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Categories: set from existing ids; unknown or malformed ones are 422.
    let shelf = app
        .post("/v1/admin/categories", &admin, json!({"name": "Shelf"}))
        .await;
    let shelf_id = shelf.body["id"].as_str().unwrap().to_owned();
    let filed = app
        .call(
            Method::PUT,
            &format!("/v1/admin/products/{id}"),
            &admin,
            Some(json!({"category_ids": [shelf_id]})),
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let stored = app
        .shop
        .catalog()
        .product(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.category_ids.len(), 1);
    assert_eq!(stored.category_ids[0].to_string(), shelf_id);
    for ids in [json!([CategoryId::new().to_string()]), json!(["nope"])] {
        let refused = app
            .call(
                Method::PUT,
                &format!("/v1/admin/products/{id}"),
                &admin,
                Some(json!({"category_ids": ids})),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(refused.code(), "validation_failed");
    }
    let bad = app.get("/v1/admin/products?status=lost", &admin).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A customer with two orders: pages of one, then the last page.
    let (customer, cb) = app.customer("orders-of@example.com").await;
    let me = As::customer(&cb);
    let sku = format!("MUG-{}", mug.trim_start_matches("mug-"));
    for key in ["k-1", "k-2"] {
        let added = app
            .post("/v1/cart/items", &me, json!({"sku": sku, "quantity": 1}))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        let placed = app
            .post(
                "/v1/checkout",
                &me.clone().key(key),
                checkout_body(card("4242424242424242")),
            )
            .await;
        assert!(placed.status.is_success(), "{}", placed.body);
    }
    let first = app
        .get(
            &format!("/v1/admin/customers/{customer}?orders_limit=1"),
            &admin,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["email"], "orders-of@example.com");
    assert_eq!(first.body["orders"].as_array().unwrap().len(), 1);
    let next = first.body["orders_next"].as_str().unwrap().to_owned();
    let second = app
        .get(
            &format!("/v1/admin/customers/{customer}?orders_limit=1&orders_before={next}"),
            &admin,
        )
        .await;
    assert_eq!(second.body["orders"].as_array().unwrap().len(), 1);
    assert_ne!(
        second.body["orders"][0]["id"],
        first.body["orders"][0]["id"]
    );
    for path in [
        format!("/v1/admin/customers/{customer}?orders_limit=0"),
        format!("/v1/admin/customers/{customer}?orders_before=nope"),
        format!("/v1/admin/customers/{customer}?bogus=1"),
    ] {
        let reply = app.get(&path, &admin).await;
        assert!(reply.status.is_client_error(), "{path}: {}", reply.status);
        assert!(reply.body["code"].is_string());
    }
    let unknown = app
        .get(
            &format!("/v1/admin/customers/{}", commerce::core::CustomerId::new()),
            &admin,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The moderation queue: empty here, filters checked.
    let queue = app.get("/v1/admin/reviews?status=hidden", &admin).await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert_eq!(queue.body["items"], json!([]));
    let bad = app.get("/v1/admin/reviews?status=lost", &admin).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A moderation page filtered by status is full when enough reviews of that status
/// exist, even when the newest queue entries have the other status, and its
/// `next_cursor` leads to the rest.
#[tokio::test]
async fn http_admin_moderation_queue_filtered_by_status_fills_the_page() {
    use commerce::core::{Actor, CustomerId, ProductId};
    use commerce::reviews::{Rating, Review, ReviewId, ReviewStatus};

    let app = App::in_memory();
    let (_, bearer) = app.staff("mod-admin@example.com", Role::Admin).await;
    let admin = As::signed_in(&bearer);
    let now = chrono::Utc::now();
    let write = |title: String| Review {
        id: ReviewId::new(),
        product_id: ProductId::new(),
        customer_id: CustomerId::new(),
        sku: None,
        rating: Rating::new(1).unwrap(),
        title,
        body: "Body text.".to_owned(),
        verified: false,
        status: ReviewStatus::Published,
        moderation: None,
        helpful_count: 0,
        report_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    // Three hidden reviews, then four reported ones (the newest of the queue).
    for i in 0..3 {
        let r = write(format!("Hidden {i}"));
        app.shop.review_store().create(&r, &[]).await.unwrap();
        app.shop
            .reviews()
            .hide(&Actor::Admin, r.id, "abusive")
            .await
            .unwrap();
    }
    for i in 0..4 {
        let r = write(format!("Reported {i}"));
        app.shop.review_store().create(&r, &[]).await.unwrap();
        let reporter = Actor::Customer(CustomerId::new());
        assert!(
            app.shop
                .reviews()
                .report(&reporter, r.id, "spam")
                .await
                .unwrap()
        );
    }

    let first = app
        .get("/v1/admin/reviews?status=hidden&limit=2", &admin)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "a full page: {}", first.body);
    assert!(
        items
            .iter()
            .all(|i| i["review"]["title"].as_str().unwrap().starts_with("Hidden"))
    );
    let next = first.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .get(
            &format!("/v1/admin/reviews?status=hidden&limit=2&before={next}"),
            &admin,
        )
        .await;
    let rest_items = rest.body["items"].as_array().unwrap();
    assert_eq!(rest_items.len(), 1, "{}", rest.body);
    assert_eq!(rest_items[0]["review"]["title"], "Hidden 0");
    assert_eq!(rest.body["next_cursor"], json!(null));

    let shown = app
        .get("/v1/admin/reviews?status=published&limit=3", &admin)
        .await;
    let shown_items = shown.body["items"].as_array().unwrap();
    assert_eq!(shown_items.len(), 3, "{}", shown.body);
    assert!(shown_items.iter().all(|i| i["report_count"] == 1));
}

/// The seller's price route (whose `price_for` the admin product page shares): the
/// price stored with `catalog.price_changed` on the outbox; another seller's SKU is
/// 404 and a malformed price 422, both leaving the price as it was.
#[tokio::test]
async fn http_seller_sets_a_price_with_its_event_and_only_on_its_own_skus() {
    let app = App::in_memory();
    let (mug, _) = app.seed("prc").await;
    let product = app
        .shop
        .catalog()
        .product_by_slug(&mug)
        .await
        .unwrap()
        .unwrap();
    let sku = product.variants[0].sku.as_str().to_owned();
    let (_, bearer) = app
        .staff("price-seller@example.com", Role::Seller(product.seller_id))
        .await;
    let seller = As::signed_in(&bearer);
    let set = app
        .call(
            Method::PUT,
            &format!("/v1/seller/skus/{sku}/price"),
            &seller,
            Some(json!({"price": {"amount": "7.25", "currency": "USD"}})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let events = app
        .shop
        .outbox()
        .claim("price-test", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.topic == "catalog.price_changed"
                && e.event.aggregate_id == product.id.to_string())
    );

    let (_, stranger) = app
        .staff("other-seller@example.com", Role::Seller(SellerId::new()))
        .await;
    let refused = app
        .call(
            Method::PUT,
            &format!("/v1/seller/skus/{sku}/price"),
            &As::signed_in(&stranger),
            Some(json!({"price": {"amount": "1.00", "currency": "USD"}})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    let malformed = app
        .call(
            Method::PUT,
            &format!("/v1/seller/skus/{sku}/price"),
            &seller,
            Some(json!({"price": {"amount": "-1", "currency": "USD"}})),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let stored = app
        .shop
        .catalog()
        .product(product.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.variants[0].price.amount().to_string(), "7.25");
}

/// The seller's stock route (whose location rule the seller's product page shares):
/// units land at the location named, apart from the default one; a malformed code
/// is 422 on the `location` field with nothing written.
#[tokio::test]
async fn http_seller_stock_goes_to_the_named_location_and_a_malformed_code_is_refused() {
    let app = App::in_memory();
    let (mug, _) = app.seed("stk").await;
    let product = app
        .shop
        .catalog()
        .product_by_slug(&mug)
        .await
        .unwrap()
        .unwrap();
    let sku = product.variants[0].sku.as_str().to_owned();
    let (_, bearer) = app
        .staff("stock-seller@example.com", Role::Seller(product.seller_id))
        .await;
    let seller = As::signed_in(&bearer);
    let path = format!("/v1/seller/skus/{sku}/stock");
    let moved = app
        .call(
            Method::POST,
            &path,
            &seller,
            Some(json!({"location": "east-1", "delta": 7})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["location"], "east-1");
    assert_eq!(moved.body["on_hand"], 7);
    let default_before = app
        .call(Method::POST, &path, &seller, Some(json!({"delta": 1})))
        .await;
    assert_eq!(
        default_before.status,
        StatusCode::OK,
        "{}",
        default_before.body
    );
    assert_eq!(default_before.body["location"], "default");

    for bad in ["", "east 1", "../x", &"a".repeat(65)] {
        let refused = app
            .call(
                Method::POST,
                &path,
                &seller,
                Some(json!({"location": bad, "delta": 3})),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {}",
            refused.body
        );
        assert!(
            refused.body.to_string().contains("location"),
            "{}",
            refused.body
        );
    }
    let again = app
        .call(
            Method::POST,
            &path,
            &seller,
            Some(json!({"location": "east-1", "delta": 1})),
        )
        .await;
    assert_eq!(again.body["on_hand"], 8, "{}", again.body);
}
