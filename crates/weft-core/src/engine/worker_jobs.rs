//! [`LiveWorkerJobs`]: the worker jobs of a pool whose input the pool may still have to
//! end, so that closing the pool never waits forever for a worker job blocked in
//! `ctx.recv()` (API.md, "Worker jobs at shutdown").
//!
//! `spawn_worker` registers each worker job here as a [`Weak`] reference to its
//! [`WorkerJobInput`]; closing the pool ends the input of every one still alive. Worker jobs
//! are few and long-lived, so one mutex-guarded list is enough; dead entries are pruned when
//! the list is full, which keeps registering amortised O(1). Plain `spawn` never comes here.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, PoisonError, Weak};

use crate::sync::Mutex;

/// What closing the pool does to one worker job (implemented in `node_worker.rs`).
pub(crate) trait WorkerJobInput: Send + Sync {
    /// Ends the main-to-job direction of the job's port: once the job has read what was
    /// already sent, its `ctx.recv()` reports the end. With `cancel`, first sets the job's
    /// cancel flags (`ctx.is_cancelled()`, `weft::is_cancelled()`), so a job woken by the
    /// close already sees them.
    fn close_input(&self, cancel: bool);
}

/// The worker jobs registered with one pool (see the module docs).
pub(crate) struct LiveWorkerJobs {
    jobs: Mutex<Vec<Weak<dyn WorkerJobInput>>>,
}

impl LiveWorkerJobs {
    pub(crate) fn new() -> Self {
        LiveWorkerJobs {
            jobs: Mutex::new(Vec::new()),
        }
    }

    /// Registers a worker job; the entry dies with the job's last strong reference.
    pub(crate) fn register(&self, job: Weak<dyn WorkerJobInput>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.len() == jobs.capacity() {
            jobs.retain(|job| job.strong_count() > 0);
        }
        jobs.push(job);
    }

    /// Ends the input of every worker job still alive (see
    /// [`WorkerJobInput::close_input`]) and forgets them all.
    pub(crate) fn close_all(&self, cancel: bool) {
        let live: Vec<Arc<dyn WorkerJobInput>> = {
            let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            jobs.drain(..).filter_map(|job| job.upgrade()).collect()
        };
        // Outside the lock: closing wakes the jobs' threads.
        for job in &live {
            job.close_input(cancel);
        }
        // A handle dropped meanwhile leaves its port to us: dropping it drops the messages
        // nobody read, which runs user code. Keep a panic there off the closing thread.
        if panic::catch_unwind(AssertUnwindSafe(move || drop(live))).is_err() {
            tracing::error!("dropping an unread message of a worker job panicked");
        }
    }
}

impl std::fmt::Debug for LiveWorkerJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveWorkerJobs").finish_non_exhaustive()
    }
}
