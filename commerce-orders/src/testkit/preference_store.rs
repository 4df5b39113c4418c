//! Conformance suite of [`PreferenceStore`]: every store runs it through
//! [`preference_store_conformance!`](crate::preference_store_conformance), with a
//! fixture giving a store (possibly shared with other data: checks use new
//! customer ids).

use std::sync::Arc;

use futures::future::join_all;

use commerce_core::CustomerId;

use crate::error::Error;
use crate::notification::{Channel, NotificationKind, PreferenceStore};

/// The defaults for a customer never seen: email on for every kind, SMS and push
/// only for the parcel's journey, no contact points.
pub async fn unknown_customers_get_the_defaults(store: Arc<dyn PreferenceStore>) {
    let id = CustomerId::new();
    let p = store.get(id).await.unwrap();
    assert_eq!(p.customer_id, id);
    assert!(p.choices.is_empty());
    assert!(p.phone.is_none() && p.push_token.is_none());
    for kind in NotificationKind::ALL {
        assert!(p.allows(kind, Channel::Email));
    }
    assert!(p.allows(NotificationKind::OutForDelivery, Channel::Sms));
    assert!(!p.allows(NotificationKind::Welcome, Channel::Sms));
}

/// A choice is stored and read back; a second choice of the same kind and channel
/// replaces the first.
pub async fn choices_are_stored_and_replaced(store: Arc<dyn PreferenceStore>) {
    let id = CustomerId::new();
    let p = store
        .choose(id, NotificationKind::OutForDelivery, Channel::Sms, false)
        .await
        .unwrap();
    assert!(!p.allows(NotificationKind::OutForDelivery, Channel::Sms));
    let read = store.get(id).await.unwrap();
    assert_eq!(read, p);
    store
        .choose(id, NotificationKind::OutForDelivery, Channel::Sms, true)
        .await
        .unwrap();
    let read = store.get(id).await.unwrap();
    assert!(read.allows(NotificationKind::OutForDelivery, Channel::Sms));
    assert_eq!(read.choices.len(), 1);
}

/// Transactional mail cannot be turned off; nothing is stored then.
pub async fn transactional_mail_cannot_be_turned_off(store: Arc<dyn PreferenceStore>) {
    let id = CustomerId::new();
    let err = store
        .choose(id, NotificationKind::OrderConfirmed, Channel::Email, false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert!(store.get(id).await.unwrap().choices.is_empty());
    // Marketing-like mail can.
    let p = store
        .choose(id, NotificationKind::Welcome, Channel::Email, false)
        .await
        .unwrap();
    assert!(!p.allows(NotificationKind::Welcome, Channel::Email));
}

/// Concurrent choices of different kinds and channels are all kept.
pub async fn concurrent_choices_are_all_kept(store: Arc<dyn PreferenceStore>) {
    let id = CustomerId::new();
    let mut calls = Vec::new();
    for kind in [
        NotificationKind::Shipped,
        NotificationKind::OutForDelivery,
        NotificationKind::Delivered,
    ] {
        for channel in [Channel::Sms, Channel::Push] {
            let store = store.clone();
            calls.push(async move { store.choose(id, kind, channel, false).await });
        }
    }
    for r in join_all(calls).await {
        r.unwrap();
    }
    let p = store.get(id).await.unwrap();
    assert_eq!(p.choices.len(), 6);
    assert!(!p.allows(NotificationKind::Delivered, Channel::Push));
}

/// Contact points are validated, stored beside the choices and removable.
pub async fn contact_points_are_validated_and_kept_with_choices(store: Arc<dyn PreferenceStore>) {
    let id = CustomerId::new();
    store
        .choose(id, NotificationKind::Shipped, Channel::Push, false)
        .await
        .unwrap();
    let p = store
        .set_contact(
            id,
            Some("+14155550100".into()),
            Some("device-token-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(p.phone.as_deref(), Some("+14155550100"));
    assert_eq!(p.choices.len(), 1);
    let err = store
        .set_contact(id, Some("555-0100".into()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert_eq!(
        store.get(id).await.unwrap().phone.as_deref(),
        Some("+14155550100")
    );
    let p = store.set_contact(id, None, None).await.unwrap();
    assert!(p.phone.is_none() && p.push_token.is_none());
    assert_eq!(store.get(id).await.unwrap(), p);
}
