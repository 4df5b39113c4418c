//! Staff's writes to the shop's pricing tables (tax, shipping methods, promotions):
//! `commerce_orders::pricing_tables`. Every write names the `expected_version` it
//! read (`GET /v1/admin/pricing`); a stale one is 409 `conflict`. The domain checks
//! every rule (rates, codes, windows, currency) and answers 422 `validation`.
//!
//! Queries per request: read 1; each write 1 read + 1 version-checked write (with
//! its outbox event); plus 1 count of redemptions when a promotion is limited.

use axum::extract::State;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use commerce::core::pricing::DiscountKind;
use commerce::core::shipping::{ShippingZone, WeightTier};
use commerce::core::{
    Actor, CountryCode, Rounding, ShippingMethod, Sku, TaxClass, TaxRate, TaxTable,
};
use commerce::orders::{PricingTables, PromotionRule};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::routes::pricing_view::PricingTablesView;
use crate::routes::seller::MoneyInput;
use crate::state::AppState;

/// Most rates, methods or promotions in one table.
pub const MAX_ROWS: usize = 500;

/// A tax rate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateInput {
    /// ISO 3166-1 alpha-2 country (`US`).
    pub country: String,
    /// Region (state) it is limited to; absent for the whole country.
    pub region: Option<String>,
    /// Tax class (`standard`).
    pub tax_class: String,
    /// Rate as a decimal fraction string, `"0.0725"` for 7.25 %, from 0 to 1.
    pub rate: String,
    /// Name on invoices.
    pub name: String,
}

/// The whole tax table.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxTableInput {
    /// Whether catalog prices include tax.
    pub prices_include_tax: bool,
    /// `half_even` (default), `half_up`, `half_down`, `down` or `up`.
    #[schema(value_type = Option<String>)]
    pub rounding: Option<Rounding>,
    /// Tax class shipping is taxed under; absent: shipping untaxed.
    pub shipping_tax_class: Option<String>,
    /// The rates.
    pub rates: Vec<TaxRateInput>,
}

/// PUT /v1/admin/pricing/tax.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutTax {
    /// The version the change is based on.
    pub expected_version: u64,
    /// The new table.
    pub tax: TaxTableInput,
}

/// A zone a shipping method serves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneInput {
    /// Country.
    pub country: String,
    /// Regions served; empty or absent: the whole country.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// A weight tier.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierInput {
    /// Inclusive upper bound in grams; absent for the last, open tier.
    pub max_grams: Option<u32>,
    /// Price.
    pub price: MoneyInput,
}

/// A shipping method.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingMethodInput {
    /// Stable code (`standard`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// Zones served.
    pub zones: Vec<ZoneInput>,
    /// Weight tiers, ascending.
    pub tiers: Vec<TierInput>,
    /// Free from this discounted subtotal.
    pub free_over: Option<MoneyInput>,
}

/// PUT /v1/admin/pricing/shipping-methods.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutShippingMethods {
    /// The version the change is based on.
    pub expected_version: u64,
    /// Every method offered (replaces the list).
    pub shipping_methods: Vec<ShippingMethodInput>,
}

/// What a promotion takes off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DiscountInput {
    /// Percent off, `"15"` or `"12.5"`, above 0 and at most 100.
    Percentage {
        /// Decimal string.
        percent: String,
    },
    /// A fixed amount off.
    Fixed {
        /// Amount, in the shop's currency.
        amount: MoneyInput,
    },
    /// Free shipping.
    FreeShipping,
}

/// A promotion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionInput {
    /// Code shoppers enter (letters, digits, `-`, `_`), unique case-insensitively.
    pub code: String,
    /// The discount.
    pub discount: DiscountInput,
    /// Only from this amount of eligible goods on.
    pub min_subtotal: Option<MoneyInput>,
    /// Only these SKUs; absent: every line.
    pub skus: Option<Vec<String>>,
    /// Valid from (RFC 3339).
    pub starts_at: Option<DateTime<Utc>>,
    /// Valid until (exclusive), after `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Whether it applies (default true).
    pub active: Option<bool>,
    /// Most orders that may redeem it, all buyers together (at least 1); absent:
    /// unlimited. Counted atomically with the orders: once reached, checkouts with
    /// the code are 422 `promotion_exhausted`.
    pub usage_limit: Option<u32>,
    /// Most orders per buyer (a customer by account, a guest by email; at least 1);
    /// absent: unlimited.
    pub usage_limit_per_customer: Option<u32>,
}

/// POST /v1/admin/promotions and PUT /v1/admin/promotions/{code}.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPromotion {
    /// The version the change is based on.
    pub expected_version: u64,
    /// The promotion.
    pub promotion: PromotionInput,
}

/// POST /v1/admin/promotions/{code}/deactivate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deactivate {
    /// The version the change is based on.
    pub expected_version: u64,
}

fn country(field: &str, raw: &str) -> Result<CountryCode, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::validation(field, "must be an ISO 3166-1 alpha-2 code"))
}

fn decimal(field: &str, raw: &str) -> Result<Decimal, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::validation(field, "must be a decimal number"))
}

fn check_rows(field: &str, n: usize) -> Result<(), ApiError> {
    if n > MAX_ROWS {
        return Err(ApiError::validation(field, format!("at most {MAX_ROWS}")));
    }
    Ok(())
}

impl TaxTableInput {
    fn into_table(self) -> Result<TaxTable, ApiError> {
        check_rows("tax.rates", self.rates.len())?;
        let rates = self
            .rates
            .into_iter()
            .map(|r| {
                Ok(TaxRate {
                    country: country("tax.rates.country", &r.country)?,
                    region: r.region,
                    tax_class: TaxClass(r.tax_class),
                    rate: decimal("tax.rates.rate", &r.rate)?,
                    name: r.name,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(TaxTable {
            prices_include_tax: self.prices_include_tax,
            rounding: self.rounding.unwrap_or_default(),
            shipping_tax_class: self.shipping_tax_class.map(TaxClass),
            rates,
        })
    }
}

impl ShippingMethodInput {
    fn into_method(self) -> Result<ShippingMethod, ApiError> {
        let zones = self
            .zones
            .into_iter()
            .map(|z| {
                Ok(ShippingZone {
                    country: country("shipping_methods.zones.country", &z.country)?,
                    regions: z.regions,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        let tiers = self
            .tiers
            .into_iter()
            .map(|t| {
                Ok(WeightTier {
                    max_grams: t.max_grams,
                    price: t.price.to_money("shipping_methods.tiers.price")?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(ShippingMethod {
            code: self.code,
            name: self.name,
            zones,
            tiers,
            free_over: self
                .free_over
                .map(|m| m.to_money("shipping_methods.free_over"))
                .transpose()?,
        })
    }
}

impl PromotionInput {
    fn into_rule(self) -> Result<PromotionRule, ApiError> {
        let kind = match self.discount {
            DiscountInput::Percentage { percent } => DiscountKind::Percentage {
                percent: decimal("promotion.discount.percent", &percent)?,
            },
            DiscountInput::Fixed { amount } => DiscountKind::Fixed {
                amount: amount.to_money("promotion.discount.amount")?,
            },
            DiscountInput::FreeShipping => DiscountKind::FreeShipping,
        };
        let skus = match self.skus {
            None => None,
            Some(list) => {
                check_rows("promotion.skus", list.len())?;
                Some(
                    list.into_iter()
                        .map(|s| {
                            s.parse::<Sku>()
                                .map_err(|_| ApiError::validation("promotion.skus", "not a SKU"))
                        })
                        .collect::<Result<Vec<_>, ApiError>>()?,
                )
            }
        };
        Ok(PromotionRule {
            code: self.code,
            kind,
            min_subtotal: self
                .min_subtotal
                .map(|m| m.to_money("promotion.min_subtotal"))
                .transpose()?,
            skus,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            active: self.active.unwrap_or(true),
            usage_limit: self.usage_limit,
            usage_limit_per_customer: self.usage_limit_per_customer,
        })
    }
}

/// The answer of every route here: the tables with their promotions' redemptions.
async fn view(
    state: &AppState,
    tables: &PricingTables,
) -> Result<ApiJson<PricingTablesView>, ApiError> {
    Ok(ApiJson(PricingTablesView::load(state, tables).await?))
}

/// The pricing tables as stored now, with their `version`.
#[utoipa::path(get, path = "/v1/admin/pricing", tag = "admin",
    responses((status = 200, description = "The pricing tables, promotions with their redemptions", body = PricingTablesView),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_pricing(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<PricingTablesView>, ApiError> {
    caller.admin()?;
    let tables = state.shop.pricing_tables().fresh().await?;
    view(&state, &tables).await
}

/// Replaces the tax table.
#[utoipa::path(put, path = "/v1/admin/pricing/tax", tag = "admin", request_body = PutTax,
    responses((status = 200, description = "The tables as stored", body = PricingTablesView),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn put_tax(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PutTax>,
) -> Result<ApiJson<PricingTablesView>, ApiError> {
    caller.admin()?;
    let actor = Actor::Admin;
    let tax = body.tax.into_table()?;
    let tables = state
        .shop
        .pricing_tables()
        .set_tax(&actor, body.expected_version, tax)
        .await?;
    view(&state, &tables).await
}

/// Replaces the shipping methods.
#[utoipa::path(put, path = "/v1/admin/pricing/shipping-methods", tag = "admin",
    request_body = PutShippingMethods,
    responses((status = 200, description = "The tables as stored", body = PricingTablesView),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn put_shipping_methods(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PutShippingMethods>,
) -> Result<ApiJson<PricingTablesView>, ApiError> {
    caller.admin()?;
    let actor = Actor::Admin;
    check_rows("shipping_methods", body.shipping_methods.len())?;
    let methods = body
        .shipping_methods
        .into_iter()
        .map(ShippingMethodInput::into_method)
        .collect::<Result<Vec<_>, _>>()?;
    let tables = state
        .shop
        .pricing_tables()
        .set_shipping_methods(&actor, body.expected_version, methods)
        .await?;
    view(&state, &tables).await
}

/// Creates a promotion (409 when its code is taken).
#[utoipa::path(post, path = "/v1/admin/promotions", tag = "admin", request_body = PutPromotion,
    responses((status = 200, description = "The tables as stored", body = PricingTablesView),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_promotion(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PutPromotion>,
) -> Result<ApiJson<PricingTablesView>, ApiError> {
    caller.admin()?;
    let actor = Actor::Admin;
    let rule = body.promotion.into_rule()?;
    let tables = state
        .shop
        .pricing_tables()
        .create_promotion(&actor, body.expected_version, rule)
        .await?;
    view(&state, &tables).await
}

/// Replaces the promotion with `code` (its code cannot change).
#[utoipa::path(put, path = "/v1/admin/promotions/{code}", tag = "admin",
    params(("code" = String, Path, description = "Promotion code")),
    request_body = PutPromotion,
    responses((status = 200, description = "The tables as stored", body = PricingTablesView),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_promotion(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<PutPromotion>,
) -> Result<ApiJson<PricingTablesView>, ApiError> {
    caller.admin()?;
    let actor = Actor::Admin;
    let rule = body.promotion.into_rule()?;
    let tables = state
        .shop
        .pricing_tables()
        .update_promotion(&actor, body.expected_version, &code, rule)
        .await?;
    view(&state, &tables).await
}

/// Turns the promotion with `code` off (kept, no longer applies).
#[utoipa::path(post, path = "/v1/admin/promotions/{code}/deactivate", tag = "admin",
    params(("code" = String, Path, description = "Promotion code")),
    request_body = Deactivate,
    responses((status = 200, description = "The tables as stored", body = PricingTablesView),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn deactivate_promotion(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<Deactivate>,
) -> Result<ApiJson<PricingTablesView>, ApiError> {
    caller.admin()?;
    let actor = Actor::Admin;
    let tables = state
        .shop
        .pricing_tables()
        .deactivate_promotion(&actor, body.expected_version, &code)
        .await?;
    view(&state, &tables).await
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_pricing))
        .routes(routes!(put_tax))
        .routes(routes!(put_shipping_methods))
        .routes(routes!(create_promotion))
        .routes(routes!(update_promotion))
        .routes(routes!(deactivate_promotion))
}
