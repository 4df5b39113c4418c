-- commerce-postgres: carts.
--
-- A cart is one row: its lines are a JSON array of {sku, quantity} sorted by SKU.
-- Every change locks that row, applies the cart rules of `commerce-cart` to the
-- latest version and writes it back in the same transaction, so two devices adding at
-- once both count and limits hold under any concurrency. A cart expires `ttl` after
-- its last change (`updated_at`); `expires_at` only serves purging.
CREATE TABLE commerce.carts (
    cart_key    text PRIMARY KEY,
    lines       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL,
    expires_at  timestamptz
);
CREATE INDEX carts_expires ON commerce.carts (expires_at);
