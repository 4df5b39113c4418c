-- commerce-postgres: the checkout steps that change orders and stock together
-- (`CheckoutStore` of commerce-orders), each one statement in one transaction:
--
-- * place and reserve: the order insert of `OrderStore::create` (a data-modifying
--   CTE) calls `reserve_for_order` for the order it inserted; a shortage raises
--   SQLSTATE 'CM001' (JSON detail {sku, requested, available}) and so rolls the
--   order back with it: nothing is written;
-- * commit and confirm: the version-checked order update of `OrderStore::update`
--   calls `commit_for_order` for the order it updated; a reservation that cannot be
--   committed raises SQLSTATE 'CM002' (detail: its status, or 'missing') and so
--   rolls the order update back: nothing changes.
--
-- Both lock stock rows in (location, sku) order, like every inventory function, so
-- they never deadlock with each other or with `reserve_many`.

-- Reserves every line of one order (`p_skus` sorted and summed per SKU by the
-- caller), all or nothing, writing the reservation, the stock and one
-- `inventory.stock_changed` event per SKU (as `reserve_many` does for one request).
-- Raises 'CM001' on the first short SKU in the given order; a taken reservation id
-- is a unique violation. Two statements: lock and read the stock rows, then write
-- everything.
CREATE FUNCTION commerce.reserve_for_order(
    p_id uuid, p_reference text, p_location text, p_skus text[], p_quantities bigint[],
    p_now timestamptz, p_expires_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_skus text[];
    v_left bigint[];
    v_at integer;
    v_available bigint;
BEGIN
    SELECT array_agg(l.sku ORDER BY l.sku), array_agg(commerce.reservable(l) ORDER BY l.sku)
      INTO v_skus, v_left
      FROM (SELECT s.* FROM commerce.stock_levels s
             WHERE s.location = p_location AND s.sku = ANY (p_skus)
             ORDER BY s.location, s.sku
             FOR UPDATE OF s) l;
    FOR i IN 1 .. cardinality(p_skus) LOOP
        v_at := array_position(v_skus, p_skus[i]);
        v_available := COALESCE(v_left[v_at], 0);
        IF v_at IS NULL OR p_quantities[i] > v_available THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CM001',
                MESSAGE = 'insufficient stock for ' || p_skus[i],
                DETAIL = json_build_object('sku', p_skus[i], 'requested', p_quantities[i],
                                           'available', v_available)::text;
        END IF;
    END LOOP;
    WITH r AS (
        INSERT INTO commerce.reservations
            (id, reference, location, skus, quantities, status, created_at, expires_at)
        VALUES (p_id, p_reference, p_location, p_skus, p_quantities, 'active', p_now,
                p_expires_at)
    ),
    changed AS (
        UPDATE commerce.stock_levels s
           SET reserved = s.reserved + l.quantity
          FROM unnest(p_skus, p_quantities) AS l (sku, quantity)
         WHERE s.location = p_location AND s.sku = l.sku
        RETURNING s.location, s.sku, s.on_hand, s.reserved, s.backordered
    )
    INSERT INTO commerce.outbox
        (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    SELECT commerce.uuid_v7(), 'inventory.stock_changed', 'sku', c.sku, p_now,
           jsonb_build_object('type', 'stock_changed', 'sku', c.sku, 'location', c.location,
                              'on_hand', c.on_hand, 'reserved', c.reserved,
                              'backordered', c.backordered)
      FROM changed c
     ORDER BY c.sku;
END
$$;

-- `finish_reservation` (migration 0002) with the same behaviour and events in fewer
-- statements: the stock change and its events (`stock_changed` per SKU in SKU order,
-- then `reservation_finished`) are one statement, and the answer is no query.
CREATE OR REPLACE FUNCTION commerce.finish_reservation(p_id uuid, p_target text, p_now timestamptz)
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
    WITH changed AS (
        UPDATE commerce.stock_levels s
           SET reserved = s.reserved - l.quantity,
               -- Sold units leave the shelf as far as it holds them; the rest are owed.
               on_hand = CASE WHEN p_target = 'committed'
                              THEN s.on_hand - LEAST(l.quantity, s.on_hand)
                              ELSE s.on_hand END,
               backordered = CASE WHEN p_target = 'committed'
                                  THEN s.backordered + l.quantity - LEAST(l.quantity, s.on_hand)
                                  ELSE s.backordered END
          FROM unnest(v_res.skus, v_res.quantities) AS l (sku, quantity)
         WHERE s.location = v_res.location AND s.sku = l.sku
        RETURNING s.location, s.sku, s.on_hand, s.reserved, s.backordered
    )
    INSERT INTO commerce.outbox
        (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
    SELECT commerce.uuid_v7(), e.topic, e.kind, e.aggregate, p_now, e.payload
      FROM (SELECT 1 AS k, c.sku AS sku, 'inventory.stock_changed' AS topic, 'sku' AS kind,
                   c.sku AS aggregate,
                   jsonb_build_object('type', 'stock_changed', 'sku', c.sku,
                                      'location', c.location, 'on_hand', c.on_hand,
                                      'reserved', c.reserved,
                                      'backordered', c.backordered) AS payload
              FROM changed c
            UNION ALL
            SELECT 2, NULL, 'inventory.reservation_finished', 'reservation', p_id::text,
                   jsonb_build_object('type', 'reservation_finished', 'id', p_id,
                                      'status', p_target)) e
     ORDER BY e.k, e.sku;

    outcome := 'applied';
    status := p_target;
    RETURN NEXT;
END
$$;

-- Commits reservation `p_id` through `finish_reservation` (stock changes once, the
-- events are written); one already committed is fine. Raises 'CM002' with the
-- reservation's status as detail ('missing' for an unknown id) when it cannot be
-- committed.
CREATE FUNCTION commerce.commit_for_order(p_id uuid, p_now timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_outcome text;
    v_status text;
BEGIN
    SELECT f.outcome, f.status INTO v_outcome, v_status
      FROM commerce.finish_reservation(p_id, 'committed', p_now) f;
    IF NOT FOUND OR (v_outcome <> 'applied' AND v_status <> 'committed') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CM002',
            MESSAGE = 'reservation ' || p_id || ' cannot be committed',
            DETAIL = COALESCE(v_status, 'missing');
    END IF;
    RETURN v_outcome;
END
$$;

-- Places a batch of orders, each as `OrderStore::create` would and with its stock
-- reserved as `reserve_for_order` would, in one transaction (the adapter gathers
-- concurrent place steps into one call: one commit for many checkouts). Orders are
-- given as parallel arrays (one element per order; lines, events and reservation
-- lines flattened, with counts; reservation lines summed and sorted per order);
-- orders with refunds are not batched. Per order i, all or nothing, in order:
--
-- 1. the order row is inserted unless its idempotency key is taken ('existing':
--    nothing else is written for it);
-- 2. the stock rows of the inserted orders are locked in (location, sku) order and
--    their orders admitted one after the other against them; an order short of
--    stock ('short', with the first short SKU in its line order) or whose
--    reservation id exists ('taken') is deleted again: nothing of it remains;
-- 3. for the placed orders, set-based: reservations, stock (one update per row),
--    one `inventory.stock_changed` event per line with the level right after its
--    order (as if the orders had run one by one), lines, payment records, events.
--
-- Returns one row per order: n, outcome ('placed', 'existing', 'short', 'taken')
-- and the shortage.
CREATE FUNCTION commerce.place_orders(
    p_ids uuid[], p_keys text[], p_customer_ids uuid[], p_numbers text[], p_emails text[],
    p_currencies text[], p_statuses text[], p_payment_statuses text[],
    p_fulfilment_statuses text[], p_grand_totals numeric[], p_reservation_ids uuid[],
    p_created_ats timestamptz[], p_updated_ats timestamptz[], p_documents jsonb[],
    p_line_counts integer[], p_line_skus text[], p_line_names text[],
    p_line_quantities integer[], p_unit_prices numeric[], p_subtotals numeric[],
    p_discounts numeric[], p_taxes numeric[], p_tax_rates numeric[], p_totals numeric[],
    p_line_refunded numeric[],
    p_payment_keys text[], p_methods text[], p_authorized numeric[], p_captured numeric[],
    p_refunded numeric[], p_provider_references text[],
    p_event_counts integer[], p_event_ids uuid[], p_topics text[], p_kinds text[],
    p_aggregates text[], p_event_times timestamptz[], p_payloads jsonb[],
    p_references text[], p_locations text[], p_res_counts integer[], p_res_skus text[],
    p_res_quantities bigint[], p_nows timestamptz[], p_expires_at timestamptz[])
RETURNS TABLE (n integer, outcome text, short_sku text, short_requested bigint,
               short_available bigint)
LANGUAGE plpgsql
-- Every statement is driven by the given arrays: one plan per session, and always
-- through the primary keys, whatever the table statistics said when it was made.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    v_count integer := cardinality(p_ids);
    v_inserted uuid[];
    v_existing uuid[];
    v_outcome text[] := array_fill('existing'::text, ARRAY[v_count]);
    v_short_sku text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_short_requested bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    v_short_available bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    v_line_first integer[] := array_fill(0, ARRAY[v_count]);
    v_event_first integer[] := array_fill(0, ARRAY[v_count]);
    v_res_first integer[] := array_fill(0, ARRAY[v_count]);
    v_line_next integer := 1;
    v_event_next integer := 1;
    v_res_next integer := 1;
    v_selected integer[] := '{}';
    v_selected_ids uuid[] := '{}';
    v_want_locations text[] := '{}';
    v_want_skus text[] := '{}';
    v_placed integer[] := '{}';
    v_dropped uuid[] := '{}';
    -- The locked stock rows, in (location, sku) order.
    v_keys text[];
    v_locations text[];
    v_skus text[];
    v_on_hand bigint[];
    v_reserved bigint[];
    v_backordered bigint[];
    v_left bigint[];
    v_changed boolean[];
    -- One stock_changed event per admitted line.
    e_locations text[] := '{}';
    e_skus text[] := '{}';
    e_on_hand bigint[] := '{}';
    e_reserved bigint[] := '{}';
    e_backordered bigint[] := '{}';
    e_at timestamptz[] := '{}';
    u_locations text[] := '{}';
    u_skus text[] := '{}';
    u_reserved bigint[] := '{}';
    v_i integer;
    v_k integer;
    v_short integer;
    v_inserted_count integer;
BEGIN
    WITH ins AS (
        INSERT INTO commerce.orders AS o
            (id, idempotency_key, customer_id, number, email, currency, status, payment_status,
             fulfilment_status, grand_total, reservation_id, created_at, updated_at, version,
             document)
        SELECT u.id, u.key, u.customer_id, u.number, u.email, u.currency, u.status,
               u.payment_status, u.fulfilment_status, u.grand_total, u.reservation_id,
               u.created_at, u.updated_at, 1, u.document
          FROM unnest(p_ids, p_keys, p_customer_ids, p_numbers, p_emails, p_currencies,
                      p_statuses, p_payment_statuses, p_fulfilment_statuses, p_grand_totals,
                      p_reservation_ids, p_created_ats, p_updated_ats, p_documents)
                  WITH ORDINALITY AS u (id, key, customer_id, number, email, currency, status,
                                        payment_status, fulfilment_status, grand_total,
                                        reservation_id, created_at, updated_at, document, i)
         ORDER BY u.i
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING o.id
    )
    SELECT array_agg(ins.id) INTO v_inserted FROM ins;

    FOR i IN 1 .. v_count LOOP
        v_line_first[i] := v_line_next;
        v_line_next := v_line_next + p_line_counts[i];
        v_event_first[i] := v_event_next;
        v_event_next := v_event_next + p_event_counts[i];
        v_res_first[i] := v_res_next;
        v_res_next := v_res_next + p_res_counts[i];
        -- (The same order twice in a batch: only the first one inserted it.)
        IF p_ids[i] = ANY (v_inserted) AND NOT p_ids[i] = ANY (v_selected_ids) THEN
            v_selected := v_selected || i;
            v_selected_ids := v_selected_ids || p_ids[i];
            v_want_locations := v_want_locations || p_locations[i];
            v_want_skus := v_want_skus
                || p_res_skus[v_res_first[i] : v_res_next - 1];
        END IF;
    END LOOP;

    IF cardinality(v_selected) > 0 THEN
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
        SELECT array_agg(r.id) INTO v_existing
          FROM commerce.reservations r WHERE r.id = ANY (p_reservation_ids);

        FOREACH v_i IN ARRAY v_selected LOOP
            IF p_reservation_ids[v_i] = ANY (v_existing) THEN
                v_outcome[v_i] := 'taken';
                v_dropped := v_dropped || p_ids[v_i];
                CONTINUE;
            END IF;
            v_existing := v_existing || p_reservation_ids[v_i];
            v_short := NULL;
            FOR j IN v_res_first[v_i] .. v_res_first[v_i] + p_res_counts[v_i] - 1 LOOP
                v_k := array_position(v_keys, p_locations[v_i] || chr(31) || p_res_skus[j]);
                IF v_k IS NULL OR p_res_quantities[j] > v_left[v_k] THEN
                    v_short := j;
                    v_short_available[v_i] := COALESCE(v_left[v_k], 0);
                    EXIT;
                END IF;
            END LOOP;
            IF v_short IS NOT NULL THEN
                v_outcome[v_i] := 'short';
                v_short_sku[v_i] := p_res_skus[v_short];
                v_short_requested[v_i] := p_res_quantities[v_short];
                v_dropped := v_dropped || p_ids[v_i];
                CONTINUE;
            END IF;
            FOR j IN v_res_first[v_i] .. v_res_first[v_i] + p_res_counts[v_i] - 1 LOOP
                v_k := array_position(v_keys, p_locations[v_i] || chr(31) || p_res_skus[j]);
                v_left[v_k] := v_left[v_k] - p_res_quantities[j];
                v_reserved[v_k] := v_reserved[v_k] + p_res_quantities[j];
                v_changed[v_k] := true;
                e_locations := e_locations || v_locations[v_k];
                e_skus := e_skus || v_skus[v_k];
                e_on_hand := e_on_hand || v_on_hand[v_k];
                e_reserved := e_reserved || v_reserved[v_k];
                e_backordered := e_backordered || v_backordered[v_k];
                e_at := e_at || p_nows[v_i];
            END LOOP;
            v_outcome[v_i] := 'placed';
            v_placed := v_placed || v_i;
        END LOOP;
    END IF;

    IF cardinality(v_dropped) > 0 THEN
        DELETE FROM commerce.orders o WHERE o.id = ANY (v_dropped);
    END IF;

    IF cardinality(v_placed) > 0 THEN
        INSERT INTO commerce.reservations AS r
            (id, reference, location, skus, quantities, status, created_at, expires_at)
        SELECT p_reservation_ids[a.i], p_references[a.i], p_locations[a.i],
               p_res_skus[v_res_first[a.i] : v_res_first[a.i] + p_res_counts[a.i] - 1],
               p_res_quantities[v_res_first[a.i] : v_res_first[a.i] + p_res_counts[a.i] - 1],
               'active', p_nows[a.i], p_expires_at[a.i]
          FROM unnest(v_placed) AS a (i)
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS v_inserted_count = ROW_COUNT;
        IF v_inserted_count <> cardinality(v_placed) THEN
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
        SELECT p_ids[a.i], j - v_line_first[a.i] + 1, p_line_skus[j], p_line_names[j],
               p_line_quantities[j], p_unit_prices[j], p_subtotals[j], p_discounts[j],
               p_taxes[j], p_tax_rates[j], p_totals[j], p_line_refunded[j]
          FROM unnest(v_placed) AS a (i),
               LATERAL generate_series(v_line_first[a.i],
                                       v_line_first[a.i] + p_line_counts[a.i] - 1) AS j;

        INSERT INTO commerce.payments
            (order_id, idempotency_key, status, method, authorized, captured, refunded,
             provider_reference, updated_at)
        SELECT p_ids[a.i], p_payment_keys[a.i], p_payment_statuses[a.i], p_methods[a.i],
               p_authorized[a.i], p_captured[a.i], p_refunded[a.i],
               p_provider_references[a.i], p_updated_ats[a.i]
          FROM unnest(v_placed) AS a (i);

        INSERT INTO commerce.outbox
            (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
        SELECT p_event_ids[j], p_topics[j], p_kinds[j], p_aggregates[j], p_event_times[j],
               p_payloads[j]
          FROM unnest(v_placed) WITH ORDINALITY AS a (i, k),
               LATERAL generate_series(v_event_first[a.i],
                                       v_event_first[a.i] + p_event_counts[a.i] - 1) AS j
         ORDER BY a.k, j;
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
-- call). Orders are given as for `place_orders` (without reservations), with the
-- expected versions and the commit times. Per order i, in order, all or nothing:
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
CREATE FUNCTION commerce.confirm_orders(
    p_ids uuid[], p_keys text[], p_customer_ids uuid[], p_numbers text[], p_emails text[],
    p_currencies text[], p_statuses text[], p_payment_statuses text[],
    p_fulfilment_statuses text[], p_grand_totals numeric[], p_reservation_ids uuid[],
    p_created_ats timestamptz[], p_updated_ats timestamptz[], p_documents jsonb[],
    p_line_counts integer[], p_line_skus text[], p_line_names text[],
    p_line_quantities integer[], p_unit_prices numeric[], p_subtotals numeric[],
    p_discounts numeric[], p_taxes numeric[], p_tax_rates numeric[], p_totals numeric[],
    p_line_refunded numeric[],
    p_payment_keys text[], p_methods text[], p_authorized numeric[], p_captured numeric[],
    p_refunded numeric[], p_provider_references text[],
    p_event_counts integer[], p_event_ids uuid[], p_topics text[], p_kinds text[],
    p_aggregates text[], p_event_times timestamptz[], p_payloads jsonb[],
    p_expected bigint[], p_nows timestamptz[])
RETURNS TABLE (n integer, outcome text, status text, version bigint, stored_id jsonb,
               stored_key jsonb, stored_created_at jsonb)
LANGUAGE plpgsql
-- Every statement is driven by the given arrays: one plan per session, and always
-- through the primary keys, whatever the table statistics said when it was made.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    v_count integer := cardinality(p_ids);
    v_outcome text[] := array_fill('not_found'::text, ARRAY[v_count]);
    v_status text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_version bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
    v_stored_id jsonb[] := array_fill(NULL::jsonb, ARRAY[v_count]);
    v_stored_key jsonb[] := array_fill(NULL::jsonb, ARRAY[v_count]);
    v_stored_created_at jsonb[] := array_fill(NULL::jsonb, ARRAY[v_count]);
    v_line_requests integer[] := '{}';
    v_line_order_ids uuid[] := '{}';
    v_line_positions integer[] := '{}';
    v_event_first integer[] := array_fill(0, ARRAY[v_count]);
    v_event_next integer := 1;
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
    v_won integer[] := '{}';
    v_pos integer;
    v_rpos integer;
    v_k integer;
    v_sold bigint;
    v_res record;
    v_row record;
BEGIN
    FOR i IN 1 .. v_count LOOP
        FOR j IN 1 .. p_line_counts[i] LOOP
            v_line_requests := v_line_requests || i;
            v_line_order_ids := v_line_order_ids || p_ids[i];
            v_line_positions := v_line_positions || j;
        END LOOP;
        v_event_first[i] := v_event_next;
        v_event_next := v_event_next + p_event_counts[i];
    END LOOP;

    SELECT array_agg(o.id ORDER BY o.id), array_agg(o.version ORDER BY o.id)
      INTO v_oids, v_versions
      FROM (SELECT o.id, o.version FROM commerce.orders o
             WHERE o.id = ANY (p_ids)
             ORDER BY o.id
             FOR UPDATE) o;
    FOR i IN 1 .. v_count LOOP
        v_pos := array_position(v_oids, p_ids[i]);
        IF v_pos IS NOT NULL AND v_versions[v_pos] = p_expected[i] THEN
            v_candidates := v_candidates || p_reservation_ids[i];
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
        v_pos := array_position(v_oids, p_ids[i]);
        IF v_pos IS NULL THEN
            CONTINUE;
        END IF;
        IF v_versions[v_pos] <> p_expected[i] THEN
            v_outcome[i] := 'conflict';
            v_version[i] := v_versions[v_pos];
            CONTINUE;
        END IF;
        v_rpos := array_position(v_rids, p_reservation_ids[i]);
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
                e_at := e_at || p_nows[i];
                e_payloads := e_payloads || jsonb_build_object(
                    'type', 'stock_changed', 'sku', v_skus[v_k], 'location', v_locations[v_k],
                    'on_hand', v_on_hand[v_k], 'reserved', v_reserved[v_k],
                    'backordered', v_backordered[v_k]);
            END LOOP;
            e_topics := e_topics || 'inventory.reservation_finished'::text;
            e_kinds := e_kinds || 'reservation'::text;
            e_aggregates := e_aggregates || v_rids[v_rpos]::text;
            e_at := e_at || p_nows[i];
            e_payloads := e_payloads || jsonb_build_object(
                'type', 'reservation_finished', 'id', v_rids[v_rpos], 'status', 'committed');
            c_ids := c_ids || v_rids[v_rpos];
            c_at := c_at || p_nows[i];
            v_rstatus[v_rpos] := 'committed';
        ELSIF v_rstatus[v_rpos] <> 'committed' THEN
            v_outcome[i] := 'illegal';
            v_status[i] := v_rstatus[v_rpos];
            CONTINUE;
        END IF;
        v_versions[v_pos] := v_versions[v_pos] + 1;
        v_outcome[i] := 'updated';
        v_won := v_won || i;
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

    IF cardinality(v_won) > 0 THEN
        FOR v_row IN
            WITH u AS (
                SELECT * FROM unnest(p_ids, p_customer_ids, p_numbers, p_emails, p_currencies,
                                     p_statuses, p_payment_statuses, p_fulfilment_statuses,
                                     p_grand_totals, p_reservation_ids, p_updated_ats,
                                     p_documents)
                         WITH ORDINALITY AS u (id, customer_id, number, email, currency,
                                               status, payment_status, fulfilment_status,
                                               grand_total, reservation_id, updated_at,
                                               document, i)
                 WHERE u.i = ANY (v_won)
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
          FROM unnest(v_line_requests, v_line_order_ids, v_line_positions, p_line_skus,
                      p_line_names, p_line_quantities, p_unit_prices, p_subtotals,
                      p_discounts, p_taxes, p_tax_rates, p_totals, p_line_refunded)
                  AS u (request, order_id, position, sku, name, quantity, unit_price,
                        subtotal, discount, tax, tax_rate, total, refunded)
         WHERE t.order_id = u.order_id AND t.position = u.position
           AND u.request = ANY (v_won)
           AND (t.sku, t.name, t.quantity, t.unit_price, t.subtotal, t.discount, t.tax,
                t.tax_rate, t.total, t.refunded)
               IS DISTINCT FROM
               (u.sku, u.name, u.quantity, u.unit_price, u.subtotal, u.discount, u.tax,
                u.tax_rate, u.total, u.refunded);

        UPDATE commerce.payments t
           SET status = p_payment_statuses[a.i], method = p_methods[a.i],
               authorized = p_authorized[a.i], captured = p_captured[a.i],
               refunded = p_refunded[a.i], provider_reference = p_provider_references[a.i],
               updated_at = p_updated_ats[a.i]
          FROM unnest(v_won) AS a (i)
         WHERE t.order_id = p_ids[a.i];

        INSERT INTO commerce.outbox
            (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
        SELECT p_event_ids[j], p_topics[j], p_kinds[j], p_aggregates[j], p_event_times[j],
               p_payloads[j]
          FROM unnest(v_won) WITH ORDINALITY AS a (i, k),
               LATERAL generate_series(v_event_first[a.i],
                                       v_event_first[a.i] + p_event_counts[a.i] - 1) AS j
         ORDER BY a.k, j;
    END IF;

    RETURN QUERY
        SELECT g.i, v_outcome[g.i], v_status[g.i], v_version[g.i], v_stored_id[g.i],
               v_stored_key[g.i], v_stored_created_at[g.i]
          FROM generate_series(1, v_count) AS g (i)
         ORDER BY g.i;
END
$$;
