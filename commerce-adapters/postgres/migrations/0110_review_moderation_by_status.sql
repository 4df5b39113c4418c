-- commerce-postgres: a moderation-queue page filtered by status (published and
-- reported, or hidden) walks this partial index in id order within the status, so
-- the page is full whenever enough reviews of the status exist, without scanning
-- the other status.
CREATE INDEX reviews_moderation_by_status ON commerce.reviews (status, id DESC)
    WHERE report_count > 0 OR status = 'hidden';
