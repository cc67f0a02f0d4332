//! The one place this crate takes its synchronisation primitives from.
//!
//! Normal builds use `std`; `cfg(weft_loom)` builds use loom, so the sleep protocol, the
//! latches and the job state machine run under the loom model checker unchanged (and with
//! them `weft-channel`'s slot, which switches on the same flag).
//! Nothing else in the crate imports `std::sync::atomic` or thread parking directly.

#[cfg(not(weft_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use std::sync::{Condvar, Mutex};
    pub(crate) use std::thread::{Thread, current, park, park_timeout, yield_now};

    /// `std::cell::UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(weft_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use loom::sync::{Condvar, Mutex};
    pub(crate) use loom::thread::{Thread, current, park, yield_now};

    /// loom has no timed park; a timed park may return early anyway, so yielding models it.
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::yield_now();
    }
}

pub(crate) use imp::*;
