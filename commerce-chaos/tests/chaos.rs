//! The short form of the chaos runs, for `cargo test --workspace`: two instances
//! of the platform example on a PostgreSQL, a Redis and a RabbitMQ node of their
//! own, shoppers checking out while an instance is killed (-9), connections are
//! terminated, the gateway fails after charging and the instances' connections
//! to RabbitMQ are cut; then the invariant checks (every confirmed order's mail
//! exactly once among them), and the hostile input checks on the same shop.
//! Needs PostgreSQL's server programs (`/usr/lib/postgresql/*/bin` or `PG_BIN`),
//! `redis-server` and `rabbitmq-server` (`/usr/lib/rabbitmq/bin` or
//! `RABBITMQ_BIN`); one to two minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use commerce_chaos::checker::Verdict;
use commerce_chaos::cluster::{Cluster, ClusterOptions};
use commerce_chaos::scenario::{Fault, Plan, run_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_short_two_instances_under_faults_and_hostile_input() {
    let mut plan = Plan::new(
        "short",
        vec![
            Fault::KillInstance,
            Fault::TerminateBackends,
            Fault::GatewayFailsAfterCharge,
            // A restart takes 5 to 20 s on a busy machine (the full run's
            // `rabbitmq` scenario does it); the cut is instantaneous.
            Fault::CutRabbitMqConnections,
        ],
    );
    plan.options = ClusterOptions {
        instances: 2,
        // Notifications through a RabbitMQ node of the test's own.
        rabbitmq: true,
        ..ClusterOptions::default()
    };
    plan.shoppers = 6;
    plan.customers = 2;
    plan.duration = Duration::from_secs(15);
    plan.fault_every = Duration::from_secs(3);
    plan.settle = Duration::from_secs(60);
    let cluster = Cluster::start(plan.options.clone()).await.unwrap_or_else(|e| {
        panic!(
            "could not start the shop: {e}\n(needs initdb/pg_ctl under /usr/lib/postgresql/*/bin or PG_BIN, \
             redis-server, and rabbitmq-server under /usr/lib/rabbitmq/bin or RABBITMQ_BIN: \
             apt-get install postgresql redis-server rabbitmq-server)"
        )
    });
    let outcome = run_on(&cluster, &plan).await.expect("the run");
    let report = outcome.report("short");
    println!("{report}");
    // The verdict includes "every fault applied": the load lasts until each fault
    // of the plan was applied once (past the 15 s minimum if a restart is slow),
    // and fails at the plan's hard cap naming the faults missing.
    assert!(outcome.verdict.ok(), "{report}");

    let mut hostile = Verdict::default();
    commerce_chaos::hostile::run_on(&cluster, false, &mut hostile)
        .await
        .expect("the hostile checks");
    let report = hostile.report();
    println!("{report}");
    assert!(hostile.ok(), "{report}");
}
