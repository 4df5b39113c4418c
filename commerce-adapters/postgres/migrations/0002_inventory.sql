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

-- Appends one `inventory.stock_changed` event per given stock row. PL/pgSQL, not SQL:
-- its statement plan is cached per session instead of planned on every call.
CREATE FUNCTION commerce.emit_stock_changed(p_location text, p_skus text[], p_now timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO commerce.outbox (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    SELECT commerce.uuid_v7(), 'inventory.stock_changed', 'sku', s.sku, p_now,
           jsonb_build_object('type', 'stock_changed', 'sku', s.sku, 'location', s.location,
                              'on_hand', s.on_hand, 'reserved', s.reserved,
                              'backordered', s.backordered)
      FROM commerce.stock_levels s
     WHERE s.location = p_location AND s.sku = ANY (p_skus)
     ORDER BY s.sku;
END
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
-- `p_quantities` (summed per SKU, sorted by SKU), from `p_locations[i]`.
--
-- Every stock row of the batch is locked first, in (location, sku) order, so batches
-- never deadlock. Requests are then admitted in order against the locked levels, as
-- if they ran one after the other; the writes are set-based (one statement each for
-- reservations, stock and events, whatever the batch size). Returns one row per
-- request: outcome 'reserved' or 'existing' (the id was taken before: the caller
-- compares lines) with the reservation, or 'short' with the first short SKU in SKU
-- order (nothing of that request is held).
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
    v_count integer := cardinality(p_ids);
    v_line_keys text[] := '{}';
    v_line_locations text[] := '{}';
    v_keys text[];
    v_left bigint[];
    v_existing uuid[];
    v_outcome text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_short_sku text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_short_requested bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    v_short_available bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    v_admitted integer[] := '{}';
    v_admitted_ids uuid[] := '{}';
    v_first integer[] := array_fill(0, ARRAY[v_count]);
    v_last integer[] := array_fill(0, ARRAY[v_count]);
    v_next integer := 1;
    v_key integer;
    v_short integer;
    v_inserted integer;
BEGIN
    FOR i IN 1 .. v_count LOOP
        v_first[i] := v_next;
        v_last[i] := v_next + p_line_counts[i] - 1;
        v_next := v_last[i] + 1;
        FOR j IN v_first[i] .. v_last[i] LOOP
            v_line_keys := v_line_keys || (p_locations[i] || chr(31) || p_skus[j]);
            v_line_locations := v_line_locations || p_locations[i];
        END LOOP;
    END LOOP;

    -- Lock and read the stock rows of the batch.
    SELECT array_agg(l.location || chr(31) || l.sku ORDER BY l.location, l.sku),
           array_agg(commerce.reservable(l) ORDER BY l.location, l.sku)
      INTO v_keys, v_left
      FROM (SELECT s.* FROM commerce.stock_levels s
             WHERE (s.location, s.sku) IN (SELECT * FROM unnest(v_line_locations, p_skus))
             ORDER BY s.location, s.sku
             FOR UPDATE OF s) l;
    SELECT array_agg(r.id) INTO v_existing FROM commerce.reservations r WHERE r.id = ANY (p_ids);

    -- Admit requests in order, each all or nothing.
    FOR i IN 1 .. v_count LOOP
        IF p_ids[i] = ANY (v_existing) OR p_ids[i] = ANY (v_admitted_ids) THEN
            v_outcome[i] := 'existing';
            CONTINUE;
        END IF;
        v_short := NULL;
        FOR j IN v_first[i] .. v_last[i] LOOP
            v_key := array_position(v_keys, v_line_keys[j]);
            IF v_key IS NULL OR p_quantities[j] > v_left[v_key] THEN
                v_short := j;
                v_short_available[i] := COALESCE(v_left[v_key], 0);
                EXIT;
            END IF;
        END LOOP;
        IF v_short IS NOT NULL THEN
            v_outcome[i] := 'short';
            v_short_sku[i] := p_skus[v_short];
            v_short_requested[i] := p_quantities[v_short];
            CONTINUE;
        END IF;
        FOR j IN v_first[i] .. v_last[i] LOOP
            v_key := array_position(v_keys, v_line_keys[j]);
            v_left[v_key] := v_left[v_key] - p_quantities[j];
        END LOOP;
        v_outcome[i] := 'reserved';
        v_admitted := v_admitted || i;
        v_admitted_ids := v_admitted_ids || p_ids[i];
    END LOOP;

    IF cardinality(v_admitted) > 0 THEN
        INSERT INTO commerce.reservations AS r
            (id, reference, location, skus, quantities, status, created_at, expires_at)
        SELECT p_ids[a.i], p_references[a.i], p_locations[a.i], p_skus[v_first[a.i]:v_last[a.i]],
               p_quantities[v_first[a.i]:v_last[a.i]], 'active', p_nows[a.i], p_expires_at[a.i]
          FROM unnest(v_admitted) AS a (i)
         ORDER BY a.i
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS v_inserted = ROW_COUNT;
        IF v_inserted <> cardinality(v_admitted) THEN
            -- A concurrent call took one of the ids after we looked: run the batch
            -- again (the adapter retries serialization failures), it will see it.
            RAISE EXCEPTION USING ERRCODE = '40001',
                MESSAGE = 'a reservation id of the batch was taken concurrently';
        END IF;

        UPDATE commerce.stock_levels s
           SET reserved = s.reserved + t.quantity
          FROM (SELECT p_locations[a.i] AS location, p_skus[j] AS sku,
                       sum(p_quantities[j])::bigint AS quantity
                  FROM unnest(v_admitted) AS a (i),
                       LATERAL generate_series(v_first[a.i], v_last[a.i]) AS j
                 GROUP BY 1, 2) t
         WHERE s.location = t.location AND s.sku = t.sku;

        -- One stock_changed event per admitted line, with the level as it was right
        -- after that request (as if the requests had run one by one).
        INSERT INTO commerce.outbox
            (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
        SELECT commerce.uuid_v7(), 'inventory.stock_changed', 'sku', x.sku, x.at,
               jsonb_build_object('type', 'stock_changed', 'sku', x.sku, 'location', x.location,
                                  'on_hand', s.on_hand,
                                  'reserved', s.reserved - x.total + x.running,
                                  'backordered', s.backordered)
          FROM (SELECT a.i, p_locations[a.i] AS location, p_skus[j] AS sku, p_nows[a.i] AS at,
                       sum(p_quantities[j]) OVER w AS running,
                       sum(p_quantities[j]) OVER (PARTITION BY p_locations[a.i], p_skus[j]) AS total
                  FROM unnest(v_admitted) AS a (i),
                       LATERAL generate_series(v_first[a.i], v_last[a.i]) AS j
                WINDOW w AS (PARTITION BY p_locations[a.i], p_skus[j] ORDER BY a.i)) x
          JOIN commerce.stock_levels s ON s.location = x.location AND s.sku = x.sku
         ORDER BY x.i, x.sku;
    END IF;

    RETURN QUERY
        SELECT g.i, v_outcome[g.i], v_short_sku[g.i], v_short_requested[g.i],
               v_short_available[g.i], r.*
          FROM generate_series(1, v_count) AS g (i)
          LEFT JOIN commerce.reservations r ON r.id = p_ids[g.i]
         ORDER BY g.i;
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
