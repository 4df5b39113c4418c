//! Every word and filter of a search must match: an intersection of cached document
//! sets, then scoring of the documents that are left.
//!
//! tantivy's own intersection walks the postings of its clauses in step. Two words
//! the catalog uses a lot (each in 5 % of a million products) cost tens of
//! thousands of steps, whether they meet in ten products or in none; half of a
//! shopper's queries of two or three words find nothing, and paid that in full.
//! Here each clause's matching documents are kept per segment, as a bitset when
//! they are many (more than one document in 256) and as a sorted list otherwise, so an intersection is a word-wise AND of
//! bitsets or a lookup of the shortest list's documents in the others; a clause
//! that cannot be kept (a price or rating range, different in every query) is
//! checked on what is left.
//! Only then are the word clauses' scorers moved to the remaining documents to sum
//! their BM25 scores, so scoring costs what the result set costs, not what the
//! words' postings cost.
//!
//! The sets live in a [`ClauseCache`] bounded in bytes, least recently used out
//! first, keyed by segment and clause (a segment never changes; the caches of
//! segments merged away are dropped after each reload).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fixedbitset::FixedBitSet;
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, TantivyError};

/// One required clause: its query, whether its score counts, and whether its
/// matching documents are kept in the cache (a range differs in every query).
#[derive(Debug)]
pub(crate) struct Clause {
    query: Box<dyn Query>,
    /// The cache key (the clause's structure, printed), when it is kept.
    key: Option<String>,
    scored: bool,
}

impl Clone for Clause {
    fn clone(&self) -> Self {
        Clause {
            query: self.query.box_clone(),
            key: self.key.clone(),
            scored: self.scored,
        }
    }
}

impl Clause {
    /// A clause kept in the cache under its printed structure.
    fn kept(query: Box<dyn Query>, scored: bool) -> Self {
        Clause {
            key: Some(format!("{query:?}")),
            query,
            scored,
        }
    }

    /// A scored clause kept in the cache (a query word).
    pub(crate) fn word(query: Box<dyn Query>) -> Self {
        Clause::kept(query, true)
    }

    /// An unscored clause kept in the cache (a category, seller, currency or stock
    /// filter: the same few values again and again).
    pub(crate) fn kept_filter(query: Box<dyn Query>) -> Self {
        Clause::kept(query, false)
    }

    /// An unscored clause checked on the documents the others left (a range).
    pub(crate) fn checked_filter(query: Box<dyn Query>) -> Self {
        Clause {
            query,
            key: None,
            scored: false,
        }
    }

    /// The clause's query.
    pub(crate) fn into_query(self) -> Box<dyn Query> {
        self.query
    }
}

/// All clauses must match; the score is the sum of the scored clauses' scores.
#[derive(Clone)]
pub(crate) struct Conjunction {
    clauses: Vec<Clause>,
    cache: Arc<ClauseCache>,
}

impl fmt::Debug for Conjunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conjunction")
            .field("clauses", &self.clauses)
            .finish_non_exhaustive()
    }
}

impl Conjunction {
    /// Every one of `clauses` (at least one kept in the cache) must match.
    pub(crate) fn new(clauses: Vec<Clause>, cache: Arc<ClauseCache>) -> Self {
        Conjunction { clauses, cache }
    }
}

impl Query for Conjunction {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let clauses = self
            .clauses
            .iter()
            .map(|c| {
                Ok(ClauseWeight {
                    weight: c.query.weight(scoring)?,
                    key: c.key.clone(),
                    scored: c.scored,
                })
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(ConjunctionWeight {
            clauses,
            cache: Arc::clone(&self.cache),
            scoring: scoring.is_scoring_enabled(),
        }))
    }
}

struct ClauseWeight {
    weight: Box<dyn Weight>,
    key: Option<String>,
    scored: bool,
}

struct ConjunctionWeight {
    clauses: Vec<ClauseWeight>,
    cache: Arc<ClauseCache>,
    scoring: bool,
}

/// A clause matching more than one document in this many is kept as a bitset: at
/// one in 256, a bitset's AND with another (a word per 64 documents) already costs
/// less than looking each listed document up.
const DENSE_FROM: usize = 256;

/// The documents a clause matches in one segment.
enum Docs {
    /// Many: one bit per document of the segment.
    Dense(FixedBitSet, usize),
    /// Few: their ids, in order.
    Sparse(Vec<DocId>),
}

impl Docs {
    /// The documents of `scorer` in a segment of `max_doc` documents.
    fn of(mut scorer: Box<dyn Scorer>, max_doc: DocId) -> Docs {
        let mut list = Vec::new();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            list.push(doc);
            doc = scorer.advance();
        }
        if list.len() <= (max_doc as usize) / DENSE_FROM {
            return Docs::Sparse(list);
        }
        let mut bits = FixedBitSet::with_capacity(max_doc as usize);
        for &d in &list {
            if (d as usize) < bits.len() {
                bits.insert(d as usize);
            }
        }
        Docs::Dense(bits, list.len())
    }

    fn len(&self) -> usize {
        match self {
            Docs::Dense(_, n) => *n,
            Docs::Sparse(list) => list.len(),
        }
    }

    fn contains(&self, doc: DocId) -> bool {
        match self {
            Docs::Dense(bits, _) => bits.contains(doc as usize),
            Docs::Sparse(list) => list.binary_search(&doc).is_ok(),
        }
    }

    /// Bytes held.
    fn bytes(&self) -> usize {
        match self {
            Docs::Dense(bits, _) => bits.len() / 8,
            Docs::Sparse(list) => list.len() * std::mem::size_of::<DocId>(),
        }
    }
}

/// The documents in every one of `sets`, in order: the shortest list's documents
/// looked up in the others, or, when every set is a bitset, one pass over their
/// words ANDed together.
fn intersect(sets: &mut [Arc<Docs>]) -> Vec<DocId> {
    sets.sort_by_key(|s| s.len());
    let Some((smallest, rest)) = sets.split_first() else {
        return Vec::new();
    };
    if let Docs::Sparse(list) = &**smallest {
        return list
            .iter()
            .copied()
            .filter(|&d| rest.iter().all(|o| o.contains(d)))
            .collect();
    }
    // The smallest is dense, so all are.
    let blocks: Vec<&[usize]> = sets
        .iter()
        .filter_map(|s| match &**s {
            Docs::Dense(bits, _) => Some(bits.as_slice()),
            Docs::Sparse(_) => None,
        })
        .collect();
    let words = blocks.iter().map(|b| b.len()).min().unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..words {
        let mut w = usize::MAX;
        for b in &blocks {
            w &= b[i];
        }
        while w != 0 {
            let bit = i * usize::BITS as usize + w.trailing_zeros() as usize;
            if let Ok(d) = DocId::try_from(bit) {
                out.push(d);
            }
            w &= w - 1;
        }
    }
    out
}

impl ConjunctionWeight {
    /// The documents every clause matches, in order.
    fn matching(&self, reader: &SegmentReader) -> tantivy::Result<Vec<DocId>> {
        let mut kept: Vec<Arc<Docs>> = Vec::new();
        let mut checked: Vec<Box<dyn Scorer>> = Vec::new();
        for c in &self.clauses {
            match &c.key {
                Some(key) => kept.push(self.cache.get_or_build(reader, key, || {
                    Ok(Docs::of(c.weight.scorer(reader, 1.0)?, reader.max_doc()))
                })?),
                None => checked.push(c.weight.scorer(reader, 0.0)?),
            }
        }
        if kept.is_empty() {
            return Err(TantivyError::InvalidArgument(
                "a conjunction needs a clause kept in the cache".to_owned(),
            ));
        }
        let mut docs = intersect(&mut kept);
        docs.retain(|&d| {
            checked.iter_mut().all(|s| {
                if s.doc() < d {
                    s.seek(d);
                }
                s.doc() == d
            })
        });
        Ok(docs)
    }
}

impl Weight for ConjunctionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self.matching(reader)?;
        let mut scorers = Vec::new();
        if self.scoring && !docs.is_empty() {
            for c in self.clauses.iter().filter(|c| c.scored) {
                scorers.push(c.weight.scorer(reader, boost)?);
            }
        }
        Ok(Box::new(ConjunctionScorer {
            docs,
            at: 0,
            scorers,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("every word and filter", scorer.score()))
    }
}

/// The matching documents, scored by moving each scored clause's scorer to them.
struct ConjunctionScorer {
    docs: Vec<DocId>,
    at: usize,
    scorers: Vec<Box<dyn Scorer>>,
}

impl DocSet for ConjunctionScorer {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let rest = self.docs.get(self.at..).unwrap_or(&[]);
        self.at += rest.partition_point(|&d| d < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        u32::try_from(self.docs.len()).unwrap_or(u32::MAX)
    }
}

impl Scorer for ConjunctionScorer {
    // BM25 relevance scores are floats by nature (tantivy's `Score`); no amount is.
    #[allow(clippy::float_arithmetic)]
    fn score(&mut self) -> Score {
        let doc = self.doc();
        let mut score = 0.0;
        for s in &mut self.scorers {
            if s.doc() < doc {
                s.seek(doc);
            }
            if s.doc() == doc {
                score += s.score();
            }
        }
        score
    }
}

/// A constant-score query whose documents are kept in the clause cache: a typo or
/// prefix automaton, whose every use otherwise walks the term dictionary, ORs the
/// postings of each word it accepts into a bitset of the whole segment and scans
/// it. Scores as the query it wraps: its boost, for every document it matches.
pub(crate) struct Kept {
    query: Box<dyn Query>,
    key: String,
    cache: Arc<ClauseCache>,
}

impl Clone for Kept {
    fn clone(&self) -> Self {
        Kept {
            query: self.query.box_clone(),
            key: self.key.clone(),
            cache: Arc::clone(&self.cache),
        }
    }
}

impl fmt::Debug for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wrapped query alone: this is also the cache key of any clause holding
        // it, and keeping is not part of what a clause matches.
        self.query.fmt(f)
    }
}

impl Kept {
    /// `query` (constant score), its documents kept in `cache`.
    pub(crate) fn new(query: Box<dyn Query>, cache: &Arc<ClauseCache>) -> Self {
        Kept {
            key: format!("{query:?}"),
            query,
            cache: Arc::clone(cache),
        }
    }
}

impl Query for Kept {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(KeptWeight {
            inner: self.query.weight(scoring)?,
            key: self.key.clone(),
            cache: Arc::clone(&self.cache),
        }))
    }
}

struct KeptWeight {
    inner: Box<dyn Weight>,
    key: String,
    cache: Arc<ClauseCache>,
}

impl Weight for KeptWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self.cache.get_or_build(reader, &self.key, || {
            Ok(Docs::of(self.inner.scorer(reader, 1.0)?, reader.max_doc()))
        })?;
        Ok(Box::new(DocsScorer::new(docs, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}

/// The documents of a kept set, each with the same score.
struct DocsScorer {
    docs: Arc<Docs>,
    /// The current document.
    doc: DocId,
    /// Its position in a sparse set.
    at: usize,
    score: Score,
}

impl DocsScorer {
    fn new(docs: Arc<Docs>, score: Score) -> Self {
        let mut s = DocsScorer {
            docs,
            doc: 0,
            at: 0,
            score,
        };
        s.doc = s.first_at_or_after(0);
        s
    }

    /// The first document at or after `target` (moving `at` in a sparse set).
    fn first_at_or_after(&mut self, target: DocId) -> DocId {
        match &*self.docs {
            Docs::Sparse(list) => {
                let rest = list.get(self.at..).unwrap_or(&[]);
                self.at += rest.partition_point(|&d| d < target);
                list.get(self.at).copied().unwrap_or(TERMINATED)
            }
            Docs::Dense(bits, _) => next_one(bits, target),
        }
    }
}

/// The first set bit of `bits` at or after `from`, or [`TERMINATED`].
fn next_one(bits: &FixedBitSet, from: DocId) -> DocId {
    const BITS: usize = usize::BITS as usize;
    let blocks = bits.as_slice();
    let from = from as usize;
    let mut i = from / BITS;
    let Some(&first) = blocks.get(i) else {
        return TERMINATED;
    };
    let mut block = first & (usize::MAX << (from % BITS));
    loop {
        if block != 0 {
            let bit = i * BITS + block.trailing_zeros() as usize;
            return if bit < bits.len() {
                DocId::try_from(bit).unwrap_or(TERMINATED)
            } else {
                TERMINATED
            };
        }
        i += 1;
        match blocks.get(i) {
            Some(&b) => block = b,
            None => return TERMINATED,
        }
    }
}

impl DocSet for DocsScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        if matches!(&*self.docs, Docs::Sparse(_)) {
            self.at += 1;
        }
        self.doc = self.first_at_or_after(self.doc + 1);
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc != TERMINATED && self.doc < target {
            self.doc = self.first_at_or_after(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        u32::try_from(self.docs.len()).unwrap_or(u32::MAX)
    }
}

impl Scorer for DocsScorer {
    fn score(&mut self) -> Score {
        self.score
    }
}

struct Entry {
    docs: Arc<Docs>,
    bytes: usize,
    used: AtomicU64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<(SegmentId, String), Entry>,
    bytes: usize,
}

/// The matching documents of the clauses searches used, per segment, within a
/// budget of bytes.
pub(crate) struct ClauseCache {
    budget: usize,
    clock: AtomicU64,
    entries: Mutex<Entries>,
}

impl ClauseCache {
    /// A cache of at most `budget` bytes of document sets.
    pub(crate) fn new(budget: usize) -> Self {
        ClauseCache {
            budget,
            clock: AtomicU64::new(0),
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The documents of clause `key` in segment `reader`, built by `build` (outside
    /// the lock) when not kept yet.
    fn get_or_build(
        &self,
        reader: &SegmentReader,
        key: &str,
        build: impl FnOnce() -> tantivy::Result<Docs>,
    ) -> tantivy::Result<Arc<Docs>> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let id = (reader.segment_id(), key.to_owned());
        if let Some(e) = self.lock().map.get(&id) {
            e.used.store(now, Ordering::Relaxed);
            return Ok(Arc::clone(&e.docs));
        }
        let docs = Arc::new(build()?);
        let bytes = docs.bytes() + key.len() + 64;
        let mut entries = self.lock();
        if bytes > self.budget {
            return Ok(docs);
        }
        if let Some(old) = entries.map.insert(
            id,
            Entry {
                docs: Arc::clone(&docs),
                bytes,
                used: AtomicU64::new(now),
            },
        ) {
            entries.bytes -= old.bytes;
        }
        entries.bytes += bytes;
        if entries.bytes > self.budget {
            // Least recently used out, down to 90 % of the budget.
            let mut by_age: Vec<(u64, (SegmentId, String))> = entries
                .map
                .iter()
                .map(|(k, e)| (e.used.load(Ordering::Relaxed), k.clone()))
                .collect();
            by_age.sort_unstable_by_key(|(used, _)| *used);
            for (_, k) in by_age {
                if entries.bytes <= self.budget / 10 * 9 {
                    break;
                }
                if let Some(e) = entries.map.remove(&k) {
                    entries.bytes -= e.bytes;
                }
            }
        }
        Ok(docs)
    }

    /// Drops the sets of segments `searcher` no longer has.
    pub(crate) fn retain_live(&self, searcher: &Searcher) {
        let live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        let mut entries = self.lock();
        let mut freed = 0;
        entries.map.retain(|(segment, _), e| {
            let keep = live.contains(segment);
            if !keep {
                freed += e.bytes;
            }
            keep
        });
        entries.bytes -= freed;
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    fn reader() -> Searcher {
        let mut schema = Schema::builder();
        let f = schema.add_text_field("w", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15 << 20).unwrap();
        for i in 0..1000u32 {
            let mut doc = TantivyDocument::default();
            doc.add_text(f, i.to_string());
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        index.reader().unwrap().searcher()
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_drops_the_least_recently_used() {
        let searcher = reader();
        let segment = &searcher.segment_readers()[0];
        let cache = ClauseCache::new(2_000);
        let list = |n: u32| move || Ok(Docs::Sparse((0..n).collect()));
        for k in 0..20 {
            cache
                .get_or_build(segment, &format!("clause {k}"), list(100))
                .unwrap();
            assert!(cache.bytes() <= 2_000, "{} bytes held", cache.bytes());
        }
        // The newest is kept: asking again does not build.
        let kept = cache
            .get_or_build(segment, "clause 19", || panic!("rebuilt"))
            .unwrap();
        assert_eq!(kept.len(), 100);
        // A set larger than the whole budget is answered, never kept.
        let big = cache.get_or_build(segment, "big", list(1_000)).unwrap();
        assert_eq!(big.len(), 1_000);
        assert!(cache.bytes() <= 2_000);
    }

    #[test]
    fn dense_and_sparse_sets_intersect_alike() {
        let searcher = reader();
        let max = searcher.segment_readers()[0].max_doc();
        let dense = |step: u32| {
            let mut bits = FixedBitSet::with_capacity(max as usize);
            let mut n = 0;
            for d in (0..max).step_by(step as usize) {
                bits.insert(d as usize);
                n += 1;
            }
            Arc::new(Docs::Dense(bits, n))
        };
        let sparse = |step: u32| Arc::new(Docs::Sparse((0..max).step_by(step as usize).collect()));
        let want: Vec<DocId> = (0..max).step_by(6).collect();
        assert_eq!(intersect(&mut [dense(2), dense(3)]), want);
        assert_eq!(intersect(&mut [dense(2), sparse(3)]), want);
        assert_eq!(intersect(&mut [sparse(2), sparse(3)]), want);
        assert_eq!(intersect(&mut []), Vec::<DocId>::new());
    }

    #[test]
    fn a_kept_set_walks_and_seeks_alike_dense_or_sparse() {
        let max = 1000u32;
        let want: Vec<DocId> = (0..max).filter(|d| d % 7 == 3 || *d == 999).collect();
        let mut bits = FixedBitSet::with_capacity(max as usize);
        for &d in &want {
            bits.insert(d as usize);
        }
        for docs in [Docs::Dense(bits, want.len()), Docs::Sparse(want.clone())] {
            let docs = Arc::new(docs);
            let mut walked = Vec::new();
            let mut s = DocsScorer::new(Arc::clone(&docs), 2.0);
            while s.doc() != TERMINATED {
                walked.push(s.doc());
                s.advance();
            }
            assert_eq!(walked, want);
            let mut s = DocsScorer::new(docs, 2.0);
            assert_eq!(s.seek(4), 10);
            assert_eq!(s.seek(10), 10);
            assert_eq!(s.seek(500), 500);
            assert_eq!(s.seek(998), 999);
            assert_eq!(s.advance(), TERMINATED);
            assert_eq!(s.seek(1000), TERMINATED);
        }
    }
}
