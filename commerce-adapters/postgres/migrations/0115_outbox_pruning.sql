-- Outbox pruning (Outbox::prune): when each consumer group last claimed, so that a
-- group not seen for the retention (a killed instance's) can be dropped instead of
-- pinning the log forever. Existing groups count as seen now.
ALTER TABLE commerce.outbox_consumers ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now();

-- Reservation pruning (InventoryStore::prune_finished): finished reservations,
-- oldest first.
CREATE INDEX reservations_finished ON commerce.reservations (finished_at) WHERE status <> 'active';
