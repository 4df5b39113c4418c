//! The shop's pricing tables at run time: tax, shipping methods and promotions that
//! admins change while the shop runs, and that every checkout prices with.
//!
//! - [`PricingTables`]: the versioned document and its rules
//!   ([`PricingTables::validate`]);
//! - [`PricingTableStore`]: the port (memory: [`MemoryPricingTableStore`]; the
//!   PostgreSQL adapter has its own); every change writes
//!   [`PricingTablesChanged`] to the outbox in its transaction;
//! - [`PricingTablesService`]: admin writes (validated, optimistic: each names the
//!   version it read, a stale one is `Conflict`) and the cached tables checkout
//!   reads.
//!
//! **Staleness.** Each process caches the tables. A write through this process's
//! service drops its cache at once. Another process learns of it when its outbox
//! consumer (`PricingCacheConsumer` in the facade, run by the example's workers)
//! sees `pricing.tables_changed` and calls [`PricingTablesService::invalidate`];
//! whatever happens to the consumer, a cached copy is never used longer than
//! [`PricingTablesService::max_age`] (default [`DEFAULT_MAX_AGE`]). So a change
//! reaches every checkout within the consumer's lag, and at worst within
//! `max_age`.

mod memory;
mod model;

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};

use commerce_core::pricing::Promotion;
use commerce_core::{Actor, Clock, Currency, DomainEvent, ShippingMethod, TaxTable};

pub use memory::MemoryPricingTableStore;
pub use model::{MAX_CODE_LEN, PricingTables, PricingTablesChanged, PromotionRule};

use crate::checkout::CheckoutConfig;
use crate::error::{Error, Result};
use crate::ports::PricingTableStore;

/// How long a process uses its cached tables at most without reloading them.
pub const DEFAULT_MAX_AGE: Duration = Duration::seconds(30);

#[derive(Debug, Clone)]
struct Cached {
    tables: Arc<PricingTables>,
    loaded_at: DateTime<Utc>,
}

/// Admin writes to the pricing tables and the cached copy checkout prices with. See
/// the module docs for how fresh the copy is. Share it (`Arc`) between the checkout
/// and the admin routes of one process.
pub struct PricingTablesService {
    store: Arc<dyn PricingTableStore>,
    clock: Arc<dyn Clock>,
    currency: Currency,
    /// What the tables are while the store holds none (the configuration's).
    defaults: PricingTables,
    max_age: Duration,
    cache: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for PricingTablesService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PricingTablesService")
            .field("currency", &self.currency)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// The tables `config` describes, as version 0 (not stored).
pub fn tables_of(config: &CheckoutConfig, now: DateTime<Utc>) -> PricingTables {
    PricingTables {
        version: 0,
        tax: config.tax.clone(),
        shipping_methods: config.shipping_methods.clone(),
        promotions: config
            .promotions
            .iter()
            .cloned()
            .map(PromotionRule::always)
            .collect(),
        updated_at: now,
    }
}

impl PricingTablesService {
    /// The service over `store`, in the currency of `config`; while the store is
    /// empty the tables of `config` apply ([`PricingTablesService::seed`] stores
    /// them).
    pub fn new(
        store: Arc<dyn PricingTableStore>,
        clock: Arc<dyn Clock>,
        config: &CheckoutConfig,
    ) -> Self {
        PricingTablesService {
            defaults: tables_of(config, clock.now()),
            store,
            clock,
            currency: config.currency,
            max_age: DEFAULT_MAX_AGE,
            cache: Mutex::new(None),
        }
    }

    /// Over an in-memory store of its own holding nothing: the tables of `config`
    /// until an admin changes them (what a [`crate::Checkout`] built without a
    /// store uses).
    pub fn in_memory(clock: Arc<dyn Clock>, config: &CheckoutConfig) -> Self {
        let outbox = Arc::new(commerce_core::memory::MemoryOutbox::new());
        Self::new(
            Arc::new(MemoryPricingTableStore::new(outbox)),
            clock,
            config,
        )
    }

    /// With cached tables used at most `max_age` without a reload (0: every read
    /// loads).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Longest a cached copy is used.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The shop's currency (every amount of the tables is in it).
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Stores the configuration's tables when the store holds none (a store seeded
    /// already, or seeded concurrently, is left as it is). Returns the tables now
    /// stored. Configured tables that break a rule are `Validation`.
    pub async fn seed(&self) -> Result<PricingTables> {
        if let Some(t) = self.store.load().await? {
            return Ok(t);
        }
        self.defaults.validate(self.currency)?;
        let event = PricingTablesChanged {
            version: 1,
            part: "seed".to_owned(),
            code: None,
        };
        let envelopes = [event.envelope(self.clock.now())?];
        match self.store.save(&self.defaults, 0, &envelopes).await {
            Ok(t) => {
                self.invalidate();
                Ok(t)
            }
            Err(Error::Conflict(_)) => self
                .store
                .load()
                .await?
                .ok_or_else(|| Error::Conflict("pricing tables vanished".to_owned())),
            Err(e) => Err(e),
        }
    }

    /// Drops the cached copy: the next read loads the tables (what the outbox
    /// consumer calls on `pricing.tables_changed`).
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> MutexGuard<'_, Option<Cached>> {
        // The cache is replaced whole: a panic cannot leave half of it.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current tables: the cached copy when younger than `max_age`, else loaded
    /// from the store (one read); the configuration's while the store is empty.
    pub async fn current(&self) -> Result<Arc<PricingTables>> {
        let now = self.clock.now();
        if let Some(c) = self.lock().as_ref()
            && now.signed_duration_since(c.loaded_at) < self.max_age
        {
            return Ok(c.tables.clone());
        }
        let tables = Arc::new(match self.store.load().await? {
            Some(t) => t,
            None => self.defaults.clone(),
        });
        *self.lock() = Some(Cached {
            tables: tables.clone(),
            loaded_at: now,
        });
        Ok(tables)
    }

    /// The tables as stored now, bypassing the cache (what an admin edits).
    pub async fn fresh(&self) -> Result<PricingTables> {
        Ok(self
            .store
            .load()
            .await?
            .unwrap_or_else(|| self.defaults.clone()))
    }

    /// The promotions with `codes` (case-insensitive, each once) applying at `now`:
    /// `UnknownPromotion` for a code that is not in the tables, deactivated, or
    /// outside its window.
    pub(crate) fn chosen_promotions(
        tables: &PricingTables,
        codes: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Promotion>> {
        let mut chosen: Vec<Promotion> = Vec::with_capacity(codes.len());
        for code in codes {
            let rule = tables
                .promotion(code)
                .filter(|p| p.applies_at(now))
                .ok_or_else(|| Error::UnknownPromotion(code.trim().to_owned()))?;
            if !chosen.iter().any(|p| p.code == rule.code) {
                chosen.push(rule.promotion());
            }
        }
        Ok(chosen)
    }

    /// Replaces the tax table. Staff only (`Forbidden`), at the version read (`Conflict`), validated (`Validation`), with one event.
    pub async fn set_tax(
        &self,
        actor: &Actor,
        expected_version: u64,
        tax: TaxTable,
    ) -> Result<PricingTables> {
        self.change(actor, expected_version, "tax", None, |t| {
            t.tax = tax;
            Ok(())
        })
        .await
    }

    /// Replaces the shipping methods. Staff only (`Forbidden`), at the version read (`Conflict`), validated (`Validation`), with one event.
    pub async fn set_shipping_methods(
        &self,
        actor: &Actor,
        expected_version: u64,
        methods: Vec<ShippingMethod>,
    ) -> Result<PricingTables> {
        self.change(actor, expected_version, "shipping_methods", None, |t| {
            t.shipping_methods = methods;
            Ok(())
        })
        .await
    }

    /// Adds a promotion; `Conflict` when its code is taken (case-insensitively).
    /// Staff only (`Forbidden`), at the version read (`Conflict`), validated (`Validation`), with one event.
    pub async fn create_promotion(
        &self,
        actor: &Actor,
        expected_version: u64,
        rule: PromotionRule,
    ) -> Result<PricingTables> {
        let code = rule.code.trim().to_owned();
        self.change(actor, expected_version, "promotions", Some(&code), |t| {
            if t.promotion(&code).is_some() {
                return Err(Error::Conflict(format!("promotion {code} exists")));
            }
            t.promotions.push(PromotionRule {
                code: code.clone(),
                ..rule
            });
            Ok(())
        })
        .await
    }

    /// Replaces the promotion with `code` by `rule` (whose code must be `code`):
    /// `NotFound` for an unknown code. Staff only (`Forbidden`), at the version read (`Conflict`), validated (`Validation`), with one event.
    pub async fn update_promotion(
        &self,
        actor: &Actor,
        expected_version: u64,
        code: &str,
        rule: PromotionRule,
    ) -> Result<PricingTables> {
        if !rule.code.trim().eq_ignore_ascii_case(code.trim()) {
            return Err(Error::validation(
                "code",
                "the code of a promotion cannot change",
            ));
        }
        self.change(actor, expected_version, "promotions", Some(code), |t| {
            let slot = t
                .promotions
                .iter_mut()
                .find(|p| p.code.eq_ignore_ascii_case(code.trim()))
                .ok_or_else(|| Error::not_found("promotion", code))?;
            *slot = PromotionRule {
                code: slot.code.clone(),
                ..rule
            };
            Ok(())
        })
        .await
    }

    /// Turns the promotion with `code` off (kept, no longer applies): `NotFound`
    /// for an unknown code. Staff only (`Forbidden`), at the version read (`Conflict`), validated (`Validation`), with one event.
    pub async fn deactivate_promotion(
        &self,
        actor: &Actor,
        expected_version: u64,
        code: &str,
    ) -> Result<PricingTables> {
        self.change(actor, expected_version, "promotions", Some(code), |t| {
            let slot = t
                .promotions
                .iter_mut()
                .find(|p| p.code.eq_ignore_ascii_case(code.trim()))
                .ok_or_else(|| Error::not_found("promotion", code))?;
            slot.active = false;
            Ok(())
        })
        .await
    }

    /// One admin change: only staff (`Forbidden`); the stored tables must be at
    /// `expected_version` (`Conflict` otherwise: reload and retry); the changed
    /// tables must pass [`PricingTables::validate`] (`Validation`); stored with a
    /// [`PricingTablesChanged`] event in one step, and this process's cache
    /// dropped. Returns the tables as stored.
    async fn change(
        &self,
        actor: &Actor,
        expected_version: u64,
        part: &str,
        code: Option<&str>,
        apply: impl FnOnce(&mut PricingTables) -> Result<()>,
    ) -> Result<PricingTables> {
        if !actor.is_admin() {
            return Err(Error::Forbidden("only staff change the pricing tables"));
        }
        let mut tables = self.fresh().await?;
        if tables.version != expected_version {
            return Err(Error::Conflict(format!(
                "the pricing tables are at version {}, not {expected_version}: reload and retry",
                tables.version
            )));
        }
        apply(&mut tables)?;
        tables.validate(self.currency)?;
        let now = self.clock.now();
        tables.updated_at = now;
        let event = PricingTablesChanged {
            version: expected_version + 1,
            part: part.to_owned(),
            code: code.map(|c| c.trim().to_owned()),
        };
        let stored = self
            .store
            .save(&tables, expected_version, &[event.envelope(now)?])
            .await?;
        self.invalidate();
        Ok(stored)
    }
}

/// Consumer group prefix of [`PricingCacheConsumer`]s (one group per instance).
pub const CACHE_GROUP_PREFIX: &str = "pricing.cache.";

/// Keeps one instance's cached pricing tables fresh: on `pricing.tables_changed`
/// (written by whichever instance changed them) it drops the cache, so the next
/// checkout loads the new tables. One consumer group per instance
/// (`pricing.cache.<instance>`), so every instance sees every change.
#[derive(Debug, Clone)]
pub struct PricingCacheConsumer {
    group: String,
    service: Arc<PricingTablesService>,
}

impl PricingCacheConsumer {
    /// The consumer of `instance` (a name unique among running instances) for
    /// `service`.
    pub fn new(instance: &str, service: Arc<PricingTablesService>) -> Self {
        PricingCacheConsumer {
            group: format!("{CACHE_GROUP_PREFIX}{instance}"),
            service,
        }
    }
}

#[async_trait::async_trait]
impl commerce_core::EventConsumer for PricingCacheConsumer {
    fn group(&self) -> &str {
        &self.group
    }

    async fn handle(&self, event: &commerce_core::EventEnvelope) -> commerce_core::Result<()> {
        if event.topic == PricingTablesChanged::TOPIC {
            self.service.invalidate();
        }
        Ok(())
    }
}
