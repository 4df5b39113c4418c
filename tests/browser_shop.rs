//! The shop's pages in a real browser: Debian's Chromium driven through
//! chromedriver (WebDriver, crate fantoccini) against the pages served by
//! `commerce_http::pages` over an in-memory shop with a small generated catalog,
//! its search index and the analytics rollups fed by their workers.
//!
//! Screenshots of every page land in `target/browser-shop/` on each run; the key
//! ones are copied into `docs/screenshots/` by hand when the pages change (the
//! admin's customers and catalog pages, a category page with a facet chosen, and
//! the product page and cart at phone width, included). The search box's
//! suggestions (the script's datalist) are typed into and followed.
//!
//! Needs `chromium` and `chromedriver` (`apt-get install -y chromium
//! chromium-driver`); the test fails with that message when they are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use commerce::Shop;
use commerce::core::generator::CatalogGenerator;
use commerce::core::search::ProductSearch;
use commerce::core::{Role, RunnerConfig, Sku, run_once};
use commerce::inventory::StockAdjustment;
use commerce_http::{AppState, HttpConfig};
use commerce_search::{CONSUMER, SearchIndexer, TantivySearch};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Products in the test catalog.
const PRODUCTS: u64 = 40;

fn artefacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-shop");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn binary(env: &str, default: &str) -> String {
    let bin = std::env::var(env).unwrap_or_else(|_| default.to_owned());
    let found = std::process::Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "{bin} is not installed: browser tests need Chromium and its driver.\n\
         Install them with: apt-get update && apt-get install -y chromium chromium-driver"
    );
    bin
}

/// The shop with its catalog seeded and indexed, served on a free port; returns
/// the shop and the base URL. Workers (search indexer, analytics rollups) run
/// every 100 ms in the background.
async fn serve() -> (Shop, String) {
    let shop = Shop::in_memory();
    let generator = CatalogGenerator::new(2026, 2);
    for seller in generator.sellers() {
        shop.catalog().upsert_seller(seller).await.unwrap();
    }
    for category in generator.categories() {
        shop.catalog().upsert_category(category).await.unwrap();
    }
    let now = shop.clock().now();
    for generated in generator.products(0..PRODUCTS) {
        shop.catalog()
            .upsert_product(&generated.product)
            .await
            .unwrap();
        for level in &generated.signals.stock {
            shop.inventory()
                .adjust(
                    &StockAdjustment::received(Sku::new(level.sku.as_str()).unwrap(), 20),
                    now,
                )
                .await
                .unwrap();
        }
    }
    let search: Arc<dyn ProductSearch> = Arc::new(TantivySearch::in_ram().unwrap());
    let indexer = SearchIndexer::new(
        search.clone(),
        shop.catalog().clone(),
        Some(shop.orders().clone()),
    );
    let runner = indexer.runner(shop.outbox().clone(), CONSUMER);
    {
        let shop = shop.clone();
        tokio::spawn(async move {
            let rollups = shop.analytics_consumer();
            loop {
                let _ = runner.drain().await;
                let _ = run_once(shop.outbox().as_ref(), &rollups, RunnerConfig::default()).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    let state = AppState::new(shop.clone(), HttpConfig::default()).with_search(search);
    let app = commerce_http::router(state.clone()).merge(commerce_http::pages::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (shop, format!("http://{addr}"))
}

/// chromedriver on a free port, and a headless Chromium session through it.
async fn browser() -> (tokio::process::Child, Client) {
    let chromium = binary("CHROMIUM", "chromium");
    let driver = binary("CHROMEDRIVER", "chromedriver");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let chromium_path = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {chromium}"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or(chromium);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium_path,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--window-size=1280,900", "--lang=en-US"],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return (child, c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not start a session: {last:?}");
}

/// Saves a screenshot of the whole page as `name.png` (the window grown to the
/// page's height, at `width`).
async fn shot(c: &Client, name: &str, width: u32) {
    let height = c
        .execute(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(900)
        .clamp(600, 4000);
    c.set_window_size(width, u32::try_from(height).unwrap() + 140)
        .await
        .unwrap();
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(artefacts().join(format!("{name}.png")), png).unwrap();
    c.set_window_size(1280, 900).await.unwrap();
}

async fn fill(c: &Client, id: &str, value: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// The text of the page's `main`. A click or a script may be replacing the page
/// while we read it (the element found goes stale, or is not there yet), so a
/// failed read is retried for up to five seconds before it fails the test.
async fn text(c: &Client) -> String {
    let mut last = None;
    for _ in 0..50 {
        let read = match c.find(Locator::Css("main")).await {
            Ok(main) => main.text().await,
            Err(e) => Err(e),
        };
        match read {
            Ok(t) => return t,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page's main never became readable: {last:?}");
}

/// Waits until the main text contains `needle` (pages with scripts may update).
async fn wait_text(c: &Client, needle: &str) -> String {
    for _ in 0..50 {
        let t = text(c).await;
        if t.contains(needle) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("page never showed {needle:?}: {}", text(c).await);
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("form[action='/signout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "Popular right now").await;
}

async fn sign_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(&format!("{base}/signin")).await.unwrap();
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..50 {
        if !c.current_url().await.unwrap().path().starts_with("/signin") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sign in as {email} failed: {}", text(c).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shopper_buys_seller_ships_shopper_tracks_admin_sees_it() {
    let (shop, base) = serve().await;
    let (_driver, c) = browser().await;
    let run = async {
        // The index is fed by its worker: wait for the catalog to be searchable.
        let first = CatalogGenerator::new(2026, 2)
            .products(0..1)
            .next()
            .unwrap()
            .product;
        let word = first
            .title
            .split_whitespace()
            .max_by_key(|w| w.len())
            .unwrap()
            .to_lowercase();

        // Home: categories and popular products.
        c.goto(&format!("{base}/")).await.unwrap();
        let home = wait_text(&c, "Popular right now").await;
        assert!(home.contains("Categories"), "{home}");
        shot(&c, "home", 1280).await;

        // A category page from the home page's tree, with its facets; one filter
        // applied (in stock only) so the screenshot shows a chosen facet.
        c.find(Locator::Css("main a.cat"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "Availability").await;
        assert!(c.current_url().await.unwrap().path().starts_with("/c/"));
        c.find(Locator::LinkText("In stock only"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "Availability").await;
        let filtered = c
            .find(Locator::Css(".facets a[aria-current]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(filtered, "In stock only");
        shot(&c, "category", 1280).await;

        // Sign up: the new customer is signed in.
        c.goto(&format!("{base}/signup")).await.unwrap();
        fill(&c, "name", "Ada Shopper").await;
        fill(&c, "email", "ada@example.com").await;
        fill(&c, "password", "correct horse battery").await;
        c.find(Locator::Css("main form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "Hello, Ada Shopper").await;

        // Search from the box in the header.
        let mut found = false;
        for _ in 0..50 {
            c.goto(&format!("{base}/search?q={word}")).await.unwrap();
            if text(&c).await.contains(&first.title) {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(found, "search for {word:?} never found {:?}", first.title);
        fill(&c, "q", &word).await;
        c.find(Locator::Css("form.search button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let results = wait_text(&c, &first.title).await;
        assert!(results.contains("Price"), "facets missing: {results}");
        shot(&c, "search", 1280).await;

        // The search box's suggestions (the script fills its datalist from
        // `/v1/catalog/suggest` as one types): a prefix offers the product's
        // title; choosing it fills the box, and searching it finds the product.
        let prefix: String = word.chars().take(4).collect();
        fill(&c, "q", &prefix).await;
        let mut offered = Vec::new();
        for _ in 0..30 {
            offered = c
                .execute(
                    "return Array.from(document.querySelectorAll('#suggestions option'), o => o.value);",
                    vec![],
                )
                .await
                .unwrap()
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect::<Vec<String>>();
            if offered.contains(&first.title) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            offered.contains(&first.title),
            "typing {prefix:?} never suggested {:?}: {offered:?}",
            first.title
        );
        fill(&c, "q", &first.title).await;
        c.find(Locator::Css("form.search button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, &first.title).await;
        let searched = c.current_url().await.unwrap();
        assert_eq!(searched.path(), "/search");
        assert!(
            searched
                .query_pairs()
                .any(|(k, v)| k == "q" && v == first.title.as_str()),
            "{searched}"
        );

        // The product page; add to the cart without a reload (the script).
        c.find(Locator::LinkText(&first.title))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "About this product").await;
        c.find(Locator::Css("form[data-add-to-cart] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        for _ in 0..50 {
            let badge = c
                .find(Locator::Css("[data-cart-count]"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if badge == "1" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let note = c.find(Locator::Css("[data-added]")).await.unwrap();
        assert!(note.is_displayed().await.unwrap(), "no 'added' note");
        assert!(
            c.current_url().await.unwrap().path().starts_with("/p/"),
            "the page was left"
        );
        shot(&c, "product", 1280).await;
        c.set_window_size(390, 844).await.unwrap();
        shot(&c, "product-phone", 390).await;

        // The cart, priced, with shipping options.
        c.goto(&format!("{base}/cart")).await.unwrap();
        let cart = wait_text(&c, "Shipping options").await;
        assert!(cart.contains(&first.variants[0].name) || cart.contains(&first.title));
        shot(&c, "cart", 1280).await;
        c.set_window_size(390, 844).await.unwrap();
        shot(&c, "cart-phone", 390).await;

        // Checkout with the approved test card.
        c.find(Locator::LinkText("Go to checkout"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let checkout = wait_text(&c, "Test cards").await;
        assert!(checkout.contains("4242424242424242"), "{checkout}");
        fill(&c, "line1", "1 Infinite Loop").await;
        fill(&c, "city", "Cupertino").await;
        fill(&c, "region", "CA").await;
        fill(&c, "postal_code", "95014").await;
        fill(&c, "card_number", "4242 4242 4242 4242").await;
        fill(&c, "card_expiry", "12/39").await;
        fill(&c, "card_cvc", "123").await;
        shot(&c, "checkout", 1280).await;
        c.find(Locator::Css("button.big"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let confirmation = wait_text(&c, "your order is placed").await;
        assert!(confirmation.contains("Card") || confirmation.contains("card"));
        shot(&c, "order-confirmation", 1280).await;
        let order_path = c.current_url().await.unwrap().path().to_owned();
        let order_id = order_path.trim_start_matches("/orders/").to_owned();
        let order = shop
            .orders()
            .get(order_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(order.status.as_str(), "confirmed");

        // The account lists the order.
        c.goto(&format!("{base}/account")).await.unwrap();
        let account = wait_text(&c, "Your orders").await;
        assert!(
            account.contains(order.number.as_deref().unwrap_or(&order_id)),
            "{account}"
        );
        shot(&c, "account", 1280).await;

        // The seller of the product ships it with a carrier and a tracking number.
        let now = shop.clock().now();
        shop.accounts()
            .create_staff(
                None,
                "seller@example.com",
                "Sam Seller",
                "seller password 1",
                Role::Seller(first.seller_id),
                now,
            )
            .await
            .unwrap();
        shop.accounts()
            .create_staff(
                None,
                "admin@example.com",
                "Ann Admin",
                "admin password 1",
                Role::Admin,
                now,
            )
            .await
            .unwrap();
        // A shopper reported a review: the admin's moderation queue shows it.
        let review = commerce::reviews::Review {
            id: commerce::reviews::ReviewId::new(),
            product_id: first.id,
            customer_id: commerce::core::CustomerId::new(),
            sku: None,
            rating: commerce::reviews::Rating::new(1).unwrap(),
            title: "Needs a closer look".to_owned(),
            body: "Arrived late and the seller is a crook.".to_owned(),
            verified: false,
            status: commerce::reviews::ReviewStatus::Published,
            moderation: None,
            helpful_count: 0,
            report_count: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        shop.review_store().create(&review, &[]).await.unwrap();
        let reporter = commerce::core::Actor::Customer(commerce::core::CustomerId::new());
        shop.reviews()
            .report(&reporter, review.id, "insults the seller")
            .await
            .unwrap();
        sign_out(&c).await;
        sign_in(&c, &base, "seller@example.com", "seller password 1").await;
        wait_text(&c, "Your products").await;
        // The seller ships from the lines waiting for them: every unit, with a
        // UPS label bought through the shop's carriers (its tracking number
        // recorded).
        c.goto(&format!("{base}/seller/orders")).await.unwrap();
        wait_text(&c, "Orders to ship").await;
        shot(&c, "seller-orders", 1280).await;
        let form = c
            .find(Locator::Css(&format!(
                "form[action='/seller/orders/{order_id}/ship']"
            )))
            .await
            .unwrap();
        form.find(Locator::Css("select[name=carrier]"))
            .await
            .unwrap()
            .select_by_value("ups")
            .await
            .unwrap();
        form.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "shipped. The customer").await;
        shot(&c, "seller", 1280).await;
        let shipped = shop
            .checkout()
            .order(&commerce::core::Actor::Admin, order.id)
            .await
            .unwrap();
        let tracking_number = shipped.fulfilment.shipments[0]
            .tracking_number
            .clone()
            .unwrap();

        // The shopper sees the shipment on the order's timeline.
        sign_out(&c).await;
        sign_in(&c, &base, "ada@example.com", "correct horse battery").await;
        c.goto(&format!("{base}{order_path}")).await.unwrap();
        let tracking = wait_text(&c, "Shipped with UPS").await;
        assert!(tracking.contains(&tracking_number), "{tracking}");
        shot(&c, "tracking", 1280).await;

        // The same pages on a phone.
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&format!("{base}/")).await.unwrap();
        shot(&c, "home-phone", 390).await;
        c.goto(&format!("{base}{order_path}")).await.unwrap();
        shot(&c, "tracking-phone", 390).await;

        // The admin dashboard counts the order (the rollups' worker runs every
        // 100 ms) and draws its charts.
        sign_out(&c).await;
        sign_in(&c, &base, "admin@example.com", "admin password 1").await;
        let total = order.totals.grand_total.amount().round_dp(2).to_string();
        let mut shown = false;
        for _ in 0..50 {
            c.goto(&format!("{base}/admin")).await.unwrap();
            if text(&c).await.contains(&total) {
                shown = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            shown,
            "the dashboard never showed revenue {total}: {}",
            text(&c).await
        );
        for _ in 0..50 {
            let loaded = c
                .execute(
                    "return Array.from(document.querySelectorAll('.charts img')).every(i => i.complete && i.naturalWidth > 0);",
                    vec![],
                )
                .await
                .unwrap();
            if loaded == json!(true) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        shot(&c, "admin", 1280).await;

        // The admin finds the order in the orders list and refunds part of it.
        c.goto(&format!("{base}/admin/orders")).await.unwrap();
        wait_text(&c, "Fulfilment").await;
        shot(&c, "admin-orders", 1280).await;
        c.find(Locator::Css(&format!("a[href='/admin/orders/{order_id}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "Refund").await;
        fill(&c, "amount", "1.00").await;
        fill(&c, "reason", "Late delivery").await;
        shot(&c, "admin-order", 1280).await;
        c.find(Locator::Css("form.refund button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let refunded = wait_text(&c, "Refund made.").await;
        assert!(refunded.contains("Late delivery"), "{refunded}");
        let after = shop
            .checkout()
            .order(&commerce::core::Actor::Admin, order.id)
            .await
            .unwrap();
        assert_eq!(after.payment.refunds.len(), 1);
        assert_eq!(
            after.payment.refunded,
            commerce::core::Money::from_minor(100, after.currency)
        );

        // The moderation queue shows a reported review.
        c.goto(&format!("{base}/admin/reviews")).await.unwrap();
        wait_text(&c, "Needs a closer look").await;
        shot(&c, "admin-reviews", 1280).await;

        // The admin finds the shopper among the customers and opens her orders.
        c.goto(&format!("{base}/admin/customers")).await.unwrap();
        fill(&c, "email", "ada@").await;
        c.find(Locator::Css("main form.range button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "ada@example.com").await;
        shot(&c, "admin-customers", 1280).await;
        c.find(Locator::Css("main table a[href^='/admin/customers/']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let customer = wait_text(&c, "Addresses").await;
        assert!(
            customer.contains(order.number.as_deref().unwrap_or(&order_id)),
            "{customer}"
        );
        shot(&c, "admin-customer", 1280).await;

        // The catalog: the category tree and the products; a category created
        // with the form.
        c.goto(&format!("{base}/admin/catalog")).await.unwrap();
        wait_text(&c, "Categories").await;
        fill(&c, "new-name", "Gift ideas").await;
        c.find(Locator::Css("main form.panel button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let catalog = wait_text(&c, "Category created.").await;
        assert!(catalog.contains("Gift ideas"), "{catalog}");
        shot(&c, "admin-catalog", 1280).await;
        Ok::<(), String>(())
    };
    let outcome = run.await;
    c.close().await.unwrap();
    outcome.unwrap();
}
