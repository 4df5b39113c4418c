//! Text rules every search backend shares: how text is cut into words, how words are
//! folded (case and accents), how many typos a word may carry, and highlighting.
//!
//! A backend indexes and queries with [`tokens`], so "Áo thun" is found by "ao thun"
//! and "Größe" by "grosse", while the stored text keeps its accents for display.

use std::ops::Range;

/// Longest word (in bytes, folded) that is indexed; longer runs are dropped.
pub const MAX_WORD_BYTES: usize = 64;

/// A word of a text: its folded form and where it sits in the original text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Word {
    /// Lower-case ASCII-folded form (`"Größe"` -> `"grosse"`).
    pub folded: String,
    /// Byte range of the word in the original text.
    pub span: Range<usize>,
    /// Position of the word among the words of the text (0, 1, 2...).
    pub position: usize,
}

/// Folds one character to lower-case ASCII: accents dropped, `ß` -> `ss`, `đ` -> `d`.
/// Characters with no Latin form are kept lower-cased.
pub fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    match deunicode::deunicode_char(c) {
        Some(s) if !s.is_empty() && s.chars().all(|x| x.is_ascii_alphanumeric()) => {
            out.extend(s.chars().map(|x| x.to_ascii_lowercase()));
        }
        _ => out.extend(c.to_lowercase()),
    }
}

/// Folds a whole string (no splitting): `"Áo Thun"` -> `"ao thun"`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// The words of `text`: runs of alphanumeric characters, folded. Words longer than
/// [`MAX_WORD_BYTES`] once folded are left out (positions still count them).
pub fn tokens(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut position = 0;
    let mut push = |from: usize, to: usize, words: &mut Vec<Word>| {
        let folded = fold(&text[from..to]);
        if !folded.is_empty() && folded.len() <= MAX_WORD_BYTES {
            words.push(Word {
                folded,
                span: from..to,
                position,
            });
        }
        position += 1;
    };
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            push(s, i, &mut words);
        }
    }
    if let Some(s) = start {
        push(s, text.len(), &mut words);
    }
    words
}

/// The folded words of `text`, without positions.
pub fn folded_words(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|w| w.folded).collect()
}

/// Typos a query word may carry, by its length in characters (as Meilisearch): none
/// under 5, one from 5, two from 9.
pub fn typo_budget(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Edit distance where swapping two neighbouring letters costs one (optimal string
/// alignment), the distance tantivy's fuzzy queries use.
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Whether the indexed word `candidate` matches the query word `word` with at most
/// `typos` edits; with `prefix`, `word` may also match the start of `candidate`.
pub fn word_matches(word: &str, candidate: &str, typos: u8, prefix: bool) -> bool {
    if candidate == word || (prefix && candidate.starts_with(word)) {
        return true;
    }
    if typos == 0 {
        return false;
    }
    let typos = usize::from(typos);
    let n = word.chars().count();
    let m = candidate.chars().count();
    // The distance is at least the difference in length: most words of a text are
    // ruled out without computing it.
    if m.abs_diff(n) <= typos && edit_distance(word, candidate) <= typos {
        return true;
    }
    if prefix && m + typos >= n {
        // Some prefix of the candidate within the budget: try lengths near the word's.
        let chars: Vec<(usize, char)> = candidate.char_indices().collect();
        for len in n.saturating_sub(typos)..=n + typos {
            if len == 0 || len > chars.len() {
                continue;
            }
            let end = chars.get(len).map_or(candidate.len(), |(i, _)| *i);
            if edit_distance(word, &candidate[..end]) <= typos {
                return true;
            }
        }
    }
    false
}

/// A text with the byte ranges of the words that matched, for display.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Highlight {
    /// The text (the original, or a window of it for long texts).
    pub text: String,
    /// Byte ranges of `text` to emphasize, in order, not overlapping.
    pub ranges: Vec<Range<usize>>,
}

impl Highlight {
    /// The text with each range wrapped in `open` and `close` (e.g. `<em>`, `</em>`).
    /// The caller escapes the text for its output format first if it needs to.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 16);
        let mut at = 0;
        for r in &self.ranges {
            if r.start < at || r.end > self.text.len() {
                continue;
            }
            out.push_str(self.text.get(at..r.start).unwrap_or_default());
            out.push_str(open);
            out.push_str(self.text.get(r.clone()).unwrap_or_default());
            out.push_str(close);
            at = r.end;
        }
        out.push_str(self.text.get(at..).unwrap_or_default());
        out
    }
}

/// A query word as backends match it: folded, its typo budget, and whether it may
/// match as a prefix (the last word, as the shopper types).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryWord {
    /// Folded form.
    pub folded: String,
    /// Typos allowed.
    pub typos: u8,
    /// Whether it may match the start of a word.
    pub prefix: bool,
}

/// Highlights the words of `text` matched by `words`; with `window`, a long text is cut
/// to about `window` bytes around the first match (at word boundaries).
pub fn highlight(text: &str, words: &[QueryWord], window: Option<usize>) -> Highlight {
    let mut ranges = Vec::new();
    for w in tokens(text) {
        if words
            .iter()
            .any(|q| word_matches(&q.folded, &w.folded, q.typos, q.prefix))
        {
            ranges.push(w.span);
        }
    }
    let Some(window) = window.filter(|&n| text.len() > n) else {
        return Highlight {
            text: text.to_owned(),
            ranges,
        };
    };
    let first = ranges.first().map_or(0, |r| r.start);
    let mut start = first.saturating_sub(window / 4);
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    // Start at a word boundary.
    if start > 0
        && let Some(space) = text[start..first].find(char::is_whitespace)
    {
        start += space + 1;
    }
    let mut end = (start + window).min(text.len());
    while end < text.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    if end < text.len()
        && let Some(space) = text[start..end].rfind(char::is_whitespace)
        && space > 0
    {
        end = start + space;
    }
    Highlight {
        text: text[start..end].to_owned(),
        ranges: ranges
            .into_iter()
            .filter(|r| r.start >= start && r.end <= end)
            .map(|r| r.start - start..r.end - start)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_folding_drops_accents_and_case() {
        assert_eq!(folded_words("Áo thun Nữ"), vec!["ao", "thun", "nu"]);
        assert_eq!(folded_words("Größe"), vec!["grosse"]);
        assert_eq!(folded_words("Đồng hồ"), vec!["dong", "ho"]);
        assert_eq!(folded_words("t-shirt, 2XL!"), vec!["t", "shirt", "2xl"]);
    }

    #[test]
    fn search_typo_budget_follows_word_length() {
        assert_eq!(typo_budget("shoe"), 0);
        assert_eq!(typo_budget("shoes"), 1);
        assert_eq!(typo_budget("backpacks"), 2);
        assert!(word_matches("shoez", "shoes", 1, false));
        assert!(!word_matches("shoz", "shoe", 0, false));
        assert!(!word_matches("bak", "backpack", 0, false));
        assert!(word_matches("back", "backpack", 0, true));
        assert!(word_matches("bakcp", "backpack", 1, true));
    }

    #[test]
    fn search_highlight_marks_matched_words_in_the_original_text() {
        let words = [QueryWord {
            folded: "ao".into(),
            typos: 0,
            prefix: false,
        }];
        let h = highlight("Áo thun", &words, None);
        assert_eq!(h.marked("<em>", "</em>"), "<em>Áo</em> thun");
    }
}
