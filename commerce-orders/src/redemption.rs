//! Promotion usage limits: what an order redeems, when a redemption counts, and the
//! in-process ledger [`crate::SeparateStores`] counts them with.
//!
//! A [`PromotionRule`](crate::PromotionRule) may limit how many orders redeem its code in total
//! (`usage_limit`) and per buyer (`usage_limit_per_customer`). The checkout hands the
//! limited codes an order uses to the checkout store as [`Redemption`]s
//! ([`crate::CheckoutStore::place_redeeming`]), which counts them **in the step that
//! places the order**: of any number of concurrent checkouts, no more than the limit
//! are placed; the others get [`Error::PromotionExhausted`] with nothing written,
//! nothing reserved and the cart untouched.
//!
//! Decisions:
//! - **Buyers**: a customer is counted by account; a guest by the order's email
//!   (lower-cased), so a per-customer limit also holds for guests who come back
//!   with the same address.
//! - **Giving back**: an order cancelled before any money was captured (declined,
//!   out of stock, abandoned, cancelled by the buyer while only authorized) no longer
//!   counts, so its redemption is free again; once money was taken the redemption
//!   stays, even after a refund (a code cannot be recycled by buying and refunding).
//!   This is [`holds_redemptions`]; stores derive the count from it, so no cancel
//!   path has to remember to give anything back.
//! - A repeated checkout with the same idempotency key finds its order first and is
//!   never refused for the limit its own order used.

use std::collections::HashSet;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use commerce_core::CustomerId;

use crate::error::{Error, Result};
use crate::id::OrderId;
use crate::machine::{OrderStatus, PaymentStatus};
use crate::model::Order;
use crate::ports::OrderStore;
use crate::pricing_tables::PricingTables;

/// One limited promotion code an order redeems, with the limits in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Redemption {
    /// The code, upper-cased (codes match case-insensitively).
    pub code: String,
    /// Who redeems it: [`Redemption::buyer_key`].
    pub buyer: String,
    /// Most orders redeeming the code in total, if limited.
    pub total_limit: Option<u32>,
    /// Most orders redeeming the code per buyer, if limited.
    pub per_customer_limit: Option<u32>,
}

impl Redemption {
    /// The buyer a limit counts: `customer:<id>` for a customer, `guest:<email>`
    /// (lower-cased) for a guest.
    pub fn buyer_key(customer: Option<CustomerId>, email: &str) -> String {
        match customer {
            Some(id) => format!("customer:{id}"),
            None => format!("guest:{}", email.trim().to_lowercase()),
        }
    }

    /// The redemptions of `codes` (the promotions that applied to an order) whose
    /// rule in `tables` is limited, for `buyer`; unlimited codes are not counted.
    pub fn of_codes(tables: &PricingTables, codes: &[String], buyer: &str) -> Vec<Redemption> {
        codes
            .iter()
            .filter_map(|code| tables.promotion(code))
            .filter(|rule| rule.is_limited())
            .map(|rule| Redemption {
                code: rule.code.trim().to_ascii_uppercase(),
                buyer: buyer.to_owned(),
                total_limit: rule.usage_limit,
                per_customer_limit: rule.usage_limit_per_customer,
            })
            .collect()
    }

    /// The error when `used` live redemptions (all buyers) and `used_by_buyer` (this
    /// buyer) leave no room for one more.
    pub fn check(&self, used: u64, used_by_buyer: u64) -> Result<()> {
        if self.total_limit.is_some_and(|l| used >= u64::from(l)) {
            return Err(self.exhausted(false));
        }
        if self
            .per_customer_limit
            .is_some_and(|l| used_by_buyer >= u64::from(l))
        {
            return Err(self.exhausted(true));
        }
        Ok(())
    }

    fn exhausted(&self, per_customer: bool) -> Error {
        Error::PromotionExhausted {
            code: self.code.clone(),
            per_customer,
        }
    }
}

/// Whether `order` still counts against the limits of the codes it redeemed: every
/// order does, except one cancelled before any money was captured (see the module
/// docs).
pub fn holds_redemptions(order: &Order) -> bool {
    order.status != OrderStatus::Cancelled || ever_captured(order.payment.status)
}

/// Payment states reached only after a capture.
fn ever_captured(status: PaymentStatus) -> bool {
    matches!(
        status,
        PaymentStatus::Captured | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
    )
}

/// One counted redemption of [`RedemptionLedger`].
#[derive(Debug)]
struct Entry {
    code: String,
    buyer: String,
    /// The claim that made it.
    claim: u64,
    /// The order, once placed; `None` while its place step runs (it counts then).
    order: Option<OrderId>,
}

/// Redemptions counted in this process, for [`crate::SeparateStores`]: a claim is
/// checked and recorded under one lock, so concurrent checkouts never pass a limit.
/// An entry whose order was cancelled before capture stops counting: the ledger
/// asks the order store about the orders of the codes it checks (at most the live
/// redemptions of those codes, in memory). A shop of several processes needs a
/// native store (PostgreSQL counts in the order's transaction).
#[derive(Debug, Default)]
pub struct RedemptionLedger {
    entries: Mutex<Vec<Entry>>,
    next_claim: Mutex<u64>,
}

/// A claim of [`RedemptionLedger::claim`], to confirm with the placed order or
/// release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim(u64);

impl RedemptionLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops the entries of `codes` whose orders no longer hold their redemptions.
    async fn refresh(&self, codes: &HashSet<&str>, orders: &dyn OrderStore) -> Result<()> {
        let placed: Vec<OrderId> = self
            .lock()
            .iter()
            .filter(|e| codes.contains(e.code.as_str()))
            .filter_map(|e| e.order)
            .collect();
        let mut released = HashSet::new();
        for id in placed {
            if let Some(order) = orders.get(id).await?
                && !holds_redemptions(&order)
            {
                released.insert(id);
            }
        }
        if !released.is_empty() {
            self.lock()
                .retain(|e| e.order.is_none_or(|id| !released.contains(&id)));
        }
        Ok(())
    }

    /// Counts `redemptions` if every limit leaves room (`PromotionExhausted` for the
    /// first that does not, recording nothing).
    pub async fn claim(
        &self,
        redemptions: &[Redemption],
        orders: &dyn OrderStore,
    ) -> Result<Claim> {
        let codes: HashSet<&str> = redemptions.iter().map(|r| r.code.as_str()).collect();
        self.refresh(&codes, orders).await?;
        let claim = {
            let mut next = self
                .next_claim
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *next += 1;
            *next
        };
        let mut entries = self.lock();
        for r in redemptions {
            let used = entries.iter().filter(|e| e.code == r.code);
            let (all, mine) = used.fold((0u64, 0u64), |(a, m), e| {
                (a + 1, m + u64::from(e.buyer == r.buyer))
            });
            r.check(all, mine)?;
        }
        entries.extend(redemptions.iter().map(|r| Entry {
            code: r.code.clone(),
            buyer: r.buyer.clone(),
            claim,
            order: None,
        }));
        Ok(Claim(claim))
    }

    /// Ties the claim's entries to the placed `order`.
    pub fn confirm(&self, claim: Claim, order: OrderId) {
        for e in self.lock().iter_mut().filter(|e| e.claim == claim.0) {
            e.order = Some(order);
        }
    }

    /// Forgets the claim (its order was not placed).
    pub fn release(&self, claim: Claim) {
        self.lock().retain(|e| e.claim != claim.0);
    }

    /// Live redemptions of each of `codes` (upper-cased), in the order given.
    pub async fn counts(&self, codes: &[String], orders: &dyn OrderStore) -> Result<Vec<u64>> {
        let set: HashSet<&str> = codes.iter().map(String::as_str).collect();
        self.refresh(&set, orders).await?;
        let entries = self.lock();
        Ok(codes
            .iter()
            .map(|c| entries.iter().filter(|e| &e.code == c).count() as u64)
            .collect())
    }
}
