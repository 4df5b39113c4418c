//! The pricing tables as the admin API answers them (`GET /v1/admin/pricing`, every
//! write under it, `GET /v1/admin/tables`), with their OpenAPI schemas; promotions
//! carry their usage limits and how many orders hold a redemption.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use commerce::core::pricing::DiscountKind;
use commerce::core::{Rounding, ShippingMethod, TaxTable};
use commerce::orders::{PricingTables, PromotionRule};

use crate::error::ApiError;
use crate::state::AppState;
use crate::views::MoneyView;

/// A tax rate.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaxRateView {
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Region it is limited to; absent for the whole country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Tax class.
    pub tax_class: String,
    /// Rate as a decimal fraction string (`"0.0725"`).
    pub rate: String,
    /// Name on invoices.
    pub name: String,
}

/// The tax table.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaxTableView {
    /// Whether catalog prices include tax.
    pub prices_include_tax: bool,
    /// `half_even`, `half_up`, `half_down`, `down` or `up`.
    #[schema(value_type = String)]
    pub rounding: Rounding,
    /// Tax class shipping is taxed under; absent: untaxed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_tax_class: Option<String>,
    /// The rates.
    pub rates: Vec<TaxRateView>,
}

impl From<&TaxTable> for TaxTableView {
    fn from(t: &TaxTable) -> Self {
        TaxTableView {
            prices_include_tax: t.prices_include_tax,
            rounding: t.rounding,
            shipping_tax_class: t.shipping_tax_class.as_ref().map(|c| c.0.clone()),
            rates: t
                .rates
                .iter()
                .map(|r| TaxRateView {
                    country: r.country.to_string(),
                    region: r.region.clone(),
                    tax_class: r.tax_class.0.clone(),
                    rate: r.rate.to_string(),
                    name: r.name.clone(),
                })
                .collect(),
        }
    }
}

/// A zone a shipping method serves.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ZoneView {
    /// Country.
    pub country: String,
    /// Regions served; empty: the whole country.
    pub regions: Vec<String>,
}

/// A weight tier.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TierView {
    /// Inclusive upper bound in grams; absent for the open last tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_grams: Option<u32>,
    /// Price.
    pub price: MoneyView,
}

/// A shipping method.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ShippingMethodView {
    /// Stable code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Zones served.
    pub zones: Vec<ZoneView>,
    /// Weight tiers, ascending.
    pub tiers: Vec<TierView>,
    /// Free from this discounted subtotal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_over: Option<MoneyView>,
}

impl From<&ShippingMethod> for ShippingMethodView {
    fn from(m: &ShippingMethod) -> Self {
        ShippingMethodView {
            code: m.code.clone(),
            name: m.name.clone(),
            zones: m
                .zones
                .iter()
                .map(|z| ZoneView {
                    country: z.country.to_string(),
                    regions: z.regions.clone(),
                })
                .collect(),
            tiers: m
                .tiers
                .iter()
                .map(|t| TierView {
                    max_grams: t.max_grams,
                    price: t.price.into(),
                })
                .collect(),
            free_over: m.free_over.map(MoneyView::from),
        }
    }
}

/// What a promotion takes off.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiscountView {
    /// Percent off (decimal string).
    Percentage {
        /// `"15"`, `"12.5"`.
        percent: String,
    },
    /// A fixed amount off.
    Fixed {
        /// The amount.
        amount: MoneyView,
    },
    /// Free shipping.
    FreeShipping,
}

/// A promotion with its limits and use.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PromotionView {
    /// Code shoppers enter.
    pub code: String,
    /// The discount.
    pub discount: DiscountView,
    /// Applies from this amount of eligible goods on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_subtotal: Option<MoneyView>,
    /// Only these SKUs; absent: every line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skus: Option<Vec<String>>,
    /// Valid from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Valid until (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Whether it applies.
    pub active: bool,
    /// Most orders redeeming it in total; absent: unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_limit: Option<u32>,
    /// Most orders per buyer (customer account, or guest email); absent: unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_limit_per_customer: Option<u32>,
    /// Orders holding a redemption now (orders cancelled before capture gave
    /// theirs back). Counted only for limited codes; 0 for the others.
    pub redemptions: u64,
}

impl PromotionView {
    fn of(p: &PromotionRule, redemptions: u64) -> Self {
        let discount = match &p.kind {
            DiscountKind::Percentage { percent } => DiscountView::Percentage {
                percent: percent.to_string(),
            },
            DiscountKind::Fixed { amount } => DiscountView::Fixed {
                amount: (*amount).into(),
            },
            // Free shipping and any kind pricing adds later.
            _ => DiscountView::FreeShipping,
        };
        PromotionView {
            code: p.code.clone(),
            discount,
            min_subtotal: p.min_subtotal.map(MoneyView::from),
            skus: p
                .skus
                .as_ref()
                .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect()),
            starts_at: p.starts_at,
            ends_at: p.ends_at,
            active: p.active,
            usage_limit: p.usage_limit,
            usage_limit_per_customer: p.usage_limit_per_customer,
            redemptions,
        }
    }
}

/// The shop's pricing tables, versioned.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PricingTablesView {
    /// Version to name in the next write's `expected_version` (0: never changed).
    pub version: u64,
    /// Tax rates.
    pub tax: TaxTableView,
    /// Shipping methods.
    pub shipping_methods: Vec<ShippingMethodView>,
    /// Promotions.
    pub promotions: Vec<PromotionView>,
    /// When the tables last changed.
    pub updated_at: DateTime<Utc>,
}

impl PricingTablesView {
    /// The view of `tables`, counting the redemptions of its limited promotions
    /// (one query for all of them, none when no promotion is limited).
    pub async fn load(state: &AppState, tables: &PricingTables) -> Result<Self, ApiError> {
        let limited: Vec<String> = tables
            .promotions
            .iter()
            .filter(|p| p.is_limited())
            .map(|p| p.code.clone())
            .collect();
        let counts = if limited.is_empty() {
            Vec::new()
        } else {
            state.shop.checkout().redemption_counts(&limited).await?
        };
        let count_of = |p: &PromotionRule| {
            limited
                .iter()
                .position(|c| c == &p.code)
                .and_then(|i| counts.get(i).copied())
                .unwrap_or(0)
        };
        Ok(PricingTablesView {
            version: tables.version,
            tax: (&tables.tax).into(),
            shipping_methods: tables.shipping_methods.iter().map(Into::into).collect(),
            promotions: tables
                .promotions
                .iter()
                .map(|p| PromotionView::of(p, count_of(p)))
                .collect(),
            updated_at: tables.updated_at,
        })
    }
}
