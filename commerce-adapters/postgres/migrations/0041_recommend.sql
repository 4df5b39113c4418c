-- commerce-postgres: the precomputed recommendation tables.

-- What recommendations know of each product; only active, in-stock ones are listed.
CREATE TABLE commerce.rec_products (
    product_id    uuid PRIMARY KEY,
    category_ids  uuid[] NOT NULL,
    terms         text[] NOT NULL,
    active        boolean NOT NULL,
    in_stock      boolean NOT NULL
);
CREATE INDEX rec_products_terms ON commerce.rec_products USING gin (terms);
CREATE INDEX rec_products_categories ON commerce.rec_products USING gin (category_ids);

-- Outbox events already recorded (each counts once).
CREATE TABLE commerce.rec_events (
    event_id     uuid PRIMARY KEY,
    recorded_at  timestamptz NOT NULL
);

-- Orders containing each product.
CREATE TABLE commerce.rec_orders (
    product_id  uuid PRIMARY KEY,
    orders      bigint NOT NULL
);

-- Orders containing both products (stored both ways round).
CREATE TABLE commerce.rec_pairs (
    product_id  uuid NOT NULL,
    other_id    uuid NOT NULL,
    together    bigint NOT NULL,
    PRIMARY KEY (product_id, other_id)
);
CREATE INDEX rec_pairs_top ON commerce.rec_pairs (product_id, together DESC, other_id);

-- log2 of the decayed units sold per category (nil uuid: shop-wide).
CREATE TABLE commerce.rec_popular (
    category_id  uuid NOT NULL,
    product_id   uuid NOT NULL,
    score        double precision NOT NULL,
    PRIMARY KEY (category_id, product_id)
);
CREATE INDEX rec_popular_top ON commerce.rec_popular (category_id, score DESC, product_id);

-- What each customer bought, and when last.
CREATE TABLE commerce.rec_purchases (
    customer_id  uuid NOT NULL,
    product_id   uuid NOT NULL,
    last_at      timestamptz NOT NULL,
    PRIMARY KEY (customer_id, product_id)
);
CREATE INDEX rec_purchases_recent ON commerce.rec_purchases (customer_id, last_at DESC, product_id);
