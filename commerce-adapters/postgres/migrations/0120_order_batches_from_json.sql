-- commerce-postgres: the batched checkout steps read their batch, one JSON array of
-- order records (`src/order_record.rs`, fields named as the columns of orders,
-- order_lines, payments, reservations and outbox), straight into the tables:
-- `jsonb_populate_record(set)` over those tables' row types in INSERT/UPDATE ...
-- SELECT. Migration 0095 turned the same JSON into some 40 parallel arrays
-- (`order_batch_arrays`) that `place_orders` / `confirm_orders` (migration 0005)
-- unnested again: the shape of a batch was written twice (once as the record, once
-- as the arrays) and the work done twice. Those three functions are dropped; the
-- entry points keep their names, parameter and answer, and each batch is still one
-- statement with the same behaviour: idempotency keys, conflicts, admission order,
-- locks, outbox rows and their order, and the answer per order.
--
-- What a step decides order by order (admission against the locked stock, version
-- checks) still walks the batch in PL/pgSQL over working arrays; only the values
-- it needs for that are taken out of the JSON (`jsonb_to_recordset`), never the rows
-- it writes.

DROP FUNCTION commerce.place_order_batch(jsonb);
DROP FUNCTION commerce.confirm_order_batch(jsonb);
DROP FUNCTION commerce.order_batch_arrays(jsonb);
DROP FUNCTION commerce.place_orders;
DROP FUNCTION commerce.confirm_orders;

-- Places a batch of orders, each as `OrderStore::create` would and with its stock
-- reserved as `reserve_for_order` would, in one transaction (the adapter gathers
-- concurrent place steps into one call: one commit for many checkouts). Element i
-- of `p_orders` is an order record with its `reservation`, a row of
-- `commerce.reservations` (`id`, `reference`, `location`, `skus` and `quantities`
-- summed per SKU and sorted, `created_at`, `expires_at`); orders with refunds are
-- not batched. Per order, all or nothing, in order:
--
-- 1. the order row is inserted unless its idempotency key is taken ('existing':
--    nothing else is written for it; so is the second copy of one order);
-- 2. the stock rows of the inserted orders are locked in (location, sku) order and
--    their orders admitted one after the other against them; an order short of
--    stock ('short', with the first short SKU in its reservation's order) or whose
--    reservation id exists ('taken') is deleted again: nothing of it remains;
-- 3. for the placed orders, set-based: reservations, stock (one update per row),
--    one `inventory.stock_changed` event per reservation line with the level right
--    after its order (as if the orders had run one by one), lines, payment records,
--    then the orders' own events in batch order.
--
-- Returns one row per order: n (1-based), outcome ('placed', 'existing', 'short',
-- 'taken') and the shortage.
CREATE FUNCTION commerce.place_order_batch(p_orders jsonb)
RETURNS TABLE (n integer, outcome text, short_sku text, short_requested bigint,
               short_available bigint)
LANGUAGE plpgsql
-- Every statement is driven by the batch: one plan per session, and always through
-- the primary keys, whatever the table statistics said when it was made.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    v_count integer := jsonb_array_length(p_orders);
    v_outcome text[] := array_fill('existing'::text, ARRAY[v_count]);
    v_short_sku text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_short_requested bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    v_short_available bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    -- Whether order i is placed (written from the JSON below).
    v_placed boolean[] := array_fill(false, ARRAY[v_count]);
    v_placed_count integer := 0;
    v_inserted uuid[];
    v_admitted uuid[] := '{}';
    -- Reservation ids claimed by earlier orders of the batch.
    v_taken uuid[] := '{}';
    v_dropped uuid[] := '{}';
    v_want_locations text[];
    v_want_skus text[];
    -- The locked stock rows, in (location, sku) order.
    v_keys text[];
    v_locations text[];
    v_skus text[];
    v_on_hand bigint[];
    v_reserved bigint[];
    v_backordered bigint[];
    v_left bigint[];
    v_changed boolean[];
    -- One stock_changed event per admitted reservation line.
    e_locations text[] := '{}';
    e_skus text[] := '{}';
    e_on_hand bigint[] := '{}';
    e_reserved bigint[] := '{}';
    e_backordered bigint[] := '{}';
    e_at timestamptz[] := '{}';
    u_locations text[] := '{}';
    u_skus text[] := '{}';
    u_reserved bigint[] := '{}';
    v_o record;
    v_k integer;
    v_short integer;
    v_inserted_count integer;
BEGIN
    WITH ins AS (
        INSERT INTO commerce.orders AS o
            (id, idempotency_key, customer_id, number, email, currency, status, payment_status,
             fulfilment_status, grand_total, reservation_id, created_at, updated_at, version,
             document)
        SELECT u.id, u.idempotency_key, u.customer_id, u.number, u.email, u.currency, u.status,
               u.payment_status, u.fulfilment_status, u.grand_total, u.reservation_id,
               u.created_at, u.updated_at, 1, u.document
          FROM jsonb_populate_recordset(NULL::commerce.orders, p_orders) WITH ORDINALITY AS u
         ORDER BY u.ordinality
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING o.id
    )
    SELECT array_agg(ins.id) INTO v_inserted FROM ins;

    IF v_inserted IS NOT NULL THEN
        SELECT array_agg(r.location), array_agg(l.sku)
          INTO v_want_locations, v_want_skus
          FROM jsonb_to_recordset(p_orders) AS a (id uuid, reservation jsonb),
               jsonb_populate_record(NULL::commerce.reservations, a.reservation) AS r,
               unnest(r.skus) AS l (sku)
         WHERE a.id = ANY (v_inserted);
        SELECT array_agg(l.location || chr(31) || l.sku ORDER BY l.location, l.sku),
               array_agg(l.location ORDER BY l.location, l.sku),
               array_agg(l.sku ORDER BY l.location, l.sku),
               array_agg(l.on_hand ORDER BY l.location, l.sku),
               array_agg(l.reserved ORDER BY l.location, l.sku),
               array_agg(l.backordered ORDER BY l.location, l.sku),
               array_agg(commerce.reservable(l) ORDER BY l.location, l.sku)
          INTO v_keys, v_locations, v_skus, v_on_hand, v_reserved, v_backordered, v_left
          FROM (SELECT s.* FROM commerce.stock_levels s
                 WHERE s.location = ANY (v_want_locations) AND s.sku = ANY (v_want_skus)
                 ORDER BY s.location, s.sku
                 FOR UPDATE OF s) l;
        v_changed := array_fill(false, ARRAY[COALESCE(cardinality(v_keys), 0)]);

        FOR v_o IN
            SELECT a.i::integer AS i, a.id, r.id AS reservation_id, r.location, r.skus,
                   r.quantities, r.created_at,
                   EXISTS (SELECT 1 FROM commerce.reservations x WHERE x.id = r.id) AS taken
              FROM ROWS FROM (jsonb_to_recordset(p_orders) AS (id uuid, reservation jsonb))
                       WITH ORDINALITY AS a (id, reservation, i),
                   jsonb_populate_record(NULL::commerce.reservations, a.reservation) AS r
             WHERE a.id = ANY (v_inserted)
             ORDER BY a.i
        LOOP
            -- (The same order twice in a batch: only the first one inserted it.)
            IF v_o.id = ANY (v_admitted) THEN
                CONTINUE;
            END IF;
            v_admitted := v_admitted || v_o.id;
            IF v_o.taken OR v_o.reservation_id = ANY (v_taken) THEN
                v_outcome[v_o.i] := 'taken';
                v_dropped := v_dropped || v_o.id;
                CONTINUE;
            END IF;
            v_taken := v_taken || v_o.reservation_id;
            v_short := NULL;
            FOR j IN 1 .. cardinality(v_o.skus) LOOP
                v_k := array_position(v_keys, v_o.location || chr(31) || v_o.skus[j]);
                IF v_k IS NULL OR v_o.quantities[j] > v_left[v_k] THEN
                    v_short := j;
                    v_short_available[v_o.i] := COALESCE(v_left[v_k], 0);
                    EXIT;
                END IF;
            END LOOP;
            IF v_short IS NOT NULL THEN
                v_outcome[v_o.i] := 'short';
                v_short_sku[v_o.i] := v_o.skus[v_short];
                v_short_requested[v_o.i] := v_o.quantities[v_short];
                v_dropped := v_dropped || v_o.id;
                CONTINUE;
            END IF;
            FOR j IN 1 .. cardinality(v_o.skus) LOOP
                v_k := array_position(v_keys, v_o.location || chr(31) || v_o.skus[j]);
                v_left[v_k] := v_left[v_k] - v_o.quantities[j];
                v_reserved[v_k] := v_reserved[v_k] + v_o.quantities[j];
                v_changed[v_k] := true;
                e_locations := e_locations || v_locations[v_k];
                e_skus := e_skus || v_skus[v_k];
                e_on_hand := e_on_hand || v_on_hand[v_k];
                e_reserved := e_reserved || v_reserved[v_k];
                e_backordered := e_backordered || v_backordered[v_k];
                e_at := e_at || v_o.created_at;
            END LOOP;
            v_outcome[v_o.i] := 'placed';
            v_placed[v_o.i] := true;
            v_placed_count := v_placed_count + 1;
        END LOOP;
    END IF;

    IF cardinality(v_dropped) > 0 THEN
        DELETE FROM commerce.orders o WHERE o.id = ANY (v_dropped);
    END IF;

    IF v_placed_count > 0 THEN
        INSERT INTO commerce.reservations AS r
            (id, reference, location, skus, quantities, status, created_at, expires_at)
        SELECT u.id, u.reference, u.location, u.skus, u.quantities, 'active', u.created_at,
               u.expires_at
          FROM jsonb_array_elements(p_orders) WITH ORDINALITY AS a (v, i),
               jsonb_populate_record(NULL::commerce.reservations, a.v -> 'reservation') AS u
         WHERE v_placed[a.i::integer]
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS v_inserted_count = ROW_COUNT;
        IF v_inserted_count <> v_placed_count THEN
            -- A concurrent call took one of the ids after we looked: run the batch
            -- again (the adapter retries serialization failures), it will see it.
            RAISE EXCEPTION USING ERRCODE = '40001',
                MESSAGE = 'a reservation id of the batch was taken concurrently';
        END IF;

        FOR k IN 1 .. cardinality(v_keys) LOOP
            IF v_changed[k] THEN
                u_locations := u_locations || v_locations[k];
                u_skus := u_skus || v_skus[k];
                u_reserved := u_reserved || v_reserved[k];
            END IF;
        END LOOP;
        -- Rows locked above: the new value is exact.
        UPDATE commerce.stock_levels s
           SET reserved = u.reserved
          FROM unnest(u_locations, u_skus, u_reserved) AS u (location, sku, reserved)
         WHERE s.location = u.location AND s.sku = u.sku;

        INSERT INTO commerce.outbox
            (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
        SELECT commerce.uuid_v7(), 'inventory.stock_changed', 'sku', e.sku, e.at,
               jsonb_build_object('type', 'stock_changed', 'sku', e.sku, 'location', e.location,
                                  'on_hand', e.on_hand, 'reserved', e.reserved,
                                  'backordered', e.backordered)
          FROM unnest(e_locations, e_skus, e_on_hand, e_reserved, e_backordered, e_at)
                  WITH ORDINALITY AS e (location, sku, on_hand, reserved, backordered, at, k)
         ORDER BY e.k;

        INSERT INTO commerce.order_lines
            (order_id, position, sku, name, quantity, unit_price, subtotal, discount, tax,
             tax_rate, total, refunded)
        SELECT a.id, u.position, u.sku, u.name, u.quantity, u.unit_price, u.subtotal,
               u.discount, u.tax, u.tax_rate, u.total, u.refunded
          FROM ROWS FROM (jsonb_to_recordset(p_orders) AS (id uuid, lines jsonb))
                   WITH ORDINALITY AS a (id, lines, i),
               jsonb_populate_recordset(NULL::commerce.order_lines, a.lines) AS u
         WHERE v_placed[a.i::integer];

        INSERT INTO commerce.payments
            (order_id, idempotency_key, status, method, authorized, captured, refunded,
             provider_reference, updated_at)
        SELECT a.id, u.idempotency_key, u.status, u.method, u.authorized, u.captured,
               u.refunded, u.provider_reference, u.updated_at
          FROM ROWS FROM (jsonb_to_recordset(p_orders) AS (id uuid, payment jsonb))
                   WITH ORDINALITY AS a (id, payment, i),
               jsonb_populate_record(NULL::commerce.payments, a.payment) AS u
         WHERE v_placed[a.i::integer];

        INSERT INTO commerce.outbox
            (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
        SELECT u.event_id, u.topic, u.aggregate_type, u.aggregate_id, u.occurred_at, u.payload
          FROM jsonb_array_elements(p_orders) WITH ORDINALITY AS a (v, i),
               jsonb_array_elements(a.v -> 'events') WITH ORDINALITY AS x (v, n),
               jsonb_populate_record(NULL::commerce.outbox, x.v) AS u
         WHERE v_placed[a.i::integer]
         ORDER BY a.i, x.n;
    END IF;

    RETURN QUERY
        SELECT g.i, v_outcome[g.i], v_short_sku[g.i], v_short_requested[g.i],
               v_short_available[g.i]
          FROM generate_series(1, v_count) AS g (i)
         ORDER BY g.i;
END
$$;

-- Commits the reservations and updates a batch of orders, each as the single
-- statement would (version-checked order update, then `finish_reservation`), in one
-- transaction (the adapter gathers concurrent commit-and-update steps into one
-- call). Element i of `p_orders` is an order record (as for `place_order_batch`,
-- without a reservation) with its `expected_version` and the commit time `now`.
-- Per order, in order, all or nothing:
--
-- * 'not_found': no such order; 'conflict': its version is not the expected one (an
--   earlier order of the batch may have just updated it), `version` is the current
--   one;
-- * 'missing' / 'illegal': the reservation is unknown / released or expired
--   (`status`): nothing changes;
-- * 'updated': the reservation is committed if it was active (stock sold once, as
--   `finish_reservation` does it: `stock_changed` per SKU, then
--   `reservation_finished`, with the level right after that order), the order row,
--   the lines that changed, the payment record and the events written; `version`
--   and the stored id, key and creation time are returned.
--
-- Locks are taken in the global order orders (by id), reservations (by id), stock
-- rows (by location, sku), as every other writer does, so batches never deadlock.
CREATE FUNCTION commerce.confirm_order_batch(p_orders jsonb)
RETURNS TABLE (n integer, outcome text, status text, version bigint, stored_id jsonb,
               stored_key jsonb, stored_created_at jsonb)
LANGUAGE plpgsql
-- Every statement is driven by the batch: one plan per session, and always through
-- the primary keys, whatever the table statistics said when it was made.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    v_count integer := jsonb_array_length(p_orders);
    -- What the checks need of each order, in batch order.
    v_ids uuid[];
    v_reservation_ids uuid[];
    v_expected bigint[];
    v_nows timestamptz[];
    v_outcome text[] := array_fill('not_found'::text, ARRAY[v_count]);
    v_status text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_version bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    v_stored_id jsonb[] := array_fill(NULL::jsonb, ARRAY[v_count]);
    v_stored_key jsonb[] := array_fill(NULL::jsonb, ARRAY[v_count]);
    v_stored_created_at jsonb[] := array_fill(NULL::jsonb, ARRAY[v_count]);
    -- Whether order i is updated (written from the JSON below).
    v_won boolean[] := array_fill(false, ARRAY[v_count]);
    v_won_count integer := 0;
    v_oids uuid[];
    v_versions bigint[];
    v_candidates uuid[] := '{}';
    -- The locked candidate reservations, by id, their lines flattened.
    v_rids uuid[] := '{}';
    v_rstatus text[] := '{}';
    v_rlocation text[] := '{}';
    v_rfirst integer[] := '{}';
    v_rcount integer[] := '{}';
    v_rskus text[] := '{}';
    v_rquantities bigint[] := '{}';
    v_want_locations text[] := '{}';
    -- The locked stock rows, in (location, sku) order.
    v_keys text[];
    v_locations text[];
    v_skus text[];
    v_on_hand bigint[];
    v_reserved bigint[];
    v_backordered bigint[];
    v_changed boolean[];
    -- Inventory events in order: stock_changed per line, reservation_finished.
    e_topics text[] := '{}';
    e_kinds text[] := '{}';
    e_aggregates text[] := '{}';
    e_at timestamptz[] := '{}';
    e_payloads jsonb[] := '{}';
    c_ids uuid[] := '{}';
    c_at timestamptz[] := '{}';
    u_locations text[] := '{}';
    u_skus text[] := '{}';
    u_on_hand bigint[] := '{}';
    u_reserved bigint[] := '{}';
    u_backordered bigint[] := '{}';
    v_pos integer;
    v_rpos integer;
    v_k integer;
    v_sold bigint;
    v_res record;
    v_row record;
BEGIN
    SELECT array_agg(a.id ORDER BY a.i), array_agg(a.reservation_id ORDER BY a.i),
           array_agg(a.expected_version ORDER BY a.i), array_agg(a.now ORDER BY a.i)
      INTO v_ids, v_reservation_ids, v_expected, v_nows
      FROM ROWS FROM (jsonb_to_recordset(p_orders)
                          AS (id uuid, reservation_id uuid, expected_version bigint,
                              now timestamptz))
               WITH ORDINALITY AS a (id, reservation_id, expected_version, now, i);

    SELECT array_agg(o.id ORDER BY o.id), array_agg(o.version ORDER BY o.id)
      INTO v_oids, v_versions
      FROM (SELECT o.id, o.version FROM commerce.orders o
             WHERE o.id = ANY (v_ids)
             ORDER BY o.id
             FOR UPDATE) o;
    FOR i IN 1 .. v_count LOOP
        v_pos := array_position(v_oids, v_ids[i]);
        IF v_pos IS NOT NULL AND v_versions[v_pos] = v_expected[i] THEN
            v_candidates := v_candidates || v_reservation_ids[i];
        END IF;
    END LOOP;

    IF cardinality(v_candidates) > 0 THEN
        FOR v_res IN
            SELECT r.id, r.status, r.location, r.skus, r.quantities
              FROM commerce.reservations r
             WHERE r.id = ANY (v_candidates)
             ORDER BY r.id
               FOR UPDATE
        LOOP
            v_rids := v_rids || v_res.id;
            v_rstatus := v_rstatus || v_res.status;
            v_rlocation := v_rlocation || v_res.location;
            v_rfirst := v_rfirst || (cardinality(v_rskus) + 1);
            v_rcount := v_rcount || cardinality(v_res.skus);
            v_rskus := v_rskus || v_res.skus;
            v_rquantities := v_rquantities || v_res.quantities;
            IF v_res.status = 'active' THEN
                v_want_locations := v_want_locations || v_res.location;
            END IF;
        END LOOP;
        SELECT array_agg(l.location || chr(31) || l.sku ORDER BY l.location, l.sku),
               array_agg(l.location ORDER BY l.location, l.sku),
               array_agg(l.sku ORDER BY l.location, l.sku),
               array_agg(l.on_hand ORDER BY l.location, l.sku),
               array_agg(l.reserved ORDER BY l.location, l.sku),
               array_agg(l.backordered ORDER BY l.location, l.sku)
          INTO v_keys, v_locations, v_skus, v_on_hand, v_reserved, v_backordered
          FROM (SELECT s.* FROM commerce.stock_levels s
                 WHERE s.location = ANY (v_want_locations) AND s.sku = ANY (v_rskus)
                 ORDER BY s.location, s.sku
                 FOR UPDATE OF s) l;
        v_changed := array_fill(false, ARRAY[COALESCE(cardinality(v_keys), 0)]);
    END IF;

    FOR i IN 1 .. v_count LOOP
        v_pos := array_position(v_oids, v_ids[i]);
        IF v_pos IS NULL THEN
            CONTINUE;
        END IF;
        IF v_versions[v_pos] <> v_expected[i] THEN
            v_outcome[i] := 'conflict';
            v_version[i] := v_versions[v_pos];
            CONTINUE;
        END IF;
        v_rpos := array_position(v_rids, v_reservation_ids[i]);
        IF v_rpos IS NULL THEN
            v_outcome[i] := 'missing';
            CONTINUE;
        END IF;
        IF v_rstatus[v_rpos] = 'active' THEN
            -- As finish_reservation(.., 'committed', ..): sold units leave the shelf as
            -- far as it holds them; the rest are owed.
            FOR j IN v_rfirst[v_rpos] .. v_rfirst[v_rpos] + v_rcount[v_rpos] - 1 LOOP
                v_k := array_position(v_keys, v_rlocation[v_rpos] || chr(31) || v_rskus[j]);
                IF v_k IS NULL THEN
                    RAISE EXCEPTION 'stock row %/% of reservation % is missing',
                        v_rlocation[v_rpos], v_rskus[j], v_rids[v_rpos];
                END IF;
                v_sold := LEAST(v_rquantities[j], v_on_hand[v_k]);
                v_reserved[v_k] := v_reserved[v_k] - v_rquantities[j];
                v_on_hand[v_k] := v_on_hand[v_k] - v_sold;
                v_backordered[v_k] := v_backordered[v_k] + v_rquantities[j] - v_sold;
                v_changed[v_k] := true;
                e_topics := e_topics || 'inventory.stock_changed'::text;
                e_kinds := e_kinds || 'sku'::text;
                e_aggregates := e_aggregates || v_skus[v_k];
                e_at := e_at || v_nows[i];
                e_payloads := e_payloads || jsonb_build_object(
                    'type', 'stock_changed', 'sku', v_skus[v_k], 'location', v_locations[v_k],
                    'on_hand', v_on_hand[v_k], 'reserved', v_reserved[v_k],
                    'backordered', v_backordered[v_k]);
            END LOOP;
            e_topics := e_topics || 'inventory.reservation_finished'::text;
            e_kinds := e_kinds || 'reservation'::text;
            e_aggregates := e_aggregates || v_rids[v_rpos]::text;
            e_at := e_at || v_nows[i];
            e_payloads := e_payloads || jsonb_build_object(
                'type', 'reservation_finished', 'id', v_rids[v_rpos], 'status', 'committed');
            c_ids := c_ids || v_rids[v_rpos];
            c_at := c_at || v_nows[i];
            v_rstatus[v_rpos] := 'committed';
        ELSIF v_rstatus[v_rpos] <> 'committed' THEN
            v_outcome[i] := 'illegal';
            v_status[i] := v_rstatus[v_rpos];
            CONTINUE;
        END IF;
        v_versions[v_pos] := v_versions[v_pos] + 1;
        v_outcome[i] := 'updated';
        v_won[i] := true;
        v_won_count := v_won_count + 1;
    END LOOP;

    IF cardinality(c_ids) > 0 THEN
        UPDATE commerce.reservations r
           SET status = 'committed', finished_at = c.at
          FROM unnest(c_ids, c_at) AS c (id, at)
         WHERE r.id = c.id;
        FOR k IN 1 .. cardinality(v_keys) LOOP
            IF v_changed[k] THEN
                u_locations := u_locations || v_locations[k];
                u_skus := u_skus || v_skus[k];
                u_on_hand := u_on_hand || v_on_hand[k];
                u_reserved := u_reserved || v_reserved[k];
                u_backordered := u_backordered || v_backordered[k];
            END IF;
        END LOOP;
        -- Rows locked above: the new values are exact.
        UPDATE commerce.stock_levels s
           SET on_hand = u.on_hand, reserved = u.reserved, backordered = u.backordered
          FROM unnest(u_locations, u_skus, u_on_hand, u_reserved, u_backordered)
                  AS u (location, sku, on_hand, reserved, backordered)
         WHERE s.location = u.location AND s.sku = u.sku;
        INSERT INTO commerce.outbox
            (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
        SELECT commerce.uuid_v7(), e.topic, e.kind, e.aggregate, e.at, e.payload
          FROM unnest(e_topics, e_kinds, e_aggregates, e_at, e_payloads)
                  WITH ORDINALITY AS e (topic, kind, aggregate, at, payload, k)
         ORDER BY e.k;
    END IF;

    IF v_won_count > 0 THEN
        FOR v_row IN
            WITH u AS (
                SELECT a.i::integer AS i, r.*
                  FROM jsonb_array_elements(p_orders) WITH ORDINALITY AS a (v, i),
                       jsonb_populate_record(NULL::commerce.orders, a.v) AS r
                 WHERE v_won[a.i::integer]
            )
            UPDATE commerce.orders o
               SET customer_id = u.customer_id, number = u.number, email = u.email,
                   currency = u.currency, status = u.status, payment_status = u.payment_status,
                   fulfilment_status = u.fulfilment_status, grand_total = u.grand_total,
                   reservation_id = u.reservation_id, updated_at = u.updated_at,
                   version = o.version + 1,
                   document = u.document || jsonb_build_object(
                       'id', o.document -> 'id',
                       'idempotency_key', o.document -> 'idempotency_key',
                       'created_at', o.document -> 'created_at')
              FROM u
             WHERE o.id = u.id
            RETURNING u.i AS i, o.version AS version, o.document -> 'id' AS id,
                      o.document -> 'idempotency_key' AS key,
                      o.document -> 'created_at' AS created_at
        LOOP
            v_version[v_row.i] := v_row.version;
            v_stored_id[v_row.i] := v_row.id;
            v_stored_key[v_row.i] := v_row.key;
            v_stored_created_at[v_row.i] := v_row.created_at;
        END LOOP;

        -- Lines are a snapshot: only a refund changes one. (Driven by the given
        -- lines, so each is found through the primary key.)
        UPDATE commerce.order_lines t
           SET sku = u.sku, name = u.name, quantity = u.quantity, unit_price = u.unit_price,
               subtotal = u.subtotal, discount = u.discount, tax = u.tax, tax_rate = u.tax_rate,
               total = u.total, refunded = u.refunded
          FROM ROWS FROM (jsonb_to_recordset(p_orders) AS (id uuid, lines jsonb))
                   WITH ORDINALITY AS a (id, lines, i),
               jsonb_populate_recordset(NULL::commerce.order_lines, a.lines) AS u
         WHERE v_won[a.i::integer]
           AND t.order_id = a.id AND t.position = u.position
           AND (t.sku, t.name, t.quantity, t.unit_price, t.subtotal, t.discount, t.tax,
                t.tax_rate, t.total, t.refunded)
               IS DISTINCT FROM
               (u.sku, u.name, u.quantity, u.unit_price, u.subtotal, u.discount, u.tax,
                u.tax_rate, u.total, u.refunded);

        UPDATE commerce.payments t
           SET status = u.status, method = u.method, authorized = u.authorized,
               captured = u.captured, refunded = u.refunded,
               provider_reference = u.provider_reference, updated_at = u.updated_at
          FROM ROWS FROM (jsonb_to_recordset(p_orders) AS (id uuid, payment jsonb))
                   WITH ORDINALITY AS a (id, payment, i),
               jsonb_populate_record(NULL::commerce.payments, a.payment) AS u
         WHERE v_won[a.i::integer] AND t.order_id = a.id;

        INSERT INTO commerce.outbox
            (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
        SELECT u.event_id, u.topic, u.aggregate_type, u.aggregate_id, u.occurred_at, u.payload
          FROM jsonb_array_elements(p_orders) WITH ORDINALITY AS a (v, i),
               jsonb_array_elements(a.v -> 'events') WITH ORDINALITY AS x (v, n),
               jsonb_populate_record(NULL::commerce.outbox, x.v) AS u
         WHERE v_won[a.i::integer]
         ORDER BY a.i, x.n;
    END IF;

    RETURN QUERY
        SELECT g.i, v_outcome[g.i], v_status[g.i], v_version[g.i], v_stored_id[g.i],
               v_stored_key[g.i], v_stored_created_at[g.i]
          FROM generate_series(1, v_count) AS g (i)
         ORDER BY g.i;
END
$$;
