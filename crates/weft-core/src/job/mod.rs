//! What a job is: a type-erased [`JobRef`] as it sits in the queues, and the [`Job`] trait
//! it points to.
//!
//! This module depends on nothing above it. The two kinds of jobs live beside it:
//! [`stack`] (the allocation-free job behind `join`, `install`, `map` and `broadcast`, whose
//! closure and result live in the waiting caller's frame) and [`heap`] (the single
//! allocation behind `spawn`, `spawn_worker`, `execute` and scoped spawns).

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

pub(crate) mod heap;
pub(crate) mod stack;

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
    /// Runs (or cancels) the job. A job that needs the worker thread running it finds it
    /// through the worker's thread-local (`engine::worker::WorkerThread::current`).
    ///
    /// # Safety
    ///
    /// `this` comes from the [`JobRef`] made for this job, and each `JobRef` is executed
    /// exactly once, on a worker thread of the pool it was queued in.
    unsafe fn execute(this: NonNull<Self>, mode: Mode);
}

/// A queued job: a pointer and the function that knows its type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobRef {
    pointer: NonNull<()>,
    execute_fn: unsafe fn(NonNull<()>, Mode),
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
    pub(crate) unsafe fn execute(self, mode: Mode) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.execute_fn)(self.pointer, mode) }
    }
}

/// # Safety
///
/// `pointer` was made from a `NonNull<J>` in [`JobRef::new`]; see [`Job::execute`].
unsafe fn execute_erased<J: Job>(pointer: NonNull<()>, mode: Mode) {
    // SAFETY: the pointer was a `NonNull<J>` before erasure; the rest is the caller's promise.
    unsafe { J::execute(pointer.cast::<J>(), mode) }
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
