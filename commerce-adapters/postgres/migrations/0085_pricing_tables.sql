-- commerce-postgres: the shop's pricing tables (commerce-orders'
-- PricingTableStore): tax, shipping methods and promotions as one versioned JSON
-- document, changed by admins with a compare-and-set on `version`.

CREATE TABLE commerce.pricing_tables (
    -- One row per shop.
    id         smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version    bigint      NOT NULL CHECK (version > 0),
    -- `PricingTables` as JSON (its `version` field is the column's).
    document   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);
