-- commerce-postgres: the moderation queue (reviews reported at least once or
-- hidden, every product, newest first) reads this partial index instead of
-- scanning every review.
CREATE INDEX reviews_moderation_queue ON commerce.reviews (id DESC)
    WHERE report_count > 0 OR status = 'hidden';
