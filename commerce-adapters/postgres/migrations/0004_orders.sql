-- commerce-postgres: orders, their lines, payment records and refunds.
--
-- `document` holds the whole order aggregate as `commerce-orders` serializes it
-- (reads use it: it round-trips exactly); the columns beside it and the tables
-- below are its relational projection, written in the same statement, for queries,
-- reports and constraints: the unique idempotency keys of checkouts, payments and
-- refunds are what make duplicate checkouts and refunds impossible.
CREATE TABLE commerce.orders (
    id                 uuid PRIMARY KEY,
    idempotency_key    text NOT NULL CONSTRAINT orders_idempotency_key_key UNIQUE,
    customer_id        uuid,
    number             text,
    email              text NOT NULL,
    currency           text NOT NULL,
    status             text NOT NULL,
    payment_status     text NOT NULL,
    fulfilment_status  text NOT NULL,
    grand_total        numeric NOT NULL,
    reservation_id     uuid NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    version            bigint NOT NULL,
    document           jsonb NOT NULL
);
CREATE INDEX orders_customer ON commerce.orders (customer_id, id DESC) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_pending ON commerce.orders (created_at, id) WHERE status = 'pending_payment';

CREATE TABLE commerce.order_lines (
    order_id    uuid NOT NULL REFERENCES commerce.orders (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    sku         text NOT NULL,
    name        text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_price  numeric NOT NULL,
    subtotal    numeric NOT NULL,
    discount    numeric NOT NULL,
    tax         numeric NOT NULL,
    tax_rate    numeric NOT NULL,
    total       numeric NOT NULL,
    refunded    numeric NOT NULL,
    PRIMARY KEY (order_id, position)
);
CREATE INDEX order_lines_sku ON commerce.order_lines (sku);

CREATE TABLE commerce.payments (
    order_id            uuid PRIMARY KEY REFERENCES commerce.orders (id) ON DELETE CASCADE,
    idempotency_key     text NOT NULL CONSTRAINT payments_idempotency_key_key UNIQUE,
    status              text NOT NULL,
    method              text NOT NULL,
    authorized          numeric NOT NULL,
    captured            numeric NOT NULL,
    refunded            numeric NOT NULL,
    provider_reference  text,
    updated_at          timestamptz NOT NULL
);

CREATE TABLE commerce.refunds (
    id                 uuid PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES commerce.orders (id) ON DELETE CASCADE,
    idempotency_key    text NOT NULL CONSTRAINT refunds_idempotency_key_key UNIQUE,
    amount             numeric NOT NULL,
    reason             text NOT NULL,
    gateway_reference  text NOT NULL,
    refunded_at        timestamptz NOT NULL
);
CREATE INDEX refunds_order ON commerce.refunds (order_id);
