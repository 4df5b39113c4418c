//! What each customer allows, per notification kind and channel.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use commerce_core::CustomerId;

use super::{Channel, NotificationKind};
use crate::error::{Error, Result};

/// One explicit choice of a customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The kind.
    pub kind: NotificationKind,
    /// The channel.
    pub channel: Channel,
    /// On or off.
    pub enabled: bool,
}

/// A customer's notification settings and contact points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationPreferences {
    /// The customer.
    pub customer_id: CustomerId,
    /// Explicit choices (at most one per kind and channel); anything not chosen
    /// follows [`NotificationKind::default_on`].
    pub choices: Vec<Choice>,
    /// Phone number for SMS.
    pub phone: Option<String>,
    /// Device token for push.
    pub push_token: Option<String>,
}

impl NotificationPreferences {
    /// The defaults: no choices, no phone, no device.
    pub fn defaults(customer_id: CustomerId) -> Self {
        NotificationPreferences {
            customer_id,
            choices: Vec::new(),
            phone: None,
            push_token: None,
        }
    }

    /// Whether `kind` may be sent on `channel`: transactional mail always; otherwise
    /// the customer's choice, or the default.
    pub fn allows(&self, kind: NotificationKind, channel: Channel) -> bool {
        if channel == Channel::Email && kind.is_transactional() {
            return true;
        }
        self.choices
            .iter()
            .find(|c| c.kind == kind && c.channel == channel)
            .map_or_else(|| kind.default_on(channel), |c| c.enabled)
    }

    /// Records a choice, replacing an earlier one for the same kind and channel.
    /// Turning transactional mail off is a `Validation` error.
    pub fn choose(
        &mut self,
        kind: NotificationKind,
        channel: Channel,
        enabled: bool,
    ) -> Result<()> {
        check_choice(kind, channel, enabled)?;
        self.choices
            .retain(|c| !(c.kind == kind && c.channel == channel));
        self.choices.push(Choice {
            kind,
            channel,
            enabled,
        });
        self.choices.sort_by_key(|c| (c.kind, c.channel));
        Ok(())
    }
}

/// The rule every store applies before storing a choice.
pub fn check_choice(kind: NotificationKind, channel: Channel, enabled: bool) -> Result<()> {
    if channel == Channel::Email && kind.is_transactional() && !enabled {
        return Err(Error::validation(
            "enabled",
            format!("{} mail is transactional and always sent", kind.as_str()),
        ));
    }
    Ok(())
}

/// Checks a contact point: a phone in E.164 (`+` and 8 to 15 digits), a device token
/// of visible ASCII up to 4096 characters.
pub fn check_contact(phone: Option<&str>, push_token: Option<&str>) -> Result<()> {
    if let Some(p) = phone {
        let digits = p.strip_prefix('+').unwrap_or("");
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::validation(
                "phone",
                "must be E.164, e.g. +14155550100",
            ));
        }
    }
    if let Some(t) = push_token
        && (t.is_empty() || t.len() > 4096 || !t.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(Error::validation(
            "push_token",
            "must be 1 to 4096 visible ASCII characters",
        ));
    }
    Ok(())
}

/// Where customers' notification preferences live.
#[async_trait]
pub trait PreferenceStore: Send + Sync {
    /// The preferences of `customer_id`; the defaults when none were stored.
    async fn get(&self, customer_id: CustomerId) -> Result<NotificationPreferences>;

    /// Turns `kind` on `channel` on or off for `customer_id`, atomically (concurrent
    /// choices of other kinds or channels are all kept), and returns the result.
    /// `Validation` when turning transactional mail off.
    async fn choose(
        &self,
        customer_id: CustomerId,
        kind: NotificationKind,
        channel: Channel,
        enabled: bool,
    ) -> Result<NotificationPreferences>;

    /// Sets the phone and device token of `customer_id` (`None` removes them), keeping
    /// the choices. `Validation` for a malformed phone or token.
    async fn set_contact(
        &self,
        customer_id: CustomerId,
        phone: Option<String>,
        push_token: Option<String>,
    ) -> Result<NotificationPreferences>;
}
