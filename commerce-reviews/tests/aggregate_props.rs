//! Property test: after any sequence of create, edit, hide, restore and delete, every
//! stored aggregate equals a recomputation from the stored reviews.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use proptest::prelude::*;

use commerce_core::memory::MemoryOutbox;
use commerce_reviews::MemoryReviewStore;
use commerce_reviews::testkit::{Op, OpWorld, apply_ops, check_aggregates};

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<u8>(), any::<u8>(), 1u8..=5).prop_map(|(customer, product, stars)| Op::Create { customer, product, stars }),
        2 => (any::<u8>(), 1u8..=5).prop_map(|(slot, stars)| Op::Edit { slot, stars }),
        1 => any::<u8>().prop_map(|slot| Op::Hide { slot }),
        1 => any::<u8>().prop_map(|slot| Op::Restore { slot }),
        1 => any::<u8>().prop_map(|slot| Op::Delete { slot }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn review_aggregates_equal_recomputation(ops in proptest::collection::vec(op(), 0..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let store = MemoryReviewStore::new(Arc::new(MemoryOutbox::new()));
            let world = OpWorld::default();
            apply_ops(&store, &world, &ops).await;
            check_aggregates(&store, &world).await;
        });
    }
}
