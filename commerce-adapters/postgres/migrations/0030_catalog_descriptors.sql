-- The catalog grows what a shop needs: brand, tags, images and variant options on
-- products, option values on variants, and sellers as records.

ALTER TABLE commerce.products
    ADD COLUMN brand    text,
    ADD COLUMN tags     text[] NOT NULL DEFAULT '{}',
    -- [{"url", "alt", "position"}] in stored order.
    ADD COLUMN images   jsonb NOT NULL DEFAULT '[]',
    -- [{"name", "values": [..]}] in display order.
    ADD COLUMN options  jsonb NOT NULL DEFAULT '[]';
CREATE INDEX products_tags ON commerce.products USING gin (tags);

ALTER TABLE commerce.variants
    -- [{"name", "value"}], one per option of the product.
    ADD COLUMN options  jsonb NOT NULL DEFAULT '[]';

CREATE TABLE commerce.sellers (
    id             uuid PRIMARY KEY,
    name           text NOT NULL,
    slug           text NOT NULL CONSTRAINT sellers_slug_key UNIQUE,
    contact_email  text NOT NULL
);
