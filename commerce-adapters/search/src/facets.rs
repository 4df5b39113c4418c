//! One collector that counts every facet over the whole result set in one pass over
//! fast fields: categories (each with its ancestors), sellers, price buckets, rating
//! thresholds and stock.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnValues};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Counts gathered by [`FacetCounter`].
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Per category key.
    pub categories: FxHashMap<u64, u64>,
    /// Per seller id (high, low bits).
    pub sellers: FxHashMap<(u64, u64), u64>,
    /// Per price bucket (one more than the edges).
    pub prices: Vec<u64>,
    /// Rated at least 1, 2, 3, 4 stars.
    pub ratings: [u64; 4],
    /// With a unit available.
    pub in_stock: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        for (k, v) in other.categories {
            *self.categories.entry(k).or_default() += v;
        }
        for (k, v) in other.sellers {
            *self.sellers.entry(k).or_default() += v;
        }
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
}

/// The per-segment half of [`FacetCounter`].
pub(crate) struct SegmentFacetCounter {
    enabled: bool,
    edges: Arc<Vec<i64>>,
    category: Column<u64>,
    seller_hi: Arc<dyn ColumnValues<u64>>,
    seller_lo: Arc<dyn ColumnValues<u64>>,
    price: Arc<dyn ColumnValues<i64>>,
    rating: Arc<dyn ColumnValues<u64>>,
    in_stock: Arc<dyn ColumnValues<u64>>,
    counts: Counts,
}

impl Collector for FacetCounter {
    type Fruit = Counts;
    type Child = SegmentFacetCounter;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        r: &SegmentReader,
    ) -> tantivy::Result<SegmentFacetCounter> {
        let ff = r.fast_fields();
        Ok(SegmentFacetCounter {
            enabled: self.enabled,
            edges: Arc::clone(&self.edges),
            category: ff.u64("category")?,
            seller_hi: ff.u64("seller_hi")?.first_or_default_col(0),
            seller_lo: ff.u64("seller_lo")?.first_or_default_col(0),
            price: ff.i64("price")?.first_or_default_col(0),
            rating: ff.u64("rating")?.first_or_default_col(0),
            in_stock: ff.u64("in_stock")?.first_or_default_col(0),
            counts: Counts {
                prices: vec![0; self.edges.len() + 1],
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

impl SegmentCollector for SegmentFacetCounter {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        if !self.enabled {
            return;
        }
        let c = &mut self.counts;
        for key in self.category.values_for_doc(doc) {
            *c.categories.entry(key).or_default() += 1;
        }
        let seller = (self.seller_hi.get_val(doc), self.seller_lo.get_val(doc));
        *c.sellers.entry(seller).or_default() += 1;
        let price = self.price.get_val(doc);
        let bucket = self.edges.partition_point(|e| *e <= price);
        if let Some(n) = c.prices.get_mut(bucket) {
            *n += 1;
        }
        let rating = self.rating.get_val(doc);
        for (k, n) in c.ratings.iter_mut().enumerate() {
            if rating >= (k as u64 + 1) * 100 {
                *n += 1;
            }
        }
        if self.in_stock.get_val(doc) == 1 {
            c.in_stock += 1;
        }
    }

    fn harvest(self) -> Counts {
        self.counts
    }
}
