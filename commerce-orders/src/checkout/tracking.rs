//! Carriers in checkout and after it: rate shopping beside the zone/weight table,
//! labels for shipments, tracking scans moving the fulfilment machine, and the
//! tracking view of an order for its owner.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use commerce_cart::{Cart, CartKey};
use commerce_core::{Address, CustomerId, ShippingMethod};

use crate::carrier::{
    CarrierCode, CarrierSet, Parcel, RateQuote, ServiceLevel, ShipmentRequest, ShippingOptions,
    TrackingEvent, TrackingStatus,
};
use crate::error::{Error, Result};
use crate::id::{OrderId, ShipmentId};
use crate::machine::{FulfilmentStatus, PaymentStatus};
use crate::model::{Order, ShipmentLine};

use super::{Checkout, CheckoutRequest};

/// How often a tracking update is retried when another writer changed the order
/// between the read and the write.
const TRACKING_RETRIES: usize = 5;

/// One parcel of an order as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShipmentTracking {
    /// The shipment.
    pub shipment_id: ShipmentId,
    /// Carrier, when the label was bought through one.
    pub carrier: Option<CarrierCode>,
    /// Carrier name as recorded on the shipment.
    pub carrier_name: Option<String>,
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// A link to the carrier's own tracking page.
    pub tracking_url: Option<String>,
    /// Latest scan status (`None` before the first scan).
    pub status: Option<TrackingStatus>,
    /// Scans, oldest first.
    pub events: Vec<TrackingEvent>,
    /// The latest delivery exception, if any (to show prominently).
    pub exception: Option<TrackingEvent>,
    /// When it left.
    pub shipped_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The tracking page of an order: its fulfilment status and every parcel's scans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OrderTracking {
    /// The order.
    pub order_id: OrderId,
    /// Its number for people.
    pub number: Option<String>,
    /// Fulfilment status.
    pub fulfilment: FulfilmentStatus,
    /// The carrier rate chosen at checkout, if the shipping was a carrier option.
    pub carrier_rate: Option<RateQuote>,
    /// Parcels, oldest first.
    pub shipments: Vec<ShipmentTracking>,
}

impl OrderTracking {
    /// The tracking view of `order`.
    pub fn of(order: &Order) -> Self {
        OrderTracking {
            order_id: order.id,
            number: order.number.clone(),
            fulfilment: order.fulfilment.status,
            carrier_rate: order.shipping.carrier_rate.clone(),
            shipments: order
                .fulfilment
                .shipments
                .iter()
                .map(|s| ShipmentTracking {
                    shipment_id: s.id,
                    carrier: s.carrier_code,
                    carrier_name: s.carrier.clone(),
                    tracking_url: s
                        .carrier_code
                        .zip(s.tracking_number.as_deref())
                        .map(|(c, n)| c.tracking_url(n)),
                    tracking_number: s.tracking_number.clone(),
                    status: s.last_scan().map(|e| e.status),
                    events: s.tracking.clone(),
                    exception: s.exceptions().last().cloned(),
                    shipped_at: s.shipped_at,
                    delivered_at: s.delivered_at,
                })
                .collect(),
        }
    }
}

impl Checkout {
    /// Offers the options of `carriers` beside the configured zone/weight table
    /// (rate shopping); a request whose `shipping_method` is an option code
    /// (`ups:ground`) is priced with that carrier's quote, snapshotted on the order
    /// ([`crate::ShippingSnapshot::carrier_rate`]).
    #[must_use]
    pub fn with_carriers(mut self, carriers: CarrierSet) -> Self {
        self.carriers = Some(Arc::new(carriers));
        self
    }

    /// The configured carriers, if any.
    pub fn carriers(&self) -> Option<&CarrierSet> {
        self.carriers.as_deref()
    }

    fn carrier_set(&self) -> Result<&CarrierSet> {
        self.carriers
            .as_deref()
            .ok_or_else(|| Error::Conflict("no carriers are configured".into()))
    }

    /// The parcel a cart makes: the total weight of its lines in the standard box.
    async fn cart_parcel(&self, cart: &Cart) -> Result<Parcel> {
        let skus: Vec<_> = cart.lines.iter().map(|l| l.sku.clone()).collect();
        let listings = self.catalog.listings(&skus).await?;
        let mut grams: u64 = 0;
        for line in &cart.lines {
            let listing = listings
                .iter()
                .find(|l| l.variant.sku == line.sku)
                .ok_or_else(|| Error::NotPurchasable(line.sku.clone()))?;
            grams = grams
                .checked_add(u64::from(listing.variant.weight_grams) * u64::from(line.quantity))
                .ok_or_else(|| Error::validation("weight", "too heavy"))?;
        }
        let grams = u32::try_from(grams.max(1))
            .map_err(|_| Error::validation("weight", "too heavy for one parcel"))?;
        Ok(Parcel::standard_box(grams))
    }

    /// The carrier options for the cart `cart` shipped to `destination`, cheapest and
    /// fastest marked (the zone/weight methods are in
    /// [`crate::CheckoutConfig::shipping_methods`]). `EmptyCart` for an empty or
    /// unknown cart; `Conflict` when no carriers are configured.
    pub async fn shipping_options(
        &self,
        cart: &CartKey,
        destination: &Address,
    ) -> Result<ShippingOptions> {
        let carriers = self.carrier_set()?;
        let cart = self
            .carts
            .cart(cart)
            .await?
            .filter(|c| !c.is_empty())
            .ok_or(Error::EmptyCart)?;
        let parcel = self.cart_parcel(&cart).await?;
        carriers
            .options(destination, parcel, self.config.currency)
            .await
    }

    /// The shipping method standing for carrier option `request.shipping_method`
    /// (one open tier at the quoted price), with the quote.
    pub(super) async fn carrier_method(
        &self,
        cart: &Cart,
        request: &CheckoutRequest,
    ) -> Result<(ShippingMethod, RateQuote)> {
        let unknown = || Error::UnknownShippingMethod(request.shipping_method.clone());
        let carriers = self.carriers.as_deref().ok_or_else(unknown)?;
        let parcel = self.cart_parcel(cart).await?;
        let quote = carriers
            .quote(
                &request.shipping_method,
                &request.shipping_address,
                parcel,
                self.config.currency,
            )
            .await?;
        let method = super::quote::carrier_method(&quote, &request.shipping_address);
        Ok((method, quote))
    }

    /// Ships `lines` of order `id` with `carrier`'s `service`: buys the label (the
    /// carrier's tracking number), then records the shipment as [`Checkout::ship`]
    /// does, with the carrier and label on it. The shipment is checked before the
    /// label is bought. `parcel` defaults to the standard box at the lines' weight.
    ///
    /// A crash between the label and the order update leaves an unused label (void
    /// it at the carrier); the order is unchanged and the call can be repeated.
    /// `actor` must be staff or the seller of every line shipped, as for
    /// [`Checkout::ship`].
    pub async fn ship_with_carrier(
        &self,
        actor: &commerce_core::Actor,
        id: OrderId,
        lines: &[ShipmentLine],
        carrier: CarrierCode,
        service: ServiceLevel,
        parcel: Parcel,
    ) -> Result<Order> {
        let carriers = self.carrier_set()?;
        let port = carriers
            .carrier(carrier)
            .ok_or_else(|| Error::validation("carrier", format!("{carrier} is not configured")))?;
        let order = self.load_for(actor, id).await?;
        crate::access::check_ship(actor, &order, lines)?;
        let now = self.clock.now();
        order.ship(lines, Some(carrier.display_name().into()), None, now)?;
        let label = port
            .create_shipment(&ShipmentRequest {
                order_id: id,
                service,
                origin: carriers.origin().clone(),
                destination: order.shipping_address.clone(),
                parcel,
            })
            .await?;
        let shipped = self
            .ship(
                actor,
                id,
                lines,
                Some(carrier.display_name().into()),
                Some(label.tracking_number.clone()),
            )
            .await?;
        let shipment_id = shipped
            .fulfilment
            .shipments
            .iter()
            .rev()
            .find(|s| s.tracking_number.as_deref() == Some(label.tracking_number.as_str()))
            .map(|s| s.id)
            .ok_or_else(|| Error::not_found("shipment", &label.tracking_number))?;
        let t = shipped.attach_label(shipment_id, carrier, label.label_reference, now)?;
        self.store(&shipped, t).await
    }

    /// Records carrier scans of order `id` ([`Order::record_tracking`]): new scans
    /// are stored with a `TrackingUpdated` event each; a delivered parcel completes
    /// the fulfilment once (capturing a payment still authorized, as
    /// [`Checkout::deliver`] does); repeated scans change nothing and write nothing.
    /// Retries by itself when another writer changed the order meanwhile.
    pub async fn apply_tracking(&self, id: OrderId, scans: &[TrackingEvent]) -> Result<Order> {
        let mut attempt = 0;
        loop {
            let order = self.load(id).await?;
            let now = self.clock.now();
            let mut t = order.record_tracking(scans, now)?;
            if t.events.is_empty() {
                return Ok(order);
            }
            let delivered = t.order.fulfilment.status == FulfilmentStatus::Delivered
                && order.fulfilment.status != FulfilmentStatus::Delivered;
            if delivered {
                if t.order.payment.status == PaymentStatus::Authorized {
                    let capture = self.capture_all(&order).await?;
                    t = t.then(|o| o.record_capture(&capture, now))?;
                }
                if t.order.payment.status.was_captured() {
                    t = t.then(|o| o.complete(now))?;
                }
            }
            match self.store(&order, t).await {
                Err(Error::Conflict(_)) if attempt < TRACKING_RETRIES => attempt += 1,
                other => return other,
            }
        }
    }

    /// Applies webhook scans, routed to their orders by the carrier's echoed
    /// reference (the order id the label was bought for). Scans whose reference is
    /// not an order id are a `Validation` error; nothing is applied then.
    pub async fn apply_webhook(&self, scans: &[TrackingEvent]) -> Result<Vec<Order>> {
        let mut by_order: BTreeMap<OrderId, Vec<TrackingEvent>> = BTreeMap::new();
        for scan in scans {
            let id: OrderId = scan
                .reference
                .parse()
                .map_err(|_| Error::validation("reference", "is not an order id"))?;
            by_order.entry(id).or_default().push(scan.clone());
        }
        let mut orders = Vec::with_capacity(by_order.len());
        for (id, scans) in by_order {
            orders.push(self.apply_tracking(id, &scans).await?);
        }
        Ok(orders)
    }

    /// Asks each carrier for the scans of the order's parcels and applies the new
    /// ones (a poller's step, and what a tracking page can call before showing).
    pub async fn refresh_tracking(&self, id: OrderId) -> Result<Order> {
        let carriers = self.carrier_set()?;
        let order = self.load(id).await?;
        let mut scans = Vec::new();
        for s in &order.fulfilment.shipments {
            if let (Some(code), Some(number)) = (s.carrier_code, s.tracking_number.as_deref())
                && let Some(port) = carriers.carrier(code)
            {
                scans.extend(port.tracking(number).await?);
            }
        }
        if scans.is_empty() {
            return Ok(order);
        }
        self.apply_tracking(id, &scans).await
    }

    /// The tracking page data of order `id` for its owner `customer_id`; another
    /// customer's order (or a guest's) is `NotFound`, like an unknown id.
    pub async fn tracking_for_customer(
        &self,
        id: OrderId,
        customer_id: CustomerId,
    ) -> Result<OrderTracking> {
        let order = self.orders.get_for_customer(id, customer_id).await?;
        Ok(OrderTracking::of(&order))
    }
}
