-- commerce-postgres: reviews, their helpful votes and abuse reports, and the rating
-- aggregate of each product (published reviews by rating), kept in the transaction
-- of every review change.

CREATE TABLE commerce.reviews (
    id             uuid PRIMARY KEY,
    product_id     uuid NOT NULL,
    customer_id    uuid NOT NULL,
    sku            text,
    rating         smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title          text NOT NULL,
    body           text NOT NULL,
    verified       boolean NOT NULL,
    status         text NOT NULL CHECK (status IN ('published', 'hidden')),
    moderation     jsonb,
    helpful_count  integer NOT NULL DEFAULT 0 CHECK (helpful_count >= 0),
    report_count   integer NOT NULL DEFAULT 0 CHECK (report_count >= 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        bigint NOT NULL,
    -- One review per customer per product, whatever races.
    CONSTRAINT reviews_author_key UNIQUE (product_id, customer_id)
);
-- One index per product list order (published reviews only) and one for "my reviews".
CREATE INDEX reviews_product_newest ON commerce.reviews (product_id, id DESC)
    WHERE status = 'published';
CREATE INDEX reviews_product_helpful ON commerce.reviews (product_id, helpful_count DESC, id DESC)
    WHERE status = 'published';
CREATE INDEX reviews_product_rating ON commerce.reviews (product_id, rating, id DESC)
    WHERE status = 'published';
CREATE INDEX reviews_customer ON commerce.reviews (customer_id, id DESC);

CREATE TABLE commerce.review_votes (
    review_id    uuid NOT NULL REFERENCES commerce.reviews (id) ON DELETE CASCADE,
    customer_id  uuid NOT NULL,
    PRIMARY KEY (review_id, customer_id)
);

CREATE TABLE commerce.review_reports (
    review_id    uuid NOT NULL REFERENCES commerce.reviews (id) ON DELETE CASCADE,
    customer_id  uuid NOT NULL,
    reason       text NOT NULL,
    reported_at  timestamptz NOT NULL,
    PRIMARY KEY (review_id, customer_id)
);

-- r1..r5: published reviews of the product with 1..5 stars.
CREATE TABLE commerce.review_aggregates (
    product_id  uuid PRIMARY KEY,
    r1 integer NOT NULL DEFAULT 0 CHECK (r1 >= 0),
    r2 integer NOT NULL DEFAULT 0 CHECK (r2 >= 0),
    r3 integer NOT NULL DEFAULT 0 CHECK (r3 >= 0),
    r4 integer NOT NULL DEFAULT 0 CHECK (r4 >= 0),
    r5 integer NOT NULL DEFAULT 0 CHECK (r5 >= 0)
);
