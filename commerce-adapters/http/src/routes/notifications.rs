//! Notifications: the signed-in customer's preferences per kind and channel, and the
//! demo's in-memory mailbox.
//!
//! Queries per request: preferences read 1; update at most 27 choices (one atomic
//! store call each, every choice validated before the first) + 1 for the contact
//! points when sent + 1 to answer; mailbox none (memory).

use axum::extract::State;
use commerce::core::CustomerId;
use commerce::orders::notification::{
    Channel, NotificationKind, NotificationPreferences, check_choice, check_contact,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::{AppState, MailMessage};

/// Whether one kind of notification goes out on one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PreferenceView {
    /// `order_confirmed`, `payment_failed`, `shipped`, `out_for_delivery`,
    /// `delivered`, `cancelled`, `refunded`, `password_reset` or `welcome`.
    pub kind: String,
    /// `email`, `sms` or `push`.
    pub channel: String,
    /// On or off.
    pub enabled: bool,
    /// Transactional mail: always sent, cannot be turned off.
    pub locked: bool,
}

/// The customer's notification settings: every kind on every channel, and where
/// SMS and push go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PreferencesView {
    /// Every kind and channel, kinds in order, channels email, sms, push.
    pub preferences: Vec<PreferenceView>,
    /// Phone number SMS go to (E.164).
    pub phone: Option<String>,
    /// Whether a device is registered for push.
    pub push_registered: bool,
}

impl From<&NotificationPreferences> for PreferencesView {
    fn from(p: &NotificationPreferences) -> Self {
        PreferencesView {
            preferences: NotificationKind::ALL
                .into_iter()
                .flat_map(|kind| {
                    Channel::ALL.into_iter().map(move |channel| PreferenceView {
                        kind: kind.as_str().to_owned(),
                        channel: channel.as_str().to_owned(),
                        enabled: p.allows(kind, channel),
                        locked: channel == Channel::Email && kind.is_transactional(),
                    })
                })
                .collect(),
            phone: p.phone.clone(),
            push_registered: p.push_token.is_some(),
        }
    }
}

/// One choice to record.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBody {
    /// The kind (see [`PreferenceView::kind`]).
    pub kind: String,
    /// The channel: `email`, `sms` or `push`.
    pub channel: String,
    /// On or off.
    pub enabled: bool,
}

/// Where SMS and push go; `null` removes one.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// Phone number, E.164 (`+14155550100`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Device token for push.
    #[serde(default)]
    pub push_token: Option<String>,
}

/// Choices to record (others keep their value) and, when sent, the contact points.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// Choices, at most one per kind and channel.
    #[serde(default)]
    pub choices: Vec<ChoiceBody>,
    /// Replaces both contact points when present.
    #[serde(default)]
    pub contact: Option<ContactBody>,
}

/// The caller's notification preferences.
#[utoipa::path(get, path = "/v1/account/notification-preferences", tag = "account",
    responses((status = 200, body = PreferencesView), (status = 401, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn get_preferences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<PreferencesView>, ApiError> {
    let customer = caller.customer()?;
    let prefs = state.shop.notification_preferences().get(customer).await?;
    Ok(ApiJson(PreferencesView::from(&prefs)))
}

fn parse_choices(body: &[ChoiceBody]) -> Result<Vec<(NotificationKind, Channel, bool)>, ApiError> {
    let max = NotificationKind::ALL.len() * Channel::ALL.len();
    if body.len() > max {
        return Err(ApiError::validation(
            "choices",
            format!("at most {max} choices"),
        ));
    }
    let mut choices = Vec::with_capacity(body.len());
    for c in body {
        let kind = NotificationKind::parse(&c.kind)?;
        let channel = Channel::parse(&c.channel)?;
        check_choice(kind, channel, c.enabled)?;
        if choices.iter().any(|&(k, ch, _)| k == kind && ch == channel) {
            return Err(ApiError::validation(
                "choices",
                format!("{} on {} is chosen twice", c.kind, c.channel),
            ));
        }
        choices.push((kind, channel, c.enabled));
    }
    Ok(choices)
}

async fn apply(
    state: &AppState,
    customer: CustomerId,
    body: PreferencesBody,
) -> Result<NotificationPreferences, ApiError> {
    // Everything is validated before the first write.
    let choices = parse_choices(&body.choices)?;
    if let Some(c) = &body.contact {
        check_contact(c.phone.as_deref(), c.push_token.as_deref())?;
    }
    let store = state.shop.notification_preferences();
    for (kind, channel, enabled) in choices {
        store.choose(customer, kind, channel, enabled).await?;
    }
    if let Some(c) = body.contact {
        store.set_contact(customer, c.phone, c.push_token).await?;
    }
    Ok(store.get(customer).await?)
}

/// Turns kinds of notification on or off per channel (transactional mail cannot be
/// turned off: 422) and sets where SMS and push go. Each choice is stored on its
/// own, so a repeated request converges on the same settings.
#[utoipa::path(put, path = "/v1/account/notification-preferences", tag = "account",
    request_body = PreferencesBody,
    responses((status = 200, body = PreferencesView), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn put_preferences(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PreferencesBody>,
) -> Result<ApiJson<PreferencesView>, ApiError> {
    let customer = caller.customer()?;
    let prefs = apply(&state, customer, body).await?;
    Ok(ApiJson(PreferencesView::from(&prefs)))
}

/// Query of the mailbox.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MailboxQuery {
    /// Only mail to this address (case-insensitive).
    pub to: Option<String>,
    /// At most this many, 1 to 200 (default 50).
    pub limit: Option<usize>,
}

/// The demo's in-memory mailbox, newest first: where mail goes when the shop runs
/// without `SMTP_URL`. 404 when mail goes out over SMTP.
#[utoipa::path(get, path = "/v1/dev/mailbox", tag = "dev", params(MailboxQuery),
    responses((status = 200, body = Vec<MailMessage>), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn mailbox(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<MailboxQuery>,
) -> Result<ApiJson<Vec<MailMessage>>, ApiError> {
    let mailbox = state
        .mailbox
        .as_ref()
        .ok_or_else(|| ApiError::not_found("mailbox"))?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 200 {
        return Err(ApiError::validation("limit", "must be 1 to 200"));
    }
    let messages = match q.to {
        None => mailbox.latest(limit),
        Some(to) => mailbox
            .latest(usize::MAX)
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to.trim()))
            .take(limit)
            .collect(),
    };
    Ok(ApiJson(messages))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(mailbox))
}
