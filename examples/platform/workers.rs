//! The workers started with the server: expiry sweeper, checkout recovery and the
//! analytics rollups, each on a configurable cadence, reporting to the `/workers`
//! board.

use std::time::Duration;

use std::sync::Arc;

use commerce::Shop;
use commerce::core::search::ProductSearch;
use commerce_http::{WorkerBoard, WorkerStatus};
use commerce_search::{CONSUMER, IndexerRunner, SearchIndexer};
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn report(
    board: &WorkerBoard,
    name: &str,
    every: Duration,
    outcome: Result<u64, String>,
    now: chrono::DateTime<chrono::Utc>,
) {
    let (handled, error) = match outcome {
        Ok(n) => (n, None),
        Err(e) => (0, Some(e)),
    };
    board.report(WorkerStatus {
        name: name.to_owned(),
        every_ms: u64::try_from(every.as_millis()).unwrap_or(u64::MAX),
        last_run: Some(now),
        last_handled: handled,
        lag: None,
        last_error: error,
    });
}

/// Starts the search indexer of this process's in-RAM index: a full reindex from
/// the catalog first (the index starts empty), then the outbox on the cadence under
/// a consumer group of this instance (`search-indexer@<bind address>`): every
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
    let runner = IndexerRunner::new(
        shop.outbox().clone(),
        indexer,
        format!("{CONSUMER}@{instance}"),
    );
    tokio::spawn(async move {
        // Until the catalog answers (it may be restarting), retry on the cadence.
        loop {
            match commerce_search::reindex(search.as_ref(), shop.catalog().as_ref()).await {
                Ok(r) => {
                    report(&board, "search_indexer", every, Ok(r.indexed), shop.clock().now());
                    break;
                }
                Err(e) => {
                    report(&board, "search_indexer", every, Err(e.to_string()), shop.clock().now());
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
            // Drain what is there (batches), then wait for the next tick.
            let mut handled = 0u64;
            let outcome = loop {
                match runner.run_once().await {
                    Ok(0) => break Ok(handled),
                    Ok(n) => handled += n as u64,
                    Err(e) => break Err(e.to_string()),
                }
            };
            report(&board, "search_indexer", every, outcome, shop.clock().now());
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
    let analytics = {
        let (shop, board, mut stop) = (shop.clone(), board.clone(), stop.clone());
        tokio::spawn(async move {
            let consumer = shop.analytics_consumer();
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => break,
                }
                // Claim, handle, ack until the outbox has nothing new for the group.
                let outcome = commerce::core::drain(
                    shop.outbox().as_ref(),
                    &consumer,
                    commerce::core::RunnerConfig::default(),
                )
                .await
                .map(|n| n as u64)
                .map_err(|e| e.to_string());
                report(
                    &board,
                    "analytics_rollups",
                    every,
                    outcome,
                    shop.clock().now(),
                );
            }
        })
    };
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
                let outcome = shop
                    .checkout()
                    .recover(now)
                    .await
                    .map(|r| (r.confirmed.len() + r.cancelled.len()) as u64)
                    .map_err(|e| e.to_string());
                report(
                    &board,
                    "checkout_recovery",
                    every,
                    outcome,
                    shop.clock().now(),
                );
            }
        })
    };
    vec![sweeper, analytics, recovery]
}
