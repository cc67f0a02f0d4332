//! The one place this crate takes its synchronisation primitives from.
//!
//! Normal builds use `std` (and crossbeam-utils' `Backoff`); `cfg(weft_loom)` builds use loom,
//! so the same code runs under the loom model checker. Nothing else in the crate imports
//! `std::sync`, `std::thread` parking or a spin loop directly; code that loom does not model
//! takes its primitives from [`unmodeled`].

#[cfg(not(weft_loom))]
mod imp {
    pub(crate) use crossbeam_utils::Backoff;
    pub(crate) use std::sync::atomic::{AtomicU8, Ordering};
    pub(crate) use std::thread::{Thread, current, park, park_timeout};

    /// `std::cell::UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(weft_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicU8, Ordering};
    pub(crate) use loom::thread::{Thread, current, park};

    /// loom has no timed park; a timed park may return early anyway, so yielding is a
    /// faithful (if impatient) model of it.
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::yield_now();
    }

    /// crossbeam's `Backoff` for the model: over at once, so a waiter goes straight to the
    /// parking path the model must explore (a loom yield always lets the other side run,
    /// which would hide that path).
    #[derive(Debug, Default)]
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff
        }

        pub(crate) fn snooze(&self) {
            loom::thread::yield_now();
        }

        pub(crate) fn is_completed(&self) -> bool {
            true
        }
    }
}

pub(crate) use imp::*;

/// Primitives for code that loom does not model: the ports, which sit on crossbeam-channel
/// (not loom-aware) and are checked by ordinary tests and miri instead. They are `std`'s
/// under every cfg, so a loom build compiles the ports unchanged.
pub(crate) mod unmodeled {
    pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Mutex, PoisonError};
}
