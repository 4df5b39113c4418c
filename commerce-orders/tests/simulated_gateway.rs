//! The simulated gateway's methods, balances and fault injection.

// Test code: helpers outside `#[test]` functions unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use commerce_core::{Currency, CustomerId, Money};
use commerce_orders::simulated::test_cards;
use commerce_orders::{
    Authorization, AuthorizeOutcome, AuthorizeRequest, DeclineReason, Error, FaultTiming,
    GatewayOperation, IdempotencyKey, PaymentGateway, PaymentMethod, RefundRequest,
    SimulatedGateway,
};

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn card(number: &str, year: u16) -> PaymentMethod {
    PaymentMethod::Card {
        number: number.to_owned(),
        expiry_month: 6,
        expiry_year: year,
        cvc: "123".to_owned(),
    }
}

async fn authorize(
    g: &SimulatedGateway,
    key: &str,
    minor: i64,
    method: PaymentMethod,
) -> Result<AuthorizeOutcome, Error> {
    g.authorize(&AuthorizeRequest::new(
        IdempotencyKey::new(key).unwrap(),
        usd(minor),
        method,
        "order-1",
    ))
    .await
}

async fn approved(
    g: &SimulatedGateway,
    key: &str,
    minor: i64,
    method: PaymentMethod,
) -> Authorization {
    match authorize(g, key, minor, method).await.unwrap() {
        AuthorizeOutcome::Authorized(a) => a,
        other => panic!("expected an authorization, got {other:?}"),
    }
}

async fn declined(
    g: &SimulatedGateway,
    key: &str,
    minor: i64,
    method: PaymentMethod,
) -> DeclineReason {
    match authorize(g, key, minor, method).await.unwrap() {
        AuthorizeOutcome::Declined(d) => d.reason,
        other => panic!("expected a decline, got {other:?}"),
    }
}

#[tokio::test]
async fn cards_are_checked_and_test_numbers_decline() {
    let g = SimulatedGateway::new();
    approved(&g, "a", 100, card(test_cards::APPROVED, 2099)).await;
    approved(&g, "spaces", 100, card("4242 4242 4242 4242", 2099)).await;
    assert_eq!(
        declined(&g, "b", 100, card(test_cards::DECLINED, 2099)).await,
        DeclineReason::Declined
    );
    assert_eq!(
        declined(&g, "c", 100, card(test_cards::INSUFFICIENT_FUNDS, 2099)).await,
        DeclineReason::InsufficientFunds
    );
    assert_eq!(
        declined(&g, "d", 100, card(test_cards::EXPIRED, 2099)).await,
        DeclineReason::InvalidDetails
    );
    assert_eq!(
        declined(&g, "e", 100, card("4242424242424241", 2099)).await,
        DeclineReason::InvalidDetails
    );
    assert_eq!(
        declined(&g, "f", 100, card(test_cards::APPROVED, 2001)).await,
        DeclineReason::InvalidDetails
    );
    assert_eq!(
        declined(&g, "g", 100, card("42", 2099)).await,
        DeclineReason::InvalidDetails
    );
    let stats = g.stats();
    assert_eq!((stats.authorizations, stats.declines), (2, 6));
    // The card number never shows in Debug output.
    let shown = format!("{:?}", card(test_cards::APPROVED, 2099));
    assert!(!shown.contains("424242424242"), "{shown}");
}

#[tokio::test]
async fn wallets_and_cash_on_delivery() {
    let g = SimulatedGateway::new();
    let wallet = |token: &str| PaymentMethod::Wallet {
        provider: "apple_pay".to_owned(),
        token: token.to_owned(),
    };
    approved(&g, "w1", 500, wallet("tok_ok")).await;
    assert_eq!(
        declined(&g, "w2", 500, wallet("tok_decline_1")).await,
        DeclineReason::Declined
    );
    assert_eq!(
        declined(&g, "w3", 500, wallet(" ")).await,
        DeclineReason::InvalidDetails
    );
    let cod = approved(&g, "cod", 999_999, PaymentMethod::CashOnDelivery).await;
    assert_eq!(cod.method.label, "cash on delivery");
}

#[tokio::test]
async fn gift_card_balance_is_held_captured_voided_and_refunded_exactly() {
    let g = SimulatedGateway::new();
    g.add_gift_card("GC1", usd(5_000));
    let gift = PaymentMethod::GiftCard {
        code: "GC1".to_owned(),
    };
    let hold = approved(&g, "g1", 3_000, gift.clone()).await;
    // 20.00 unheld: a second 30.00 hold is short.
    assert_eq!(
        declined(&g, "g2", 3_000, gift.clone()).await,
        DeclineReason::InsufficientFunds
    );
    g.void(&hold.payment_reference).await.unwrap();
    assert_eq!(g.gift_card_balance("GC1"), Some(usd(5_000)));
    let charge = approved(&g, "g3", 3_000, gift.clone()).await;
    g.capture(&charge.payment_reference, usd(3_000))
        .await
        .unwrap();
    assert_eq!(g.gift_card_balance("GC1"), Some(usd(2_000)));
    g.refund(&RefundRequest::new(
        charge.payment_reference.clone(),
        IdempotencyKey::new("r1").unwrap(),
        usd(1_000),
    ))
    .await
    .unwrap();
    assert_eq!(g.gift_card_balance("GC1"), Some(usd(3_000)));
    assert_eq!(
        declined(
            &g,
            "g4",
            100,
            PaymentMethod::GiftCard {
                code: "nope".to_owned()
            }
        )
        .await,
        DeclineReason::InvalidDetails
    );
}

async fn credit_outcome(
    g: &SimulatedGateway,
    key: &str,
    minor: i64,
    customer: Option<CustomerId>,
) -> AuthorizeOutcome {
    g.authorize(
        &AuthorizeRequest::new(
            IdempotencyKey::new(key).unwrap(),
            usd(minor),
            PaymentMethod::StoreCredit,
            "order-1",
        )
        .for_customer(customer),
    )
    .await
    .unwrap()
}

fn decline_reason(outcome: AuthorizeOutcome) -> DeclineReason {
    match outcome {
        AuthorizeOutcome::Declined(d) => d.reason,
        other => panic!("expected a decline, got {other:?}"),
    }
}

#[tokio::test]
async fn store_credit_is_a_balance_per_customer() {
    let g = SimulatedGateway::new();
    let customer = CustomerId::new();
    assert_eq!(
        decline_reason(credit_outcome(&g, "s0", 100, Some(customer)).await),
        DeclineReason::InsufficientFunds
    );
    g.set_store_credit(customer, usd(1_000));
    let AuthorizeOutcome::Authorized(a) = credit_outcome(&g, "s1", 1_000, Some(customer)).await
    else {
        panic!("store credit declined");
    };
    g.capture(&a.payment_reference, usd(1_000)).await.unwrap();
    assert_eq!(g.store_credit(customer), Some(usd(0)));
    g.set_store_credit(customer, Money::from_minor(1_000, Currency::EUR));
    assert_eq!(
        decline_reason(credit_outcome(&g, "s2", 100, Some(customer)).await),
        DeclineReason::CurrencyNotSupported
    );
}

#[tokio::test]
async fn actor_store_credit_is_drawn_only_from_the_paying_customer() {
    let g = SimulatedGateway::new();
    let owner = CustomerId::new();
    g.set_store_credit(owner, usd(1_000));
    // Another customer, or a guest, cannot reach the owner's balance.
    assert_eq!(
        decline_reason(credit_outcome(&g, "o1", 100, Some(CustomerId::new())).await),
        DeclineReason::InsufficientFunds
    );
    assert_eq!(
        decline_reason(credit_outcome(&g, "o2", 100, None).await),
        DeclineReason::InvalidDetails
    );
    assert_eq!(g.store_credit(owner), Some(usd(1_000)));
}

#[tokio::test]
async fn faults_before_processing_change_nothing_and_after_processing_keep_the_work() {
    let g = SimulatedGateway::new();
    let method = card(test_cards::APPROVED, 2099);
    g.inject_fault(GatewayOperation::Authorize, FaultTiming::BeforeProcessing);
    assert!(matches!(
        authorize(&g, "k1", 100, method.clone()).await,
        Err(Error::GatewayUnavailable(_))
    ));
    assert_eq!(g.stats().authorizations, 0);
    assert!(
        g.lookup_by_idempotency_key(&IdempotencyKey::new("k1").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    g.inject_fault(GatewayOperation::Authorize, FaultTiming::AfterProcessing);
    assert!(matches!(
        authorize(&g, "k2", 100, method.clone()).await,
        Err(Error::GatewayUnavailable(_))
    ));
    assert_eq!(g.stats().authorizations, 1);
    // The retry gets the authorization the lost answer carried; no second hold.
    let a = approved(&g, "k2", 100, method).await;
    assert_eq!(g.stats().authorizations, 1);

    g.inject_fault(GatewayOperation::Capture, FaultTiming::AfterProcessing);
    assert!(g.capture(&a.payment_reference, usd(100)).await.is_err());
    g.capture(&a.payment_reference, usd(100)).await.unwrap();
    assert_eq!(g.stats().captures, 1);

    g.inject_fault(GatewayOperation::Lookup, FaultTiming::BeforeProcessing);
    assert!(
        g.lookup_by_idempotency_key(&IdempotencyKey::new("k2").unwrap())
            .await
            .is_err()
    );
    g.clear_faults();
}
