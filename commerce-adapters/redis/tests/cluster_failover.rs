//! Carts on a real Redis Cluster while the cluster changes under them: a primary
//! killed mid-load (its replica promoted), and a slot migrated while carts in it are
//! written (`ASK` during the move, `MOVED` after it). These tests need the loopback
//! cluster of `.ci/redis-cluster.sh` (they kill a node by its process id and start it
//! again with that script), and they run one at a time, alone in this binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/cluster.rs"]
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use commerce_cart::{CartKey, CartLimits, CartStore};
use commerce_core::{CustomerId, Sku};
use commerce_redis::{KeyPrefix, RedisCartStore, RedisConnection};

/// The two tests change the cluster: never at the same time.
fn exclusive() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

fn limits() -> CartLimits {
    CartLimits::new(100, 1_000_000)
}

/// `.ci/redis-cluster.sh start`: starts nodes that are down and waits until the
/// cluster is healthy again (every replica in sync).
fn restore_cluster() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/redis-cluster.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg("start")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} start failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn keyslot(conn: &RedisConnection, key: &str) -> u16 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut conn.clone())
        .await
        .unwrap()
}

fn cart_key_name(prefix: &KeyPrefix, key: &CartKey) -> String {
    format!("{prefix}:cart:{{{key}}}")
}

/// One writer: adds 1 unit of its SKU to its cart in a loop until stopped, counting
/// acknowledged adds and failed ones.
struct Writer {
    cart: CartKey,
    sku: Sku,
    acked: AtomicU64,
    failed: AtomicU64,
    /// The first error, if any.
    first_error: std::sync::Mutex<Option<String>>,
}

fn spawn_writers(
    store: &Arc<RedisCartStore>,
    writers: &[Arc<Writer>],
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    writers
        .iter()
        .map(|w| {
            let (store, w, stop) = (store.clone(), w.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    match store.add(&w.cart, &w.sku, 1, limits(), Utc::now()).await {
                        Ok(_) => w.acked.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            w.first_error.lock().unwrap().get_or_insert(e.to_string());
                            w.failed.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                }
            })
        })
        .collect()
}

fn acked(writers: &[Arc<Writer>]) -> Vec<u64> {
    writers
        .iter()
        .map(|w| w.acked.load(Ordering::SeqCst))
        .collect()
}

async fn info_field(
    conn: &mut redis::aio::MultiplexedConnection,
    section: &str,
    field: &str,
) -> String {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// A primary is killed (SIGKILL) while 12 tasks add to 12 carts spread over the
/// three shards; its replica is promoted and every cart keeps working.
///
/// What asynchronous replication may lose: adds the killed primary acknowledged but
/// had not yet sent to its replica (on loopback, the last fraction of a millisecond
/// before the kill). The test asserts that nothing acknowledged a second or more
/// before the kill was lost, that carts on the other shards lost nothing, that no
/// cart holds more than was attempted, and that every cart took new adds after the
/// promotion; it prints how many acknowledged adds were lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_primary_killed_mid_load_replica_promoted_carts_keep_working() {
    let _guard = exclusive().lock().await;
    restore_cluster();
    let conn = common::connection().await;
    let prefix = common::prefix();
    let store = Arc::new(RedisCartStore::new(conn.clone(), prefix.clone()));

    let writers: Vec<Arc<Writer>> = (0..12)
        .map(|i| {
            Arc::new(Writer {
                cart: CartKey::Customer(CustomerId::new()),
                sku: Sku::new(format!("SKU-{i}")).unwrap(),
                acked: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                first_error: std::sync::Mutex::default(),
            })
        })
        .collect();

    // The primary serving writer 0's cart is the victim.
    let nodes = common::nodes().await;
    let victim_slot = keyslot(&conn, &cart_key_name(&prefix, &writers[0].cart)).await;
    let victim = nodes
        .iter()
        .find(|n| n.primary && n.serves(victim_slot))
        .expect("a primary serves the slot")
        .clone();
    let replica = nodes
        .iter()
        .find(|n| n.replica_of.as_deref() == Some(victim.id.as_str()))
        .expect("the victim has a replica")
        .clone();
    let mut on_victim = Vec::new();
    for w in &writers {
        let slot = keyslot(&conn, &cart_key_name(&prefix, &w.cart)).await;
        on_victim.push(victim.serves(slot));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tasks = spawn_writers(&store, &writers, &stop);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let acked_a_second_before = acked(&writers);
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let mut victim_conn = common::node_connection(&victim.addr).await;
    let pid = info_field(&mut victim_conn, "server", "process_id").await;
    let killed_at = Instant::now();
    let status = std::process::Command::new("kill")
        .arg("-9")
        .arg(&pid)
        .status()
        .unwrap();
    assert!(status.success(), "kill -9 {pid}");
    let acked_at_kill = acked(&writers);

    // Wait for the replica to be promoted.
    let mut replica_conn = common::node_connection(&replica.addr).await;
    let promoted_after = loop {
        if info_field(&mut replica_conn, "replication", "role").await == "master" {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "replica {} was not promoted within 60 s",
            replica.addr
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let acked_at_promotion = acked(&writers);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }

    let mut lost_total = 0;
    let mut acked_total = 0;
    for (i, w) in writers.iter().enumerate() {
        let acked = w.acked.load(Ordering::SeqCst);
        let failed = w.failed.load(Ordering::SeqCst);
        acked_total += acked;
        let quantity = store
            .cart(&w.cart)
            .await
            .unwrap()
            .map_or(0, |c| u64::from(c.quantity_of(&w.sku)));
        assert!(
            acked > acked_at_promotion[i],
            "cart {i} took no add after the promotion"
        );
        assert!(
            quantity <= acked + failed,
            "cart {i}: {quantity} units, only {acked} acknowledged and {failed} failed adds"
        );
        if on_victim[i] {
            assert!(
                quantity >= acked_a_second_before[i],
                "cart {i}: {quantity} units, but {} adds were acknowledged a second before the kill",
                acked_a_second_before[i]
            );
            lost_total += acked.saturating_sub(quantity);
        } else {
            assert_eq!(quantity, acked, "cart {i} on a surviving shard lost adds");
        }
    }
    let on_victim_count = on_victim.iter().filter(|&&v| v).count();
    let failed_total: u64 = writers
        .iter()
        .map(|w| w.failed.load(Ordering::SeqCst))
        .sum();
    println!(
        "killed {} (pid {pid}); {} promoted after {:.1} s; {} acknowledged adds ({} at the kill), \
         {failed_total} failed adds, {on_victim_count} of 12 carts on the killed shard, \
         {lost_total} acknowledged adds lost",
        victim.addr,
        replica.addr,
        promoted_after.as_secs_f64(),
        acked_total,
        acked_at_kill.iter().sum::<u64>()
    );

    // Bring the killed node back (it rejoins as a replica) for the next test.
    restore_cluster();
    let after = common::nodes().await;
    let back = after.iter().find(|n| n.addr == victim.addr).unwrap();
    assert!(!back.primary, "the old primary rejoins as a replica");
}

/// A slot is migrated from one primary to another while 8 tasks add to a cart in
/// it (and 200 other keys of the slot move in batches). While the slot is
/// migrating, the cart's key is already on the target: the source answers `ASK`
/// and the client follows it; after the move the source answers `MOVED` and the
/// client updates its slot map. No add fails, is lost or counts twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_slot_migrated_while_carts_are_written_ask_and_moved_followed() {
    let _guard = exclusive().lock().await;
    restore_cluster();
    let conn = common::connection().await;
    let prefix = common::prefix();
    let store = Arc::new(RedisCartStore::new(conn.clone(), prefix.clone()));
    let cart = CartKey::Customer(CustomerId::new());
    let cart_key = cart_key_name(&prefix, &cart);
    let slot = keyslot(&conn, &cart_key).await;

    let nodes = common::nodes().await;
    let source = nodes
        .iter()
        .find(|n| n.primary && n.serves(slot))
        .unwrap()
        .clone();
    let target = nodes
        .iter()
        .find(|n| n.primary && !n.failing && n.id != source.id)
        .unwrap()
        .clone();
    let mut src = common::node_connection(&source.addr).await;
    let mut dst = common::node_connection(&target.addr).await;

    // Other keys in the same slot (same hash tag), so the move takes a while.
    let mut c = conn.clone();
    for i in 0..200 {
        let () = redis::cmd("SET")
            .arg(format!("{cart_key}:filler:{i}"))
            .arg("x")
            .arg("EX")
            .arg(600)
            .query_async(&mut c)
            .await
            .unwrap();
    }

    let writers: Vec<Arc<Writer>> = (0..8)
        .map(|i| {
            Arc::new(Writer {
                cart,
                sku: Sku::new(format!("SKU-{i}")).unwrap(),
                acked: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                first_error: std::sync::Mutex::default(),
            })
        })
        .collect();
    // A second client that learns the slot map now and stays idle during the move:
    // its first add afterwards goes to the old owner and must follow MOVED.
    let late = RedisCartStore::new(common::connection().await, prefix.clone());
    assert!(late.cart(&cart).await.unwrap().is_none());
    let late_sku = Sku::new("SKU-LATE").unwrap();

    let errors_before = error_counts(&mut src).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = spawn_writers(&store, &writers, &stop);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let setslot = |conn: &mut redis::aio::MultiplexedConnection, how: &str, node: &str| {
        let mut cmd = redis::cmd("CLUSTER");
        cmd.arg("SETSLOT").arg(slot).arg(how).arg(node);
        let mut conn = conn.clone();
        async move {
            let () = cmd.query_async(&mut conn).await.unwrap();
        }
    };
    setslot(&mut dst, "IMPORTING", &source.id).await;
    setslot(&mut src, "MIGRATING", &target.id).await;
    let (host, port) = target.addr.split_once(':').unwrap();
    let migrating_conn = src.clone();
    let migrate = |keys: Vec<String>| {
        let mut cmd = redis::cmd("MIGRATE");
        cmd.arg(host)
            .arg(port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(keys);
        let mut src = migrating_conn.clone();
        async move {
            let reply: String = cmd.query_async(&mut src).await.unwrap();
            assert!(reply == "OK" || reply == "NOKEY", "MIGRATE: {reply}");
        }
    };
    // The cart first, then a pause with writers running: they are answered ASK.
    migrate(vec![cart_key.clone()]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    loop {
        let keys: Vec<String> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(slot)
            .arg(20)
            .query_async(&mut src)
            .await
            .unwrap();
        if keys.is_empty() {
            break;
        }
        migrate(keys).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Hand the slot over: target first, then source, then the others.
    setslot(&mut dst, "NODE", &target.id).await;
    setslot(&mut src, "NODE", &target.id).await;
    for n in nodes.iter().filter(|n| n.primary && !n.failing) {
        if n.id != source.id && n.id != target.id {
            let mut other = common::node_connection(&n.addr).await;
            setslot(&mut other, "NODE", &target.id).await;
        }
    }
    let acked_at_move = acked(&writers);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    late.add(&cart, &late_sku, 1, limits(), Utc::now())
        .await
        .expect("an add from a client with the old slot map follows MOVED");

    let errors_after = error_counts(&mut src).await;
    let asks = errors_after.get("ASK").copied().unwrap_or(0)
        - errors_before.get("ASK").copied().unwrap_or(0);
    let moved = errors_after.get("MOVED").copied().unwrap_or(0)
        - errors_before.get("MOVED").copied().unwrap_or(0);
    let read = store.cart(&cart).await.unwrap().unwrap();
    let mut total = 0;
    for (i, w) in writers.iter().enumerate() {
        let acked = w.acked.load(Ordering::SeqCst);
        total += acked;
        assert_eq!(
            w.failed.load(Ordering::SeqCst),
            0,
            "writer {i} saw failed adds, the first: {:?}",
            w.first_error.lock().unwrap()
        );
        assert_eq!(u64::from(read.quantity_of(&w.sku)), acked, "writer {i}");
        assert!(
            acked > acked_at_move[i],
            "writer {i} took no add after the move"
        );
    }
    // The slot may also hold keys of other tests (or earlier runs) sharing the
    // cluster: count only this test's, which all start with the cart's key.
    let keys_on_target: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(10_000)
        .query_async(&mut dst)
        .await
        .unwrap();
    let ours = keys_on_target
        .iter()
        .filter(|k| k.starts_with(&cart_key))
        .count();
    assert_eq!(ours, 201, "the cart and its 200 neighbours moved");
    println!(
        "slot {slot} moved {} -> {}; {total} adds, source answered ASK {asks} and MOVED {moved} times",
        source.addr, target.addr
    );
    assert_eq!(read.quantity_of(&late_sku), 1, "the late add landed once");
    assert!(asks > 0, "no add was redirected with ASK during the move");
    assert!(moved > 0, "no add was redirected with MOVED after the move");
}

/// `INFO errorstats` of one node: error prefix -> count.
async fn error_counts(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("errorstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| l.strip_prefix("errorstat_"))
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let count = rest.strip_prefix("count=")?.trim().parse().ok()?;
            Some((name.to_owned(), count))
        })
        .collect()
}
