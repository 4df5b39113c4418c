//! The [`ReviewStore`] port, its product-list query and keyset pages.

use std::cmp::Ordering;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, EventEnvelope, ProductId};

use crate::aggregate::RatingAggregate;
use crate::error::Result;
use crate::model::{AbuseReport, Rating, Review, ReviewId, ReviewStatus};

/// Largest page a store returns.
pub const MAX_PAGE: u32 = 100;

/// How a product's reviews are ordered. Ties are broken by id, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOrder {
    /// Newest first.
    #[default]
    Newest,
    /// Most helpful votes first.
    MostHelpful,
    /// Five stars first.
    HighestRating,
    /// One star first.
    LowestRating,
}

impl ReviewOrder {
    /// The sort key of `review` in this order (see [`ReviewCursor`]).
    pub fn key(self, review: &Review) -> i64 {
        match self {
            ReviewOrder::Newest => 0,
            ReviewOrder::MostHelpful => i64::from(review.helpful_count),
            ReviewOrder::HighestRating | ReviewOrder::LowestRating => {
                i64::from(review.rating.stars())
            }
        }
    }

    /// True when a greater key comes first.
    pub fn descending(self) -> bool {
        !matches!(self, ReviewOrder::LowestRating)
    }

    /// How `a` and `b` compare in this order (`Less`: `a` comes first).
    pub fn compare(self, a: &Review, b: &Review) -> Ordering {
        let keys = self.key(a).cmp(&self.key(b));
        let keys = if self.descending() {
            keys.reverse()
        } else {
            keys
        };
        keys.then_with(|| b.id.cmp(&a.id))
    }

    /// True when `review` comes after `cursor` in this order.
    pub fn is_after(self, review: &Review, cursor: &ReviewCursor) -> bool {
        let key = self.key(review);
        let keys = if self.descending() {
            cursor.key.cmp(&key)
        } else {
            key.cmp(&cursor.key)
        };
        keys == Ordering::Greater || (keys == Ordering::Equal && review.id < cursor.id)
    }
}

/// Keyset position in a product list: the sort key and id of the last review of the
/// previous page ([`ReviewCursor::after`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCursor {
    /// Sort key of the last review ([`ReviewOrder::key`]).
    pub key: i64,
    /// Id of the last review.
    pub id: ReviewId,
}

impl ReviewCursor {
    /// The cursor for the page after `last` in `order`.
    pub fn after(order: ReviewOrder, last: &Review) -> Self {
        ReviewCursor {
            key: order.key(last),
            id: last.id,
        }
    }
}

/// A page of a product's published reviews.
///
/// Built with [`ProductReviewQuery::first`], then
/// [`with_rating`](ProductReviewQuery::with_rating) and
/// [`with_after`](ProductReviewQuery::with_after).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProductReviewQuery {
    /// The product.
    pub product_id: ProductId,
    /// Order.
    pub order: ReviewOrder,
    /// Only reviews with this rating.
    pub rating: Option<Rating>,
    /// Only reviews after this position (from the previous page's last review).
    pub after: Option<ReviewCursor>,
    /// Page size, capped at [`MAX_PAGE`]; 0 gives an empty page.
    pub limit: u32,
}

impl ProductReviewQuery {
    /// The first page of `limit` reviews of `product_id` in `order`.
    pub fn first(product_id: ProductId, order: ReviewOrder, limit: u32) -> Self {
        ProductReviewQuery {
            product_id,
            order,
            rating: None,
            after: None,
            limit,
        }
    }

    /// The same query keeping only reviews with this rating (`None`: any rating).
    pub fn with_rating(mut self, rating: impl Into<Option<Rating>>) -> Self {
        self.rating = rating.into();
        self
    }

    /// The page after this position (`None`: the first page).
    pub fn with_after(mut self, after: impl Into<Option<ReviewCursor>>) -> Self {
        self.after = after.into();
        self
    }

    /// True when `review` belongs on this page's list (published, this product, the
    /// rating filter, after the cursor).
    pub fn admits(&self, review: &Review) -> bool {
        review.product_id == self.product_id
            && review.counted_rating().is_some()
            && self.rating.is_none_or(|r| r == review.rating)
            && self.after.is_none_or(|c| self.order.is_after(review, &c))
    }
}

/// A page of one customer's reviews (every status), newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerReviewPage {
    /// Only reviews older than this one (the previous page's last id).
    pub before: Option<ReviewId>,
    /// Page size, capped at [`MAX_PAGE`].
    pub limit: u32,
}

/// A page of the moderation queue: reviews reported at least once or hidden, every
/// product, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationPage {
    /// Only reviews with this status (`None`: both). The store filters before it
    /// counts, so a page is full whenever enough reviews of the status remain.
    pub status: Option<ReviewStatus>,
    /// Only reviews older than this one (the previous page's last id).
    pub before: Option<ReviewId>,
    /// Page size, capped at [`MAX_PAGE`].
    pub limit: u32,
}

/// What a review change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewChange {
    /// The review as stored after the change (`None` after a delete).
    pub review: Option<Review>,
    /// The product's aggregate after the change.
    pub aggregate: RatingAggregate,
    /// Whether the aggregate changed (and `RatingChanged` was written).
    pub aggregate_changed: bool,
}

/// Reviews with their votes, reports and per-product rating aggregates.
///
/// Every write is one atomic step: the review, the product's aggregate, and the
/// events handed in, plus `CatalogEvent::RatingChanged` built by
/// [`RatingAggregate::rating_changed`] when the aggregate changed, stamped with the
/// change's time and appended after the events handed in. Exact under any number of
/// concurrent callers.
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// Stores a new review with version 1 (whatever `review.version`, `helpful_count`
    /// and `report_count` say). One review per (product, customer): when one exists,
    /// `AlreadyReviewed` with its id and nothing is written, however many concurrent
    /// calls race. A reused id is a `Conflict`.
    async fn create(&self, review: &Review, events: &[EventEnvelope]) -> Result<ReviewChange>;

    /// Replaces the editable and moderated fields (sku, rating, title, body, status,
    /// moderation, `updated_at`) of review `review.id` if its version is
    /// `expected_version`, and sets the version to `expected_version + 1`. Other fields
    /// are kept as stored. `NotFound` for an unknown id, `Conflict` for a stale version.
    async fn update(
        &self,
        review: &Review,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<ReviewChange>;

    /// Deletes a review with its votes and reports if its version is
    /// `expected_version`. `NotFound`, `Conflict` as for `update`.
    async fn delete(
        &self,
        id: ReviewId,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<ReviewChange>;

    /// A review by id.
    async fn get(&self, id: ReviewId) -> Result<Option<Review>>;

    /// The review of `product_id` by `customer_id`, if any.
    async fn find(&self, product_id: ProductId, customer_id: CustomerId) -> Result<Option<Review>>;

    /// A page of a product's published reviews.
    async fn list_for_product(&self, query: &ProductReviewQuery) -> Result<Vec<Review>>;

    /// A page of the moderation queue ([`ModerationPage`]): reviews with at least
    /// one report or hidden, newest first.
    async fn list_for_moderation(&self, page: ModerationPage) -> Result<Vec<Review>>;

    /// A page of a customer's reviews, any status, newest first.
    async fn list_for_customer(
        &self,
        customer_id: CustomerId,
        page: CustomerReviewPage,
    ) -> Result<Vec<Review>>;

    /// The product's aggregate (empty when it has no published review). One row read.
    async fn aggregate(&self, product_id: ProductId) -> Result<RatingAggregate>;

    /// Records that `customer_id` found the review helpful. Returns `true` and writes
    /// `events` the first time; `false` and writes nothing after that. `NotFound` for
    /// an unknown review.
    async fn vote_helpful(
        &self,
        id: ReviewId,
        customer_id: CustomerId,
        events: &[EventEnvelope],
    ) -> Result<bool>;

    /// Records a report. Returns `true` and writes `events` the first time this
    /// customer reports this review; `false` and writes nothing after that.
    /// `NotFound` for an unknown review.
    async fn report(&self, report: &AbuseReport, events: &[EventEnvelope]) -> Result<bool>;
}
