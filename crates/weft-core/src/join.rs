//! Fork-join: [`join`] runs two closures, potentially in parallel, without allocating.

use std::panic::{self, AssertUnwindSafe};

use crate::job::StackJob;
use crate::latch::{LockLatch, Owner};
use crate::registry::WorkerThread;

/// Runs `a` and `b`, potentially in parallel, and returns both results.
///
/// On a worker thread, `b` is offered to other workers (on this worker's deque, living in
/// this stack frame: no allocation) while `a` runs here; if nobody stole `b`, it runs here
/// next. A worker waiting for a stolen `b` runs other jobs meanwhile. Outside any pool, the
/// call runs on a global pool (built on first use with one thread per CPU).
///
/// Both closures always run. A panic of either is re-raised after both ended (`a`'s if both
/// panicked).
///
/// `a` must not wait for something only `b` does: "potentially in parallel" means that on
/// a busy (or one-thread) pool `b` runs after `a` returned, on the same thread.
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 { return n; }
///     let (a, b) = weft::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// assert_eq!(fib(20), 6765);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    match WorkerThread::current() {
        Some(worker) => join_on_worker(worker, a, b),
        None => crate::global::global_pool().install(|| join(a, b)),
    }
}

/// `join` on a worker thread.
#[inline]
pub(crate) fn join_on_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = StackJob::new(
        b,
        LockLatch::new(Owner::Worker(&worker.registry().sleep, worker.index())),
        worker.current_job(),
    );
    // SAFETY: `job_b` stays in this frame, unmoved, until it ran inline or its latch is set:
    // every path below waits for one of the two before leaving, even when `a` panics.
    let job_b_ref = unsafe { job_b.as_job_ref() };
    worker.push_fork(job_b_ref);
    let result_a = panic::catch_unwind(AssertUnwindSafe(a));
    while !job_b.latch.probe() {
        match worker.take_local_job() {
            Some(job) if job.id() == job_b_ref.id() => {
                // Nobody stole it: run it here.
                return match result_a {
                    // `a` is done: a panic of `b` may propagate as it is.
                    Ok(ra) => (ra, job_b.run_inline()),
                    // Both ran; `a`'s panic wins, `b`'s (if any) is dropped.
                    Err(payload) => {
                        drop(panic::catch_unwind(AssertUnwindSafe(|| job_b.run_inline())));
                        panic::resume_unwind(payload)
                    }
                };
            }
            // Pushed by `a` after `b` and left behind: run it.
            Some(job) => worker.execute(job),
            None => {
                // Stolen: run other jobs until the thief is done with it.
                worker.wait_until(&job_b.latch, None);
                break;
            }
        }
    }
    match result_a {
        Ok(ra) => (ra, job_b.into_result()),
        Err(payload) => {
            drop(job_b.into_job_result());
            panic::resume_unwind(payload)
        }
    }
}
