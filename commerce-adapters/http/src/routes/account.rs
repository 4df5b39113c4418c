//! The signed-in customer's account: profile (read, update), address book, log out.
//!
//! Queries per request: profile 1; addresses list 1; create/update 1 (defaults
//! switched in the same statement/transaction) + 1 to answer the book; delete 1 + 1;
//! log out 1.

use axum::extract::State;
use axum::http::StatusCode;
use commerce::core::{AddressId, SavedAddress};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::routes::catalog::parse_id;
use crate::routes::checkout::AddressBody;
use crate::state::AppState;

/// The customer's profile.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
}

/// The profile of the signed-in customer.
#[utoipa::path(get, path = "/v1/account/profile", tag = "account", responses(
    (status = 200, body = Profile), (status = 401, body = ErrorBody)))]
async fn profile(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Profile>, ApiError> {
    let id = caller.customer()?;
    let customer = state
        .shop
        .customers()
        .customer(id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    Ok(ApiJson(Profile {
        id: customer.id.to_string(),
        email: customer.email,
        name: customer.name,
    }))
}

/// A profile change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// The new name, 1 to 200 characters.
    pub name: String,
}

/// Changes the signed-in customer's name.
#[utoipa::path(put, path = "/v1/account/profile", tag = "account", request_body = ProfileUpdate,
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> Result<ApiJson<Profile>, ApiError> {
    let customer = caller.customer()?;
    let renamed = state
        .shop
        .customers()
        .rename_customer(customer, &body.name)
        .await?;
    Ok(ApiJson(Profile::from(&renamed)))
}

impl From<&commerce::core::Customer> for Profile {
    fn from(c: &commerce::core::Customer) -> Self {
        Profile {
            id: c.id.to_string(),
            email: c.email.clone(),
            name: c.name.clone(),
        }
    }
}

/// A saved address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressEntry {
    /// Id.
    pub id: String,
    /// The address.
    pub address: crate::views::AddressView,
    /// Default shipping address.
    pub is_default_shipping: bool,
    /// Default billing address.
    pub is_default_billing: bool,
}

impl From<&SavedAddress> for AddressEntry {
    fn from(a: &SavedAddress) -> Self {
        AddressEntry {
            id: a.id.to_string(),
            address: (&a.address).into(),
            is_default_shipping: a.is_default_shipping,
            is_default_billing: a.is_default_billing,
        }
    }
}

/// An address to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// The address.
    pub address: AddressBody,
    /// Make it the default shipping address.
    #[serde(default)]
    pub is_default_shipping: bool,
    /// Make it the default billing address.
    #[serde(default)]
    pub is_default_billing: bool,
}

async fn book(
    state: &AppState,
    customer: commerce::core::CustomerId,
) -> Result<Vec<AddressEntry>, ApiError> {
    let saved = state.shop.customers().addresses(customer).await?;
    Ok(saved.iter().map(AddressEntry::from).collect())
}

/// The address book.
#[utoipa::path(get, path = "/v1/account/addresses", tag = "account", responses(
    (status = 200, body = Vec<AddressEntry>), (status = 401, body = ErrorBody)))]
async fn list_addresses(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<AddressEntry>>, ApiError> {
    let customer = caller.customer()?;
    Ok(ApiJson(book(&state, customer).await?))
}

async fn save(
    state: &AppState,
    caller: &Caller,
    id: AddressId,
    input: AddressInput,
) -> Result<Vec<AddressEntry>, ApiError> {
    let customer = caller.customer()?;
    let saved = SavedAddress {
        id,
        customer_id: customer,
        address: input.address.into_address()?,
        is_default_shipping: input.is_default_shipping,
        is_default_billing: input.is_default_billing,
    };
    state.shop.customers().save_address(&saved).await?;
    book(state, customer).await
}

/// Adds an address (setting a default clears the previous one of that kind).
#[utoipa::path(post, path = "/v1/account/addresses", tag = "account", request_body = AddressInput,
    responses((status = 201, body = Vec<AddressEntry>), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_address(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<AddressInput>,
) -> Result<(StatusCode, ApiJson<Vec<AddressEntry>>), ApiError> {
    let entries = save(&state, &caller, AddressId::new(), input).await?;
    Ok((StatusCode::CREATED, ApiJson(entries)))
}

/// Replaces an address of the book.
#[utoipa::path(put, path = "/v1/account/addresses/{id}", tag = "account", request_body = AddressInput,
    params(("id" = String, Path, description = "Address id")),
    responses((status = 200, body = Vec<AddressEntry>), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_address(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AddressInput>,
) -> Result<ApiJson<Vec<AddressEntry>>, ApiError> {
    caller.customer()?;
    let id = parse_id::<AddressId>("id", &id).map_err(|_| ApiError::not_found("address"))?;
    Ok(ApiJson(save(&state, &caller, id, input).await?))
}

/// Deletes an address of the book.
#[utoipa::path(delete, path = "/v1/account/addresses/{id}", tag = "account",
    params(("id" = String, Path, description = "Address id")),
    responses((status = 200, body = Vec<AddressEntry>), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn delete_address(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Vec<AddressEntry>>, ApiError> {
    let customer = caller.customer()?;
    let id = parse_id::<AddressId>("id", &id).map_err(|_| ApiError::not_found("address"))?;
    state.shop.customers().delete_address(customer, id).await?;
    Ok(ApiJson(book(&state, customer).await?))
}

/// Ends the session sent.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "account", responses(
    (status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    caller.account()?;
    if let Some(token) = &caller.session {
        state.shop.sessions().revoke(token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the signed-in account (a customer's or staff's).
#[utoipa::path(post, path = "/v1/auth/logout-everywhere", tag = "account", responses(
    (status = 204), (status = 401, body = ErrorBody)))]
async fn logout_everywhere(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    let account = caller.account()?;
    state.shop.sessions().revoke_all(account).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(profile, update_profile))
        .routes(routes!(list_addresses, create_address))
        .routes(routes!(update_address, delete_address))
        .routes(routes!(logout))
        .routes(routes!(logout_everywhere))
}
