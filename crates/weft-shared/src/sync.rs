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

/// `len` zeroed words. In normal builds the allocation is zeroed by the allocator (`calloc`,
/// which leaves fresh pages for the operating system to zero on first touch), so a large
/// buffer costs neither the time to write it nor its memory until it is used.
#[cfg(not(all(test, weft_loom)))]
#[allow(unsafe_code)] // one `assume_init` of zeroed atomics; the crate denies unsafe elsewhere
pub(crate) fn zeroed_words(len: usize) -> std::sync::Arc<[AtomicU64]> {
    let words = std::sync::Arc::<[AtomicU64]>::new_zeroed_slice(len);
    // SAFETY: `AtomicU64` has the same in-memory representation as `u64`, for which all-zero
    // bytes are the valid value 0; every element was zeroed.
    unsafe { words.assume_init() }
}

/// `len` zeroed words (loom's atomics carry model state: each one is built).
#[cfg(all(test, weft_loom))]
pub(crate) fn zeroed_words(len: usize) -> std::sync::Arc<[AtomicU64]> {
    (0..len).map(|_| AtomicU64::new(0)).collect()
}
