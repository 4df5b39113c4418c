//! The tantivy backend runs the `ProductSearch` conformance suite, in RAM and on disk.
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
