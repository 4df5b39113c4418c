//! The tantivy tokenizer that cuts and folds text with `commerce_core`'s search text
//! rules, so the index, the queries and the highlighter agree on every word.

use commerce_core::search::text;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Name the tokenizer is registered under.
pub const FOLDING: &str = "commerce_fold";

/// Words of [`text::tokens`]: alphanumeric runs, lower-cased, accents folded.
#[derive(Clone, Debug, Default)]
pub struct FoldingTokenizer;

/// The tokens of one text.
#[derive(Debug)]
pub struct FoldingStream {
    tokens: Vec<Token>,
    at: usize,
    empty: Token,
}

impl Tokenizer for FoldingTokenizer {
    type TokenStream<'a> = FoldingStream;

    fn token_stream<'a>(&'a mut self, input: &'a str) -> FoldingStream {
        let tokens = text::tokens(input)
            .into_iter()
            .map(|w| Token {
                offset_from: w.span.start,
                offset_to: w.span.end,
                position: w.position,
                text: w.folded,
                position_length: 1,
            })
            .collect();
        FoldingStream {
            tokens,
            at: 0,
            empty: Token::default(),
        }
    }
}

impl TokenStream for FoldingStream {
    fn advance(&mut self) -> bool {
        if self.at < self.tokens.len() {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.at
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .unwrap_or(&self.empty)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.at.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.empty,
        }
    }
}
