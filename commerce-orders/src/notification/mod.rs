//! The notification policy: which events notify whom, on which channel, with what.
//!
//! - [`NotificationKind`]: the events that notify the customer (order confirmed,
//!   payment failed, shipped, out for delivery, delivered, cancelled, refunded,
//!   password reset, welcome), read from outbox topics.
//! - [`NotificationPreferences`]: per kind and [`Channel`], what a customer allows.
//!   Transactional kinds ([`NotificationKind::is_transactional`]) always go by email,
//!   whatever the preferences say; guests get the defaults.
//! - [`plan`]: the messages one event makes for one recipient, each with its
//!   [`DeliveryKey`] (event, channel, recipient) the [`DeliveryLog`] deduplicates on.
//! - [`MessageContext`]: what the templates of a message may show (order number,
//!   lines, totals, tracking link...), built from the order.
//! - Ports: [`PreferenceStore`] and [`DeliveryLog`], with in-memory implementations
//!   ([`memory`]) and conformance suites (`testkit::notification`).

mod context;
mod delivery;
pub mod memory;
mod preferences;

use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, DomainEvent, EventId};

use crate::error::{Error, Result};

pub use context::{LineContext, MessageContext};
pub use delivery::{Claim, DeliveryKey, DeliveryLog, DeliveryRecord, DeliveryState};
pub use memory::{MemoryDeliveryLog, MemoryPreferenceStore};
pub use preferences::{
    Choice, NotificationPreferences, PreferenceStore, check_choice, check_contact,
};

/// Something the customer is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotificationKind {
    /// The order is paid and will ship (`order.confirmed`).
    OrderConfirmed,
    /// The payment was declined (`payment.failed`).
    PaymentFailed,
    /// A parcel left (`fulfilment.shipped`, `fulfilment.partially_shipped`).
    Shipped,
    /// A parcel is on the van (`fulfilment.out_for_delivery`).
    OutForDelivery,
    /// Everything arrived (`fulfilment.delivered`).
    Delivered,
    /// The order was cancelled (`order.cancelled`).
    Cancelled,
    /// Money was given back (`payment.refunded`).
    Refunded,
    /// A password reset was asked for (`account.password_reset`).
    PasswordReset,
    /// A new account (`account.welcome`).
    Welcome,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 9] = [
        NotificationKind::OrderConfirmed,
        NotificationKind::PaymentFailed,
        NotificationKind::Shipped,
        NotificationKind::OutForDelivery,
        NotificationKind::Delivered,
        NotificationKind::Cancelled,
        NotificationKind::Refunded,
        NotificationKind::PasswordReset,
        NotificationKind::Welcome,
    ];

    /// Stable snake_case code (also the template name).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::OrderConfirmed => "order_confirmed",
            NotificationKind::PaymentFailed => "payment_failed",
            NotificationKind::Shipped => "shipped",
            NotificationKind::OutForDelivery => "out_for_delivery",
            NotificationKind::Delivered => "delivered",
            NotificationKind::Cancelled => "cancelled",
            NotificationKind::Refunded => "refunded",
            NotificationKind::PasswordReset => "password_reset",
            NotificationKind::Welcome => "welcome",
        }
    }

    /// The kind with code `code`.
    pub fn parse(code: &str) -> Result<Self> {
        NotificationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == code)
            .ok_or_else(|| Error::validation("kind", format!("unknown notification {code:?}")))
    }

    /// The kind an outbox topic notifies, if any.
    pub fn from_topic(topic: &str) -> Option<Self> {
        Some(match topic {
            "order.confirmed" => NotificationKind::OrderConfirmed,
            "payment.failed" => NotificationKind::PaymentFailed,
            "fulfilment.shipped" | "fulfilment.partially_shipped" => NotificationKind::Shipped,
            "fulfilment.out_for_delivery" => NotificationKind::OutForDelivery,
            "fulfilment.delivered" => NotificationKind::Delivered,
            "order.cancelled" => NotificationKind::Cancelled,
            "payment.refunded" => NotificationKind::Refunded,
            "account.password_reset" => NotificationKind::PasswordReset,
            "account.welcome" => NotificationKind::Welcome,
            _ => return None,
        })
    }

    /// Mail the customer needs whatever they chose: it is always sent by email.
    pub fn is_transactional(self) -> bool {
        matches!(
            self,
            NotificationKind::OrderConfirmed
                | NotificationKind::PaymentFailed
                | NotificationKind::Cancelled
                | NotificationKind::Refunded
                | NotificationKind::PasswordReset
        )
    }

    /// Whether `channel` is on for this kind when the customer chose nothing: email
    /// always; SMS and push for the parcel's journey (shipped, out for delivery,
    /// delivered).
    pub fn default_on(self, channel: Channel) -> bool {
        match channel {
            Channel::Email => true,
            Channel::Sms | Channel::Push => matches!(
                self,
                NotificationKind::Shipped
                    | NotificationKind::OutForDelivery
                    | NotificationKind::Delivered
            ),
        }
    }
}

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email over SMTP.
    Email,
    /// Text message.
    Sms,
    /// Push notification to the customer's device.
    Push,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Push];

    /// Stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }

    /// The channel with code `code`.
    pub fn parse(code: &str) -> Result<Self> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .ok_or_else(|| Error::validation("channel", format!("unknown channel {code:?}")))
    }
}

/// Whom a notification goes to and how to reach them; built with
/// [`Recipient::new`], then [`with_phone`](Recipient::with_phone) and
/// [`with_push_token`](Recipient::with_push_token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recipient {
    /// The customer, `None` for a guest (defaults apply).
    pub customer_id: Option<CustomerId>,
    /// Email address.
    pub email: String,
    /// Phone number for SMS (E.164), if known.
    pub phone: Option<String>,
    /// Device token for push, if registered.
    pub push_token: Option<String>,
}

impl Recipient {
    /// The customer (`None` for a guest) reached at `email`, with no phone and no
    /// push token.
    pub fn new(customer_id: impl Into<Option<CustomerId>>, email: impl Into<String>) -> Self {
        Recipient {
            customer_id: customer_id.into(),
            email: email.into(),
            phone: None,
            push_token: None,
        }
    }

    /// The same recipient with this phone number for SMS (E.164; `None`: unknown).
    pub fn with_phone(mut self, phone: impl Into<Option<String>>) -> Self {
        self.phone = phone.into();
        self
    }

    /// The same recipient with this device token for push (`None`: unregistered).
    pub fn with_push_token(mut self, token: impl Into<Option<String>>) -> Self {
        self.push_token = token.into();
        self
    }
}

/// One message to send: a kind, a channel and the address on that channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlannedMessage {
    /// What it is about.
    pub kind: NotificationKind,
    /// How it travels.
    pub channel: Channel,
    /// Email address, phone number or device token.
    pub address: String,
    /// The dedupe key: one delivery record per key ([`DeliveryLog`]).
    pub key: DeliveryKey,
}

/// The messages event `event_id` of `kind` makes for `recipient`, per `preferences`
/// (`None`: a guest, defaults apply). Transactional kinds always include the email;
/// a channel without an address (no phone, no device) is skipped.
pub fn plan(
    kind: NotificationKind,
    event_id: EventId,
    recipient: &Recipient,
    preferences: Option<&NotificationPreferences>,
) -> Vec<PlannedMessage> {
    Channel::ALL
        .into_iter()
        .filter(|&channel| match preferences {
            Some(p) => p.allows(kind, channel),
            None => {
                kind.default_on(channel) || (channel == Channel::Email && kind.is_transactional())
            }
        })
        .filter_map(|channel| {
            let address = match channel {
                Channel::Email => Some(recipient.email.clone()),
                Channel::Sms => recipient.phone.clone(),
                Channel::Push => recipient.push_token.clone(),
            }?;
            if address.trim().is_empty() {
                return None;
            }
            Some(PlannedMessage {
                kind,
                channel,
                key: DeliveryKey::new(event_id, channel, &address),
                address,
            })
        })
        .collect()
}

/// Account events that notify (emitted by whoever runs sign-up and password reset).
///
/// Topics: `account.welcome`, `account.password_reset`. The reset link carries a
/// single-use token; it passes through the outbox and the broker to reach the mail,
/// so keep its lifetime short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccountNotice {
    /// A new account.
    Welcome {
        /// The customer.
        customer_id: CustomerId,
        /// Their email.
        email: String,
        /// Their name.
        name: String,
    },
    /// A password reset was asked for.
    PasswordReset {
        /// The customer.
        customer_id: CustomerId,
        /// Their email.
        email: String,
        /// Their name.
        name: String,
        /// The link that resets the password.
        reset_url: String,
    },
}

impl AccountNotice {
    /// The customer.
    pub fn customer_id(&self) -> CustomerId {
        match self {
            AccountNotice::Welcome { customer_id, .. }
            | AccountNotice::PasswordReset { customer_id, .. } => *customer_id,
        }
    }

    /// The address the notice goes to.
    pub fn email(&self) -> &str {
        match self {
            AccountNotice::Welcome { email, .. } | AccountNotice::PasswordReset { email, .. } => {
                email
            }
        }
    }
}

impl DomainEvent for AccountNotice {
    fn topic(&self) -> &'static str {
        match self {
            AccountNotice::Welcome { .. } => "account.welcome",
            AccountNotice::PasswordReset { .. } => "account.password_reset",
        }
    }
    fn aggregate_type(&self) -> &'static str {
        "customer"
    }
    fn aggregate_id(&self) -> String {
        self.customer_id().to_string()
    }
}
