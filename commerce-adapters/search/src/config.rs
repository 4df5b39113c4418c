//! How a search index is set up: where it lives, its vocabulary, writer memory.

use std::path::PathBuf;

use commerce_core::search::Vocabulary;

/// Where the index lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// In RAM: rebuilt at start (reindex, or replay of the outbox from the start).
    Ram,
    /// In a directory, memory-mapped; reopened with its data and outbox position.
    Disk(PathBuf),
}

/// Configuration of a [`crate::TantivySearch`].
#[derive(Clone, Debug)]
pub struct SearchConfig {
    /// Where the index lives.
    pub storage: Storage,
    /// Synonyms and stop words.
    pub vocabulary: Vocabulary,
    /// Memory of the index writer, in bytes (at least 15 MB).
    pub writer_memory_bytes: usize,
    /// Indexing threads (1 keeps search responsive on small machines).
    pub writer_threads: usize,
    /// Bytes of the cache of each query word's, automaton's and filter's matching
    /// documents per segment (least recently used out first). A set matching one
    /// product in 256 or more is a bitset of one bit per product (125 KB for a
    /// million), a rarer one a list of ids. The 1M-product benchmark's 1,200
    /// rotating queries need between 64 and 128 MB (docs/benchmarks.md); below its
    /// working set, searches rebuild sets and slow down, never go wrong.
    pub clause_cache_bytes: usize,
}

impl SearchConfig {
    /// In RAM with [`Vocabulary::default_shop`], 64 MB of writer memory, one
    /// indexing thread and a 128 MB clause cache.
    pub fn in_ram() -> Self {
        SearchConfig {
            storage: Storage::Ram,
            vocabulary: Vocabulary::default_shop(),
            writer_memory_bytes: 64 << 20,
            writer_threads: 1,
            clause_cache_bytes: 128 << 20,
        }
    }

    /// On disk in `dir` (created when missing), otherwise as [`SearchConfig::in_ram`].
    pub fn on_disk(dir: impl Into<PathBuf>) -> Self {
        SearchConfig {
            storage: Storage::Disk(dir.into()),
            ..SearchConfig::in_ram()
        }
    }
}
