//! Carriers: the conformance suite on the simulated FedEx, UPS and DHL, check
//! digits, rate shopping in checkout, labels, tracking moving the fulfilment machine,
//! signed webhooks, and the tracking page for the order's owner.

// Test code: unwrap and panic are the report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;

use commerce_core::Actor;
use commerce_core::testkit::fixtures::us_address;
use commerce_core::{Clock, CustomerId, ManualClock};
use commerce_orders::carrier::webhook;
use commerce_orders::carrier::{
    Carrier, CarrierCode, CarrierSet, Parcel, ServiceLevel, SimulatedCarrier, TrackingStatus,
    tracking_number,
};
use commerce_orders::testkit::carrier::CarrierFixture;
use commerce_orders::testkit::checkout::{
    CheckoutAs, cart_with, request, stocked_sku, test_config,
};
use commerce_orders::testkit::{CheckoutFixture, card};
use commerce_orders::{
    Checkout, Error, FulfilmentStatus, Order, OrderStatus, ShipmentLine, simulated::test_cards,
};

fn fixture(code: CarrierCode) -> CarrierFixture {
    let clock = Arc::new(ManualClock::default());
    CarrierFixture {
        carrier: Arc::new(SimulatedCarrier::new(code, 7, clock.clone())),
        clock: Some(clock),
    }
}

mod carrier_fedex {
    async fn make() -> commerce_orders::testkit::carrier::CarrierFixture {
        super::fixture(commerce_orders::carrier::CarrierCode::Fedex)
    }
    commerce_orders::carrier_conformance!(make);
}
mod carrier_ups {
    async fn make() -> commerce_orders::testkit::carrier::CarrierFixture {
        super::fixture(commerce_orders::carrier::CarrierCode::Ups)
    }
    commerce_orders::carrier_conformance!(make);
}
mod carrier_dhl {
    async fn make() -> commerce_orders::testkit::carrier::CarrierFixture {
        super::fixture(commerce_orders::carrier::CarrierCode::Dhl)
    }
    commerce_orders::carrier_conformance!(make);
}

#[test]
fn carrier_check_digits_validate_for_every_simulated_carrier() {
    for code in CarrierCode::ALL {
        for seed in 0..2_000_u64 {
            let n = tracking_number::generate(code, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            assert!(tracking_number::validate(code, &n), "{code:?} {n}");
            // Any single changed digit of the check is caught.
            let last = n.chars().last().unwrap().to_digit(10).unwrap();
            let bad = format!("{}{}", &n[..n.len() - 1], (last + 1) % 10);
            assert!(!tracking_number::validate(code, &bad), "{code:?} {bad}");
        }
    }
    let ups = tracking_number::generate(CarrierCode::Ups, 42);
    assert!(ups.starts_with("1Z") && ups.len() == 18);
    assert_eq!(tracking_number::generate(CarrierCode::Fedex, 42).len(), 12);
    assert_eq!(tracking_number::generate(CarrierCode::Dhl, 42).len(), 10);
    // Numbers of one carrier are not numbers of another.
    assert!(!tracking_number::validate(CarrierCode::Dhl, &ups));
}

#[test]
fn carrier_dimensional_weight_is_volume_over_divisor() {
    // 600 x 500 x 400 mm = 120 000 cm³ / 5000 = 24 kg.
    let p = Parcel::new(2_000, 600, 500, 400);
    assert_eq!(p.dimensional_weight_grams(5_000), 24_000);
    assert_eq!(p.billable_grams(5_000), 24_000);
    assert_eq!(
        Parcel::new(30_000, 600, 500, 400).billable_grams(5_000),
        30_000
    );
}

struct Shop {
    f: CheckoutFixture,
    checkout: Checkout,
    carriers: Vec<Arc<SimulatedCarrier>>,
}

fn shop(seed: u64) -> Shop {
    let f = CheckoutFixture::in_memory();
    let clock: Arc<dyn Clock> = f.clock.clone();
    let carriers: Vec<Arc<SimulatedCarrier>> = CarrierCode::ALL
        .into_iter()
        .map(|c| Arc::new(SimulatedCarrier::new(c, seed, clock.clone())))
        .collect();
    let ports = carriers
        .iter()
        .map(|c| c.clone() as Arc<dyn Carrier>)
        .collect();
    let checkout = f
        .checkout(test_config())
        .with_carriers(CarrierSet::new(ports, us_address("CA")));
    Shop {
        f,
        checkout,
        carriers,
    }
}

impl Shop {
    fn carrier(&self, code: CarrierCode) -> &SimulatedCarrier {
        self.carriers.iter().find(|c| c.code() == code).unwrap()
    }

    async fn confirmed_order(&self, customer: Option<CustomerId>, method: &str) -> Order {
        let sku = stocked_sku(&self.f, "20.00", 10).await;
        let cart = cart_with(&self.f, customer, &[(&sku, 2)]).await;
        let mut req = request(cart, customer, card(test_cards::APPROVED));
        req.shipping_method = method.to_owned();
        self.checkout.checkout_as(&req).await.unwrap()
    }

    async fn shipped_order(&self, code: CarrierCode) -> Order {
        let order = self.confirmed_order(None, "standard").await;
        let lines: Vec<ShipmentLine> = order
            .lines
            .iter()
            .map(|l| ShipmentLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect();
        self.checkout
            .ship_with_carrier(
                &Actor::Admin,
                order.id,
                &lines,
                code,
                ServiceLevel::Express,
                Parcel::standard_box(800),
            )
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn carrier_rate_shopping_marks_cheapest_and_fastest_and_snapshots_the_choice() {
    let shop = shop(1);
    let sku = stocked_sku(&shop.f, "20.00", 10).await;
    let cart = cart_with(&shop.f, None, &[(&sku, 2)]).await;
    let options = shop
        .checkout
        .shipping_options(&cart, &us_address("NY"))
        .await
        .unwrap();
    assert!(options.options.len() >= 6, "{options:?}");
    let cheapest = options.cheapest().unwrap();
    let fastest = options.fastest().unwrap();
    assert_eq!(options.options.iter().filter(|o| o.cheapest).count(), 1);
    assert_eq!(options.options.iter().filter(|o| o.fastest).count(), 1);
    for o in &options.options {
        assert!(o.quote.price.amount() >= cheapest.quote.price.amount());
        assert!(o.quote.transit_days >= fastest.quote.transit_days);
    }
    assert!(fastest.quote.transit_days < cheapest.quote.transit_days);

    let mut req = request(cart, None, card(test_cards::APPROVED));
    req.shipping_address = us_address("NY");
    req.shipping_method = fastest.code.clone();
    let order = shop.checkout.checkout_as(&req).await.unwrap();
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(order.shipping.code, fastest.code);
    assert_eq!(order.shipping.carrier_rate.as_ref(), Some(&fastest.quote));
    assert_eq!(order.totals.shipping_total, fastest.quote.price);

    // An option code no carrier offers is an unknown shipping method.
    let cart = cart_with(&shop.f, None, &[(&sku, 1)]).await;
    let mut req = request(cart, None, card(test_cards::APPROVED));
    req.shipping_method = "dhl:ground".into();
    let err = shop.checkout.checkout_as(&req).await.unwrap_err();
    assert!(matches!(err, Error::UnknownShippingMethod(_)), "{err:?}");
}

#[tokio::test]
async fn carrier_shipping_a_set_of_lines_buys_a_label_with_a_valid_number() {
    let shop = shop(2);
    let order = shop.shipped_order(CarrierCode::Ups).await;
    assert_eq!(order.fulfilment.status, FulfilmentStatus::Shipped);
    let s = &order.fulfilment.shipments[0];
    assert_eq!(s.carrier_code, Some(CarrierCode::Ups));
    let number = s.tracking_number.clone().unwrap();
    assert!(tracking_number::validate(CarrierCode::Ups, &number));
    assert!(s.label_reference.as_deref().unwrap().contains(&number));
    assert_eq!(
        shop.carrier(CarrierCode::Ups).reference(&number),
        Some(order.id.to_string())
    );
}

#[tokio::test]
async fn carrier_delivered_twice_moves_the_order_once() {
    let shop = shop(3);
    let order = shop.shipped_order(CarrierCode::Fedex).await;
    let number = order.fulfilment.shipments[0]
        .tracking_number
        .clone()
        .unwrap();
    let carrier = shop.carrier(CarrierCode::Fedex);
    let delivered: Vec<_> = carrier
        .full_timeline(&number)
        .unwrap()
        .into_iter()
        .filter(|e| e.status == TrackingStatus::Delivered)
        .collect();
    let body = carrier.webhook_body(&delivered).unwrap();
    let scans = carrier.parse_webhook(&body).unwrap();
    let first = shop.checkout.apply_webhook(&scans).await.unwrap();
    assert_eq!(first[0].fulfilment.status, FulfilmentStatus::Delivered);
    assert_eq!(first[0].status, OrderStatus::Completed);
    let again = shop.checkout.apply_webhook(&scans).await.unwrap();
    assert_eq!(
        again[0].version, first[0].version,
        "a repeat writes nothing"
    );
    let delivered_events = shop
        .f
        .outbox
        .claim("carrier-test", 1_000, std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.aggregate_id == order.id.to_string())
        .filter(|e| e.event.topic == "fulfilment.delivered")
        .count();
    assert_eq!(delivered_events, 1);
}

#[tokio::test]
async fn carrier_timeline_advances_with_the_clock_and_exceptions_are_recorded() {
    // Ship until a parcel with an exception turns up (one in eight, by seed: the
    // same parcels every run).
    let shop = shop(4);
    let mut with_exception = None;
    for _ in 0..40 {
        let order = shop.shipped_order(CarrierCode::Dhl).await;
        let number = order.fulfilment.shipments[0]
            .tracking_number
            .clone()
            .unwrap();
        let timeline = shop
            .carrier(CarrierCode::Dhl)
            .full_timeline(&number)
            .unwrap();
        if timeline
            .iter()
            .any(|e| e.status == TrackingStatus::Exception)
        {
            with_exception = Some(order);
            break;
        }
    }
    let order = with_exception.expect("a parcel with an exception within 40");
    let refreshed = shop.checkout.refresh_tracking(order.id).await.unwrap();
    assert_eq!(
        refreshed.fulfilment.shipments[0]
            .last_scan()
            .map(|e| e.status),
        Some(TrackingStatus::LabelCreated)
    );
    shop.f.clock.advance(Duration::days(2));
    let refreshed = shop.checkout.refresh_tracking(order.id).await.unwrap();
    assert_eq!(refreshed.fulfilment.status, FulfilmentStatus::Shipped);
    assert_eq!(refreshed.fulfilment.shipments[0].exceptions().count(), 1);
    shop.f.clock.advance(Duration::days(10));
    let refreshed = shop.checkout.refresh_tracking(order.id).await.unwrap();
    assert_eq!(refreshed.fulfilment.status, FulfilmentStatus::Delivered);
    let view = commerce_orders::OrderTracking::of(&refreshed);
    assert!(
        view.shipments[0].exception.is_some(),
        "the exception stays shown"
    );
    assert_eq!(view.shipments[0].status, Some(TrackingStatus::Delivered));
    assert!(
        view.shipments[0]
            .tracking_url
            .as_deref()
            .unwrap()
            .contains("dhl.com")
    );
}

#[tokio::test]
async fn carrier_tracking_page_is_for_the_owner_only() {
    let shop = shop(5);
    let owner = CustomerId::new();
    let order = shop.confirmed_order(Some(owner), "ups:ground").await;
    let view = shop
        .checkout
        .tracking_for_customer(order.id, owner)
        .await
        .unwrap();
    assert_eq!(view.order_id, order.id);
    assert_eq!(
        view.carrier_rate.as_ref().map(|q| q.carrier),
        Some(CarrierCode::Ups)
    );
    let err = shop
        .checkout
        .tracking_for_customer(order.id, CustomerId::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[test]
fn carrier_webhook_signature_is_checked() {
    let secret = b"shared-secret";
    let body = br#"{"carrier":"ups","events":[]}"#;
    let sig = webhook::sign(secret, body).unwrap();
    webhook::verify(secret, body, Some(&sig)).unwrap();
    for bad in [
        None,
        Some("sha256=00"),
        Some("garbage"),
        Some(sig.replace("sha256=", "sha1=").as_str()),
    ] {
        assert!(matches!(
            webhook::verify(secret, body, bad),
            Err(Error::InvalidSignature)
        ));
    }
    let tampered = br#"{"carrier":"ups","events":[ ]}"#;
    assert!(matches!(
        webhook::verify(secret, tampered, Some(&sig)),
        Err(Error::InvalidSignature)
    ));
    assert!(matches!(
        webhook::verify(b"other", body, Some(&sig)),
        Err(Error::InvalidSignature)
    ));
}

#[tokio::test]
async fn carrier_webhook_of_another_carrier_is_rejected() {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::default());
    let ups = SimulatedCarrier::new(CarrierCode::Ups, 1, clock.clone());
    let fedex = SimulatedCarrier::new(CarrierCode::Fedex, 1, clock);
    let body = ups.webhook_body(&[]).unwrap();
    assert!(matches!(
        fedex.parse_webhook(&body),
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        fedex.parse_webhook(b"not json"),
        Err(Error::Validation { .. })
    ));
}
