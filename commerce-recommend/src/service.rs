//! [`Recommendations`]: the lists shoppers see.

use std::collections::HashMap;
use std::sync::Arc;

use commerce_core::{Actor, CategoryId, CustomerId, ProductId};

use crate::error::Result;
use crate::model::{ALL_CATEGORIES, Scored};
use crate::ports::{MAX_LIST, RecommendStore, rank};

/// How many of a customer's latest purchases seed "for you".
pub const FOR_YOU_SEEDS: u32 = 20;
/// How many of those seed its similar-products part.
pub const FOR_YOU_SIMILAR_SEEDS: usize = 3;
/// Most of a customer's purchases excluded from "for you".
pub const MAX_EXCLUDED: u32 = 1000;
/// Reciprocal-rank fusion constant of the "for you" blend.
const RRF_K: f64 = 10.0;

/// Recommendation lists over a [`RecommendStore`].
#[derive(Clone)]
pub struct Recommendations {
    store: Arc<dyn RecommendStore>,
}

impl std::fmt::Debug for Recommendations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommendations").finish_non_exhaustive()
    }
}

fn fuse(into: &mut HashMap<ProductId, f64>, list: &[Scored], weight: f64) {
    for (rank, s) in list.iter().enumerate() {
        *into.entry(s.product_id).or_default() += weight / (RRF_K + rank as f64 + 1.0);
    }
}

impl Recommendations {
    /// Lists from `store`.
    pub fn new(store: Arc<dyn RecommendStore>) -> Self {
        Recommendations { store }
    }

    /// Frequently bought together with `product_id`.
    pub async fn bought_together(&self, product_id: ProductId, limit: u32) -> Result<Vec<Scored>> {
        self.store.bought_together(&[product_id], &[], limit).await
    }

    /// Frequently bought together with the products of a cart (never one of them).
    pub async fn for_cart(&self, products: &[ProductId], limit: u32) -> Result<Vec<Scored>> {
        self.store.bought_together(products, &[], limit).await
    }

    /// Products similar to `product_id` by terms and categories.
    pub async fn similar(&self, product_id: ProductId, limit: u32) -> Result<Vec<Scored>> {
        self.store.similar(product_id, &[], limit).await
    }

    /// The product page's list: bought together, topped up with similar products
    /// (all of it for a product nobody bought yet).
    pub async fn for_product(&self, product_id: ProductId, limit: u32) -> Result<Vec<Scored>> {
        let limit = limit.min(MAX_LIST);
        let mut list = self
            .store
            .bought_together(&[product_id], &[], limit)
            .await?;
        if list.len() < limit as usize {
            let have: Vec<ProductId> = list.iter().map(|s| s.product_id).collect();
            let more = self
                .store
                .similar(product_id, &have, limit - list.len() as u32)
                .await?;
            list.extend(more);
        }
        Ok(list)
    }

    /// Popular now in `category_id`, or shop-wide for `None`.
    pub async fn popular(
        &self,
        category_id: Option<CategoryId>,
        limit: u32,
    ) -> Result<Vec<Scored>> {
        self.store
            .popular(category_id.unwrap_or(ALL_CATEGORIES), &[], limit)
            .await
    }

    /// For the acting customer, read from their precomputed list
    /// ([`Recommendations::refresh_for_you`], run by the purchase consumer): what is
    /// bought with their purchases, like them, and popular, never what they bought
    /// nor a product that is inactive or out of stock now. A list that filtering left
    /// short is topped up with popular products they did not buy; a customer with no
    /// list yet (no recorded purchase) and any other actor get popular now. Never
    /// blended on the request path: one read, two when topping up.
    pub async fn for_you(&self, actor: &Actor, limit: u32) -> Result<Vec<Scored>> {
        let limit = limit.min(MAX_LIST);
        let Some(customer) = actor.customer_id() else {
            return self.store.popular(ALL_CATEGORIES, &[], limit).await;
        };
        let mut list = self
            .store
            .for_you(customer, limit)
            .await?
            .unwrap_or_default();
        if list.len() < limit as usize {
            let mut exclude = self.store.purchased(customer, MAX_EXCLUDED).await?;
            exclude.extend(list.iter().map(|s| s.product_id));
            let short = limit - list.len() as u32;
            // Below every blended score, in popular order.
            let floor = list.last().map_or(0.0, |s| s.score);
            let more = self.store.popular(ALL_CATEGORIES, &exclude, short).await?;
            if list.is_empty() {
                return Ok(more);
            }
            let n = more.len() as f64;
            list.extend(more.into_iter().enumerate().map(|(i, s)| Scored {
                product_id: s.product_id,
                score: floor * (n - i as f64) / (n + 1.0),
            }));
        }
        Ok(list)
    }

    /// Blends the "for you" list of `customer_id` from the tables: what is bought with
    /// their latest purchases (weight 3), products like their three latest (1 each),
    /// and popular (0.5), by reciprocal rank, without what they bought; `MAX_LIST`
    /// long. Empty for a customer with no purchase.
    pub async fn blend_for_you(&self, customer_id: CustomerId) -> Result<Vec<Scored>> {
        let limit = MAX_LIST;
        let bought = self.store.purchased(customer_id, MAX_EXCLUDED).await?;
        if bought.is_empty() {
            return Ok(Vec::new());
        }
        let seeds = &bought[..bought.len().min(FOR_YOU_SEEDS as usize)];
        // The parts are independent reads: issue them together.
        let similar = seeds
            .iter()
            .take(FOR_YOU_SIMILAR_SEEDS)
            .map(|seed| self.store.similar(*seed, &bought, limit));
        let (popular, together, similar) = futures::future::join3(
            self.store.popular(ALL_CATEGORIES, &bought, limit),
            self.store.bought_together(seeds, &bought, limit),
            futures::future::try_join_all(similar),
        )
        .await;
        let mut fused = HashMap::new();
        fuse(&mut fused, &together?, 3.0);
        for list in similar? {
            fuse(&mut fused, &list, 1.0);
        }
        fuse(&mut fused, &popular?, 0.5);
        Ok(rank(
            fused
                .into_iter()
                .map(|(product_id, score)| Scored { product_id, score })
                .collect(),
            limit,
        ))
    }

    /// Recomputes and saves the precomputed "for you" list of `customer_id`
    /// ([`Recommendations::blend_for_you`]); the purchase consumer runs it after
    /// recording each of their orders. Idempotent.
    pub async fn refresh_for_you(&self, customer_id: CustomerId) -> Result<()> {
        let list = self.blend_for_you(customer_id).await?;
        self.store.save_for_you(customer_id, &list).await
    }
}
