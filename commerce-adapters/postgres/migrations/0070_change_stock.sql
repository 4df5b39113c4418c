-- commerce-postgres: one function for "change stock and write its events", used by
-- every single-reservation transition that moves stock: commit and release
-- (`finish_reservation`, and through it `commit_for_order`), expiry (`expire_due`)
-- and restock (`restock_reservation`). Each of those keeps only its own conditional
-- status update (the one way into a transition) and then calls `change_stock`.
-- (The batched confirm step, `confirm_orders`, commits many orders' reservations
-- set-based and writes each order's `stock_changed` events at the level right after
-- that order; it keeps its own statement.)

-- Applies the stock change of the reservations `p_ids`, whose status the caller has
-- just set to `p_target`, and writes its events, in one statement after the locks:
--
-- - 'committed': reserved units leave `reserved`; sold units leave the shelf as far
--   as it holds them, the rest are owed (`backordered`);
-- - 'released', 'expired': reserved units go back to available;
-- - 'restocked' (of a committed reservation): owed backorders are filled first, the
--   rest go on hand.
--
-- Stock rows are locked in (location, sku) order, the order every writer uses.
-- Quantities of several reservations on one row are summed (each case above is
-- additive). Events: one `inventory.stock_changed` per stock row in (location, sku)
-- order with the level after the change, then one `inventory.reservation_finished`
-- per reservation in the order of `p_ids`.
CREATE FUNCTION commerce.change_stock(p_ids uuid[], p_target text, p_now timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM commerce.stock_levels s
      JOIN (SELECT DISTINCT r.location, l.sku
              FROM commerce.reservations r, unnest(r.skus) AS l (sku)
             WHERE r.id = ANY (p_ids)) k ON k.location = s.location AND k.sku = s.sku
     ORDER BY s.location, s.sku
     FOR UPDATE OF s;

    WITH t AS (
        SELECT r.location, l.sku, sum(l.quantity)::bigint AS quantity
          FROM commerce.reservations r, unnest(r.skus, r.quantities) AS l (sku, quantity)
         WHERE r.id = ANY (p_ids)
         GROUP BY r.location, l.sku
    ), changed AS (
        UPDATE commerce.stock_levels s
           SET reserved = CASE WHEN p_target = 'restocked' THEN s.reserved
                               ELSE s.reserved - t.quantity END,
               on_hand = CASE p_target
                   WHEN 'committed' THEN s.on_hand - LEAST(t.quantity, s.on_hand)
                   WHEN 'restocked' THEN s.on_hand + t.quantity - LEAST(t.quantity, s.backordered)
                   ELSE s.on_hand END,
               backordered = CASE p_target
                   WHEN 'committed' THEN s.backordered + t.quantity - LEAST(t.quantity, s.on_hand)
                   WHEN 'restocked' THEN s.backordered - LEAST(t.quantity, s.backordered)
                   ELSE s.backordered END
          FROM t
         WHERE s.location = t.location AND s.sku = t.sku
        RETURNING s.location, s.sku, s.on_hand, s.reserved, s.backordered
    )
    INSERT INTO commerce.outbox
        (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    SELECT commerce.uuid_v7(), e.topic, e.kind, e.aggregate, p_now, e.payload
      FROM (SELECT 1 AS k, c.location AS location, c.sku AS sku, 0::bigint AS n,
                   'inventory.stock_changed' AS topic, 'sku' AS kind, c.sku AS aggregate,
                   jsonb_build_object('type', 'stock_changed', 'sku', c.sku,
                                      'location', c.location, 'on_hand', c.on_hand,
                                      'reserved', c.reserved,
                                      'backordered', c.backordered) AS payload
              FROM changed c
            UNION ALL
            SELECT 2, NULL, NULL, u.n, 'inventory.reservation_finished', 'reservation',
                   u.id::text,
                   jsonb_build_object('type', 'reservation_finished', 'id', u.id,
                                      'status', p_target)
              FROM unnest(p_ids) WITH ORDINALITY AS u (id, n)) e
     ORDER BY e.k, e.location, e.sku, e.n;
END
$$;

-- Ends one active reservation in `p_target` ('committed', 'released' or 'expired'):
-- the conditional status update is the only way in (a racing second call finds the
-- status already changed), then `change_stock`. Returns ('applied', p_target),
-- ('unchanged', current status) or nothing when the id is unknown.
CREATE OR REPLACE FUNCTION commerce.finish_reservation(p_id uuid, p_target text, p_now timestamptz)
RETURNS TABLE (outcome text, status text) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE commerce.reservations r
       SET status = p_target, finished_at = p_now
     WHERE r.id = p_id AND r.status = 'active';
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unchanged'::text, r.status FROM commerce.reservations r WHERE r.id = p_id;
        RETURN;
    END IF;
    PERFORM commerce.change_stock(ARRAY[p_id], p_target, p_now);
    outcome := 'applied';
    status := p_target;
    RETURN NEXT;
END
$$;

-- Takes the units of a committed reservation back into stock (an order cancelled
-- before it shipped): the conditional status update, then `change_stock`. Returns
-- ('applied', 'restocked'), ('unchanged', current status) or nothing when the id is
-- unknown.
CREATE OR REPLACE FUNCTION commerce.restock_reservation(p_id uuid, p_now timestamptz)
RETURNS TABLE (outcome text, status text) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE commerce.reservations r
       SET status = 'restocked'
     WHERE r.id = p_id AND r.status = 'committed';
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unchanged'::text, r.status FROM commerce.reservations r WHERE r.id = p_id;
        RETURN;
    END IF;
    PERFORM commerce.change_stock(ARRAY[p_id], 'restocked', p_now);
    outcome := 'applied';
    status := 'restocked';
    RETURN NEXT;
END
$$;

-- Expires up to `p_limit` due active reservations. Rows another caller holds are
-- skipped (FOR UPDATE SKIP LOCKED), so several sweepers never expire one twice; then
-- `change_stock` for all of them at once.
CREATE OR REPLACE FUNCTION commerce.expire_due(p_now timestamptz, p_limit integer)
RETURNS SETOF uuid LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
BEGIN
    SELECT array_agg(d.id ORDER BY d.expires_at, d.id) INTO v_ids
      FROM (SELECT r.id, r.expires_at FROM commerce.reservations r
             WHERE r.status = 'active' AND r.expires_at <= p_now
             ORDER BY r.expires_at, r.id
             LIMIT p_limit
             FOR UPDATE SKIP LOCKED) d;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    UPDATE commerce.reservations r SET status = 'expired', finished_at = p_now
     WHERE r.id = ANY (v_ids);
    PERFORM commerce.change_stock(v_ids, 'expired', p_now);
    RETURN QUERY SELECT unnest(v_ids);
END
$$;
