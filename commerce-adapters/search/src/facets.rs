//! One collector that counts every facet over the whole result set in one pass over
//! fast fields: categories (each with its ancestors), sellers, price buckets, rating
//! thresholds and stock.
//!
//! Per matching document it reads four single values (the product's category when
//! it has one, the seller key, the price, rating and stock packed together) and
//! makes two map updates; everything that is the same for many documents (a
//! category's ancestors, a seller key's id) is resolved once per distinct value,
//! after the pass. Only a product in several categories reads its expanded
//! category list.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::columns::{ColumnCache, Columns};

/// Counts gathered by [`FacetCounter`].
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Per category key, ancestors included (products in several categories).
    pub categories: FxHashMap<u64, u64>,
    /// Per category key of a product in exactly that one category: its ancestors
    /// are added from the tree by the caller.
    pub single_categories: FxHashMap<u64, u64>,
    /// Per seller id (high, low bits).
    pub sellers: FxHashMap<(u64, u64), u64>,
    /// Per price bucket (one more than the edges).
    pub prices: Vec<u64>,
    /// Rated at least 1, 2, 3, 4 stars.
    pub ratings: [u64; 4],
    /// With a unit available.
    pub in_stock: u64,
}

fn add_all<K: std::hash::Hash + Eq>(into: &mut FxHashMap<K, u64>, from: FxHashMap<K, u64>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

impl Counts {
    fn add(&mut self, other: Counts) {
        add_all(&mut self.categories, other.categories);
        add_all(&mut self.single_categories, other.single_categories);
        add_all(&mut self.sellers, other.sellers);
        if self.prices.len() < other.prices.len() {
            self.prices.resize(other.prices.len(), 0);
        }
        for (a, b) in self.prices.iter_mut().zip(other.prices) {
            *a += b;
        }
        for (a, b) in self.ratings.iter_mut().zip(other.ratings) {
            *a += b;
        }
        self.in_stock += other.in_stock;
    }
}

/// Counts facets when `enabled`; collects nothing otherwise.
pub(crate) struct FacetCounter {
    /// Whether to count.
    pub enabled: bool,
    /// Upper edges of the price buckets.
    pub edges: Arc<Vec<i64>>,
    /// Categories in the tree (the category maps are sized for them at once).
    pub categories: usize,
    /// The open columns of every segment.
    pub columns: Arc<ColumnCache>,
}

/// The per-segment half of [`FacetCounter`].
pub(crate) struct SegmentFacetCounter {
    enabled: bool,
    edges: Arc<Vec<i64>>,
    columns: Arc<Columns>,
    /// Per seller key: documents, and one of them (to read the id once).
    sellers: FxHashMap<u64, (u64, DocId)>,
    /// Documents per rating in hundredths (0 to 500).
    ratings: Vec<u64>,
    counts: Counts,
    /// Documents collected and not counted yet: they are counted a block at a
    /// time, each column read for the whole block in one call.
    block: Vec<DocId>,
}

/// Documents counted together.
const BLOCK: usize = 64;

/// Ratings are stored in hundredths of a star, at most five stars.
const RATING_SLOTS: usize = 501;

impl Collector for FacetCounter {
    type Fruit = Counts;
    type Child = SegmentFacetCounter;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        r: &SegmentReader,
    ) -> tantivy::Result<SegmentFacetCounter> {
        let capacity = if self.enabled { self.categories } else { 0 };
        Ok(SegmentFacetCounter {
            enabled: self.enabled,
            edges: Arc::clone(&self.edges),
            columns: self.columns.get(r)?,
            sellers: FxHashMap::default(),
            ratings: vec![0; if self.enabled { RATING_SLOTS } else { 0 }],
            block: Vec::with_capacity(if self.enabled { BLOCK } else { 0 }),
            counts: Counts {
                prices: vec![0; self.edges.len() + 1],
                categories: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
                single_categories: FxHashMap::with_capacity_and_hasher(
                    capacity,
                    Default::default(),
                ),
                ..Counts::default()
            },
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut all = Counts {
            prices: vec![0; self.edges.len() + 1],
            ..Counts::default()
        };
        for f in fruits {
            all.add(f);
        }
        Ok(all)
    }
}

impl SegmentFacetCounter {
    /// Counts the documents of the block and empties it.
    fn count_block(&mut self) {
        let docs = &self.block[..];
        let n = docs.len();
        let cols = &*self.columns;
        let mut category = [0u64; BLOCK];
        let mut seller = [0u64; BLOCK];
        let mut price = [0i64; BLOCK];
        let mut bits = [0u64; BLOCK];
        cols.category_single.get_vals(docs, &mut category[..n]);
        cols.seller_key.get_vals(docs, &mut seller[..n]);
        cols.price.get_vals(docs, &mut price[..n]);
        cols.facet_bits.get_vals(docs, &mut bits[..n]);
        let c = &mut self.counts;
        for (i, &doc) in docs.iter().enumerate() {
            match category[i] {
                0 => {
                    for key in cols.category.values_for_doc(doc) {
                        *c.categories.entry(key).or_default() += 1;
                    }
                }
                key => *c.single_categories.entry(key).or_default() += 1,
            }
            self.sellers.entry(seller[i]).or_insert((0, doc)).0 += 1;
            let bucket = self.edges.partition_point(|e| *e <= price[i]);
            if let Some(n) = c.prices.get_mut(bucket) {
                *n += 1;
            }
            c.in_stock += bits[i] & 1;
            let rating = usize::try_from(bits[i] >> 1).unwrap_or(usize::MAX);
            if let Some(n) = self.ratings.get_mut(rating.min(RATING_SLOTS - 1)) {
                *n += 1;
            }
        }
        self.block.clear();
    }
}

impl SegmentCollector for SegmentFacetCounter {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        if !self.enabled {
            return;
        }
        self.block.push(doc);
        if self.block.len() == BLOCK {
            self.count_block();
        }
    }

    fn harvest(mut self) -> Counts {
        self.count_block();
        let mut counts = self.counts;
        for (_, (n, sample)) in self.sellers {
            let id = (
                self.columns.seller_hi.get_val(sample),
                self.columns.seller_lo.get_val(sample),
            );
            *counts.sellers.entry(id).or_default() += n;
        }
        for (centi, n) in self.ratings.iter().enumerate() {
            for (k, at_least) in counts.ratings.iter_mut().enumerate() {
                if centi >= (k + 1) * 100 {
                    *at_least += n;
                }
            }
        }
        counts
    }
}
