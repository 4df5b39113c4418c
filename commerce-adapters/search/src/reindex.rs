//! Full reindex from the catalog store: categories and sellers once, then products in keyset
//! pages of 500 (one read per page, no per-product reads), each page one commit so
//! searches keep being served from the last commit meanwhile. A progress bar shows on
//! a terminal.

use std::collections::HashMap;
use std::io::IsTerminal;

use commerce_core::ports::{CatalogStore, ProductQuery};
use commerce_core::search::{IndexChange, ProductSearch, SearchDocument};
use commerce_core::{ProductStatus, Result, SellerId};
use indicatif::{ProgressBar, ProgressStyle};

/// Products read per page.
pub const PAGE: u32 = 500;

/// What a reindex did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReindexReport {
    /// Active products (re)indexed.
    pub indexed: u64,
    /// Inactive products removed from the index.
    pub removed: u64,
    /// Catalog pages read.
    pub pages: u64,
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} reindexing: {pos} products ({per_sec}) {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}

/// Rebuilds the catalog fields of every document from `catalog` (signals the index
/// holds are kept; inactive products are removed). Safe while searches run.
pub async fn reindex(
    search: &dyn ProductSearch,
    catalog: &dyn CatalogStore,
) -> Result<ReindexReport> {
    let bar = progress_bar();
    let mut report = ReindexReport::default();
    search
        .apply(
            vec![IndexChange::Categories(catalog.categories().await?)],
            None,
        )
        .await?;
    let sellers: HashMap<SellerId, String> = catalog
        .sellers()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut after = None;
    loop {
        let page = catalog
            .list_products(&ProductQuery::page(PAGE).with_after(after))
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id);
        report.pages += 1;
        let mut changes = Vec::with_capacity(page.len());
        for p in &page {
            if p.status == ProductStatus::Active {
                changes.push(IndexChange::PutCatalog(SearchDocument::from_product(
                    p,
                    sellers.get(&p.seller_id).map_or("", String::as_str),
                )?));
                report.indexed += 1;
            } else {
                changes.push(IndexChange::Remove(p.id));
                report.removed += 1;
            }
        }
        search.apply(changes, None).await?;
        bar.inc(page.len() as u64);
        if page.len() < PAGE as usize {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(report)
}
