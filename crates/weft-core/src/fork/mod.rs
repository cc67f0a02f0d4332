//! Structured parallelism: closures that may borrow from the caller, run on the pool's
//! worker threads while the caller waits: [`join`], [`scope`], [`map`], [`broadcast`].
//!
//! None of these jobs is in the pool's statistics or its `max_queued` count: their callers
//! wait for them anyway.

use std::panic;

use crate::engine::latch::{CountLatch, Owner};
use crate::engine::registry::Registry;
use crate::engine::worker::WorkerThread;
use crate::job::stack::StackJob;
use crate::job::{JobRef, JobResult, Tree};

pub(crate) mod broadcast;
pub(crate) mod join;
pub(crate) mod map;
pub(crate) mod scope;

/// Runs `func(0)` .. `func(n - 1)` as stack jobs queued by `place(index, job)`, waits for all
/// of them (running other jobs meanwhile on a worker), and returns their results in index
/// order, or re-raises the first panic (by index) once every job ran.
pub(crate) fn fan_out<F, R>(
    registry: &Registry,
    n: usize,
    func: &F,
    place: impl Fn(usize, JobRef),
) -> Vec<R>
where
    F: Fn(usize) -> R + Sync,
    R: Send,
{
    let latch = CountLatch::new(n, Owner::current(registry));
    let tree = caller_tree();
    let jobs: Vec<_> = (0..n)
        .map(|index| StackJob::new(move || func(index), &latch, tree))
        .collect();
    for (index, job) in jobs.iter().enumerate() {
        // SAFETY: the jobs stay in `jobs`, unmoved, until the latch says every one ran.
        place(index, unsafe { job.as_job_ref() });
    }
    latch.wait();
    let mut results = Vec::with_capacity(n);
    let mut first_panic = None;
    for job in jobs {
        match job.into_job_result() {
            JobResult::Ok(value) => results.push(value),
            JobResult::Panic(payload) => {
                first_panic.get_or_insert(payload);
            }
            JobResult::None => unreachable!("the latch was set before every job ran"),
        }
    }
    if let Some(payload) = first_panic {
        panic::resume_unwind(payload);
    }
    results
}

/// The tree that work forked by the calling thread belongs to: the tree running on it when
/// it is a pool thread (of any pool), none from outside.
pub(crate) fn caller_tree() -> Tree {
    WorkerThread::current().map_or(Tree::OUTSIDE, WorkerThread::current_tree)
}
