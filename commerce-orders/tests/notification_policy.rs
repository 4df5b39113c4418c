//! The notification policy: which events notify on which channel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use commerce_core::{CustomerId, EventId};
use commerce_orders::notification::{
    Channel, NotificationKind, NotificationPreferences, Recipient, plan,
};

fn recipient() -> Recipient {
    Recipient::new(CustomerId::new(), "a@example.com")
        .with_phone("+14155550100".to_owned())
        .with_push_token("token".to_owned())
}

fn channels(kind: NotificationKind, prefs: Option<&NotificationPreferences>) -> Vec<Channel> {
    plan(kind, EventId::new(), &recipient(), prefs)
        .into_iter()
        .map(|m| m.channel)
        .collect()
}

#[test]
fn notify_policy_topics_map_to_kinds() {
    assert_eq!(
        NotificationKind::from_topic("order.confirmed"),
        Some(NotificationKind::OrderConfirmed)
    );
    assert_eq!(
        NotificationKind::from_topic("fulfilment.partially_shipped"),
        Some(NotificationKind::Shipped)
    );
    assert_eq!(NotificationKind::from_topic("payment.captured"), None);
    for k in NotificationKind::ALL {
        assert_eq!(NotificationKind::parse(k.as_str()).unwrap(), k);
    }
}

#[test]
fn notify_policy_defaults_and_opt_out() {
    assert_eq!(
        channels(NotificationKind::OrderConfirmed, None),
        vec![Channel::Email]
    );
    assert_eq!(
        channels(NotificationKind::OutForDelivery, None),
        vec![Channel::Email, Channel::Sms, Channel::Push]
    );
    let mut prefs = NotificationPreferences::defaults(CustomerId::new());
    prefs
        .choose(NotificationKind::OutForDelivery, Channel::Sms, false)
        .unwrap();
    prefs
        .choose(NotificationKind::Welcome, Channel::Email, false)
        .unwrap();
    assert_eq!(
        channels(NotificationKind::OutForDelivery, Some(&prefs)),
        vec![Channel::Email, Channel::Push]
    );
    assert!(channels(NotificationKind::Welcome, Some(&prefs)).is_empty());
    // Transactional mail always goes, whatever is stored.
    prefs.choices.push(commerce_orders::notification::Choice {
        kind: NotificationKind::Refunded,
        channel: Channel::Email,
        enabled: false,
    });
    assert_eq!(
        channels(NotificationKind::Refunded, Some(&prefs)),
        vec![Channel::Email]
    );
}

#[test]
fn notify_policy_skips_channels_without_an_address() {
    let mut r = recipient();
    r.phone = None;
    r.push_token = None;
    let planned = plan(NotificationKind::Delivered, EventId::new(), &r, None);
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].channel, Channel::Email);
}
