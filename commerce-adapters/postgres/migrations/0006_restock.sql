-- commerce-postgres: restocking a committed reservation (an order cancelled before
-- it shipped) as a lifecycle transition, so sold units come back exactly once.

ALTER TABLE commerce.reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE commerce.reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('active', 'committed', 'released', 'expired', 'restocked'));

-- Takes the units of a committed reservation back into stock, all lines in one
-- transaction: owed backorders are filled first, the rest go on hand. The
-- conditional status update is the only way in, so a racing or retried call finds
-- the status already changed and changes no stock. Returns ('applied',
-- 'restocked'), ('unchanged', current status) or nothing when the id is unknown.
CREATE FUNCTION commerce.restock_reservation(p_id uuid, p_now timestamptz)
RETURNS TABLE (outcome text, status text) LANGUAGE plpgsql AS $$
DECLARE
    v_res record;
BEGIN
    UPDATE commerce.reservations r
       SET status = 'restocked'
     WHERE r.id = p_id AND r.status = 'committed'
    RETURNING r.location, r.skus, r.quantities INTO v_res;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unchanged'::text, r.status FROM commerce.reservations r WHERE r.id = p_id;
        RETURN;
    END IF;

    PERFORM 1 FROM commerce.stock_levels s
      WHERE s.location = v_res.location AND s.sku = ANY (v_res.skus)
      ORDER BY s.location, s.sku
      FOR UPDATE;
    UPDATE commerce.stock_levels s
       SET backordered = s.backordered - LEAST(l.quantity, s.backordered),
           on_hand = s.on_hand + l.quantity - LEAST(l.quantity, s.backordered)
      FROM unnest(v_res.skus, v_res.quantities) AS l (sku, quantity)
     WHERE s.location = v_res.location AND s.sku = l.sku;
    PERFORM commerce.emit_stock_changed(v_res.location, v_res.skus, p_now);
    INSERT INTO commerce.outbox (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    VALUES (commerce.uuid_v7(), 'inventory.reservation_finished', 'reservation', p_id::text, p_now,
            jsonb_build_object('type', 'reservation_finished', 'id', p_id, 'status', 'restocked'));

    RETURN QUERY SELECT 'applied'::text, 'restocked'::text;
END
$$;
