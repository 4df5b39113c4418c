//! Input rules every entry point applies: rating range (by [`crate::Rating`]), title
//! and body lengths, reasons.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::ReviewDraft;

/// Length limits of review text, in characters (Unicode scalar values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReviewLimits {
    /// Longest title.
    pub title_max: usize,
    /// Longest body.
    pub body_max: usize,
    /// Longest moderation or report reason.
    pub reason_max: usize,
}

impl Default for ReviewLimits {
    /// Title up to 120 characters, body up to 5000, reasons up to 500.
    fn default() -> Self {
        ReviewLimits {
            title_max: 120,
            body_max: 5000,
            reason_max: 500,
        }
    }
}

fn has_control(text: &str, allow_newlines: bool) -> bool {
    text.chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

impl ReviewLimits {
    /// The draft with title and body trimmed, or `Validation` naming the field: the
    /// title is required and at most `title_max` characters on one line, the body at
    /// most `body_max` characters.
    pub fn check_draft(&self, draft: ReviewDraft) -> Result<ReviewDraft> {
        let title = draft.title.trim().to_owned();
        let body = draft.body.trim().to_owned();
        if title.is_empty() {
            return Err(Error::validation("title", "must not be empty"));
        }
        if title.chars().count() > self.title_max {
            return Err(Error::validation(
                "title",
                format!("at most {} characters", self.title_max),
            ));
        }
        if has_control(&title, false) {
            return Err(Error::validation("title", "must be one line of text"));
        }
        if body.chars().count() > self.body_max {
            return Err(Error::validation(
                "body",
                format!("at most {} characters", self.body_max),
            ));
        }
        if has_control(&body, true) {
            return Err(Error::validation("body", "must be text"));
        }
        Ok(ReviewDraft {
            title,
            body,
            ..draft
        })
    }

    /// The reason trimmed, or `Validation`: required, at most `reason_max` characters.
    pub fn check_reason(&self, reason: &str) -> Result<String> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::validation("reason", "must not be empty"));
        }
        if reason.chars().count() > self.reason_max || has_control(reason, true) {
            return Err(Error::validation(
                "reason",
                format!("at most {} characters of text", self.reason_max),
            ));
        }
        Ok(reason.to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Rating;

    fn draft(title: &str, body: &str) -> ReviewDraft {
        ReviewDraft {
            rating: Rating::new(4).unwrap(),
            title: title.into(),
            body: body.into(),
            sku: None,
        }
    }

    #[test]
    fn review_limits_trim_and_bound_title_and_body() {
        let limits = ReviewLimits::default();
        let ok = limits
            .check_draft(draft("  Good mug ", " Holds tea.\n"))
            .unwrap();
        assert_eq!(
            (ok.title.as_str(), ok.body.as_str()),
            ("Good mug", "Holds tea.")
        );
        assert!(limits.check_draft(draft("   ", "")).is_err());
        assert!(limits.check_draft(draft(&"é".repeat(120), "")).is_ok());
        assert!(limits.check_draft(draft(&"é".repeat(121), "")).is_err());
        assert!(limits.check_draft(draft("a\nb", "")).is_err());
        assert!(limits.check_draft(draft("t", &"x".repeat(5001))).is_err());
        assert!(Rating::new(0).is_err() && Rating::new(6).is_err());
        assert!(limits.check_reason(" ").is_err());
    }
}
