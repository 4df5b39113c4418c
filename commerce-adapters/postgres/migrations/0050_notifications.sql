-- commerce-postgres: notification preferences and the delivery log (dedupe).

-- A customer's explicit choices, one row per (kind, channel); anything without a row
-- follows the domain's defaults.
CREATE TABLE commerce.notification_choices (
    customer_id  uuid NOT NULL,
    kind         text NOT NULL,
    channel      text NOT NULL,
    enabled      boolean NOT NULL,
    PRIMARY KEY (customer_id, kind, channel)
);

-- Where to reach a customer besides the order's email.
CREATE TABLE commerce.notification_contacts (
    customer_id  uuid PRIMARY KEY,
    phone        text,
    push_token   text
);

-- One row per message ever claimed: the primary key is what makes a second send of
-- one (event, channel, recipient) impossible.
CREATE TABLE commerce.notification_deliveries (
    key          text PRIMARY KEY,
    state        text NOT NULL CHECK (state IN ('claimed', 'sent')),
    claimed_at   timestamptz NOT NULL,
    sent_at      timestamptz,
    provider_id  text
);
CREATE INDEX notification_deliveries_claimed
    ON commerce.notification_deliveries (claimed_at) WHERE state = 'claimed';
