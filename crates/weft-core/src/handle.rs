//! [`JobHandle`]: the receiving end of a detached job, sharing the job's one allocation.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use weft_channel::slot::{Peek, Release, Slot, Waiter};

use crate::engine::worker::{WaitCondition, WorkerThread};
use crate::error::JobError;
use crate::job::Panic;
use crate::job::heap::{Header, JobCore};
use crate::sync;

/// The receiver half of a heap job, shared by [`JobHandle`] and
/// [`ScopedJobHandle`](crate::ScopedJobHandle).
pub(crate) struct RawHandle<T> {
    core: NonNull<JobCore<T>>,
    /// The outcome was handed out (`poll` returned `Ready`).
    done: bool,
}

// SAFETY: the handle only moves the job's result (`T: Send`) to its own thread; the shared
// parts are atomics and the slot, which coordinates the two sides.
unsafe impl<T: Send> Send for RawHandle<T> {}
// SAFETY: through `&RawHandle` only `is_finished` and `cancel` are reachable: atomic reads and
// CASes on the header, and the closure drop of a job nobody else can run any more.
unsafe impl<T: Send> Sync for RawHandle<T> {}

impl<T> RawHandle<T> {
    /// # Safety
    ///
    /// `core` is a freshly allocated heap job whose receiver side this handle becomes.
    pub(crate) unsafe fn new(core: NonNull<JobCore<T>>) -> Self {
        RawHandle { core, done: false }
    }

    fn core(&self) -> &JobCore<T> {
        // SAFETY: the receiver side keeps the allocation alive until it releases the slot.
        unsafe { self.core.as_ref() }
    }

    fn slot(&self) -> &Slot<Result<T, Panic>> {
        &self.core().slot
    }

    fn header(&self) -> &Header {
        &self.core().header
    }

    /// The header as a raw pointer with the whole allocation's provenance (freeing or
    /// dropping the closure through a pointer made from `&Header` would be undefined
    /// behaviour).
    fn header_ptr(&self) -> NonNull<Header> {
        // `JobCore` is `repr(C)` with the header first.
        self.core.cast()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.header().is_cancelled_before_start() || self.slot().is_finished()
    }

    /// Cancels a queued job (dropping its closure) or asks a running one to stop.
    pub(crate) fn cancel(&self) -> bool {
        match self.header().cancel() {
            Some(true) => {
                // SAFETY: we won the cancel CAS; the closure is ours to drop, once.
                unsafe { Header::drop_func(self.header_ptr()) };
                true
            }
            Some(false) => true,
            None => false,
        }
    }

    /// Waits for the outcome (running other jobs when on a worker); `false` on timeout.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.is_finished() {
            return true;
        }
        match WorkerThread::current() {
            Some(worker) => worker.wait_until(&SlotWait::new(self), deadline),
            // SAFETY: this handle is the slot's one receiver and has not released it.
            None => unsafe { self.slot().wait(deadline) },
        }
    }

    /// The outcome of a finished job, moved out of the slot; marks the handle done.
    fn take_outcome(&mut self) -> Result<T, JobError> {
        self.done = true;
        if self.header().is_cancelled_before_start() {
            return Err(JobError::Cancelled);
        }
        match self.slot().peek() {
            // SAFETY: we are the receiver, the value is there and was not taken before
            // (`done` was false: `poll` asserts it, `join` consumes the handle).
            Peek::Ready => match unsafe { self.slot().take() } {
                Ok(value) => Ok(value),
                Err(payload) => Err(JobError::Panicked(payload)),
            },
            Peek::Closed => Err(JobError::Cancelled),
            Peek::Empty => unreachable!("outcome read before the job finished"),
        }
    }

    /// Waits for the outcome and lets go of the allocation (when `self` drops).
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
        assert!(!self.done, "a job handle was polled after it completed");
        // A job cancelled by its handle is finished even before a worker closes its slot.
        if !self.header().is_cancelled_before_start()
            // SAFETY: we are the slot's one receiver and have not released it.
            && unsafe { self.slot().poll(cx) }.is_pending()
        {
            return Poll::Pending;
        }
        Poll::Ready(self.take_outcome())
    }
}

impl<T> Drop for RawHandle<T> {
    fn drop(&mut self) {
        // `done` after a value was taken, or after a cancel (then no value was ever sent).
        let took = self.done && self.slot().peek() == Peek::Ready;
        // SAFETY: we are the receiver and release once.
        let release = unsafe { self.slot().release_receiver(took) };
        if release == Release::Last {
            // SAFETY: told Last: we are the allocation's only user.
            unsafe { Header::free(self.header_ptr()) };
        }
    }
}

/// A worker waiting for a job handle: done when the slot is finished (or the job was
/// cancelled), woken through a thread waiter in the slot.
struct SlotWait<'a, T> {
    handle: &'a RawHandle<T>,
    registered: std::cell::Cell<bool>,
}

impl<'a, T> SlotWait<'a, T> {
    fn new(handle: &'a RawHandle<T>) -> Self {
        SlotWait {
            handle,
            registered: std::cell::Cell::new(false),
        }
    }
}

impl<T> WaitCondition for SlotWait<'_, T> {
    fn done(&self) -> bool {
        self.handle.is_finished()
    }

    fn prepare_sleep(&self) -> bool {
        if self.registered.get() {
            return !self.done();
        }
        // SAFETY: the handle is the slot's one receiver and has not released it.
        match unsafe { self.handle.slot().register(Waiter::Thread(sync::current())) } {
            Ok(()) => {
                self.registered.set(true);
                true
            }
            Err(_) => false,
        }
    }

    fn abandon(&self) {
        if self.registered.replace(false) {
            // SAFETY: as above.
            unsafe { self.handle.slot().unregister() };
        }
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
/// Called on a worker thread of any weft pool, `join` runs other jobs while it waits, so a
/// job that waits on another job does not leave its worker thread idle, even on a pool of
/// one thread.
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
    /// [`JobError::Cancelled`] if it was cancelled before it started.
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
    /// use std::time::Duration;
    /// let pool = weft::ThreadPool::new(1).unwrap();
    /// let handle = pool.spawn(|| { std::thread::sleep(Duration::from_millis(50)); 7 });
    /// let handle = handle.join_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(handle.join_timeout(Duration::from_secs(10)).unwrap().unwrap(), 7);
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, JobError>, JobHandle<T>> {
        self.raw.join_timeout(timeout).map_err(JobHandle::from_raw)
    }

    /// `true` once the job finished (completed, panicked or cancelled): `join` will not wait.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
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
