//! Builds the tantivy query of a search: every word must match (exactly, as a prefix
//! for the last word, within its typo budget, or through a synonym), and so must
//! every filter: with words, the clauses of a [`Conjunction`] over the clause cache
//! (filters unscored); without, filters as zero-scored required clauses. No query
//! parser: shopper text is never syntax.
//!
//! A word found exactly in at least [`TYPO_SKIP_DOCS`] products is not expanded to
//! its misspellings: the shopper spelled a word the catalog uses a lot, and the
//! typo automaton (every indexed word within one or two edits, and all their
//! documents) is the most expensive part of a query on a large index.

use std::ops::Bound;
use std::sync::Arc;

use commerce_core::memory::COMMON_WORD_DOCS;
use commerce_core::search::text::QueryWord;
use commerce_core::search::{SearchFilters, Vocabulary};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use crate::conjunction::{Clause, ClauseCache, Conjunction, Kept};
use crate::schema::{Fields, category_key};

/// Products a word must be found in (exactly, title or body) for its misspellings
/// to be left out of the query: core's [`COMMON_WORD_DOCS`], the same bound "did you
/// mean" uses.
pub(crate) const TYPO_SKIP_DOCS: u64 = COMMON_WORD_DOCS;

/// In how many products `word` is found exactly: the larger of its title and body
/// document frequencies.
pub(crate) fn exact_docs(f: &Fields, searcher: &Searcher, word: &str) -> u64 {
    let df = |field| {
        searcher
            .doc_freq(&Term::from_field_text(field, word))
            .unwrap_or(0)
    };
    df(f.title).max(df(f.body))
}

/// Whether `w` is found exactly in at least [`TYPO_SKIP_DOCS`] products.
fn frequent(f: &Fields, searcher: &Searcher, w: &QueryWord) -> bool {
    w.typos > 0 && exact_docs(f, searcher, &w.folded) >= TYPO_SKIP_DOCS
}

/// Boosts of a field: exact (BM25), prefix and typo matches (constant scores). Title
/// matches weigh three times body matches; a typo match weighs less than a prefix
/// match, and an exact match adds its BM25 score to both, so exact ranks first.
#[derive(Clone, Copy)]
struct Boosts {
    exact: f32,
    prefix: f32,
    typo: f32,
}

const TITLE: Boosts = Boosts {
    exact: 3.0,
    prefix: 1.5,
    typo: 0.6,
};
const BODY: Boosts = Boosts {
    exact: 1.0,
    prefix: 0.5,
    typo: 0.2,
};

fn boost(q: Box<dyn Query>, by: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(q, by))
}

fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
}

/// The clauses that let one query word match in one field.
fn word_in_field(
    field: Field,
    b: Boosts,
    w: &QueryWord,
    vocabulary: &Vocabulary,
    exact_is_frequent: bool,
    cache: &Arc<ClauseCache>,
) -> Vec<(Occur, Box<dyn Query>)> {
    // Automata (prefix, typos) keep their documents in the clause cache.
    let kept = |q: FuzzyTermQuery| -> Box<dyn Query> { Box::new(Kept::new(Box::new(q), cache)) };
    let typos = if exact_is_frequent { 0 } else { w.typos };
    let term = Term::from_field_text(field, &w.folded);
    let mut out: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Should, boost(term_query(term.clone()), b.exact))];
    // Typos and prefix together only on the title (that automaton also covers the
    // exact prefix); on the body a typo-and-prefix automaton would match too many
    // words to stay fast.
    let typo_prefix = w.prefix && typos > 0 && b.exact >= TITLE.exact;
    if w.prefix && !typo_prefix {
        out.push((
            Occur::Should,
            boost(
                kept(FuzzyTermQuery::new_prefix(term.clone(), 0, true)),
                b.prefix,
            ),
        ));
    }
    if typos > 0 {
        let fuzzy = if typo_prefix {
            FuzzyTermQuery::new_prefix(term, typos, true)
        } else {
            FuzzyTermQuery::new(term, typos, true)
        };
        out.push((Occur::Should, boost(kept(fuzzy), b.typo)));
    }
    for alt in vocabulary.alternatives(&w.folded) {
        let q: Box<dyn Query> = match alt.as_slice() {
            [one] => term_query(Term::from_field_text(field, one)),
            many => Box::new(PhraseQuery::new(
                many.iter()
                    .map(|s| Term::from_field_text(field, s))
                    .collect(),
            )),
        };
        out.push((Occur::Should, boost(q, b.exact)));
    }
    out
}

/// One clause per query word: the word matches in the title or the body (or only
/// the title), exactly, by prefix, within its typo budget or through a synonym.
fn word_clauses(
    f: &Fields,
    searcher: &Searcher,
    words: &[QueryWord],
    vocabulary: &Vocabulary,
    title_only: bool,
    cache: &Arc<ClauseCache>,
) -> Vec<Box<dyn Query>> {
    words
        .iter()
        .map(|w| {
            let common = frequent(f, searcher, w);
            let mut should = word_in_field(f.title, TITLE, w, vocabulary, common, cache);
            if !title_only {
                should.extend(word_in_field(f.body, BODY, w, vocabulary, common, cache));
            }
            Box::new(BooleanQuery::new(should)) as Box<dyn Query>
        })
        .collect()
}

/// A query where every word matches in the title or the body (or only the title).
pub(crate) fn words_query(
    f: &Fields,
    searcher: &Searcher,
    words: &[QueryWord],
    vocabulary: &Vocabulary,
    title_only: bool,
    cache: &Arc<ClauseCache>,
) -> Box<dyn Query> {
    if words.is_empty() {
        return Box::new(AllQuery);
    }
    let clauses = word_clauses(f, searcher, words, vocabulary, title_only, cache)
        .into_iter()
        .map(|q| (Occur::Must, q))
        .collect();
    Box::new(BooleanQuery::new(clauses))
}

/// The minimum rating in hundredths, rounded up.
fn min_rating_centi(r: Decimal) -> u64 {
    (r * Decimal::from(100)).ceil().to_u64().unwrap_or(0)
}

/// The filters of a search, as clauses: the ones that repeat across queries
/// (category, currency, seller, in stock) are kept in the clause cache, the ranges
/// (price, minimum rating) are checked on what the others leave.
fn filter_clauses(f: &Fields, filters: &SearchFilters) -> Vec<Clause> {
    let mut clauses = Vec::new();
    if let Some(c) = filters.category_id {
        clauses.push(Clause::kept_filter(term_query(Term::from_field_u64(
            f.category,
            category_key(c),
        ))));
    }
    if filters.price_min.is_some() || filters.price_max.is_some() {
        let lower = filters.price_min.map_or(Bound::Unbounded, |m| {
            Bound::Included(Term::from_field_i64(f.price, m))
        });
        let upper = filters.price_max.map_or(Bound::Unbounded, |m| {
            Bound::Included(Term::from_field_i64(f.price, m))
        });
        clauses.push(Clause::checked_filter(Box::new(RangeQuery::new(
            lower, upper,
        ))));
    }
    if let Some(c) = filters.currency {
        clauses.push(Clause::kept_filter(term_query(Term::from_field_text(
            f.currency,
            c.code(),
        ))));
    }
    if let Some(s) = filters.seller_id {
        let (hi, lo) = s.as_uuid().as_u64_pair();
        clauses.push(Clause::kept_filter(term_query(Term::from_field_u64(
            f.seller_hi,
            hi,
        ))));
        clauses.push(Clause::kept_filter(term_query(Term::from_field_u64(
            f.seller_lo,
            lo,
        ))));
    }
    if filters.in_stock {
        clauses.push(Clause::kept_filter(term_query(Term::from_field_u64(
            f.in_stock, 1,
        ))));
    }
    if let Some(r) = filters.min_rating {
        let lower = Bound::Included(Term::from_field_u64(f.rating, min_rating_centi(r)));
        clauses.push(Clause::checked_filter(Box::new(RangeQuery::new(
            lower,
            Bound::Unbounded,
        ))));
    }
    clauses
}

/// The full query: words and filters. With words, a [`Conjunction`] over the clause
/// cache; without (browsing by filters alone), every product through the filters.
pub(crate) fn search_query(
    f: &Fields,
    searcher: &Searcher,
    words: &[QueryWord],
    vocabulary: &Vocabulary,
    filters: &SearchFilters,
    cache: &Arc<ClauseCache>,
) -> Box<dyn Query> {
    let filters = filter_clauses(f, filters);
    if !words.is_empty() {
        let mut words = word_clauses(f, searcher, words, vocabulary, false, cache);
        if words.len() == 1 && filters.is_empty() {
            // Nothing to intersect: the word's own scorer walks its documents.
            if let Some(only) = words.pop() {
                return only;
            }
        }
        let mut clauses: Vec<Clause> = words.into_iter().map(Clause::word).collect();
        clauses.extend(filters);
        return Box::new(Conjunction::new(clauses, Arc::clone(cache)));
    }
    if filters.is_empty() {
        return Box::new(AllQuery);
    }
    let clauses = filters
        .into_iter()
        .map(|c| {
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(c.into_query(), 0.0)) as Box<dyn Query>,
            )
        })
        .collect();
    Box::new(BooleanQuery::new(clauses))
}
