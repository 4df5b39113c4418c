//! The lag series: every instance's `/workers` read on a cadence during the load
//! and the settle, to tell throughput (a lag falling steadily once the load stops)
//! from a stall (a flat one).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::client::{Req, send};

/// One reading: when, whether shoppers were still shopping, and per worker the
/// largest lag any instance reported (`None` for an instance that did not answer).
#[derive(Clone, Debug)]
pub struct Reading {
    /// Since sampling started.
    pub at: Duration,
    /// Taken while the load ran.
    pub loading: bool,
    /// Worker name -> largest lag over the instances.
    pub lags: BTreeMap<String, u64>,
}

/// Every reading of a run.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// In time order.
    pub readings: Vec<Reading>,
}

impl Series {
    /// A table: one row per reading, one column per outbox worker.
    pub fn table(&self) -> String {
        let names: BTreeSet<&String> = self.readings.iter().flat_map(|r| r.lags.keys()).collect();
        let mut out = format!("  {:>6} {:>5}", "t s", "load");
        for n in &names {
            let _ = write!(out, " {:>w$}", n, w = n.len().max(6));
        }
        out.push('\n');
        for r in &self.readings {
            let _ = write!(
                out,
                "  {:>6} {:>5}",
                r.at.as_secs(),
                if r.loading { "yes" } else { "no" }
            );
            for n in &names {
                let v = r.lags.get(*n).map_or("-".to_owned(), u64::to_string);
                let _ = write!(out, " {:>w$}", v, w = n.len().max(6));
            }
            out.push('\n');
        }
        out
    }
}

/// The lag of each worker that reports one, largest over `addrs`.
pub async fn read_lags(addrs: &[String]) -> BTreeMap<String, u64> {
    let mut lags = BTreeMap::new();
    for addr in addrs {
        let Ok(answer) = send(addr, &Req::new("GET", "/workers"), Duration::from_secs(5)).await
        else {
            continue;
        };
        for w in answer.body.as_array().into_iter().flatten() {
            let (Some(name), Some(lag)) = (w["name"].as_str(), w["lag"].as_u64()) else {
                continue;
            };
            let e = lags.entry(name.to_owned()).or_insert(0);
            *e = (*e).max(lag);
        }
    }
    lags
}

/// Reads every `every` until `done`; `loading` tells whether the load still runs.
pub async fn sample(
    addrs: Vec<String>,
    every: Duration,
    loading: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
) -> Series {
    let start = tokio::time::Instant::now();
    let mut series = Series::default();
    while !done.load(Ordering::Relaxed) {
        let lags = read_lags(&addrs).await;
        let reading = Reading {
            at: start.elapsed(),
            loading: loading.load(Ordering::Relaxed),
            lags,
        };
        println!(
            "lag at {:>4}s{}: {:?}",
            reading.at.as_secs(),
            if reading.loading { "" } else { " (load over)" },
            reading.lags
        );
        series.readings.push(reading);
        let next = tokio::time::Instant::now() + every;
        while tokio::time::Instant::now() < next && !done.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    series
}
