//! # commerce-search
//!
//! Product search for the `commerce` crates on [tantivy](https://docs.rs/tantivy):
//! [`TantivySearch`] implements `commerce_core`'s [`ProductSearch`] port (full text
//! with BM25, typo tolerance by word length, prefix on the last word, synonyms and
//! stop words, accent and case folding, filters, sorts, facets, suggestions, "did you
//! mean", highlighted snippets), in RAM or memory-mapped on disk ([`SearchConfig`]).
//!
//! The index is fed only by the outbox: [`SearchIndexer`] turns catalog, inventory
//! and order events into index changes and [`SearchIndexer::runner`] drives it (claim,
//! handle, ack). [`reindex()`] rebuilds it from the catalog store.
//!
//! [`ProductSearch`]: commerce_core::search::ProductSearch

mod columns;
mod config;
mod conjunction;
mod facets;
mod index;
mod indexer;
mod query;
mod reindex;
mod schema;
mod sort;
mod tokenizer;

pub use config::{SearchConfig, Storage};
pub use index::TantivySearch;
pub use indexer::{CONSUMER, SearchIndexer};
pub use reindex::{PAGE, ReindexReport, reindex};
pub use tokenizer::{FOLDING, FoldingTokenizer};
