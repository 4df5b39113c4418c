//! Property test: no query text, however hostile, makes search or suggest fail with
//! anything but a `Validation` error, or panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use commerce_core::Error;
use commerce_core::generator::CatalogGenerator;
use commerce_core::search::{IndexChange, ProductSearch, SearchQuery};
use commerce_search::TantivySearch;
use proptest::prelude::*;

fn index() -> (tokio::runtime::Runtime, TantivySearch) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let search = TantivySearch::in_ram().unwrap();
    let g = CatalogGenerator::new(1, 5);
    let mut changes = vec![IndexChange::Categories(g.categories().to_vec())];
    changes.extend(
        g.products(0..200)
            .map(|p| IndexChange::Put(p.search_document().unwrap())),
    );
    rt.block_on(search.apply(changes, None)).unwrap();
    (rt, search)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn search_never_panics_on_any_text(text in prop_oneof![
        any::<String>(),
        "[\"()*?~^:+\\-!{}\\[\\]\\\\/ a-zA-ZÀ-ỹ]{0,60}",
        proptest::collection::vec("[a-zđáàảãạ]{1,12}", 0..15).prop_map(|w| w.join(" ")),
    ]) {
        thread_local! {
            static INDEX: (tokio::runtime::Runtime, TantivySearch) = index();
        }
        INDEX.with(|(rt, search)| {
            let mut q = SearchQuery::text(text.clone());
            q.facets = true;
            match rt.block_on(search.search(&q)) {
                Ok(r) => prop_assert!(r.hits.len() as u64 <= r.total),
                Err(Error::Validation { .. }) => prop_assert!(text.len() > 512),
                Err(e) => prop_assert!(false, "{e}"),
            }
            match rt.block_on(search.suggest(&text, 5)) {
                Ok(s) => prop_assert!(s.len() <= 5),
                Err(Error::Validation { .. }) => prop_assert!(text.len() > 512),
                Err(e) => prop_assert!(false, "{e}"),
            }
            Ok(())
        })?;
    }
}

#[test]
fn search_ten_kilobytes_of_text_is_a_validation_error() {
    let (rt, search) = index();
    let q = SearchQuery::text("ao thun ".repeat(1280));
    assert!(matches!(
        rt.block_on(search.search(&q)),
        Err(Error::Validation { .. })
    ));
    let control = SearchQuery::text("\u{0}\u{1}\u{7f}\t\n ao\u{200b}thun");
    assert!(rt.block_on(search.search(&control)).is_ok());
}
