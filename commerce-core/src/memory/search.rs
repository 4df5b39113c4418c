//! In-memory product search: a scan over every document per query. Exact, simple and
//! good for tests and shops of a few thousand products; the reference the tantivy
//! backend is checked against.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::catalog::Category;
use crate::error::{Error, Result};
use crate::id::{CategoryId, ProductId, SellerId};
use crate::search::text::{self, QueryWord};
use crate::search::{
    Facets, IndexChange, PriceBucket, ProductSearch, SearchCapabilities, SearchDocument,
    SearchFilters, SearchHit, SearchQuery, SearchResults, SearchSort, Suggestion, SuggestionTarget,
    Vocabulary, category_counts, category_path,
};

/// Results below this count make a backend look for a "did you mean".
pub const DID_YOU_MEAN_BELOW: u64 = 3;
/// A query word found exactly in at least this many products is taken as spelled
/// as meant: "did you mean" never replaces it (every backend), and a backend may
/// leave its misspellings out of the query (tantivy does). A query that finds
/// nothing with such words finds nothing because they do not meet in one product,
/// not because of a typo; looking for corrections of them costs a walk of the
/// term dictionary per word and finds only other real words.
pub const COMMON_WORD_DOCS: u64 = 500;
/// Bytes of description shown around the first match.
pub const SNIPPET_BYTES: usize = 160;

#[derive(Debug, Default)]
struct State {
    docs: BTreeMap<ProductId, SearchDocument>,
    tree: BTreeMap<CategoryId, Category>,
    position: Option<u64>,
}

/// The in-memory [`ProductSearch`].
#[derive(Debug, Default)]
pub struct MemorySearch {
    state: RwLock<State>,
    vocabulary: Vocabulary,
}

/// Rounds a rating average to hundredths, clamped to 0..=5: what every backend
/// stores, so filters and facets agree across backends.
pub fn normalize_rating(average: Decimal) -> Decimal {
    average
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
        .clamp(Decimal::ZERO, Decimal::from(5))
}

/// The hit shown for `doc` when `words` matched it: its display fields and signals,
/// the title highlighted, and a description snippet of at most [`SNIPPET_BYTES`]
/// (shared by every backend).
pub fn search_hit(doc: &SearchDocument, words: &[QueryWord]) -> SearchHit {
    SearchHit {
        product_id: doc.product_id,
        title: doc.title.clone(),
        slug: doc.slug.clone(),
        price: doc.price(),
        seller_id: doc.seller_id,
        in_stock: doc.signals.in_stock(),
        rating_average: doc.signals.rating_average,
        rating_count: doc.signals.rating_count,
        units_sold: doc.signals.units_sold,
        title_highlight: text::highlight(&doc.title, words, None),
        description_highlight: text::highlight(&doc.description, words, Some(SNIPPET_BYTES)),
    }
}

/// Applies a signal change to a document in place (shared by backends that keep
/// whole documents). Returns whether the document was touched.
pub fn apply_signal(doc: &mut SearchDocument, change: &IndexChange) -> bool {
    match change {
        IndexChange::Price { sku, price_minor } => {
            let mut touched = false;
            for v in doc.variants.iter_mut().filter(|v| &v.sku == sku) {
                v.price_minor = *price_minor;
                touched = true;
            }
            touched
        }
        IndexChange::Stock {
            sku,
            location,
            available,
        } => {
            if !doc.variants.iter().any(|v| &v.sku == sku) {
                return false;
            }
            doc.signals.set_stock(sku, location, *available);
            true
        }
        IndexChange::Rating {
            product_id,
            rating_count,
            rating_average,
        } => {
            if *product_id != doc.product_id {
                return false;
            }
            doc.signals.rating_count = *rating_count;
            doc.signals.rating_average = normalize_rating(*rating_average);
            true
        }
        IndexChange::UnitsSold { sku, quantity } => {
            if !doc.variants.iter().any(|v| &v.sku == sku) {
                return false;
            }
            doc.signals.units_sold = doc.signals.units_sold.saturating_add(*quantity);
            true
        }
        _ => false,
    }
}

/// Whether a document passes the filters, given its category paths.
fn passes(doc: &SearchDocument, paths: &BTreeSet<CategoryId>, f: &SearchFilters) -> bool {
    let price = doc.price_minor();
    f.category_id.is_none_or(|c| paths.contains(&c))
        && f.price_min.is_none_or(|m| price >= m)
        && f.price_max.is_none_or(|m| price <= m)
        && f.currency.is_none_or(|c| doc.currency == c)
        && f.seller_id.is_none_or(|s| doc.seller_id == s)
        && (!f.in_stock || doc.signals.in_stock())
        && f.min_rating.is_none_or(|r| doc.signals.rating_average >= r)
}

/// How well one query word matches a list of folded words: 3 exact, 2 prefix, 1 typo.
fn word_score(q: &QueryWord, words: &[String], typo_tolerance: bool) -> u32 {
    let mut best = 0;
    for w in words {
        let s = if *w == q.folded {
            3
        } else if q.prefix && w.starts_with(&q.folded) {
            2
        } else if typo_tolerance
            && q.typos > 0
            && text::word_matches(&q.folded, w, q.typos, q.prefix)
        {
            1
        } else {
            0
        };
        best = best.max(s);
        if best == 3 {
            break;
        }
    }
    best
}

fn contains_phrase(words: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && words.windows(phrase.len()).any(|w| w == phrase)
}

struct Scored<'a> {
    doc: &'a SearchDocument,
    score: u32,
}

impl State {
    fn paths(&self, doc: &SearchDocument) -> BTreeSet<CategoryId> {
        doc.category_ids
            .iter()
            .flat_map(|c| category_path(&self.tree, *c))
            .collect()
    }

    fn category_names(&self, paths: &BTreeSet<CategoryId>) -> String {
        paths
            .iter()
            .filter_map(|c| self.tree.get(c).map(|c| c.name.as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Relevance score of a document for the words (0: no match). Title matches
    /// weigh ten times body matches; every word must match somewhere.
    fn score(
        &self,
        doc: &SearchDocument,
        paths: &BTreeSet<CategoryId>,
        words: &[QueryWord],
        vocabulary: &Vocabulary,
    ) -> u32 {
        if words.is_empty() {
            return 1;
        }
        let title = text::folded_words(&doc.title);
        let mut body = text::folded_words(&doc.body_text());
        body.extend(text::folded_words(&self.category_names(paths)));
        let mut total = 0;
        for q in words {
            let mut s = word_score(q, &title, true) * 10 + word_score(q, &body, true);
            for alt in vocabulary.alternatives(&q.folded) {
                if contains_phrase(&title, &alt) {
                    s = s.max(30);
                } else if contains_phrase(&body, &alt) {
                    s = s.max(3);
                }
            }
            if s == 0 {
                return 0;
            }
            total += s;
        }
        total
    }

    fn facets(&self, matched: &[Scored<'_>], edges: &[i64]) -> Facets {
        let mut cats: BTreeMap<CategoryId, u64> = BTreeMap::new();
        let mut sellers: BTreeMap<SellerId, u64> = BTreeMap::new();
        let mut prices = price_buckets(edges);
        let mut facets = Facets::default();
        for m in matched {
            let doc = m.doc;
            for c in self.paths(doc) {
                *cats.entry(c).or_default() += 1;
            }
            *sellers.entry(doc.seller_id).or_default() += 1;
            let price = doc.price_minor();
            if let Some(b) = prices.iter_mut().find(|b| b.max.is_none_or(|m| price < m)) {
                b.count += 1;
            }
            for (i, n) in facets.ratings_at_least.iter_mut().enumerate() {
                if doc.signals.rating_average >= Decimal::from(i + 1) {
                    *n += 1;
                }
            }
            if doc.signals.in_stock() {
                facets.in_stock += 1;
            }
        }
        facets.categories = category_counts(&self.tree, &cats);
        facets.prices = prices;
        facets.sellers = sort_sellers(sellers.into_iter().collect());
        facets
    }
}

/// Empty price buckets for `edges`: below the first, between each, above the last.
pub fn price_buckets(edges: &[i64]) -> Vec<PriceBucket> {
    let mut out = Vec::with_capacity(edges.len() + 1);
    let mut min = i64::MIN;
    for e in edges {
        out.push(PriceBucket {
            min: min.max(0),
            max: Some(*e),
            count: 0,
        });
        min = *e;
    }
    out.push(PriceBucket {
        min: min.max(0),
        max: None,
        count: 0,
    });
    out
}

/// Sellers by count, then id.
pub fn sort_sellers(mut sellers: Vec<(SellerId, u64)>) -> Vec<(SellerId, u64)> {
    sellers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sellers
}

impl MemorySearch {
    /// An empty index with [`Vocabulary::default_shop`].
    pub fn new() -> Self {
        MemorySearch::with_vocabulary(Vocabulary::default_shop())
    }

    /// An empty index with these synonyms and stop words.
    pub fn with_vocabulary(vocabulary: Vocabulary) -> Self {
        MemorySearch {
            state: RwLock::new(State::default()),
            vocabulary,
        }
    }

    /// What this backend does: everything.
    pub fn capabilities() -> SearchCapabilities {
        SearchCapabilities {
            typo_tolerance: true,
            did_you_mean: true,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn matches<'a>(
    state: &'a State,
    query: &SearchQuery,
    words: &[QueryWord],
    vocabulary: &Vocabulary,
) -> Vec<Scored<'a>> {
    let mut out = Vec::new();
    for doc in state.docs.values() {
        let paths = state.paths(doc);
        if !passes(doc, &paths, &query.filters) {
            continue;
        }
        let score = state.score(doc, &paths, words, vocabulary);
        if score > 0 {
            out.push(Scored { doc, score });
        }
    }
    out
}

fn sort(matched: &mut [Scored<'_>], sort: SearchSort) {
    matched.sort_by(|a, b| {
        let (x, y) = (a.doc, b.doc);
        let relevance = b
            .score
            .cmp(&a.score)
            .then_with(|| y.signals.popularity().cmp(&x.signals.popularity()))
            .then_with(|| y.created_at.cmp(&x.created_at));
        let primary = match sort {
            SearchSort::Relevance => std::cmp::Ordering::Equal,
            SearchSort::PriceAsc => x.price_minor().cmp(&y.price_minor()),
            SearchSort::PriceDesc => y.price_minor().cmp(&x.price_minor()),
            SearchSort::Newest => y.created_at.cmp(&x.created_at),
            SearchSort::Rating => y
                .signals
                .rating_average
                .cmp(&x.signals.rating_average)
                .then_with(|| y.signals.rating_count.cmp(&x.signals.rating_count)),
            SearchSort::BestSelling => y.signals.units_sold.cmp(&x.signals.units_sold),
        };
        primary
            .then(relevance)
            .then_with(|| x.product_id.cmp(&y.product_id))
    });
}

/// The closest indexed word to `word` (within 1 edit from 4 characters, 2 from 8)
/// found in more documents than `word` itself; `None` when there is none.
fn closest_word(state: &State, word: &str) -> Option<String> {
    let n = word.chars().count();
    let budget = match n {
        0..=3 => return None,
        4..=7 => 1,
        _ => 2,
    };
    let mut freq: BTreeMap<String, u64> = BTreeMap::new();
    for doc in state.docs.values() {
        let mut words: BTreeSet<String> = text::folded_words(&doc.title).into_iter().collect();
        words.extend(text::folded_words(&doc.body_text()));
        for w in words {
            *freq.entry(w).or_default() += 1;
        }
    }
    let own = freq.get(word).copied().unwrap_or(0);
    if own >= COMMON_WORD_DOCS {
        return None;
    }
    freq.into_iter()
        .filter(|(w, f)| *f > own && w != word)
        .filter_map(|(w, f)| {
            let d = text::edit_distance(word, &w);
            (d <= budget).then_some((d, f, w))
        })
        .min_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| b.1.cmp(&a.1))
                .then_with(|| a.2.cmp(&b.2))
        })
        .map(|(_, _, w)| w)
}

#[async_trait]
impl ProductSearch for MemorySearch {
    async fn apply(&self, changes: Vec<IndexChange>, position: Option<u64>) -> Result<()> {
        let mut state = self.write();
        for change in changes {
            match change {
                IndexChange::Put(mut doc) => {
                    doc.signals.rating_average = normalize_rating(doc.signals.rating_average);
                    state.docs.insert(doc.product_id, doc);
                }
                IndexChange::PutCatalog(mut doc) => {
                    if let Some(old) = state.docs.get(&doc.product_id) {
                        doc.signals = old.signals.clone();
                    }
                    state.docs.insert(doc.product_id, doc);
                }
                IndexChange::Remove(id) => {
                    state.docs.remove(&id);
                }
                IndexChange::Categories(categories) => {
                    state.tree = categories.into_iter().map(|c| (c.id, c)).collect();
                }
                other => {
                    for doc in state.docs.values_mut() {
                        apply_signal(doc, &other);
                    }
                }
            }
        }
        if position.is_some() {
            state.position = position;
        }
        Ok(())
    }

    async fn position(&self) -> Result<Option<u64>> {
        Ok(self.read().position)
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        query.validate()?;
        let state = self.read();
        let words = self.vocabulary.query_words(&query.text);
        let mut matched = matches(&state, query, &words, &self.vocabulary);
        sort(&mut matched, query.sort);
        let total = matched.len() as u64;
        let start = usize::try_from(query.offset).map_err(|_| Error::Overflow)?;
        let limit = usize::try_from(query.limit).map_err(|_| Error::Overflow)?;
        let hits = matched
            .iter()
            .skip(start)
            .take(limit)
            .map(|m| search_hit(m.doc, &words))
            .collect();
        let facets = query.facets.then(|| state.facets(&matched, &query.edges()));
        let mut did_you_mean = None;
        if total < DID_YOU_MEAN_BELOW && !words.is_empty() {
            let mut changed = false;
            let corrected: Vec<String> = words
                .iter()
                .map(|w| match closest_word(&state, &w.folded) {
                    Some(c) => {
                        changed = true;
                        c
                    }
                    None => w.folded.clone(),
                })
                .collect();
            if changed {
                let text = corrected.join(" ");
                let mut q = query.clone();
                q.text = format!("{text} ");
                let better = self.vocabulary.query_words(&q.text);
                if matches(&state, &q, &better, &self.vocabulary).len() as u64 > total {
                    did_you_mean = Some(text);
                }
            }
        }
        Ok(SearchResults {
            total,
            hits,
            facets,
            did_you_mean,
        })
    }

    async fn suggest(&self, prefix: &str, limit: u32) -> Result<Vec<Suggestion>> {
        let (words, limit): (Vec<QueryWord>, usize) =
            self.vocabulary.suggestion_words(prefix, limit)?;
        let Some(last) = words.last() else {
            return Ok(Vec::new());
        };
        let state = self.read();
        let mut out: Vec<Suggestion> = state
            .tree
            .values()
            .filter(|c| {
                text::folded_words(&c.name)
                    .iter()
                    .any(|w| w.starts_with(&last.folded))
            })
            .take(limit)
            .map(|c| Suggestion {
                text: c.name.clone(),
                target: SuggestionTarget::Category(c.id),
            })
            .collect();
        let mut products: Vec<&SearchDocument> = state
            .docs
            .values()
            .filter(|d| {
                let title = text::folded_words(&d.title);
                words.iter().all(|q| word_score(q, &title, false) > 0)
            })
            .collect();
        products.sort_by(|a, b| {
            b.signals
                .popularity()
                .cmp(&a.signals.popularity())
                .then_with(|| a.title.cmp(&b.title))
        });
        for d in products {
            if out.len() >= limit {
                break;
            }
            if !out.iter().any(|s| s.text == d.title) {
                out.push(Suggestion {
                    text: d.title.clone(),
                    target: SuggestionTarget::Product(d.product_id),
                });
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn document(&self, id: ProductId) -> Result<Option<SearchDocument>> {
        Ok(self.read().docs.get(&id).cloned())
    }

    async fn document_count(&self) -> Result<u64> {
        Ok(self.read().docs.len() as u64)
    }
}
