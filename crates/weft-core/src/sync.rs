//! The one place this crate takes its synchronisation primitives from.
//!
//! Normal builds use `std` (and crossbeam-utils' [`Backoff`]); `cfg(weft_loom)` builds use
//! loom, so the sleep protocol, the latches and the job state machine run under the loom
//! model checker unchanged (and with them `weft-channel`'s slot, which switches on the same
//! flag). Nothing else in the crate imports `std::sync::atomic`, thread parking, thread-locals
//! or spin loops directly, and nothing else looks at `cfg(weft_loom)`, except the test hooks
//! marked `#[cfg(all(test, weft_loom))]` that let a model drive the engine by hand.

#[cfg(not(weft_loom))]
mod imp {
    pub(crate) use crossbeam_utils::Backoff;
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) use std::thread::{Thread, current, park, park_timeout};

    /// A thread-local `Cell` with a constant initial value.
    macro_rules! thread_local_cell {
        ($(#[$attr:meta])* static $name:ident: Cell<$t:ty> = $init:expr;) => {
            std::thread_local! {
                $(#[$attr])*
                static $name: std::cell::Cell<$t> = const { std::cell::Cell::new($init) };
            }
        };
    }
    pub(crate) use thread_local_cell;

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
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) use loom::thread::{Thread, current, park};

    /// A model thread's own `Cell` (loom's thread-locals have no `const` form).
    macro_rules! thread_local_cell {
        ($(#[$attr:meta])* static $name:ident: Cell<$t:ty> = $init:expr;) => {
            loom::thread_local! {
                $(#[$attr])*
                static $name: std::cell::Cell<$t> = std::cell::Cell::new($init);
            }
        };
    }
    pub(crate) use thread_local_cell;

    /// loom has no timed park; a timed park may return early anyway, so yielding models it.
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::yield_now();
    }

    /// crossbeam's `Backoff` for the model: every snooze is a loom yield, and the backoff is
    /// over at once, so a waiter goes straight to the parking path the model must explore
    /// (under loom a yield always lets the other side run, which would hide that path).
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

/// Job blocks are recycled through per-thread caches (`job/alloc.rs`) in normal builds. The
/// loom models use the global allocator instead: loom runs its model threads on one OS
/// thread, where one thread-local cache would be shared by all of them. The slabs' own
/// protocol (giving blocks back) has its own model.
pub(crate) const RECYCLE_JOB_BLOCKS: bool = cfg!(not(weft_loom));

/// Test hook: whether a pool starts its timer thread. Always outside the loom models; a
/// model cannot start OS threads, so it plays the timer thread itself
/// (`Timer::pop_for_model`, then `Header::fire_timer`).
pub(crate) const STARTS_TIMER_THREAD: bool = cfg!(not(all(test, weft_loom)));

/// A process-wide number for each new pool, for `tracing` fields and the seed of its
/// workers' steal order. Not a synchronisation primitive, hence a plain `std` atomic.
#[cfg(not(weft_loom))]
pub(crate) fn next_pool_id() -> usize {
    static NEXT_POOL_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    // ORDERING: Relaxed: only uniqueness matters, and a single RMW gives it.
    NEXT_POOL_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Test hook: under loom, pools are numbered from 1 in each explored execution (a loom
/// `lazy_static` starts afresh in each), so the workers' steal order, seeded with the id, is
/// the same in every execution: loom requires a deterministic model.
#[cfg(weft_loom)]
pub(crate) fn next_pool_id() -> usize {
    loom::lazy_static! {
        static ref NEXT_POOL_ID: loom::sync::atomic::AtomicUsize =
            loom::sync::atomic::AtomicUsize::new(1);
    }
    // ORDERING: Relaxed: only uniqueness matters, and a single RMW gives it.
    NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed)
}
