//! The invariants, checked against the history, the shared gateway's ledger and
//! PostgreSQL directly (where the API has no view).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use commerce::orders::GatewayPaymentStatus;
use rust_decimal::Decimal;
use sqlx::Row;

use crate::Result;
use crate::cluster::Cluster;
use crate::workload::Workload;

/// One invariant's outcome.
#[derive(Clone, Debug)]
pub struct Check {
    /// Invariant name.
    pub name: &'static str,
    /// Violations found (empty: it holds).
    pub violations: Vec<String>,
    /// What was counted, for the record.
    pub note: String,
}

impl Check {
    /// A check named `name` with its violations and a note.
    pub fn new(name: &'static str, violations: Vec<String>, note: impl Into<String>) -> Check {
        Check {
            name,
            violations,
            note: note.into(),
        }
    }
}

/// All checks of a run.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// Each invariant.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Whether every invariant holds.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.violations.is_empty())
    }

    /// A report, one line per invariant and up to 5 violations each.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = if c.violations.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            out.push_str(&format!("  [{mark}] {:<34} {}\n", c.name, c.note));
            for v in c.violations.iter().take(5) {
                out.push_str(&format!("         - {v}\n"));
            }
            if c.violations.len() > 5 {
                out.push_str(&format!("         ... {} more\n", c.violations.len() - 5));
            }
        }
        out
    }

    /// Adds a check.
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }
}

/// Stock of each SKU before the run (on hand, nothing reserved).
pub async fn stock_snapshot(cluster: &Cluster, skus: &[String]) -> Result<BTreeMap<String, i64>> {
    let rows =
        sqlx::query("SELECT sku, on_hand, reserved FROM commerce.stock_levels WHERE sku = ANY($1)")
            .bind(skus)
            .fetch_all(&cluster.pool)
            .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let reserved: i64 = r.try_get("reserved")?;
        if reserved != 0 {
            return Err("stock snapshot taken while something was reserved".into());
        }
        out.insert(r.try_get("sku")?, r.try_get("on_hand")?);
    }
    Ok(out)
}

/// Waits until no order is pending payment, no authorization is held, every
/// consumer group has acked the whole outbox, every confirmed order's mail arrived
/// and no mail is left claimed without an outcome (a send cut by a kill, resent
/// after the instances' `NOTIFY_RESEND_AFTER_SECS`); at most `timeout`.
/// Returns what was still outstanding when it gave up (empty: settled).
pub async fn settle(cluster: &Cluster, timeout: Duration) -> Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let outstanding = outstanding(cluster)
            .await
            .unwrap_or_else(|e| vec![e.to_string()]);
        if outstanding.is_empty() || tokio::time::Instant::now() > deadline {
            return Ok(outstanding);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn outstanding(cluster: &Cluster) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM commerce.orders WHERE status = 'pending_payment'")
            .fetch_one(&cluster.pool)
            .await?;
    if pending > 0 {
        out.push(format!("{pending} orders pending payment"));
    }
    let held = cluster
        .gateway
        .payments()
        .await?
        .iter()
        .filter(|p| p.status == GatewayPaymentStatus::Authorized)
        .count();
    if held > 0 {
        out.push(format!(
            "{held} payments authorized, not yet captured or voided"
        ));
    }
    for (consumer, behind) in outbox_lag(cluster).await? {
        if behind > 0 {
            out.push(format!("consumer {consumer} {behind} events behind"));
        }
    }
    let mails = confirmation_mails(cluster).await?;
    if !mails.unmailed.is_empty() {
        out.push(format!(
            "{} confirmed orders without their confirmation mail",
            mails.unmailed.len()
        ));
    }
    // A mail claimed without an outcome (a send cut by a kill) is resent once its
    // claim is `NOTIFY_RESEND_AFTER_SECS` old: wait for it, so the resends are seen.
    let claimed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM commerce.notification_deliveries
          WHERE state = 'claimed' AND key LIKE '%:email:%'",
    )
    .fetch_one(&cluster.pool)
    .await?;
    if claimed > 0 {
        out.push(format!("{claimed} mails claimed, not yet sent"));
    }
    Ok(out)
}

/// The order-confirmation mails the shop's SMTP server received, per order.
#[derive(Debug, Default)]
struct ConfirmationMails {
    /// Orders confirmed (paid: not pending payment, not cancelled).
    confirmed: usize,
    /// Confirmation mails received, distinct Message-IDs.
    mails: usize,
    /// Other mails received (payment failed, cancelled, password reset...),
    /// distinct Message-IDs.
    other_mails: usize,
    /// Mails received again with a Message-ID received before: resends of a send
    /// whose outcome was unknown (a kill between the claim and the answer), which
    /// a mailbox collapses. (Message-ID, subject, times received.)
    resends: Vec<(String, String, usize)>,
    /// Confirmed orders without a confirmation mail: (id, number).
    unmailed: Vec<(String, String)>,
    /// Orders with more than one distinct confirmation mail: (id, number, how many).
    duplicated: Vec<(String, String, usize)>,
    /// Confirmation mails for an order that is not confirmed, or none known, or
    /// to another address than the order's: what is wrong.
    strangers: Vec<String>,
}

/// Reads the SMTP server's mail and the orders: a confirmation mail is the one
/// whose subject is `Order <number> confirmed` (the `order_confirmed` template).
/// Mails are told apart by Message-ID (`<event id>.<hash>@commerce`, the same for
/// a resend of one message), as a mailbox provider does.
async fn confirmation_mails(cluster: &Cluster) -> Result<ConfirmationMails> {
    let rows = sqlx::query(
        "SELECT id::text AS id, number, lower(email) AS email, status FROM commerce.orders",
    )
    .fetch_all(&cluster.pool)
    .await?;
    // number -> (id, email, confirmed)
    let mut orders: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
    let mut out = ConfirmationMails::default();
    for r in &rows {
        let number: Option<String> = r.try_get("number")?;
        let status: String = r.try_get("status")?;
        let confirmed = status != "pending_payment" && status != "cancelled";
        out.confirmed += usize::from(confirmed);
        if let Some(number) = number {
            orders.insert(number, (r.try_get("id")?, r.try_get("email")?, confirmed));
        }
    }
    let received = cluster.mail.received();
    // Message-ID -> (subject, times received); a mail without one counts as its own.
    let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut per_order: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, mail) in received.iter().enumerate() {
        let id = mail
            .header("Message-ID")
            .unwrap_or_else(|| format!("<no Message-ID {i}>"));
        let subject = mail.header("Subject").unwrap_or_default();
        let (_, times) = seen
            .entry(id.clone())
            .or_insert_with(|| (subject.clone(), 0));
        *times += 1;
        if *times > 1 {
            continue;
        }
        let Some(number) = subject
            .strip_prefix("Order ")
            .and_then(|s| s.strip_suffix(" confirmed"))
        else {
            out.other_mails += 1;
            continue;
        };
        out.mails += 1;
        match orders.get(number) {
            None => out
                .strangers
                .push(format!("a confirmation mail for order {number}, unknown")),
            Some((id_, email, confirmed)) => {
                if !confirmed {
                    out.strangers.push(format!(
                        "a confirmation mail for order {id_} ({number}), which is not confirmed"
                    ));
                }
                if !mail.to.iter().any(|t| t.eq_ignore_ascii_case(email)) {
                    out.strangers.push(format!(
                        "the confirmation of order {id_} went to {:?}, not {email}",
                        mail.to
                    ));
                }
                per_order.entry(number.to_owned()).or_default().insert(id);
            }
        }
    }
    out.resends = seen
        .into_iter()
        .filter(|(_, (_, n))| *n > 1)
        .map(|(id, (subject, n))| (id, subject, n))
        .collect();
    for (number, (id, _, confirmed)) in &orders {
        match per_order.get(number).map_or(0, BTreeSet::len) {
            0 if *confirmed => out.unmailed.push((id.clone(), number.clone())),
            n if n > 1 => out.duplicated.push((id.clone(), number.clone(), n)),
            _ => {}
        }
    }
    Ok(out)
}

/// Every confirmed order produced its confirmation mail exactly once, counted by
/// distinct Message-ID at the SMTP server every instance sends to (as a mailbox
/// provider collapses a message sent again); none was sent for an order not
/// confirmed, none twice. A send cut by a kill between the delivery log's claim
/// and the SMTP answer is taken over and resent with the same Message-ID once its
/// claim is `NOTIFY_RESEND_AFTER_SECS` old, so a confirmed order without its mail
/// fails the check. Mails received again with the same Message-ID (those resends,
/// when the first send had got through) are counted in the note, not failures.
async fn notifications_exactly_once(cluster: &Cluster, verdict: &mut Verdict) -> Result<()> {
    let mails = confirmation_mails(cluster).await?;
    let mut violations = Vec::new();
    for (id, number) in &mails.unmailed {
        violations.push(format!(
            "order {id} ({number}) is confirmed but no confirmation mail arrived"
        ));
    }
    for (id, number, n) in &mails.duplicated {
        violations.push(format!(
            "order {id} ({number}): {n} distinct confirmation mails"
        ));
    }
    violations.extend(mails.strangers.iter().cloned());
    let (sent, claimed, taken_over): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'sent'), count(*) FILTER (WHERE state = 'claimed'),
                count(*) FILTER (WHERE resends > 0)
           FROM commerce.notification_deliveries",
    )
    .fetch_one(&cluster.pool)
    .await?;
    // Mails still claimed (none once settled): which, since when.
    let open: Vec<(String, chrono::DateTime<chrono::Utc>, i32)> = sqlx::query_as(
        "SELECT key, claimed_at, resends FROM commerce.notification_deliveries
          WHERE state = 'claimed' AND key LIKE '%:email:%' ORDER BY claimed_at LIMIT 5",
    )
    .fetch_all(&cluster.pool)
    .await?;
    let open = if open.is_empty() {
        String::new()
    } else {
        let listed: Vec<String> = open
            .iter()
            .map(|(key, at, resends)| {
                format!(
                    "{key} claimed {} ({resends} resends)",
                    at.format("%H:%M:%S%.3f")
                )
            })
            .collect();
        format!(" (mails: {})", listed.join(", "))
    };
    let resends = if mails.resends.is_empty() {
        "no resend received".to_owned()
    } else {
        let extra: usize = mails.resends.iter().map(|(_, _, n)| n - 1).sum();
        let ids: Vec<String> = mails
            .resends
            .iter()
            .map(|(id, subject, n)| format!("{subject:?} {id} x{n}"))
            .collect();
        format!(
            "{extra} resend(s) received with a Message-ID received before (collapsed \
             by a mailbox): {}",
            ids.join(", ")
        )
    };
    verdict.push(Check::new(
        "confirmation mail exactly once",
        violations,
        format!(
            "{} confirmed orders, {} confirmation mails, {} other mails (distinct \
             Message-IDs); {resends}; delivery log {sent} sent, {claimed} claimed, \
             {taken_over} taken over and resent{open}",
            mails.confirmed, mails.mails, mails.other_mails
        ),
    ));
    Ok(())
}

/// Each consumer group and how many sequenced-or-not events it has not acked.
pub async fn outbox_lag(cluster: &Cluster) -> Result<Vec<(String, i64)>> {
    let sequenced_upto: i64 =
        sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM commerce.outbox")
            .fetch_one(&cluster.pool)
            .await?;
    let unsequenced: i64 =
        sqlx::query_scalar("SELECT count(*) FROM commerce.outbox WHERE seq IS NULL")
            .fetch_one(&cluster.pool)
            .await?;
    let rows = sqlx::query("SELECT consumer, acked_seq FROM commerce.outbox_consumers")
        .fetch_all(&cluster.pool)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let acked: i64 = r.try_get("acked_seq")?;
        out.push((r.try_get("consumer")?, sequenced_upto - acked + unsequenced));
    }
    Ok(out)
}

/// Runs every invariant check. `stock_before` is [`stock_snapshot`] before the load.
pub async fn check(
    cluster: &Cluster,
    workload: &Workload,
    stock_before: &BTreeMap<String, i64>,
) -> Result<Verdict> {
    let mut verdict = Verdict::default();
    payments_match_orders(cluster, &mut verdict).await?;
    one_order_per_key(cluster, workload, &mut verdict).await?;
    stock_conserved(cluster, stock_before, &mut verdict).await?;
    reservations_expire(cluster, &mut verdict).await?;
    outbox_drained(cluster, &mut verdict).await?;
    notifications_exactly_once(cluster, &mut verdict).await?;
    workload.observed(|o| {
        verdict.push(Check::new(
            "cart seen on the next instance",
            o.cart_mismatches.clone(),
            "",
        ));
        verdict.push(Check::new(
            "sessions valid on every instance",
            o.session_failures.clone(),
            "",
        ));
        verdict.push(Check::new(
            "order read back on another instance",
            o.order_mismatches.clone(),
            "",
        ));
        verdict.push(Check::new(
            "every checkout got a final answer",
            o.unresolved_keys.clone(),
            format!(
                "{} confirmed, {} out of stock, {} declined",
                o.confirmed, o.out_of_stock, o.declined
            ),
        ));
    });
    Ok(verdict)
}

/// Every captured payment belongs to exactly one order that is confirmed (or later)
/// with the captured amount; every confirmed order is captured exactly once; no
/// authorization is left hanging.
async fn payments_match_orders(cluster: &Cluster, verdict: &mut Verdict) -> Result<()> {
    let records = cluster.gateway.payments().await?;
    let rows = sqlx::query(
        "SELECT o.id::text AS id, o.status, o.grand_total, p.idempotency_key
           FROM commerce.orders o JOIN commerce.payments p ON p.order_id = o.id",
    )
    .fetch_all(&cluster.pool)
    .await?;
    let mut by_key: BTreeMap<String, Vec<(String, String, Decimal)>> = BTreeMap::new();
    for r in &rows {
        by_key
            .entry(r.try_get("idempotency_key")?)
            .or_default()
            .push((
                r.try_get("id")?,
                r.try_get("status")?,
                r.try_get("grand_total")?,
            ));
    }
    let mut violations = Vec::new();
    let mut hanging = Vec::new();
    let mut captured_orders: BTreeMap<String, u32> = BTreeMap::new();
    let mut captured = 0;
    for record in &records {
        let key = record.idempotency_key.to_string();
        let orders = by_key.get(&key).cloned().unwrap_or_default();
        match record.status {
            GatewayPaymentStatus::Captured => {
                captured += 1;
                if orders.len() != 1 {
                    violations.push(format!(
                        "payment {key} captured {} but belongs to {} orders",
                        record.captured.amount(),
                        orders.len()
                    ));
                    continue;
                }
                let (id, status, total) = &orders[0];
                *captured_orders.entry(id.clone()).or_default() += 1;
                if status == "pending_payment" || status == "cancelled" {
                    violations.push(format!(
                        "payment {key} captured {} for order {id} which is {status}",
                        record.captured.amount()
                    ));
                }
                if record.captured.amount() != *total {
                    violations.push(format!(
                        "order {id}: captured {} but the total is {total}",
                        record.captured.amount()
                    ));
                }
            }
            GatewayPaymentStatus::Authorized => hanging.push(format!(
                "payment {key} still authorized (held, neither captured nor voided) for {:?}",
                orders.iter().map(|o| (&o.0, &o.1)).collect::<Vec<_>>()
            )),
            _ => {}
        }
    }
    for (id, n) in &captured_orders {
        if *n > 1 {
            violations.push(format!("order {id} charged {n} times"));
        }
    }
    let mut confirmed = 0;
    for r in &rows {
        let status: String = r.try_get("status")?;
        if status == "confirmed" {
            confirmed += 1;
            let id: String = r.try_get("id")?;
            if !captured_orders.contains_key(&id) {
                violations.push(format!("order {id} is confirmed but nothing was captured"));
            }
        }
    }
    let stats = cluster.gateway.stats();
    verdict.push(Check::new(
        "captured payment <-> one confirmed order",
        violations,
        format!(
            "{captured} captured, {confirmed} confirmed orders, gateway: {} authorize calls, {} holds, {} captures, {} voids",
            stats.authorize_calls, stats.authorizations, stats.captures, stats.voids
        ),
    ));
    verdict.push(Check::new(
        "no authorization left hanging",
        hanging,
        format!("{} payments at the gateway", records.len()),
    ));
    Ok(())
}

/// One order per client idempotency key, in every answer and in the database.
async fn one_order_per_key(
    cluster: &Cluster,
    workload: &Workload,
    verdict: &mut Verdict,
) -> Result<()> {
    let mut violations = Vec::new();
    let answered = workload.observed(|o| o.orders_by_key.clone());
    for (key, ids) in &answered {
        let distinct: BTreeSet<&String> = ids.iter().collect();
        if distinct.len() > 1 {
            violations.push(format!("key {key} answered orders {distinct:?}"));
        }
    }
    let keys: Vec<String> = sqlx::query_scalar("SELECT idempotency_key FROM commerce.orders")
        .fetch_all(&cluster.pool)
        .await?;
    let mut per_client_key: BTreeMap<String, u32> = BTreeMap::new();
    for k in &keys {
        let client = k.rsplit('/').next().unwrap_or(k).to_owned();
        *per_client_key.entry(client).or_default() += 1;
    }
    for (key, n) in &per_client_key {
        if *n > 1 {
            violations.push(format!("key {key} has {n} orders in the database"));
        }
    }
    verdict.push(Check::new(
        "one order per idempotency key",
        violations,
        format!("{} keys, {} orders", answered.len(), keys.len()),
    ));
    Ok(())
}

/// on hand + sold == received for every SKU; reserved == the active reservations;
/// what was sold == what confirmed orders hold.
async fn stock_conserved(
    cluster: &Cluster,
    before: &BTreeMap<String, i64>,
    verdict: &mut Verdict,
) -> Result<()> {
    let mut violations = Vec::new();
    let mut notes = Vec::new();
    for (sku, received) in before {
        let row = sqlx::query(
            "SELECT s.on_hand, s.reserved,
                    (SELECT coalesce(sum(u.q), 0)::bigint FROM commerce.reservations r,
                            unnest(r.skus, r.quantities) AS u(sku, q)
                      WHERE r.status = 'committed' AND u.sku = s.sku) AS committed,
                    (SELECT coalesce(sum(u.q), 0)::bigint FROM commerce.reservations r,
                            unnest(r.skus, r.quantities) AS u(sku, q)
                      WHERE r.status = 'active' AND u.sku = s.sku) AS active,
                    (SELECT coalesce(sum(l.quantity), 0)::bigint FROM commerce.order_lines l
                       JOIN commerce.orders o ON o.id = l.order_id
                      WHERE l.sku = s.sku AND o.status NOT IN ('pending_payment', 'cancelled')) AS sold
               FROM commerce.stock_levels s WHERE s.sku = $1",
        )
        .bind(sku)
        .fetch_one(&cluster.pool)
        .await?;
        let on_hand: i64 = row.try_get("on_hand")?;
        let reserved: i64 = row.try_get("reserved")?;
        let committed: i64 = row.try_get("committed")?;
        let active: i64 = row.try_get("active")?;
        let sold: i64 = row.try_get("sold")?;
        // With reservations pruned (committed ones deleted after the retention),
        // the units sold are what confirmed orders hold.
        let pruned = cluster.options.pruning.is_some();
        let committed = if pruned { sold } else { committed };
        if on_hand + committed != *received {
            violations.push(format!(
                "{sku}: on hand {on_hand} + committed {committed} != received {received}"
            ));
        }
        if reserved != active {
            violations.push(format!(
                "{sku}: reserved {reserved} but active reservations hold {active}"
            ));
        }
        if sold != committed {
            violations.push(format!(
                "{sku}: confirmed orders hold {sold} but reservations committed {committed}"
            ));
        }
        if notes.is_empty() {
            notes.push(format!(
                "hot {sku}: received {received}, sold {sold}, on hand {on_hand}, reserved {reserved}"
            ));
        }
    }
    verdict.push(Check::new(
        "stock: on hand + sold == received",
        violations,
        notes.join("; "),
    ));
    Ok(())
}

/// Active reservations past their expiry plus the sweep interval (and slack), in
/// the instances' time (the system time plus their clock offset): id and expiry.
pub async fn overdue_reservations(cluster: &Cluster) -> Result<Vec<String>> {
    let slack_ms = i64::try_from(cluster.options.worker_every_ms).unwrap_or(1000) + 2000;
    let rows = sqlx::query(
        "SELECT id::text AS id, expires_at::text AS expires FROM commerce.reservations
          WHERE status = 'active'
            AND expires_at < now() + make_interval(secs => ($2 - $1)::double precision / 1000)",
    )
    .bind(slack_ms)
    .bind(cluster.clock_offset_ms())
    .fetch_all(&cluster.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let expires: String = r.try_get("expires")?;
        out.push(format!(
            "reservation {id} expired at {expires}, still active"
        ));
    }
    Ok(out)
}

/// No reservation is active past its expiry plus the sweep interval (and slack),
/// at the end and right after each clock jump.
async fn reservations_expire(cluster: &Cluster, verdict: &mut Verdict) -> Result<()> {
    let mut violations = overdue_reservations(cluster).await?;
    if let Ok(after_jumps) = cluster.expiry_violations.lock() {
        violations.extend(after_jumps.iter().cloned());
    }
    let counts = sqlx::query(
        "SELECT status, count(*) AS n FROM commerce.reservations GROUP BY status ORDER BY status",
    )
    .fetch_all(&cluster.pool)
    .await?;
    let mut note = Vec::new();
    for r in counts {
        let status: String = r.try_get("status")?;
        let n: i64 = r.try_get("n")?;
        note.push(format!("{status} {n}"));
    }
    verdict.push(Check::new(
        "no reservation active past expiry",
        violations,
        note.join(", "),
    ));
    Ok(())
}

async fn outbox_drained(cluster: &Cluster, verdict: &mut Verdict) -> Result<()> {
    let lag = outbox_lag(cluster).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM commerce.outbox")
        .fetch_one(&cluster.pool)
        .await?;
    let violations = lag
        .iter()
        .filter(|(_, behind)| *behind > 0)
        .map(|(c, behind)| format!("consumer {c} is {behind} events behind"))
        .collect();
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM commerce.orders WHERE status = 'pending_payment'")
            .fetch_one(&cluster.pool)
            .await?;
    let mut v: Vec<String> = violations;
    if !v.is_empty() {
        v.extend(worker_errors(cluster).await);
    }
    if pending > 0 {
        v.push(format!(
            "{pending} orders still pending payment (recovery did not finish them)"
        ));
    }
    verdict.push(Check::new(
        "outbox drained, no order left pending",
        v,
        format!(
            "{total} events, consumers: {}",
            lag.iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ));
    Ok(())
}

/// The workers reporting an error on each instance's `/workers` board.
pub async fn worker_errors(cluster: &Cluster) -> Vec<String> {
    let mut out = Vec::new();
    for (i, addr) in cluster.addrs.iter().enumerate() {
        let Ok(a) = crate::client::send(
            addr,
            &crate::client::Req::new("GET", "/workers"),
            Duration::from_secs(10),
        )
        .await
        else {
            continue;
        };
        for w in a.body.as_array().into_iter().flatten() {
            if let Some(e) = w["last_error"].as_str() {
                out.push(format!("instance {i} worker {}: {e}", w["name"]));
            }
        }
    }
    out
}
