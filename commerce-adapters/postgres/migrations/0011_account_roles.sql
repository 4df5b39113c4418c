-- commerce-postgres: the role of an account, kept with its credentials.
--
-- `customer` (the default: every existing account stays a customer), `admin`, or
-- `seller` with the seller the staff acts for. A session copies the role when it is
-- opened (commerce_core::role).
ALTER TABLE commerce.credentials
    ADD COLUMN role text NOT NULL DEFAULT 'customer'
        CHECK (role IN ('customer', 'seller', 'admin')),
    ADD COLUMN seller_id uuid,
    ADD CONSTRAINT credentials_seller_role CHECK ((role = 'seller') = (seller_id IS NOT NULL));
