//! Reviews, ratings, moderation records and abuse reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{Actor, CustomerId, ProductId, SellerId, Sku};

use crate::error::{Error, Result};

commerce_core::typed_id!(
    /// Id of a review.
    ReviewId,
    "review_id"
);

/// A star rating, 1 to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Rating(u8);

impl Rating {
    /// Lowest rating.
    pub const MIN: u8 = 1;
    /// Highest rating.
    pub const MAX: u8 = 5;

    /// A rating of `stars`; `Validation` outside 1..=5.
    pub fn new(stars: u8) -> Result<Self> {
        if (Self::MIN..=Self::MAX).contains(&stars) {
            Ok(Rating(stars))
        } else {
            Err(Error::validation("rating", "must be from 1 to 5"))
        }
    }

    /// The number of stars.
    pub const fn stars(self) -> u8 {
        self.0
    }

    /// Index into a 1-5 histogram (0 for one star).
    pub(crate) fn index(self) -> usize {
        usize::from(self.0 - 1)
    }
}

impl TryFrom<u8> for Rating {
    type Error = Error;
    fn try_from(stars: u8) -> Result<Self> {
        Rating::new(stars)
    }
}

impl From<Rating> for u8 {
    fn from(rating: Rating) -> u8 {
        rating.0
    }
}

/// Whether a review is shown and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReviewStatus {
    /// Shown in lists and counted in the aggregate.
    #[default]
    Published,
    /// Hidden by a moderator: in no product list, not counted; its author still
    /// sees it among their own reviews.
    Hidden,
}

impl ReviewStatus {
    /// Snake_case name, as serialized and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Published => "published",
            ReviewStatus::Hidden => "hidden",
        }
    }

    /// Parses [`ReviewStatus::as_str`].
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "published" => Ok(ReviewStatus::Published),
            "hidden" => Ok(ReviewStatus::Hidden),
            other => Err(Error::validation(
                "status",
                format!("unknown review status {other:?}"),
            )),
        }
    }
}

/// Who moderates: the seller of the reviewed product, or an admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Moderator {
    /// The seller of the product (only their own products' reviews).
    Seller {
        /// The seller.
        seller_id: SellerId,
    },
    /// Staff of the shop (any review).
    Admin,
}

impl Moderator {
    /// The moderator an actor acts as: a seller or an admin; `None` for customers and
    /// guests.
    pub fn of(actor: &Actor) -> Option<Moderator> {
        match actor {
            Actor::Seller(seller_id) => Some(Moderator::Seller {
                seller_id: *seller_id,
            }),
            Actor::Admin => Some(Moderator::Admin),
            _ => None,
        }
    }
}

/// What a moderator did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModerationAction {
    /// Hid the review.
    Hide,
    /// Published it again.
    Restore,
}

/// The last moderation of a review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Moderation {
    /// Hide or restore.
    pub action: ModerationAction,
    /// Who did it.
    pub by: Moderator,
    /// Why (shown to the author).
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a customer writes: the editable part of a review.
///
/// Built with [`ReviewDraft::new`] (stars and headline), then
/// [`with_body`](ReviewDraft::with_body) and [`with_sku`](ReviewDraft::with_sku):
///
/// ```
/// use commerce_core::Sku;
/// use commerce_reviews::{Rating, ReviewDraft};
///
/// let draft = ReviewDraft::new(Rating::new(4).unwrap(), "Solid mug")
///     .with_body("Keeps coffee hot.")
///     .with_sku(Sku::new("MUG-BLUE").unwrap());
/// assert_eq!(draft.title, "Solid mug");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReviewDraft {
    /// Stars.
    pub rating: Rating,
    /// Headline (required; see [`crate::rules::ReviewLimits`]).
    pub title: String,
    /// Text (may be empty).
    #[serde(default)]
    pub body: String,
    /// The variant reviewed, when the customer names one; a SKU of the product.
    #[serde(default)]
    pub sku: Option<Sku>,
}

impl ReviewDraft {
    /// A review of `rating` stars headed `title`, with no text and no variant named.
    pub fn new(rating: Rating, title: impl Into<String>) -> Self {
        ReviewDraft {
            rating,
            title: title.into(),
            body: String::new(),
            sku: None,
        }
    }

    /// The same draft with this text.
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// The same draft naming this variant (`None`: none named).
    pub fn with_sku(mut self, sku: impl Into<Option<Sku>>) -> Self {
        self.sku = sku.into();
        self
    }
}

/// A review of a product by a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Id (time ordered: newer reviews have greater ids).
    pub id: ReviewId,
    /// The product reviewed.
    pub product_id: ProductId,
    /// The author.
    pub customer_id: CustomerId,
    /// The variant reviewed, if named.
    pub sku: Option<Sku>,
    /// Stars.
    pub rating: Rating,
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// True when the author had a confirmed order line of the product when posting.
    pub verified: bool,
    /// Published or hidden.
    pub status: ReviewStatus,
    /// The last moderation, if any.
    pub moderation: Option<Moderation>,
    /// Customers who found it helpful (kept by the store, one vote per customer).
    pub helpful_count: u32,
    /// Customers who reported it (kept by the store, one report per customer).
    pub report_count: u32,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it last changed (edit or moderation).
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency version (1 when posted, +1 per edit or moderation).
    pub version: u64,
}

impl Review {
    /// The rating this review adds to its product's aggregate: `None` when hidden.
    pub fn counted_rating(&self) -> Option<Rating> {
        match self.status {
            ReviewStatus::Published => Some(self.rating),
            ReviewStatus::Hidden => None,
        }
    }
}

/// A customer's report of an abusive review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AbuseReport {
    /// The review reported.
    pub review_id: ReviewId,
    /// Who reports it.
    pub customer_id: CustomerId,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}
