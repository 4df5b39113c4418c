//! Product signals from the catalog: the terms similar products share.

use std::collections::HashSet;

use commerce_core::Product;

use crate::model::ProductSignals;

/// Most terms kept per product.
pub const MAX_TERMS: usize = 32;

const STOPWORDS: &[&str] = &[
    "and", "the", "for", "with", "you", "your", "our", "are", "this", "that", "from", "into",
    "its", "was", "has", "have", "not", "but", "all", "any", "can", "will", "per", "set",
];

/// Distinct lower-case words of `text` of three or more characters, stopwords left
/// out, in order of first appearance, at most [`MAX_TERMS`].
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()))
        .filter(|w| seen.insert(w.clone()))
        .take(MAX_TERMS)
        .collect()
}

/// The signals of `product`, given whether any of its variants has stock.
pub fn product_signals(product: &Product, in_stock: bool) -> ProductSignals {
    ProductSignals {
        product_id: product.id,
        category_ids: product.category_ids.clone(),
        terms: terms(&format!("{} {}", product.title, product.description)),
        active: product.status == commerce_core::ProductStatus::Active,
        in_stock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommend_terms_are_distinct_lowercase_words() {
        assert_eq!(
            terms("The Blue mug, blue MUG and a tea-pot!"),
            vec!["blue", "mug", "tea", "pot"]
        );
    }
}
