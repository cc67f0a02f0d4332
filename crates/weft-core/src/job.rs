//! Type-erased jobs as they sit in the queues, and jobs that live on the stack.
//!
//! A [`JobRef`] is two words: a pointer to the job and the function that runs it. Heap jobs
//! (`spawn`, `execute`, scoped spawns) are defined in [`crate::heap_job`]; [`StackJob`] is
//! the allocation-free job behind `join`, `install`, `map` and `broadcast`: its closure and
//! result live in the caller's stack frame, which waits on the job's latch before returning.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::latch::Latch;
use crate::registry::WorkerThread;
use crate::sync::AtomicU8;

/// A caught panic payload.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// How a popped job is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Run it.
    Run,
    /// The pool is shutting down with `shutdown_now`: cancel it if it can be cancelled
    /// (detached and scoped heap jobs); jobs someone is waiting on in a stack frame run.
    Cancel,
}

/// A job that can be run through a type-erased pointer.
pub(crate) trait Job {
    /// Runs (or cancels) the job.
    ///
    /// # Safety
    ///
    /// `this` comes from the [`JobRef`] made for this job, and each `JobRef` is executed
    /// exactly once, on a worker thread of the pool it was queued in.
    unsafe fn execute(this: NonNull<Self>, worker: &WorkerThread, mode: Mode);
}

/// A queued job: a pointer and the function that knows its type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobRef {
    pointer: NonNull<()>,
    execute_fn: unsafe fn(NonNull<()>, &WorkerThread, Mode),
}

// SAFETY: a JobRef is a promise that the job it points to may be run on another thread: every
// job type checks `Send` bounds on what it carries when the JobRef is made.
unsafe impl Send for JobRef {}

impl JobRef {
    /// # Safety
    ///
    /// `job` stays valid until the returned `JobRef` has been executed, and the caller makes
    /// sure it is executed exactly once.
    pub(crate) unsafe fn new<J: Job>(job: NonNull<J>) -> JobRef {
        JobRef {
            pointer: job.cast(),
            execute_fn: execute_erased::<J>,
        }
    }

    /// Identifies the job (its address): equal for the same live job.
    #[inline]
    pub(crate) fn id(&self) -> *const () {
        self.pointer.as_ptr()
    }

    /// # Safety
    ///
    /// See [`Job::execute`]: this `JobRef` is executed once, on a worker of its pool.
    #[inline]
    pub(crate) unsafe fn execute(self, worker: &WorkerThread, mode: Mode) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.execute_fn)(self.pointer, worker, mode) }
    }
}

/// # Safety
///
/// `pointer` was made from a `NonNull<J>` in [`JobRef::new`]; see [`Job::execute`].
unsafe fn execute_erased<J: Job>(pointer: NonNull<()>, worker: &WorkerThread, mode: Mode) {
    // SAFETY: the pointer was a `NonNull<J>` before erasure; the rest is the caller's promise.
    unsafe { J::execute(pointer.cast::<J>(), worker, mode) }
}

/// The outcome of a stack job.
#[derive(Debug)]
pub(crate) enum JobResult<R> {
    None,
    Ok(R),
    Panic(Panic),
}

impl<R> JobResult<R> {
    /// Runs `f`, catching a panic.
    pub(crate) fn call(f: impl FnOnce() -> R) -> Self {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => JobResult::Ok(value),
            Err(payload) => JobResult::Panic(payload),
        }
    }

    /// The value, re-raising a caught panic.
    pub(crate) fn into_return_value(self) -> R {
        match self {
            JobResult::Ok(value) => value,
            JobResult::Panic(payload) => panic::resume_unwind(payload),
            JobResult::None => unreachable!("a stack job's result was read before it ran"),
        }
    }
}

/// A job whose closure and result live in the frame of whoever waits on its latch.
pub(crate) struct StackJob<L, F, R> {
    pub(crate) latch: L,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
    /// The `is_cancelled` flag of the job that made this one, carried to a thief.
    cancel_flag: *const AtomicU8,
}

impl<L: Latch, F: FnOnce() -> R + Send, R: Send> StackJob<L, F, R> {
    pub(crate) fn new(func: F, latch: L, cancel_flag: *const AtomicU8) -> Self {
        StackJob {
            latch,
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
            cancel_flag,
        }
    }

    /// # Safety
    ///
    /// The job must not move or be dropped until the returned `JobRef` has executed, which
    /// the caller observes through the latch (or by running the job itself with
    /// [`run_inline`](Self::run_inline) after popping this very `JobRef` back).
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // SAFETY: forwarded from the caller.
        unsafe { JobRef::new(NonNull::from(self)) }
    }

    /// Runs the closure on the current thread: the owner popped its own job back before
    /// anyone stole it.
    pub(crate) fn run_inline(self) -> R {
        let func = self.func.into_inner().expect("stack job already ran");
        func()
    }

    /// The result after the latch was observed set; re-raises a panic of the closure.
    pub(crate) fn into_result(self) -> R {
        self.result.into_inner().into_return_value()
    }

    /// The result without re-raising, after the latch was observed set.
    pub(crate) fn into_job_result(self) -> JobResult<R> {
        self.result.into_inner()
    }
}

impl<L: Latch, F: FnOnce() -> R + Send, R: Send> Job for StackJob<L, F, R> {
    unsafe fn execute(this: NonNull<Self>, worker: &WorkerThread, _mode: Mode) {
        // Stack jobs run even under `shutdown_now`: a frame is waiting for them.
        let job = this.as_ptr();
        // SAFETY: the owner keeps the job alive and unmoved until the latch is set (contract
        // of `as_job_ref`), and we are its only executor, so the cells are ours until then.
        let func = unsafe { (*(*job).func.get()).take() }.expect("stack job already ran");
        // SAFETY: as above; the flag belongs to the forking job, which waits for this one.
        let previous = worker.enter_job(unsafe { (*job).cancel_flag });
        let result = JobResult::call(func);
        worker.leave_job(previous);
        // SAFETY: as above.
        unsafe { *(*job).result.get() = result };
        // SAFETY: the latch is live; after this call the job may be gone, and we do not touch
        // it again.
        unsafe { L::set(&raw const (*job).latch) };
    }
}
