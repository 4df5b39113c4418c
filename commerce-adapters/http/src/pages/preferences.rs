//! The account page's notification preferences: every kind on every channel as a
//! checkbox (the semantics of `GET/PUT /v1/account/notification-preferences`);
//! transactional mail is always on and shown as such, never a choice.
//!
//! Queries per request: the account page 1 read; a save 1 read + 1 store call per
//! changed choice (at most 27) — unchanged choices are not written.

use axum::extract::State;
use axum::response::Response;
use commerce::core::CustomerId;
use commerce::orders::notification::{Channel, NotificationKind, check_choice};
use serde_json::{Value, json};

use super::support::{CsrfForm, PageError, Visitor, humanize, see_other};
use crate::state::AppState;

/// The form field of one choice: `pref:<kind>:<channel>`.
fn field(kind: NotificationKind, channel: Channel) -> String {
    format!("pref:{}:{}", kind.as_str(), channel.as_str())
}

/// A channel for people.
fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Sms => "SMS",
        Channel::Push => "Push",
    }
}

fn locked(kind: NotificationKind, channel: Channel) -> bool {
    channel == Channel::Email && kind.is_transactional()
}

/// The preferences of `customer` for the account page: one row per kind, one cell
/// per channel (`email`, `sms`, `push`).
pub(super) async fn view(state: &AppState, customer: CustomerId) -> Result<Value, PageError> {
    let prefs = state.shop.notification_preferences().get(customer).await?;
    Ok(json!({
        "channels": Channel::ALL.iter().map(|&c| channel_name(c)).collect::<Vec<_>>(),
        "rows": NotificationKind::ALL.iter().map(|&kind| json!({
            "kind": humanize(kind.as_str()),
            "cells": Channel::ALL.iter().map(|&channel| json!({
                "field": field(kind, channel),
                "id": format!("pref-{}-{}", kind.as_str(), channel.as_str()),
                "label": format!("{} by {}", humanize(kind.as_str()), channel_name(channel)),
                "enabled": prefs.allows(kind, channel),
                "locked": locked(kind, channel),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "phone": prefs.phone,
        "push_registered": prefs.push_token.is_some(),
    }))
}

/// Saves the checkboxes: a checked box turns its kind on for its channel, an
/// unchecked one off; transactional mail stays on whatever the form says.
pub(super) async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let customer = visitor.customer().ok_or_else(|| {
        PageError::new(
            axum::http::StatusCode::FORBIDDEN,
            "Notification preferences belong to a customer account.",
        )
    })?;
    let store = state.shop.notification_preferences();
    let current = store.get(customer).await?;
    let mut changes = Vec::new();
    for kind in NotificationKind::ALL {
        for channel in Channel::ALL {
            if locked(kind, channel) {
                continue;
            }
            let name = field(kind, channel);
            let wanted = fields.iter().any(|(k, _)| *k == name);
            if wanted != current.allows(kind, channel) {
                check_choice(kind, channel, wanted)?;
                changes.push((kind, channel, wanted));
            }
        }
    }
    for (kind, channel, enabled) in changes {
        store.choose(customer, kind, channel, enabled).await?;
    }
    Ok(see_other("/account?saved=notifications#notifications"))
}
