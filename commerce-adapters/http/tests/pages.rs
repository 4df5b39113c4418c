//! The web pages without a browser: every visitor gets a cart cookie, form posts
//! without the visitor's CSRF token are refused, the core journey works with plain
//! form posts and redirects (no script), staff pages send the anonymous to sign in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use commerce::Shop;
use commerce::core::{Currency, Money, Product, ProductStatus, SellerId, Sku, Variant};
use commerce::inventory::{LocationCode, StockAdjustment};
use commerce_http::pages::{csrf_token, placeholder_svg};
use commerce_http::{AppState, HttpConfig};

struct Page {
    status: StatusCode,
    body: String,
    location: Option<String>,
    cookies: Vec<String>,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Page {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        location,
        cookies,
    }
}

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
        .unwrap()
}

async fn shop_with_a_product() -> Shop {
    let shop = Shop::in_memory();
    let now = shop.clock().now();
    let product = Product::builder(SellerId::new(), "Blue Mug", "blue-mug")
        .description("A mug, blue.")
        .status(ProductStatus::Active)
        .variant(
            Variant::builder(
                Sku::new("MUG-BLUE").unwrap(),
                Money::from_minor(1250, Currency::USD),
            )
            .name("Blue mug"),
        )
        .build()
        .unwrap();
    shop.catalog().upsert_product(&product).await.unwrap();
    shop.inventory()
        .adjust(
            &StockAdjustment::received(Sku::new("MUG-BLUE").unwrap(), 3),
            now,
        )
        .await
        .unwrap();
    shop
}

fn app(shop: &Shop) -> axum::Router {
    let state = AppState::new(shop.clone(), HttpConfig::default());
    commerce_http::router(state.clone()).merge(commerce_http::pages::router(state))
}

const TOKEN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[tokio::test]
async fn web_first_page_sets_a_cart_cookie_and_the_layout() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let page = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.cookies.iter().any(|c| c.starts_with("cart_token=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")),
        "{:?}",
        page.cookies
    );
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("Blue Mug"), "catalog fallback lists it");
    // A visitor who already has a cart cookie keeps it.
    let again = send(&app, get("/", &format!("cart_token={TOKEN}"))).await;
    assert!(again.cookies.iter().all(|c| !c.starts_with("cart_token=")));
}

#[tokio::test]
async fn web_form_post_without_the_csrf_token_is_refused() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let cookie = format!("cart_token={TOKEN}");
    for token in ["", "0000", &csrf_token(TOKEN, Some("another-session"))] {
        let page = send(
            &app,
            post(
                "/cart/add",
                &cookie,
                &[("_csrf", token), ("sku", "MUG-BLUE"), ("quantity", "1")],
            ),
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "token {token:?}");
    }
    assert!(
        shop.carts()
            .cart(&commerce::cart::CartKey::Guest(
                commerce::core::actor::GuestCartToken::parse(TOKEN)
                    .unwrap()
                    .cart_id()
            ))
            .await
            .unwrap()
            .is_none(),
        "a refused post changed the cart"
    );
}

#[tokio::test]
async fn web_guest_buys_with_forms_only() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let cookie = format!("cart_token={TOKEN}");
    let csrf = csrf_token(TOKEN, None);
    let product = send(&app, get("/p/blue-mug", &cookie)).await;
    assert_eq!(product.status, StatusCode::OK);
    assert!(product.body.contains("Only 3 left"), "{}", product.body);
    assert!(product.body.contains(&csrf), "forms carry the token");
    let added = send(
        &app,
        post(
            "/cart/add",
            &cookie,
            &[
                ("_csrf", &csrf),
                ("sku", "MUG-BLUE"),
                ("quantity", "2"),
                ("back", "/p/blue-mug?added=1"),
            ],
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(added.location.as_deref(), Some("/p/blue-mug?added=1"));
    // Another site as `back` is not followed.
    let elsewhere = send(
        &app,
        post(
            "/cart/add",
            &cookie,
            &[
                ("_csrf", &csrf),
                ("sku", "MUG-BLUE"),
                ("back", "//evil.example/"),
            ],
        ),
    )
    .await;
    assert_eq!(elsewhere.location.as_deref(), Some("/cart"));
    let cart = send(&app, get("/cart", &cookie)).await;
    assert!(cart.body.contains("$37.50"), "{}", cart.body);
    assert!(cart.body.contains("Standard shipping"));
    let checkout = send(&app, get("/checkout", &cookie)).await;
    assert!(checkout.body.contains("4242424242424242"));
    let key = "page-test-key-1";
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key),
        ("email", "guest@example.com"),
        ("name", "Grace Guest"),
        ("line1", "1 Main St"),
        ("city", "Springfield"),
        ("region", "IL"),
        ("postal_code", "62701"),
        ("country", "US"),
        ("shipping_method", "standard"),
        ("payment", "card"),
        ("card_number", "4000 0000 0000 0002"),
        ("card_expiry", "12/39"),
        ("card_cvc", "123"),
    ];
    // A declined card shows the form again with the reason, and a new key.
    let declined = send(&app, post("/checkout", &cookie, &form)).await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    assert!(
        declined.body.contains("role=\"alert\""),
        "{}",
        declined.body
    );
    assert!(
        declined.body.contains("Grace Guest"),
        "the form keeps its values"
    );
    let mut approved = form;
    approved[1] = ("key", "page-test-key-2");
    approved[11] = ("card_number", "4242424242424242");
    let placed = send(&app, post("/checkout", &cookie, &approved)).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let to = placed.location.unwrap();
    assert!(
        to.starts_with("/orders/") && to.ends_with("?placed=1"),
        "{to}"
    );
    // Posting the same attempt again (a double click) gives the same order.
    let again = send(&app, post("/checkout", &cookie, &approved)).await;
    assert_eq!(again.location.as_deref(), Some(to.as_str()));
    let confirmation = send(&app, get(&to, &cookie)).await;
    assert_eq!(confirmation.status, StatusCode::OK);
    assert!(confirmation.body.contains("your order is placed"));
    assert!(confirmation.body.contains("$42.50"), "total with shipping");
    // Another visitor does not see it.
    let other = "b".repeat(64);
    let stranger = send(&app, get(&to, &format!("cart_token={other}"))).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn web_staff_pages_send_the_anonymous_to_sign_in_and_refuse_customers() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    for path in ["/seller", "/admin"] {
        let page = send(&app, get(path, &format!("cart_token={TOKEN}"))).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location.unwrap().starts_with("/signin?next="));
    }
    let customer = shop
        .accounts()
        .register("c@example.com", "C", "long enough pw", shop.clock().now())
        .await
        .unwrap();
    let session = shop
        .sessions()
        .create(customer.id, chrono::Duration::hours(1), shop.clock().now())
        .await
        .unwrap();
    let cookie = format!("cart_token={TOKEN}; session={}", session.token.as_str());
    for path in ["/seller", "/admin"] {
        let page = send(&app, get(path, &cookie)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    // A session that ended shows the page signed out and clears the cookie.
    shop.sessions().revoke(&session.token).await.unwrap();
    let page = send(&app, get("/", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.cookies.iter().any(|c| c.starts_with("session=;")));
}

#[test]
fn web_placeholder_art_is_stable_svg_with_escaped_text() {
    let a = placeholder_svg("blue-mug");
    assert_eq!(a, placeholder_svg("blue-mug"));
    assert_ne!(a, placeholder_svg("red-mug"));
    assert!(a.starts_with("<svg") && a.contains(">BM<"));
    assert!(!placeholder_svg("<x>-\"y").contains("<x>"));
}

/// A signed-in cookie for a new staff account of `role`.
async fn staff_cookie(shop: &Shop, email: &str, role: commerce::core::Role) -> String {
    let now = shop.clock().now();
    shop.accounts()
        .create_staff(None, email, "Staff", "staff password 1", role, now)
        .await
        .unwrap();
    let session = shop
        .accounts()
        .sign_in(
            shop.sessions().as_ref(),
            email,
            "staff password 1",
            chrono::Duration::hours(1),
            now,
        )
        .await
        .unwrap();
    format!("cart_token={TOKEN}; session={}", session.token.as_str())
}

/// A signed-in cookie for a new customer account.
async fn customer_cookie(shop: &Shop, email: &str) -> (commerce::core::CustomerId, String) {
    let now = shop.clock().now();
    let customer = shop
        .accounts()
        .register(email, "Cleo Customer", "long enough pw", now)
        .await
        .unwrap();
    let session = shop
        .sessions()
        .create(customer.id, chrono::Duration::hours(1), now)
        .await
        .unwrap();
    (
        customer.id,
        format!("cart_token={TOKEN}; session={}", session.token.as_str()),
    )
}

/// A guest (cart cookie `guest`) buys `quantity` blue mugs with forms; the order id.
async fn guest_order(app: &axum::Router, guest: &str, quantity: &str, key: &str) -> String {
    let cookie = format!("cart_token={guest}");
    let csrf = csrf_token(guest, None);
    let added = send(
        app,
        post(
            "/cart/add",
            &cookie,
            &[
                ("_csrf", &csrf),
                ("sku", "MUG-BLUE"),
                ("quantity", quantity),
            ],
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let placed = send(
        app,
        post(
            "/checkout",
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("key", key),
                ("email", "guest@example.com"),
                ("name", "Grace Guest"),
                ("line1", "1 Main St"),
                ("city", "Springfield"),
                ("region", "IL"),
                ("postal_code", "62701"),
                ("country", "US"),
                ("shipping_method", "standard"),
                ("payment", "card"),
                ("card_number", "4242424242424242"),
                ("card_expiry", "12/39"),
                ("card_cvc", "123"),
            ],
        ),
    )
    .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let to = placed.location.unwrap();
    to.trim_start_matches("/orders/")
        .trim_end_matches("?placed=1")
        .to_owned()
}

async fn mug_seller(shop: &Shop) -> SellerId {
    shop.catalog()
        .product_by_slug("blue-mug")
        .await
        .unwrap()
        .unwrap()
        .seller_id
}

#[tokio::test]
async fn web_seller_ships_part_then_the_rest_from_the_waiting_lines() {
    use commerce::core::Role;
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let guest = "c".repeat(64);
    let id = guest_order(&app, &guest, "2", "seller-page-key").await;
    let order_id: commerce::orders::OrderId = id.parse().unwrap();
    let seller = mug_seller(&shop).await;
    let cookie = staff_cookie(&shop, "seller@example.com", Role::Seller(seller)).await;
    let session = cookie.split("session=").nth(1).unwrap();
    let csrf = csrf_token(TOKEN, Some(session));

    let waiting = send(&app, get("/seller/orders", &cookie)).await;
    assert_eq!(waiting.status, StatusCode::OK);
    assert!(waiting.body.contains("Orders to ship"));
    assert!(waiting.body.contains(&format!("/seller/orders/{id}/ship")));
    assert!(waiting.body.contains("name=\"qty:MUG-BLUE\""));
    assert!(
        waiting.body.contains("UPS (buy a label)"),
        "configured carriers"
    );
    assert!(
        waiting.body.contains("<label for=\"tracking-"),
        "labelled fields"
    );

    // Without the token: refused, nothing shipped.
    let forged = send(
        &app,
        post(
            &format!("/seller/orders/{id}/ship"),
            &cookie,
            &[("qty:MUG-BLUE", "1"), ("carrier", "ups")],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // More than waiting: refused.
    let too_many = send(
        &app,
        post(
            &format!("/seller/orders/{id}/ship"),
            &cookie,
            &[("_csrf", &csrf), ("qty:MUG-BLUE", "3"), ("carrier", "ups")],
        ),
    )
    .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);

    // One unit with a carrier named in free text and its tracking number.
    let first = send(
        &app,
        post(
            &format!("/seller/orders/{id}/ship"),
            &cookie,
            &[
                ("_csrf", &csrf),
                ("back", "orders"),
                ("qty:MUG-BLUE", "1"),
                ("carrier", "other"),
                ("carrier_name", "Bike Courier"),
                ("tracking_number", "BC-1"),
            ],
        ),
    )
    .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert!(
        first
            .location
            .unwrap()
            .starts_with("/seller/orders?shipped=")
    );
    let after = send(&app, get("/seller/orders", &cookie)).await;
    assert!(after.body.contains("max=\"1\""), "one unit still waiting");

    // The rest with a configured carrier: the label's tracking number is recorded.
    let rest = send(
        &app,
        post(
            &format!("/seller/orders/{id}/ship"),
            &cookie,
            &[
                ("_csrf", &csrf),
                ("back", "orders"),
                ("qty:MUG-BLUE", "1"),
                ("carrier", "ups"),
                ("carrier_name", ""),
                ("tracking_number", ""),
            ],
        ),
    )
    .await;
    assert_eq!(rest.status, StatusCode::SEE_OTHER, "{}", rest.body);
    let order = shop
        .checkout()
        .order(&commerce::core::Actor::Admin, order_id)
        .await
        .unwrap();
    let shipments = &order.fulfilment.shipments;
    assert_eq!(shipments.len(), 2);
    assert_eq!(shipments[0].carrier.as_deref(), Some("Bike Courier"));
    assert_eq!(shipments[0].tracking_number.as_deref(), Some("BC-1"));
    assert!(shipments[1].label_reference.is_some(), "a label was bought");
    assert!(shipments[1].tracking_number.is_some());
    let done = send(&app, get("/seller/orders", &cookie)).await;
    assert!(
        done.body.contains("Nothing is waiting for you"),
        "{}",
        done.body
    );

    // The console shows the sales figures.
    let console = send(&app, get("/seller", &cookie)).await;
    assert!(console.body.contains("Units sold"), "{}", console.body);
    assert!(
        console.body.contains("25.00 USD"),
        "revenue: {}",
        console.body
    );

    // Deactivate: refused without the token, then the product is archived.
    let product = shop
        .catalog()
        .product_by_slug("blue-mug")
        .await
        .unwrap()
        .unwrap();
    let path = format!("/seller/products/{}/deactivate", product.id);
    let forged = send(&app, post(&path, &cookie, &[])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let off = send(&app, post(&path, &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let archived = shop.catalog().product(product.id).await.unwrap().unwrap();
    assert_eq!(archived.status, ProductStatus::Archived);

    // Another seller sees nothing of it; customers and admins are refused.
    let other = staff_cookie(&shop, "other@example.com", Role::Seller(SellerId::new())).await;
    let theirs = send(&app, get("/seller/orders", &other)).await;
    assert!(!theirs.body.contains(&id));
    let (_, customer) = customer_cookie(&shop, "c@example.com").await;
    let refused = send(&app, get("/seller/orders", &customer)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let anonymous = send(&app, get("/seller/orders", &format!("cart_token={TOKEN}"))).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn web_admin_lists_orders_refunds_part_once_and_cancels() {
    use commerce::core::Role;
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let first = guest_order(&app, &"d".repeat(64), "1", "admin-page-key-1").await;
    let second = guest_order(&app, &"e".repeat(64), "1", "admin-page-key-2").await;
    let cookie = staff_cookie(&shop, "admin@example.com", Role::Admin).await;
    let session = cookie.split("session=").nth(1).unwrap();
    let csrf = csrf_token(TOKEN, Some(session));

    let list = send(&app, get("/admin/orders", &cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("/admin/orders/{first}")));
    assert!(list.body.contains(&format!("/admin/orders/{second}")));
    assert!(
        list.body.contains("href=\"/admin/reviews\""),
        "the admin navigation"
    );
    let confirmed = send(&app, get("/admin/orders?status=confirmed", &cookie)).await;
    assert!(confirmed.body.contains(&first));
    let cancelled = send(&app, get("/admin/orders?status=cancelled", &cookie)).await;
    assert!(!cancelled.body.contains(&first));
    let bad = send(&app, get("/admin/orders?status=lost", &cookie)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let detail = send(&app, get(&format!("/admin/orders/{first}"), &cookie)).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("Captured"));
    assert!(detail.body.contains("No refunds."));
    assert!(
        detail.body.contains("name=\"key\""),
        "the form carries a key"
    );
    assert!(detail.body.contains("<label for=\"amount\">"));

    // Refund part: twice with the same key (a resubmitted form) refunds once.
    let path = format!("/admin/orders/{first}/refund");
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", "form-key-1"),
        ("amount", "5.00"),
        ("reason", "Chipped handle"),
    ];
    let forged = send(&app, post(&path, &cookie, &form[1..])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    for _ in 0..2 {
        let done = send(&app, post(&path, &cookie, &form)).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
    let order = shop
        .checkout()
        .order(&commerce::core::Actor::Admin, first.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        order.payment.refunded,
        Money::from_minor(500, Currency::USD)
    );
    assert_eq!(order.payment.refunds.len(), 1);
    let detail = send(
        &app,
        get(&format!("/admin/orders/{first}?done=refunded"), &cookie),
    )
    .await;
    assert!(detail.body.contains("Chipped handle"));
    assert!(detail.body.contains("Refund made."));

    // Cancel the other with a note.
    let path = format!("/admin/orders/{second}/cancel");
    let forged = send(&app, post(&path, &cookie, &[("note", "x")])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let empty = send(
        &app,
        post(&path, &cookie, &[("_csrf", &csrf), ("note", " ")]),
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = send(
        &app,
        post(
            &path,
            &cookie,
            &[("_csrf", &csrf), ("note", "Out of stock at the warehouse")],
        ),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let cancelled = send(&app, get("/admin/orders?status=cancelled", &cookie)).await;
    assert!(cancelled.body.contains(&second));

    // Sellers and customers are refused, the anonymous sent to sign in.
    let seller = staff_cookie(
        &shop,
        "seller@example.com",
        Role::Seller(mug_seller(&shop).await),
    )
    .await;
    let (_, customer) = customer_cookie(&shop, "c@example.com").await;
    for who in [&seller, &customer] {
        for path in ["/admin/orders".to_owned(), format!("/admin/orders/{first}")] {
            let page = send(&app, get(&path, who)).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        }
        let refund = send(
            &app,
            post(
                &format!("/admin/orders/{first}/refund"),
                who,
                &[("_csrf", "whatever"), ("key", "k"), ("reason", "r")],
            ),
        )
        .await;
        assert_eq!(refund.status, StatusCode::FORBIDDEN);
    }
    let anonymous = send(&app, get("/admin/orders", &format!("cart_token={TOKEN}"))).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn web_account_saves_notification_preferences_and_keeps_transactional_mail() {
    use commerce::orders::notification::{Channel, NotificationKind};
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let (id, cookie) = customer_cookie(&shop, "prefs@example.com").await;
    let session = cookie.split("session=").nth(1).unwrap();
    let csrf = csrf_token(TOKEN, Some(session));
    let account = send(&app, get("/account", &cookie)).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("Notifications"));
    assert!(
        account.body.contains("Always"),
        "transactional mail shown as such"
    );
    assert!(account.body.contains("name=\"pref:shipped:sms\""));
    assert!(
        !account.body.contains("name=\"pref:order_confirmed:email\""),
        "transactional mail is no choice"
    );
    // Forged: refused, nothing changed.
    let forged = send(&app, post("/account/notifications", &cookie, &[])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Only shipped by email checked: everything else off, transactional mail on.
    let saved = send(
        &app,
        post(
            "/account/notifications",
            &cookie,
            &[("_csrf", &csrf), ("pref:shipped:email", "1")],
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let prefs = shop.notification_preferences().get(id).await.unwrap();
    assert!(prefs.allows(NotificationKind::Shipped, Channel::Email));
    assert!(!prefs.allows(NotificationKind::Shipped, Channel::Sms));
    assert!(!prefs.allows(NotificationKind::Delivered, Channel::Email));
    assert!(prefs.allows(NotificationKind::OrderConfirmed, Channel::Email));
    let account = send(&app, get("/account?saved=notifications", &cookie)).await;
    assert!(account.body.contains("Notification preferences saved."));
    // A guest has no preferences to save.
    let guest = send(
        &app,
        post(
            "/account/notifications",
            &format!("cart_token={TOKEN}"),
            &[("_csrf", &csrf_token(TOKEN, None))],
        ),
    )
    .await;
    assert_eq!(guest.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn web_checkout_offers_the_carriers_options_and_orders_the_chosen_one() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let guest = "f".repeat(64);
    let cookie = format!("cart_token={guest}");
    let csrf = csrf_token(&guest, None);
    send(
        &app,
        post(
            "/cart/add",
            &cookie,
            &[("_csrf", &csrf), ("sku", "MUG-BLUE"), ("quantity", "1")],
        ),
    )
    .await;
    // Without an address: the table's methods and a way to see the carriers'.
    let blank = send(&app, get("/checkout", &cookie)).await;
    assert!(blank.body.contains("value=\"standard\""));
    assert!(
        blank.body.contains("Show carriers&#x27; shipping options")
            || blank.body.contains("Show carriers' shipping options")
    );
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("key", "carrier-option-key"),
        ("email", "guest@example.com"),
        ("name", "Grace Guest"),
        ("line1", "1 Main St"),
        ("city", "Portland"),
        ("region", "OR"),
        ("postal_code", "97201"),
        ("country", "US"),
        ("shipping_method", "standard"),
        ("payment", "card"),
        ("card_number", "4242424242424242"),
        ("card_expiry", "12/39"),
        ("card_cvc", "123"),
    ];
    let mut quote = form.clone();
    quote.push(("action", "quote"));
    let quoted = send(&app, post("/checkout", &cookie, &quote)).await;
    assert_eq!(quoted.status, StatusCode::OK, "{}", quoted.body);
    assert!(
        quoted.body.contains("value=\"standard\""),
        "the table's methods stay"
    );
    assert!(
        quoted.body.contains("value=\"ups:ground\""),
        "{}",
        quoted.body
    );
    assert!(quoted.body.contains(">Cheapest<") && quoted.body.contains(">Fastest<"));
    assert!(quoted.body.contains("business day"));
    assert!(
        shop.orders()
            .list_all(commerce::orders::OrderPage::first(10))
            .await
            .unwrap()
            .is_empty(),
        "showing the options places nothing"
    );
    // The chosen carrier option is the order's.
    form[9] = ("shipping_method", "ups:ground");
    let placed = send(&app, post("/checkout", &cookie, &form)).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let orders = shop
        .orders()
        .list_all(commerce::orders::OrderPage::first(10))
        .await
        .unwrap();
    assert_eq!(orders[0].shipping.code, "ups:ground");
}

#[tokio::test]
async fn web_admin_moderates_reported_reviews() {
    use commerce::core::{CustomerId, Role};
    use commerce::reviews::{Rating, Review, ReviewId, ReviewStatus};
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let product = shop
        .catalog()
        .product_by_slug("blue-mug")
        .await
        .unwrap()
        .unwrap();
    let now = shop.clock().now();
    let write = |title: &str| Review {
        id: ReviewId::new(),
        product_id: product.id,
        customer_id: CustomerId::new(),
        sku: None,
        rating: Rating::new(1).unwrap(),
        title: title.to_owned(),
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
    let rude = write("Rude words here");
    let fine = write("A fair review");
    for r in [&rude, &fine] {
        shop.review_store().create(r, &[]).await.unwrap();
    }
    let reporter = commerce::core::Actor::Customer(CustomerId::new());
    assert!(
        shop.reviews()
            .report(&reporter, rude.id, "insults")
            .await
            .unwrap()
    );
    let cookie = staff_cookie(&shop, "admin@example.com", Role::Admin).await;
    let session = cookie.split("session=").nth(1).unwrap();
    let csrf = csrf_token(TOKEN, Some(session));

    let queue = send(&app, get("/admin/reviews", &cookie)).await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert!(queue.body.contains("Rude words here"), "{}", queue.body);
    assert!(queue.body.contains("1 report"));
    assert!(
        !queue.body.contains("A fair review"),
        "not reported, not hidden"
    );
    assert!(
        queue
            .body
            .contains(&format!("<label for=\"reason-{}\">", rude.id))
    );

    let hide = format!("/admin/reviews/{}/hide", rude.id);
    let forged = send(&app, post(&hide, &cookie, &[("reason", "abuse")])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let no_reason = send(
        &app,
        post(&hide, &cookie, &[("_csrf", &csrf), ("reason", "")]),
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let hidden = send(
        &app,
        post(
            &hide,
            &cookie,
            &[("_csrf", &csrf), ("reason", "Abusive language")],
        ),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::SEE_OTHER, "{}", hidden.body);
    let stored = shop.review_store().get(rude.id).await.unwrap().unwrap();
    assert_eq!(stored.status, ReviewStatus::Hidden);
    let queue = send(&app, get("/admin/reviews?done=hidden", &cookie)).await;
    assert!(
        queue.body.contains("Abusive language"),
        "the reason is shown"
    );
    // The status filter: hidden lists it, published (reported, still shown) not.
    let only_hidden = send(&app, get("/admin/reviews?status=hidden", &cookie)).await;
    assert!(only_hidden.body.contains("Rude words here"));
    assert!(
        only_hidden
            .body
            .contains("<label for=\"status\">Status</label>")
    );
    assert!(
        only_hidden
            .body
            .contains("<option value=\"hidden\" selected>")
    );
    let only_shown = send(&app, get("/admin/reviews?status=published", &cookie)).await;
    assert_eq!(only_shown.status, StatusCode::OK);
    assert!(!only_shown.body.contains("Rude words here"));
    assert!(
        queue
            .body
            .contains(&format!("/admin/reviews/{}/restore", rude.id))
    );

    let restored = send(
        &app,
        post(
            &format!("/admin/reviews/{}/restore", rude.id),
            &cookie,
            &[("_csrf", &csrf), ("reason", "Reviewed again: acceptable")],
        ),
    )
    .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    let stored = shop.review_store().get(rude.id).await.unwrap().unwrap();
    assert_eq!(stored.status, ReviewStatus::Published);

    // Sellers (even the product's) and customers are refused here.
    let seller = staff_cookie(&shop, "seller@example.com", Role::Seller(product.seller_id)).await;
    let (_, customer) = customer_cookie(&shop, "c@example.com").await;
    for who in [&seller, &customer] {
        let page = send(&app, get("/admin/reviews", who)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        let s = who.split("session=").nth(1).unwrap();
        let post_as = send(
            &app,
            post(
                &hide,
                who,
                &[("_csrf", &csrf_token(TOKEN, Some(s))), ("reason", "x")],
            ),
        )
        .await;
        assert_eq!(post_as.status, StatusCode::FORBIDDEN);
    }
    let anonymous = send(&app, get("/admin/reviews", &format!("cart_token={TOKEN}"))).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

/// The CSRF token of a signed-in `cookie` (`cart_token=TOKEN; session=...`).
fn csrf_of(cookie: &str) -> String {
    let session = cookie.split("session=").nth(1).unwrap();
    csrf_token(TOKEN, Some(session))
}

#[tokio::test]
async fn web_admin_catalog_edits_the_category_tree_and_products() {
    use commerce::core::Role;
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let cookie = staff_cookie(&shop, "catalog-admin@example.com", Role::Admin).await;
    let csrf = csrf_of(&cookie);
    let (_, customer) = customer_cookie(&shop, "not-staff@example.com").await;
    assert_eq!(
        send(&app, get("/admin/catalog", &customer)).await.status,
        StatusCode::FORBIDDEN
    );

    // Create a root and a child (its handle made from the name).
    let create = |name: &'static str, parent: String| {
        let csrf = csrf.clone();
        let cookie = cookie.clone();
        let app = app.clone();
        async move {
            let form = [
                ("_csrf", csrf.as_str()),
                ("name", name),
                ("slug", ""),
                ("parent_id", parent.as_str()),
            ];
            send(&app, post("/admin/catalog/categories", &cookie, &form)).await
        }
    };
    let made = create("Kitchen", String::new()).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let tree = shop.catalog().categories().await.unwrap();
    let kitchen = tree.iter().find(|c| c.slug == "kitchen").unwrap().clone();
    let made = create("Mugs & Cups", kitchen.id.to_string()).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let tree = shop.catalog().categories().await.unwrap();
    let mugs = tree.iter().find(|c| c.slug == "mugs-cups").unwrap().clone();
    assert_eq!(mugs.parent_id, Some(kitchen.id));
    let empty = create("   ", String::new()).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Rename; a move under its own child is refused and changes nothing.
    let renamed = send(
        &app,
        post(
            &format!("/admin/catalog/categories/{}/rename", mugs.id),
            &cookie,
            &[("_csrf", csrf.as_str()), ("name", "Mugs")],
        ),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let cycle = send(
        &app,
        post(
            &format!("/admin/catalog/categories/{}/move", kitchen.id),
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("parent_id", &mugs.id.to_string()),
            ],
        ),
    )
    .await;
    assert_eq!(cycle.status, StatusCode::CONFLICT);
    assert!(cycle.body.contains("own ancestor"), "{}", cycle.body);
    let moved = send(
        &app,
        post(
            &format!("/admin/catalog/categories/{}/move", mugs.id),
            &cookie,
            &[("_csrf", csrf.as_str()), ("parent_id", "")],
        ),
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let tree = shop.catalog().categories().await.unwrap();
    let now_mugs = tree.iter().find(|c| c.id == mugs.id).unwrap();
    assert_eq!((now_mugs.name.as_str(), now_mugs.parent_id), ("Mugs", None));
    assert_eq!(
        tree.iter().find(|c| c.id == kitchen.id).unwrap().parent_id,
        None
    );

    // The page: the tree with its forms, the products filtered by seller.
    let page = send(&app, get("/admin/catalog", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "href=\"/admin/customers\"",
        "href=\"/admin/catalog\" aria-current=\"page\"",
        "<strong>Mugs</strong>",
        "<label for=\"new-name\">",
        &format!("/admin/catalog/categories/{}/move", kitchen.id),
        "Blue Mug",
    ] {
        assert!(page.body.contains(needle), "{needle}");
    }
    let seller = mug_seller(&shop).await;
    let other = send(
        &app,
        get(
            &format!("/admin/catalog?seller={}", SellerId::new()),
            &cookie,
        ),
    )
    .await;
    assert!(!other.body.contains("Blue Mug"));
    let own = send(
        &app,
        get(
            &format!("/admin/catalog?seller={seller}&status=active"),
            &cookie,
        ),
    )
    .await;
    assert!(own.body.contains("Blue Mug"));

    // Edit any seller's product, then deactivate it.
    let product = shop
        .catalog()
        .product_by_slug("blue-mug")
        .await
        .unwrap()
        .unwrap();
    let path = format!("/admin/catalog/products/{}", product.id);
    let edit = send(&app, get(&path, &cookie)).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains("<label for=\"title\">"));
    let saved = send(
        &app,
        post(
            &path,
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("title", "Big Blue Mug"),
                ("brand", "Potter"),
                ("description", "A mug, blue and big."),
                ("active", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let gone = send(
        &app,
        post(
            &format!("{path}/deactivate"),
            &cookie,
            &[("_csrf", csrf.as_str())],
        ),
    )
    .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let stored = shop.catalog().product(product.id).await.unwrap().unwrap();
    assert_eq!(stored.title, "Big Blue Mug");
    assert_eq!(stored.brand.as_deref(), Some("Potter"));
    assert_eq!(stored.status, ProductStatus::Archived);
}

#[tokio::test]
async fn web_admin_customers_searches_and_shows_profile_addresses_and_orders() {
    use commerce::core::Role;
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let (id, customer) = customer_cookie(&shop, "cleo@example.com").await;
    customer_cookie(&shop, "zed@example.com").await;
    let csrf = csrf_of(&customer);
    let added = send(
        &app,
        post(
            "/cart/add",
            &customer,
            &[("_csrf", &csrf), ("sku", "MUG-BLUE"), ("quantity", "1")],
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let placed = send(
        &app,
        post(
            "/checkout",
            &customer,
            &[
                ("_csrf", csrf.as_str()),
                ("key", "customer-page-key"),
                ("email", "cleo@example.com"),
                ("name", "Cleo Customer"),
                ("line1", "1 Main St"),
                ("city", "Springfield"),
                ("region", "IL"),
                ("postal_code", "62701"),
                ("country", "US"),
                ("save_address", "1"),
                ("shipping_method", "standard"),
                ("payment", "card"),
                ("card_number", "4242424242424242"),
                ("card_expiry", "12/39"),
                ("card_cvc", "123"),
            ],
        ),
    )
    .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let order_id = placed
        .location
        .unwrap()
        .trim_start_matches("/orders/")
        .trim_end_matches("?placed=1")
        .to_owned();
    let added = send(
        &app,
        post(
            "/account/addresses",
            &customer,
            &[
                ("_csrf", csrf.as_str()),
                ("name", "Cleo Customer"),
                ("line1", "9 Elm Rd"),
                ("city", "Portland"),
                ("region", "OR"),
                ("postal_code", "97201"),
                ("country", "US"),
            ],
        ),
    )
    .await;
    assert!(added.status.is_redirection(), "{}", added.body);

    let cookie = staff_cookie(&shop, "people-admin@example.com", Role::Admin).await;
    let list = send(&app, get("/admin/customers", &cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("cleo@example.com") && list.body.contains("zed@example.com"));
    assert!(list.body.contains("<label for=\"email\">"));
    let found = send(&app, get("/admin/customers?email=CLE", &cookie)).await;
    assert!(found.body.contains(&format!("/admin/customers/{id}")));
    assert!(!found.body.contains("zed@example.com"));

    let detail = send(&app, get(&format!("/admin/customers/{id}"), &cookie)).await;
    assert_eq!(detail.status, StatusCode::OK);
    for needle in [
        "Cleo Customer",
        "cleo@example.com",
        "9 Elm Rd",
        &format!("href=\"/admin/orders/{order_id}\""),
    ] {
        assert!(detail.body.contains(needle), "{needle}");
    }
    let older = send(
        &app,
        get(&format!("/admin/customers/{id}?before={order_id}"), &cookie),
    )
    .await;
    assert!(!older.body.contains(&format!("/admin/orders/{order_id}")));
    let unknown = send(
        &app,
        get(
            &format!("/admin/customers/{}", commerce::core::CustomerId::new()),
            &cookie,
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn web_admin_creates_a_product_for_a_seller_and_edits_its_categories_and_prices() {
    use commerce::core::{Category, CategoryId, Role, Seller};
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let seller = Seller::new(SellerId::new(), "Pottery Co", "pottery-co", "p@example.com");
    shop.catalog().upsert_seller(&seller).await.unwrap();
    let category = |name: &str, slug: &str| Category {
        id: CategoryId::new(),
        parent_id: None,
        name: name.to_owned(),
        slug: slug.to_owned(),
    };
    let kitchen = category("Kitchen", "kitchen");
    let gifts = category("Gifts", "gifts");
    for c in [&kitchen, &gifts] {
        shop.catalog().upsert_category(c).await.unwrap();
    }
    let cookie = staff_cookie(&shop, "catalog-admin@example.com", Role::Admin).await;
    let csrf = csrf_of(&cookie);

    // The catalog page offers the form, every field labelled, the seller chosen.
    let catalog = send(&app, get("/admin/catalog", &cookie)).await;
    assert!(catalog.body.contains("action=\"/admin/catalog/products\""));
    for field in [
        "np-seller",
        "np-title",
        "np-slug",
        "np-sku",
        "np-amount",
        "np-currency",
    ] {
        assert!(
            catalog.body.contains(&format!("<label for=\"{field}\">")),
            "{field} labelled"
        );
    }
    assert!(catalog.body.contains("Pottery Co"));
    let seller_id = seller.id.to_string();
    let made = send(
        &app,
        post(
            "/admin/catalog/products",
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("seller_id", seller_id.as_str()),
                ("title", "Green Bowl"),
                ("slug", ""),
                ("sku", "BOWL-GREEN"),
                ("amount", "18.00"),
                ("currency", "USD"),
            ],
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let bowl = shop
        .catalog()
        .product_by_slug("green-bowl")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bowl.seller_id, seller.id);
    assert_eq!(bowl.status, ProductStatus::Draft);
    assert_eq!(
        bowl.variants[0].price,
        Money::from_minor(1800, Currency::USD)
    );
    // Bad input: a typed 4xx page, nothing written.
    for (field, value, status) in [
        ("seller_id", "nope", StatusCode::NOT_FOUND),
        ("amount", "-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("title", " ", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let mut form = vec![
            ("_csrf", csrf.as_str()),
            ("seller_id", seller_id.as_str()),
            ("title", "Red Bowl"),
            ("sku", "BOWL-RED"),
            ("amount", "5"),
            ("currency", "USD"),
        ];
        form.retain(|(k, _)| *k != field);
        form.push((field, value));
        let refused = send(&app, post("/admin/catalog/products", &cookie, &form)).await;
        assert_eq!(refused.status, status, "{field}={value}: {}", refused.body);
    }
    assert!(
        shop.catalog()
            .product_by_slug("red-bowl")
            .await
            .unwrap()
            .is_none()
    );

    // Categories: the checked boxes replace the list.
    let edit = format!("/admin/catalog/products/{}", bowl.id);
    let page = send(&app, get(&edit, &cookie)).await;
    assert!(page.body.contains(&format!("value=\"{}\"", kitchen.id)));
    let kitchen_id = kitchen.id.to_string();
    let gifts_id = gifts.id.to_string();
    let saved = send(
        &app,
        post(
            &format!("{edit}/categories"),
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("category_id", kitchen_id.as_str()),
                ("category_id", gifts_id.as_str()),
            ],
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let stored = shop.catalog().product(bowl.id).await.unwrap().unwrap();
    assert_eq!(stored.category_ids, vec![kitchen.id, gifts.id]);
    let unknown = CategoryId::new().to_string();
    let refused = send(
        &app,
        post(
            &format!("{edit}/categories"),
            &cookie,
            &[("_csrf", csrf.as_str()), ("category_id", unknown.as_str())],
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = send(&app, get(&format!("{edit}?done=categories"), &cookie)).await;
    assert!(page.body.contains("Categories saved."));
    assert!(
        page.body
            .contains(&format!("value=\"{kitchen_id}\" checked"))
    );
    let only_gifts = send(
        &app,
        post(
            &format!("{edit}/categories"),
            &cookie,
            &[("_csrf", csrf.as_str()), ("category_id", gifts_id.as_str())],
        ),
    )
    .await;
    assert_eq!(only_gifts.status, StatusCode::SEE_OTHER);
    let stored = shop.catalog().product(bowl.id).await.unwrap().unwrap();
    assert_eq!(stored.category_ids, vec![gifts.id]);

    // A variant's price, with its event on the outbox like the seller's route.
    assert!(
        page.body
            .contains("<label class=\"sr\" for=\"price-BOWL-GREEN\">")
    );
    let priced = send(
        &app,
        post(
            &format!("{edit}/price"),
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("sku", "BOWL-GREEN"),
                ("amount", "16.50"),
                ("currency", "USD"),
            ],
        ),
    )
    .await;
    assert_eq!(priced.status, StatusCode::SEE_OTHER, "{}", priced.body);
    let stored = shop.catalog().product(bowl.id).await.unwrap().unwrap();
    assert_eq!(
        stored.variants[0].price,
        Money::from_minor(1650, Currency::USD)
    );
    let events = shop
        .outbox()
        .claim("pages-test", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.topic == "catalog.price_changed"
                && e.event.aggregate_id == bowl.id.to_string()),
        "the price event is on the outbox"
    );
    for (amount, currency) in [("-2", "USD"), ("1.234", "USD"), ("3", "EUR")] {
        let refused = send(
            &app,
            post(
                &format!("{edit}/price"),
                &cookie,
                &[
                    ("_csrf", csrf.as_str()),
                    ("sku", "BOWL-GREEN"),
                    ("amount", amount),
                    ("currency", currency),
                ],
            ),
        )
        .await;
        assert!(
            refused.status.is_client_error(),
            "{amount} {currency}: {}",
            refused.status
        );
    }
    let stored = shop.catalog().product(bowl.id).await.unwrap().unwrap();
    assert_eq!(
        stored.variants[0].price,
        Money::from_minor(1650, Currency::USD)
    );
}

#[tokio::test]
async fn web_seller_creates_a_product_edits_its_price_and_receives_stock() {
    use commerce::core::Role;
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let seller = mug_seller(&shop).await;
    let cookie = staff_cookie(&shop, "maker@example.com", Role::Seller(seller)).await;
    let csrf = csrf_of(&cookie);
    let form = send(&app, get("/seller/products/new", &cookie)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("<label for=\"stock\">"));

    let made = send(
        &app,
        post(
            "/seller/products",
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("title", "Red Mug"),
                ("slug", "red-mug"),
                ("sku", "MUG-RED"),
                ("price", "11.00"),
                ("stock", "4"),
                ("active", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let mug = shop
        .catalog()
        .product_by_slug("red-mug")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mug.seller_id, seller);
    let red = Sku::new("MUG-RED").unwrap();
    let on_hand = |shop: Shop| {
        let red = red.clone();
        async move {
            shop.inventory()
                .stock_levels(&[red], &LocationCode::default_location())
                .await
                .unwrap()[0]
                .on_hand
        }
    };
    assert_eq!(on_hand(shop.clone()).await, 4);
    // A taken SKU and a malformed price are refused, nothing written.
    for (sku, price, status) in [
        ("MUG-RED", "3", StatusCode::CONFLICT),
        ("MUG-NEW", "abc", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let refused = send(
            &app,
            post(
                "/seller/products",
                &cookie,
                &[
                    ("_csrf", csrf.as_str()),
                    ("title", "Another"),
                    ("slug", "another"),
                    ("sku", sku),
                    ("price", price),
                ],
            ),
        )
        .await;
        assert_eq!(refused.status, status, "{sku} {price}: {}", refused.body);
    }
    assert!(
        shop.catalog()
            .product_by_slug("another")
            .await
            .unwrap()
            .is_none()
    );

    // The price on the edit form; the catalog puts PriceChanged on the outbox.
    let edit = format!("/seller/products/{}", mug.id);
    let saved = send(
        &app,
        post(
            &edit,
            &cookie,
            &[("_csrf", csrf.as_str()), ("price:MUG-RED", "9.50")],
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let stored = shop.catalog().product(mug.id).await.unwrap().unwrap();
    assert_eq!(
        stored.variants[0].price,
        Money::from_minor(950, Currency::USD)
    );
    let events = shop
        .outbox()
        .claim("seller-pages", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.topic == "catalog.price_changed"
                && e.event.aggregate_id == mug.id.to_string())
    );

    // Stock received, then written off; a non-number refused.
    for (delta, want) in [("6", 10), ("-3", 7)] {
        let moved = send(
            &app,
            post(
                &format!("{edit}/stock"),
                &cookie,
                &[
                    ("_csrf", csrf.as_str()),
                    ("sku", "MUG-RED"),
                    ("delta", delta),
                ],
            ),
        )
        .await;
        assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
        assert_eq!(on_hand(shop.clone()).await, want);
    }
    let refused = send(
        &app,
        post(
            &format!("{edit}/stock"),
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("sku", "MUG-RED"),
                ("delta", "lots"),
            ],
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(on_hand(shop.clone()).await, 7);

    // Another seller's product is not theirs to edit.
    let blue = shop
        .catalog()
        .product_by_slug("blue-mug")
        .await
        .unwrap()
        .unwrap();
    let other = staff_cookie(&shop, "stranger@example.com", Role::Seller(SellerId::new())).await;
    let page = send(&app, get(&format!("/seller/products/{}", blue.id), &other)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn web_seller_sets_stock_per_location_from_the_product_page() {
    use commerce::core::Role;
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let seller = mug_seller(&shop).await;
    let mug = shop
        .catalog()
        .product_by_slug("blue-mug")
        .await
        .unwrap()
        .unwrap();
    let cookie = staff_cookie(&shop, "maker@example.com", Role::Seller(seller)).await;
    let csrf = csrf_of(&cookie);
    let blue = Sku::new("MUG-BLUE").unwrap();
    let at = |code: &str| {
        let (shop, blue, code) = (shop.clone(), blue.clone(), LocationCode(code.to_owned()));
        async move {
            shop.inventory()
                .stock(&blue, &code)
                .await
                .unwrap()
                .map_or(0, |l| l.on_hand)
        }
    };
    let edit = format!("/seller/products/{}", mug.id);

    // The page shows the default location, with a labelled field to pick another.
    let page = send(&app, get(&edit, &cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Stock at default"), "{}", page.body);
    assert!(
        page.body
            .contains("<label for=\"location\">Location</label>")
    );

    // Units received at a second warehouse land there, not at the default, and
    // the redirect comes back to that warehouse's view.
    let moved = send(
        &app,
        post(
            &format!("{edit}/stock"),
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("sku", "MUG-BLUE"),
                ("location", "east-1"),
                ("delta", "5"),
            ],
        ),
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(
        moved.location.as_deref(),
        Some(format!("{edit}?location=east-1").as_str())
    );
    assert_eq!(at("east-1").await, 5);
    assert_eq!(at("default").await, 3);

    // That view shows the warehouse's level and posts its adjustments there.
    let east = send(&app, get(&format!("{edit}?location=east-1"), &cookie)).await;
    assert_eq!(east.status, StatusCode::OK, "{}", east.body);
    assert!(east.body.contains("Stock at east-1"), "{}", east.body);
    assert!(
        east.body
            .contains("<input type=\"hidden\" name=\"location\" value=\"east-1\">")
    );
    assert!(
        east.body.contains("<td data-label=\"On hand\">5</td>"),
        "{}",
        east.body
    );

    // A blank location is the default one.
    let default = send(
        &app,
        post(
            &format!("{edit}/stock"),
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("sku", "MUG-BLUE"),
                ("location", " "),
                ("delta", "-1"),
            ],
        ),
    )
    .await;
    assert_eq!(default.status, StatusCode::SEE_OTHER, "{}", default.body);
    assert_eq!(default.location.as_deref(), Some(edit.as_str()));
    assert_eq!(at("default").await, 2);
    assert_eq!(at("east-1").await, 5);

    // A malformed location is refused (form and view), nothing written.
    let refused = send(
        &app,
        post(
            &format!("{edit}/stock"),
            &cookie,
            &[
                ("_csrf", csrf.as_str()),
                ("sku", "MUG-BLUE"),
                ("location", "east 1/../x"),
                ("delta", "4"),
            ],
        ),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Location"), "{}", refused.body);
    let bad_view = send(&app, get(&format!("{edit}?location=a%20b"), &cookie)).await;
    assert_eq!(bad_view.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(at("default").await, 2);
    assert_eq!(at("east-1").await, 5);
}

#[tokio::test]
async fn web_category_page_lists_its_products_and_search_offers_did_you_mean() {
    use commerce::core::memory::MemorySearch;
    use commerce::core::search::{IndexChange, ProductSearch, SearchDocument};
    use commerce::core::{Category, CategoryId};
    let shop = shop_with_a_product().await;
    let kitchen = Category {
        id: CategoryId::new(),
        parent_id: None,
        name: "Kitchen".to_owned(),
        slug: "kitchen".to_owned(),
    };
    shop.catalog().upsert_category(&kitchen).await.unwrap();
    let mut mug = shop
        .catalog()
        .product_by_slug("blue-mug")
        .await
        .unwrap()
        .unwrap();
    mug.category_ids = vec![kitchen.id];
    shop.catalog().upsert_product(&mug).await.unwrap();
    let search = MemorySearch::new();
    search
        .apply(
            vec![
                IndexChange::Categories(vec![kitchen.clone()]),
                IndexChange::Put(SearchDocument::from_product(&mug, "Mug Maker").unwrap()),
            ],
            None,
        )
        .await
        .unwrap();
    let state =
        AppState::new(shop.clone(), HttpConfig::default()).with_search(std::sync::Arc::new(search));
    let app = commerce_http::router(state.clone()).merge(commerce_http::pages::router(state));
    let cookie = format!("cart_token={TOKEN}");

    let page = send(&app, get("/c/kitchen", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Kitchen"));
    assert!(page.body.contains("Blue Mug"), "{}", page.body);
    assert!(page.body.contains("Price"), "the price facet");
    assert_eq!(
        send(&app, get("/c/no-such-shelf", &cookie)).await.status,
        StatusCode::NOT_FOUND
    );

    // A misspelt word finds nothing and offers the close spelling.
    let typo = send(&app, get("/search?q=bkue", &cookie)).await;
    assert_eq!(typo.status, StatusCode::OK);
    assert!(typo.body.contains("Did you mean"), "{}", typo.body);
    assert!(typo.body.contains("q=blue"), "{}", typo.body);
    let right = send(&app, get("/search?q=blue", &cookie)).await;
    assert!(right.body.contains("Blue Mug"));
    assert!(!right.body.contains("Did you mean"));
}

#[tokio::test]
async fn web_password_reset_by_forms_is_single_use_and_answers_alike_for_unknown_emails() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let (customer, _) = customer_cookie(&shop, "forgetful@example.com").await;
    let cookie = format!("cart_token={TOKEN}");
    let csrf = csrf_token(TOKEN, None);
    let form = send(&app, get("/reset", &cookie)).await;
    assert!(form.body.contains("<label for=\"email\">Email</label>"));

    let ask = |email: &'static str| {
        let (app, cookie, csrf) = (app.clone(), cookie.clone(), csrf.clone());
        async move {
            send(
                &app,
                post(
                    "/reset",
                    &cookie,
                    &[("_csrf", csrf.as_str()), ("email", email)],
                ),
            )
            .await
        }
    };
    let known = ask("forgetful@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(
        known.body.replace("forgetful@example.com", "X"),
        unknown.body.replace("nobody@example.com", "X"),
        "the same answer either way"
    );
    let entries = shop
        .outbox()
        .claim("reset-pages", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let links: Vec<String> = entries
        .iter()
        .filter(|e| e.event.topic == "account.password_reset")
        .filter_map(|e| e.event.payload["reset_url"].as_str())
        .filter_map(|u| u.split_once("token=").map(|(_, t)| t.to_owned()))
        .collect();
    assert_eq!(links.len(), 1, "one mail, for the known account only");
    let token = &links[0];

    let choose = send(
        &app,
        get(&format!("/reset-password?token={token}"), &cookie),
    )
    .await;
    assert!(choose.body.contains("<label for=\"password\">"));
    let set = |password: &'static str, token: String| {
        let (app, cookie, csrf) = (app.clone(), cookie.clone(), csrf.clone());
        async move {
            send(
                &app,
                post(
                    "/reset-password",
                    &cookie,
                    &[
                        ("_csrf", csrf.as_str()),
                        ("token", token.as_str()),
                        ("password", password),
                    ],
                ),
            )
            .await
        }
    };
    let short = set("short", token.clone()).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = set("a brand new password", token.clone()).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/signin?reset=1"));
    assert_eq!(
        shop.accounts()
            .login("forgetful@example.com", "a brand new password")
            .await
            .unwrap(),
        customer
    );
    assert!(
        shop.accounts()
            .login("forgetful@example.com", "long enough pw")
            .await
            .is_err()
    );
    let again = set("yet another password", token.clone()).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "single use");
    let forged = set("yet another password", "not-a-token".to_owned()).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
}
