-- commerce-postgres: promotion usage limits (commerce_orders::redemption).
--
-- `promotion_redemptions` holds one row per limited promotion code an order
-- redeemed, written by `PgCheckoutStore::place_redeeming` in the transaction that
-- places the order. A redemption counts while its order holds it: every order but
-- one cancelled before any capture (status 'cancelled' with a payment status other
-- than captured / partially_refunded / refunded), so cancelling gives it back
-- without a write here.
--
-- `promotion_code_locks` has one row per limited code ever redeemed: the place
-- step locks its codes' rows (FOR UPDATE, in code order) after inserting the order
-- and before counting, so concurrent checkouts of one code count one after the
-- other and never pass the limit.
CREATE TABLE commerce.promotion_code_locks (
    code text PRIMARY KEY
);

CREATE TABLE commerce.promotion_redemptions (
    code      text NOT NULL,
    order_id  uuid NOT NULL REFERENCES commerce.orders (id) ON DELETE CASCADE,
    buyer     text NOT NULL,
    PRIMARY KEY (code, order_id)
);
CREATE INDEX promotion_redemptions_buyer ON commerce.promotion_redemptions (code, buyer);
