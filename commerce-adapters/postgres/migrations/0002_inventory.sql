-- commerce-postgres: stock levels and reservations.
--
-- Every change of stock is one function call (one round trip, one implicit
-- transaction) that locks the stock rows it touches in (location, sku) order, so two
-- calls over overlapping SKUs wait for each other in one order and never deadlock.
-- Each function writes its outbox events in the same transaction as the change.
-- Shortages raise SQLSTATE 'CM001' with a JSON detail {sku, requested, available};
-- the whole call is rolled back and the adapter maps it to `InsufficientStock`.

CREATE TABLE commerce.stock_levels (
    location         text NOT NULL,
    sku              text NOT NULL,
    on_hand          bigint NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved         bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    -- NULL: backorders denied; otherwise units that may be reserved beyond on_hand.
    backorder_limit  bigint CHECK (backorder_limit >= 0),
    PRIMARY KEY (location, sku)
);

-- A reservation keeps its lines (one per SKU, sorted by SKU, quantities summed) as
-- two parallel arrays: they never change after the reservation is made.
CREATE TABLE commerce.reservations (
    id           uuid PRIMARY KEY,
    reference    text NOT NULL,
    location     text NOT NULL,
    skus         text[] NOT NULL,
    quantities   bigint[] NOT NULL,
    status       text NOT NULL CHECK (status IN ('active', 'committed', 'released', 'expired')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    CHECK (cardinality(skus) = cardinality(quantities) AND cardinality(skus) > 0)
);
CREATE INDEX reservations_due ON commerce.reservations (expires_at, id) WHERE status = 'active';

-- Appends one `inventory.stock_changed` event per given stock row.
CREATE FUNCTION commerce.emit_stock_changed(p_location text, p_skus text[], p_now timestamptz)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO commerce.outbox (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    SELECT commerce.uuid_v7(), 'inventory.stock_changed', 'sku', s.sku, p_now,
           jsonb_build_object('type', 'stock_changed', 'sku', s.sku, 'location', s.location,
                              'on_hand', s.on_hand, 'reserved', s.reserved)
      FROM commerce.stock_levels s
     WHERE s.location = p_location AND s.sku = ANY (p_skus)
     ORDER BY s.sku
$$;

-- Reserves every line or none. Returns the reservation (the existing one when `p_id`
-- is taken: the caller compares its lines). Lines must be summed per SKU.
CREATE FUNCTION commerce.reserve(
    p_id uuid, p_reference text, p_location text, p_skus text[], p_quantities bigint[],
    p_now timestamptz, p_expires_at timestamptz)
RETURNS SETOF commerce.reservations LANGUAGE plpgsql AS $$
DECLARE
    v_short record;
BEGIN
    RETURN QUERY SELECT * FROM commerce.reservations WHERE id = p_id;
    IF FOUND THEN
        RETURN;
    END IF;

    PERFORM 1 FROM commerce.stock_levels
      WHERE location = p_location AND sku = ANY (p_skus)
      ORDER BY location, sku
      FOR UPDATE;

    SELECT r.sku, r.quantity,
           COALESCE(GREATEST(s.on_hand + COALESCE(s.backorder_limit, 0) - s.reserved, 0), 0) AS reservable
      INTO v_short
      FROM unnest(p_skus, p_quantities) AS r (sku, quantity)
      LEFT JOIN commerce.stock_levels s ON s.location = p_location AND s.sku = r.sku
     WHERE s.sku IS NULL OR s.reserved + r.quantity > s.on_hand + COALESCE(s.backorder_limit, 0)
     ORDER BY r.sku
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CM001',
            MESSAGE = 'insufficient stock for ' || v_short.sku,
            DETAIL = json_build_object('sku', v_short.sku, 'requested', v_short.quantity,
                                       'available', v_short.reservable)::text;
    END IF;

    INSERT INTO commerce.reservations
        (id, reference, location, skus, quantities, status, created_at, expires_at)
    VALUES (p_id, p_reference, p_location, p_skus, p_quantities, 'active', p_now, p_expires_at)
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        -- A concurrent call with the same id won; nothing of ours is held.
        RETURN QUERY SELECT * FROM commerce.reservations WHERE id = p_id;
        RETURN;
    END IF;

    UPDATE commerce.stock_levels s
       SET reserved = s.reserved + r.quantity
      FROM unnest(p_skus, p_quantities) AS r (sku, quantity)
     WHERE s.location = p_location AND s.sku = r.sku;
    PERFORM commerce.emit_stock_changed(p_location, p_skus, p_now);

    RETURN QUERY SELECT * FROM commerce.reservations WHERE id = p_id;
END
$$;

-- Ends one active reservation in `p_target` ('committed', 'released' or 'expired')
-- and changes stock exactly once: the conditional status update is the only way in,
-- and a racing second call finds the status already changed. Returns
-- ('applied', p_target), ('unchanged', current status) or nothing when the id is
-- unknown.
CREATE FUNCTION commerce.finish_reservation(p_id uuid, p_target text, p_now timestamptz)
RETURNS TABLE (outcome text, status text) LANGUAGE plpgsql AS $$
DECLARE
    v_res record;
BEGIN
    UPDATE commerce.reservations r
       SET status = p_target, finished_at = p_now
     WHERE r.id = p_id AND r.status = 'active'
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
       SET reserved = s.reserved - l.quantity,
           -- Committed units leave the shelf; backordered units were never on it.
           on_hand = CASE WHEN p_target = 'committed' THEN GREATEST(s.on_hand - l.quantity, 0)
                          ELSE s.on_hand END
      FROM unnest(v_res.skus, v_res.quantities) AS l (sku, quantity)
     WHERE s.location = v_res.location AND s.sku = l.sku;
    PERFORM commerce.emit_stock_changed(v_res.location, v_res.skus, p_now);
    INSERT INTO commerce.outbox (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    VALUES (commerce.uuid_v7(), 'inventory.reservation_finished', 'reservation', p_id::text, p_now,
            jsonb_build_object('type', 'reservation_finished', 'id', p_id, 'status', p_target));

    RETURN QUERY SELECT 'applied'::text, p_target;
END
$$;

-- Expires up to `p_limit` due active reservations. Rows another caller holds are
-- skipped (FOR UPDATE SKIP LOCKED), so several sweepers never expire one twice.
CREATE FUNCTION commerce.expire_due(p_now timestamptz, p_limit integer)
RETURNS SETOF uuid LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
    v_loc record;
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

    PERFORM 1 FROM commerce.stock_levels s
      JOIN (SELECT DISTINCT r.location, l.sku
              FROM commerce.reservations r, unnest(r.skus) AS l (sku)
             WHERE r.id = ANY (v_ids)) k ON k.location = s.location AND k.sku = s.sku
     ORDER BY s.location, s.sku
     FOR UPDATE OF s;
    UPDATE commerce.stock_levels s
       SET reserved = s.reserved - t.quantity
      FROM (SELECT r.location, l.sku, sum(l.quantity)::bigint AS quantity
              FROM commerce.reservations r, unnest(r.skus, r.quantities) AS l (sku, quantity)
             WHERE r.id = ANY (v_ids)
             GROUP BY r.location, l.sku) t
     WHERE s.location = t.location AND s.sku = t.sku;

    FOR v_loc IN
        SELECT r.location, array_agg(DISTINCT l.sku) AS skus
          FROM commerce.reservations r, unnest(r.skus) AS l (sku)
         WHERE r.id = ANY (v_ids)
         GROUP BY r.location
         ORDER BY r.location
    LOOP
        PERFORM commerce.emit_stock_changed(v_loc.location, v_loc.skus, p_now);
    END LOOP;
    INSERT INTO commerce.outbox (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    SELECT commerce.uuid_v7(), 'inventory.reservation_finished', 'reservation', u.id::text, p_now,
           jsonb_build_object('type', 'reservation_finished', 'id', u.id, 'status', 'expired')
      FROM unnest(v_ids) WITH ORDINALITY AS u (id, n)
     ORDER BY u.n;

    RETURN QUERY SELECT unnest(v_ids);
END
$$;

-- Adds `p_delta` to on_hand (creating the row at zero), refusing to go below zero or,
-- under a deny policy, below the reserved units. Returns the new row.
CREATE FUNCTION commerce.adjust_stock(p_location text, p_sku text, p_delta bigint, p_now timestamptz)
RETURNS SETOF commerce.stock_levels LANGUAGE plpgsql AS $$
DECLARE
    v_row commerce.stock_levels;
    v_floor bigint;
BEGIN
    INSERT INTO commerce.stock_levels (location, sku) VALUES (p_location, p_sku)
    ON CONFLICT (location, sku) DO NOTHING;
    SELECT * INTO v_row FROM commerce.stock_levels
     WHERE location = p_location AND sku = p_sku FOR UPDATE;
    v_floor := CASE WHEN v_row.backorder_limit IS NULL THEN v_row.reserved ELSE 0 END;
    IF p_delta < 0 AND v_row.on_hand + p_delta < v_floor THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CM001',
            MESSAGE = 'insufficient stock for ' || p_sku,
            DETAIL = json_build_object('sku', p_sku, 'requested', -p_delta::numeric,
                                       'available', GREATEST(v_row.on_hand - v_floor, 0))::text;
    END IF;
    UPDATE commerce.stock_levels SET on_hand = on_hand + p_delta
     WHERE location = p_location AND sku = p_sku;
    PERFORM commerce.emit_stock_changed(p_location, ARRAY[p_sku], p_now);
    RETURN QUERY SELECT * FROM commerce.stock_levels WHERE location = p_location AND sku = p_sku;
END
$$;
