//! The storage ports `commerce-core` owns: catalog, customers, the event outbox,
//! sessions, login rate limits and credentials.
//!
//! Ports are object safe and used as `Arc<dyn Port>`, so a server picks its backend
//! at start-up. Each has an in-memory implementation in [`crate::memory`] and a
//! conformance suite in `testkit` (feature `testkit`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::accounts::Credentials;
use crate::address::{Customer, SavedAddress};
use crate::auth::{Decision, NewSession, RateLimit, Session, SessionToken, TokenDigest};
use crate::catalog::{Category, Product, ProductStatus, Seller, SkuListing};
use crate::error::Result;
use crate::event::EventEnvelope;
use crate::id::{AddressId, CategoryId, CustomerId, ProductId, SellerId, Sku};
use crate::money::Money;
use crate::role::Role;

/// Filter and keyset page for [`CatalogStore::list_products`].
///
/// Built with [`ProductQuery::page`] (a page size, no filter), then the `with_*`
/// setters, each taking a value or an `Option` (`None` leaves that filter off):
///
/// ```
/// use commerce_core::ProductStatus;
/// use commerce_core::ports::ProductQuery;
///
/// let query = ProductQuery::page(50).with_status(ProductStatus::Active).with_after(None);
/// assert_eq!((query.limit, query.status), (50, Some(ProductStatus::Active)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProductQuery {
    /// Only products in this category (not its descendants).
    pub category_id: Option<CategoryId>,
    /// Only products of this seller.
    pub seller_id: Option<SellerId>,
    /// Only products in this status.
    pub status: Option<ProductStatus>,
    /// Keyset cursor: only products with an id greater than this one.
    pub after: Option<ProductId>,
    /// Page size, at least 1 (0 is a `Validation` error); implementations cap it at 500.
    pub limit: u32,
}

impl ProductQuery {
    /// The first page of at most `limit` products, unfiltered.
    pub fn page(limit: u32) -> Self {
        ProductQuery {
            limit,
            ..ProductQuery::default()
        }
    }

    /// Only products in this category (not its descendants).
    pub fn with_category(mut self, category_id: impl Into<Option<CategoryId>>) -> Self {
        self.category_id = category_id.into();
        self
    }

    /// Only products of this seller.
    pub fn with_seller(mut self, seller_id: impl Into<Option<SellerId>>) -> Self {
        self.seller_id = seller_id.into();
        self
    }

    /// Only products in this status.
    pub fn with_status(mut self, status: impl Into<Option<ProductStatus>>) -> Self {
        self.status = status.into();
        self
    }

    /// The page after this product id (the last one of the previous page).
    pub fn with_after(mut self, after: impl Into<Option<ProductId>>) -> Self {
        self.after = after.into();
        self
    }
}

/// Most ids [`CatalogStore::products`] takes in one call.
pub const MAX_BATCH_IDS: usize = 500;

/// `Validation` when a batch read asks for more than [`MAX_BATCH_IDS`] items; for
/// implementations of the batch reads.
pub fn check_batch(field: &'static str, len: usize) -> Result<()> {
    if len > MAX_BATCH_IDS {
        return Err(crate::error::Error::validation(
            field,
            "at most 500 in one read",
        ));
    }
    Ok(())
}

/// Products, variants and categories.
///
/// Writes emit [`crate::event::CatalogEvent`]s into the outbox in the same transaction
/// (a product and its search document can never disagree for good).
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Creates or replaces a product with its variants. Fails with `Conflict` when a
    /// SKU or the slug belongs to another product; `Validation` when malformed.
    /// Emits `ProductUpserted`, and `PriceChanged` for each variant whose price changed.
    async fn upsert_product(&self, product: &Product) -> Result<()>;
    /// A product by id.
    async fn product(&self, id: ProductId) -> Result<Option<Product>>;
    /// A product by slug.
    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>>;
    /// The products of `ids` in one read (a fixed number of statements whatever the
    /// length, for recommendation lists and the like), in the order of `ids`.
    /// Unknown ids are left out; duplicates are returned once. At most 500 ids
    /// (more is a `Validation` error).
    async fn products(&self, ids: &[ProductId]) -> Result<Vec<Product>>;
    /// Products matching `query`, ordered by id.
    async fn list_products(&self, query: &ProductQuery) -> Result<Vec<Product>>;
    /// The listings of `skus` in one read (one round trip for a whole cart).
    /// Unknown SKUs are left out; duplicates are returned once. The order of the
    /// result is unspecified.
    async fn listings(&self, skus: &[Sku]) -> Result<Vec<SkuListing>>;
    /// Changes the price of one SKU; emits `PriceChanged`. `NotFound` for an unknown
    /// SKU, `CurrencyMismatch` when the currency differs from the product's,
    /// `InvalidAmount` for a negative or sub-minor-unit price.
    async fn set_price(&self, sku: &Sku, price: Money) -> Result<()>;
    /// Creates or replaces a category (a rename or a move is a replace). `Conflict`
    /// on a slug taken, `CategoryCycle` when the parent is the category or one of its
    /// descendants; `NotFound` for an unknown parent. Emits
    /// [`crate::event::CategoryEvent::CategoryUpserted`].
    async fn upsert_category(&self, category: &Category) -> Result<()>;
    /// All categories (the tree is rebuilt from `parent_id`).
    async fn categories(&self) -> Result<Vec<Category>>;
    /// Creates or replaces a seller record, its contact email stored trimmed and
    /// lower-cased. `Conflict` when the slug belongs to another seller;
    /// `Validation` when malformed ([`Seller::validate`]).
    async fn upsert_seller(&self, seller: &Seller) -> Result<()>;
    /// A seller by id.
    async fn seller(&self, id: SellerId) -> Result<Option<Seller>>;
    /// A seller by slug.
    async fn seller_by_slug(&self, slug: &str) -> Result<Option<Seller>>;
    /// All sellers, ordered by id.
    async fn sellers(&self) -> Result<Vec<Seller>>;
}

/// Customer accounts and address books. Password hashes and sessions live with the
/// HTTP layer's auth ports, not here.
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Creates a customer, storing the email trimmed and lower-cased. `Conflict` when
    /// the email (case-insensitive) or the id is taken; `Validation` for a malformed
    /// email or an empty name.
    async fn create_customer(&self, customer: &Customer) -> Result<()>;
    /// A customer by id.
    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>>;
    /// A customer by email (case-insensitive).
    async fn customer_by_email(&self, email: &str) -> Result<Option<Customer>>;
    /// Changes the name of a customer and returns the customer as stored.
    /// `Validation` for an empty (after trimming) name or one over 200 characters;
    /// `NotFound` for an unknown customer.
    async fn rename_customer(&self, id: CustomerId, name: &str) -> Result<Customer>;
    /// Adds or replaces a saved address. Setting a default clears the previous default
    /// of the same kind atomically. `NotFound` for an unknown customer, or when the
    /// address id belongs to another customer; `Validation` for an invalid address.
    async fn save_address(&self, address: &SavedAddress) -> Result<()>;
    /// The address book of a customer.
    async fn addresses(&self, customer_id: CustomerId) -> Result<Vec<SavedAddress>>;
    /// Deletes a saved address of `customer_id`; `NotFound` when it is not theirs.
    async fn delete_address(&self, customer_id: CustomerId, id: AddressId) -> Result<()>;
    /// A keyset page of customers by email ascending (byte order of the stored,
    /// lower-cased email): only emails starting with `page.email_prefix` (lower-cased
    /// before matching; `%` and `_` match themselves) and after `page.after`, at most
    /// `min(page.limit, CustomerPage::MAX_LIMIT)`. What staff browse and search.
    async fn list_customers(&self, page: &CustomerPage) -> Result<Vec<Customer>>;
}

/// A keyset page of [`CustomerStore::list_customers`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerPage {
    /// Only emails starting with this (case-insensitive).
    pub email_prefix: Option<String>,
    /// Only emails after this one: the last email of the previous page.
    pub after: Option<String>,
    /// Page size; capped at [`CustomerPage::MAX_LIMIT`]; 0 gives an empty page.
    pub limit: u32,
}

impl CustomerPage {
    /// Largest page a store returns.
    pub const MAX_LIMIT: u32 = 100;
}

/// An outbox entry handed to a consumer: the event and its position in the log.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// Position in the outbox, strictly increasing in commit order.
    pub seq: u64,
    /// The event.
    pub event: EventEnvelope,
}

/// The transactional outbox, read by consumers (search indexing, notifications,
/// analytics, cache invalidation).
///
/// Every consumer group (`consumer`) sees every event, in order, at least once.
/// Within a group a claim is exclusive: while one worker holds a lease, another
/// worker of the same group claims nothing, so two workers never both process one
/// event. An unacknowledged claim becomes claimable again when its lease runs out.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Appends events on their own (stores append in their own transactions; this is
    /// for events with no state change of ours behind them).
    async fn append(&self, events: &[EventEnvelope]) -> Result<()>;
    /// Claims up to `limit` events after the group's last acknowledged position, in
    /// order, for `lease`. Empty when there is nothing new or another worker of the
    /// group holds a live lease; an empty claim holds no lease. A group seen for the
    /// first time starts at the beginning of the log. `Validation` for `limit == 0`
    /// or an empty `consumer`.
    async fn claim(&self, consumer: &str, limit: u32, lease: Duration) -> Result<Vec<OutboxEntry>> {
        Ok(self.claim_leased(consumer, limit, lease).await?.entries)
    }
    /// [`Outbox::claim`], also naming the lease the claim holds (`None` for an empty
    /// claim), so that the holder can give it back with [`Outbox::release`].
    async fn claim_leased(&self, consumer: &str, limit: u32, lease: Duration) -> Result<Claimed>;
    /// Gives `lease` back: the group's unacknowledged events become claimable at
    /// once (from the first unacknowledged one) instead of when the lease runs out.
    /// A worker whose pass failed calls this so that the next attempt, its own or
    /// another worker's, need not wait out the lease. Only the holder's lease is
    /// given back: when `lease` has already ended (acknowledged, expired and claimed
    /// again by another worker, or released) nothing changes and the answer is
    /// `false`. `Validation` for an empty `consumer`.
    async fn release(&self, consumer: &str, lease: LeaseId) -> Result<bool>;
    /// Keeps `lease` alive: it now runs out `by` from now (the backend's clock, as
    /// for a claim). A worker handling a long batch calls this on a heartbeat
    /// ([`crate::worker::Runner::with_heartbeat`]), so that its lease can be short
    /// and a dead worker's events are taken over soon. `false` when `lease` has
    /// ended (acknowledged, released, or expired and claimed again by another
    /// worker): nothing changes, and the worker's acknowledgement will be refused. A
    /// lease that ran out but was not claimed again is still the holder's and is
    /// kept alive. `Validation` for an empty `consumer` or a `by` too long to add.
    async fn extend(&self, consumer: &str, lease: LeaseId, by: Duration) -> Result<bool>;
    /// Registers `consumer` before its first claim, so that [`Outbox::prune`] keeps
    /// every event the group has not acknowledged from now on; also a sign of life
    /// (like a claim) for the group retention. A new group starts where a first claim
    /// would (the oldest event kept); a known group keeps its position and lease. A
    /// worker that does something long before it claims (a search index rebuilt from
    /// the catalog) joins first, or a prune in between deletes events it never read.
    /// `Validation` for an empty `consumer`.
    ///
    /// The default claims one event and gives the lease straight back; backends
    /// override it with a plain upsert of the group.
    async fn join(&self, consumer: &str) -> Result<()> {
        let claimed = self
            .claim_leased(consumer, 1, Duration::from_secs(5))
            .await?;
        if let Some(lease) = claimed.lease {
            self.release(consumer, lease).await?;
        }
        Ok(())
    }
    /// Acknowledges every claimed event up to and including `seq`, ends the lease.
    /// Acknowledging a position not claimed by the group is a `Conflict`;
    /// acknowledging an already acknowledged position again is a no-op (a retried
    /// ack).
    async fn ack(&self, consumer: &str, seq: u64) -> Result<()>;
    /// How far `consumer` is behind: the events not yet acknowledged by the group
    /// (claimed or not) and when the oldest of them occurred. A group never seen is
    /// behind by the whole log. `Validation` for an empty `consumer`.
    async fn lag(&self, consumer: &str) -> Result<OutboxLag>;
    /// Prunes the log, in two steps. First it drops every group not seen (no claim)
    /// for `group_retention`, such as a killed instance's: a dead group must not pin
    /// the log forever (a dropped group that comes back starts again from the oldest
    /// event kept, at least once). Then it deletes up to `limit` of the oldest events
    /// every remaining group has acknowledged (positions up to the smallest
    /// acknowledged one); with no group left, nothing is deleted, and the newest event
    /// is always kept (positions go on from it). One call deletes
    /// one batch, so it never holds a long lock: call again while
    /// [`OutboxPruned::deleted`] equals `limit`. `Validation` for `limit == 0`.
    async fn prune(&self, group_retention: Duration, limit: u32) -> Result<OutboxPruned>;
}

/// What one [`Outbox::prune`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxPruned {
    /// The groups dropped for not having been seen within the retention, sorted.
    pub dropped_groups: Vec<String>,
    /// Events deleted (at most the call's `limit`).
    pub deleted: u64,
}

impl OutboxPruned {
    /// `deleted` events deleted after dropping `dropped_groups`.
    pub fn new(dropped_groups: Vec<String>, deleted: u64) -> Self {
        OutboxPruned {
            dropped_groups,
            deleted,
        }
    }
}

/// When a lease of `length` taken at `now` runs out, for an [`Outbox`] backend's
/// [`Outbox::claim_leased`] and [`Outbox::extend`]. `Validation` on `field` when
/// `length` is too long to add.
pub fn lease_end(
    now: DateTime<Utc>,
    length: Duration,
    field: &'static str,
) -> Result<DateTime<Utc>> {
    chrono::Duration::from_std(length)
        .ok()
        .and_then(|length| now.checked_add_signed(length))
        .ok_or_else(|| crate::error::Error::validation(field, "too long"))
}

/// Names one lease of an outbox consumer group ([`Outbox::claim_leased`]), for
/// [`Outbox::release`]. Every claim that hands out events gets a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeaseId(uuid::Uuid);

impl LeaseId {
    /// A new, unique lease id.
    pub fn new() -> Self {
        LeaseId(uuid::Uuid::now_v7())
    }

    /// The lease id stored as `uuid` (by a backend that keeps leases in a database).
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        LeaseId(uuid)
    }

    /// The id as a UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl Default for LeaseId {
    fn default() -> Self {
        LeaseId::new()
    }
}

/// What [`Outbox::claim_leased`] hands out: the events and the lease on them.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Claimed {
    /// The claimed events, in order (empty when there was nothing to claim).
    pub entries: Vec<OutboxEntry>,
    /// The lease held on them; `None` when `entries` is empty (no lease is held).
    pub lease: Option<LeaseId>,
}

impl Claimed {
    /// `entries` held under `lease`.
    pub fn new(entries: Vec<OutboxEntry>, lease: Option<LeaseId>) -> Self {
        Claimed { entries, lease }
    }
}

/// How far an outbox consumer group is behind ([`Outbox::lag`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxLag {
    /// Events appended and not yet acknowledged by the group.
    pub pending: u64,
    /// When the oldest of them occurred; `None` when the group is caught up.
    pub oldest_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl OutboxLag {
    /// A lag of `pending` events, the oldest from `oldest_at`.
    pub fn new(pending: u64, oldest_at: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        OutboxLag { pending, oldest_at }
    }
}

/// Login sessions.
///
/// A session is valid from `create` until the first of: its `expires_at` (extended by
/// `touch`), `revoke` of its token, `revoke_all` of its customer.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Creates a session of the account `customer_id` acting as `role`, living `ttl`
    /// from `now`, and returns it with a fresh random token. `Validation` for a TTL
    /// that is not positive or exceeds [`MAX_SESSION_TTL`](crate::auth::MAX_SESSION_TTL).
    async fn create_with_role(
        &self,
        customer_id: CustomerId,
        role: Role,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<NewSession>;

    /// Creates a customer's session ([`Role::Customer`]); see
    /// [`SessionStore::create_with_role`].
    async fn create(
        &self,
        customer_id: CustomerId,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<NewSession> {
        self.create_with_role(customer_id, Role::Customer, ttl, now)
            .await
    }

    /// The session of `token` if it is valid at `now`; `None` when unknown, expired or
    /// revoked.
    async fn session(&self, token: &SessionToken, now: DateTime<Utc>) -> Result<Option<Session>>;

    /// Extends a valid session to end no earlier than `now + ttl` (never shortens it)
    /// and returns it; `None` (and no change) when it is not valid at `now`.
    /// `Validation` for a TTL as in [`SessionStore::create`].
    async fn touch(
        &self,
        token: &SessionToken,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>>;

    /// Ends the session of `token` (a sign-out). Revoking an unknown, expired or
    /// already revoked token is not an error.
    async fn revoke(&self, token: &SessionToken) -> Result<()>;

    /// Ends every session of the account `customer_id` created before this call (after a password
    /// change, or "sign out everywhere"). Sessions created afterwards are valid.
    async fn revoke_all(&self, customer_id: CustomerId) -> Result<()>;
}

/// Limits login attempts per key (for example `email + client address`).
///
/// Sliding window log: a hit at `t` counts against every later hit at `now` while
/// `now < t + window`. An attempt is allowed when fewer than `max_hits` hits count at
/// `now`, and then counts itself; a denied attempt does not count. Exact under any
/// number of concurrent callers.
#[async_trait]
pub trait LoginRateLimiter: Send + Sync {
    /// Records an attempt on `key` at `now` under `limit` and says whether it may go
    /// ahead. `Validation` for a malformed key or limit.
    async fn hit(&self, key: &str, limit: RateLimit, now: DateTime<Utc>) -> Result<Decision>;

    /// Forgets every hit on `key` (after a successful login, or an administrator's
    /// unlock). `Validation` for a malformed key.
    async fn reset(&self, key: &str) -> Result<()>;
}

/// Password hashes, the email-verified flag and password reset tokens.
///
/// Every method is atomic on its own; a reset token is taken at most once whatever
/// the concurrency.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Creates or replaces the password hash of `customer_id` (the email-verified
    /// flag and the role are kept; new credentials are a customer's).
    async fn set_password_hash(&self, customer_id: CustomerId, password_hash: &str) -> Result<()>;

    /// The credentials of `customer_id`; `None` when they have no password.
    async fn credentials(&self, customer_id: CustomerId) -> Result<Option<Credentials>>;

    /// Sets the email-verified flag. `NotFound` when the customer has no credentials.
    async fn set_email_verified(&self, customer_id: CustomerId, verified: bool) -> Result<()>;

    /// Sets the role of the account. `NotFound` when it has no credentials.
    async fn set_role(&self, customer_id: CustomerId, role: Role) -> Result<()>;

    /// Stores a reset token of `customer_id` by its digest, valid until `expires_at`.
    async fn put_reset_token(
        &self,
        customer_id: CustomerId,
        digest: TokenDigest,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// Takes (deletes) the reset token with `digest` and returns its customer when it
    /// was valid at `now` (`now < expires_at`); `None` for an unknown, used or expired
    /// token. Of concurrent takes of one token, at most one gets `Some`.
    async fn take_reset_token(
        &self,
        digest: TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>>;
}
