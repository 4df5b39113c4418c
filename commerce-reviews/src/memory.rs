//! The in-memory [`ReviewStore`]: the reference behaviour, exact under concurrent
//! tasks (one lock per call, events pushed while holding it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::memory::MemoryOutbox;
use commerce_core::{CustomerId, EventEnvelope, ProductId};

use crate::aggregate::RatingAggregate;
use crate::error::{Error, Result};
use crate::model::{AbuseReport, Review, ReviewId, ReviewStatus};
use crate::ports::{
    CustomerReviewPage, MAX_PAGE, ModerationPage, ProductReviewQuery, ReviewChange, ReviewStore,
};

#[derive(Debug, Default)]
struct State {
    reviews: BTreeMap<ReviewId, Review>,
    by_author: HashMap<(ProductId, CustomerId), ReviewId>,
    aggregates: HashMap<ProductId, RatingAggregate>,
    votes: HashSet<(ReviewId, CustomerId)>,
    reports: HashMap<(ReviewId, CustomerId), AbuseReport>,
}

impl State {
    /// Moves the product's aggregate and returns the change with the events to push.
    fn settle(
        &mut self,
        product_id: ProductId,
        before: Option<&Review>,
        after: Option<Review>,
        at: DateTime<Utc>,
        events: &[EventEnvelope],
    ) -> Result<(ReviewChange, Vec<EventEnvelope>)> {
        let mut aggregate = self
            .aggregates
            .get(&product_id)
            .copied()
            .unwrap_or_else(|| RatingAggregate::empty(product_id));
        let changed = aggregate.apply(
            before.and_then(Review::counted_rating),
            after.as_ref().and_then(Review::counted_rating),
        );
        let mut out = events.to_vec();
        if changed {
            out.push(aggregate.rating_changed(at)?);
            self.aggregates.insert(product_id, aggregate);
        }
        Ok((
            ReviewChange {
                review: after,
                aggregate,
                aggregate_changed: changed,
            },
            out,
        ))
    }
}

/// Reviews in memory, writing their events to a shared [`MemoryOutbox`].
#[derive(Debug)]
pub struct MemoryReviewStore {
    state: Mutex<State>,
    outbox: Arc<MemoryOutbox>,
}

impl MemoryReviewStore {
    /// An empty store writing its events to `outbox`.
    pub fn new(outbox: Arc<MemoryOutbox>) -> Self {
        MemoryReviewStore {
            state: Mutex::new(State::default()),
            outbox,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stored(state: &State, id: ReviewId, expected_version: u64) -> Result<Review> {
        let current = state
            .reviews
            .get(&id)
            .ok_or_else(|| Error::not_found("review", id))?;
        if current.version != expected_version {
            return Err(Error::Conflict(format!(
                "review {id} is at version {}, not {expected_version}",
                current.version
            )));
        }
        Ok(current.clone())
    }
}

#[async_trait]
impl ReviewStore for MemoryReviewStore {
    async fn create(&self, review: &Review, events: &[EventEnvelope]) -> Result<ReviewChange> {
        let mut state = self.lock();
        let key = (review.product_id, review.customer_id);
        if let Some(existing) = state.by_author.get(&key) {
            return Err(Error::AlreadyReviewed {
                review_id: *existing,
            });
        }
        if state.reviews.contains_key(&review.id) {
            return Err(Error::Conflict(format!("review id {} is taken", review.id)));
        }
        let stored = Review {
            version: 1,
            helpful_count: 0,
            report_count: 0,
            ..review.clone()
        };
        let (change, out) = state.settle(
            review.product_id,
            None,
            Some(stored.clone()),
            review.updated_at,
            events,
        )?;
        state.by_author.insert(key, review.id);
        state.reviews.insert(review.id, stored);
        self.outbox.push(out);
        Ok(change)
    }

    async fn update(
        &self,
        review: &Review,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<ReviewChange> {
        let mut state = self.lock();
        let current = Self::stored(&state, review.id, expected_version)?;
        let stored = Review {
            sku: review.sku.clone(),
            rating: review.rating,
            title: review.title.clone(),
            body: review.body.clone(),
            status: review.status,
            moderation: review.moderation.clone(),
            updated_at: review.updated_at,
            version: expected_version + 1,
            ..current.clone()
        };
        let (change, out) = state.settle(
            current.product_id,
            Some(&current),
            Some(stored.clone()),
            review.updated_at,
            events,
        )?;
        state.reviews.insert(review.id, stored);
        self.outbox.push(out);
        Ok(change)
    }

    async fn delete(
        &self,
        id: ReviewId,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<ReviewChange> {
        let mut state = self.lock();
        let current = Self::stored(&state, id, expected_version)?;
        let (change, out) = state.settle(current.product_id, Some(&current), None, now, events)?;
        state.reviews.remove(&id);
        state
            .by_author
            .remove(&(current.product_id, current.customer_id));
        state.votes.retain(|(r, _)| *r != id);
        state.reports.retain(|(r, _), _| *r != id);
        self.outbox.push(out);
        Ok(change)
    }

    async fn get(&self, id: ReviewId) -> Result<Option<Review>> {
        Ok(self.lock().reviews.get(&id).cloned())
    }

    async fn find(&self, product_id: ProductId, customer_id: CustomerId) -> Result<Option<Review>> {
        let state = self.lock();
        Ok(state
            .by_author
            .get(&(product_id, customer_id))
            .and_then(|id| state.reviews.get(id))
            .cloned())
    }

    async fn list_for_product(&self, query: &ProductReviewQuery) -> Result<Vec<Review>> {
        let state = self.lock();
        let mut page: Vec<Review> = state
            .reviews
            .values()
            .filter(|r| query.admits(r))
            .cloned()
            .collect();
        page.sort_by(|a, b| query.order.compare(a, b));
        page.truncate(query.limit.min(MAX_PAGE) as usize);
        Ok(page)
    }

    async fn list_for_customer(
        &self,
        customer_id: CustomerId,
        page: CustomerReviewPage,
    ) -> Result<Vec<Review>> {
        let state = self.lock();
        Ok(state
            .reviews
            .values()
            .rev()
            .filter(|r| r.customer_id == customer_id && page.before.is_none_or(|b| r.id < b))
            .take(page.limit.min(MAX_PAGE) as usize)
            .cloned()
            .collect())
    }

    async fn list_for_moderation(&self, page: ModerationPage) -> Result<Vec<Review>> {
        let state = self.lock();
        Ok(state
            .reviews
            .values()
            .rev()
            .filter(|r| {
                (r.report_count > 0 || r.status == ReviewStatus::Hidden)
                    && page.status.is_none_or(|s| r.status == s)
                    && page.before.is_none_or(|b| r.id < b)
            })
            .take(page.limit.min(MAX_PAGE) as usize)
            .cloned()
            .collect())
    }

    async fn aggregate(&self, product_id: ProductId) -> Result<RatingAggregate> {
        Ok(self
            .lock()
            .aggregates
            .get(&product_id)
            .copied()
            .unwrap_or_else(|| RatingAggregate::empty(product_id)))
    }

    async fn vote_helpful(
        &self,
        id: ReviewId,
        customer_id: CustomerId,
        events: &[EventEnvelope],
    ) -> Result<bool> {
        let mut state = self.lock();
        if !state.reviews.contains_key(&id) {
            return Err(Error::not_found("review", id));
        }
        if !state.votes.insert((id, customer_id)) {
            return Ok(false);
        }
        if let Some(r) = state.reviews.get_mut(&id) {
            r.helpful_count = r.helpful_count.saturating_add(1);
        }
        self.outbox.push(events.to_vec());
        Ok(true)
    }

    async fn report(&self, report: &AbuseReport, events: &[EventEnvelope]) -> Result<bool> {
        let mut state = self.lock();
        let id = report.review_id;
        if !state.reviews.contains_key(&id) {
            return Err(Error::not_found("review", id));
        }
        let key = (id, report.customer_id);
        if state.reports.contains_key(&key) {
            return Ok(false);
        }
        state.reports.insert(key, report.clone());
        if let Some(r) = state.reviews.get_mut(&id) {
            r.report_count = r.report_count.saturating_add(1);
        }
        self.outbox.push(events.to_vec());
        Ok(true)
    }
}
