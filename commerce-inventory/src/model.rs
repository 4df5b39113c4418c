//! Stock levels, reservations and adjustments.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{DomainEvent, Sku};

commerce_core::typed_id!(
    /// Identifies a reservation. Checkout derives it from the order, so a retried
    /// reserve with the same id is recognised instead of reserving twice.
    ReservationId, "reservation_id"
);

/// Default time a reservation holds stock: 15 minutes.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::minutes(15);

/// A stock location (warehouse, store). `default` when a shop has one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocationCode(pub String);

impl LocationCode {
    /// The location used when none is named: `default`.
    pub fn default_location() -> Self {
        LocationCode("default".to_owned())
    }

    /// A code given from outside (a form, a request) when well formed: 1 to 64
    /// ASCII letters, digits, `-` or `_`.
    ///
    /// ```
    /// use commerce_inventory::LocationCode;
    /// assert!(LocationCode::parse("paris-2").is_some());
    /// assert!(LocationCode::parse("").is_none());
    /// assert!(LocationCode::parse("a b").is_none());
    /// ```
    pub fn parse(code: &str) -> Option<Self> {
        let ok = !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| LocationCode(code.to_owned()))
    }
}

impl Default for LocationCode {
    fn default() -> Self {
        LocationCode::default_location()
    }
}

impl std::fmt::Display for LocationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a SKU may be reserved beyond its stock on hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BackorderPolicy {
    /// Never reserve more than is on hand (the default).
    #[default]
    Deny,
    /// Reserve up to `limit` units beyond what is on hand.
    Allow {
        /// Most units that may be promised beyond stock at once: reserved beyond
        /// `on_hand` plus sold and still owed (`backordered`).
        limit: u64,
    },
}

/// Stock of one SKU at one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// SKU.
    pub sku: Sku,
    /// Location.
    pub location: LocationCode,
    /// Units physically on hand (sold units leave on commit).
    pub on_hand: u64,
    /// Units held by active reservations.
    pub reserved: u64,
    /// Units sold beyond stock (committed backorders) and still owed to customers.
    /// Units received later fill these first, before they count as on hand.
    #[serde(default)]
    pub backordered: u64,
    /// Backorder policy of the SKU at this location.
    pub backorder: BackorderPolicy,
}

impl StockLevel {
    /// Units that can still be sold from stock: `on_hand - reserved`, never negative.
    pub fn available(&self) -> u64 {
        self.on_hand.saturating_sub(self.reserved)
    }

    /// Units reserved beyond what is on hand (only with [`BackorderPolicy::Allow`]).
    pub fn reserved_beyond_stock(&self) -> u64 {
        self.reserved.saturating_sub(self.on_hand)
    }

    /// Units a new reservation may take: available stock plus the unused backorder
    /// allowance (`on_hand + limit - reserved - backordered`).
    pub fn reservable(&self) -> u64 {
        match self.backorder {
            BackorderPolicy::Deny => self.available(),
            BackorderPolicy::Allow { limit } => (self.on_hand.saturating_add(limit))
                .saturating_sub(self.reserved.saturating_add(self.backordered)),
        }
    }

    /// Sells `quantity` reserved units: `reserved` drops by `quantity`; the units come
    /// out of `on_hand` as far as it goes, the rest are owed (`backordered`).
    /// `None` when fewer than `quantity` units are reserved (a corrupted row).
    pub fn sell_reserved(&self, quantity: u64) -> Option<StockLevel> {
        let from_stock = quantity.min(self.on_hand);
        Some(StockLevel {
            reserved: self.reserved.checked_sub(quantity)?,
            on_hand: self.on_hand - from_stock,
            backordered: self.backordered.checked_add(quantity - from_stock)?,
            ..self.clone()
        })
    }

    /// Takes in `units` received (or restocked) units: they fill owed backorders
    /// first, the rest go on hand. `None` on overflow.
    pub fn take_in(&self, units: u64) -> Option<StockLevel> {
        let fill = units.min(self.backordered);
        Some(StockLevel {
            backordered: self.backordered - fill,
            on_hand: self.on_hand.checked_add(units - fill)?,
            ..self.clone()
        })
    }
}

/// Status of a reservation. `Active` ends in exactly one of `Committed`, `Released`
/// or `Expired`; a `Committed` reservation may later be `Restocked` (its order was
/// cancelled before shipment), once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Holding stock.
    Active,
    /// The order was paid: the units are sold (`on_hand` and `reserved` both drop).
    Committed,
    /// Given back (checkout failed or was cancelled).
    Released,
    /// Given back by the expiry sweep after its TTL.
    Expired,
    /// Sold, then taken back into stock because the order was cancelled before it
    /// shipped (`InventoryStore::restock`).
    Restocked,
}

impl ReservationStatus {
    /// True when the reservation no longer holds stock: `Committed`, `Released`,
    /// `Expired` and `Restocked`.
    pub fn is_final(self) -> bool {
        !matches!(self, ReservationStatus::Active)
    }
}

/// One line of a reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationLine {
    /// SKU.
    pub sku: Sku,
    /// Units held (lines of the same SKU are summed into one).
    pub quantity: u64,
}

/// A request to reserve all lines of an order, or none.
///
/// Built with [`ReserveRequest::new`] (at the default location), then
/// [`at`](ReserveRequest::at) another location:
///
/// ```
/// use chrono::{Duration, Utc};
/// use commerce_core::Sku;
/// use commerce_inventory::{LocationCode, ReservationId, ReservationLine, ReserveRequest};
///
/// let line = ReservationLine { sku: Sku::new("MUG-BLUE").unwrap(), quantity: 2 };
/// let request = ReserveRequest::new(
///     ReservationId::new(),
///     "order-42",
///     vec![line],
///     Utc::now() + Duration::minutes(15),
/// )
/// .at(LocationCode("north".to_owned()));
/// assert_eq!(request.location.to_string(), "north");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReserveRequest {
    /// Id of the reservation to create; reusing it with the same lines returns the
    /// existing reservation instead of reserving twice.
    pub id: ReservationId,
    /// What the reservation is for (an order id), for people reading it.
    pub reference: String,
    /// Location to reserve from.
    pub location: LocationCode,
    /// Lines; the same SKU may appear more than once (quantities are summed).
    pub lines: Vec<ReservationLine>,
    /// When the reservation expires if neither committed nor released.
    pub expires_at: DateTime<Utc>,
}

impl ReserveRequest {
    /// Reserve `lines` under `id` at the default location until `expires_at`;
    /// `reference` says what it is for (an order id).
    pub fn new(
        id: ReservationId,
        reference: impl Into<String>,
        lines: Vec<ReservationLine>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        ReserveRequest {
            id,
            reference: reference.into(),
            location: LocationCode::default_location(),
            lines,
            expires_at,
        }
    }

    /// The same request at `location` instead of the default one.
    pub fn at(mut self, location: LocationCode) -> Self {
        self.location = location;
        self
    }
}

/// A reservation and where it is in its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Id.
    pub id: ReservationId,
    /// What it is for.
    pub reference: String,
    /// Location.
    pub location: LocationCode,
    /// Lines, one per SKU, sorted by SKU.
    pub lines: Vec<ReservationLine>,
    /// Status.
    pub status: ReservationStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry time while active.
    pub expires_at: DateTime<Utc>,
    /// When it left `Active`.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What a lifecycle call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// The transition happened now and changed stock.
    Applied,
    /// The reservation was already in the target status: nothing changed.
    AlreadyDone,
}

/// Why stock was adjusted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdjustmentReason {
    /// Goods received from a supplier.
    Received,
    /// A stock count found a different quantity.
    Correction,
    /// Goods damaged or lost.
    Damaged,
    /// Sold goods returned to stock (a return, or a cancelled order not yet shipped).
    Restock {
        /// The order the goods came back from.
        reference: String,
    },
}

/// A change of `on_hand` outside the reservation lifecycle.
///
/// Built with [`StockAdjustment::new`] or a named constructor
/// ([`received`](StockAdjustment::received), [`correction`](StockAdjustment::correction)),
/// then [`at`](StockAdjustment::at) another location or
/// [`with_note`](StockAdjustment::with_note):
///
/// ```
/// use commerce_core::Sku;
/// use commerce_inventory::{LocationCode, StockAdjustment};
///
/// let adjustment = StockAdjustment::received(Sku::new("MUG-BLUE").unwrap(), 12)
///     .at(LocationCode("north".to_owned()))
///     .with_note("opening stock");
/// assert_eq!(adjustment.delta, 12);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StockAdjustment {
    /// SKU (created at zero stock by its first adjustment).
    pub sku: Sku,
    /// Location.
    pub location: LocationCode,
    /// Units added (positive) or removed (negative).
    pub delta: i64,
    /// Why.
    pub reason: AdjustmentReason,
    /// Free-text note.
    pub note: Option<String>,
}

impl StockAdjustment {
    /// `delta` units of `sku` added (positive) or removed (negative) at the default
    /// location, for `reason`, without a note. [`validate`](Self::validate) checks
    /// that the sign fits the reason.
    pub fn new(sku: Sku, delta: i64, reason: AdjustmentReason) -> Self {
        StockAdjustment {
            sku,
            location: LocationCode::default_location(),
            delta,
            reason,
            note: None,
        }
    }

    /// `units` of `sku` received at the default location.
    pub fn received(sku: Sku, units: i64) -> Self {
        Self::new(sku, units, AdjustmentReason::Received)
    }

    /// A stock count of `sku` at the default location found `delta` units more
    /// (positive) or fewer (negative) than recorded.
    pub fn correction(sku: Sku, delta: i64) -> Self {
        Self::new(sku, delta, AdjustmentReason::Correction)
    }

    /// The same adjustment at `location` instead of the default one.
    pub fn at(mut self, location: LocationCode) -> Self {
        self.location = location;
        self
    }

    /// The same adjustment with a free-text note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Events of the inventory, written to the outbox with the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InventoryEvent {
    /// Stock of a SKU changed (caches of displayed availability listen to this).
    StockChanged {
        /// SKU.
        sku: Sku,
        /// Location.
        location: LocationCode,
        /// New on hand.
        on_hand: u64,
        /// New reserved.
        reserved: u64,
        /// New owed backorders.
        #[serde(default)]
        backordered: u64,
    },
    /// A reservation left `Active`.
    ReservationFinished {
        /// The reservation.
        id: ReservationId,
        /// Its final status.
        status: ReservationStatus,
    },
}

impl DomainEvent for InventoryEvent {
    fn topic(&self) -> &'static str {
        match self {
            InventoryEvent::StockChanged { .. } => "inventory.stock_changed",
            InventoryEvent::ReservationFinished { .. } => "inventory.reservation_finished",
        }
    }
    fn aggregate_type(&self) -> &'static str {
        match self {
            InventoryEvent::StockChanged { .. } => "sku",
            InventoryEvent::ReservationFinished { .. } => "reservation",
        }
    }
    fn aggregate_id(&self) -> String {
        match self {
            InventoryEvent::StockChanged { sku, .. } => sku.to_string(),
            InventoryEvent::ReservationFinished { id, .. } => id.to_string(),
        }
    }
}
