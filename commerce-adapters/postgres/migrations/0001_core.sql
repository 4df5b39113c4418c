-- commerce-postgres: shared helpers, the outbox, the catalog and customers.
-- Every object lives in the schema `commerce` (created by the migrator), so the
-- crate can share a database with the host application.

-- A UUID version 7 (48-bit Unix milliseconds, then random bits), the same layout
-- as `Uuid::now_v7()`: event ids made in SQL sort by time like those made in Rust.
CREATE FUNCTION commerce.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

-- The transactional outbox. Writers append rows in the transaction of the change they
-- describe; `id` orders rows within and across writers' inserts. `seq` is the position
-- consumers see: it is stamped by the claim path (one sequencer at a time, under an
-- advisory lock) on rows that are already committed, so a position once handed out is
-- never followed by a row with a smaller one (no gaps from transactions that commit
-- late, no "skipped" events).
CREATE TABLE commerce.outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq             bigint UNIQUE,
    event_id        uuid NOT NULL UNIQUE,
    topic           text NOT NULL,
    aggregate_type  text NOT NULL,
    aggregate_id    text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    payload         jsonb NOT NULL
);
CREATE INDEX outbox_unsequenced ON commerce.outbox (id) WHERE seq IS NULL;

-- One row per consumer group: its acknowledged position and its current lease.
CREATE TABLE commerce.outbox_consumers (
    consumer        text PRIMARY KEY,
    acked_seq       bigint NOT NULL DEFAULT 0,
    claimed_upto    bigint,
    lease_until     timestamptz
);

CREATE TABLE commerce.categories (
    id          uuid PRIMARY KEY,
    parent_id   uuid REFERENCES commerce.categories (id),
    name        text NOT NULL,
    slug        text NOT NULL CONSTRAINT categories_slug_key UNIQUE
);

CREATE TABLE commerce.products (
    id            uuid PRIMARY KEY,
    seller_id     uuid NOT NULL,
    title         text NOT NULL,
    slug          text NOT NULL CONSTRAINT products_slug_key UNIQUE,
    description   text NOT NULL,
    category_ids  uuid[] NOT NULL,
    status        text NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX products_seller ON commerce.products (seller_id, id);
CREATE INDEX products_categories ON commerce.products USING gin (category_ids);

-- Variants are replaced with their product; `position` keeps the product's order.
CREATE TABLE commerce.variants (
    sku               text PRIMARY KEY,
    product_id        uuid NOT NULL REFERENCES commerce.products (id) ON DELETE CASCADE,
    position          integer NOT NULL,
    name              text NOT NULL,
    price             numeric NOT NULL CHECK (price >= 0),
    currency          text NOT NULL,
    compare_at_price  numeric,
    weight_grams      bigint NOT NULL,
    tax_class         text NOT NULL
);
CREATE INDEX variants_product ON commerce.variants (product_id, position);

CREATE TABLE commerce.customers (
    id          uuid PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX customers_email_key ON commerce.customers (lower(email));

CREATE TABLE commerce.customer_addresses (
    id                   uuid PRIMARY KEY,
    customer_id          uuid NOT NULL REFERENCES commerce.customers (id) ON DELETE CASCADE,
    address              jsonb NOT NULL,
    is_default_shipping  boolean NOT NULL,
    is_default_billing   boolean NOT NULL
);
CREATE INDEX customer_addresses_customer ON commerce.customer_addresses (customer_id, id);
CREATE UNIQUE INDEX customer_addresses_one_default_shipping
    ON commerce.customer_addresses (customer_id) WHERE is_default_shipping;
CREATE UNIQUE INDEX customer_addresses_one_default_billing
    ON commerce.customer_addresses (customer_id) WHERE is_default_billing;
