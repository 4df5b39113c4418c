//! The fast-field columns a search reads, opened once per segment and kept.
//!
//! Opening a column looks its name up in the segment's columnar directory and parses
//! its header (for a blockwise-linear column, the metadata of every block). Done per
//! query for the dozen columns facets and sort keys read, that was a fixed cost of
//! every search, as large as the whole collection of a query that finds little.
//! Columns of a segment never change (deletes do not touch them), so they are
//! opened at the first search of a segment and dropped once the segment is gone.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tantivy::columnar::{Cardinality, Column, ColumnValues};
use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

/// One segment's columns.
pub(crate) struct Columns {
    /// Every category of the product with its ancestors (multi-valued).
    pub category: Column<u64>,
    /// The product's category when it has exactly one, else 0.
    pub category_single: Arc<dyn ColumnValues<u64>>,
    /// One 64-bit key per seller.
    pub seller_key: Arc<dyn ColumnValues<u64>>,
    /// The seller id's high bits.
    pub seller_hi: Arc<dyn ColumnValues<u64>>,
    /// The seller id's low bits.
    pub seller_lo: Arc<dyn ColumnValues<u64>>,
    /// Price in minor units.
    pub price: Arc<dyn ColumnValues<i64>>,
    /// Rating in hundredths and the in-stock bit.
    pub facet_bits: Arc<dyn ColumnValues<u64>>,
    /// Creation time.
    pub created: Arc<dyn ColumnValues<i64>>,
    /// Rating in hundredths.
    pub rating: Arc<dyn ColumnValues<u64>>,
    /// Number of ratings.
    pub rating_count: Arc<dyn ColumnValues<u64>>,
    /// Units sold.
    pub units_sold: Arc<dyn ColumnValues<u64>>,
    /// Popularity.
    pub popularity: Arc<dyn ColumnValues<u64>>,
}

impl Columns {
    fn open(r: &SegmentReader) -> tantivy::Result<Columns> {
        let ff = r.fast_fields();
        let u = |name: &str| -> tantivy::Result<_> { Ok(values(ff.u64(name)?)) };
        let i = |name: &str| -> tantivy::Result<_> { Ok(values(ff.i64(name)?)) };
        Ok(Columns {
            category: ff.u64("category")?,
            category_single: u("category_single")?,
            seller_key: u("seller_key")?,
            seller_hi: u("seller_hi")?,
            seller_lo: u("seller_lo")?,
            price: i("price")?,
            facet_bits: u("facet_bits")?,
            created: i("created")?,
            rating: u("rating")?,
            rating_count: u("rating_count")?,
            units_sold: u("units_sold")?,
            popularity: u("popularity")?,
        })
    }
}

/// A single-valued column's values by document: the values themselves when every
/// document has one (no index to go through), else the first value or 0.
fn values<T>(column: Column<T>) -> Arc<dyn ColumnValues<T>>
where
    T: PartialOrd + Copy + Default + std::fmt::Debug + Send + Sync + 'static,
{
    match column.get_cardinality() {
        Cardinality::Full => column.values,
        _ => column.first_or_default_col(T::default()),
    }
}

/// The open columns of every live segment, shared by all searches.
#[derive(Default)]
pub(crate) struct ColumnCache {
    segments: RwLock<HashMap<SegmentId, Arc<Columns>>>,
}

impl ColumnCache {
    /// The columns of segment `r`, opened now if this is its first search.
    pub(crate) fn get(&self, r: &SegmentReader) -> tantivy::Result<Arc<Columns>> {
        let id = r.segment_id();
        if let Some(c) = self
            .segments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(Arc::clone(c));
        }
        let opened = Arc::new(Columns::open(r)?);
        self.segments
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Arc::clone(&opened));
        Ok(opened)
    }

    /// Drops the columns of segments `searcher` no longer has (merged away or
    /// deleted). A segment that goes is replaced by another, so the cache then holds
    /// more segments than the searcher: that is the sign checked.
    pub(crate) fn retain_live(&self, searcher: &Searcher) {
        let live = searcher.segment_readers();
        let stale = self
            .segments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
            > live.len();
        if stale {
            self.segments
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|id, _| live.iter().any(|r| r.segment_id() == *id));
        }
    }
}
