//! Fork-join on a worker thread: the engine of [`crate::join`] and
//! [`ThreadPool::join`](crate::ThreadPool::join), which runs two closures, potentially in
//! parallel, without allocating.

use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};

use crate::engine::latch::{Owner, WakeLatch};
use crate::engine::worker::WorkerThread;
use crate::job::stack::StackJob;

/// `join` on a worker thread: `b` is forked latent or shared (see
/// `engine/worker.rs::WorkerThread::fork`), `a` runs here, then `b` runs here if nobody took
/// it, or the thread helps with work of its tree until the thief is done with `b`.
#[inline]
pub(crate) fn join_on_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    // Dropped by hand: where `b` runs inline, what is left of the job after its closure
    // was taken (a latch owned by a worker, a result never set) owns nothing, and skipping
    // its drop glue and the move into `run_inline` is a tenth of a latent fork's cost.
    let mut job_b = ManuallyDrop::new(StackJob::new(
        b,
        WakeLatch::new(Owner::Worker(&worker.registry().sleep, worker.index())),
        worker.current_tree(),
    ));
    // SAFETY: `job_b` stays in this frame, unmoved, until it ran inline or its latch is set:
    // every path below waits for one of the two before leaving, even when `a` panics.
    let job_b_ref = unsafe { job_b.as_job_ref() };
    // SAFETY: `job_b_ref` stays in this frame until `take_latent` below, which every path
    // reaches: `a`'s panic is caught, and the `join`s `a` opened ended inside it.
    let slot = unsafe { worker.fork(&job_b_ref) };
    let result_a = panic::catch_unwind(AssertUnwindSafe(a));
    if worker.take_latent(slot) {
        // Nobody could see it: run it here, with no atomic operation on the way.
        return match result_a {
            Ok(ra) => (ra, job_b.run_inline()),
            Err(payload) => {
                drop(panic::catch_unwind(AssertUnwindSafe(|| job_b.run_inline())));
                panic::resume_unwind(payload)
            }
        };
    }
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
                // Stolen: help with work of this tree until the thief is done with it.
                worker.wait_for_latch(&job_b.latch);
                break;
            }
        }
    }
    match result_a {
        Ok(ra) => (ra, ManuallyDrop::into_inner(job_b).into_result()),
        Err(payload) => {
            drop(ManuallyDrop::into_inner(job_b).into_job_result());
            panic::resume_unwind(payload)
        }
    }
}
