//! Events of reviews, written to the outbox in the same atomic step as the change.

use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, DomainEvent, ProductId};

use crate::model::{Moderator, Rating, ReviewId};

/// Something that happened to a review. Topics (stable): `review.posted`,
/// `review.edited`, `review.deleted`, `review.hidden`, `review.restored`,
/// `review.reported`, `review.voted_helpful`. The aggregate is the review.
///
/// A change that moves the product's rating aggregate also writes
/// `CatalogEvent::RatingChanged` (topic `catalog.rating_changed`, aggregate the
/// product), which the search indexer consumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReviewEvent {
    /// A review was posted.
    Posted {
        /// The review.
        review_id: ReviewId,
        /// Its product.
        product_id: ProductId,
        /// Its author.
        customer_id: CustomerId,
        /// Stars.
        rating: Rating,
        /// Verified purchase.
        verified: bool,
    },
    /// Its author edited it.
    Edited {
        /// The review.
        review_id: ReviewId,
        /// Its product.
        product_id: ProductId,
        /// Stars after the edit.
        rating: Rating,
    },
    /// Its author deleted it.
    Deleted {
        /// The review.
        review_id: ReviewId,
        /// Its product.
        product_id: ProductId,
    },
    /// A moderator hid it.
    Hidden {
        /// The review.
        review_id: ReviewId,
        /// Its product.
        product_id: ProductId,
        /// Who.
        by: Moderator,
        /// Why.
        reason: String,
    },
    /// A moderator published it again.
    Restored {
        /// The review.
        review_id: ReviewId,
        /// Its product.
        product_id: ProductId,
        /// Who.
        by: Moderator,
        /// Why.
        reason: String,
    },
    /// A customer reported it as abusive (moderation queues consume this).
    Reported {
        /// The review.
        review_id: ReviewId,
        /// Its product.
        product_id: ProductId,
        /// Why.
        reason: String,
    },
    /// A customer found it helpful.
    VotedHelpful {
        /// The review.
        review_id: ReviewId,
        /// Its product.
        product_id: ProductId,
    },
}

impl DomainEvent for ReviewEvent {
    fn topic(&self) -> &'static str {
        match self {
            ReviewEvent::Posted { .. } => "review.posted",
            ReviewEvent::Edited { .. } => "review.edited",
            ReviewEvent::Deleted { .. } => "review.deleted",
            ReviewEvent::Hidden { .. } => "review.hidden",
            ReviewEvent::Restored { .. } => "review.restored",
            ReviewEvent::Reported { .. } => "review.reported",
            ReviewEvent::VotedHelpful { .. } => "review.voted_helpful",
        }
    }
    fn aggregate_type(&self) -> &'static str {
        "review"
    }
    fn aggregate_id(&self) -> String {
        match self {
            ReviewEvent::Posted { review_id, .. }
            | ReviewEvent::Edited { review_id, .. }
            | ReviewEvent::Deleted { review_id, .. }
            | ReviewEvent::Hidden { review_id, .. }
            | ReviewEvent::Restored { review_id, .. }
            | ReviewEvent::Reported { review_id, .. }
            | ReviewEvent::VotedHelpful { review_id, .. } => review_id.to_string(),
        }
    }
}
