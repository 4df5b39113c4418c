-- commerce-postgres: the admin analytics rollups (commerce-analytics'
-- AnalyticsStore). Written only by the analytics outbox consumer; read by date
-- range, never by scanning orders.

-- Events whose effect was applied (a redelivered event counts once).
CREATE TABLE commerce.analytics_applied (
    event_id   uuid PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Counters per (metric, UTC day, key, currency). The primary key serves the range
-- reads of one metric.
CREATE TABLE commerce.analytics_counters (
    metric   text    NOT NULL,
    day      date    NOT NULL,
    key      text    NOT NULL,
    currency text    NOT NULL,
    label    text    NOT NULL,
    count    bigint  NOT NULL,
    units    bigint  NOT NULL,
    amount   numeric NOT NULL,
    PRIMARY KEY (metric, day, key, currency)
);

-- What the consumer keeps of an order between its placement and confirmation.
CREATE TABLE commerce.analytics_order_facts (
    order_id uuid  PRIMARY KEY,
    fact     jsonb NOT NULL
);

-- The latest stock level of each SKU per location (the low-stock list).
CREATE TABLE commerce.analytics_stock (
    sku       text   NOT NULL,
    location  text   NOT NULL,
    on_hand   bigint NOT NULL,
    reserved  bigint NOT NULL,
    available bigint NOT NULL,
    PRIMARY KEY (sku, location)
);
CREATE INDEX analytics_stock_low ON commerce.analytics_stock (available, sku, location);
