//! Conformance suite of the [`Carrier`] port: every carrier (the simulated ones, and
//! an adapter of a carrier's sandbox) runs it through
//! [`carrier_conformance!`](crate::carrier_conformance).

use std::sync::Arc;

use chrono::Duration;

use commerce_core::testkit::fixtures::{address, us_address};
use commerce_core::{Currency, ManualClock};

use crate::carrier::{
    Carrier, Parcel, RateRequest, ServiceLevel, ShipmentRequest, TrackingStatus, tracking_number,
};
use crate::error::Error;
use crate::id::OrderId;

/// A carrier to check, and the clock its timelines run on when the test controls it
/// (`None` for a carrier whose time the test cannot move).
#[derive(Clone)]
pub struct CarrierFixture {
    /// The carrier.
    pub carrier: Arc<dyn Carrier>,
    /// Its clock, when the test can move it.
    pub clock: Option<Arc<ManualClock>>,
}

impl std::fmt::Debug for CarrierFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierFixture")
            .field("carrier", &self.carrier.code())
            .finish_non_exhaustive()
    }
}

fn rate_request(parcel: Parcel, destination_state: &str) -> RateRequest {
    RateRequest {
        origin: us_address("CA"),
        destination: us_address(destination_state),
        parcel,
        currency: Currency::USD,
    }
}

fn shipment_request(service: ServiceLevel) -> ShipmentRequest {
    ShipmentRequest {
        order_id: OrderId::new(),
        service,
        origin: us_address("CA"),
        destination: us_address("NY"),
        parcel: Parcel::standard_box(1_200),
    }
}

/// Same request, same quotes; every quote is positive, in the requested currency,
/// from this carrier, with at least one transit day, sorted cheapest first.
pub async fn rates_are_deterministic_and_sorted(f: CarrierFixture) {
    let request = rate_request(Parcel::standard_box(2_500), "NY");
    let first = f.carrier.rates(&request).await.unwrap();
    let again = f.carrier.rates(&request).await.unwrap();
    assert!(!first.is_empty());
    assert_eq!(first, again);
    for q in &first {
        assert_eq!(q.carrier, f.carrier.code());
        assert_eq!(q.price.currency(), Currency::USD);
        assert!(!q.price.is_negative() && !q.price.is_zero());
        assert!(q.transit_days >= 1);
    }
    for pair in first.windows(2) {
        assert!(pair[0].price.amount() <= pair[1].price.amount());
    }
}

/// A light parcel in a big box is charged by its dimensional weight, and a heavier
/// parcel never costs less than a lighter one on the same service.
pub async fn dimensional_weight_is_billed_and_weight_costs(f: CarrierFixture) {
    let light_big = Parcel::new(500, 600, 500, 400);
    let quotes = f
        .carrier
        .rates(&rate_request(light_big, "NY"))
        .await
        .unwrap();
    assert!(quotes.iter().all(|q| q.billable_grams > 500));
    let light = f
        .carrier
        .rates(&rate_request(Parcel::standard_box(1_000), "NY"))
        .await
        .unwrap();
    let heavy = f
        .carrier
        .rates(&rate_request(Parcel::standard_box(20_000), "NY"))
        .await
        .unwrap();
    for l in &light {
        let h = heavy.iter().find(|h| h.service == l.service).unwrap();
        assert!(h.price.amount() > l.price.amount(), "{l:?} vs {h:?}");
    }
}

/// An empty parcel is a `Validation` error.
pub async fn invalid_parcels_are_rejected(f: CarrierFixture) {
    let err = f
        .carrier
        .rates(&rate_request(Parcel::new(0, 10, 10, 10), "NY"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
}

/// Every tracking number issued has the carrier's format and a valid check digit,
/// and no two shipments share one.
pub async fn tracking_numbers_are_valid_and_unique(f: CarrierFixture) {
    let service = f
        .carrier
        .rates(&rate_request(Parcel::standard_box(1_000), "NY"))
        .await
        .unwrap()[0]
        .service;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let s = f
            .carrier
            .create_shipment(&shipment_request(service))
            .await
            .unwrap();
        assert_eq!(s.carrier, f.carrier.code());
        assert!(
            tracking_number::validate(s.carrier, &s.tracking_number),
            "{} is not a valid {} number",
            s.tracking_number,
            s.carrier
        );
        assert!(!s.label_reference.is_empty());
        assert!(seen.insert(s.tracking_number));
    }
}

/// A new label's first scan is `LabelCreated`; with a clock the test moves, the
/// parcel ends `Delivered` after its transit days, scans in time order.
pub async fn tracking_starts_at_label_and_advances_with_the_clock(f: CarrierFixture) {
    let service = f
        .carrier
        .rates(&rate_request(Parcel::standard_box(1_000), "NY"))
        .await
        .unwrap()[0]
        .service;
    let s = f
        .carrier
        .create_shipment(&shipment_request(service))
        .await
        .unwrap();
    let scans = f.carrier.tracking(&s.tracking_number).await.unwrap();
    assert_eq!(
        scans.first().map(|e| e.status),
        Some(TrackingStatus::LabelCreated)
    );
    let Some(clock) = f.clock else { return };
    clock.advance(Duration::days(14));
    let scans = f.carrier.tracking(&s.tracking_number).await.unwrap();
    assert_eq!(
        scans.last().map(|e| e.status),
        Some(TrackingStatus::Delivered)
    );
    assert!(
        scans
            .windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at)
    );
    assert!(
        scans
            .iter()
            .any(|e| e.status == TrackingStatus::OutForDelivery)
    );
    assert!(scans.iter().all(|e| e.tracking_number == s.tracking_number));
}

/// A tracking number the carrier did not issue is `NotFound`.
pub async fn unknown_tracking_number_is_not_found(f: CarrierFixture) {
    let err = f.carrier.tracking("NOT-A-NUMBER").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// International parcels are quoted (zone 3) or refused as not serviceable; never a
/// domestic price.
pub async fn international_quotes_cost_more(f: CarrierFixture) {
    let domestic = f
        .carrier
        .rates(&rate_request(Parcel::standard_box(1_000), "CA"))
        .await
        .unwrap();
    let mut request = rate_request(Parcel::standard_box(1_000), "CA");
    request.destination = address("DE", None);
    match f.carrier.rates(&request).await {
        Ok(international) => {
            for q in &international {
                assert_eq!(q.zone, 3);
                if let Some(d) = domestic.iter().find(|d| d.service == q.service) {
                    assert!(q.price.amount() > d.price.amount());
                }
            }
        }
        Err(Error::Core(commerce_core::Error::NotServiceable(_))) => {}
        Err(e) => panic!("unexpected {e:?}"),
    }
}
