//! [`HeapJob`]: the single allocation behind `spawn`, `spawn_worker`, `execute` and scoped
//! spawns.
//!
//! One allocation holds the job's [`Header`] (run state and vtable), the [`Slot`] its result
//! goes to, and the closure. The queue holds a [`JobRef`] to it and the handle a pointer to
//! the same memory. The slot's protocol decides who frees it: the worker when it finishes a
//! job whose handle is gone, the handle when it lets go of a finished job.
//!
//! # Run state
//!
//! `QUEUED -> RUNNING` (a worker claims it) or `QUEUED -> CANCELLING -> CANCELLED` (the
//! handle cancels it), decided by one CAS, so a job runs or is cancelled, never both and
//! never neither. While `CANCELLING`, the handle counts the cancel in the pool's stats; a
//! worker that pops the job then waits for `CANCELLED` before it lets go of it, which keeps
//! the pool (and so the counters) alive for the handle. `CANCEL_REQUESTED` is or-ed in when
//! a handle asks a running job to stop; the job reads it through [`crate::is_cancelled`].

use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use weft_channel::slot::{Release, Slot};

use crate::engine::registry::Registry;
use crate::engine::worker::WorkerThread;
use crate::job::{Job, JobRef, Mode, Panic};
use crate::stats::Event;
use crate::sync::{AtomicU8, Backoff, Ordering, UnsafeCell};

pub(crate) const QUEUED: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const CANCELLING: u8 = 2;
pub(crate) const CANCELLED: u8 = 3;
pub(crate) const CANCEL_REQUESTED: u8 = 4;

/// What every heap job starts with; handles reach it through a type-erased pointer.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) run_state: AtomicU8,
    vtable: &'static VTable,
    /// The pool whose stats count a cancel by the handle (detached jobs only).
    registry: Option<NonNull<Registry>>,
}

#[derive(Debug)]
struct VTable {
    /// Drops the closure of a job that will never run.
    drop_func: unsafe fn(NonNull<Header>),
    /// Frees the allocation (dropping an untaken result).
    free: unsafe fn(NonNull<Header>),
}

impl Header {
    /// Claims the job for running; `false` if its handle cancelled it first (and has
    /// finished counting that).
    #[inline]
    fn claim(&self) -> bool {
        // ORDERING: Acquire on failure: see the canceller's count and closure drop decision.
        match self
            .run_state
            .compare_exchange(QUEUED, RUNNING, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(_) => {
                let backoff = Backoff::new();
                // ORDERING: Acquire pairs with the canceller's Release store of CANCELLED.
                while self.run_state.load(Ordering::Acquire) == CANCELLING {
                    backoff.snooze();
                }
                false
            }
        }
    }

    /// The handle's cancel: `Some(true)` when the job was queued and is now cancelled (the
    /// caller must drop the closure), `Some(false)` when it was already cancelled, `None` when
    /// it is running or finished (a stop is requested instead).
    pub(crate) fn cancel(&self) -> Option<bool> {
        // ORDERING: AcqRel: the winner of this CAS owns the closure; Acquire on failure to
        // read the current state.
        match self.run_state.compare_exchange(
            QUEUED,
            CANCELLING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                if let Some(registry) = self.registry {
                    // SAFETY: the job is still queued, and a worker that pops it waits for
                    // CANCELLED below before letting go: the pool is alive.
                    let registry = unsafe { registry.as_ref() };
                    registry.count_cancelled();
                    // The job no longer waits: give its `max_queued` place back now.
                    registry.release_queue_place();
                }
                // ORDERING: Release: publishes the count to the worker's Acquire in `claim`
                // and to stats readers that synchronise with that worker.
                self.run_state.store(CANCELLED, Ordering::Release);
                Some(true)
            }
            // Another cancel of the same handle won (or is finishing): it never runs.
            Err(CANCELLING | CANCELLED) => Some(false),
            Err(_) => {
                // Running or finished: only RUNNING-based states get here, so the bit never
                // lands on CANCELLING, which a popping worker waits on.
                // ORDERING: Relaxed: a request the job polls; no data rides on it.
                self.run_state.fetch_or(CANCEL_REQUESTED, Ordering::Relaxed);
                None
            }
        }
    }

    /// `true` once the handle won the race against the workers.
    pub(crate) fn is_cancelled_before_start(&self) -> bool {
        // ORDERING: Acquire: pairs with the cancelling CAS (same thread or synchronised with
        // it through the handle's ownership).
        self.run_state.load(Ordering::Acquire) == CANCELLED
    }

    /// # Safety
    ///
    /// The caller won [`Header::cancel`] with `Some(true)` and calls this once.
    pub(crate) unsafe fn drop_func(this: NonNull<Header>) {
        // SAFETY: forwarded; the vtable matches the allocation's concrete type.
        unsafe { (this.as_ref().vtable.drop_func)(this) }
    }

    /// # Safety
    ///
    /// The caller was told [`Release::Last`] (or got its value back from `send`) and is the
    /// allocation's only user.
    pub(crate) unsafe fn free(this: NonNull<Header>) {
        // SAFETY: forwarded; the vtable matches the allocation's concrete type.
        unsafe { (this.as_ref().vtable.free)(this) }
    }
}

#[cfg(all(test, weft_loom))]
impl Header {
    /// A header of a queued job with no closure behind it, for the loom models.
    pub(crate) fn for_model() -> Self {
        #[allow(clippy::missing_safety_doc)]
        unsafe fn nothing(_: NonNull<Header>) {}
        static VTABLE: VTable = VTable {
            drop_func: nothing,
            free: nothing,
        };
        Header {
            run_state: AtomicU8::new(QUEUED),
            vtable: &VTABLE,
            registry: None,
        }
    }

    pub(crate) fn claim_for_model(&self) -> bool {
        self.claim()
    }
}

#[cfg(all(test, weft_loom))]
std::thread_local! {
    /// Heap jobs allocated and not yet freed on this OS thread (a loom model runs on one).
    pub(crate) static LIVE_JOBS: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

/// The part of a heap job a handle can name: header and result slot.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct JobCore<T> {
    pub(crate) header: Header,
    pub(crate) slot: Slot<Result<T, Panic>>,
}

/// What kind of heap job this is: how it is counted and what happens around it.
pub(crate) trait JobKind: Copy + Send {
    /// The job left the queue (claimed by `worker`, to run it or to cancel it under
    /// `shutdown_now`): a detached job gives its `max_queued` place back. A cancel by the
    /// handle gives the place back itself (see [`Header::cancel`]).
    fn left_queue(self, worker: &WorkerThread);
    /// Counts the job as started, finished or cancelled on `worker`'s stats.
    fn count(self, worker: &WorkerThread, event: Event);
    /// The allocation is being freed; `result` is the result nobody took.
    fn on_free<T>(self, result: Option<Result<T, Panic>>);
    /// The worker is completely done with the job (after it may have freed it).
    fn after_run(self);
}

/// Detached jobs (`spawn`, `spawn_worker`): counted in the pool's stats.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detached;

impl JobKind for Detached {
    #[inline]
    fn left_queue(self, worker: &WorkerThread) {
        worker.registry().release_queue_place();
    }

    #[inline]
    fn count(self, worker: &WorkerThread, event: Event) {
        worker.count(event);
    }

    fn on_free<T>(self, result: Option<Result<T, Panic>>) {
        drop(result);
    }

    fn after_run(self) {}
}

/// A heap job: header and slot first (so a `JobCore<T>` pointer reaches them), then the
/// kind and the closure.
#[repr(C)]
pub(crate) struct HeapJob<F, T, K> {
    core: JobCore<T>,
    kind: K,
    func: UnsafeCell<ManuallyDrop<F>>,
}

impl<F, T, K> HeapJob<F, T, K>
where
    F: FnOnce() -> T + Send,
    T: Send,
    K: JobKind,
{
    const VTABLE: VTable = VTable {
        drop_func: Self::drop_func,
        free: Self::free,
    };

    /// Allocates the job; the returned pointer is owned jointly by the queue entry and the
    /// handle made from it.
    /// `registry` is the pool whose stats count a cancel by the handle (None: not counted).
    pub(crate) fn allocate(func: F, kind: K, registry: Option<&Registry>) -> NonNull<JobCore<T>> {
        let job = Box::new(Self {
            core: JobCore::<T> {
                header: Header {
                    run_state: AtomicU8::new(QUEUED),
                    vtable: &Self::VTABLE,
                    registry: registry.map(NonNull::from),
                },
                slot: Slot::new(),
            },
            kind,
            func: UnsafeCell::new(ManuallyDrop::new(func)),
        });
        #[cfg(all(test, weft_loom))]
        LIVE_JOBS.with(|live| live.set(live.get() + 1));
        NonNull::from(Box::leak(job)).cast()
    }

    /// # Safety
    ///
    /// `core` came from [`allocate`](Self::allocate) with these type parameters, and the
    /// returned `JobRef` is queued once.
    pub(crate) unsafe fn job_ref(core: NonNull<JobCore<T>>) -> JobRef {
        // SAFETY: `repr(C)`: the core is the first field, so the cast gets the whole job.
        unsafe { JobRef::new(core.cast::<Self>()) }
    }

    /// The vtable's `drop_func`.
    ///
    /// # Safety
    ///
    /// `header` is the header of a `Self` whose cancel the caller won ([`Header::cancel`]
    /// returned `Some(true)`); called once.
    unsafe fn drop_func(header: NonNull<Header>) {
        let job = header.cast::<Self>().as_ptr();
        // SAFETY: the caller won the cancel CAS, so the closure is untouched and ours.
        unsafe { (*job).func.with_mut(|func| ManuallyDrop::drop(&mut *func)) };
    }

    /// The vtable's `free`.
    ///
    /// # Safety
    ///
    /// `header` is the header of a `Self` made by [`allocate`](Self::allocate), with a
    /// pointer that has the whole allocation's provenance, and the caller is its last user.
    unsafe fn free(header: NonNull<Header>) {
        // SAFETY: the caller is the only user left; the allocation came from `Box::leak` of
        // this very type (`allocate`).
        let mut job = unsafe { Box::from_raw(header.cast::<Self>().as_ptr()) };
        let kind = job.kind;
        let untaken = job.core.slot.take_exclusive();
        drop(job);
        #[cfg(all(test, weft_loom))]
        LIVE_JOBS.with(|live| live.set(live.get() - 1));
        kind.on_free(untaken);
    }

    /// Sends the outcome and lets go of the job, freeing it if the handle is gone.
    ///
    /// # Safety
    ///
    /// The worker is the job's sender and has not finished the slot.
    unsafe fn finish(job: *const Self, outcome: Option<Result<T, Panic>>) {
        // SAFETY: the job is alive until the slot tells us otherwise.
        let (slot, kind) = unsafe { (&(*job).core.slot, (*job).kind) };
        let (release, refused) = match outcome {
            // SAFETY: we are the job's one sender (the queue entry), finishing once.
            Some(result) => match unsafe { slot.send(result) } {
                Ok(release) => (release, None),
                // The handle was gone before the outcome could be delivered.
                Err(result) => (Release::Last, Some(result)),
            },
            // SAFETY: as above.
            None => (unsafe { slot.close() }, None),
        };
        if release == Release::Last {
            // SAFETY: `job` is non-null; a raw projection keeps the whole allocation's
            // provenance, which freeing needs (a pointer made from `&Header` would not do).
            let header =
                unsafe { NonNull::new_unchecked((&raw const (*job).core.header).cast_mut()) };
            // Dropping an untaken result runs user code: keep its panic off the worker.
            let freed = panic::catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: told Last (or refused): we are the only user left.
                unsafe { Header::free(header) };
                // A refused result is untaken too: the kind sees it like one found in the slot.
                kind.on_free(refused);
            }));
            if freed.is_err() {
                tracing::error!("dropping the result of a job panicked");
            }
        }
    }
}

impl<F, T, K> Job for HeapJob<F, T, K>
where
    F: FnOnce() -> T + Send,
    T: Send,
    K: JobKind,
{
    unsafe fn execute(this: NonNull<Self>, mode: Mode) {
        let job = this.as_ptr();
        let worker = WorkerThread::current().expect("jobs run on worker threads");
        // SAFETY: the queue entry keeps the job alive until we finish its slot.
        let (header, kind) = unsafe { (&(*job).core.header, (*job).kind) };
        if !header.claim() {
            // Cancelled by its handle, which dropped the closure and counted it.
            // SAFETY: we are the sender; the job is alive until `finish` says otherwise.
            unsafe { Self::finish(job, None) };
            kind.after_run();
            return;
        }
        kind.left_queue(worker);
        if mode == Mode::Cancel {
            // SAFETY: we claimed the job, so the closure is ours and untouched.
            let func = unsafe { (*job).func.with_mut(|func| ManuallyDrop::take(&mut *func)) };
            drop_quietly(func);
            kind.count(worker, Event::Cancelled);
            // SAFETY: as above.
            unsafe { Self::finish(job, None) };
            kind.after_run();
            return;
        }
        // SAFETY: we claimed the job, so the closure is ours and untouched; taken once.
        let func = unsafe { (*job).func.with_mut(|func| ManuallyDrop::take(&mut *func)) };
        kind.count(worker, Event::Started);
        let previous = worker.enter_job(&header.run_state);
        let _span = tracing::trace_span!("job").entered();
        let result = panic::catch_unwind(AssertUnwindSafe(func));
        worker.leave_job(previous);
        match &result {
            Ok(_) => kind.count(worker, Event::Completed),
            Err(payload) => {
                kind.count(worker, Event::Panicked);
                tracing::error!(
                    worker = worker.index(),
                    panic = crate::error::panic_message(payload).unwrap_or("Box<dyn Any>"),
                    "job panicked"
                );
            }
        }
        // SAFETY: we are the sender, finishing once.
        unsafe { Self::finish(job, Some(result)) };
        kind.after_run();
    }
}

/// Drops a value on a worker, keeping a panic in its `Drop` off the worker.
pub(crate) fn drop_quietly<V>(value: V) {
    if panic::catch_unwind(AssertUnwindSafe(move || drop(value))).is_err() {
        tracing::error!("dropping a job's closure or result panicked");
    }
}

/// `execute`'s job: no handle, no result slot, just the closure.
pub(crate) struct ExecuteJob<F> {
    func: F,
}

impl<F: FnOnce() + Send> ExecuteJob<F> {
    /// Allocates the job and returns its queue entry.
    pub(crate) fn job_ref(func: F) -> JobRef {
        let job = NonNull::from(Box::leak(Box::new(ExecuteJob { func })));
        // SAFETY: the box stays allocated until `execute` frees it, once.
        unsafe { JobRef::new(job) }
    }
}

impl<F: FnOnce() + Send> Job for ExecuteJob<F> {
    unsafe fn execute(this: NonNull<Self>, mode: Mode) {
        // SAFETY: made by `Box::leak` in `job_ref`; executed once.
        let job = unsafe { Box::from_raw(this.as_ptr()) };
        let worker = WorkerThread::current().expect("jobs run on worker threads");
        worker.registry().release_queue_place();
        if mode == Mode::Cancel {
            drop_quietly(job);
            worker.count(Event::Cancelled);
            return;
        }
        worker.count(Event::Started);
        let _span = tracing::trace_span!("job").entered();
        let previous = worker.enter_job(std::ptr::null());
        let result = panic::catch_unwind(AssertUnwindSafe(job.func));
        worker.leave_job(previous);
        match result {
            Ok(()) => worker.count(Event::Completed),
            Err(payload) => {
                worker.count(Event::Panicked);
                tracing::error!(
                    worker = worker.index(),
                    panic = crate::error::panic_message(&payload).unwrap_or("Box<dyn Any>"),
                    "job panicked"
                );
                drop_quietly(payload);
            }
        }
    }
}
