//! [`Reviews`]: posting, editing, deleting, reporting, voting and moderating, with
//! who is acting as an argument.
//!
//! Every operation takes the [`Actor`]: customers post, edit and delete their own
//! reviews, report and vote; the product's seller and admins moderate. Anyone else
//! gets `Forbidden`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use commerce_core::ports::CatalogStore;
use commerce_core::{Actor, Clock, CustomerId, DomainEvent, EventEnvelope, ProductId};

use crate::aggregate::RatingAggregate;
use crate::error::{Error, Result};
use crate::event::ReviewEvent;
use crate::model::{
    AbuseReport, Moderation, ModerationAction, Moderator, Review, ReviewDraft, ReviewId,
    ReviewStatus,
};
use crate::ports::{CustomerReviewPage, ModerationPage, ProductReviewQuery, ReviewStore};
use crate::purchases::PurchaseHistory;
use crate::rules::ReviewLimits;

/// Shop settings for reviews.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ReviewSettings {
    /// Whether customers may review products they did not buy (marked unverified).
    pub allow_unverified: bool,
    /// Text limits.
    pub limits: ReviewLimits,
}

impl ReviewSettings {
    /// These settings with unverified reviews allowed (or not).
    pub fn with_unverified(mut self, allow: bool) -> Self {
        self.allow_unverified = allow;
        self
    }

    /// These settings with other text limits.
    pub fn with_limits(mut self, limits: ReviewLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// The review operations.
#[derive(Clone)]
pub struct Reviews {
    store: Arc<dyn ReviewStore>,
    purchases: Arc<dyn PurchaseHistory>,
    catalog: Arc<dyn CatalogStore>,
    clock: Arc<dyn Clock>,
    settings: ReviewSettings,
}

impl std::fmt::Debug for Reviews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reviews")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn customer(actor: &Actor) -> Result<CustomerId> {
    actor
        .customer_id()
        .ok_or(Error::Forbidden("only a signed-in customer does this"))
}

fn envelope(event: &ReviewEvent, review: &Review) -> Result<Vec<EventEnvelope>> {
    Ok(vec![event.envelope(review.updated_at)?])
}

impl Reviews {
    /// Reviews on `store`, checking purchases in `purchases` and products in `catalog`.
    pub fn new(
        store: Arc<dyn ReviewStore>,
        purchases: Arc<dyn PurchaseHistory>,
        catalog: Arc<dyn CatalogStore>,
        clock: Arc<dyn Clock>,
        settings: ReviewSettings,
    ) -> Self {
        Reviews {
            store,
            purchases,
            catalog,
            clock,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &ReviewSettings {
        &self.settings
    }

    /// Posts the acting customer's review of `product_id`. Verified when the customer has a
    /// confirmed (not cancelled) order line of the product; otherwise allowed only
    /// when the shop takes unverified reviews (`PurchaseRequired` if not).
    /// `AlreadyReviewed` when the customer reviewed the product before; `NotFound`
    /// for an unknown product; `Validation` for bad text or a SKU of another product.
    pub async fn post(
        &self,
        actor: &Actor,
        product_id: ProductId,
        draft: ReviewDraft,
    ) -> Result<Review> {
        let customer_id = customer(actor)?;
        let draft = self.settings.limits.check_draft(draft)?;
        let product = self
            .catalog
            .product(product_id)
            .await?
            .ok_or_else(|| Error::not_found("product", product_id))?;
        let skus: Vec<_> = product.variants.iter().map(|v| v.sku.clone()).collect();
        if let Some(sku) = &draft.sku
            && !skus.contains(sku)
        {
            return Err(Error::validation("sku", "not a variant of this product"));
        }
        if let Some(existing) = self.store.find(product_id, customer_id).await? {
            return Err(Error::AlreadyReviewed {
                review_id: existing.id,
            });
        }
        let verified = self.purchases.has_bought(customer_id, &skus).await?;
        if !verified && !self.settings.allow_unverified {
            return Err(Error::PurchaseRequired { product_id });
        }
        let now = self.clock.now();
        let review = Review {
            id: ReviewId::new(),
            product_id,
            customer_id,
            sku: draft.sku,
            rating: draft.rating,
            title: draft.title,
            body: draft.body,
            verified,
            status: ReviewStatus::Published,
            moderation: None,
            helpful_count: 0,
            report_count: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let event = ReviewEvent::Posted {
            review_id: review.id,
            product_id,
            customer_id,
            rating: review.rating,
            verified,
        };
        let change = self
            .store
            .create(&review, &envelope(&event, &review)?)
            .await?;
        change
            .review
            .ok_or_else(|| Error::not_found("review", review.id))
    }

    async fn authored(&self, actor: &Actor, id: ReviewId) -> Result<Review> {
        let customer_id = customer(actor)?;
        let review = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| Error::not_found("review", id))?;
        if review.customer_id != customer_id {
            return Err(Error::Forbidden("only its author changes a review"));
        }
        Ok(review)
    }

    /// The author replaces the text, rating and variant of their review.
    /// `Forbidden` for anyone else; `Conflict` when a concurrent change won.
    pub async fn edit(&self, actor: &Actor, id: ReviewId, draft: ReviewDraft) -> Result<Review> {
        let draft = self.settings.limits.check_draft(draft)?;
        let current = self.authored(actor, id).await?;
        if let Some(sku) = &draft.sku {
            let product = self.catalog.product(current.product_id).await?;
            if !product.is_some_and(|p| p.variants.iter().any(|v| &v.sku == sku)) {
                return Err(Error::validation("sku", "not a variant of this product"));
            }
        }
        let review = Review {
            sku: draft.sku,
            rating: draft.rating,
            title: draft.title,
            body: draft.body,
            updated_at: self.clock.now(),
            ..current.clone()
        };
        let event = ReviewEvent::Edited {
            review_id: id,
            product_id: review.product_id,
            rating: review.rating,
        };
        let change = self
            .store
            .update(&review, current.version, &envelope(&event, &review)?)
            .await?;
        change.review.ok_or_else(|| Error::not_found("review", id))
    }

    /// The author deletes their review.
    pub async fn delete(&self, actor: &Actor, id: ReviewId) -> Result<()> {
        let current = self.authored(actor, id).await?;
        let now = self.clock.now();
        let event = ReviewEvent::Deleted {
            review_id: id,
            product_id: current.product_id,
        };
        self.store
            .delete(id, current.version, &[event.envelope(now)?], now)
            .await?;
        Ok(())
    }

    async fn published(&self, id: ReviewId) -> Result<Review> {
        match self.store.get(id).await? {
            Some(r) if r.status == ReviewStatus::Published => Ok(r),
            _ => Err(Error::not_found("review", id)),
        }
    }

    /// A customer reports a published review as abusive; once per customer (a repeat
    /// returns `false`). `NotFound` for an unknown or hidden review.
    pub async fn report(&self, actor: &Actor, id: ReviewId, reason: &str) -> Result<bool> {
        let customer_id = customer(actor)?;
        let reason = self.settings.limits.check_reason(reason)?;
        let review = self.published(id).await?;
        let at = self.clock.now();
        let event = ReviewEvent::Reported {
            review_id: id,
            product_id: review.product_id,
            reason: reason.clone(),
        };
        let report = AbuseReport {
            review_id: id,
            customer_id,
            reason,
            at,
        };
        self.store.report(&report, &[event.envelope(at)?]).await
    }

    /// A customer finds a published review helpful; once per customer (a repeat
    /// returns `false`). `Forbidden` on one's own review.
    pub async fn vote_helpful(&self, actor: &Actor, id: ReviewId) -> Result<bool> {
        let customer_id = customer(actor)?;
        let review = self.published(id).await?;
        if review.customer_id == customer_id {
            return Err(Error::Forbidden("authors do not vote on their own review"));
        }
        let event = ReviewEvent::VotedHelpful {
            review_id: id,
            product_id: review.product_id,
        };
        self.store
            .vote_helpful(id, customer_id, &[event.envelope(self.clock.now())?])
            .await
    }

    /// The product's seller or an admin hides a review (it leaves lists and the
    /// aggregate). Idempotent: hiding a
    /// hidden review changes nothing.
    pub async fn hide(&self, actor: &Actor, id: ReviewId, reason: &str) -> Result<Review> {
        self.moderate(actor, id, reason, ModerationAction::Hide)
            .await
    }

    /// Publishes a hidden review again. Idempotent like [`Reviews::hide`].
    pub async fn restore(&self, actor: &Actor, id: ReviewId, reason: &str) -> Result<Review> {
        self.moderate(actor, id, reason, ModerationAction::Restore)
            .await
    }

    async fn moderate(
        &self,
        actor: &Actor,
        id: ReviewId,
        reason: &str,
        action: ModerationAction,
    ) -> Result<Review> {
        let moderator = Moderator::of(actor).ok_or(Error::Forbidden(
            "only the product's seller or an admin moderates reviews",
        ))?;
        let reason = self.settings.limits.check_reason(reason)?;
        let current = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| Error::not_found("review", id))?;
        if let Moderator::Seller { seller_id } = moderator {
            let product = self.catalog.product(current.product_id).await?;
            if product.is_none_or(|p| p.seller_id != seller_id) {
                return Err(Error::Forbidden(
                    "sellers moderate reviews of their own products only",
                ));
            }
        }
        let status = match action {
            ModerationAction::Hide => ReviewStatus::Hidden,
            ModerationAction::Restore => ReviewStatus::Published,
        };
        if current.status == status {
            return Ok(current);
        }
        let at = self.clock.now();
        let review = Review {
            status,
            moderation: Some(Moderation {
                action,
                by: moderator,
                reason: reason.clone(),
                at,
            }),
            updated_at: at,
            ..current.clone()
        };
        let (review_id, product_id) = (id, review.product_id);
        let event = match action {
            ModerationAction::Hide => ReviewEvent::Hidden {
                review_id,
                product_id,
                by: moderator,
                reason,
            },
            ModerationAction::Restore => ReviewEvent::Restored {
                review_id,
                product_id,
                by: moderator,
                reason,
            },
        };
        let change = self
            .store
            .update(&review, current.version, &envelope(&event, &review)?)
            .await?;
        change.review.ok_or_else(|| Error::not_found("review", id))
    }

    /// A page of the moderation queue (reviews reported or hidden, every product,
    /// newest first) for staff; `Forbidden` for anyone else.
    pub async fn moderation_queue(
        &self,
        actor: &Actor,
        page: ModerationPage,
    ) -> Result<Vec<Review>> {
        if !actor.is_admin() {
            return Err(Error::Forbidden("only staff read the moderation queue"));
        }
        self.store.list_for_moderation(page).await
    }

    /// A page of a product's published reviews.
    pub async fn for_product(&self, query: &ProductReviewQuery) -> Result<Vec<Review>> {
        self.store.list_for_product(query).await
    }

    /// A page of the acting customer's own reviews (hidden ones included).
    pub async fn of_customer(
        &self,
        actor: &Actor,
        page: CustomerReviewPage,
    ) -> Result<Vec<Review>> {
        self.store.list_for_customer(customer(actor)?, page).await
    }

    /// The product's rating aggregate.
    pub async fn aggregate(&self, product_id: ProductId) -> Result<RatingAggregate> {
        self.store.aggregate(product_id).await
    }
}
