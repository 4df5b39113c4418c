//! The tantivy schema of a product document and how a [`SearchDocument`] becomes one.

use std::collections::BTreeMap;

use commerce_core::search::{SearchDocument, category_path};
use commerce_core::{Category, CategoryId};
use tantivy::TantivyDocument;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};

use crate::tokenizer::FOLDING;

/// The fields of the schema.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// Product id (raw, for lookups and deletes).
    pub id: Field,
    /// SKUs (raw, to find the product of a stock or price event).
    pub sku: Field,
    /// Title, folded words with positions.
    pub title: Field,
    /// Description, tags, variant names, category and seller names.
    pub body: Field,
    /// Keys of the product's categories and all their ancestors.
    pub category: Field,
    /// The key of the product's category when it has exactly one (0 otherwise):
    /// the facet counter reads this one value and adds the ancestors per category,
    /// not per document.
    pub category_single: Field,
    /// The 64-bit key of the seller id (facet counts: one value read per document).
    pub seller_key: Field,
    /// Rating in hundredths shifted left by one, or 1 when in stock (facet counts:
    /// both in one value read).
    pub facet_bits: Field,
    /// Seller id, high 64 bits.
    pub seller_hi: Field,
    /// Seller id, low 64 bits.
    pub seller_lo: Field,
    /// ISO currency code (raw).
    pub currency: Field,
    /// Lowest price in minor units.
    pub price: Field,
    /// Average rating in hundredths.
    pub rating: Field,
    /// Number of ratings.
    pub rating_count: Field,
    /// 1 when a unit is available.
    pub in_stock: Field,
    /// Units sold.
    pub units_sold: Field,
    /// Popularity.
    pub popularity: Field,
    /// Creation time, Unix seconds.
    pub created: Field,
    /// The whole [`SearchDocument`] as JSON (stored only).
    pub doc: Field,
}

/// Builds the schema.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FOLDING)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let filter = NumericOptions::default().set_indexed().set_fast();
    let fast = NumericOptions::default().set_fast();
    let fields = Fields {
        id: b.add_text_field("id", STRING),
        sku: b.add_text_field("sku", STRING),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text),
        category: b.add_u64_field("category", filter.clone()),
        category_single: b.add_u64_field("category_single", fast.clone()),
        seller_key: b.add_u64_field("seller_key", fast.clone()),
        facet_bits: b.add_u64_field("facet_bits", fast.clone()),
        seller_hi: b.add_u64_field("seller_hi", filter.clone()),
        seller_lo: b.add_u64_field("seller_lo", filter.clone()),
        currency: b.add_text_field("currency", STRING),
        price: b.add_i64_field("price", filter.clone()),
        rating: b.add_u64_field("rating", filter.clone()),
        rating_count: b.add_u64_field("rating_count", fast.clone()),
        in_stock: b.add_u64_field("in_stock", filter.clone()),
        units_sold: b.add_u64_field("units_sold", fast.clone()),
        popularity: b.add_u64_field("popularity", fast.clone()),
        created: b.add_i64_field("created", fast),
        doc: b.add_text_field("doc", STORED),
    };
    (b.build(), fields)
}

/// The 64-bit key of a category id in the `category` field.
pub(crate) fn category_key(id: CategoryId) -> u64 {
    let (hi, lo) = id.as_uuid().as_u64_pair();
    hi ^ lo.rotate_left(29)
}

/// The 64-bit key of a seller id in the `seller_key` field.
pub(crate) fn seller_key(hi: u64, lo: u64) -> u64 {
    hi ^ lo.rotate_left(29)
}

/// Average rating in hundredths (the rating is stored rounded to hundredths).
pub(crate) fn rating_centi(avg: rust_decimal::Decimal) -> u64 {
    use rust_decimal::prelude::ToPrimitive;
    (avg * rust_decimal::Decimal::from(100))
        .trunc()
        .to_u64()
        .unwrap_or(0)
}

/// The tantivy document of `doc`, with categories expanded to their ancestors.
pub(crate) fn to_tantivy(
    f: &Fields,
    doc: &SearchDocument,
    tree: &BTreeMap<CategoryId, Category>,
) -> Result<TantivyDocument, serde_json::Error> {
    let mut t = TantivyDocument::new();
    t.add_text(f.id, doc.product_id.to_string());
    for v in &doc.variants {
        t.add_text(f.sku, v.sku.as_str());
    }
    t.add_text(f.title, &doc.title);
    let mut body = doc.body_text();
    let mut keys: Vec<u64> = Vec::new();
    for c in &doc.category_ids {
        for id in category_path(tree, *c) {
            let key = category_key(id);
            if !keys.contains(&key) {
                keys.push(key);
                if let Some(cat) = tree.get(&id) {
                    body.push('\n');
                    body.push_str(&cat.name);
                }
            }
        }
    }
    t.add_text(f.body, body);
    for key in keys {
        t.add_u64(f.category, key);
    }
    let single = match doc.category_ids.as_slice() {
        [one] => category_key(*one),
        _ => 0,
    };
    t.add_u64(f.category_single, single);
    let (hi, lo) = doc.seller_id.as_uuid().as_u64_pair();
    t.add_u64(f.seller_hi, hi);
    t.add_u64(f.seller_lo, lo);
    t.add_u64(f.seller_key, seller_key(hi, lo));
    let rating = rating_centi(doc.signals.rating_average);
    t.add_u64(
        f.facet_bits,
        rating << 1 | u64::from(doc.signals.in_stock()),
    );
    t.add_text(f.currency, doc.currency.code());
    t.add_i64(f.price, doc.price_minor());
    t.add_u64(f.rating, rating);
    t.add_u64(f.rating_count, u64::from(doc.signals.rating_count));
    t.add_u64(f.in_stock, u64::from(doc.signals.in_stock()));
    t.add_u64(f.units_sold, doc.signals.units_sold);
    t.add_u64(f.popularity, doc.signals.popularity());
    t.add_i64(f.created, doc.created_at.timestamp());
    t.add_text(f.doc, serde_json::to_string(doc)?);
    Ok(t)
}
