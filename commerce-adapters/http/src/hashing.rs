//! [`BlockingHasher`]: argon2id on tokio's blocking thread pool, so that password
//! hashing (tens of milliseconds of CPU on purpose) never stalls the reactor threads
//! serving other requests. [`AppState::new`](crate::AppState::new) gives it to the
//! shop's `Accounts`, so every route calling `state.shop.accounts()` (register, login,
//! password change and reset) hashes off the reactor.

use async_trait::async_trait;
use commerce::core::Error;
use commerce::core::accounts::{PasswordHasher, hash_password, verify_password};

/// Runs [`hash_password`] and [`verify_password`] in `tokio::task::spawn_blocking`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockingHasher;

#[async_trait]
impl PasswordHasher for BlockingHasher {
    async fn hash(&self, password: &str) -> commerce::core::Result<String> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| Error::backend(format!("password hashing task failed: {e}")))?
    }

    async fn verify(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn account_blocking_hasher_hashes_off_the_reactor_and_verifies() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        // One reactor thread: a ticker makes progress during the hash only if the
        // hash runs elsewhere (inline, it would hold the thread until done).
        let ticks = Arc::new(AtomicU64::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                t.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        });
        let hash = BlockingHasher.hash("correct horse").await.unwrap();
        assert!(ticks.load(Ordering::SeqCst) > 0, "the reactor was blocked");
        ticker.abort();
        assert!(hash.starts_with("$argon2id$"));
        assert!(BlockingHasher.verify("correct horse", &hash).await);
        assert!(!BlockingHasher.verify("wrong horse", &hash).await);
    }
}
