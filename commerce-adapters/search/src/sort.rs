//! The order of hits as one sort key per document: four `i64`s compared in order,
//! highest first, read from fast fields. The BM25 score enters as its bit pattern
//! (order-preserving for the non-negative scores tantivy gives).

use std::sync::Arc;

use commerce_core::search::SearchSort;
use tantivy::collector::sort_key::{Comparator, NaturalComparator};
use tantivy::collector::{SegmentSortKeyComputer, SortKeyComputer, TopNComputer};
use tantivy::{DocId, Score, SegmentReader};

use crate::columns::{ColumnCache, Columns};

/// A document's sort key.
pub(crate) type Key = [i64; 4];

/// Computes [`Key`]s for a [`SearchSort`], from the cached columns.
pub(crate) struct SortKeys(pub SearchSort, pub Arc<ColumnCache>);

/// The per-segment columns the keys are read from.
pub(crate) struct SegmentKeys {
    sort: SearchSort,
    columns: Arc<Columns>,
}

/// Orders documents by the popularity fast field alone (suggestions: no scoring).
pub(crate) struct Popularity(pub Arc<ColumnCache>);

/// The per-segment popularity column.
pub(crate) struct SegmentPopularity(Arc<Columns>);

impl SortKeyComputer for Popularity {
    type SortKey = u64;
    type Child = SegmentPopularity;
    type Comparator = NaturalComparator;

    fn requires_scoring(&self) -> bool {
        false
    }

    fn segment_sort_key_computer(&self, r: &SegmentReader) -> tantivy::Result<SegmentPopularity> {
        Ok(SegmentPopularity(self.0.get(r)?))
    }
}

impl SegmentSortKeyComputer for SegmentPopularity {
    type SortKey = u64;
    type SegmentSortKey = u64;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, _: Score) -> u64 {
        self.0.popularity.get_val(doc)
    }

    fn convert_segment_sort_key(&self, key: u64) -> u64 {
        key
    }
}

/// The score as an `i64` that orders like the (non-negative) score.
fn score_bits(score: Score) -> i64 {
    i64::from(score.max(0.0).to_bits())
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SortKeyComputer for SortKeys {
    type SortKey = Key;
    type Child = SegmentKeys;
    type Comparator = NaturalComparator;

    fn requires_scoring(&self) -> bool {
        true
    }

    fn segment_sort_key_computer(&self, r: &SegmentReader) -> tantivy::Result<SegmentKeys> {
        Ok(SegmentKeys {
            sort: self.0,
            columns: self.1.get(r)?,
        })
    }
}

impl SegmentKeys {
    /// The first component of the key.
    fn first(&self, doc: DocId, score: Score) -> i64 {
        match self.sort {
            SearchSort::Relevance => score_bits(score),
            SearchSort::PriceAsc => self.columns.price.get_val(doc).saturating_neg(),
            SearchSort::PriceDesc => self.columns.price.get_val(doc),
            SearchSort::Newest => self.columns.created.get_val(doc),
            SearchSort::Rating => signed(self.columns.rating.get_val(doc)),
            SearchSort::BestSelling => signed(self.columns.units_sold.get_val(doc)),
        }
    }
}

impl SegmentSortKeyComputer for SegmentKeys {
    type SortKey = Key;
    type SegmentSortKey = Key;
    type SegmentComparator = NaturalComparator;

    /// Reads the first component only, and the rest when the document can still
    /// enter the top (most documents of a large result set cannot).
    fn compute_sort_key_and_collect<C: Comparator<Key>>(
        &mut self,
        doc: DocId,
        score: Score,
        top: &mut TopNComputer<Key, DocId, C>,
    ) {
        if let Some(threshold) = &top.threshold
            && self.first(doc, score) < threshold[0]
        {
            return;
        }
        let key = self.segment_sort_key(doc, score);
        top.push(key, doc);
    }

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> Key {
        let score = score_bits(score);
        let pop = signed(self.columns.popularity.get_val(doc));
        let created = self.columns.created.get_val(doc);
        match self.sort {
            SearchSort::Relevance => [score, pop, created, 0],
            SearchSort::PriceAsc => [
                self.columns.price.get_val(doc).saturating_neg(),
                score,
                pop,
                created,
            ],
            SearchSort::PriceDesc => [self.columns.price.get_val(doc), score, pop, created],
            SearchSort::Newest => [created, score, pop, 0],
            SearchSort::Rating => [
                signed(self.columns.rating.get_val(doc)),
                signed(self.columns.rating_count.get_val(doc)),
                score,
                pop,
            ],
            SearchSort::BestSelling => [
                signed(self.columns.units_sold.get_val(doc)),
                score,
                pop,
                created,
            ],
        }
    }

    fn convert_segment_sort_key(&self, key: Key) -> Key {
        key
    }
}
