//! The workers started with the server: expiry sweeper, checkout recovery, the
//! search indexer, the analytics rollups and the product cache invalidation, each
//! on a configurable cadence, reporting their last pass, failures and lag (for
//! outbox consumers: events not yet acknowledged and the age of the oldest) to the
//! `/workers` board.

use std::time::Duration;

use std::sync::Arc;

use commerce::Shop;
use commerce::core::EventConsumer;
use commerce::core::search::ProductSearch;
use commerce_http::{WorkerBoard, WorkerStatus};
use commerce_search::{CONSUMER, IndexerRunner, SearchIndexer};
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
            let age = lag.oldest_at.map(|t| {
                u64::try_from((now - t).num_milliseconds().max(0)).unwrap_or(u64::MAX)
            });
            status = status.with_lag(lag.pending, Some(age.unwrap_or(0)));
        }
        Err(e) => tracing::warn!(worker = name, error = %e, "outbox lag not read"),
    }
    board.report(status);
}

/// Starts an outbox consumer: claims, handles and acks until the outbox has nothing
/// new for its group, on the cadence, then reports its lag; stops when `stop`
/// turns true.
pub(crate) fn start_consumer(
    name: &'static str,
    consumer: Arc<dyn EventConsumer>,
    shop: Shop,
    board: WorkerBoard,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let outcome = commerce::core::drain(
                shop.outbox().as_ref(),
                consumer.as_ref(),
                commerce::core::RunnerConfig::default(),
            )
            .await
            .map(|n| n as u64)
            .map_err(|e| e.to_string());
            report_consumer(&board, &shop, name, consumer.group(), every, outcome).await;
        }
    })
}

/// Starts the search indexer: it feeds `search` from the outbox (its own consumer
/// group) on the cadence; stops when `stop` turns true.
pub(crate) fn start_indexer(
    shop: Shop,
    search: Arc<dyn ProductSearch>,
    board: WorkerBoard,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let indexer = SearchIndexer::new(search, shop.catalog().clone(), Some(shop.orders().clone()));
    let runner = IndexerRunner::new(shop.outbox().clone(), indexer, CONSUMER);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            // Drain what is there (batches), then wait for the next tick.
            let mut handled = 0u64;
            let outcome = loop {
                match runner.run_once().await {
                    Ok(0) => break Ok(handled),
                    Ok(n) => handled += n as u64,
                    Err(e) => break Err(e.to_string()),
                }
            };
            report_consumer(&board, &shop, "search_indexer", CONSUMER, every, outcome).await;
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
        "analytics_rollups",
        Arc::new(shop.analytics_consumer()),
        shop.clone(),
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
