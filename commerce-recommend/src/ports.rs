//! The [`RecommendStore`] port: the precomputed tables and their cheap reads.

use async_trait::async_trait;

use commerce_core::{CategoryId, CustomerId, ProductId};

use crate::error::Result;
use crate::model::{ProductSignals, Purchase, Scored};

/// Longest list a read returns.
pub const MAX_LIST: u32 = 50;

/// How many co-purchased products per anchor (those bought together with it most
/// often) a bought-together read normalises and ranks: bounds the read's cost.
pub const PAIR_CANDIDATES: u32 = 200;

/// Most products of one order that enter pair counts (an order of more lines counts
/// its first ones): bounds a recording's cost.
pub const MAX_PAIR_LINES: usize = 50;

/// Precomputed recommendation tables.
///
/// Every read returns only products whose signals are stored and recommendable
/// (active and in stock), never an anchor nor a product of `exclude`, at most
/// `min(limit, MAX_LIST)`, ordered by score (descending) then product id.
#[async_trait]
pub trait RecommendStore: Send + Sync {
    /// Creates or replaces a product's signals.
    async fn upsert_signals(&self, signals: &ProductSignals) -> Result<()>;

    /// The stored signals of a product.
    async fn signals(&self, product_id: ProductId) -> Result<Option<ProductSignals>>;

    /// Records a confirmed order, once per `purchase.event_id`, in one atomic step:
    /// per product the number of orders with it, per pair of distinct products the
    /// number of orders with both, each product's decayed units sold in each of its
    /// categories (as stored in its signals now) and in [`crate::ALL_CATEGORIES`],
    /// and the customer's purchased products. Returns `false` and changes nothing
    /// when the event was recorded before (by this or a concurrent call).
    async fn record_purchase(&self, purchase: &Purchase) -> Result<bool>;

    /// Records many confirmed orders in one atomic step (all of them or none), each
    /// once, as [`RecommendStore::record_purchase`] on each in order would: a
    /// purchase whose event was recorded before, or that repeats an earlier one of
    /// the batch, changes nothing. Returns, per purchase, whether this call recorded
    /// it. A backend records a batch in a fixed number of statements, whatever its
    /// size.
    async fn record_purchases(&self, purchases: &[Purchase]) -> Result<Vec<bool>>;

    /// Frequently bought together with `anchors`: for each candidate, the sum over
    /// anchors of `together / sqrt(orders(anchor) * orders(candidate))`, among the
    /// [`PAIR_CANDIDATES`] products most often bought with each anchor.
    async fn bought_together(
        &self,
        anchors: &[ProductId],
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>>;

    /// Products like `product_id`: shared terms plus twice the shared categories
    /// (products sharing neither are left out).
    async fn similar(
        &self,
        product_id: ProductId,
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>>;

    /// Most sold in `category_id` (or shop-wide for [`crate::ALL_CATEGORIES`]) with
    /// time decay ([`crate::decay`]).
    async fn popular(
        &self,
        category_id: CategoryId,
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>>;

    /// Products `customer_id` bought, most recently bought first, at most `limit`.
    async fn purchased(&self, customer_id: CustomerId, limit: u32) -> Result<Vec<ProductId>>;

    /// Replaces the precomputed "for you" list of `customer_id` (best first; the
    /// first [`MAX_LIST`] kept).
    async fn save_for_you(&self, customer_id: CustomerId, list: &[Scored]) -> Result<()>;

    /// The precomputed "for you" list of `customer_id`, in its stored order: only its
    /// products that are recommendable now and that the customer has not bought
    /// (by [`RecommendStore::purchased`]'s record), at most `min(limit, MAX_LIST)`.
    /// `None` when no list was saved for the customer.
    async fn for_you(&self, customer_id: CustomerId, limit: u32) -> Result<Option<Vec<Scored>>>;
}

/// Sorts by score descending, then product id, and keeps `limit`.
pub fn rank(mut list: Vec<Scored>, limit: u32) -> Vec<Scored> {
    list.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.product_id.cmp(&b.product_id))
    });
    list.truncate(limit.min(MAX_LIST) as usize);
    list
}
