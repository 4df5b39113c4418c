//! Hundreds of tokio tasks checking out the last units of one SKU, in memory, on a
//! multi-threaded runtime: exactly the stock is sold, once.

// Test code: helpers outside `#[test]` functions unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use commerce_inventory::LocationCode;
use commerce_orders::simulated::test_cards;
use commerce_orders::testkit::checkout::{
    CheckoutAs, cart_with, request, stocked_sku, test_config,
};
use commerce_orders::testkit::{CheckoutFixture, card};
use commerce_orders::{CancelReason, Error, Order, OrderStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_tasks_buying_the_last_units_sell_exactly_the_stock() {
    const STOCK: i64 = 25;
    const SHOPPERS: usize = 400;
    let f = CheckoutFixture::in_memory();
    let checkout = Arc::new(f.checkout(test_config()));
    let sku = stocked_sku(&f, "9.99", STOCK).await;
    let mut tasks = Vec::with_capacity(SHOPPERS);
    for i in 0..SHOPPERS {
        let cart = cart_with(&f, None, &[(&sku, 1)]).await;
        let req = request(cart, None, card(test_cards::APPROVED));
        let checkout = checkout.clone();
        tasks.push(tokio::spawn(async move {
            // Every fourth shopper double-clicks: the same key twice, concurrently.
            if i % 4 == 0 {
                let (a, b) = tokio::join!(checkout.checkout_as(&req), checkout.checkout_as(&req));
                let id = |r: &Result<Order, Error>| match r {
                    Ok(o) => Some(o.id),
                    Err(Error::CheckoutFailed { order_id, .. }) => Some(*order_id),
                    Err(_) => None,
                };
                assert_eq!(id(&a), id(&b), "duplicates must share one order");
                // A duplicate may have answered while the order was still pending;
                // the stored order is the outcome.
                let final_order = checkout
                    .orders()
                    .get(id(&a).unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                match final_order.cancel_reason {
                    Some(reason) => Err(Error::CheckoutFailed {
                        order_id: final_order.id,
                        reason,
                    }),
                    None => Ok(final_order),
                }
            } else {
                checkout.checkout_as(&req).await
            }
        }));
    }
    let mut sold = 0;
    let mut out_of_stock = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(order) => {
                let order = f.orders.get(order.id).await.unwrap().unwrap();
                assert_eq!(order.status, OrderStatus::Confirmed);
                sold += 1;
            }
            Err(Error::CheckoutFailed {
                reason: CancelReason::OutOfStock { .. },
                ..
            }) => out_of_stock += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(sold, STOCK);
    assert_eq!(sold + out_of_stock, SHOPPERS as i64);
    let level = f
        .inventory
        .stock(&sku, &LocationCode::default_location())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((level.on_hand, level.reserved), (0, 0));
    assert_eq!(f.gateway.stats().authorizations, STOCK as u64);
}
