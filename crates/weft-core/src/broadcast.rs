//! [`ThreadPool::broadcast`]: run a closure once on every worker.

use std::panic;

use crate::job::{JobRef, JobResult, StackJob};
use crate::latch::{CountLatch, Owner};
use crate::pool::ThreadPool;

impl ThreadPool {
    /// Runs `func(index)` once on every worker `index` and returns the results in worker
    /// order: `result[i]` came from worker `i`.
    ///
    /// Each worker runs its call when it next looks for work, so a worker busy with a long
    /// job delays the broadcast until that job ends.
    ///
    /// # Panics
    ///
    /// Re-raises the first panic (by worker index) after every worker ran its call.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(3).unwrap();
    /// let seen = pool.broadcast(|index| (index, weft::current_thread_index()));
    /// assert_eq!(seen, vec![(0, Some(0)), (1, Some(1)), (2, Some(2))]);
    /// ```
    pub fn broadcast<F, R>(&self, func: F) -> Vec<R>
    where
        F: Fn(usize) -> R + Sync,
        R: Send,
    {
        let registry = self.registry();
        self.fan_out(registry.num_threads(), &func, |index, job| {
            registry.push_to_worker(index, job);
        })
    }

    /// Runs `func(0)` .. `func(n - 1)` as stack jobs queued by `place(index, job)`, waits for
    /// all of them (running other jobs meanwhile on a worker), and returns their results in
    /// index order, or re-raises the first panic (by index) once every job ran.
    pub(crate) fn fan_out<F, R>(&self, n: usize, func: &F, place: impl Fn(usize, JobRef)) -> Vec<R>
    where
        F: Fn(usize) -> R + Sync,
        R: Send,
    {
        let latch = CountLatch::new(n, Owner::current(self.registry()));
        let jobs: Vec<_> = (0..n)
            .map(|index| StackJob::new(move || func(index), &latch, std::ptr::null()))
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
}
