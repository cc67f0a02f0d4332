//! [`StackJob`]: the allocation-free job behind `join`, `install`, `map` and `broadcast`.
//!
//! Its closure and result live in the frame of whoever waits on its latch; the frame does not
//! return before the latch is set (or before it popped the job back and ran it itself).

use std::cell::UnsafeCell;
use std::ptr::NonNull;

use crate::engine::latch::Latch;
use crate::engine::worker::WorkerThread;
use crate::job::{Job, JobRef, JobResult, Mode, Tree};

/// A job whose closure and result live in the frame of whoever waits on its latch.
pub(crate) struct StackJob<L, F, R> {
    pub(crate) latch: L,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
    /// The tree of the work that made this one (its `is_cancelled` flag), carried to a
    /// thief.
    tree: Tree,
}

impl<L: Latch, F: FnOnce() -> R + Send, R: Send> StackJob<L, F, R> {
    pub(crate) fn new(func: F, latch: L, tree: Tree) -> Self {
        StackJob {
            latch,
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
            tree,
        }
    }

    /// # Safety
    ///
    /// The job must not move or be dropped until the returned `JobRef` has executed, which
    /// the caller observes through the latch (or by running the job itself with
    /// [`run_inline`](Self::run_inline) after popping this very `JobRef` back).
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // SAFETY: forwarded from the caller.
        unsafe { JobRef::new(NonNull::from(self), self.tree) }
    }

    /// Runs the closure on the current thread: the owner popped its own job back before
    /// anyone stole it. Takes the closure out in place: moving the whole job here copies
    /// every field on the hot path of `join`.
    #[inline]
    pub(crate) fn run_inline(&mut self) -> R {
        let func = self.func.get_mut().take().expect("stack job already ran");
        func()
    }

    /// The result after the latch was observed set; re-raises a panic of the closure.
    #[inline]
    pub(crate) fn into_result(mut self) -> R {
        std::mem::replace(self.result.get_mut(), JobResult::None).into_return_value()
    }

    /// The result without re-raising, after the latch was observed set.
    #[inline]
    pub(crate) fn into_job_result(mut self) -> JobResult<R> {
        std::mem::replace(self.result.get_mut(), JobResult::None)
    }
}

impl<L: Latch, F: FnOnce() -> R + Send, R: Send> Job for StackJob<L, F, R> {
    unsafe fn execute(this: NonNull<Self>, _mode: Mode) {
        // Stack jobs run even under `shutdown_now`: a frame is waiting for them.
        let job = this.as_ptr();
        let worker = WorkerThread::current().expect("jobs run on worker threads");
        // SAFETY: the owner keeps the job alive and unmoved until the latch is set (contract
        // of `as_job_ref`), and we are its only executor, so the cells are ours until then.
        let func = unsafe { (*(*job).func.get()).take() }.expect("stack job already ran");
        // SAFETY: as above; the tree's job waits for this one.
        let previous = worker.enter_tree(unsafe { (*job).tree });
        let result = JobResult::call(func);
        worker.leave_tree(previous);
        // SAFETY: as above.
        unsafe { *(*job).result.get() = result };
        // SAFETY: the latch is live; after this call the job may be gone, and we do not touch
        // it again.
        unsafe { L::set(&raw const (*job).latch) };
    }
}
