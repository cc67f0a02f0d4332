//! Scoped jobs: [`ThreadPool::scope`](crate::ThreadPool::scope) and [`Scope::spawn`],
//! `std::thread::scope` on a pool.

use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::engine::latch::{CountLatch, Latch, Owner};
use crate::engine::registry::Registry;
use crate::engine::worker::WorkerThread;
use crate::error::JobError;
use crate::handle::RawHandle;
use crate::job::Panic;
use crate::job::heap::{HeapJob, JobKind, drop_quietly};
use crate::stats::Event;

/// What a scope's jobs point to: the pool, the count of jobs not done with, and the first
/// panic of a job whose handle never looked at it.
pub(crate) struct ScopeBase<'r> {
    registry: &'r Registry,
    pending: CountLatch<'r>,
    unjoined_panic: std::sync::Mutex<Option<Panic>>,
}

impl ScopeBase<'_> {
    pub(crate) fn record_unjoined_panic(&self, payload: Panic) {
        let mut first = self
            .unjoined_panic
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if first.is_none() {
            *first = Some(payload);
        } else {
            drop(first);
            drop_quietly(payload);
        }
    }

    /// A job of the scope is done with (it ran or was cancelled, and whatever result nobody
    /// will take was looked at).
    ///
    /// # Safety
    ///
    /// `this` points to a live scope base, and this is called once per spawned job; the
    /// scope may end during this call, so the caller must not touch it afterwards.
    pub(crate) unsafe fn job_done(this: NonNull<ScopeBase<'static>>) {
        // SAFETY: the scope waits for `pending` to reach zero before it ends; the latch's
        // `set` takes care not to touch it after the count dropped.
        unsafe { CountLatch::set(&raw const (*this.as_ptr()).pending) }
    }
}

/// The kind of a scope's heap jobs: not in the pool's stats or its `max_queued` count; an
/// unjoined panic is recorded in the scope, and the scope waits for every job to be done with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scoped(NonNull<ScopeBase<'static>>);

// SAFETY: the scope base is Sync (atomics and a mutex) and outlives all of its jobs.
unsafe impl Send for Scoped {}

impl JobKind for Scoped {
    const DETACHED: bool = false;

    fn left_queue(self, _worker: &WorkerThread) {}

    fn count(self, _worker: &WorkerThread, _event: Event) {}

    fn on_free<T>(self, result: Option<Result<T, Panic>>) {
        if let Some(Err(payload)) = result {
            // SAFETY: the scope waits for all its jobs, so it is alive while one is freed.
            unsafe { self.0.as_ref() }.record_unjoined_panic(payload);
        }
    }

    fn after_queue_entry(self) {
        // SAFETY: as above; after this call the scope may end, and we do not touch it again.
        unsafe { ScopeBase::job_done(self.0) };
    }
}

/// A scope for jobs that borrow from the caller's stack; see
/// [`ThreadPool::scope`](crate::ThreadPool::scope).
///
/// `'scope` is the lifetime of the scope itself, `'env` that of what the jobs may borrow,
/// as for [`std::thread::Scope`].
pub struct Scope<'scope, 'env: 'scope> {
    base: ScopeBase<'env>,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Runs `func` on the pool as part of this scope; the scope does not end before it is
    /// done. The job may borrow anything that outlives the scope.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let mut data = vec![1, 2, 3];
    /// pool.scope(|s| {
    ///     let first = s.spawn(|| data[0] * 10);
    ///     let sum = s.spawn(|| data.iter().sum::<i32>());
    ///     assert_eq!((first.join().unwrap(), sum.join().unwrap()), (10, 6));
    /// });
    /// data.push(4); // the borrows ended with the scope
    /// ```
    pub fn spawn<F, T>(&'scope self, func: F) -> ScopedJobHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.base.pending.increment();
        let kind = Scoped(NonNull::from(&self.base).cast());
        let core = HeapJob::<F, T, Scoped>::allocate(func, kind, self.base.registry, true);
        // SAFETY: freshly allocated with these parameters, queued once, and the handle below
        // is its one receiver. The job borrows `'scope` data, and the scope waits for it to be
        // done before `'scope` ends (the count taken above).
        unsafe {
            self.base
                .registry
                .push(HeapJob::<F, T, Scoped>::job_ref(core, super::caller_tree()));
            ScopedJobHandle {
                raw: RawHandle::new(core),
                _scope: PhantomData,
            }
        }
    }
}

/// The handle of a job spawned in a [`Scope`].
///
/// If the job panics and its handle never [`join`](Self::join)s, the scope re-raises the
/// panic when it ends.
pub struct ScopedJobHandle<'scope, T> {
    raw: RawHandle<T>,
    _scope: PhantomData<&'scope ()>,
}

impl<T> fmt::Debug for ScopedJobHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJobHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl<T> ScopedJobHandle<'_, T> {
    /// Waits for the job (running other jobs meanwhile when on a worker thread) and returns its
    /// value.
    ///
    /// # Errors
    ///
    /// [`JobError::Panicked`] if the job panicked (the scope then does not re-raise it),
    /// [`JobError::Cancelled`] if it was cancelled before it started.
    pub fn join(self) -> Result<T, JobError> {
        self.raw.join()
    }

    /// `true` once the job finished.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    /// Cancels the job if it has not started (then it never runs and `join` returns
    /// [`JobError::Cancelled`]); otherwise asks it to stop through
    /// [`is_cancelled`](crate::is_cancelled) and returns `false`.
    pub fn cancel(&self) -> bool {
        self.raw.cancel()
    }
}

/// `scope`: runs `body` on the calling thread with a scope whose jobs run on `registry`'s
/// worker threads; returns once every job of the scope is done with.
pub(crate) fn scope<'env, F, R>(registry: &'env Registry, body: F) -> R
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
{
    let scope = Scope {
        base: ScopeBase {
            registry,
            // The scope's own count, dropped once the body returned.
            pending: CountLatch::new(1, Owner::current(registry)),
            unjoined_panic: std::sync::Mutex::new(None),
        },
        _scope: PhantomData,
        _env: PhantomData,
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| body(&scope)));
    // SAFETY: the scope's own count, set once; the latch lives in this frame.
    unsafe { CountLatch::set(&scope.base.pending) };
    scope.base.pending.wait();
    let unjoined = scope
        .base
        .unjoined_panic
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    match result {
        Err(payload) => {
            drop(unjoined);
            panic::resume_unwind(payload)
        }
        Ok(value) => match unjoined {
            Some(payload) => panic::resume_unwind(payload),
            None => value,
        },
    }
}
