-- commerce-postgres: the batched checkout steps take their batch as one JSON
-- parameter (an array of order records, `src/order_record.rs`: fields named as the
-- columns of orders, order_lines, payments, refunds and outbox) instead of 45 (40)
-- parallel arrays bound one by one. `order_batch_arrays` is the one place that
-- turns a batch into the per-order and flattened arrays `place_orders` and
-- `confirm_orders` (migration 0005) work on; both entry points below use it, so
-- the shape of a batch is written once, and each batch is still one statement.

-- The arrays of `place_orders`/`confirm_orders` `p_ids .. p_payloads` for the
-- orders of `p_orders`, in array order (lines and events flattened in order, with
-- counts per order).
CREATE FUNCTION commerce.order_batch_arrays(
    p_orders jsonb,
    OUT ids uuid[], OUT keys text[], OUT customer_ids uuid[], OUT numbers text[],
    OUT emails text[], OUT currencies text[], OUT statuses text[],
    OUT payment_statuses text[], OUT fulfilment_statuses text[],
    OUT grand_totals numeric[], OUT reservation_ids uuid[], OUT created_ats timestamptz[],
    OUT updated_ats timestamptz[], OUT documents jsonb[], OUT line_counts integer[],
    OUT line_skus text[], OUT line_names text[], OUT line_quantities integer[],
    OUT unit_prices numeric[], OUT subtotals numeric[], OUT discounts numeric[],
    OUT taxes numeric[], OUT tax_rates numeric[], OUT totals numeric[],
    OUT line_refunded numeric[],
    OUT payment_keys text[], OUT methods text[], OUT authorized numeric[],
    OUT captured numeric[], OUT refunded numeric[], OUT provider_references text[],
    OUT event_counts integer[], OUT event_ids uuid[], OUT topics text[], OUT kinds text[],
    OUT aggregates text[], OUT event_times timestamptz[], OUT payloads jsonb[])
LANGUAGE sql STABLE AS $$
    WITH b AS (
        SELECT a.v, a.i FROM jsonb_array_elements(p_orders) WITH ORDINALITY AS a (v, i)
    )
    SELECT o.*, l.*, p.*, e.*
      FROM (SELECT coalesce(array_agg(r.id ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.idempotency_key ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.customer_id ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.number ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.email ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.currency ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.status ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.payment_status ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.fulfilment_status ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.grand_total ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.reservation_id ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.created_at ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.updated_at ORDER BY b.i), '{}'),
                   coalesce(array_agg(r.document ORDER BY b.i), '{}'),
                   coalesce(array_agg(jsonb_array_length(b.v -> 'lines') ORDER BY b.i), '{}')
              FROM b, jsonb_populate_record(NULL::commerce.orders, b.v) AS r) o,
           (SELECT coalesce(array_agg(u.sku ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.name ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.quantity ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.unit_price ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.subtotal ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.discount ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.tax ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.tax_rate ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.total ORDER BY b.i, u.position), '{}'),
                   coalesce(array_agg(u.refunded ORDER BY b.i, u.position), '{}')
              FROM b, jsonb_populate_recordset(NULL::commerce.order_lines, b.v -> 'lines') AS u) l,
           (SELECT coalesce(array_agg(u.idempotency_key ORDER BY b.i), '{}'),
                   coalesce(array_agg(u.method ORDER BY b.i), '{}'),
                   coalesce(array_agg(u.authorized ORDER BY b.i), '{}'),
                   coalesce(array_agg(u.captured ORDER BY b.i), '{}'),
                   coalesce(array_agg(u.refunded ORDER BY b.i), '{}'),
                   coalesce(array_agg(u.provider_reference ORDER BY b.i), '{}')
              FROM b, jsonb_populate_record(NULL::commerce.payments, b.v -> 'payment') AS u) p,
           (SELECT (SELECT coalesce(array_agg(jsonb_array_length(b.v -> 'events') ORDER BY b.i), '{}')
                      FROM b),
                   coalesce(array_agg(u.event_id ORDER BY b.i, x.n), '{}'),
                   coalesce(array_agg(u.topic ORDER BY b.i, x.n), '{}'),
                   coalesce(array_agg(u.aggregate_type ORDER BY b.i, x.n), '{}'),
                   coalesce(array_agg(u.aggregate_id ORDER BY b.i, x.n), '{}'),
                   coalesce(array_agg(u.occurred_at ORDER BY b.i, x.n), '{}'),
                   coalesce(array_agg(u.payload ORDER BY b.i, x.n), '{}')
              FROM b, jsonb_array_elements(b.v -> 'events') WITH ORDINALITY AS x (v, n),
                   jsonb_populate_record(NULL::commerce.outbox, x.v) AS u) e
$$;

-- Places the batch `p_orders` as `place_orders` does: each element an order record
-- with its `reservation` (`reference`, `location`, `lines` of `sku` and `quantity`,
-- summed per SKU and sorted, `now`, `expires_at`).
CREATE FUNCTION commerce.place_order_batch(p_orders jsonb)
RETURNS TABLE (n integer, outcome text, short_sku text, short_requested bigint,
               short_available bigint)
LANGUAGE sql AS $$
    WITH b AS (
        SELECT a.v -> 'reservation' AS v, a.i
          FROM jsonb_array_elements(p_orders) WITH ORDINALITY AS a (v, i)
    ),
    r AS (
        SELECT coalesce(array_agg(b.v ->> 'reference' ORDER BY b.i), '{}') AS refs,
               coalesce(array_agg(b.v ->> 'location' ORDER BY b.i), '{}') AS locations,
               coalesce(array_agg(jsonb_array_length(b.v -> 'lines') ORDER BY b.i), '{}') AS counts,
               coalesce(array_agg((b.v ->> 'now')::timestamptz ORDER BY b.i), '{}') AS nows,
               coalesce(array_agg((b.v ->> 'expires_at')::timestamptz ORDER BY b.i), '{}')
                   AS expires_at
          FROM b
    ),
    rl AS (
        SELECT coalesce(array_agg(x.v ->> 'sku' ORDER BY b.i, x.n), '{}') AS skus,
               coalesce(array_agg((x.v ->> 'quantity')::bigint ORDER BY b.i, x.n), '{}')
                   AS quantities
          FROM b, jsonb_array_elements(b.v -> 'lines') WITH ORDINALITY AS x (v, n)
    )
    SELECT p.*
      FROM commerce.order_batch_arrays(p_orders) a, r, rl,
           commerce.place_orders(
               a.ids, a.keys, a.customer_ids, a.numbers, a.emails, a.currencies, a.statuses,
               a.payment_statuses, a.fulfilment_statuses, a.grand_totals, a.reservation_ids,
               a.created_ats, a.updated_ats, a.documents, a.line_counts, a.line_skus,
               a.line_names, a.line_quantities, a.unit_prices, a.subtotals, a.discounts,
               a.taxes, a.tax_rates, a.totals, a.line_refunded, a.payment_keys, a.methods,
               a.authorized, a.captured, a.refunded, a.provider_references, a.event_counts,
               a.event_ids, a.topics, a.kinds, a.aggregates, a.event_times, a.payloads,
               r.refs, r.locations, r.counts, rl.skus, rl.quantities, r.nows, r.expires_at) p
     ORDER BY p.n
$$;

-- Commits and updates the batch `p_orders` as `confirm_orders` does: each element
-- an order record with its `expected_version` and the commit time `now`.
CREATE FUNCTION commerce.confirm_order_batch(p_orders jsonb)
RETURNS TABLE (n integer, outcome text, status text, version bigint, stored_id jsonb,
               stored_key jsonb, stored_created_at jsonb)
LANGUAGE sql AS $$
    WITH c AS (
        SELECT coalesce(array_agg((a.v ->> 'expected_version')::bigint ORDER BY a.i), '{}')
                   AS expected,
               coalesce(array_agg((a.v ->> 'now')::timestamptz ORDER BY a.i), '{}') AS nows
          FROM jsonb_array_elements(p_orders) WITH ORDINALITY AS a (v, i)
    )
    SELECT p.*
      FROM commerce.order_batch_arrays(p_orders) a, c,
           commerce.confirm_orders(
               a.ids, a.keys, a.customer_ids, a.numbers, a.emails, a.currencies, a.statuses,
               a.payment_statuses, a.fulfilment_statuses, a.grand_totals, a.reservation_ids,
               a.created_ats, a.updated_ats, a.documents, a.line_counts, a.line_skus,
               a.line_names, a.line_quantities, a.unit_prices, a.subtotals, a.discounts,
               a.taxes, a.tax_rates, a.totals, a.line_refunded, a.payment_keys, a.methods,
               a.authorized, a.captured, a.refunded, a.provider_references, a.event_counts,
               a.event_ids, a.topics, a.kinds, a.aggregates, a.event_times, a.payloads,
               c.expected, c.nows) p
     ORDER BY p.n
$$;
