//! Staff's customer list: keyset pages by email, searched by email prefix
//! (`CustomerStore::list_customers`). One query per request.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use commerce::core::ports::CustomerPage;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::AppState;

/// Longest email prefix searched.
pub const MAX_PREFIX_CHARS: usize = 254;

/// A page of customers.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    /// Only emails starting with this (case-insensitive).
    pub email_prefix: Option<String>,
    /// Only emails after this one (the `next` of the previous page).
    pub after: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// One customer of the list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerSummary {
    /// Customer id.
    pub id: String,
    /// Email (lower-cased).
    pub email: String,
    /// Name.
    pub name: String,
    /// When the account was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A page of the customer list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerList {
    /// Customers by email ascending.
    pub customers: Vec<CustomerSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Customers by email, searched by email prefix.
#[utoipa::path(get, path = "/v1/admin/customers", tag = "admin", params(CustomersQuery),
    responses((status = 200, body = CustomerList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn list_customers(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CustomersQuery>,
) -> Result<ApiJson<CustomerList>, ApiError> {
    caller.admin()?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > CustomerPage::MAX_LIMIT {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    for (field, value) in [("email_prefix", &q.email_prefix), ("after", &q.after)] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().count() > MAX_PREFIX_CHARS)
        {
            return Err(ApiError::validation(
                field,
                format!("at most {MAX_PREFIX_CHARS} characters"),
            ));
        }
    }
    let page = CustomerPage {
        email_prefix: q.email_prefix,
        after: q.after,
        limit,
    };
    let customers = state.shop.customers().list_customers(&page).await?;
    let next = (customers.len() == limit as usize)
        .then(|| customers.last().map(|c| c.email.clone()))
        .flatten();
    Ok(ApiJson(CustomerList {
        customers: customers
            .into_iter()
            .map(|c| CustomerSummary {
                id: c.id.to_string(),
                email: c.email,
                name: c.name,
                created_at: c.created_at,
            })
            .collect(),
        next,
    }))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_customers))
}
