//! Throughput and latency per operation from a history, process memory and
//! database growth.
// Floats here are rates and latencies, never amounts.
#![allow(clippy::float_arithmetic)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::Event;

/// Figures of one operation.
#[derive(Clone, Debug)]
pub struct OpFigures {
    /// Requests sent.
    pub count: usize,
    /// Answered with a 5xx or not answered.
    pub failed: usize,
    /// Requests per second.
    pub rate: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// Figures of a run.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Per operation.
    pub ops: BTreeMap<&'static str, OpFigures>,
    /// Resident memory of each instance at the start and at the end, KiB.
    pub memory_kib: (Vec<u64>, Vec<u64>),
    /// Database size at the start and at the end, bytes.
    pub database_bytes: (i64, i64),
    /// Orders placed during the run.
    pub orders: i64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Figures {
    /// Figures of the events sent before `upto` (a run of that length).
    pub fn from_history(events: &[Event], upto: Duration) -> Figures {
        let mut per_op: BTreeMap<&'static str, (Vec<Duration>, usize)> = BTreeMap::new();
        for e in events.iter().filter(|e| e.at <= upto) {
            let entry = per_op.entry(e.op).or_default();
            entry.0.push(e.latency);
            if e.status.is_none_or(|s| s >= 500) {
                entry.1 += 1;
            }
        }
        let secs = upto.as_secs_f64().max(0.001);
        let ops = per_op
            .into_iter()
            .map(|(op, (mut lat, failed))| {
                lat.sort();
                (
                    op,
                    OpFigures {
                        count: lat.len(),
                        failed,
                        rate: lat.len() as f64 / secs,
                        p50: percentile(&lat, 0.5),
                        p99: percentile(&lat, 0.99),
                    },
                )
            })
            .collect();
        Figures {
            ops,
            ..Figures::default()
        }
    }

    /// A table of the figures.
    pub fn table(&self) -> String {
        let mut out = format!(
            "  {:<14} {:>7} {:>7} {:>8} {:>9} {:>9}\n",
            "operation", "count", "failed", "req/s", "p50 ms", "p99 ms"
        );
        for (op, f) in &self.ops {
            out.push_str(&format!(
                "  {:<14} {:>7} {:>7} {:>8.1} {:>9.1} {:>9.1}\n",
                op,
                f.count,
                f.failed,
                f.rate,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0
            ));
        }
        if !self.memory_kib.0.is_empty() || !self.memory_kib.1.is_empty() {
            out.push_str(&format!(
                "  memory (RSS KiB per instance): start {:?}, end {:?}\n",
                self.memory_kib.0, self.memory_kib.1
            ));
        }
        if self.database_bytes.1 > 0 {
            let growth = self.database_bytes.1 - self.database_bytes.0;
            let per_order = if self.orders > 0 {
                growth / self.orders
            } else {
                0
            };
            out.push_str(&format!(
                "  database: {} -> {} bytes, {} orders, {} bytes per order\n",
                self.database_bytes.0, self.database_bytes.1, self.orders, per_order
            ));
        }
        out
    }
}
