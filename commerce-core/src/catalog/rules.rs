//! The rules a catalog record obeys, written once for every store: slugs, tags,
//! brand, images and variant options.

use std::collections::HashSet;

use crate::catalog::Product;
use crate::error::{Error, Result};

/// Longest name (title, brand, seller, option name or value), in characters.
pub const MAX_NAME: usize = 200;
/// Longest tag, in characters.
pub const MAX_TAG: usize = 64;
/// Most tags on a product.
pub const MAX_TAGS: usize = 50;
/// Most images on a product.
pub const MAX_IMAGES: usize = 50;
/// Longest image URL or path, in bytes.
pub const MAX_URL: usize = 2048;
/// Most options on a product (and so option values on a variant).
pub const MAX_OPTIONS: usize = 5;
/// Most values of one option.
pub const MAX_OPTION_VALUES: usize = 100;

/// A slug is lower-case ASCII letters, digits and '-'; `Validation` on `field`
/// otherwise.
pub fn check_slug(field: &'static str, slug: &str) -> Result<()> {
    if slug.is_empty()
        || slug.len() > MAX_NAME
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Error::validation(
            field,
            "must be 1 to 200 lower-case ASCII letters, digits and '-'",
        ));
    }
    Ok(())
}

/// A slug made from a display name: accents folded, lower-case ASCII letters and
/// digits, every other run of characters one '-' (empty when nothing is left).
pub fn slugify(name: &str) -> String {
    let folded = crate::search::text::fold(name);
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(MAX_NAME);
    out.trim_end_matches('-').to_owned()
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            format!("must be 1 to {max} characters, no control characters"),
        ));
    }
    Ok(())
}

/// Brand, tags and images: brand and tags non-empty and bounded, tags unique,
/// image URLs a relative path or an `https://` URL without white space.
pub(crate) fn check_descriptors(product: &Product) -> Result<()> {
    if product.title.chars().count() > MAX_NAME {
        return Err(Error::validation("title", "must be at most 200 characters"));
    }
    if let Some(brand) = &product.brand {
        check_text("brand", brand, MAX_NAME)?;
    }
    if product.tags.len() > MAX_TAGS {
        return Err(Error::validation("tags", "at most 50 tags"));
    }
    let mut seen = HashSet::new();
    for tag in &product.tags {
        check_text("tags", tag, MAX_TAG)?;
        if !seen.insert(tag.as_str()) {
            return Err(Error::validation("tags", format!("duplicate tag {tag:?}")));
        }
    }
    if product.images.len() > MAX_IMAGES {
        return Err(Error::validation("images", "at most 50 images"));
    }
    for image in &product.images {
        let url = image.url.as_str();
        let absolute = url.starts_with("https://") || url.starts_with("http://");
        let valid = !url.is_empty()
            && url.len() <= MAX_URL
            && !url.chars().any(|c| c.is_whitespace() || c.is_control())
            && (absolute || !url.contains("://"))
            && !url.split('/').any(|part| part == "..");
        if !valid {
            return Err(Error::validation(
                "images",
                "url must be a path under the CDN or an http(s) URL",
            ));
        }
        if image.alt.chars().count() > MAX_NAME || image.alt.chars().any(char::is_control) {
            return Err(Error::validation(
                "images",
                "alt text at most 200 characters",
            ));
        }
    }
    Ok(())
}

/// Options and option values: names unique, values unique per option; every
/// variant sets each option of the product exactly once to one of its values, and
/// no two variants share the same combination.
pub(crate) fn check_options(product: &Product) -> Result<()> {
    if product.options.len() > MAX_OPTIONS {
        return Err(Error::validation("options", "at most 5 options"));
    }
    let mut names = HashSet::new();
    for option in &product.options {
        check_text("options", &option.name, MAX_NAME)?;
        if !names.insert(option.name.as_str()) {
            return Err(Error::validation(
                "options",
                format!("duplicate option {:?}", option.name),
            ));
        }
        if option.values.is_empty() || option.values.len() > MAX_OPTION_VALUES {
            return Err(Error::validation("options", "1 to 100 values per option"));
        }
        let mut values = HashSet::new();
        for value in &option.values {
            check_text("options", value, MAX_NAME)?;
            if !values.insert(value.as_str()) {
                return Err(Error::validation(
                    "options",
                    format!("duplicate value {value:?} of {:?}", option.name),
                ));
            }
        }
    }
    let mut combinations = HashSet::new();
    for variant in &product.variants {
        if variant.options.len() != product.options.len() {
            return Err(Error::validation(
                "variants",
                format!("{} must set each option of the product once", variant.sku),
            ));
        }
        let mut combination = Vec::with_capacity(product.options.len());
        for option in &product.options {
            let mut set = variant.options.iter().filter(|o| o.name == option.name);
            let (Some(value), None) = (set.next(), set.next()) else {
                return Err(Error::validation(
                    "variants",
                    format!("{} must set option {:?} once", variant.sku, option.name),
                ));
            };
            if !option.values.contains(&value.value) {
                return Err(Error::validation(
                    "variants",
                    format!(
                        "{}: {:?} is not a value of {:?}",
                        variant.sku, value.value, option.name
                    ),
                ));
            }
            combination.push(value.value.as_str());
        }
        if !product.options.is_empty() && !combinations.insert(combination) {
            return Err(Error::validation(
                "variants",
                format!("{}: another variant has the same options", variant.sku),
            ));
        }
    }
    Ok(())
}
