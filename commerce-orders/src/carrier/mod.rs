//! Carriers and tracking: the [`Carrier`] port (rate quotes per service level,
//! shipments with a label and a tracking number, tracking events, webhooks), simulated
//! FedEx, UPS and DHL carriers ([`simulated`]), rate shopping over several carriers
//! ([`shopping`]), tracking-number check digits ([`tracking_number`]) and signed
//! tracking webhooks ([`webhook`]).
//!
//! Applying tracking events to an order is in [`crate::Checkout::apply_tracking`]
//! (delivered moves the order once, an exception is recorded on the shipment).

pub mod shopping;
pub mod simulated;
pub mod tracking_number;
pub mod webhook;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{Address, Currency, Money};

use crate::error::{Error, Result};
use crate::id::OrderId;

pub use shopping::{CarrierSet, ShippingOption, ShippingOptions};
pub use simulated::SimulatedCarrier;

/// A carrier the shop can ship with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CarrierCode {
    /// FedEx (12-digit Express tracking numbers).
    Fedex,
    /// UPS (`1Z` tracking numbers).
    Ups,
    /// DHL Express (10-digit waybill numbers).
    Dhl,
}

impl CarrierCode {
    /// Every carrier, in declaration order.
    pub const ALL: [CarrierCode; 3] = [CarrierCode::Fedex, CarrierCode::Ups, CarrierCode::Dhl];

    /// Stable lower-case code, e.g. `ups`.
    pub fn as_str(self) -> &'static str {
        match self {
            CarrierCode::Fedex => "fedex",
            CarrierCode::Ups => "ups",
            CarrierCode::Dhl => "dhl",
        }
    }

    /// Name shown to people, e.g. `UPS`.
    pub fn display_name(self) -> &'static str {
        match self {
            CarrierCode::Fedex => "FedEx",
            CarrierCode::Ups => "UPS",
            CarrierCode::Dhl => "DHL Express",
        }
    }

    /// The carrier with code `code` (as given by [`CarrierCode::as_str`]).
    pub fn parse(code: &str) -> Result<Self> {
        CarrierCode::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .ok_or_else(|| Error::validation("carrier", format!("unknown carrier {code:?}")))
    }

    /// A link where a person can follow the parcel on the carrier's site.
    pub fn tracking_url(self, tracking_number: &str) -> String {
        match self {
            CarrierCode::Fedex => {
                format!("https://www.fedex.com/fedextrack/?trknbr={tracking_number}")
            }
            CarrierCode::Ups => format!("https://www.ups.com/track?tracknum={tracking_number}"),
            CarrierCode::Dhl => {
                format!("https://www.dhl.com/en/express/tracking.html?AWB={tracking_number}")
            }
        }
    }
}

impl fmt::Display for CarrierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// How fast a parcel travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServiceLevel {
    /// Road, cheapest.
    Ground,
    /// Air, two or three days.
    Express,
    /// Next business day.
    Overnight,
}

impl ServiceLevel {
    /// Every level, slowest first.
    pub const ALL: [ServiceLevel; 3] = [
        ServiceLevel::Ground,
        ServiceLevel::Express,
        ServiceLevel::Overnight,
    ];

    /// Stable lower-case code, e.g. `ground`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceLevel::Ground => "ground",
            ServiceLevel::Express => "express",
            ServiceLevel::Overnight => "overnight",
        }
    }

    /// The level with code `code`.
    pub fn parse(code: &str) -> Result<Self> {
        ServiceLevel::ALL
            .into_iter()
            .find(|s| s.as_str() == code)
            .ok_or_else(|| Error::validation("service", format!("unknown service {code:?}")))
    }
}

/// A parcel: its weight and outer dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Parcel {
    /// Actual weight in grams.
    pub weight_grams: u32,
    /// Length in millimetres.
    pub length_mm: u32,
    /// Width in millimetres.
    pub width_mm: u32,
    /// Height in millimetres.
    pub height_mm: u32,
}

impl Parcel {
    /// A parcel of `weight_grams` in a box of the given millimetre dimensions.
    pub fn new(weight_grams: u32, length_mm: u32, width_mm: u32, height_mm: u32) -> Self {
        Parcel {
            weight_grams,
            length_mm,
            width_mm,
            height_mm,
        }
    }

    /// A parcel of `weight_grams` in the shop's standard box (300 x 200 x 150 mm).
    pub fn standard_box(weight_grams: u32) -> Self {
        Parcel::new(weight_grams, 300, 200, 150)
    }

    /// Checks the parcel is not empty or flat.
    pub fn validate(&self) -> Result<()> {
        if self.weight_grams == 0 {
            return Err(Error::validation("weight_grams", "must be at least 1"));
        }
        if self.length_mm == 0 || self.width_mm == 0 || self.height_mm == 0 {
            return Err(Error::validation(
                "dimensions",
                "must be at least 1 mm each",
            ));
        }
        Ok(())
    }

    /// Dimensional ("volumetric") weight in grams: volume in cm³ divided by
    /// `divisor` (cm³ per kg, 5000 for the big express carriers), rounded up.
    pub fn dimensional_weight_grams(&self, divisor: u32) -> u64 {
        let volume_mm3 =
            u64::from(self.length_mm) * u64::from(self.width_mm) * u64::from(self.height_mm);
        // grams = (mm³ / 1000) cm³ * 1000 g/kg / divisor = mm³ / divisor
        volume_mm3.div_ceil(u64::from(divisor.max(1)))
    }

    /// What the carrier charges for: the larger of actual and dimensional weight.
    pub fn billable_grams(&self, divisor: u32) -> u64 {
        u64::from(self.weight_grams).max(self.dimensional_weight_grams(divisor))
    }
}

/// A request for rates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateRequest {
    /// Where the parcel leaves from (the warehouse).
    pub origin: Address,
    /// Where it goes.
    pub destination: Address,
    /// The parcel.
    pub parcel: Parcel,
    /// Currency to quote in (the shop's).
    pub currency: Currency,
}

/// A price and a transit time for one service level of one carrier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateQuote {
    /// Carrier.
    pub carrier: CarrierCode,
    /// Service level.
    pub service: ServiceLevel,
    /// Price charged.
    pub price: Money,
    /// Business days in transit.
    pub transit_days: u32,
    /// Weight charged for (actual or dimensional, the larger).
    pub billable_grams: u64,
    /// Zone between origin and destination (1 nearest).
    pub zone: u8,
}

impl RateQuote {
    /// The code checkout knows this option by: `carrier:service`, e.g. `ups:ground`.
    pub fn option_code(&self) -> String {
        option_code(self.carrier, self.service)
    }

    /// Name shown to people, e.g. `UPS Ground (3 days)`.
    pub fn display_name(&self) -> String {
        let days = if self.transit_days == 1 {
            "day"
        } else {
            "days"
        };
        format!(
            "{} {} ({} {days})",
            self.carrier.display_name(),
            capitalised(self.service.as_str()),
            self.transit_days
        )
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The option code of `carrier` and `service`: `carrier:service`.
pub fn option_code(carrier: CarrierCode, service: ServiceLevel) -> String {
    format!("{}:{}", carrier.as_str(), service.as_str())
}

/// Splits an option code `carrier:service`; `None` when it is not one.
pub fn parse_option_code(code: &str) -> Option<(CarrierCode, ServiceLevel)> {
    let (carrier, service) = code.split_once(':')?;
    Some((
        CarrierCode::parse(carrier).ok()?,
        ServiceLevel::parse(service).ok()?,
    ))
}

/// A request for a label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShipmentRequest {
    /// The order the parcel belongs to (the carrier prints it as a reference).
    pub order_id: OrderId,
    /// Service level.
    pub service: ServiceLevel,
    /// From.
    pub origin: Address,
    /// To.
    pub destination: Address,
    /// The parcel.
    pub parcel: Parcel,
}

/// A shipment as the carrier created it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CarrierShipment {
    /// Carrier.
    pub carrier: CarrierCode,
    /// Service level.
    pub service: ServiceLevel,
    /// Tracking number in the carrier's format, check digit included.
    pub tracking_number: String,
    /// Reference of the printable label at the carrier.
    pub label_reference: String,
    /// When the label was created.
    pub created_at: DateTime<Utc>,
}

/// Where a parcel is, as a carrier reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TrackingStatus {
    /// The label exists; the carrier has not seen the parcel yet.
    LabelCreated,
    /// The carrier has the parcel.
    PickedUp,
    /// On its way.
    InTransit,
    /// On the van for delivery today.
    OutForDelivery,
    /// Delivered.
    Delivered,
    /// Something went wrong (address problem, damage, held at customs...).
    Exception,
}

impl TrackingStatus {
    /// Stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingStatus::LabelCreated => "label_created",
            TrackingStatus::PickedUp => "picked_up",
            TrackingStatus::InTransit => "in_transit",
            TrackingStatus::OutForDelivery => "out_for_delivery",
            TrackingStatus::Delivered => "delivered",
            TrackingStatus::Exception => "exception",
        }
    }
}

/// One scan of a parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrackingEvent {
    /// Carrier.
    pub carrier: CarrierCode,
    /// The parcel.
    pub tracking_number: String,
    /// The shipper's reference the carrier echoes back: the order id the label was
    /// bought for (routes a webhook to its order).
    pub reference: String,
    /// What happened.
    pub status: TrackingStatus,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Where (a city, a hub).
    pub location: String,
    /// The carrier's words.
    pub description: String,
}

/// A carrier: rates, labels and tracking.
///
/// Implementations are deterministic for equal inputs where the carrier is
/// (rates), and every tracking number they issue passes
/// [`tracking_number::validate`] for their [`CarrierCode`].
#[async_trait]
pub trait Carrier: Send + Sync + fmt::Debug {
    /// Which carrier this is.
    fn code(&self) -> CarrierCode;

    /// Quotes for every service level that serves the route, cheapest first.
    /// `Validation` for an invalid parcel; `NotServiceable` (in `Core`) when no
    /// service goes there.
    async fn rates(&self, request: &RateRequest) -> Result<Vec<RateQuote>>;

    /// Buys a label. `Validation` for an invalid parcel or a service the carrier does
    /// not offer on the route.
    async fn create_shipment(&self, request: &ShipmentRequest) -> Result<CarrierShipment>;

    /// The scans of a parcel so far, oldest first. `NotFound` for a tracking number
    /// this carrier did not issue.
    async fn tracking(&self, tracking_number: &str) -> Result<Vec<TrackingEvent>>;

    /// The tracking events in a webhook body the carrier sent (after its signature
    /// was checked with [`webhook::verify`]). `Validation` for a body that is not
    /// one; events of another carrier are a `Validation` error too.
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<TrackingEvent>>;
}
