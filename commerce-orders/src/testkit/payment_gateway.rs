//! Checks of [`PaymentGateway`] implementations.

use std::collections::HashSet;

use futures::future::join_all;

use commerce_core::Money;

use crate::error::Error;
use crate::id::IdempotencyKey;
use crate::payment::{
    Authorization, AuthorizeOutcome, AuthorizeRequest, GatewayPaymentStatus, PaymentGateway,
    RefundRequest,
};

use super::PaymentGatewayFixture;
use super::support::unique;

fn key(prefix: &str) -> IdempotencyKey {
    IdempotencyKey::new(unique(prefix)).unwrap()
}

fn request(f: &PaymentGatewayFixture, key: &IdempotencyKey, minor: i64) -> AuthorizeRequest {
    AuthorizeRequest::new(
        key.clone(),
        Money::from_minor(minor, f.currency),
        f.approved.clone(),
        unique("order"),
    )
}

async fn authorize(f: &PaymentGatewayFixture, key: &IdempotencyKey, minor: i64) -> Authorization {
    match f.gateway.authorize(&request(f, key, minor)).await.unwrap() {
        AuthorizeOutcome::Authorized(a) => a,
        AuthorizeOutcome::Declined(d) => panic!("approved method declined: {d:?}"),
    }
}

/// An approved authorization holds the amount; the lookup by key reports it.
pub async fn authorize_approves_and_lookup_reports_it(f: PaymentGatewayFixture) {
    let k = key("auth");
    let auth = authorize(&f, &k, 4_999).await;
    assert_eq!(auth.amount, Money::from_minor(4_999, f.currency));
    let record = f
        .gateway
        .lookup_by_idempotency_key(&k)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, GatewayPaymentStatus::Authorized);
    assert_eq!(record.payment_reference, Some(auth.payment_reference));
    assert_eq!(record.authorized, auth.amount);
    assert!(record.captured.is_zero());
    assert!(record.decline.is_none());
}

/// Repeating a key returns the first authorization (same reference), holding nothing
/// more.
pub async fn authorize_with_the_same_key_returns_the_same_authorization(f: PaymentGatewayFixture) {
    let k = key("auth");
    let first = authorize(&f, &k, 1_000).await;
    let again = authorize(&f, &k, 1_000).await;
    assert_eq!(again.payment_reference, first.payment_reference);
    assert_eq!(again.amount, first.amount);
}

/// 100 concurrent authorizations with one key all get the same single payment.
pub async fn concurrent_authorizations_with_one_key_hold_once(f: PaymentGatewayFixture) {
    let k = key("auth");
    let req = request(&f, &k, 2_500);
    let results = join_all((0..100).map(|_| f.gateway.authorize(&req))).await;
    let refs: HashSet<String> = results
        .into_iter()
        .map(|r| match r.unwrap() {
            AuthorizeOutcome::Authorized(a) => a.payment_reference.0,
            AuthorizeOutcome::Declined(d) => panic!("declined: {d:?}"),
        })
        .collect();
    assert_eq!(refs.len(), 1);
    let record = f
        .gateway
        .lookup_by_idempotency_key(&k)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.authorized, Money::from_minor(2_500, f.currency));
}

/// A decline is an outcome, not an error; the key keeps its decline and the lookup
/// reports it with nothing held.
pub async fn decline_is_an_outcome_and_repeats_for_the_key(f: PaymentGatewayFixture) {
    let k = key("decline");
    let mut req = request(&f, &k, 1_000);
    req.method = f.declined.clone();
    let AuthorizeOutcome::Declined(first) = f.gateway.authorize(&req).await.unwrap() else {
        panic!("declining method approved");
    };
    let AuthorizeOutcome::Declined(again) = f.gateway.authorize(&req).await.unwrap() else {
        panic!("a declined key must stay declined");
    };
    assert_eq!(first, again);
    let record = f
        .gateway
        .lookup_by_idempotency_key(&k)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, GatewayPaymentStatus::Declined);
    assert_eq!(record.decline, Some(first));
    assert!(record.payment_reference.is_none());
    assert!(record.authorized.is_zero());
}

/// A key reused for another amount is a `Conflict`, and the first payment stands.
pub async fn key_reused_for_another_amount_conflicts(f: PaymentGatewayFixture) {
    let k = key("auth");
    authorize(&f, &k, 1_000).await;
    let err = f
        .gateway
        .authorize(&request(&f, &k, 2_000))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let record = f
        .gateway
        .lookup_by_idempotency_key(&k)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.authorized, Money::from_minor(1_000, f.currency));
}

/// Capture takes at most the authorized amount; repeating it returns the first
/// capture; capturing more than authorized is refused.
pub async fn capture_takes_the_authorized_amount_once(f: PaymentGatewayFixture) {
    let k = key("cap");
    let auth = authorize(&f, &k, 3_000).await;
    let too_much = Money::from_minor(3_001, f.currency);
    assert!(
        f.gateway
            .capture(&auth.payment_reference, too_much)
            .await
            .is_err()
    );
    let capture = f
        .gateway
        .capture(&auth.payment_reference, auth.amount)
        .await
        .unwrap();
    assert_eq!(capture.amount, auth.amount);
    let again = f
        .gateway
        .capture(&auth.payment_reference, auth.amount)
        .await
        .unwrap();
    assert_eq!(again, capture);
    let record = f
        .gateway
        .lookup_by_idempotency_key(&k)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, GatewayPaymentStatus::Captured);
    assert_eq!(record.captured, auth.amount);
    // A captured payment cannot be voided.
    let err = f.gateway.void(&auth.payment_reference).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

/// Void cancels the hold; a second void is a no-op; a voided payment cannot be
/// captured.
pub async fn void_cancels_the_hold_and_repeats_harmlessly(f: PaymentGatewayFixture) {
    let k = key("void");
    let auth = authorize(&f, &k, 1_500).await;
    f.gateway.void(&auth.payment_reference).await.unwrap();
    f.gateway.void(&auth.payment_reference).await.unwrap();
    let record = f
        .gateway
        .lookup_by_idempotency_key(&k)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, GatewayPaymentStatus::Voided);
    let err = f
        .gateway
        .capture(&auth.payment_reference, auth.amount)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

/// Refunds are idempotent by their key and never exceed what was captured.
pub async fn refund_is_idempotent_by_key_and_bounded_by_the_capture(f: PaymentGatewayFixture) {
    let k = key("refund");
    let auth = authorize(&f, &k, 10_000).await;
    f.gateway
        .capture(&auth.payment_reference, auth.amount)
        .await
        .unwrap();
    let rk = key("r1");
    let part = RefundRequest::new(
        auth.payment_reference.clone(),
        rk.clone(),
        Money::from_minor(2_500, f.currency),
    );
    let first = f.gateway.refund(&part).await.unwrap();
    let again = f.gateway.refund(&part).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.total_refunded, Money::from_minor(2_500, f.currency));
    // Concurrent repeats of one key pay out once.
    let results = join_all((0..50).map(|_| f.gateway.refund(&part))).await;
    assert!(results.iter().all(|r| r.as_ref().unwrap() == &first));
    let too_much = RefundRequest::new(
        auth.payment_reference.clone(),
        key("r2"),
        Money::from_minor(7_501, f.currency),
    );
    let err = f.gateway.refund(&too_much).await.unwrap_err();
    assert!(
        matches!(err, Error::RefundExceedsCaptured { .. }),
        "{err:?}"
    );
    let rest = RefundRequest::new(
        too_much.payment_reference,
        too_much.idempotency_key,
        Money::from_minor(7_500, f.currency),
    );
    let last = f.gateway.refund(&rest).await.unwrap();
    assert_eq!(last.total_refunded, auth.amount);
    let record = f
        .gateway
        .lookup_by_idempotency_key(&k)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, GatewayPaymentStatus::Refunded);
    assert_eq!(record.refunded, auth.amount);
}

/// A key never used is `None`.
pub async fn lookup_of_an_unknown_key_is_none(f: PaymentGatewayFixture) {
    let gateway: &dyn PaymentGateway = f.gateway.as_ref();
    assert_eq!(
        gateway
            .lookup_by_idempotency_key(&key("none"))
            .await
            .unwrap(),
        None
    );
}
