//! Simulated FedEx, UPS and DHL carriers, good enough to develop a shop against.
//!
//! - Rates come from a fixed table per carrier, service level and zone (1: same
//!   country and region; 2: same country; 3: international), by billable weight
//!   (actual or dimensional, the larger, in started kilograms): `base + per_kg *
//!   (kg - 1)`. Same request, same quote.
//! - Tracking numbers have the carrier's real format and a valid check digit
//!   ([`super::tracking_number`]), derived from the carrier's seed and a counter.
//! - Each parcel's timeline is fixed when its label is created and revealed as the
//!   [`Clock`] passes it: label created, picked up (+4 h), in transit (+12 h),
//!   out for delivery (5 h before delivery), delivered (after the transit days). One
//!   parcel in [`SimulatedCarrier::EXCEPTION_ONE_IN`] (chosen by the seed and the
//!   tracking number, so the same every run) has a delivery exception halfway, and
//!   arrives a day late.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use commerce_core::{Address, Clock, Money, Rounding};

use super::{
    Carrier, CarrierCode, CarrierShipment, Parcel, RateQuote, RateRequest, ServiceLevel,
    ShipmentRequest, TrackingEvent, TrackingStatus, tracking_number,
};
use crate::error::{Error, Result};

/// Divisor for dimensional weight, cm³ per kg (what the express carriers use).
pub const DIM_DIVISOR: u32 = 5_000;

/// One service's prices and transit days per zone (`None`: not offered there).
#[derive(Clone, Copy, Debug)]
struct ServiceRates {
    service: ServiceLevel,
    /// Price of the first kilogram, in hundredths of the currency unit, per zone.
    base: [Option<i64>; 3],
    /// Price of each further started kilogram, per zone.
    per_kg: [i64; 3],
    /// Business days in transit, per zone.
    days: [u32; 3],
}

const fn rates(
    service: ServiceLevel,
    base: [Option<i64>; 3],
    per_kg: [i64; 3],
    days: [u32; 3],
) -> ServiceRates {
    ServiceRates {
        service,
        base,
        per_kg,
        days,
    }
}

const FEDEX: [ServiceRates; 3] = [
    rates(
        ServiceLevel::Ground,
        [Some(895), Some(1095), None],
        [120, 150, 0],
        [2, 4, 0],
    ),
    rates(
        ServiceLevel::Express,
        [Some(1850), Some(2450), Some(4500)],
        [300, 380, 900],
        [2, 2, 4],
    ),
    rates(
        ServiceLevel::Overnight,
        [Some(3900), Some(4600), None],
        [450, 520, 0],
        [1, 1, 0],
    ),
];
const UPS: [ServiceRates; 3] = [
    rates(
        ServiceLevel::Ground,
        [Some(845), Some(1150), None],
        [130, 140, 0],
        [2, 5, 0],
    ),
    rates(
        ServiceLevel::Express,
        [Some(1950), Some(2300), Some(4300)],
        [280, 360, 950],
        [2, 3, 5],
    ),
    rates(
        ServiceLevel::Overnight,
        [Some(4100), Some(4450), None],
        [430, 500, 0],
        [1, 1, 0],
    ),
];
const DHL: [ServiceRates; 2] = [
    rates(
        ServiceLevel::Express,
        [Some(2100), Some(2600), Some(3800)],
        [320, 400, 700],
        [2, 3, 3],
    ),
    rates(
        ServiceLevel::Overnight,
        [Some(4500), Some(5200), Some(6900)],
        [500, 600, 1100],
        [1, 1, 2],
    ),
];

fn table(carrier: CarrierCode) -> &'static [ServiceRates] {
    match carrier {
        CarrierCode::Fedex => &FEDEX,
        CarrierCode::Ups => &UPS,
        CarrierCode::Dhl => &DHL,
    }
}

/// The zone between two addresses: 1 same country and region (or same first
/// character of the postal code where there are no regions), 2 same country, 3
/// international.
pub fn zone(origin: &Address, destination: &Address) -> u8 {
    if origin.country != destination.country {
        return 3;
    }
    let same_region = match (&origin.region, &destination.region) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => origin.postal_code.chars().next() == destination.postal_code.chars().next(),
    };
    if same_region { 1 } else { 2 }
}

/// SplitMix64: a small, well-mixed deterministic hash step.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn hash_str(seed: u64, s: &str) -> u64 {
    s.bytes().fold(mix(seed), |h, b| mix(h ^ u64::from(b)))
}

#[derive(Debug, Clone)]
struct Issued {
    reference: String,
    timeline: Vec<TrackingEvent>,
}

#[derive(Debug, Default)]
struct State {
    issued: u64,
    shipments: HashMap<String, Issued>,
}

/// A simulated carrier (see the module docs). Share it as `Arc<SimulatedCarrier>`.
#[derive(Debug)]
pub struct SimulatedCarrier {
    code: CarrierCode,
    seed: u64,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

/// The JSON body a simulated carrier's webhook carries.
#[derive(Debug, Serialize, Deserialize)]
struct WebhookBody {
    carrier: CarrierCode,
    events: Vec<TrackingEvent>,
}

impl SimulatedCarrier {
    /// One parcel in this many has a delivery exception.
    pub const EXCEPTION_ONE_IN: u64 = 8;

    /// A simulated `code` carrier whose numbers and timelines derive from `seed` and
    /// whose timelines run on `clock`.
    pub fn new(code: CarrierCode, seed: u64, clock: Arc<dyn Clock>) -> Self {
        SimulatedCarrier {
            code,
            seed,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// FedEx, UPS and DHL, sharing `seed` and `clock`.
    pub fn all(seed: u64, clock: Arc<dyn Clock>) -> Vec<Arc<dyn Carrier>> {
        CarrierCode::ALL
            .into_iter()
            .map(|c| Arc::new(SimulatedCarrier::new(c, seed, clock.clone())) as Arc<dyn Carrier>)
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn quote(&self, rates: &ServiceRates, request: &RateRequest) -> Option<RateQuote> {
        let zone = zone(&request.origin, &request.destination);
        let z = usize::from(zone - 1);
        let base = rates.base[z]?;
        let billable = request.parcel.billable_grams(DIM_DIVISOR);
        let kg = i64::try_from(billable.div_ceil(1_000).max(1)).ok()?;
        let hundredths = base.checked_add(rates.per_kg[z].checked_mul(kg - 1)?)?;
        let price = Money::new_unrounded(Decimal::new(hundredths, 2), request.currency)
            .round(Rounding::HalfUp);
        Some(RateQuote {
            carrier: self.code,
            service: rates.service,
            price,
            transit_days: rates.days[z],
            billable_grams: billable,
            zone,
        })
    }

    fn timeline(
        &self,
        number: &str,
        transit_days: u32,
        created_at: DateTime<Utc>,
        destination: &Address,
        origin: &Address,
        reference: &str,
    ) -> Vec<TrackingEvent> {
        let h = hash_str(self.seed, number);
        let exception = h.is_multiple_of(Self::EXCEPTION_ONE_IN);
        let transit = Duration::days(i64::from(transit_days.max(1)));
        let delivered_at = created_at
            + transit
            + if exception {
                Duration::days(1)
            } else {
                Duration::zero()
            };
        let event = |status, at, location: &str, description: &str| TrackingEvent {
            carrier: self.code,
            tracking_number: number.to_owned(),
            reference: reference.to_owned(),
            status,
            occurred_at: at,
            location: location.to_owned(),
            description: description.to_owned(),
        };
        let mut events = vec![
            event(
                TrackingStatus::LabelCreated,
                created_at,
                &origin.city,
                "Shipping label created",
            ),
            event(
                TrackingStatus::PickedUp,
                created_at + Duration::hours(4),
                &origin.city,
                "Picked up",
            ),
            event(
                TrackingStatus::InTransit,
                created_at + Duration::hours(12),
                "Sort facility",
                "In transit",
            ),
        ];
        if exception {
            events.push(event(
                TrackingStatus::Exception,
                created_at + transit / 2 + Duration::hours(1),
                "Sort facility",
                "Delivery exception: address information needed; delivery rescheduled",
            ));
        }
        events.push(event(
            TrackingStatus::OutForDelivery,
            delivered_at - Duration::hours(5),
            &destination.city,
            "Out for delivery",
        ));
        events.push(event(
            TrackingStatus::Delivered,
            delivered_at,
            &destination.city,
            "Delivered",
        ));
        events.sort_by_key(|e| e.occurred_at);
        events
    }

    /// The order reference the label was bought for (`None` for an unknown number).
    pub fn reference(&self, tracking_number: &str) -> Option<String> {
        self.lock()
            .shipments
            .get(tracking_number)
            .map(|s| s.reference.clone())
    }

    /// The whole timeline of a parcel, future scans included (for tests and demos).
    pub fn full_timeline(&self, tracking_number: &str) -> Result<Vec<TrackingEvent>> {
        self.lock()
            .shipments
            .get(tracking_number)
            .map(|s| s.timeline.clone())
            .ok_or_else(|| Error::not_found("tracking number", tracking_number))
    }

    /// The body of a webhook this carrier would send for `events` (JSON).
    pub fn webhook_body(&self, events: &[TrackingEvent]) -> Result<Vec<u8>> {
        serde_json::to_vec(&WebhookBody {
            carrier: self.code,
            events: events.to_vec(),
        })
        .map_err(Error::backend)
    }
}

#[async_trait]
impl Carrier for SimulatedCarrier {
    fn code(&self) -> CarrierCode {
        self.code
    }

    async fn rates(&self, request: &RateRequest) -> Result<Vec<RateQuote>> {
        request.parcel.validate()?;
        let mut quotes: Vec<RateQuote> = table(self.code)
            .iter()
            .filter_map(|r| self.quote(r, request))
            .collect();
        if quotes.is_empty() {
            return Err(commerce_core::Error::NotServiceable(format!(
                "{} does not serve {}",
                self.code.display_name(),
                request.destination.country.as_str()
            ))
            .into());
        }
        quotes.sort_by(|a, b| {
            a.price
                .amount()
                .cmp(&b.price.amount())
                .then(a.transit_days.cmp(&b.transit_days))
        });
        Ok(quotes)
    }

    async fn create_shipment(&self, request: &ShipmentRequest) -> Result<CarrierShipment> {
        request.parcel.validate()?;
        let rate_request = RateRequest {
            origin: request.origin.clone(),
            destination: request.destination.clone(),
            parcel: request.parcel,
            currency: commerce_core::Currency::USD,
        };
        let rates = table(self.code)
            .iter()
            .find(|r| r.service == request.service)
            .ok_or_else(|| {
                Error::validation(
                    "service",
                    format!("{} has no {} service", self.code, request.service.as_str()),
                )
            })?;
        let quote = self.quote(rates, &rate_request).ok_or_else(|| {
            Error::validation(
                "service",
                format!(
                    "{} {} does not serve this route",
                    self.code,
                    request.service.as_str()
                ),
            )
        })?;
        let now = self.clock.now();
        let mut state = self.lock();
        let number = loop {
            state.issued += 1;
            let seed = mix(self.seed ^ mix(state.issued) ^ hash_str(0, self.code.as_str()));
            let candidate = tracking_number::generate(self.code, seed);
            if !state.shipments.contains_key(&candidate) {
                break candidate;
            }
        };
        let timeline = self.timeline(
            &number,
            quote.transit_days,
            now,
            &request.destination,
            &request.origin,
            &request.order_id.to_string(),
        );
        state.shipments.insert(
            number.clone(),
            Issued {
                reference: request.order_id.to_string(),
                timeline,
            },
        );
        Ok(CarrierShipment {
            carrier: self.code,
            service: request.service,
            label_reference: format!("{}-LBL-{number}", self.code.as_str().to_uppercase()),
            tracking_number: number,
            created_at: now,
        })
    }

    async fn tracking(&self, tracking_number: &str) -> Result<Vec<TrackingEvent>> {
        let now = self.clock.now();
        let state = self.lock();
        let issued = state
            .shipments
            .get(tracking_number)
            .ok_or_else(|| Error::not_found("tracking number", tracking_number))?;
        Ok(issued
            .timeline
            .iter()
            .filter(|e| e.occurred_at <= now)
            .cloned()
            .collect())
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<TrackingEvent>> {
        let parsed: WebhookBody = serde_json::from_slice(body)
            .map_err(|e| Error::validation("body", format!("not a tracking webhook: {e}")))?;
        if parsed.carrier != self.code || parsed.events.iter().any(|e| e.carrier != self.code) {
            return Err(Error::validation(
                "carrier",
                format!("webhook is not from {}", self.code),
            ));
        }
        Ok(parsed.events)
    }
}

/// A [`Parcel`] for `weight_grams` in the standard box; shorthand for tests.
pub fn parcel(weight_grams: u32) -> Parcel {
    Parcel::standard_box(weight_grams)
}
