//! [`WorkerLocal`]: one value per thread of one pool, built lazily on each thread.
//!
//! # Why it is sound
//!
//! The value of slot `i` is only ever touched by the thread of slot `i` of the one pool the
//! `WorkerLocal` was made for (worker threads `0..num_threads`, spares above), checked on
//! every call, and each slot has exactly one thread for the pool's whole life (a spare that
//! retires parks and comes back as the same thread). So a value moves between threads only
//! as `T: Send` allows: made and used on its slot's thread, handed out or dropped by
//! whoever owns the `WorkerLocal` at the end.
//!
//! One thread can still reach its own slot twice: a job that waits inside `with` may run
//! another job on that same thread (the job it joins, if that one was still queued; work of
//! its own fork-join tree), and that job may call `with` too. A per-slot `busy` flag, set
//! for the length of a `with` (and of building the value), turns the second call into a
//! panic, so there are never two `&mut` to one value.

use std::cell::{Cell, UnsafeCell};
use std::fmt;

use crossbeam_utils::CachePadded;

use crate::engine::worker::WorkerThread;
use crate::pool::ThreadPool;

/// One value of `T` per thread of one pool: a scratch buffer, a parsed model, a connection,
/// kept by each worker thread across the jobs it runs.
///
/// Each thread's value is built by `init(index)` the first time that thread calls
/// [`with`](Self::with), where `index` is the thread's
/// [`current_thread_index`](crate::current_thread_index). `with` gives the calling thread
/// `&mut` to its own value, with no lock: the values are never shared between threads.
///
/// `WorkerLocal<T>` is `Send + Sync` when `T: Send`, so jobs borrow it (`map`, `scope`,
/// `join`) or share it in an `Arc` (`spawn`).
///
/// ```
/// use weft::{ThreadPool, WorkerLocal};
///
/// let pool = ThreadPool::new(2).unwrap();
/// // One text buffer per worker thread, reused by every item that thread formats.
/// let scratch = WorkerLocal::new(&pool, |_index| String::with_capacity(64));
/// let lengths = pool.map(0..1000u32, |i| {
///     scratch.with(|text| {
///         use std::fmt::Write;
///         text.clear();
///         write!(text, "item {i}").unwrap();
///         text.len()
///     })
/// });
/// assert_eq!(lengths[999], "item 999".len());
/// // At most one buffer per thread was ever built.
/// let built = scratch.into_inner().into_iter().flatten().count();
/// assert!((1..=2).contains(&built));
/// ```
///
/// # Spare threads
///
/// A pool may run jobs on spare threads while worker threads block (see
/// [`ThreadPoolBuilder::max_spare_threads`](crate::ThreadPoolBuilder::max_spare_threads));
/// a spare has a slot (and a value) of its own, with an index from `num_threads` up.
///
/// # Panics
///
/// [`with`](Self::with) panics on a thread that is not one of this pool's, and when called
/// again on a thread already inside `with` for this `WorkerLocal` (see there).
pub struct WorkerLocal<T> {
    /// The pool whose threads own the slots (its process-unique id).
    pool_id: usize,
    num_threads: usize,
    /// One slot per thread slot of the pool: worker threads, then spares.
    slots: Box<[CachePadded<Slot<T>>]>,
    init: Box<dyn Fn(usize) -> T + Send + Sync>,
}

/// One thread's value; touched only by that thread (module docs).
struct Slot<T> {
    /// Set while a `with` (or the build of the value) runs on the slot's thread.
    busy: Cell<bool>,
    value: UnsafeCell<Option<T>>,
}

// SAFETY: through `&WorkerLocal` a slot is reached only by the one thread of that slot (checked
// in `slot`), which makes, uses and keeps its value; `busy` keeps that thread from holding two
// `&mut` to it. So sharing the `WorkerLocal` moves values between threads only as `T: Send`
// allows (like `Mutex<T>`); `init` is `Send + Sync` itself.
unsafe impl<T: Send> Sync for WorkerLocal<T> {}

impl<T> WorkerLocal<T> {
    /// A `WorkerLocal` for the threads of `pool`; thread `index` builds its value with
    /// `init(index)` on its first [`with`](Self::with). Nothing is built here.
    pub fn new(pool: &ThreadPool, init: impl Fn(usize) -> T + Send + Sync + 'static) -> Self {
        let registry = pool.registry();
        WorkerLocal {
            pool_id: registry.id(),
            num_threads: registry.num_threads(),
            slots: (0..registry.thread_slots())
                .map(|_| {
                    CachePadded::new(Slot {
                        busy: Cell::new(false),
                        value: UnsafeCell::new(None),
                    })
                })
                .collect(),
            init: Box::new(init),
        }
    }

    /// Runs `func` with the calling thread's value, building it first if this thread has
    /// none yet.
    ///
    /// # Panics
    ///
    /// - On a thread that is not one of this pool's: a thread outside any pool, or a thread
    ///   of another pool. Call it inside a job of the pool the `WorkerLocal` was made for.
    /// - On a thread that is already inside `with` (or inside `init`) of this `WorkerLocal`:
    ///   a job that waits inside `with`, on a handle of a still-queued job or in a `join`,
    ///   may run another job on the same thread, and a second `with` there would alias the
    ///   first one's `&mut`. Finish with the value before waiting, or wait outside `with`.
    /// - When `init` or `func` panics (the panic goes on; the thread's value stays as it
    ///   was: not built, or as `func` left it).
    pub fn with<R>(&self, func: impl FnOnce(&mut T) -> R) -> R {
        let (index, slot) = self.slot();
        if slot.busy.replace(true) {
            panic!(
                "WorkerLocal::with called again on pool thread {index} while a `with` (or its \
                 `init`) of the same WorkerLocal is running on it (a job waiting inside `with` \
                 ran another job that calls `with`): finish with the value before waiting on \
                 other jobs"
            );
        }
        /// Clears `busy` when the call ends, also by a panic.
        struct Busy<'a>(&'a Cell<bool>);
        impl Drop for Busy<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _busy = Busy(&slot.busy);
        // SAFETY: only this thread reaches this slot (`slot` checked it is the slot's thread),
        // and `busy` was clear: no other reference to the value is alive on this thread. The
        // reference lives until `func` returns, while `busy` stays set.
        let value = unsafe { &mut *slot.value.get() };
        if value.is_none() {
            *value = Some((self.init)(index));
        }
        let value = value.as_mut().expect("built just above");
        func(value)
    }

    /// The values, by thread index: entry `i` is thread `i`'s value, `None` where thread `i`
    /// never built one.
    ///
    /// The vector has one entry per worker thread (`num_threads` of them, built or not),
    /// followed by the spare threads' slots up to the last spare that built a value (none
    /// if no spare did): `values.len() >= pool.num_threads()`, and `values[i]` belongs to the
    /// thread whose [`current_thread_index`](crate::current_thread_index) is `i`.
    pub fn into_inner(self) -> Vec<Option<T>> {
        let mut values: Vec<Option<T>> = self
            .slots
            .into_vec()
            .into_iter()
            .map(|slot| CachePadded::into_inner(slot).value.into_inner())
            .collect();
        while values.len() > self.num_threads && values.last().is_some_and(Option::is_none) {
            values.pop();
        }
        values
    }

    /// The calling thread's index and slot.
    ///
    /// # Panics
    ///
    /// On a thread that is not one of this pool's.
    fn slot(&self) -> (usize, &Slot<T>) {
        let Some(worker) = WorkerThread::current() else {
            panic!(
                "WorkerLocal::with called on a thread outside any pool: a WorkerLocal holds \
                 one value per thread of the pool it was made for; call it in a job of that pool"
            );
        };
        let pool_id = worker.registry().id();
        if pool_id != self.pool_id {
            panic!(
                "WorkerLocal::with called on a thread of another pool (pool {pool_id}; this \
                 WorkerLocal belongs to pool {}): call it in a job of the pool it was made for",
                self.pool_id
            );
        }
        let index = worker.index();
        let slot = self
            .slots
            .get(index)
            .expect("a pool thread's index is below the pool's slot count");
        (index, slot)
    }
}

impl<T> fmt::Debug for WorkerLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values belong to their threads: they are not read here.
        f.debug_struct("WorkerLocal")
            .field("pool", &self.pool_id)
            .field("num_threads", &self.num_threads)
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}
