//! Conformance suite of [`DeliveryLog`]: every log runs it through
//! [`delivery_log_conformance!`](crate::delivery_log_conformance). Checks use new
//! event ids, so a shared log is fine.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;

use commerce_core::EventId;

use crate::error::Error;
use crate::notification::{Channel, Claim, DeliveryKey, DeliveryLog, DeliveryState};

fn key(channel: Channel) -> DeliveryKey {
    DeliveryKey::new(EventId::new(), channel, "Someone@Example.com")
}

/// The first claim wins; after `mark_sent` every claim finds it sent.
pub async fn claim_then_sent_is_never_claimed_again(log: Arc<dyn DeliveryLog>) {
    let k = key(Channel::Email);
    let now = Utc::now();
    assert_eq!(log.claim(&k, now).await.unwrap(), Claim::Claimed);
    assert!(matches!(
        log.claim(&k, now).await.unwrap(),
        Claim::InFlight(_)
    ));
    log.mark_sent(&k, Some("queue-id-1"), now).await.unwrap();
    match log.claim(&k, now).await.unwrap() {
        Claim::AlreadySent(r) => {
            assert_eq!(r.state, DeliveryState::Sent);
            assert_eq!(r.provider_id.as_deref(), Some("queue-id-1"));
        }
        other => panic!("expected sent, got {other:?}"),
    }
    assert_eq!(log.get(&k).await.unwrap().unwrap().resends, 0);
    // A repeated mark is a no-op.
    log.mark_sent(&k, Some("other"), now).await.unwrap();
    let r = log.get(&k).await.unwrap().unwrap();
    assert_eq!(r.provider_id.as_deref(), Some("queue-id-1"));
}

/// Of many concurrent claims of one key exactly one is `Claimed`.
pub async fn concurrent_claims_have_one_winner(log: Arc<dyn DeliveryLog>) {
    let k = key(Channel::Sms);
    let now = Utc::now();
    let claims = join_all((0..16).map(|_| {
        let log = log.clone();
        let k = k.clone();
        async move { log.claim(&k, now).await.unwrap() }
    }))
    .await;
    assert_eq!(claims.iter().filter(|c| **c == Claim::Claimed).count(), 1);
}

/// Keys differ by event, channel and recipient; email recipients compare without
/// case.
pub async fn keys_are_per_event_channel_and_recipient(log: Arc<dyn DeliveryLog>) {
    let event = EventId::new();
    let now = Utc::now();
    let a = DeliveryKey::new(event, Channel::Email, "a@example.com");
    let a_upper = DeliveryKey::new(event, Channel::Email, "A@Example.com");
    assert_eq!(a, a_upper);
    for k in [
        a.clone(),
        DeliveryKey::new(event, Channel::Email, "b@example.com"),
        DeliveryKey::new(event, Channel::Sms, "a@example.com"),
        DeliveryKey::new(EventId::new(), Channel::Email, "a@example.com"),
    ] {
        assert_eq!(log.claim(&k, now).await.unwrap(), Claim::Claimed, "{k}");
    }
}

/// A released claim can be claimed again; a sent one cannot be released; marking an
/// unknown key is `NotFound`.
pub async fn release_reopens_a_claim_but_not_a_sent_message(log: Arc<dyn DeliveryLog>) {
    let k = key(Channel::Push);
    let now = Utc::now();
    log.claim(&k, now).await.unwrap();
    log.release(&k, now).await.unwrap();
    assert_eq!(log.get(&k).await.unwrap(), None);
    assert_eq!(log.claim(&k, now).await.unwrap(), Claim::Claimed);
    log.mark_sent(&k, None, now).await.unwrap();
    assert!(matches!(
        log.release(&k, now).await,
        Err(Error::Conflict(_))
    ));
    let unknown = key(Channel::Email);
    log.release(&unknown, now).await.unwrap();
    assert!(matches!(
        log.mark_sent(&unknown, None, now).await,
        Err(Error::NotFound { .. })
    ));
}

/// Claims never marked sent are listed once old enough, oldest first.
pub async fn stale_claims_list_unknown_outcomes(log: Arc<dyn DeliveryLog>) {
    // A time far in the past so other checks' claims on a shared log sort after.
    let t0 = Utc::now() - Duration::days(3650);
    let old = key(Channel::Email);
    let older = key(Channel::Email);
    let sent = key(Channel::Email);
    log.claim(&older, t0).await.unwrap();
    log.claim(&old, t0 + Duration::seconds(1)).await.unwrap();
    log.claim(&sent, t0).await.unwrap();
    log.mark_sent(&sent, None, t0).await.unwrap();
    let stale = log
        .stale_claims(t0 + Duration::seconds(1), 100)
        .await
        .unwrap();
    let ours: Vec<_> = stale
        .iter()
        .filter(|r| [&old, &older, &sent].contains(&&r.key))
        .map(|r| r.key.clone())
        .collect();
    assert_eq!(ours, vec![older.clone(), old.clone()]);
    let stale = log.stale_claims(t0, 100).await.unwrap();
    assert!(stale.iter().any(|r| r.key == older));
    assert!(!stale.iter().any(|r| r.key == old));
}

/// A whole second long ago (stored times compare equal: PostgreSQL keeps
/// microseconds), after the times `stale_claims_list_unknown_outcomes` lists, so
/// claims left here never crowd its listing on a shared log.
fn long_ago() -> DateTime<Utc> {
    let t = Utc::now() - Duration::days(1000);
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// A claim at or before the cutoff is taken over once: its claim time becomes the
/// taker's, so the same takeover again, or one with a cutoff before the new time,
/// takes nothing; a younger claim, a sent message and an unknown key are never
/// taken.
pub async fn take_over_restamps_a_stale_claim_once(log: Arc<dyn DeliveryLog>) {
    let t0 = long_ago();
    let k = key(Channel::Email);
    assert_eq!(log.claim(&k, t0).await.unwrap(), Claim::Claimed);
    // Younger than the cutoff: not taken.
    assert!(
        !log.take_over(&k, t0 - Duration::seconds(1), t0 + Duration::seconds(30))
            .await
            .unwrap()
    );
    assert_eq!(log.get(&k).await.unwrap().unwrap().claimed_at, t0);
    // At the cutoff: taken, re-stamped, still claimed.
    let t1 = t0 + Duration::seconds(30);
    assert!(log.take_over(&k, t0, t1).await.unwrap());
    let r = log.get(&k).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.claimed_at, r.resends),
        (DeliveryState::Claimed, t1, 1)
    );
    // The same takeover again finds the new claim: nothing taken.
    assert!(!log.take_over(&k, t0, t1).await.unwrap());
    // A cutoff at the new claim time but no later `now` takes nothing either.
    assert!(!log.take_over(&k, t1, t1).await.unwrap());
    // Still a claim to the others, listed by its new time.
    assert!(matches!(log.claim(&k, t1).await.unwrap(), Claim::InFlight(r) if r.claimed_at == t1));
    let stale = log.stale_claims(t0, 1_000).await.unwrap();
    assert!(!stale.iter().any(|r| r.key == k));
    // The taker finishes like a claimer.
    log.mark_sent(&k, Some("queue-id-2"), t1).await.unwrap();
    assert!(matches!(
        log.claim(&k, t1).await.unwrap(),
        Claim::AlreadySent(_)
    ));

    // A sent message is never taken over, whatever the cutoff.
    let far = t0 + Duration::days(7300);
    assert!(!log.take_over(&k, far, far).await.unwrap());
    let r = log.get(&k).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.claimed_at, r.resends),
        (DeliveryState::Sent, t1, 1)
    );
    // An unknown key is not created.
    let unknown = key(Channel::Email);
    assert!(!log.take_over(&unknown, far, far).await.unwrap());
    assert_eq!(log.get(&unknown).await.unwrap(), None);
    // A released claim is gone: nothing to take over.
    let released = key(Channel::Email);
    log.claim(&released, t0).await.unwrap();
    log.release(&released, t0).await.unwrap();
    assert!(!log.take_over(&released, far, far).await.unwrap());
    assert_eq!(log.get(&released).await.unwrap(), None);
}

/// A worker whose claim was taken over releases nothing: the taker's send is under
/// way, and a third send must not follow.
pub async fn release_of_a_claim_taken_over_leaves_the_takers(log: Arc<dyn DeliveryLog>) {
    let t0 = long_ago();
    let k = key(Channel::Email);
    log.claim(&k, t0).await.unwrap();
    let t1 = t0 + Duration::seconds(40);
    assert!(
        log.take_over(&k, t0 + Duration::seconds(30), t1)
            .await
            .unwrap()
    );
    // The first worker's send failed late: its release names its own claim time.
    log.release(&k, t0).await.unwrap();
    let r = log.get(&k).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.claimed_at, r.resends),
        (DeliveryState::Claimed, t1, 1)
    );
    assert!(matches!(
        log.claim(&k, t1).await.unwrap(),
        Claim::InFlight(_)
    ));
    // The taker may release its own.
    log.release(&k, t1).await.unwrap();
    assert_eq!(log.get(&k).await.unwrap(), None);
}

/// Of many concurrent takeovers of one stale claim exactly one wins.
pub async fn concurrent_takeovers_have_one_winner(log: Arc<dyn DeliveryLog>) {
    let t0 = long_ago();
    let k = key(Channel::Email);
    log.claim(&k, t0).await.unwrap();
    let cutoff = t0 + Duration::seconds(5);
    let now = t0 + Duration::seconds(35);
    let takes = join_all((0..16).map(|_| {
        let log = log.clone();
        let k = k.clone();
        async move { log.take_over(&k, cutoff, now).await.unwrap() }
    }))
    .await;
    assert_eq!(takes.iter().filter(|t| **t).count(), 1, "{takes:?}");
    let r = log.get(&k).await.unwrap().unwrap();
    assert_eq!((r.claimed_at, r.resends), (now, 1));
    // Even when the cutoff is not before `now`, the claim re-stamped at `now` is
    // taken once only.
    let k = key(Channel::Email);
    log.claim(&k, t0).await.unwrap();
    let takes = join_all((0..16).map(|_| {
        let log = log.clone();
        let k = k.clone();
        async move { log.take_over(&k, now, now).await.unwrap() }
    }))
    .await;
    assert_eq!(takes.iter().filter(|t| **t).count(), 1, "{takes:?}");
}
