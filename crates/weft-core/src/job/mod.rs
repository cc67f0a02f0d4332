//! What a job is: a type-erased [`JobRef`] as it sits in the queues, and the [`Job`] trait
//! it points to.
//!
//! This module depends on nothing above it. The two kinds of jobs live beside it:
//! [`stack`] (the allocation-free job behind `join`, `install`, `map` and `broadcast`, whose
//! closure and result live in the waiting caller's frame) and [`heap`] (the single
//! allocation behind `spawn`, `spawn_worker`, `execute` and scoped spawns).

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use crate::sync::{AtomicUsize, Ordering};

pub(crate) mod alloc;
pub(crate) mod heap;
pub(crate) mod options;
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

/// The bit of a handle-bearing job's state word that asks the running job to stop
/// ([`crate::is_cancelled`]); see `heap.rs` for the rest of that word.
pub(crate) const CANCEL_REQUESTED: usize = 1 << 9;

/// Which job a piece of work belongs to: the state word of the detached or scoped job whose
/// run forked it, or none for work that came from outside any job (`install`, `map`,
/// `scope` called from a thread outside the pool).
///
/// Two things hang on it. `weft::is_cancelled()` inside a `join` half reads the stop
/// request of its tree's job. And a worker thread waiting inside fork-join work (a stolen
/// `join` half, the end of a scope) only helps with queued work of its own tree: work of
/// another tree could wait, through a handle, for the job whose frame the helper would bury
/// under it, and that would deadlock (see `engine/worker.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tree(*const AtomicUsize);

// SAFETY: a `Tree` is an identity and a pointer to a state word that lives at least as long as
// any work of the tree (the tree's job waits for its fork-join work before it finishes, and
// only then can its allocation go); reading the word is an atomic load.
unsafe impl Send for Tree {}
// SAFETY: as above.
unsafe impl Sync for Tree {}

impl Tree {
    /// Work from outside any job.
    pub(crate) const OUTSIDE: Tree = Tree(ptr::null());

    /// The tree of the job whose state word is `state`.
    pub(crate) fn of(state: &AtomicUsize) -> Tree {
        Tree(state)
    }

    /// The tree's address, as published in a thread slot (0 for [`Tree::OUTSIDE`]).
    pub(crate) fn addr(self) -> usize {
        self.0 as usize
    }

    /// `true` once the tree's job was asked to stop (`cancel()` on its handle, or its run
    /// timeout passed).
    ///
    /// # Safety
    ///
    /// Called while work of this tree runs (so the job's allocation is alive).
    pub(crate) unsafe fn is_cancel_requested(self) -> bool {
        if self.0.is_null() {
            return false;
        }
        // SAFETY: the caller runs work of this tree, which keeps the state word alive.
        // ORDERING: Relaxed: a stop request carries no data.
        unsafe { (*self.0).load(Ordering::Relaxed) & CANCEL_REQUESTED != 0 }
    }

    /// Asks the tree's job to stop, as `cancel()` on its handle does to a running job
    /// (`shutdown_now` does this to running worker jobs).
    ///
    /// # Safety
    ///
    /// The tree's job is running (so its allocation is alive, and the bit lands on a
    /// claimed state word).
    pub(crate) unsafe fn request_stop(self) {
        if self.0.is_null() {
            return;
        }
        // SAFETY: the caller guarantees the job runs, which keeps the state word alive.
        // ORDERING: Relaxed: a request the job polls; no data rides on it.
        unsafe { (*self.0).fetch_or(CANCEL_REQUESTED, Ordering::Relaxed) };
    }
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

/// A queued job: a pointer, the function that knows its type, and the tree it belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobRef {
    pointer: NonNull<()>,
    execute_fn: unsafe fn(NonNull<()>, Mode),
    tree: Tree,
}

// SAFETY: a JobRef is a promise that the job it points to may be run on another thread: every
// job type checks `Send` bounds on what it carries when the JobRef is made.
unsafe impl Send for JobRef {}

impl JobRef {
    /// # Safety
    ///
    /// `job` stays valid until the returned `JobRef` has been executed, and the caller makes
    /// sure it is executed exactly once.
    pub(crate) unsafe fn new<J: Job>(job: NonNull<J>, tree: Tree) -> JobRef {
        JobRef {
            pointer: job.cast(),
            execute_fn: execute_erased::<J>,
            tree,
        }
    }

    /// Identifies the job (its address): equal for the same live job.
    #[inline]
    pub(crate) fn id(&self) -> *const () {
        self.pointer.as_ptr()
    }

    /// The tree the job belongs to.
    #[inline]
    pub(crate) fn tree(&self) -> Tree {
        self.tree
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
