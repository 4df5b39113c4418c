//! Concurrent shoppers spread over the instances: browse, fill a cart on one
//! instance and read it on another, check out with an idempotency key retried on
//! other instances when an answer does not come, read the order back elsewhere.
//! Everything lands in the [`History`]; what a shopper can judge at once (a cart
//! not seen on the next instance, a session refused) lands in [`Observations`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{Answer, Event, History, Req, send};

/// A small deterministic generator (SplitMix64): the workload's choices, repeatable
/// from a seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
        }
    }

    /// True with `percent` % probability.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// What shoppers judged at once.
#[derive(Debug, Default)]
pub struct Observations {
    /// A cart changed on one instance and read on another did not show the change.
    pub cart_mismatches: Vec<String>,
    /// A valid session was refused by an instance.
    pub session_failures: Vec<String>,
    /// An order answered to a customer was not found, or not confirmed, on another
    /// instance.
    pub order_mismatches: Vec<String>,
    /// Every order id answered (201) for each client idempotency key.
    pub orders_by_key: BTreeMap<String, Vec<String>>,
    /// Keys whose checkout never got a final answer (retries exhausted).
    pub unresolved_keys: Vec<String>,
    /// Checkouts that ended confirmed (201).
    pub confirmed: u64,
    /// Checkouts refused for stock (409 insufficient_stock).
    pub out_of_stock: u64,
    /// Checkouts declined (402).
    pub declined: u64,
}

/// The shared state of a run's shoppers.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Instance addresses.
    pub addrs: Vec<String>,
    /// SKUs to buy; the first is the hot one.
    pub skus: Vec<String>,
    /// Share of cart adds that take the hot SKU, percent.
    pub hot_percent: u64,
    /// Customers (id, session token); shoppers beyond them are guests.
    pub customers: Vec<(String, String)>,
    /// The history.
    pub history: History,
    /// What shoppers judged.
    pub observations: Arc<Mutex<Observations>>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Seed of the choices.
    pub seed: u64,
}

struct Shopper {
    id: usize,
    w: Workload,
    rng: Rng,
    session: Option<String>,
}

impl Shopper {
    fn observe(&self, f: impl FnOnce(&mut Observations)) {
        f(&mut self
            .w
            .observations
            .lock()
            .unwrap_or_else(|p| p.into_inner()));
    }

    /// Sends `req` to instance `i`, records it.
    async fn call(
        &self,
        op: &'static str,
        i: usize,
        key: Option<&str>,
        req: Req,
    ) -> Result<Answer, String> {
        let addr = &self.w.addrs[i % self.w.addrs.len()];
        let at = self.w.history.elapsed();
        let t = Instant::now();
        let result = send(addr, &req.bearer(self.session.as_deref()), self.w.timeout).await;
        let (status, error, order_id) = match &result {
            Ok(a) => (
                Some(a.status),
                (a.status >= 400).then(|| a.code().to_owned()),
                a.body["id"]
                    .as_str()
                    .or_else(|| a.body["details"]["order_id"].as_str())
                    .map(str::to_owned),
            ),
            Err(e) => (None, Some(e.clone()), None),
        };
        self.w.history.push(Event {
            client: self.id,
            op,
            instance: i % self.w.addrs.len(),
            key: key.map(str::to_owned),
            at,
            latency: t.elapsed(),
            status,
            error,
            order_id,
        });
        result
    }

    fn other(&mut self, than: usize) -> usize {
        let n = self.w.addrs.len();
        if n < 2 {
            return 0;
        }
        (than + 1 + self.rng.below(n - 1)) % n
    }

    async fn run(mut self, keep_going: Arc<AtomicBool>) {
        while keep_going.load(Ordering::Relaxed) {
            self.round().await;
        }
    }

    /// One visit: browse, cart, checkout, order status.
    async fn round(&mut self) {
        let n = self.w.addrs.len();
        let a = self.rng.below(n);
        let _ = self
            .call(
                "browse",
                a,
                None,
                Req::new("GET", "/v1/catalog/products?limit=5"),
            )
            .await;
        if self.rng.chance(30) {
            let _ = self
                .call(
                    "search",
                    a,
                    None,
                    Req::new("GET", "/v1/catalog/search?q=shirt&limit=5"),
                )
                .await;
        }
        // The cart: a fresh guest cart, or the customer's own emptied.
        let cart_header: Option<String> = if self.session.is_some() {
            match self
                .call("clear_cart", a, None, Req::new("DELETE", "/v1/cart"))
                .await
            {
                Ok(r) if r.status == 200 => None,
                Ok(r) if r.status == 401 => {
                    self.observe(|o| {
                        o.session_failures
                            .push(format!("shopper {} refused by instance {a}", self.id))
                    });
                    return self.pause().await;
                }
                _ => return self.pause().await,
            }
        } else {
            match self
                .call("create_cart", a, None, Req::new("POST", "/v1/cart"))
                .await
            {
                Ok(r) if r.status == 201 => r.body["cart_token"].as_str().map(str::to_owned),
                _ => return self.pause().await,
            }
        };
        let with_cart = |req: Req| match &cart_header {
            Some(t) => req.header("x-cart-token", t),
            None => req,
        };
        let sku = if self.rng.chance(self.w.hot_percent) || self.w.skus.len() < 2 {
            self.w.skus[0].clone()
        } else {
            self.w.skus[1 + self.rng.below(self.w.skus.len() - 1)].clone()
        };
        let quantity = 1 + self.rng.below(2);
        let b = self.other(a);
        let added = self
            .call(
                "add_to_cart",
                b,
                None,
                with_cart(
                    Req::new("POST", "/v1/cart/items")
                        .json(&json!({"sku": sku, "quantity": quantity})),
                ),
            )
            .await;
        if !matches!(&added, Ok(r) if r.status == 200) {
            return self.pause().await;
        }
        // The next request, on another instance, sees the change.
        let c = self.other(b);
        if let Ok(r) = self
            .call("get_cart", c, None, with_cart(Req::new("GET", "/v1/cart")))
            .await
        {
            let seen = r.body["lines"]
                .as_array()
                .and_then(|lines| lines.iter().find(|l| l["sku"] == sku.as_str()))
                .and_then(|l| l["quantity"].as_u64());
            // Only an answer judges: a 5xx (a store unavailable for a moment) says
            // nothing about the cart.
            if r.status < 500 && (r.status != 200 || seen != Some(quantity as u64)) {
                let at = self.w.history.elapsed();
                self.observe(|o| {
                    o.cart_mismatches.push(format!(
                        "at {at:?}: shopper {} added {quantity} x {sku} on instance {b}, instance {c} answered {} with quantity {seen:?}",
                        self.id, r.status
                    ))
                });
                return self.pause().await;
            }
        }
        self.checkout(c, &with_cart).await;
    }

    async fn checkout(&mut self, first: usize, with_cart: &impl Fn(Req) -> Req) {
        let key = uuid::Uuid::now_v7().to_string();
        let declined = self.rng.chance(8);
        let card = if declined {
            "4000000000000002"
        } else {
            "4242424242424242"
        };
        let body = json!({
            "email": format!("shopper{}@chaos.example", self.id),
            "shipping_address": {"name": "Chaos", "line1": "1 Main St", "city": "Austin",
                                 "region": "TX", "postal_code": "73301", "country": "US"},
            "shipping_method": "standard",
            "payment_method": {"type": "card", "number": card, "expiry_month": 12,
                               "expiry_year": 2035, "cvc": "123"}
        });
        let req = with_cart(
            Req::new("POST", "/v1/checkout")
                .header("idempotency-key", &key)
                .json(&body),
        );
        let mut instance = first;
        let mut answers: Vec<Answer> = Vec::new();
        // A concurrent duplicate on another instance now and then.
        if self.rng.chance(15) && self.w.addrs.len() > 1 {
            let other = self.other(first);
            let (x, y) = tokio::join!(
                self.call("checkout", first, Some(&key), req.clone()),
                self.call("checkout", other, Some(&key), req.clone())
            );
            answers.extend(x.ok());
            answers.extend(y.ok());
        }
        let mut final_answer = answers
            .iter()
            .find(|a| a.status < 500 && !retryable(a))
            .cloned();
        let mut attempts = 0;
        while final_answer.is_none() && attempts < 12 {
            attempts += 1;
            match self
                .call("checkout", instance, Some(&key), req.clone())
                .await
            {
                Ok(a) if !retryable(&a) => {
                    answers.push(a.clone());
                    final_answer = Some(a);
                }
                Ok(a) => answers.push(a),
                Err(_) => {}
            }
            if final_answer.is_none() {
                instance = self.other(instance);
                tokio::time::sleep(Duration::from_millis(150 * attempts)).await;
            }
        }
        let ids: Vec<String> = answers
            .iter()
            .filter(|a| a.status == 201)
            .filter_map(|a| a.body["id"].as_str().map(str::to_owned))
            .collect();
        // The checkout may answer an order still pending payment (the gateway's
        // answer did not come): its outcome is then the recovery pass's.
        let answered_confirmed = answers
            .iter()
            .any(|a| a.status == 201 && a.body["status"] == "confirmed");
        let status = final_answer
            .as_ref()
            .map(|a| (a.status, a.code().to_owned()));
        self.observe(|o| {
            o.orders_by_key
                .entry(key.clone())
                .or_default()
                .extend(ids.clone());
            match &status {
                None => o.unresolved_keys.push(key.clone()),
                Some((201, _)) => o.confirmed += 1,
                Some((402, _)) => o.declined += 1,
                Some((409, c)) if c == "insufficient_stock" => o.out_of_stock += 1,
                Some(_) => {}
            }
        });
        // A customer reads the order back on another instance.
        if let (Some(id), Some(_), true) = (ids.first(), &self.session, answered_confirmed) {
            let other = self.other(instance);
            if let Ok(r) = self
                .call(
                    "order_status",
                    other,
                    Some(&key),
                    Req::new("GET", format!("/v1/orders/{id}")),
                )
                .await
            {
                let status = r.body["status"].as_str().unwrap_or("").to_owned();
                if r.status == 401 {
                    self.observe(|o| {
                        o.session_failures
                            .push(format!("shopper {} refused by instance {other}", self.id))
                    });
                } else if r.status < 500 && (r.status != 200 || status != "confirmed") {
                    self.observe(|o| {
                        o.order_mismatches.push(format!(
                            "order {id} (key {key}) read on instance {other}: {} {status}",
                            r.status
                        ))
                    });
                }
            }
        }
    }

    async fn pause(&self) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a checkout answer asks for the same call again (the outcome is not
/// final): a 5xx, or 409 `conflict` (a concurrent attempt holds the key).
fn retryable(a: &Answer) -> bool {
    a.status >= 500 || (a.status == 409 && a.code() == "conflict")
}

impl Workload {
    /// Runs `shoppers` shoppers until `duration` has passed; returns when all stop.
    pub async fn run(&self, shoppers: usize, duration: Duration) {
        let keep_going = Arc::new(AtomicBool::new(true));
        let timer = {
            let keep_going = Arc::clone(&keep_going);
            tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                keep_going.store(false, Ordering::Relaxed);
            })
        };
        self.run_while(shoppers, keep_going).await;
        timer.abort();
    }

    /// Runs `shoppers` shoppers until `keep_going` turns false (each finishes the
    /// visit it is on); returns when all stop.
    pub async fn run_while(&self, shoppers: usize, keep_going: Arc<AtomicBool>) {
        let mut tasks = Vec::with_capacity(shoppers);
        for id in 0..shoppers {
            let shopper = Shopper {
                id,
                w: self.clone(),
                rng: Rng::new(self.seed.wrapping_add(id as u64 * 7919)),
                session: self.customers.get(id).map(|(_, t)| t.clone()),
            };
            tasks.push(tokio::spawn(shopper.run(Arc::clone(&keep_going))));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// A snapshot of one observation.
    pub fn observed<T>(&self, f: impl FnOnce(&Observations) -> T) -> T {
        f(&self.observations.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The body as a compact string, for messages.
pub fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}
