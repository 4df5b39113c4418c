//! Checks of [`PricingTableStore`](crate::ports::PricingTableStore) implementations,
//! directly and through the [`PricingTablesService`] that admins write with. Every
//! check gets a fresh, empty store (the tables are one document per shop).

use std::sync::Arc;

use chrono::Duration;
use futures::future::join_all;
use rust_decimal::Decimal;

use commerce_core::pricing::DiscountKind;
use commerce_core::testkit::fixtures::{fixed_time, standard_shipping, us_tax_table, usd};
use commerce_core::testkit::support::drain;
use commerce_core::{Actor, Currency, CustomerId, DomainEvent, ManualClock};

use crate::checkout::CheckoutConfig;
use crate::error::Error;
use crate::pricing_tables::{
    PricingTables, PricingTablesChanged, PricingTablesService, PromotionRule, tables_of,
};

use super::PricingTablesFixture;
use super::support::unique;

fn config() -> CheckoutConfig {
    CheckoutConfig::new(Currency::USD, us_tax_table(), vec![standard_shipping()]).with_promotions(
        vec![commerce_core::pricing::Promotion {
            code: "WELCOME10".to_owned(),
            kind: DiscountKind::Percentage {
                percent: Decimal::TEN,
            },
            min_subtotal: None,
            skus: None,
        }],
    )
}

/// Tables using every field: regional tax, tiers, a windowed fixed promotion.
fn full_tables() -> PricingTables {
    let mut t = tables_of(&config(), fixed_time());
    t.promotions.push(PromotionRule {
        code: "SPRING-5".to_owned(),
        kind: DiscountKind::Fixed {
            amount: usd("5.00"),
        },
        min_subtotal: Some(usd("25.00")),
        skus: Some(vec![commerce_core::testkit::fixtures::sku("TEE-1")]),
        starts_at: Some(fixed_time()),
        ends_at: Some(fixed_time() + Duration::days(30)),
        active: false,
        usage_limit: Some(100),
        usage_limit_per_customer: Some(1),
    });
    t
}

fn event(version: u64) -> Vec<commerce_core::EventEnvelope> {
    vec![
        PricingTablesChanged {
            version,
            part: "tax".to_owned(),
            code: None,
        }
        .envelope(fixed_time())
        .unwrap(),
    ]
}

async fn table_events(f: &PricingTablesFixture) -> Vec<u64> {
    drain(f.outbox.as_ref(), &unique("group"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.topic == PricingTablesChanged::TOPIC)
        .map(|e| {
            serde_json::from_value::<PricingTablesChanged>(e.payload)
                .unwrap()
                .version
        })
        .collect()
}

fn service(f: &PricingTablesFixture) -> PricingTablesService {
    PricingTablesService::new(
        f.store.clone(),
        Arc::new(ManualClock::new(fixed_time())),
        &config(),
    )
}

/// An empty store loads `None`; the first save (expected version 0) stores the
/// tables whole at version 1 with its event, and they read back equal.
pub async fn first_save_stores_version_one_and_round_trips(f: PricingTablesFixture) {
    assert_eq!(f.store.load().await.unwrap(), None);
    let mut tables = full_tables();
    tables.version = 77;
    let stored = f.store.save(&tables, 0, &event(1)).await.unwrap();
    let mut expected = full_tables();
    expected.version = 1;
    assert_eq!(stored, expected);
    assert_eq!(f.store.load().await.unwrap(), Some(expected));
    assert_eq!(table_events(&f).await, vec![1]);
}

/// A save naming a version that is not the stored one is a `Conflict` and writes
/// neither the tables nor its events.
pub async fn stale_save_conflicts_and_writes_nothing(f: PricingTablesFixture) {
    let first = f.store.save(&full_tables(), 0, &event(1)).await.unwrap();
    let mut changed = first.clone();
    changed.tax.rates.clear();
    let second = f.store.save(&changed, 1, &event(2)).await.unwrap();
    assert_eq!(second.version, 2);
    for stale in [0, 1, 3] {
        let err = f.store.save(&first, stale, &event(9)).await.unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    }
    assert_eq!(f.store.load().await.unwrap(), Some(second));
    assert_eq!(table_events(&f).await, vec![1, 2]);
}

/// Of 50 concurrent saves from one version exactly one wins; the others conflict.
pub async fn concurrent_saves_of_one_version_let_exactly_one_win(f: PricingTablesFixture) {
    f.store.save(&full_tables(), 0, &event(1)).await.unwrap();
    let tables = full_tables();
    let events = event(2);
    let results = join_all((0..50).map(|_| f.store.save(&tables, 1, &events))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    }
    assert_eq!(f.store.load().await.unwrap().unwrap().version, 2);
    assert_eq!(table_events(&f).await, vec![1, 2]);
}

/// Seeding stores the configuration's tables once; a second seed (or a seed of
/// another process) leaves them.
pub async fn seeding_stores_the_configuration_once(f: PricingTablesFixture) {
    let service = service(&f);
    let first = service.seed().await.unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.tax, us_tax_table());
    assert_eq!(first.promotions[0].code, "WELCOME10");
    let again = join_all((0..5).map(|_| service.seed())).await;
    for r in again {
        assert_eq!(r.unwrap(), first);
    }
    assert_eq!(table_events(&f).await, vec![1]);
}

/// Admin changes through the service: staff only, versioned, validated, each one
/// event; the cached copy shows the change at once in the writing process.
pub async fn admin_changes_are_checked_versioned_and_seen(f: PricingTablesFixture) {
    let service = service(&f);
    let seeded = service.seed().await.unwrap();
    assert_eq!(service.current().await.unwrap().version, 1);
    let customer = Actor::customer(CustomerId::new());
    let err = service
        .set_tax(&customer, 1, us_tax_table())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");

    // A rate above 100 % is refused, nothing stored.
    let mut bad = us_tax_table();
    bad.rates[0].rate = Decimal::new(15, 1);
    let err = service.set_tax(&Actor::Admin, 1, bad).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");

    let mut tax = us_tax_table();
    tax.rates[0].rate = Decimal::new(10, 2);
    let changed = service
        .set_tax(&Actor::Admin, 1, tax.clone())
        .await
        .unwrap();
    assert_eq!(changed.version, 2);
    assert_eq!(changed.tax, tax);
    assert_eq!(changed.promotions, seeded.promotions);
    assert_eq!(service.current().await.unwrap().tax, tax);

    // The version read before is stale now.
    let err = service
        .set_shipping_methods(&Actor::Admin, 1, vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");

    // Promotions: unique codes (case-insensitively), windows ordered, money in the
    // shop's currency.
    let rule = PromotionRule {
        code: "spring5".to_owned(),
        kind: DiscountKind::Fixed {
            amount: usd("5.00"),
        },
        min_subtotal: None,
        skus: None,
        starts_at: None,
        ends_at: None,
        active: true,
        usage_limit: None,
        usage_limit_per_customer: None,
    };
    let created = service
        .create_promotion(&Actor::Admin, 2, rule.clone())
        .await
        .unwrap();
    assert_eq!(created.version, 3);
    let err = service
        .create_promotion(
            &Actor::Admin,
            3,
            PromotionRule {
                code: "SPRING5".to_owned(),
                ..rule.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let err = service
        .create_promotion(
            &Actor::Admin,
            3,
            PromotionRule {
                code: "NONE-LEFT".to_owned(),
                usage_limit: Some(0),
                ..rule.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let err = service
        .create_promotion(
            &Actor::Admin,
            3,
            PromotionRule {
                code: "LATER".to_owned(),
                starts_at: Some(fixed_time()),
                ends_at: Some(fixed_time() - Duration::days(1)),
                ..rule.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let err = service
        .create_promotion(
            &Actor::Admin,
            3,
            PromotionRule {
                code: "EUROS".to_owned(),
                kind: DiscountKind::Fixed {
                    amount: commerce_core::testkit::fixtures::eur("5.00"),
                },
                ..rule.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");

    let off = service
        .deactivate_promotion(&Actor::Admin, 3, "SPRING5")
        .await
        .unwrap();
    assert!(!off.promotion("spring5").unwrap().active);
    let err = service
        .deactivate_promotion(&Actor::Admin, 4, "NOPE")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(f.store.load().await.unwrap(), Some(off));
    assert_eq!(table_events(&f).await, vec![1, 2, 3, 4]);
}
