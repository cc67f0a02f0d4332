//! The one place this crate's atomics come from.
//!
//! Loom builds (`RUSTFLAGS="--cfg weft_loom"`, test builds only, because loom is a
//! dev-dependency) get loom's model-checked atomics; every other build gets `std`'s.
//! Code elsewhere in the crate imports `crate::sync::{AtomicU64, Ordering}` and never
//! names either source directly, so the same lane code runs under both.

#[cfg(all(test, weft_loom))]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(all(test, weft_loom)))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
