//! Latches: one-way "done" signals a thread can wait on.
//!
//! A latch starts unset and is set once. [`Latch::set`] takes a raw pointer because the latch
//! usually lives on the waiter's stack: the moment the waiter sees it set, it may return and
//! the latch is gone. So `set` copies out what it needs to wake the waiter *before* the
//! atomic store that publishes "set", and touches the latch no more after it.
//!
//! # Ordering contract
//!
//! Everything the setter did before [`Latch::set`] happens-before everything the waiter does
//! after it observed the latch set ([`WakeLatch::probe`] returning `true`, or a wait
//! returning).

use std::sync::Arc;

use crate::engine::registry::Registry;
use crate::engine::sleep::Sleep;
use crate::engine::worker::WorkerThread;
use crate::sync::{self, AtomicUsize, Backoff, Ordering, Thread};

const UNSET: usize = 0;
const SLEEPY: usize = 1;
const SET: usize = 2;

/// Something that can be set once through a raw pointer.
pub(crate) trait Latch {
    /// Sets the latch and wakes its waiter if it sleeps.
    ///
    /// # Safety
    ///
    /// `this` points to a live latch. It may be freed by the waiter as soon as this call
    /// has published "set", so the caller must not use it afterwards either.
    unsafe fn set(this: *const Self);
}

/// Who waits on a latch, and so who must be woken.
#[derive(Debug)]
pub(crate) enum Owner<'r> {
    /// Worker `index` of the pool whose sleep state is given, which is the pool whose jobs
    /// set the latch (so the setter keeps it alive); it runs other jobs while it waits.
    Worker(&'r Sleep, usize),
    /// Worker `index` of another pool than the setter's: it keeps running its own pool's
    /// jobs while it waits, and the setter holds that pool alive while it wakes the worker.
    OtherWorker(Arc<Registry>, usize),
    /// A thread outside any pool, which parks.
    Thread(Thread),
}

impl Owner<'_> {
    /// The owner for the calling thread when `registry`'s jobs will set the latch.
    pub(crate) fn current(registry: &Registry) -> Owner<'_> {
        if let Some(worker) = registry.own_worker() {
            return Owner::Worker(&registry.sleep, worker.index());
        }
        match WorkerThread::current() {
            Some(worker) => Owner::OtherWorker(Arc::clone(worker.registry()), worker.index()),
            None => Owner::Thread(sync::current()),
        }
    }
}

/// The latch the pool uses everywhere: an atomic state word and the owner to wake when it is
/// set (a worker's sleep slot, or a parked thread). Unlike rayon's `LockLatch` there is no
/// mutex or condition variable: waiting is a spin, then `park` (or, on a worker, running
/// other jobs, then the worker's sleep).
#[derive(Debug)]
pub(crate) struct WakeLatch<'r> {
    state: AtomicUsize,
    owner: Owner<'r>,
}

impl<'r> WakeLatch<'r> {
    pub(crate) fn new(owner: Owner<'r>) -> Self {
        WakeLatch {
            state: AtomicUsize::new(UNSET),
            owner,
        }
    }

    /// `true` once the latch is set.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        // ORDERING: Acquire pairs with the Release half of the swap in `set`.
        self.state.load(Ordering::Acquire) == SET
    }

    /// Announces that the owner is about to sleep; `false` if the latch is already set.
    pub(crate) fn get_sleepy(&self) -> bool {
        // ORDERING: AcqRel: Acquire so a failure (already SET) sees the setter's writes.
        match self
            .state
            .compare_exchange(UNSET, SLEEPY, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == SLEEPY,
        }
    }

    /// Blocks a non-worker owner until the latch is set: a short backoff, then park.
    pub(crate) fn wait_blocking(&self) {
        debug_assert!(matches!(self.owner, Owner::Thread(_)));
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if self.probe() {
                return;
            }
            backoff.snooze();
        }
        while self.get_sleepy() {
            sync::park();
            if self.probe() {
                return;
            }
        }
    }

    /// Waits until the latch is set: parks a thread owner, or lets a worker owner run other
    /// jobs (of its own pool) meanwhile.
    pub(crate) fn wait(&self) {
        match self.owner {
            Owner::Thread(_) => self.wait_blocking(),
            Owner::Worker(..) | Owner::OtherWorker(..) => {
                let worker = WorkerThread::current()
                    .expect("a worker-owned latch is waited on by that worker");
                worker.wait_for_latch(self);
            }
        }
    }
}

impl Latch for WakeLatch<'_> {
    unsafe fn set(this: *const Self) {
        // SAFETY: `this` is live until the swap below publishes SET (trait contract).
        let latch = unsafe { &*this };
        // Copy out who to wake before publishing: after the swap the latch may be freed.
        enum Wake<'r> {
            Worker(&'r Sleep, usize),
            OtherWorker(Arc<Registry>, usize),
            Thread(Thread),
        }
        let wake = match &latch.owner {
            Owner::Worker(sleep, index) => Wake::Worker(sleep, *index),
            // Keep the other pool alive: once the swap publishes SET, its worker may return,
            // and that pool may shut down before we wake the worker.
            Owner::OtherWorker(registry, index) => Wake::OtherWorker(Arc::clone(registry), *index),
            Owner::Thread(thread) => Wake::Thread(thread.clone()),
        };
        // ORDERING: AcqRel: Release publishes the setter's work to the waiter's Acquire
        // probe; Acquire keeps the wake below after the swap.
        let previous = latch.state.swap(SET, Ordering::AcqRel);
        if previous == SLEEPY {
            match wake {
                // The pool outlives the latch: the setter is a worker of it, or holds it.
                Wake::Worker(sleep, index) => sleep.wake_worker(index),
                Wake::OtherWorker(registry, index) => registry.sleep.wake_worker(index),
                Wake::Thread(thread) => thread.unpark(),
            }
        }
    }
}

/// A latch set when a count of outstanding tasks drops to zero (scopes, `map`, broadcast).
#[derive(Debug)]
pub(crate) struct CountLatch<'r> {
    count: AtomicUsize,
    latch: WakeLatch<'r>,
}

impl<'r> CountLatch<'r> {
    /// A latch waiting for `count` calls of [`Latch::set`].
    pub(crate) fn new(count: usize, owner: Owner<'r>) -> Self {
        CountLatch {
            count: AtomicUsize::new(count),
            latch: WakeLatch::new(owner),
        }
    }

    /// One more task to wait for; only valid while the count is above zero.
    pub(crate) fn increment(&self) {
        // ORDERING: Relaxed: the caller holds one count already, so the latch cannot be set
        // concurrently; the new task is published by the queue push that follows.
        let previous = self.count.fetch_add(1, Ordering::Relaxed);
        debug_assert!(previous > 0, "incremented a finished CountLatch");
    }

    /// Waits until every task counted in has called `set`.
    pub(crate) fn wait(&self) {
        self.latch.wait();
    }
}

impl Latch for CountLatch<'_> {
    unsafe fn set(this: *const Self) {
        // SAFETY: `this` is live until the count reaches zero and the inner latch is set.
        let latch = unsafe { &*this };
        // ORDERING: AcqRel: every decrement releases its task's work; the last one acquires
        // them all before setting the inner latch (which releases them to the waiter).
        if latch.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: the inner latch lives as long as the count latch; nobody else sets it.
            unsafe { WakeLatch::set(&latch.latch) };
        }
    }
}

impl<L: Latch> Latch for &L {
    unsafe fn set(this: *const Self) {
        // SAFETY: `this` is live now; copy the reference out before the inner `set` may let
        // the job holding it go away.
        let inner: *const L = unsafe { *this };
        // SAFETY: the referenced latch outlives the job that refers to it.
        unsafe { L::set(inner) }
    }
}
