-- commerce-postgres: stock levels and reservations.
--
-- Every change of stock is one function call (one round trip, one implicit
-- transaction) that locks the stock rows it touches in (location, sku) order, so two
-- calls over overlapping SKUs wait for each other in one order and never deadlock.
-- Each function writes its outbox events in the same transaction as the change.
-- A shortage in `adjust_stock` raises SQLSTATE 'CM001' with a JSON detail {sku,
-- requested, available}: the call is rolled back and the adapter maps it to
-- `InsufficientStock`; `reserve_many` reports shortages per request instead.

CREATE TABLE commerce.stock_levels (
    location         text NOT NULL,
    sku              text NOT NULL,
    on_hand          bigint NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved         bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    -- Units sold beyond stock and still owed; received units fill these first.
    backordered      bigint NOT NULL DEFAULT 0 CHECK (backordered >= 0),
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
                              'on_hand', s.on_hand, 'reserved', s.reserved,
                              'backordered', s.backordered)
      FROM commerce.stock_levels s
     WHERE s.location = p_location AND s.sku = ANY (p_skus)
     ORDER BY s.sku
$$;

-- Units a new reservation may take from a stock row: available stock under a deny
-- policy; on hand plus the allowance minus what is reserved or owed otherwise.
CREATE FUNCTION commerce.reservable(s commerce.stock_levels) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s.backorder_limit IS NULL THEN GREATEST(s.on_hand - s.reserved, 0)
                ELSE GREATEST(s.on_hand + s.backorder_limit - s.reserved - s.backordered, 0) END
$$;

-- Reserves a batch of requests, each all or nothing, in one transaction (the adapter
-- gathers concurrent `reserve` calls into one call: one commit for many
-- reservations). Request i has `p_line_counts[i]` lines, consecutive in `p_skus` /
-- `p_quantities` (summed per SKU, sorted), from `p_locations[i]`. Every stock row of
-- the batch is locked first, in (location, sku) order, so batches never deadlock.
-- Returns one row per request: outcome 'reserved' or 'existing' (the reservation
-- with that id already existed: the caller compares lines) with the reservation, or
-- 'short' with the first short SKU in SKU order (nothing of that request is held).
CREATE FUNCTION commerce.reserve_many(
    p_ids uuid[], p_references text[], p_locations text[], p_line_counts integer[],
    p_skus text[], p_quantities bigint[], p_nows timestamptz[], p_expires_at timestamptz[])
RETURNS TABLE (n integer, outcome text, short_sku text, short_requested bigint,
               short_available bigint, id uuid, reference text, location text, skus text[],
               quantities bigint[], status text, created_at timestamptz,
               expires_at timestamptz, finished_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_first integer := 1;
    v_last integer;
    v_skus text[];
    v_quantities bigint[];
    v_short record;
    v_line_locations text[] := '{}';
BEGIN
    FOR i IN 1 .. cardinality(p_ids) LOOP
        v_line_locations := v_line_locations || array_fill(p_locations[i], ARRAY[p_line_counts[i]]);
    END LOOP;
    PERFORM 1 FROM commerce.stock_levels s
      JOIN (SELECT DISTINCT k.location, k.sku
              FROM unnest(v_line_locations, p_skus) AS k (location, sku)) k
        ON s.location = k.location AND s.sku = k.sku
     ORDER BY s.location, s.sku
     FOR UPDATE OF s;

    FOR i IN 1 .. cardinality(p_ids) LOOP
        v_last := v_first + p_line_counts[i] - 1;
        v_skus := p_skus[v_first:v_last];
        v_quantities := p_quantities[v_first:v_last];
        v_first := v_last + 1;

        IF EXISTS (SELECT 1 FROM commerce.reservations r WHERE r.id = p_ids[i]) THEN
            RETURN QUERY SELECT i, 'existing'::text, NULL::text, NULL::bigint, NULL::bigint, r.*
                           FROM commerce.reservations r WHERE r.id = p_ids[i];
            CONTINUE;
        END IF;

        SELECT l.sku, l.quantity, COALESCE(commerce.reservable(s), 0) AS reservable
          INTO v_short
          FROM unnest(v_skus, v_quantities) AS l (sku, quantity)
          LEFT JOIN commerce.stock_levels s ON s.location = p_locations[i] AND s.sku = l.sku
         WHERE s.sku IS NULL OR l.quantity > commerce.reservable(s)
         ORDER BY l.sku
         LIMIT 1;
        IF FOUND THEN
            RETURN QUERY SELECT i, 'short'::text, v_short.sku::text, v_short.quantity::bigint,
                                v_short.reservable::bigint, p_ids[i], NULL::text, NULL::text,
                                NULL::text[], NULL::bigint[], NULL::text, NULL::timestamptz,
                                NULL::timestamptz, NULL::timestamptz;
            CONTINUE;
        END IF;

        INSERT INTO commerce.reservations AS r
            (id, reference, location, skus, quantities, status, created_at, expires_at)
        VALUES (p_ids[i], p_references[i], p_locations[i], v_skus, v_quantities, 'active',
                p_nows[i], p_expires_at[i])
        ON CONFLICT (id) DO NOTHING;
        IF NOT FOUND THEN
            -- A concurrent call with the same id won; nothing of this request is held.
            RETURN QUERY SELECT i, 'existing'::text, NULL::text, NULL::bigint, NULL::bigint, r.*
                           FROM commerce.reservations r WHERE r.id = p_ids[i];
            CONTINUE;
        END IF;

        UPDATE commerce.stock_levels s
           SET reserved = s.reserved + l.quantity
          FROM unnest(v_skus, v_quantities) AS l (sku, quantity)
         WHERE s.location = p_locations[i] AND s.sku = l.sku;
        PERFORM commerce.emit_stock_changed(p_locations[i], v_skus, p_nows[i]);

        RETURN QUERY SELECT i, 'reserved'::text, NULL::text, NULL::bigint, NULL::bigint, r.*
                       FROM commerce.reservations r WHERE r.id = p_ids[i];
    END LOOP;
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
           -- Sold units leave the shelf as far as it holds them; the rest are owed.
           on_hand = CASE WHEN p_target = 'committed' THEN s.on_hand - LEAST(l.quantity, s.on_hand)
                          ELSE s.on_hand END,
           backordered = CASE WHEN p_target = 'committed'
                              THEN s.backordered + l.quantity - LEAST(l.quantity, s.on_hand)
                              ELSE s.backordered END
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

-- Applies `p_delta` (creating the row at zero): incoming units fill owed backorders
-- first, the rest go on hand; outgoing units may take on_hand down to the reserved
-- units under a deny policy and to zero otherwise. Returns the new row.
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
    UPDATE commerce.stock_levels
       SET on_hand = on_hand + p_delta - CASE WHEN p_delta > 0 THEN LEAST(p_delta, backordered) ELSE 0 END,
           backordered = backordered - CASE WHEN p_delta > 0 THEN LEAST(p_delta, backordered) ELSE 0 END
     WHERE location = p_location AND sku = p_sku;
    PERFORM commerce.emit_stock_changed(p_location, ARRAY[p_sku], p_now);
    RETURN QUERY SELECT * FROM commerce.stock_levels WHERE location = p_location AND sku = p_sku;
END
$$;
