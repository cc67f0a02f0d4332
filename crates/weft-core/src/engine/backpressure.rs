//! [`Backpressure`]: `max_queued`, a bound on detached jobs waiting in the queues.
//!
//! A detached job takes a place when it is submitted and gives it back when it leaves the
//! queue: claimed by a worker (`JobKind::left_queue`), or cancelled by its handle
//! (`Header::cancel`). Submitters outside the pool park while the count is at the limit.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering};

/// `max_queued`: counts detached jobs between submission and dequeue, and parks submitters
/// while the count is at the limit.
#[derive(Debug)]
pub(crate) struct Backpressure {
    limit: usize,
    queued: CachePadded<AtomicUsize>,
    blocked: AtomicUsize,
    lock: Mutex<()>,
    space: Condvar,
}

impl Backpressure {
    pub(crate) fn new(limit: usize) -> Self {
        Backpressure {
            limit,
            queued: CachePadded::new(AtomicUsize::new(0)),
            blocked: AtomicUsize::new(0),
            lock: Mutex::new(()),
            space: Condvar::new(),
        }
    }

    /// Takes a queue place if one is free.
    pub(crate) fn try_acquire(&self) -> bool {
        // ORDERING: SeqCst pairs with `release`'s SeqCst (Dekker with `blocked`).
        let mut queued = self.queued.load(Ordering::SeqCst);
        loop {
            if queued >= self.limit {
                return false;
            }
            // ORDERING: SeqCst, as above.
            match self.queued.compare_exchange_weak(
                queued,
                queued + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(actual) => queued = actual,
            }
        }
    }

    /// Blocks a thread outside the pool until it gets a queue place.
    pub(crate) fn acquire_blocking(&self) {
        if self.try_acquire() {
            return;
        }
        let mut guard = self.lock.lock().unwrap();
        // ORDERING: SeqCst: announce before re-checking (pairs with `release`).
        self.blocked.fetch_add(1, Ordering::SeqCst);
        while !self.try_acquire() {
            guard = self.space.wait(guard).unwrap();
        }
        // ORDERING: SeqCst, as above.
        self.blocked.fetch_sub(1, Ordering::SeqCst);
    }

    /// Like [`acquire_blocking`](Self::acquire_blocking), giving up after `timeout`.
    pub(crate) fn acquire_timeout(&self, timeout: std::time::Duration) -> bool {
        if self.try_acquire() {
            return true;
        }
        let guard = self.lock.lock().unwrap();
        // ORDERING: SeqCst: announce before re-checking (pairs with `release`).
        self.blocked.fetch_add(1, Ordering::SeqCst);
        let acquired = self.try_acquire() || {
            let (_guard, _) = self.space.wait_timeout(guard, timeout).unwrap();
            self.try_acquire()
        };
        // ORDERING: SeqCst, as above.
        self.blocked.fetch_sub(1, Ordering::SeqCst);
        acquired
    }

    /// Test hook: the places taken now.
    #[cfg(all(test, weft_loom))]
    pub(crate) fn queued_for_model(&self) -> usize {
        // ORDERING: SeqCst, as everywhere on `queued`.
        self.queued.load(Ordering::SeqCst)
    }

    /// A job left the queue.
    pub(crate) fn release(&self) {
        // ORDERING: SeqCst: the decrement is ordered before reading `blocked` (Dekker with
        // `acquire_blocking`, which increments `blocked` before re-checking `queued`).
        self.queued.fetch_sub(1, Ordering::SeqCst);
        // ORDERING: SeqCst, as above.
        if self.blocked.load(Ordering::SeqCst) != 0 {
            let _guard = self.lock.lock().unwrap();
            self.space.notify_all();
        }
    }
}
