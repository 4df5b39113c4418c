-- The lease a consumer group's claim holds, so that its holder (and only its
-- holder) can give it back early (Outbox::release) after a failed pass.
ALTER TABLE commerce.outbox_consumers ADD COLUMN lease_id uuid;
