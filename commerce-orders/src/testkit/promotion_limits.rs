//! Checks of promotion usage limits over a [`CheckoutFixture`]: the total limit holds
//! under concurrent checkouts, the per-buyer limit counts customers by account and
//! guests by email, and an order cancelled before capture gives its redemption back
//! (see [`crate::redemption`]).

use futures::future::join_all;

use commerce_core::pricing::DiscountKind;
use commerce_core::{Actor, CustomerId};
use rust_decimal::Decimal;

use crate::checkout::{Checkout, CheckoutStep};
use crate::error::Error;
use crate::machine::OrderStatus;
use crate::model::{CancelReason, Order};
use crate::pricing_tables::PromotionRule;
use crate::simulated::test_cards;

use super::checkout::{CheckoutAs, cart_with, request, stocked_sku, test_config};
use super::support::unique;
use super::{CheckoutFixture, card};

/// Adds a 10 % promotion with the given limits; returns its code.
async fn limited_promotion(c: &Checkout, total: Option<u32>, per_customer: Option<u32>) -> String {
    let code = unique("LIMITED").replace(|ch: char| !ch.is_ascii_alphanumeric(), "");
    let code: String = code.chars().rev().take(20).collect();
    let tables = c.pricing_tables();
    let version = tables.fresh().await.unwrap().version;
    tables
        .create_promotion(
            &Actor::Admin,
            version,
            PromotionRule {
                usage_limit: total,
                usage_limit_per_customer: per_customer,
                ..PromotionRule::always(commerce_core::pricing::Promotion {
                    code: code.clone(),
                    kind: DiscountKind::Percentage {
                        percent: Decimal::TEN,
                    },
                    min_subtotal: None,
                    skus: None,
                })
            },
        )
        .await
        .unwrap();
    code
}

fn exhausted(result: &Result<Order, Error>) -> Option<bool> {
    match result {
        Err(Error::PromotionExhausted { per_customer, .. }) => Some(*per_customer),
        _ => None,
    }
}

async fn redemptions(c: &Checkout, code: &str) -> u64 {
    c.redemption_counts(&[code.to_owned()]).await.unwrap()[0]
}

/// 20 concurrent checkouts with a code limited to 5 uses: exactly 5 orders are
/// placed and confirmed with the discount; the other 15 are `PromotionExhausted`
/// with nothing written, no stock held and their carts as they were.
pub async fn promotion_limit_holds_under_concurrent_checkouts(f: CheckoutFixture) {
    let c = f.checkout(test_config());
    let code = limited_promotion(&c, Some(5), None).await;
    let sku = stocked_sku(&f, "10.00", 100).await;
    let mut attempts = Vec::new();
    for _ in 0..20 {
        let cart = cart_with(&f, None, &[(&sku, 1)]).await;
        let mut a = request(cart, None, card(test_cards::APPROVED));
        a.request = a.request.clone().with_promo_code(code.to_lowercase());
        a.request.email = format!("{}@example.com", unique("buyer")).to_lowercase();
        attempts.push((cart, a));
    }
    let results = join_all(attempts.iter().map(|(_, a)| c.checkout_as(a))).await;
    let mut confirmed = 0;
    for ((cart, _), r) in attempts.iter().zip(&results) {
        match r {
            Ok(o) => {
                assert_eq!(o.status, OrderStatus::Confirmed);
                assert_eq!(o.promotions, vec![code.clone()]);
                confirmed += 1;
            }
            Err(Error::PromotionExhausted { per_customer, .. }) => {
                assert!(!per_customer);
                let kept = f.carts.cart(cart).await.unwrap().unwrap();
                assert_eq!(kept.lines.len(), 1, "the cart is untouched");
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(confirmed, 5);
    assert_eq!(redemptions(&c, &code).await, 5);
    assert_eq!(f.gateway.stats().authorizations, 5);
    let level = f
        .inventory
        .stock(&sku, &commerce_inventory::LocationCode::default_location())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((level.on_hand, level.reserved), (95, 0), "only 5 sold");
}

/// A per-customer limit of 1: a customer's second order with the code is refused
/// (`per_customer`), as is a guest's with an email that already used it; another
/// buyer still gets it. A repeat of the first checkout's key returns its order.
pub async fn promotion_limit_per_customer_counts_accounts_and_guest_emails(f: CheckoutFixture) {
    let c = f.checkout(test_config());
    let code = limited_promotion(&c, None, Some(1)).await;
    let sku = stocked_sku(&f, "10.00", 100).await;
    let customer = CustomerId::new();
    let with_code = |cart, who: Option<CustomerId>, email: &str| {
        let mut a = request(cart, who, card(test_cards::APPROVED));
        a.request = a.request.clone().with_promo_code(code.clone());
        a.request.email = email.to_owned();
        a
    };
    let first = with_code(
        cart_with(&f, Some(customer), &[(&sku, 1)]).await,
        Some(customer),
        "member@example.com",
    );
    let order = c.checkout_as(&first).await.unwrap();
    assert_eq!(c.checkout_as(&first).await.unwrap().id, order.id);
    let again = with_code(
        cart_with(&f, Some(customer), &[(&sku, 1)]).await,
        Some(customer),
        "other-address@example.com",
    );
    assert_eq!(exhausted(&c.checkout_as(&again).await), Some(true));

    let guest = with_code(
        cart_with(&f, None, &[(&sku, 1)]).await,
        None,
        "guest@example.com",
    );
    c.checkout_as(&guest).await.unwrap();
    let same_email = with_code(
        cart_with(&f, None, &[(&sku, 1)]).await,
        None,
        "guest@example.com",
    );
    assert_eq!(exhausted(&c.checkout_as(&same_email).await), Some(true));
    let other = with_code(
        cart_with(&f, None, &[(&sku, 1)]).await,
        None,
        "someone-else@example.com",
    );
    c.checkout_as(&other).await.unwrap();
    assert_eq!(redemptions(&c, &code).await, 3);
}

/// A limit of 1: a declined checkout does not use it up (cancelled before
/// capture); an order only authorized and then cancelled gives it back; a captured
/// order keeps it even when cancelled and refunded.
pub async fn promotion_redemption_is_given_back_only_before_capture(f: CheckoutFixture) {
    let c = f.checkout(test_config());
    let code = limited_promotion(&c, Some(1), None).await;
    let sku = stocked_sku(&f, "10.00", 100).await;
    let mut attempts = Vec::new();
    for number in [
        test_cards::DECLINED,
        test_cards::APPROVED,
        test_cards::APPROVED,
        test_cards::APPROVED,
        test_cards::APPROVED,
    ] {
        let mut a = request(cart_with(&f, None, &[(&sku, 1)]).await, None, card(number));
        a.request = a.request.clone().with_promo_code(code.clone());
        attempts.push(a);
    }
    assert!(matches!(
        c.checkout_as(&attempts[0]).await,
        Err(Error::CheckoutFailed { .. })
    ));
    assert_eq!(
        redemptions(&c, &code).await,
        0,
        "a declined order gives it back"
    );

    let held = c
        .interrupted_as(&attempts[1], CheckoutStep::Authorized)
        .await
        .unwrap();
    assert_eq!(redemptions(&c, &code).await, 1);
    assert_eq!(exhausted(&c.checkout_as(&attempts[2]).await), Some(false));
    c.cancel(&Actor::Admin, held.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(
        redemptions(&c, &code).await,
        0,
        "cancelled while only authorized"
    );

    let captured = c.checkout_as(&attempts[3]).await.unwrap();
    assert_eq!(captured.status, OrderStatus::Confirmed);
    c.cancel(&Actor::Admin, captured.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(redemptions(&c, &code).await, 1, "kept after a capture");
    assert_eq!(exhausted(&c.checkout_as(&attempts[4]).await), Some(false));
}
