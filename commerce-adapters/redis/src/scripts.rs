//! The Lua scripts (in `lua/`), loaded once per process. Redis caches them by SHA1:
//! each call is one `EVALSHA` round trip (the first call on a node also loads it, which
//! `ScriptInvocation::invoke_async` does on a `NOSCRIPT` reply).

use std::sync::LazyLock;

use redis::Script;

/// A cart script: `lua/cart_common.lua` followed by `lua/<file>`.
macro_rules! cart_script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("../lua/cart_common.lua"),
                "\n",
                include_str!(concat!("../lua/", $file))
            ))
        })
    };
}

/// A standalone script: `lua/<file>`.
macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| Script::new(include_str!(concat!("../lua/", $file))))
    };
}

pub(crate) static CART_ADD: LazyLock<Script> = script!("cart_add.lua");
pub(crate) static CART_SET: LazyLock<Script> = script!("cart_set.lua");
pub(crate) static CART_READ: LazyLock<Script> = cart_script!("cart_read.lua");
pub(crate) static CART_MERGE: LazyLock<Script> = cart_script!("cart_merge.lua");
pub(crate) static CART_MERGE_TAKE: LazyLock<Script> = cart_script!("cart_merge_take.lua");
pub(crate) static CART_MERGE_APPLY: LazyLock<Script> = cart_script!("cart_merge_apply.lua");
pub(crate) static CART_MERGE_FINISH: LazyLock<Script> = script!("cart_merge_finish.lua");
pub(crate) static SESSION_CREATE: LazyLock<Script> = script!("session_create.lua");
pub(crate) static SESSION_TOUCH: LazyLock<Script> = script!("session_touch.lua");
pub(crate) static SESSION_GENERATION: LazyLock<Script> = script!("session_generation.lua");
pub(crate) static RATE_LIMIT_HIT: LazyLock<Script> = script!("rate_limit_hit.lua");
pub(crate) static CACHE_READ: LazyLock<Script> = script!("cache_read.lua");
pub(crate) static CACHE_FILL: LazyLock<Script> = script!("cache_fill.lua");
