//! Domain events and the envelope they travel in through the outbox.
//!
//! Each crate defines its own typed events (`OrderEvent`, `InventoryEvent`, ...) and
//! implements [`DomainEvent`] for them; stores write [`EventEnvelope`]s to the outbox
//! in the same transaction as the state change they describe.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::{CategoryId, EventId, ProductId, Sku};
use crate::money::Money;

/// A typed domain event that can be put into an [`EventEnvelope`].
pub trait DomainEvent: Serialize {
    /// Dotted topic name, stable across versions, e.g. `order.confirmed`.
    fn topic(&self) -> &'static str;
    /// The kind of aggregate the event is about, e.g. `order`.
    fn aggregate_type(&self) -> &'static str;
    /// The id of the aggregate the event is about.
    fn aggregate_id(&self) -> String;

    /// Wraps the event in an envelope stamped with `occurred_at`.
    fn envelope(&self, occurred_at: DateTime<Utc>) -> Result<EventEnvelope> {
        Ok(EventEnvelope {
            id: EventId::new(),
            topic: self.topic().to_owned(),
            aggregate_type: self.aggregate_type().to_owned(),
            aggregate_id: self.aggregate_id(),
            occurred_at,
            payload: serde_json::to_value(self).map_err(Error::backend)?,
        })
    }
}

/// An event as stored in the outbox and handed to consumers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Unique id (consumers deduplicate on it).
    pub id: EventId,
    /// Dotted topic, e.g. `order.confirmed`.
    pub topic: String,
    /// Aggregate kind, e.g. `order`.
    pub aggregate_type: String,
    /// Aggregate id as text.
    pub aggregate_id: String,
    /// When the state change happened.
    pub occurred_at: DateTime<Utc>,
    /// The typed event, serialized as JSON.
    pub payload: serde_json::Value,
}

/// Events of the catalog, written by [`crate::ports::CatalogStore`] implementations in
/// the same transaction as the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CatalogEvent {
    /// A product was created or changed (search indexing and caches consume it).
    ProductUpserted {
        /// The product.
        product_id: ProductId,
    },
    /// The price of a SKU changed (cached product details must be invalidated).
    PriceChanged {
        /// The product.
        product_id: ProductId,
        /// The SKU.
        sku: Sku,
        /// The new price.
        price: Money,
    },
    /// A product stopped being sold (archived or back to draft): search removes it.
    ProductDeactivated {
        /// The product.
        product_id: ProductId,
    },
    /// The rating aggregate of a product changed (search filters and sorts by it).
    RatingChanged {
        /// The product.
        product_id: ProductId,
        /// Visible reviews counted.
        rating_count: u32,
        /// Their average rating, rounded to two decimals (0 when there are none).
        #[serde(with = "rust_decimal::serde::str")]
        rating_average: Decimal,
    },
}

impl CatalogEvent {
    /// The product the event is about.
    pub fn product_id(&self) -> ProductId {
        match self {
            CatalogEvent::ProductUpserted { product_id }
            | CatalogEvent::PriceChanged { product_id, .. }
            | CatalogEvent::ProductDeactivated { product_id }
            | CatalogEvent::RatingChanged { product_id, .. } => *product_id,
        }
    }
}

impl DomainEvent for CatalogEvent {
    fn topic(&self) -> &'static str {
        match self {
            CatalogEvent::ProductUpserted { .. } => "catalog.product_upserted",
            CatalogEvent::PriceChanged { .. } => "catalog.price_changed",
            CatalogEvent::ProductDeactivated { .. } => "catalog.product_deactivated",
            CatalogEvent::RatingChanged { .. } => "catalog.rating_changed",
        }
    }
    fn aggregate_type(&self) -> &'static str {
        "product"
    }
    fn aggregate_id(&self) -> String {
        match self {
            CatalogEvent::ProductUpserted { product_id }
            | CatalogEvent::PriceChanged { product_id, .. }
            | CatalogEvent::ProductDeactivated { product_id }
            | CatalogEvent::RatingChanged { product_id, .. } => product_id.to_string(),
        }
    }
}

/// Events of the category tree, written by [`crate::ports::CatalogStore::upsert_category`]
/// in the same transaction as the change: the search index refreshes its tree (and
/// the documents under a moved or renamed category), caches of the tree drop it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CategoryEvent {
    /// A category was created, renamed or moved under another parent.
    CategoryUpserted {
        /// The category.
        category_id: CategoryId,
        /// Its parent after the change (`None`: a root).
        parent_id: Option<CategoryId>,
        /// Its parent before the change, when it existed and moved.
        previous_parent_id: Option<CategoryId>,
    },
}

impl DomainEvent for CategoryEvent {
    fn topic(&self) -> &'static str {
        match self {
            CategoryEvent::CategoryUpserted { .. } => "catalog.category_upserted",
        }
    }
    fn aggregate_type(&self) -> &'static str {
        "category"
    }
    fn aggregate_id(&self) -> String {
        match self {
            CategoryEvent::CategoryUpserted { category_id, .. } => category_id.to_string(),
        }
    }
}
