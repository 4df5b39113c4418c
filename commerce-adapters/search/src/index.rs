//! [`TantivySearch`]: the [`ProductSearch`] port on a tantivy index.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use commerce_core::memory::{
    COMMON_WORD_DOCS, DID_YOU_MEAN_BELOW, apply_signal, normalize_rating, price_buckets,
    search_hit, sort_sellers,
};
use commerce_core::search::text::{self, QueryWord};
use commerce_core::search::{
    Facets, IndexChange, ProductSearch, SearchCapabilities, SearchDocument, SearchQuery,
    SearchResults, Suggestion, SuggestionTarget, Vocabulary, category_counts, category_path,
};
use commerce_core::{Category, CategoryId, Error, ProductId, Result, SellerId, Sku};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{FuzzyTermQuery, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher,
    TantivyDocument, Term,
};

use crate::columns::ColumnCache;
use crate::config::{SearchConfig, Storage};
use crate::conjunction::ClauseCache;
use crate::facets::FacetCounter;
use crate::query::{exact_docs, search_query, words_query};
use crate::schema::{Fields, category_key, schema, to_tantivy};
use crate::sort::{Popularity, SortKeys};
use crate::tokenizer::{FOLDING, FoldingTokenizer};

/// Bytes of stored documents compressed together. A hit decompresses its whole
/// block: tantivy's default (16 KB) made reading the 20 documents of a page a
/// tenth of a search's time; 4 KB blocks cost a few percent more disk.
const DOC_STORE_BLOCK_BYTES: usize = 4096;

/// What is committed with the index besides documents (tantivy's commit payload).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Payload {
    position: Option<u64>,
    categories: Vec<Category>,
}

/// Words close to a query word: their edit distance and document frequency.
type Neighbours = FxHashMap<String, (usize, u64)>;

/// The fields of a stored [`SearchDocument`] a suggestion shows.
#[derive(Deserialize)]
struct TitleOnly {
    product_id: ProductId,
    title: String,
}

/// The category tree and outbox position, as of the last commit.
#[derive(Debug, Default)]
struct Meta {
    position: Option<u64>,
    tree: BTreeMap<CategoryId, Category>,
    by_key: HashMap<u64, CategoryId>,
}

impl Meta {
    fn set_tree(&mut self, categories: Vec<Category>) {
        self.by_key = categories
            .iter()
            .map(|c| (category_key(c.id), c.id))
            .collect();
        self.tree = categories.into_iter().map(|c| (c.id, c)).collect();
    }
}

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    vocabulary: Vocabulary,
    meta: RwLock<Meta>,
    columns: Arc<ColumnCache>,
    clauses: Arc<ClauseCache>,
    corrections: Mutex<Corrections>,
}

/// "Did you mean" answers per word, for one generation of the index: finding one
/// walks the term dictionaries with a Levenshtein automaton per field (a tenth of
/// a millisecond or more), and shoppers repeat their misspellings. A new
/// generation (any commit) starts afresh; an answer for an older one is not kept.
#[derive(Default)]
struct Corrections {
    generation: u64,
    words: HashMap<String, Option<String>>,
}

/// Words whose corrections one generation keeps (then it starts afresh).
const CORRECTIONS_KEPT: usize = 10_000;

impl Corrections {
    fn get(&self, generation: u64, word: &str) -> Option<Option<String>> {
        if generation != self.generation {
            return None;
        }
        self.words.get(word).cloned()
    }

    fn put(&mut self, generation: u64, word: &str, correction: Option<String>) {
        if generation < self.generation {
            return;
        }
        if generation > self.generation || self.words.len() >= CORRECTIONS_KEPT {
            self.generation = generation;
            self.words.clear();
        }
        self.words.insert(word.to_owned(), correction);
    }
}

/// Product search on tantivy, in RAM or memory-mapped on disk.
///
/// One writer applies [`IndexChange`] batches (each batch one commit, visible when
/// [`ProductSearch::apply`] returns); searches run concurrently on the last
/// committed snapshot. Cheap to clone.
#[derive(Clone)]
pub struct TantivySearch {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TantivySearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TantivySearch").finish_non_exhaustive()
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::backend(e)
}

impl TantivySearch {
    /// Opens (or creates) the index `config` describes. An index on disk comes back
    /// with its documents, categories and outbox position.
    pub fn open(config: SearchConfig) -> Result<Self> {
        let (schema, fields) = schema();
        let builder = Index::builder().schema(schema).settings(IndexSettings {
            docstore_blocksize: DOC_STORE_BLOCK_BYTES,
            ..IndexSettings::default()
        });
        let index = match &config.storage {
            Storage::Ram => builder.create_in_ram().map_err(backend)?,
            Storage::Disk(dir) => {
                std::fs::create_dir_all(dir).map_err(backend)?;
                let path = dir.display().to_string();
                let dir = MmapDirectory::open(dir).map_err(backend)?;
                builder.open_or_create(dir).map_err(|e| match e {
                    tantivy::TantivyError::SchemaError(why) => {
                        Error::backend(std::io::Error::other(format!(
                            "the search index in {path} was built with another schema \
                             (an older commerce-search?): {why}; it is derived data: \
                             remove the directory and reindex"
                        )))
                    }
                    e => backend(e),
                })?
            }
        };
        index.tokenizers().register(FOLDING, FoldingTokenizer);
        let mut meta = Meta::default();
        let metas = index.load_metas().map_err(backend)?;
        if let Some(p) = metas.payload {
            let p: Payload = serde_json::from_str(&p).map_err(backend)?;
            meta.position = p.position;
            meta.set_tree(p.categories);
        }
        let writer = index
            .writer_with_num_threads(
                config.writer_threads.max(1),
                config.writer_memory_bytes.max(15 << 20),
            )
            .map_err(backend)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(backend)?;
        Ok(TantivySearch {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(writer),
                fields,
                vocabulary: config.vocabulary,
                meta: RwLock::new(meta),
                columns: Arc::default(),
                clauses: Arc::new(ClauseCache::new(config.clause_cache_bytes)),
                corrections: Mutex::default(),
            }),
        })
    }

    /// An empty index in RAM with the default vocabulary.
    pub fn in_ram() -> Result<Self> {
        TantivySearch::open(SearchConfig::in_ram())
    }

    /// What this backend does: everything.
    pub fn capabilities() -> SearchCapabilities {
        SearchCapabilities {
            typo_tolerance: true,
            did_you_mean: true,
        }
    }

    /// Bytes the index files take (on disk, or in RAM for a RAM index).
    pub fn size_bytes(&self) -> Result<u64> {
        let searcher = self.inner.reader.searcher();
        let mut total = 0u64;
        for seg in searcher.segment_readers() {
            let space = seg.space_usage().map_err(backend)?;
            total += space.total().get_bytes();
        }
        Ok(total)
    }

    /// Merges all segments into one (after a bulk load, for query speed). Retries
    /// when a background merge changed the segments meanwhile.
    pub fn merge_segments(&self) -> Result<()> {
        let mut last_error = None;
        for _ in 0..10 {
            let ids = self.inner.index.searchable_segment_ids().map_err(backend)?;
            if ids.len() <= 1 {
                last_error = None;
                break;
            }
            let merged = self.inner.writer().merge(&ids).wait();
            match merged {
                Ok(_) => {
                    last_error = None;
                    break;
                }
                Err(e) => {
                    last_error = Some(e);
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            }
        }
        if let Some(e) = last_error {
            return Err(backend(e));
        }
        let _ = self.inner.writer().garbage_collect_files().wait();
        self.inner.reload()
    }
}

impl Inner {
    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the last commit searchable and drops the cached columns and clause
    /// sets of segments it no longer has.
    fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(backend)?;
        let searcher = self.reader.searcher();
        self.columns.retain_live(&searcher);
        self.clauses.retain_live(&searcher);
        Ok(())
    }

    fn meta(&self) -> std::sync::RwLockReadGuard<'_, Meta> {
        self.meta.read().unwrap_or_else(|p| p.into_inner())
    }

    fn load(&self, searcher: &Searcher, addr: DocAddress) -> Result<SearchDocument> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(backend)?;
        let json = doc
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::backend(std::io::Error::other("document without its JSON")))?;
        serde_json::from_str(json).map_err(backend)
    }

    /// Only the id and title of a stored document (suggestions).
    fn load_title(&self, searcher: &Searcher, addr: DocAddress) -> Result<TitleOnly> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(backend)?;
        let json = doc
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::backend(std::io::Error::other("document without its JSON")))?;
        serde_json::from_str(json).map_err(backend)
    }

    fn find(&self, searcher: &Searcher, term: Term) -> Result<Option<SearchDocument>> {
        let q = TermQuery::new(term, IndexRecordOption::Basic);
        let top = searcher
            .search(&q, &TopDocs::with_limit(1).order_by_score())
            .map_err(backend)?;
        match top.first() {
            Some((_, addr)) => self.load(searcher, *addr).map(Some),
            None => Ok(None),
        }
    }

    fn by_id(&self, searcher: &Searcher, id: ProductId) -> Result<Option<SearchDocument>> {
        self.find(
            searcher,
            Term::from_field_text(self.fields.id, &id.to_string()),
        )
    }

    fn by_sku(&self, searcher: &Searcher, sku: &Sku) -> Result<Option<SearchDocument>> {
        self.find(
            searcher,
            Term::from_field_text(self.fields.sku, sku.as_str()),
        )
    }

    /// Applies a batch and commits it (blocking).
    fn apply(&self, changes: Vec<IndexChange>, position: Option<u64>) -> Result<()> {
        let mut writer = self.writer();
        let searcher = self.reader.searcher();
        let mut tree = self.meta().tree.clone();
        let mut tree_changed = false;
        // Documents changed in this batch (None: removed), and their SKUs.
        let mut pending: HashMap<ProductId, Option<SearchDocument>> = HashMap::new();
        let mut skus: HashMap<Sku, ProductId> = HashMap::new();
        let mut order: Vec<ProductId> = Vec::new();
        let current = |pending: &HashMap<ProductId, Option<SearchDocument>>,
                       id: ProductId|
         -> Result<Option<SearchDocument>> {
            match pending.get(&id) {
                Some(d) => Ok(d.clone()),
                None => self.by_id(&searcher, id),
            }
        };
        let mut stage = |doc: Option<SearchDocument>,
                         id: ProductId,
                         pending: &mut HashMap<ProductId, Option<SearchDocument>>,
                         skus: &mut HashMap<Sku, ProductId>| {
            if let Some(d) = &doc {
                for v in &d.variants {
                    skus.insert(v.sku.clone(), id);
                }
            }
            if pending.insert(id, doc).is_none() {
                order.push(id);
            }
        };
        for change in changes {
            match change {
                IndexChange::Put(mut doc) => {
                    doc.signals.rating_average = normalize_rating(doc.signals.rating_average);
                    let id = doc.product_id;
                    stage(Some(doc), id, &mut pending, &mut skus);
                }
                IndexChange::PutCatalog(mut doc) => {
                    let id = doc.product_id;
                    if let Some(old) = current(&pending, id)? {
                        doc.signals = old.signals;
                    }
                    stage(Some(doc), id, &mut pending, &mut skus);
                }
                IndexChange::Remove(id) => stage(None, id, &mut pending, &mut skus),
                IndexChange::Categories(categories) => {
                    tree = categories.into_iter().map(|c| (c.id, c)).collect();
                    tree_changed = true;
                }
                IndexChange::Rating { product_id, .. } => {
                    if let Some(mut doc) = current(&pending, product_id)? {
                        apply_signal(&mut doc, &change);
                        stage(Some(doc), product_id, &mut pending, &mut skus);
                    }
                }
                IndexChange::Price { ref sku, .. }
                | IndexChange::Stock { ref sku, .. }
                | IndexChange::UnitsSold { ref sku, .. } => {
                    let doc = match skus.get(sku) {
                        Some(id) => current(&pending, *id)?,
                        None => self.by_sku(&searcher, sku)?,
                    };
                    if let Some(mut doc) = doc
                        && apply_signal(&mut doc, &change)
                    {
                        let id = doc.product_id;
                        stage(Some(doc), id, &mut pending, &mut skus);
                    }
                }
            }
        }
        for id in order {
            writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
            if let Some(Some(doc)) = pending.remove(&id) {
                let t = to_tantivy(&self.fields, &doc, &tree).map_err(backend)?;
                writer.add_document(t).map_err(backend)?;
            }
        }
        let old_position = self.meta().position;
        let payload = Payload {
            position: position.or(old_position),
            categories: tree.values().cloned().collect(),
        };
        let mut commit = writer.prepare_commit().map_err(backend)?;
        commit.set_payload(&serde_json::to_string(&payload).map_err(backend)?);
        commit.commit().map_err(backend)?;
        self.reload()?;
        let mut meta = self.meta.write().unwrap_or_else(|p| p.into_inner());
        meta.position = payload.position;
        if tree_changed {
            meta.set_tree(payload.categories);
        }
        Ok(())
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        query.validate()?;
        let words = self.vocabulary.query_words(&query.text);
        let searcher = self.reader.searcher();
        let q = search_query(
            &self.fields,
            &searcher,
            &words,
            &self.vocabulary,
            &query.filters,
            &self.clauses,
        );
        let limit = usize::try_from(query.limit).map_err(|_| Error::Overflow)?;
        let offset = usize::try_from(query.offset).map_err(|_| Error::Overflow)?;
        let edges = Arc::new(query.edges());
        let top = TopDocs::with_limit(limit)
            .and_offset(offset)
            .order_by(SortKeys(query.sort, Arc::clone(&self.columns)));
        let facets = FacetCounter {
            enabled: query.facets,
            edges: Arc::clone(&edges),
            categories: self.meta().tree.len(),
            columns: Arc::clone(&self.columns),
        };
        let (top, total, counts) = searcher
            .search(&*q, &(top, Count, facets))
            .map_err(backend)?;
        let mut hits = Vec::with_capacity(top.len());
        for (_, addr) in top {
            hits.push(search_hit(&self.load(&searcher, addr)?, &words));
        }
        let total = total as u64;
        let facets = query.facets.then(|| {
            let meta = self.meta();
            let mut categories: BTreeMap<CategoryId, u64> = counts
                .categories
                .iter()
                .filter_map(|(k, n)| meta.by_key.get(k).map(|id| (*id, *n)))
                .collect();
            for (k, n) in &counts.single_categories {
                if let Some(id) = meta.by_key.get(k) {
                    for a in category_path(&meta.tree, *id) {
                        *categories.entry(a).or_default() += n;
                    }
                }
            }
            let mut prices = price_buckets(&edges);
            for (b, n) in prices.iter_mut().zip(&counts.prices) {
                b.count = *n;
            }
            Facets {
                categories: category_counts(&meta.tree, &categories),
                prices,
                sellers: sort_sellers(
                    counts
                        .sellers
                        .iter()
                        .map(|((hi, lo), n)| {
                            (SellerId::from_uuid(uuid::Uuid::from_u64_pair(*hi, *lo)), *n)
                        })
                        .collect(),
                ),
                ratings_at_least: counts.ratings,
                in_stock: counts.in_stock,
            }
        });
        let did_you_mean = if total < DID_YOU_MEAN_BELOW && !words.is_empty() {
            self.did_you_mean(&searcher, query, &words, total)?
        } else {
            None
        };
        Ok(SearchResults {
            total,
            hits,
            facets,
            did_you_mean,
        })
    }

    /// The indexed words of title and body that start with the first byte of `word`
    /// and are within `budget` edits of it (the words a correction can come from),
    /// with their distance and document frequency (the larger of the two fields),
    /// and the frequency of `word` itself. The term dictionaries are walked with a
    /// Levenshtein automaton (tantivy's, as its fuzzy queries use), so only words
    /// within the budget are visited, not every word with the same first letter.
    fn neighbours(
        &self,
        searcher: &Searcher,
        word: &str,
        budget: usize,
    ) -> Result<(Neighbours, u64)> {
        let mut near = Neighbours::default();
        let mut own = 0u64;
        let Some(&first) = word.as_bytes().first() else {
            return Ok((near, own));
        };
        let distance = u8::try_from(budget).unwrap_or(2).min(2);
        for seg in searcher.segment_readers() {
            for field in [self.fields.title, self.fields.body] {
                let automaton =
                    FuzzyTermQuery::new(Term::from_field_text(field, word), distance, true)
                        .automaton()
                        .map_err(backend)?;
                let inverted = seg.inverted_index(field).map_err(backend)?;
                let mut stream = inverted
                    .terms()
                    .search(automaton)
                    .into_stream()
                    .map_err(backend)?;
                while stream.advance() {
                    if stream.key().first() != Some(&first) {
                        continue;
                    }
                    let Ok(w) = std::str::from_utf8(stream.key()) else {
                        continue;
                    };
                    let n = u64::from(stream.value().doc_freq);
                    if w == word {
                        own = own.max(n);
                    } else if let Some(e) = near.get_mut(w) {
                        e.1 = e.1.max(n);
                    } else {
                        near.insert(w.to_owned(), (text::edit_distance(word, w), n));
                    }
                }
            }
        }
        Ok((near, own))
    }

    /// The closest more frequent spelling of `word`, if any: the fewest edits, then
    /// the most products. A common word ([`COMMON_WORD_DOCS`]) is taken as meant.
    /// Answers are kept for the searcher's generation (see [`Corrections`]).
    fn correction(&self, searcher: &Searcher, word: &str) -> Result<Option<String>> {
        let generation = searcher.generation().generation_id();
        if let Some(known) = self.corrections().get(generation, word) {
            return Ok(known);
        }
        let budget = match word.chars().count() {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        let mut best: Option<(usize, u64, String)> = None;
        if budget > 0 && exact_docs(&self.fields, searcher, word) < COMMON_WORD_DOCS {
            let (near, own) = self.neighbours(searcher, word, budget)?;
            for (cand, (d, f)) in near {
                if f <= own {
                    continue;
                }
                let better = match &best {
                    None => true,
                    Some((bd, bf, bw)) => {
                        (d, std::cmp::Reverse(f), &cand) < (*bd, std::cmp::Reverse(*bf), bw)
                    }
                };
                if better {
                    best = Some((d, f, cand));
                }
            }
        }
        let found = best.map(|(_, _, c)| c);
        self.corrections().put(generation, word, found.clone());
        Ok(found)
    }

    fn corrections(&self) -> MutexGuard<'_, Corrections> {
        self.corrections.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn did_you_mean(
        &self,
        searcher: &Searcher,
        query: &SearchQuery,
        words: &[QueryWord],
        total: u64,
    ) -> Result<Option<String>> {
        let mut changed = false;
        let mut corrected = Vec::with_capacity(words.len());
        for w in words {
            match self.correction(searcher, &w.folded)? {
                Some(c) => {
                    changed = true;
                    corrected.push(c);
                }
                None => corrected.push(w.folded.clone()),
            }
        }
        if !changed {
            return Ok(None);
        }
        let text = corrected.join(" ");
        let better = self.vocabulary.query_words(&format!("{text} "));
        let q = search_query(
            &self.fields,
            searcher,
            &better,
            &self.vocabulary,
            &query.filters,
            &self.clauses,
        );
        let count = searcher.search(&*q, &Count).map_err(backend)? as u64;
        Ok((count > total).then_some(text))
    }

    fn suggest(&self, prefix: &str, limit: u32) -> Result<Vec<Suggestion>> {
        let (words, limit): (Vec<QueryWord>, usize) =
            self.vocabulary.suggestion_words(prefix, limit)?;
        let Some(last) = words.last() else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Suggestion> = {
            let meta = self.meta();
            meta.tree
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
                .collect()
        };
        if out.len() < limit {
            // The most popular titles matching every word: top by the popularity
            // fast field, no scoring; then only their id and title are read.
            let searcher = self.reader.searcher();
            let q: Box<dyn Query> = words_query(
                &self.fields,
                &searcher,
                &words,
                &self.vocabulary,
                true,
                &self.clauses,
            );
            let top =
                TopDocs::with_limit(limit * 2).order_by(Popularity(Arc::clone(&self.columns)));
            let found = searcher.search(&*q, &top).map_err(backend)?;
            let mut titles = Vec::with_capacity(found.len());
            for (popularity, addr) in found {
                titles.push((popularity, self.load_title(&searcher, addr)?));
            }
            titles.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.title.cmp(&b.1.title)));
            for (_, t) in titles {
                if out.len() >= limit {
                    break;
                }
                if !out.iter().any(|s| s.text == t.title) {
                    out.push(Suggestion {
                        text: t.title,
                        target: SuggestionTarget::Product(t.product_id),
                    });
                }
            }
        }
        Ok(out)
    }
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::backend(e)
}

#[async_trait]
impl ProductSearch for TantivySearch {
    async fn apply(&self, changes: Vec<IndexChange>, position: Option<u64>) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.apply(changes, position))
            .await
            .map_err(join_error)?
    }

    async fn position(&self) -> Result<Option<u64>> {
        Ok(self.inner.meta().position)
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        self.inner.search(query)
    }

    async fn suggest(&self, prefix: &str, limit: u32) -> Result<Vec<Suggestion>> {
        self.inner.suggest(prefix, limit)
    }

    async fn document(&self, id: ProductId) -> Result<Option<SearchDocument>> {
        let searcher = self.inner.reader.searcher();
        self.inner.by_id(&searcher, id)
    }

    async fn document_count(&self) -> Result<u64> {
        Ok(self.inner.reader.searcher().num_docs())
    }
}
