//! The workers started with the server: expiry sweeper, checkout recovery, the
//! analytics rollups, the search indexer, the product cache invalidation, the
//! recommendation consumers and notifications (in process, or the RabbitMQ relay and
//! queue workers with `AMQP_URL`), each on a configurable cadence, reporting their
//! last pass, failures and lag (for outbox consumers: events not yet acknowledged and
//! the age of the oldest) to the `/workers` board.

use std::time::Duration;

use std::sync::Arc;

use commerce::Shop;
use commerce::core::EventConsumer;
use commerce::core::search::ProductSearch;
use commerce::notify::{EmailTransport, EventHandler, outbox_runner};
use commerce_http::{WorkerBoard, WorkerStatus};
use commerce_rabbitmq::{Broker, OutboxRelay, QueueWorker, Topology};
use commerce_search::{CONSUMER, SearchIndexer};
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn every_ms(every: Duration) -> u64 {
    u64::try_from(every.as_millis()).unwrap_or(u64::MAX)
}

fn report(
    board: &WorkerBoard,
    name: &str,
    every: Duration,
    outcome: Result<u64, String>,
    now: chrono::DateTime<chrono::Utc>,
) {
    // A scheduled pass that succeeded ran until nothing was due: nothing is left.
    let status = WorkerStatus::pass(name, every_ms(every), now, outcome.clone());
    board.report(if outcome.is_ok() {
        status.with_lag(0, None)
    } else {
        status
    });
}

/// Reports a pass of an outbox consumer with its group's lag (events not yet
/// acknowledged, age of the oldest), read right after the pass.
async fn report_consumer(
    board: &WorkerBoard,
    shop: &Shop,
    name: &str,
    group: &str,
    every: Duration,
    outcome: Result<u64, String>,
) {
    let now = shop.clock().now();
    let mut status = WorkerStatus::pass(name, every_ms(every), now, outcome);
    match shop.outbox().lag(group).await {
        Ok(lag) => {
            let age = lag
                .oldest_at
                .map(|t| u64::try_from((now - t).num_milliseconds().max(0)).unwrap_or(u64::MAX));
            status = status.with_lag(lag.pending, Some(age.unwrap_or(0)));
        }
        Err(e) => tracing::warn!(worker = name, error = %e, "outbox lag not read"),
    }
    board.report(status);
}

/// Starts an outbox consumer: claims, handles and acks until the outbox has nothing
/// new for its group, on the cadence, reporting its lag after each catch-up and, in a
/// long one (the group behind under load), at least once per cadence, so that
/// `/workers` shows a lag falling or flat instead of the reading before the catch-up
/// began. One runner for the worker's life, so a failing event's attempts carry
/// over from tick to tick until it is parked. Stops when `stop` turns true.
pub(crate) fn start_consumer<C>(
    shop: Shop,
    consumer: C,
    name: &'static str,
    board: WorkerBoard,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()>
where
    C: EventConsumer + 'static,
{
    let config = commerce::core::RunnerConfig::default();
    start_consumer_with(shop, consumer, config, name, board, every, stop)
}

/// The lease of every outbox runner here, kept alive by a heartbeat while a batch
/// is handled ([`kept_alive`]): a killed instance's batch is taken over by another
/// instance within this (it was 30 s, the runner's default, before the heartbeat).
pub(crate) const LEASE: Duration = Duration::from_secs(6);

/// `runner` with the lease [`LEASE`] and a heartbeat on tokio's timer.
pub(crate) fn kept_alive(runner: commerce::core::Runner) -> commerce::core::Runner {
    let timer: commerce::core::Timer = Arc::new(|wait| Box::pin(tokio::time::sleep(wait)));
    let config = runner.config().with_lease(LEASE);
    runner.with_config(config).with_heartbeat(timer)
}

/// Batch of the consumers of an in-process cache (an eviction per event, no I/O):
/// large, so that they need few claims (every claim of every group takes the
/// outbox's sequencer lock in turn).
pub(crate) const CACHE_BATCH: u32 = 1_000;

/// [`start_consumer`] with `config` (its batch; the lease is [`LEASE`], kept alive).
pub(crate) fn start_consumer_with<C>(
    shop: Shop,
    consumer: C,
    config: commerce::core::RunnerConfig,
    name: &'static str,
    board: WorkerBoard,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()>
where
    C: EventConsumer + 'static,
{
    let group = consumer.group().to_owned();
    let runner = kept_alive(commerce::core::Runner::new(
        shop.outbox().clone(),
        Arc::new(consumer),
        config,
    ));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let outcome = catch_up(&runner, &shop, &board, name, every, &stop).await;
            report_consumer(&board, &shop, name, &group, every, outcome).await;
        }
    })
}

/// Passes of `runner` until a claim comes back empty, a failing event waits for
/// its retry or the outbox fails; reports the lag at least once per `every` on the
/// way (a long catch-up under load). The events handled, or the error.
async fn catch_up(
    runner: &commerce::core::Runner,
    shop: &Shop,
    board: &WorkerBoard,
    name: &str,
    every: Duration,
    stop: &watch::Receiver<bool>,
) -> Result<u64, String> {
    let mut handled = 0u64;
    let mut reported = tokio::time::Instant::now();
    loop {
        match runner.run_once().await {
            Ok(p) if p.retry_in.is_some() => {
                return Err(format!(
                    "consumer {} failed on an event; will retry",
                    runner.group()
                ));
            }
            Ok(p) if !p.progressed() => return Ok(handled),
            Ok(p) => handled += p.handled as u64,
            Err(e) => return Err(e.to_string()),
        }
        if reported.elapsed() >= every {
            report_consumer(board, shop, name, runner.group(), every, Ok(handled)).await;
            reported = tokio::time::Instant::now();
            if *stop.borrow() {
                return Ok(handled);
            }
        }
    }
}

/// Starts the search indexer of this process's in-RAM index: a full reindex from
/// the catalog first (the index starts empty), then the outbox on the cadence under
/// a consumer group of this instance (`search-indexer@<instance>`, see `INSTANCE_ID`): every
/// instance has its own index, so each must see every event (one shared group would
/// give each event to one instance only). Stops when `stop` turns true.
pub(crate) fn start_indexer(
    shop: Shop,
    search: Arc<dyn ProductSearch>,
    board: WorkerBoard,
    every: Duration,
    instance: &str,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let indexer = SearchIndexer::new(
        search.clone(),
        shop.catalog().clone(),
        Some(shop.orders().clone()),
    );
    let group = format!("{CONSUMER}@{instance}");
    let runner = kept_alive(indexer.runner(shop.outbox().clone(), group.clone()));
    tokio::spawn(async move {
        // Until the catalog answers (it may be restarting), retry on the cadence.
        // The group joins the outbox first: the reindex may take longer than a
        // pruner interval, and a prune meanwhile would delete the events written
        // since (ratings, stock, prices) before the group's first claim.
        loop {
            let rebuilt = match runner.join().await {
                Ok(()) => commerce_search::reindex(search.as_ref(), shop.catalog().as_ref())
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("outbox join: {e}")),
            };
            match rebuilt {
                Ok(r) => {
                    report_consumer(
                        &board,
                        &shop,
                        "search_indexer",
                        &group,
                        every,
                        Ok(r.indexed),
                    )
                    .await;
                    break;
                }
                Err(e) => {
                    let outcome = Err(format!("reindex: {e}"));
                    report_consumer(&board, &shop, "search_indexer", &group, every, outcome).await;
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            // Catch up (batches), then wait for the next tick.
            let outcome = catch_up(&runner, &shop, &board, "search_indexer", every, &stop).await;
            report_consumer(&board, &shop, "search_indexer", &group, every, outcome).await;
        }
    })
}

/// Starts the workers; they stop when `stop` turns true.
pub(crate) fn start(
    shop: Shop,
    board: WorkerBoard,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let sweeper = {
        let (shop, board, mut stop) = (shop.clone(), board.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => break,
                }
                let outcome = commerce::inventory::sweeper::sweep_once(
                    shop.inventory().as_ref(),
                    shop.clock().as_ref(),
                    500,
                )
                .await
                .map(|ids| ids.len() as u64)
                .map_err(|e| e.to_string());
                report(&board, "expiry_sweeper", every, outcome, shop.clock().now());
            }
        })
    };
    let analytics = start_consumer(
        shop.clone(),
        shop.analytics_consumer(),
        "analytics_rollups",
        board.clone(),
        every,
        stop.clone(),
    );
    let recovery = {
        let (shop, board, mut stop) = (shop, board, stop);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => break,
                }
                let now = shop.clock().now();
                let status = match shop.checkout().recover(now).await {
                    // Orders it could not resolve are still pending: its lag.
                    Ok(r) => WorkerStatus::pass(
                        "checkout_recovery",
                        every_ms(every),
                        shop.clock().now(),
                        Ok((r.confirmed.len() + r.cancelled.len()) as u64),
                    )
                    .with_lag(r.failed.len() as u64, None),
                    Err(e) => WorkerStatus::pass(
                        "checkout_recovery",
                        every_ms(every),
                        shop.clock().now(),
                        Err(e.to_string()),
                    ),
                };
                board.report(status);
            }
        })
    };
    vec![sweeper, analytics, recovery]
}

/// Rows one pruning statement deletes (one short transaction each).
const PRUNE_BATCH: u32 = 1_000;

/// Most batches of each kind one pruner pass deletes; the rest waits for the next.
const PRUNE_BATCHES_PER_PASS: u32 = 100;

/// Starts the pruner (the policy in docs/architecture.md, "Pruning"): on its
/// cadence it drops outbox groups not seen for the group retention, deletes the
/// outbox events every remaining group acknowledged, then the reservations finished
/// longer than the reservation retention ago, each in batches of [`PRUNE_BATCH`].
/// Safe on every instance at once (each batch deletes what another has not).
pub(crate) fn start_pruner(
    shop: Shop,
    pruning: crate::config::Pruning,
    board: WorkerBoard,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The first pass waits one interval: the consumer groups join the outbox as
        // their workers start (see `start_indexer`), and a group first seen after a
        // prune would start past the events deleted before it.
        let start = tokio::time::Instant::now() + pruning.every;
        let mut tick = tokio::time::interval_at(start, pruning.every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let outcome = prune_once(&shop, pruning).await;
            report(&board, "pruner", pruning.every, outcome, shop.clock().now());
        }
    })
}

/// One pruner pass: the rows deleted (outbox events and reservations).
async fn prune_once(shop: &Shop, pruning: crate::config::Pruning) -> Result<u64, String> {
    let mut deleted = 0u64;
    for _ in 0..PRUNE_BATCHES_PER_PASS {
        let pruned = shop
            .outbox()
            .prune(pruning.group_retention, PRUNE_BATCH)
            .await
            .map_err(|e| format!("outbox: {e}"))?;
        for group in &pruned.dropped_groups {
            tracing::info!(group = %group, "outbox group not seen within the retention: dropped");
        }
        deleted += pruned.deleted;
        if pruned.deleted < u64::from(PRUNE_BATCH) {
            break;
        }
    }
    let retention = chrono::Duration::from_std(pruning.reservation_retention)
        .map_err(|e| format!("reservation retention: {e}"))?;
    let before = shop.clock().now() - retention;
    for _ in 0..PRUNE_BATCHES_PER_PASS {
        let n = shop
            .inventory()
            .prune_finished(before, PRUNE_BATCH)
            .await
            .map_err(|e| format!("reservations: {e}"))?;
        deleted += n;
        if n < u64::from(PRUNE_BATCH) {
            break;
        }
    }
    Ok(deleted)
}

/// How long a notification queue worker waits before it connects again after
/// the broker went away (a restart).
const BROKER_RETRY: Duration = Duration::from_secs(1);

/// How often the notification runner or relay looks at the outbox: at most 200 ms,
/// so a confirmation mail leaves well within a second.
fn notification_cadence(every: Duration) -> Duration {
    every.min(Duration::from_millis(200))
}

/// The notification handler, logging (`warn`) every failure of an event (a retry:
/// a mail in flight, the SMTP server away; or a final one), every send whose
/// outcome is unknown and every mail resent after taking over a stale claim.
struct Logged(Arc<dyn EventHandler>);

#[async_trait::async_trait]
impl EventHandler for Logged {
    async fn handle(
        &self,
        event: &commerce::core::EventEnvelope,
    ) -> commerce::notify::Result<commerce::notify::Outcome> {
        let outcome = self.0.handle(event).await;
        match &outcome {
            Err(e) => tracing::warn!(
                event = %event.id,
                topic = %event.topic,
                retryable = e.is_retryable(),
                error = %e,
                "notification failed"
            ),
            Ok(o) if o.resent > 0 || o.unknown > 0 => tracing::warn!(
                event = %event.id,
                topic = %event.topic,
                resent = o.resent,
                unknown = o.unknown,
                "notification resent after a takeover, or outcome unknown"
            ),
            Ok(_) => {}
        }
        outcome
    }
}

/// Starts notifications: the shop's notification handler sending mail through
/// `email` (from `MAIL_FROM`), taking over a mail's claim left without an outcome
/// (a send cut by a crash) after `NOTIFY_RESEND_AFTER_SECS`. Without `AMQP_URL` one
/// in-process runner reads the outbox (consumer group `notifications`, the
/// notification retry budget of `commerce_notify::runner_config`, each retry after
/// its backoff, a batch's events 8 at a time); with it, the outbox relay publishes
/// to RabbitMQ (publisher confirms) and `NOTIFICATION_WORKERS` queue workers, each
/// handling 8 deliveries at a time, consume the notification queue (retries with
/// backoff, the same budget, then the dead-letter queue); both
/// go on after a broker restart (a new connection, see `commerce_rabbitmq::Broker`).
/// Stops when `stop` turns true.
pub(crate) async fn start_notifications(
    shop: Shop,
    email: Arc<dyn EmailTransport>,
    config: &crate::config::Config,
    board: WorkerBoard,
    stop: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, Box<dyn std::error::Error + Send + Sync>> {
    let (from, amqp_url, workers) = (
        config.mail_from.as_str(),
        config.amqp_url.as_deref(),
        config.notification_workers,
    );
    let handler: Arc<dyn EventHandler> = Arc::new(Logged(Arc::new(
        shop.notification_handler(email, from)?
            .with_resend_after(config.notify_resend_after),
    )));
    let every = notification_cadence(config.worker_every);
    let Some(url) = amqp_url else {
        let runner = kept_alive(outbox_runner(
            shop.outbox().clone(),
            handler,
            "notifications",
            commerce::notify::runner_config(),
        ));
        let mut stop = stop;
        return Ok(vec![tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            // A failing event (a mail in flight, the SMTP server down) is retried
            // after the backoff the runner asks for, not at the next tick: its
            // attempts are counted against the retry budget.
            let mut retry_at: Option<tokio::time::Instant> = None;
            let report = |outcome| {
                report_consumer(
                    &board,
                    &shop,
                    "notifications",
                    "notifications",
                    every,
                    outcome,
                )
            };
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => break,
                }
                if retry_at.is_some_and(|at| tokio::time::Instant::now() < at) {
                    continue;
                }
                retry_at = None;
                // Pass after pass while they make progress, reporting the lag at
                // least once per cadence on the way (a long catch-up under load), as
                // `catch_up` does for the other consumers.
                let mut handled = 0u64;
                let mut reported = tokio::time::Instant::now();
                let outcome = loop {
                    // Parked events count as handled here: the runner reports them.
                    match runner.run_once().await {
                        Ok(p) if !p.progressed() => {
                            handled += (p.handled + p.parked) as u64;
                            if let Some(wait) = p.retry_in {
                                retry_at = Some(tokio::time::Instant::now() + wait);
                                break Err(format!(
                                    "an event failed; retry in {} ms ({handled} handled)",
                                    wait.as_millis()
                                ));
                            }
                            break Ok(handled);
                        }
                        Ok(p) => handled += (p.handled + p.parked) as u64,
                        Err(e) => break Err(e.to_string()),
                    }
                    if reported.elapsed() >= every {
                        report(Ok(handled)).await;
                        reported = tokio::time::Instant::now();
                        if *stop.borrow() {
                            break Ok(handled);
                        }
                    }
                };
                report(outcome).await;
            }
        })]);
    };
    // One connection for the relay and the workers, opened again after a broker
    // restart (each opens a new channel then); a broker that cannot be reached at
    // start fails the start.
    let broker = Arc::new(Broker::connect(url).await?);
    let topology = Topology::notifications();
    let relay = OutboxRelay::on_broker(broker.clone(), shop.outbox().clone(), &topology).await?;
    let mut handles = Vec::with_capacity(workers + 1);
    for i in 0..workers {
        let (board, shop, mut stop) = (board.clone(), shop.clone(), stop.clone());
        let (broker, topology, handler) = (broker.clone(), topology.clone(), handler.clone());
        let name = format!("notification_worker_{i}");
        handles.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.changed().await;
            };
            // Its backlog is the queue's depth in RabbitMQ: not read here, so no
            // lag. Every (re)connection reports a pass, every failure an error.
            let report = |outcome: Result<(), &commerce_rabbitmq::RabbitError>| {
                board.report(WorkerStatus::pass(
                    name.clone(),
                    every_ms(every),
                    shop.clock().now(),
                    outcome.map(|()| 0).map_err(|e| e.to_string()),
                ));
            };
            QueueWorker::run_reconnecting(
                &broker,
                topology,
                handler,
                BROKER_RETRY,
                stopped,
                report,
            )
            .await;
        }));
    }
    let mut stop = stop;
    handles.push(tokio::spawn(async move {
        // A pass while the broker is down fails (and gives its batch back); the
        // first one after it is back reconnects.
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let mut handled = 0u64;
            let outcome = loop {
                match relay.relay_once().await {
                    Ok(0) => break Ok(handled),
                    Ok(n) => handled += n as u64,
                    Err(e) => break Err(e.to_string()),
                }
            };
            report(&board, "rabbitmq_relay", every, outcome, shop.clock().now());
        }
    }));
    Ok(handles)
}

/// Starts the recommendation consumers: product signals (terms, categories,
/// availability) and confirmed purchases (co-purchase counts, popularity, each
/// customer's purchases and "for you" list).
pub(crate) fn start_recommendations(
    shop: Shop,
    instance: &str,
    board: WorkerBoard,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    // The cache's consumer group is this instance's (`INSTANCE_ID`): a restarted
    // instance resumes it, so no group is left behind by a process that died (a
    // group named for the process was, forever). Events from five minutes before
    // the start on are handled (the outbox lag); the cache starts empty anyway.
    let now = shop.clock().now();
    let cache = shop
        .recommend_cache_consumer(instance, now - chrono::Duration::minutes(5))
        .map(|consumer| {
            start_consumer(
                shop.clone(),
                consumer,
                "recommend_cache",
                board.clone(),
                every,
                stop.clone(),
            )
        });
    let mut handles = vec![
        start_consumer(
            shop.clone(),
            shop.recommend_signals_consumer(),
            "recommend_signals",
            board.clone(),
            every,
            stop.clone(),
        ),
        start_consumer(
            shop.clone(),
            shop.recommend_purchases_consumer(),
            "recommend_purchases",
            board,
            every,
            stop,
        ),
    ];
    handles.extend(cache);
    handles
}
