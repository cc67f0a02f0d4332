//! `tiny`: the overhead of a job. Spawns `n` trivial jobs from outside the pool, each with
//! its own [`JobHandle`](weft::JobHandle), then joins them all: what a job costs to
//! allocate, queue, run, and hand back, with nothing to hide it.
//!
//! ```
//! let pool = weft::ThreadPool::new(2).unwrap();
//! assert_eq!(weft_tune::workloads::tiny::spawn_join_all(&pool, 1000), 499_500);
//! ```

use std::hint::black_box;

use weft::ThreadPool;

use crate::sweep::Sweep;

/// The default job count: the size of the tiny-jobs row of the performance targets.
pub const DEFAULT_JOBS: u64 = 1_000_000;

/// The work of one tiny job: `i`, through [`black_box`]. Never inlined, so the jobs and the
/// sequential baseline run the same machine code.
#[inline(never)]
pub fn tiny_job(i: u64) -> u64 {
    black_box(i)
}

/// Spawns jobs `0..n` (job `i` returns [`tiny_job`]`(i)`), then joins every handle; returns
/// the sum.
///
/// # Panics
///
/// If a job fails (it cannot: they neither panic nor get cancelled).
pub fn spawn_join_all(pool: &ThreadPool, n: u64) -> u64 {
    let handles: Vec<_> = (0..n).map(|i| pool.spawn(move || tiny_job(i))).collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("a trivial job failed"))
        .fold(0, u64::wrapping_add)
}

/// The jobs' work done in place: the sequential baseline (it costs next to nothing, which
/// is the point: speed-up against it is the job overhead, inverted).
pub fn call_all(n: u64) -> u64 {
    (0..n).map(tiny_job).fold(0, u64::wrapping_add)
}

/// The built-in `tiny` sweep: [`spawn_join_all`] of `n` jobs.
pub fn sweep<'a>(n: u64) -> Sweep<'a, u64> {
    let jobs = crate::units::group_digits(n);
    super::checked_sweep(
        "tiny",
        format!(
            "{jobs} trivial jobs spawned from outside the pool, then each joined through its own handle"
        ),
        (n, "jobs"),
        move |pool| spawn_join_all(pool, n),
        move || call_all(n),
        (
            super::sum::expected(n),
            "the sum of the jobs' results".to_owned(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tiny_job_returns_its_index() {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(
            spawn_join_all(&pool, 10_000),
            super::super::sum::expected(10_000)
        );
        assert_eq!(call_all(10_000), super::super::sum::expected(10_000));
        assert_eq!(pool.stats().completed, 10_000);
    }
}
