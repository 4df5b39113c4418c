//! The tantivy backend runs the `ProductSearch` conformance suite, in RAM, on disk,
//! and in RAM without the clause cache.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use commerce_core::testkit::search::SearchFixture;
use commerce_search::{SearchConfig, TantivySearch};

async fn in_ram() -> SearchFixture {
    SearchFixture {
        search: Arc::new(TantivySearch::in_ram().unwrap()),
        capabilities: TantivySearch::capabilities(),
    }
}

mod ram {
    use super::*;
    commerce_core::product_search_conformance!(in_ram);
}

/// A fresh directory under the system temp dir (left for the OS to clean).
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("commerce-search-{name}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn on_disk() -> SearchFixture {
    SearchFixture {
        search: Arc::new(
            TantivySearch::open(SearchConfig::on_disk(temp_dir("conformance"))).unwrap(),
        ),
        capabilities: TantivySearch::capabilities(),
    }
}

mod disk {
    use super::*;
    commerce_core::product_search_conformance!(on_disk);
}

async fn without_clause_cache() -> SearchFixture {
    let config = SearchConfig {
        clause_cache_bytes: 0,
        ..SearchConfig::in_ram()
    };
    SearchFixture {
        search: Arc::new(TantivySearch::open(config).unwrap()),
        capabilities: TantivySearch::capabilities(),
    }
}

/// With no room to keep a clause's documents, every search builds them anew: the
/// results must not depend on what the cache holds.
mod uncached {
    use super::*;
    commerce_core::product_search_conformance!(without_clause_cache);
}
