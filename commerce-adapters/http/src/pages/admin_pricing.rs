//! The admin's pricing pages: `/admin/pricing` (the tax table and the shipping
//! methods, edited with forms) and `/admin/promotions` (list with limits and
//! redemptions, create, deactivate). Every form goes through the same
//! [`commerce::orders::PricingTablesService`] as the JSON routes
//! (`routes/admin_pricing.rs`) and names the version it read, so a change made
//! meanwhile is refused (409) instead of overwritten.
//!
//! Queries per request: each page 1 read of the tables (+1 count of redemptions
//! when a promotion is limited); each form 1 read + 1 version-checked write.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use commerce::core::pricing::{DiscountKind, Promotion};
use commerce::core::{Actor, CountryCode, Money, TaxClass, TaxRate};
use commerce::orders::PromotionRule;

use super::admin::staff_only;
use super::admin_orders::admin_required;
use super::support::{CsrfForm, PageError, Visitor, page, see_other};
use crate::routes::pricing_view::PricingTablesView;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

fn unprocessable(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done {
        Some("tax") => Some("Tax table saved: the next checkout charges it."),
        Some("shipping") => Some("Shipping price saved: the next checkout charges it."),
        Some("created") => Some("Promotion created."),
        Some("deactivated") => Some("Promotion deactivated: it no longer applies."),
        _ => None,
    }
}

/// The tables as the JSON API shows them, for a page.
async fn tables_view(state: &AppState) -> Result<PricingTablesView, PageError> {
    let tables = state.shop.pricing_tables().fresh().await?;
    Ok(PricingTablesView::load(state, &tables).await?)
}

/// The tax table and the shipping methods, with their forms.
pub(super) async fn pricing(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/pricing") {
        return Ok(*r);
    }
    let view = tables_view(&state).await?;
    let mut tables = serde_json::to_value(&view).unwrap_or_default();
    // Rates as percentages for people ("7.25" for 0.0725).
    if let Some(rates) = tables["tax"]["rates"].as_array_mut() {
        for r in rates {
            let percent = r["rate"]
                .as_str()
                .and_then(|s| s.parse::<Decimal>().ok())
                .map(|d| (d * Decimal::ONE_HUNDRED).normalize().to_string());
            r["percent"] = json!(percent);
        }
    }
    page(
        &state,
        &visitor,
        "admin_pricing.html",
        json!({
            "title": "Tax and shipping",
            "section": "pricing",
            "tables": tables,
            "currency": state.shop.pricing_tables().currency().code(),
            "done": notice(q.done.as_deref()),
        }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct TaxRateForm {
    expected_version: u64,
    country: String,
    #[serde(default)]
    region: String,
    tax_class: String,
    /// Percent, `7.25`.
    #[serde(default)]
    percent: String,
    #[serde(default)]
    name: String,
    /// `set` (add or replace the rate of this country, region and class) or
    /// `remove`.
    action: String,
}

/// Adds, replaces or removes one rate of the tax table.
pub(super) async fn tax_rate(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<TaxRateForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let country: CountryCode = form
        .country
        .trim()
        .parse()
        .map_err(|_| unprocessable("Country: a two-letter code like US."))?;
    let region = Some(form.region.trim().to_uppercase()).filter(|r| !r.is_empty());
    let class = TaxClass(form.tax_class.trim().to_owned());
    let service = state.shop.pricing_tables();
    let mut tax = service.fresh().await?.tax;
    tax.rates
        .retain(|r| !(r.country == country && r.region == region && r.tax_class == class));
    if form.action == "set" {
        let percent: Decimal = form
            .percent
            .trim()
            .parse()
            .map_err(|_| unprocessable("Rate: a percentage like 7.25."))?;
        tax.rates.push(TaxRate {
            country,
            region,
            tax_class: class,
            rate: percent / Decimal::ONE_HUNDRED,
            name: form.name.trim().to_owned(),
        });
    }
    service
        .set_tax(&Actor::Admin, form.expected_version, tax)
        .await?;
    Ok(see_other("/admin/pricing?done=tax"))
}

#[derive(Debug, Deserialize)]
pub(super) struct TierPriceForm {
    expected_version: u64,
    method: String,
    tier: usize,
    price: String,
}

/// Sets the price of one weight tier of a shipping method.
pub(super) async fn tier_price(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<TierPriceForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let service = state.shop.pricing_tables();
    let price = Money::parse(form.price.trim(), service.currency())
        .map_err(|_| unprocessable("Price: a decimal amount like 4.99."))?;
    let mut methods = service.fresh().await?.shipping_methods;
    let tier = methods
        .iter_mut()
        .find(|m| m.code == form.method)
        .and_then(|m| m.tiers.get_mut(form.tier))
        .ok_or_else(|| PageError::not_found("shipping tier"))?;
    tier.price = price;
    service
        .set_shipping_methods(&Actor::Admin, form.expected_version, methods)
        .await?;
    Ok(see_other("/admin/pricing?done=shipping"))
}

/// The promotions with their limits and redemptions, and the create form.
pub(super) async fn promotions(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/promotions") {
        return Ok(*r);
    }
    let view = tables_view(&state).await?;
    page(
        &state,
        &visitor,
        "admin_promotions.html",
        json!({
            "title": "Promotions",
            "section": "promotions",
            "tables": view,
            "currency": state.shop.pricing_tables().currency().code(),
            "done": notice(q.done.as_deref()),
        }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct PromotionForm {
    expected_version: u64,
    code: String,
    /// `percentage`, `fixed` or `free_shipping`.
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    min_subtotal: String,
    #[serde(default)]
    usage_limit: String,
    #[serde(default)]
    usage_limit_per_customer: String,
    #[serde(default)]
    ends_at: String,
}

fn optional_count(field: &str, raw: &str) -> Result<Option<u32>, PageError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| unprocessable(format!("{field}: a whole number, or empty for no limit.")))
}

/// Creates a promotion.
pub(super) async fn create_promotion(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<PromotionForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let service = state.shop.pricing_tables();
    let currency = service.currency();
    let amount = |field: &str, raw: &str| {
        Money::parse(raw.trim(), currency)
            .map_err(|_| unprocessable(format!("{field}: a decimal amount like 5.00.")))
    };
    let kind = match form.kind.as_str() {
        "percentage" => DiscountKind::Percentage {
            percent: form
                .value
                .trim()
                .parse()
                .map_err(|_| unprocessable("Value: a percentage like 15."))?,
        },
        "fixed" => DiscountKind::Fixed {
            amount: amount("Value", &form.value)?,
        },
        "free_shipping" => DiscountKind::FreeShipping,
        _ => return Err(unprocessable("Kind: percentage, fixed or free shipping.")),
    };
    let min_subtotal = Some(form.min_subtotal.trim())
        .filter(|s| !s.is_empty())
        .map(|s| amount("Minimum subtotal", s))
        .transpose()?;
    let ends_at = Some(form.ends_at.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<DateTime<Utc>>()
                .map_err(|_| unprocessable("Ends at: a time like 2030-01-31T00:00:00Z."))
        })
        .transpose()?;
    let rule = PromotionRule {
        ends_at,
        usage_limit: optional_count("Usage limit", &form.usage_limit)?,
        usage_limit_per_customer: optional_count(
            "Per-customer limit",
            &form.usage_limit_per_customer,
        )?,
        ..PromotionRule::always(Promotion {
            code: form.code.trim().to_owned(),
            kind,
            min_subtotal,
            skus: None,
        })
    };
    service
        .create_promotion(&Actor::Admin, form.expected_version, rule)
        .await?;
    Ok(see_other("/admin/promotions?done=created"))
}

#[derive(Debug, Deserialize)]
pub(super) struct VersionForm {
    expected_version: u64,
}

/// Turns a promotion off (kept, no longer applies).
pub(super) async fn deactivate_promotion(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    state
        .shop
        .pricing_tables()
        .deactivate_promotion(&Actor::Admin, form.expected_version, &code)
        .await?;
    Ok(see_other("/admin/promotions?done=deactivated"))
}
