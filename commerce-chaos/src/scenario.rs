//! A run: start the shop, put shoppers on it, inject faults on a schedule while
//! they shop, let the workers settle, check the invariants.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use commerce_orders::{FaultTiming, GatewayOperation};

use crate::Result;
use crate::checker::{self, Check, Verdict};
use crate::client::History;
use crate::cluster::{Cluster, ClusterOptions};
use crate::figures::Figures;
use crate::workload::{Rng, Workload};

/// A fault injected while shoppers shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// kill -9 of a random instance in the middle of checkouts, started again a
    /// second later.
    KillInstance,
    /// `pg_terminate_backend` on half of the platform's connections.
    TerminateBackends,
    /// PostgreSQL stopped in immediate mode (a crash) and started again.
    RestartPostgres,
    /// The gateway fails after it did its work (authorize and capture), so the
    /// caller cannot know the money moved.
    GatewayFailsAfterCharge,
    /// The gateway answers slower than the platform's 5 s timeout for 3 seconds.
    GatewayTimesOut,
    /// Redis killed and started again.
    RestartRedis,
    /// Every instance's clock jumps 60 s forward, and at its next turn back to the
    /// system time (a 60 s jump backward).
    ClockJump,
    /// The gateway answers 4 s late (under the platform's 5 s timeout); 1.5 s into
    /// the stall, with checkouts waiting on it and their stock reserved, every
    /// instance's clock jumps 60 s forward, past every reservation's expiry, so the
    /// sweeper expires stock that checkouts in flight hold. The stall ends 3 s later;
    /// a sweep interval and 2 s after it the reservations are checked, then the
    /// clock goes back.
    ClockJumpWhileGatewayStalls,
    /// The shop's RabbitMQ node killed (-9) and started again while notifications
    /// flow (needs [`ClusterOptions::rabbitmq`]).
    RestartRabbitMq,
    /// The shop's RabbitMQ node closes every client connection, staying up
    /// (`rabbitmqctl close_all_connections`: the connections end with a
    /// `connection.close`; the CLI takes seconds to boot on a busy machine).
    CloseRabbitMqConnections,
    /// Every connection between the instances and RabbitMQ cut (a network cut at
    /// the harness's proxy, new ones refused for 1 s), the broker up: the fast
    /// form of a broker outage for the instances, for the CI test.
    CutRabbitMqConnections,
}

impl Fault {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::KillInstance => "kill -9 instance",
            Fault::TerminateBackends => "pg_terminate_backend",
            Fault::RestartPostgres => "PostgreSQL restart",
            Fault::GatewayFailsAfterCharge => "gateway fails after charge",
            Fault::GatewayTimesOut => "gateway timeout",
            Fault::RestartRedis => "Redis restart",
            Fault::ClockJump => "clock jump",
            Fault::ClockJumpWhileGatewayStalls => "clock jump while the gateway stalls",
            Fault::RestartRabbitMq => "RabbitMQ restart",
            Fault::CloseRabbitMqConnections => "RabbitMQ closes all connections",
            Fault::CutRabbitMqConnections => "RabbitMQ connections cut",
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Scenario name.
    pub name: String,
    /// The shop.
    pub options: ClusterOptions,
    /// Concurrent shoppers.
    pub shoppers: usize,
    /// Of which signed-in customers.
    pub customers: usize,
    /// How long they shop at least; the load goes on past it until every fault
    /// of the plan was applied `fault_rounds` times (see [`Plan::max_duration`]).
    pub duration: Duration,
    /// Faults, applied in turn, each `fault_every` after the previous one ended.
    pub faults: Vec<Fault>,
    /// Pause between the end of a fault and the start of the next; also the load
    /// that follows the last fault before the load may end.
    pub fault_every: Duration,
    /// How many times each fault must have been applied before the load may end
    /// (a fault that could not be applied does not count).
    pub fault_rounds: u32,
    /// The hard cap of the load: when it is reached before every fault was applied
    /// `fault_rounds` times, the load ends and the check "every fault applied"
    /// fails, naming the faults missing. `None`: three times `duration`, at least
    /// `duration` + 60 s.
    pub max_duration: Option<Duration>,
    /// Units of the hot SKU on hand at the start.
    pub hot_stock: i64,
    /// Share of cart adds on the hot SKU, percent.
    pub hot_percent: u64,
    /// How long the workers get to settle after the load.
    pub settle: Duration,
    /// Seed.
    pub seed: u64,
    /// Print figures every this often (the soak).
    pub report_every: Option<Duration>,
    /// Read every instance's `/workers` this often, during the load and the settle,
    /// for the lag series in the report (throughput or stall).
    pub lag_every: Option<Duration>,
}

impl Plan {
    /// A plan named `name` with `faults` and defaults elsewhere.
    pub fn new(name: &str, faults: Vec<Fault>) -> Plan {
        Plan {
            name: name.to_owned(),
            options: ClusterOptions::default(),
            shoppers: 12,
            customers: 4,
            duration: Duration::from_secs(30),
            faults,
            fault_every: Duration::from_secs(4),
            fault_rounds: 1,
            max_duration: None,
            hot_stock: 40,
            hot_percent: 40,
            // Longer than a failed capture's first retry (30 s) plus a lease (30 s).
            settle: Duration::from_secs(75),
            seed: 2026,
            report_every: None,
            lag_every: None,
        }
    }

    /// The hard cap of the load ([`Plan::max_duration`]).
    pub fn load_cap(&self) -> Duration {
        self.max_duration
            .unwrap_or_else(|| (self.duration * 3).max(self.duration + Duration::from_secs(60)))
            .max(self.duration)
    }
}

/// The fault schedule: faults in turn, counted, until each was applied the
/// plan's number of rounds and the minimum time passed, or the hard cap.
#[derive(Debug)]
struct Schedule {
    start: tokio::time::Instant,
    minimum: Duration,
    cap: Duration,
    every: Duration,
    rounds: u32,
    faults: Vec<Fault>,
    /// Applications that succeeded, per fault of the plan (same order).
    applied: Vec<u32>,
    turn: usize,
    next_fault: tokio::time::Instant,
    /// When the last fault ended: the load goes on `every` after it.
    last_end: Option<tokio::time::Instant>,
}

/// What the schedule says at one moment.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Apply this fault now.
    Apply(Fault),
    /// Keep shopping.
    Wait,
    /// End the load: every fault applied, the minimum time and the last fault's
    /// tail passed.
    Done,
    /// End the load: the hard cap was reached with faults missing.
    CapReached,
}

impl Schedule {
    fn new(plan: &Plan, start: tokio::time::Instant) -> Schedule {
        Schedule {
            start,
            minimum: plan.duration,
            cap: plan.load_cap(),
            every: plan.fault_every,
            rounds: plan.fault_rounds.max(1),
            faults: plan.faults.clone(),
            applied: vec![0; plan.faults.len()],
            turn: 0,
            // The first fault after a clean stretch.
            next_fault: start + plan.fault_every,
            last_end: None,
        }
    }

    fn all_applied(&self) -> bool {
        self.applied.iter().all(|n| *n >= self.rounds)
    }

    /// The load after a fault before the load may end: the fault's effects (a
    /// restart's reconnections, the gateway's armed failures) play out under load.
    fn tail(&self) -> Duration {
        self.every.min(Duration::from_secs(3))
    }

    fn next(&self, now: tokio::time::Instant) -> Next {
        let all = self.all_applied();
        let tail_passed = self.last_end.is_none_or(|t| now >= t + self.tail());
        if all && now >= self.start + self.minimum && tail_passed {
            return Next::Done;
        }
        if now >= self.start + self.cap {
            return if all { Next::Done } else { Next::CapReached };
        }
        if self.faults.is_empty() || now < self.next_fault {
            return Next::Wait;
        }
        // Once each was applied, no new fault whose tail would outlast the minimum.
        if all && now + self.tail() > self.start + self.minimum {
            return Next::Wait;
        }
        Next::Apply(self.faults[self.turn % self.faults.len()])
    }

    /// Records the fault of this turn as applied (or not) and schedules the next.
    fn record(&mut self, applied: bool, now: tokio::time::Instant) {
        if applied && let Some(n) = self.applied.get_mut(self.turn % self.faults.len()) {
            *n += 1;
        }
        self.turn += 1;
        self.last_end = Some(now);
        self.next_fault = now + self.every;
    }

    /// The check "every fault applied": per fault how often, and at the cap which
    /// are missing.
    fn check(&self, cap_reached: bool) -> Check {
        let counts: Vec<String> = self
            .faults
            .iter()
            .zip(&self.applied)
            .map(|(f, n)| format!("{} x{n}", f.name()))
            .collect();
        let missing: Vec<String> = self
            .faults
            .iter()
            .zip(&self.applied)
            .filter(|(_, n)| **n < self.rounds)
            .map(|(f, n)| format!("{} applied {n} of {} times", f.name(), self.rounds))
            .collect();
        let violations = if cap_reached || !missing.is_empty() {
            vec![format!(
                "the load reached its hard cap of {:?} (minimum {:?}, a fault every {:?} after \
                 the previous ended) before every fault was applied: {}; a fault that takes \
                 long (a restart on a busy machine) or fails to apply (see the notes) leaves \
                 no time for the rest: raise Plan::max_duration or shorten fault_every",
                self.cap,
                self.minimum,
                self.every,
                missing.join(", ")
            )]
        } else {
            Vec::new()
        };
        Check::new(
            "every fault applied",
            violations,
            format!("{} (at least {} each)", counts.join(", "), self.rounds),
        )
    }
}

/// What a run found.
#[derive(Debug)]
pub struct Outcome {
    /// The invariants.
    pub verdict: Verdict,
    /// Throughput and latency per operation.
    pub figures: Figures,
    /// Faults applied, with when.
    pub faults: Vec<String>,
    /// Anything the run itself hit (a fault that could not be applied).
    pub notes: Vec<String>,
    /// The lag series (`Plan::lag_every`), a table; empty when not sampled.
    pub lag_series: String,
}

/// Starts the shop and runs `plan` on it.
pub async fn run(plan: &Plan) -> Result<Outcome> {
    let cluster = Cluster::start(plan.options.clone()).await?;
    run_on(&cluster, plan).await
}

/// Runs `plan` on a started shop.
pub async fn run_on(cluster: &Cluster, plan: &Plan) -> Result<Outcome> {
    let customers = cluster.customers(plan.customers).await?;
    let skus = cluster.pick_skus(6, plan.hot_stock).await?;
    let before = checker::stock_snapshot(cluster, &skus).await?;
    let workload = Workload {
        addrs: cluster.addrs.clone(),
        skus,
        hot_percent: plan.hot_percent,
        customers: customers
            .into_iter()
            .map(|(id, t)| (id.to_string(), t))
            .collect(),
        history: History::new(),
        observations: Default::default(),
        timeout: Duration::from_secs(10),
        seed: plan.seed,
    };
    let memory_start = memory(cluster).await;
    let db_start = database_size(cluster).await.unwrap_or(0);
    let orders_start = order_count(cluster).await.unwrap_or(0);
    // The load runs for `plan.duration` at least, and on until every fault of the
    // plan was applied `fault_rounds` times (a restart can take seconds on a busy
    // machine), at most `plan.load_cap()`.
    let keep_going = Arc::new(AtomicBool::new(true));
    let sampling = plan.lag_every.map(|every| {
        let (addrs, loading) = (cluster.addrs.clone(), Arc::clone(&keep_going));
        let done = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(crate::lag::sample(addrs, every, loading, Arc::clone(&done)));
        (task, done)
    });
    let shopping = {
        let w = workload.clone();
        let (n, go) = (plan.shoppers, Arc::clone(&keep_going));
        tokio::spawn(async move { w.run_while(n, go).await })
    };
    let mut faults = Vec::new();
    let mut notes = Vec::new();
    let mut rng = Rng::new(plan.seed ^ 0xFA17);
    let start = tokio::time::Instant::now();
    let mut next_report = plan.report_every.map(|e| start + e);
    let mut schedule = Schedule::new(plan, start);
    let mut cap_reached = false;
    while !shopping.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = tokio::time::Instant::now();
        if let Some(at) = next_report
            && now >= at
        {
            let minute = Figures::from_history(&workload.history.events(), at - start);
            println!("--- {:?} ---\n{}", at - start, minute.table());
            if let Some(e) = plan.report_every {
                next_report = Some(at + e);
            }
        }
        if !keep_going.load(Ordering::Relaxed) {
            continue;
        }
        let fault = match schedule.next(now) {
            Next::Wait => continue,
            Next::Done => {
                keep_going.store(false, Ordering::Relaxed);
                continue;
            }
            Next::CapReached => {
                cap_reached = true;
                keep_going.store(false, Ordering::Relaxed);
                continue;
            }
            Next::Apply(fault) => fault,
        };
        let at = start.elapsed();
        let wall = chrono::Utc::now().format("%H:%M:%S%.3f");
        let applied = match inject(cluster, fault, &mut rng).await {
            Ok(what) => {
                faults.push(format!(
                    "{at:.1?} ({wall}): {} ({what}; took {:.1?})",
                    fault.name(),
                    start.elapsed() - at
                ));
                true
            }
            Err(e) => {
                notes.push(format!(
                    "{at:.1?}: {} could not be applied: {e}",
                    fault.name()
                ));
                false
            }
        };
        schedule.record(applied, tokio::time::Instant::now());
    }
    let _ = shopping.await;
    cluster.gateway.clear_faults();
    cluster.gateway.set_delay(Duration::ZERO);
    let load_time = start.elapsed();
    let outstanding = checker::settle(cluster, plan.settle).await?;
    if !outstanding.is_empty() {
        notes.push(format!(
            "not settled after {:?}: {}",
            plan.settle,
            outstanding.join("; ")
        ));
    }
    let lag_series = match sampling {
        Some((task, done)) => {
            done.store(true, Ordering::Relaxed);
            task.await.map(|s| s.table()).unwrap_or_default()
        }
        None => String::new(),
    };
    if let Ok(kept) = kept_rows(cluster).await {
        notes.push(kept);
    }
    let mut verdict = checker::check(cluster, &workload, &before).await?;
    if !plan.faults.is_empty() {
        verdict.push(schedule.check(cap_reached));
    }
    crate::hostile::search_converges(cluster, &mut verdict).await?;
    let memory_end = memory(cluster).await;
    let db_end = database_size(cluster).await.unwrap_or(0);
    let orders_end = order_count(cluster).await.unwrap_or(0);
    let mut figures = Figures::from_history(&workload.history.events(), load_time);
    figures.memory_kib = (memory_start, memory_end);
    figures.database_bytes = (db_start, db_end);
    figures.orders = orders_end - orders_start;
    Ok(Outcome {
        verdict,
        figures,
        faults,
        notes,
        lag_series,
    })
}

/// What the outbox and the reservations hold at the end (pruning keeps them
/// bounded).
async fn kept_rows(cluster: &Cluster) -> Result<String> {
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM commerce.outbox")
        .fetch_one(&cluster.pool)
        .await?;
    let appended: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM commerce.outbox")
        .fetch_one(&cluster.pool)
        .await?;
    let reservations: i64 = sqlx::query_scalar("SELECT count(*) FROM commerce.reservations")
        .fetch_one(&cluster.pool)
        .await?;
    let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM commerce.outbox_consumers")
        .fetch_one(&cluster.pool)
        .await?;
    let sizes: (i64, i64) = sqlx::query_as(
        "SELECT pg_total_relation_size('commerce.outbox'), pg_total_relation_size('commerce.reservations')",
    )
    .fetch_one(&cluster.pool)
    .await?;
    Ok(format!(
        "kept at the end: {outbox} outbox rows of {appended} appended, {groups} consumer groups, \
         {reservations} reservations; on disk (dead rows until vacuum reuses them): outbox {} kB, \
         reservations {} kB",
        sizes.0 / 1024,
        sizes.1 / 1024
    ))
}

async fn inject(cluster: &Cluster, fault: Fault, rng: &mut Rng) -> Result<String> {
    match fault {
        Fault::KillInstance => {
            let i = rng.below(cluster.instances.len());
            cluster.kill(i).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            cluster.restart(i).await?;
            Ok(format!("instance {i}"))
        }
        Fault::TerminateBackends => {
            let n = cluster.terminate_backends(50).await?;
            Ok(format!("{n} connections"))
        }
        Fault::RestartPostgres => {
            cluster.postgres.stop(true)?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            cluster.postgres.start_server().await?;
            cluster.wait_for_postgres(Duration::from_secs(30)).await?;
            Ok("immediate stop, down 1 s".into())
        }
        Fault::GatewayFailsAfterCharge => {
            for _ in 0..2 {
                cluster
                    .gateway
                    .inject_fault(GatewayOperation::Authorize, FaultTiming::AfterProcessing);
                cluster
                    .gateway
                    .inject_fault(GatewayOperation::Capture, FaultTiming::AfterProcessing);
            }
            Ok("2 authorize + 2 capture".into())
        }
        Fault::GatewayTimesOut => {
            cluster.gateway.set_delay(Duration::from_secs(6));
            tokio::time::sleep(Duration::from_secs(3)).await;
            cluster.gateway.set_delay(Duration::ZERO);
            Ok("6 s delay for 3 s".into())
        }
        Fault::ClockJump => {
            let (to, what) = if cluster.clock_offset_ms() == 0 {
                (60_000, "60 s forward")
            } else {
                (0, "60 s back")
            };
            cluster.set_clock_offset(to).await?;
            // One sweep interval and the slack later, nothing due may be active.
            let wait = Duration::from_millis(cluster.options.worker_every_ms + 2_000);
            tokio::time::sleep(wait).await;
            let stuck = checker::overdue_reservations(cluster).await?;
            let n = stuck.len();
            if let Ok(mut v) = cluster.expiry_violations.lock() {
                v.extend(stuck.into_iter().map(|s| format!("after {what}: {s}")));
            }
            Ok(format!("{what}; {n} active past expiry {wait:?} later"))
        }
        Fault::ClockJumpWhileGatewayStalls => {
            cluster.gateway.set_delay(Duration::from_secs(4));
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            cluster.set_clock_offset(60_000).await?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            cluster.gateway.set_delay(Duration::ZERO);
            let wait = Duration::from_millis(cluster.options.worker_every_ms + 2_000);
            tokio::time::sleep(wait).await;
            let stuck = checker::overdue_reservations(cluster).await?;
            let n = stuck.len();
            if let Ok(mut v) = cluster.expiry_violations.lock() {
                v.extend(
                    stuck
                        .into_iter()
                        .map(|s| format!("after a jump during a gateway stall: {s}")),
                );
            }
            cluster.set_clock_offset(0).await?;
            Ok(format!(
                "4 s gateway delay, 60 s forward 1.5 s into it, back after {wait:?}; {n} active past expiry"
            ))
        }
        Fault::RestartRabbitMq => {
            let node = cluster
                .rabbitmq
                .as_ref()
                .ok_or("the shop runs without RabbitMQ (ClusterOptions::rabbitmq)")?;
            let mut node = node.lock().await;
            let t = tokio::time::Instant::now();
            node.kill();
            tokio::time::sleep(Duration::from_millis(500)).await;
            node.start_server().await?;
            Ok(format!("SIGKILL, back after {:.1?}", t.elapsed()))
        }
        Fault::CloseRabbitMqConnections => {
            let node = cluster
                .rabbitmq
                .as_ref()
                .ok_or("the shop runs without RabbitMQ (ClusterOptions::rabbitmq)")?;
            let said = node.lock().await.close_all_connections().await?;
            Ok(format!(
                "rabbitmqctl: {}",
                said.lines().last().unwrap_or("done")
            ))
        }
        Fault::CutRabbitMqConnections => {
            let proxy = cluster
                .amqp_proxy
                .as_ref()
                .ok_or("the shop runs without RabbitMQ (ClusterOptions::rabbitmq)")?;
            let n = proxy.cut(Duration::from_secs(1)).await;
            Ok(format!("{n} connections cut, new ones refused for 1 s"))
        }
        Fault::RestartRedis => {
            let mut redis = cluster.redis.lock().await;
            redis.kill();
            tokio::time::sleep(Duration::from_millis(500)).await;
            redis.start_server().await?;
            Ok("SIGKILL, down 0.5 s".into())
        }
    }
}

async fn memory(cluster: &Cluster) -> Vec<u64> {
    cluster
        .pids()
        .await
        .into_iter()
        .filter_map(crate::platform::rss_kib)
        .collect()
}

async fn database_size(cluster: &Cluster) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&cluster.pool)
            .await?,
    )
}

async fn order_count(cluster: &Cluster) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM commerce.orders")
        .fetch_one(&cluster.pool)
        .await?)
}

impl Outcome {
    /// The whole report.
    pub fn report(&self, name: &str) -> String {
        let mut out = format!("== scenario {name}\n");
        if !self.faults.is_empty() {
            out.push_str("faults:\n");
            for f in &self.faults {
                out.push_str(&format!("  {f}\n"));
            }
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        if !self.lag_series.is_empty() {
            out.push_str("lag per worker (largest over the instances, from /workers):\n");
            out.push_str(&self.lag_series);
        }
        out.push_str("invariants:\n");
        out.push_str(&self.verdict.report());
        out.push_str(&self.figures.table());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(faults: Vec<Fault>) -> Plan {
        let mut plan = Plan::new("t", faults);
        plan.duration = Duration::from_secs(15);
        plan.fault_every = Duration::from_secs(3);
        plan.max_duration = Some(Duration::from_secs(45));
        plan
    }

    const THREE: [Fault; 3] = [
        Fault::KillInstance,
        Fault::TerminateBackends,
        Fault::GatewayFailsAfterCharge,
    ];

    #[test]
    fn schedule_a_slow_fault_keeps_the_load_going_until_every_fault_was_applied() {
        let start = tokio::time::Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut s = Schedule::new(&plan(THREE.to_vec()), start);
        assert_eq!(s.next(at(1)), Next::Wait);
        assert_eq!(s.next(at(3)), Next::Apply(Fault::KillInstance));
        // The restart took 11 s: the wall-time schedule had no room left for the
        // third fault before 15 s.
        s.record(true, at(14));
        assert_eq!(s.next(at(15)), Next::Wait);
        assert_eq!(s.next(at(17)), Next::Apply(Fault::TerminateBackends));
        s.record(true, at(17));
        assert_eq!(
            s.next(at(19)),
            Next::Wait,
            "past the minimum, a fault missing"
        );
        assert_eq!(s.next(at(20)), Next::Apply(Fault::GatewayFailsAfterCharge));
        s.record(true, at(20));
        assert_eq!(
            s.next(at(22)),
            Next::Wait,
            "the last fault's tail runs under load"
        );
        assert_eq!(s.next(at(23)), Next::Done);
        let check = s.check(false);
        assert!(check.violations.is_empty(), "{check:?}");
        assert!(check.note.contains("kill -9 instance x1"), "{}", check.note);
    }

    #[test]
    fn schedule_keeps_applying_faults_in_turn_within_the_minimum_then_ends_on_time() {
        let start = tokio::time::Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut s = Schedule::new(&plan(vec![Fault::TerminateBackends]), start);
        let mut applied = 0;
        let mut t = 0;
        let end = loop {
            match s.next(at(t)) {
                Next::Apply(_) => {
                    applied += 1;
                    s.record(true, at(t));
                }
                Next::Done => break t,
                Next::Wait => {}
                Next::CapReached => panic!("cap reached"),
            }
            t += 100;
        };
        assert_eq!(applied, 4, "at 3, 6, 9 and 12 s");
        assert_eq!(
            end, 15_000,
            "ends at the minimum once every fault was applied"
        );
    }

    #[test]
    fn schedule_at_the_cap_fails_naming_the_faults_missing() {
        let start = tokio::time::Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut s = Schedule::new(&plan(THREE.to_vec()), start);
        assert_eq!(s.next(at(3)), Next::Apply(Fault::KillInstance));
        s.record(true, at(40));
        assert_eq!(s.next(at(43)), Next::Apply(Fault::TerminateBackends));
        // Could not be applied: it does not count.
        s.record(false, at(44));
        assert_eq!(s.next(at(45)), Next::CapReached);
        let check = s.check(true);
        assert_eq!(check.violations.len(), 1);
        let v = &check.violations[0];
        assert!(v.contains("hard cap of 45s"), "{v}");
        assert!(
            v.contains("pg_terminate_backend applied 0 of 1 times"),
            "{v}"
        );
        assert!(
            v.contains("gateway fails after charge applied 0 of 1 times"),
            "{v}"
        );
        assert!(!v.contains("kill -9 instance applied"), "{v}");
    }

    #[test]
    fn schedule_counts_rounds() {
        let start = tokio::time::Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut p = plan(vec![Fault::KillInstance]);
        p.fault_rounds = 2;
        p.duration = Duration::from_secs(1);
        let mut s = Schedule::new(&p, start);
        assert_eq!(s.next(at(3)), Next::Apply(Fault::KillInstance));
        s.record(true, at(3));
        assert_eq!(s.next(at(6)), Next::Apply(Fault::KillInstance));
        s.record(true, at(6));
        assert_eq!(s.next(at(9)), Next::Done);
    }
}
