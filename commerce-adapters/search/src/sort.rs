//! The order of hits as one sort key per document: four `i64`s compared in order,
//! highest first, read from fast fields. The BM25 score enters as its bit pattern
//! (order-preserving for the non-negative scores tantivy gives).

use std::sync::Arc;

use commerce_core::search::SearchSort;
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::collector::{SegmentSortKeyComputer, SortKeyComputer};
use tantivy::columnar::ColumnValues;
use tantivy::{DocId, Score, SegmentReader};

/// A document's sort key.
pub(crate) type Key = [i64; 4];

/// Computes [`Key`]s for a [`SearchSort`].
pub(crate) struct SortKeys(pub SearchSort);

/// The per-segment columns the keys are read from.
pub(crate) struct SegmentKeys {
    sort: SearchSort,
    price: Arc<dyn ColumnValues<i64>>,
    created: Arc<dyn ColumnValues<i64>>,
    rating: Arc<dyn ColumnValues<u64>>,
    rating_count: Arc<dyn ColumnValues<u64>>,
    units_sold: Arc<dyn ColumnValues<u64>>,
    popularity: Arc<dyn ColumnValues<u64>>,
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
        let ff = r.fast_fields();
        Ok(SegmentKeys {
            sort: self.0,
            price: ff.i64("price")?.first_or_default_col(0),
            created: ff.i64("created")?.first_or_default_col(0),
            rating: ff.u64("rating")?.first_or_default_col(0),
            rating_count: ff.u64("rating_count")?.first_or_default_col(0),
            units_sold: ff.u64("units_sold")?.first_or_default_col(0),
            popularity: ff.u64("popularity")?.first_or_default_col(0),
        })
    }
}

impl SegmentSortKeyComputer for SegmentKeys {
    type SortKey = Key;
    type SegmentSortKey = Key;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> Key {
        let score = i64::from(score.max(0.0).to_bits());
        let pop = signed(self.popularity.get_val(doc));
        let created = self.created.get_val(doc);
        match self.sort {
            SearchSort::Relevance => [score, pop, created, 0],
            SearchSort::PriceAsc => [
                self.price.get_val(doc).saturating_neg(),
                score,
                pop,
                created,
            ],
            SearchSort::PriceDesc => [self.price.get_val(doc), score, pop, created],
            SearchSort::Newest => [created, score, pop, 0],
            SearchSort::Rating => [
                signed(self.rating.get_val(doc)),
                signed(self.rating_count.get_val(doc)),
                score,
                pop,
            ],
            SearchSort::BestSelling => [signed(self.units_sold.get_val(doc)), score, pop, created],
        }
    }

    fn convert_segment_sort_key(&self, key: Key) -> Key {
        key
    }
}
