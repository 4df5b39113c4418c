//! The conformance suite on the in-memory store.

use std::sync::Arc;

use commerce_core::memory::MemoryOutbox;
use commerce_inventory::MemoryInventory;
use commerce_inventory::testkit::InventoryFixture;

async fn memory_fixture() -> InventoryFixture {
    let outbox = Arc::new(MemoryOutbox::new());
    InventoryFixture {
        store: Arc::new(MemoryInventory::new(outbox.clone())),
        outbox,
    }
}

commerce_inventory::inventory_store_conformance!(memory_fixture);
