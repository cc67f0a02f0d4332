//! [`JobHandle`]: the receiving end of a detached job, sharing the job's one allocation.
//!
//! # Waiting
//!
//! A handle's `join` waits in one of three ways:
//!
//! - outside any pool: a short backoff, then the thread parks until the job's publisher wakes
//!   it (or the deadline passes);
//! - on a worker thread of the job's own pool, with no deadline, when the job is still
//!   queued: the waiter claims it and runs it right there (it is the one job the waiter
//!   needs, and running it cannot bury anything the waiter waits for);
//! - otherwise on a worker thread: it parks as above and tells its pool it is blocked, so
//!   the pool starts (or wakes) a spare thread that keeps `num_threads` threads runnable
//!   (see `engine/registry.rs`). It does not run other queued jobs on top of the waiting job:
//!   such a job could wait for the one buried under it, a deadlock with no cycle in the
//!   jobs' own dependencies, and nested waits would grow the stack without bound.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::engine::worker::{Stall, WorkerThread};
use crate::error::JobError;
use crate::job::heap::{Header, JobCore, Outcome, Waiter};
use crate::sync::{self, Backoff};

/// The receiver half of a heap job, shared by [`JobHandle`] and
/// [`ScopedJobHandle`](crate::ScopedJobHandle).
pub(crate) struct RawHandle<T> {
    /// The job's core, with the handle's two flags in its low bits ([`DONE_FLAG`],
    /// [`TOOK_FLAG`]): a heap job is aligned to at least 8 bytes, so a handle is one word
    /// (1M outstanding handles are 8 MB, not 16).
    tagged: NonNull<JobCore<T>>,
}

/// In a handle's pointer: the outcome was handed out (`join` or `poll` returned it).
const DONE_FLAG: usize = 1;
/// In a handle's pointer: the value was moved out of the job.
const TOOK_FLAG: usize = 2;
const FLAGS: usize = DONE_FLAG | TOOK_FLAG;

// SAFETY: the handle only moves the job's result (`T: Send`) to its own thread; the shared
// parts are the state word and cells that the state word hands over.
unsafe impl<T: Send> Send for RawHandle<T> {}
// SAFETY: through `&RawHandle` only `is_finished` and `cancel` are reachable: atomic reads and
// RMWs on the state word, and the closure drop of a job nobody else can run any more.
unsafe impl<T: Send> Sync for RawHandle<T> {}

impl<T> RawHandle<T> {
    /// # Safety
    ///
    /// `core` is a freshly allocated heap job with a hold for its handle, which this becomes.
    pub(crate) unsafe fn new(core: NonNull<JobCore<T>>) -> Self {
        const { assert!(align_of::<JobCore<T>>() > FLAGS) };
        debug_assert_eq!(core.addr().get() & FLAGS, 0, "a job block is aligned");
        RawHandle { tagged: core }
    }

    /// The job's core, without the flags (same provenance).
    #[inline]
    fn core_ptr(&self) -> NonNull<JobCore<T>> {
        // SAFETY: clearing the two low bits of an aligned, non-null address leaves it
        // non-null (it is the address `new` was given).
        self.tagged
            .map_addr(|addr| unsafe { std::num::NonZero::new_unchecked(addr.get() & !FLAGS) })
    }

    #[inline]
    fn flag(&self, flag: usize) -> bool {
        self.tagged.addr().get() & flag != 0
    }

    #[inline]
    fn set_flag(&mut self, flag: usize) {
        self.tagged = self.tagged.map_addr(|addr| addr | flag);
    }

    fn core(&self) -> &JobCore<T> {
        // SAFETY: the handle holds the block until it drops.
        unsafe { self.core_ptr().as_ref() }
    }

    fn header(&self) -> &Header {
        &self.core().header
    }

    /// The header as a raw pointer with the whole block's provenance (freeing or dropping
    /// the closure through a pointer made from `&Header` would be undefined behaviour).
    fn header_ptr(&self) -> NonNull<Header> {
        // `JobCore` is `repr(C)` with the header first.
        self.core_ptr().cast()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.header().is_done()
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.header().name()
    }

    /// Cancels a queued job (dropping its closure) or asks a running one to stop.
    pub(crate) fn cancel(&self) -> bool {
        // SAFETY: we are the job's handle and hold it.
        unsafe { Header::cancel(self.header_ptr()) }.is_some()
    }

    /// Waits for the outcome (see the module docs); `false` if `deadline` passed first.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.is_finished() {
            return true;
        }
        let worker = WorkerThread::current();
        if let Some(worker) = worker
            && deadline.is_none()
            && self.header().belongs_to(worker.registry())
            && self.header().try_claim()
        {
            // Still queued: run it here (or cancel it, under `shutdown_now`). Its outcome
            // is published when this returns.
            // SAFETY: we claimed it, hold it as its handle, and are a worker of its pool.
            unsafe { Header::run_claimed_inline(self.header_ptr(), worker.registry().mode()) };
            return true;
        }
        self.block(worker, deadline)
    }

    /// Parks until the job is done or `deadline` passes; on a worker thread, the pool keeps
    /// its threads runnable meanwhile.
    fn block(&self, worker: Option<&WorkerThread>, deadline: Option<Instant>) -> bool {
        // A job that is about to finish costs no park.
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if self.is_finished() {
                return true;
            }
            backoff.snooze();
        }
        // SAFETY: we are the job's handle, waiting on this thread only.
        if unsafe { Header::register(self.header_ptr(), Waiter::Thread(sync::current())) }.is_err()
        {
            return true;
        }
        let mut stall = worker.map(Stall::new);
        loop {
            if self.is_finished() {
                return true;
            }
            // On a worker thread: park in spells until a spare stands in (see `Stall`).
            let spell = match &mut stall {
                Some(stall) if !stall.is_compensated() => stall.before_park(),
                _ => None,
            };
            let limit = match (deadline, spell) {
                (Some(deadline), _) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // SAFETY: as above.
                        if unsafe { Header::unregister(self.header_ptr()) } {
                            return false;
                        }
                        // The publisher owns our waiter: the job is done, or about to say so.
                        continue;
                    }
                    Some(spell.map_or(deadline - now, |spell| spell.min(deadline - now)))
                }
                (None, spell) => spell,
            };
            match limit {
                None => sync::park(),
                Some(limit) => sync::park_timeout(limit),
            }
        }
    }

    /// The outcome of a finished job, the value moved out; marks the handle done.
    fn take_outcome(&mut self) -> Result<T, JobError> {
        self.set_flag(DONE_FLAG);
        match self.header().outcome() {
            Outcome::Value => {
                self.set_flag(TOOK_FLAG);
                // SAFETY: we are the handle, saw the value, take it once (the done flag guards
                // against a second time), and release with the took flag.
                match unsafe { JobCore::take_value(self.core_ptr()) } {
                    Ok(value) => Ok(value),
                    Err(payload) => Err(JobError::Panicked(payload)),
                }
            }
            Outcome::Cancelled => Err(JobError::Cancelled),
            Outcome::TimedOut => Err(JobError::TimedOut),
        }
    }

    /// Waits for the outcome and lets go of the job (when `self` drops).
    pub(crate) fn join(mut self) -> Result<T, JobError> {
        self.wait(None);
        self.take_outcome()
    }

    pub(crate) fn join_timeout(mut self, timeout: Duration) -> Result<Result<T, JobError>, Self> {
        let deadline = Instant::now().checked_add(timeout);
        if self.wait(deadline) {
            Ok(self.take_outcome())
        } else {
            Err(self)
        }
    }

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JobError>> {
        assert!(
            !self.flag(DONE_FLAG),
            "a job handle was polled after it completed"
        );
        if !self.is_finished() {
            let waker = Waiter::Task(cx.waker().clone());
            // SAFETY: we are the job's handle; `&mut self` keeps registrations on one thread.
            if unsafe { Header::register(self.header_ptr(), waker) }.is_ok() {
                return Poll::Pending;
            }
        }
        Poll::Ready(self.take_outcome())
    }
}

impl<T> Drop for RawHandle<T> {
    fn drop(&mut self) {
        // SAFETY: we are the handle and let go once.
        unsafe { Header::release_handle(self.header_ptr(), self.flag(TOOK_FLAG)) };
    }
}

/// The handle of a detached job: its result channel.
///
/// [`join`](Self::join) waits for the job and returns its value, or a [`JobError`] when it
/// panicked or was cancelled. Awaiting the handle does the same without blocking a thread.
/// Dropping the handle detaches the job: it still runs, and its result is dropped.
///
/// A handle shares the job's single allocation; whichever of job and handle finishes last
/// frees it.
///
/// # Waiting on a worker
///
/// Called on a worker thread, `join` runs the job right there if it is a job of the same
/// pool that has not started yet; otherwise it blocks, and the pool starts a spare thread so
/// that its other jobs keep running. A job that waits on another job never deadlocks the
/// pool, even with one thread, unless the jobs wait on each other in a cycle.
///
/// ```
/// let pool = weft::ThreadPool::new(1).unwrap();
/// let outer = pool.spawn({
///     let inner = pool.spawn(|| 21);
///     move || inner.join().unwrap() * 2 // waits on the only worker: it runs `inner` itself
/// });
/// assert_eq!(outer.join().unwrap(), 42);
/// ```
pub struct JobHandle<T> {
    raw: RawHandle<T>,
}

impl<T> fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl<T> Unpin for JobHandle<T> {}

impl<T> JobHandle<T> {
    pub(crate) fn from_raw(raw: RawHandle<T>) -> Self {
        JobHandle { raw }
    }

    /// Waits for the job and returns its value.
    ///
    /// # Errors
    ///
    /// [`JobError::Panicked`] with the panic payload if the job panicked,
    /// [`JobError::Cancelled`] if it was cancelled before it started,
    /// [`JobError::TimedOut`] if one of its timeouts passed.
    pub fn join(self) -> Result<T, JobError> {
        self.raw.join()
    }

    /// Waits at most `timeout` for the job and returns its outcome, as [`join`](Self::join)
    /// does; on timeout the handle comes back so the wait can be resumed (or the job
    /// cancelled).
    ///
    /// # Errors
    ///
    /// `Err(handle)` when the job has not finished within `timeout`: the job is untouched
    /// (still queued or running). `Ok(Err(..))` is the job's own error, as from `join`.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// let pool = weft::ThreadPool::new(1).unwrap();
    /// let (go, gate) = mpsc::channel::<()>();
    /// // The job cannot finish before `go` is sent, however slow or fast the machine is.
    /// let handle = pool.spawn(move || { gate.recv().unwrap(); 7 });
    /// let handle = handle.join_timeout(Duration::from_millis(1)).unwrap_err();
    /// go.send(()).unwrap();
    /// assert_eq!(handle.join_timeout(Duration::from_secs(10)).unwrap().unwrap(), 7);
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, JobError>, JobHandle<T>> {
        self.raw.join_timeout(timeout).map_err(JobHandle::from_raw)
    }

    /// `true` once the job finished (completed, panicked, cancelled or timed out): `join`
    /// will not wait.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    /// The name given with [`JobBuilder::name`](crate::JobBuilder::name).
    pub fn name(&self) -> Option<&str> {
        self.raw.name()
    }

    /// Cancels the job.
    ///
    /// Returns `true` if the job had not started: it never runs, its closure is dropped now,
    /// and `join` returns [`JobError::Cancelled`] (calling `cancel` again keeps returning
    /// `true`). Returns `false` if it is running or done: a running job is asked to stop,
    /// which it sees through [`crate::is_cancelled`].
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(1).unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let busy = pool.spawn(move || rx.recv().unwrap());
    /// let queued = pool.spawn(|| unreachable!("cancelled jobs never run"));
    /// assert!(queued.cancel());
    /// assert!(queued.join().unwrap_err().is_cancelled());
    /// tx.send(()).unwrap();
    /// busy.join().unwrap();
    /// ```
    pub fn cancel(&self) -> bool {
        self.raw.cancel()
    }
}

impl<T> Future for JobHandle<T> {
    type Output = Result<T, JobError>;

    /// Resolves like [`join`](JobHandle::join), without blocking.
    ///
    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().raw.poll(cx)
    }
}
