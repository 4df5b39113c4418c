-- commerce-postgres: each customer's precomputed "for you" list (issue 10), written by
-- the purchase consumer after recording their order, read in one row.
CREATE TABLE commerce.rec_for_you (
    customer_id  uuid PRIMARY KEY,
    product_ids  uuid[] NOT NULL,
    scores       float8[] NOT NULL,
    computed_at  timestamptz NOT NULL
);
