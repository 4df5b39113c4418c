//! `cargo run -p commerce-chaos -- <scenario>`: runs a scenario against several
//! instances of the platform example and prints the faults, the invariant checks
//! and the figures. Exits 1 when an invariant is violated.

use std::time::Duration;

use commerce_chaos::scenario::{Fault, Plan};

const USAGE: &str = "usage: commerce-chaos <scenario>...

scenarios (each on its own PostgreSQL, Redis and payment gateway):
  multi            3 instances, shoppers spread over them, no fault
  kill             kill -9 of an instance mid-checkout, restarted
  pg-terminate     pg_terminate_backend on half the connections, repeatedly
  pg-restart       PostgreSQL crashed (immediate stop) and started again
  gateway          the gateway failing after it charged, and timing out
  redis-restart    Redis (append-only file) killed and started again
  redis-volatile   the same without persistence: carts and sessions are lost
  clock            every instance's clock jumps 60 s forward, then back (expiry
                   sweeper; CLOCK_OFFSET_FILE of the example)
  clock-gateway    the clock jumps 60 s forward while the gateway stalls with
                   checkouts in flight (their reservations expire under them)
  rabbitmq         notifications through a RabbitMQ node of the shop's own
                   (AMQP_URL), killed (-9) and started again under load; the
                   instances' connections to it cut; and closed by the broker
  faults           every fault above but Redis, in turn, under one load
  hostile          authorization sweep, slow headers, huge and deep bodies, fuzzer
  soak             10 minutes of steady load, figures every minute, lag of
                   every worker every 10 s, pruning on (every 10 s, groups
                   dropped after 60 s unseen, reservations after 30 s)
  all              multi, kill, pg-terminate, pg-restart, gateway, redis-restart,
                   redis-volatile, clock, clock-gateway, rabbitmq, hostile

environment: CHAOS_SECONDS (load per scenario, default 30; soak 600),
CHAOS_SHOPPERS (default 12), CHAOS_INSTANCES (default 3), CHAOS_SEED,
CHAOS_LAG_EVERY_SECS (the lag series in any scenario; the soak's is 10),
CHAOS_KEEP_LOGS (keep the instances' logs, their directory named at the end),
CHAOS_PLATFORM_BIN (a built example, else cargo builds it), PG_BIN, RABBITMQ_BIN
(the directory of rabbitmq-server, default /usr/lib/rabbitmq/bin).";

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn plan(name: &str) -> Option<Plan> {
    let faults = match name {
        "multi" | "soak" => vec![],
        "kill" => vec![Fault::KillInstance],
        "pg-terminate" => vec![Fault::TerminateBackends],
        "pg-restart" => vec![Fault::RestartPostgres],
        "gateway" => vec![Fault::GatewayFailsAfterCharge, Fault::GatewayTimesOut],
        "redis-restart" | "redis-volatile" => vec![Fault::RestartRedis],
        "clock" => vec![Fault::ClockJump],
        "clock-gateway" => vec![Fault::ClockJumpWhileGatewayStalls],
        "rabbitmq" => vec![
            Fault::RestartRabbitMq,
            Fault::CutRabbitMqConnections,
            Fault::CloseRabbitMqConnections,
        ],
        "faults" => vec![
            Fault::KillInstance,
            Fault::TerminateBackends,
            Fault::GatewayFailsAfterCharge,
            Fault::RestartPostgres,
            Fault::GatewayTimesOut,
        ],
        _ => return None,
    };
    let mut plan = Plan::new(name, faults);
    plan.options.redis_persistent = name != "redis-volatile";
    plan.options.rabbitmq = name == "rabbitmq";
    if name == "rabbitmq" {
        // A restart takes seconds (the broker boots): time for load between two.
        plan.fault_every = Duration::from_secs(6);
    }
    if name == "pg-restart" {
        plan.fault_every = Duration::from_secs(10);
    }
    if name == "soak" {
        plan.duration = Duration::from_secs(600);
        plan.report_every = Some(Duration::from_secs(60));
        plan.hot_stock = 1_000_000;
        plan.hot_percent = 10;
        plan.shoppers = 16;
    }
    if name == "soak" {
        // A short pruning policy, so that the run shows the database's growth with
        // pruning on; the lag series tells throughput from a stall.
        plan.options.pruning = Some(commerce_chaos::cluster::PruningOptions {
            every_secs: 10,
            group_retention_secs: 60,
            reservation_retention_secs: 30,
        });
        plan.lag_every = Some(Duration::from_secs(10));
        // Long enough for the slow groups to drain after the load.
        plan.settle = Duration::from_secs(240);
    }
    if let Some(s) = env_u64("CHAOS_SECONDS") {
        plan.duration = Duration::from_secs(s);
    }
    if let Some(n) = env_u64("CHAOS_SHOPPERS") {
        plan.shoppers = usize::try_from(n).unwrap_or(plan.shoppers);
    }
    if let Some(n) = env_u64("CHAOS_INSTANCES") {
        plan.options.instances = usize::try_from(n).unwrap_or(3);
    }
    if let Some(s) = env_u64("CHAOS_SEED") {
        plan.seed = s;
    }
    if let Some(s) = env_u64("CHAOS_LAG_EVERY_SECS").filter(|s| *s > 0) {
        plan.lag_every = Some(Duration::from_secs(s));
    }
    Some(plan)
}

#[tokio::main]
async fn main() {
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() || names.iter().any(|n| n == "--help" || n == "-h") {
        println!("{USAGE}");
        return;
    }
    if names.iter().any(|n| n == "all") {
        names = [
            "multi",
            "kill",
            "pg-terminate",
            "pg-restart",
            "gateway",
            "redis-restart",
            "redis-volatile",
            "clock",
            "clock-gateway",
            "rabbitmq",
            "hostile",
        ]
        .map(str::to_owned)
        .to_vec();
    }
    let mut failed = false;
    for name in &names {
        let started = std::time::Instant::now();
        let outcome = if name == "hostile" {
            commerce_chaos::hostile::run_all(true)
                .await
                .map(|v| (v.ok(), format!("== scenario hostile\n{}", v.report())))
        } else if let Some(plan) = plan(name) {
            commerce_chaos::scenario::run(&plan)
                .await
                .map(|o| (verdict_ok(name, &o), o.report(name)))
        } else {
            eprintln!("unknown scenario {name:?}\n\n{USAGE}");
            std::process::exit(2);
        };
        match outcome {
            Ok((ok, report)) => {
                println!("{report}  ({:.0?})\n", started.elapsed());
                failed |= !ok;
            }
            Err(e) => {
                println!("== scenario {name}: could not run: {e}\n");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// Whether the scenario passed; with Redis without persistence, lost carts and
/// sessions are the documented outcome, not a failure.
fn verdict_ok(name: &str, o: &commerce_chaos::scenario::Outcome) -> bool {
    o.verdict.checks.iter().all(|c| {
        c.violations.is_empty()
            || (name == "redis-volatile"
                && matches!(
                    c.name,
                    "cart seen on the next instance"
                        | "sessions valid on every instance"
                        | "order read back on another instance"
                ))
    })
}
