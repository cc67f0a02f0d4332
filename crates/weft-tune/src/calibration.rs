//! The calibration: what this machine gives plain threads right now.
//!
//! A run shares a fixed amount of work between `threads` plain scoped threads (no pool):
//! [`CalibrationPlan::chunks`] chunks of the [`spin`] loop (`#[inline(never)]`, so every
//! thread runs the same machine code), handed out by one atomic counter, so a thread that
//! gets less of a core simply takes fewer chunks: balancing at no cost, the best a pool can
//! hope for. Its speed-up over one plain thread, measured in the same rounds as the pool
//! sizes, is the limit the pool sizes are shown against.

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::workloads::spin::spin;

/// How much work one calibration run shares out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CalibrationPlan {
    /// Chunks per run.
    pub(crate) chunks: usize,
    /// Rounds of [`spin`] per chunk.
    pub(crate) rounds_per_chunk: u64,
}

/// Chunks per thread at the largest thread count: enough for the counter to even out a
/// thread that is slowed down.
const CHUNKS_PER_THREAD: usize = 32;

/// The shortest and longest calibration run on one thread.
const SHORTEST: Duration = Duration::from_millis(10);
const LONGEST: Duration = Duration::from_millis(250);

impl CalibrationPlan {
    /// A plan whose one-thread run takes about `target` (clamped to 10-250 ms) on this
    /// machine, for thread counts up to `max_threads`.
    pub(crate) fn for_duration(target: Duration, max_threads: usize) -> CalibrationPlan {
        let target = target.clamp(SHORTEST, LONGEST);
        let chunks = (CHUNKS_PER_THREAD * max_threads.max(1)).max(64);
        let rounds = (rounds_per_sec() * target.as_secs_f64()) as u64;
        CalibrationPlan {
            chunks,
            rounds_per_chunk: (rounds / chunks as u64).max(1),
        }
    }

    /// Runs the plan on `threads` plain threads; returns the wall-clock time from the
    /// moment they were all started to the end of the last chunk.
    pub(crate) fn run(&self, threads: usize) -> Duration {
        let next = AtomicUsize::new(0);
        let start = Barrier::new(threads + 1);
        let (chunks, rounds) = (self.chunks, self.rounds_per_chunk);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        let mut checksum = 0u64;
                        loop {
                            // ORDERING: the counter only hands out distinct chunk indices;
                            // nothing else is published through it (the checksums come
                            // back through `join`), so Relaxed suffices.
                            let chunk = next.fetch_add(1, Ordering::Relaxed);
                            if chunk >= chunks {
                                break checksum;
                            }
                            checksum ^= spin(rounds, chunk as u64);
                        }
                    })
                })
                .collect();
            start.wait();
            let began = Instant::now();
            let checksum = workers
                .into_iter()
                .map(|worker| worker.join().expect("a calibration thread panicked"))
                .fold(0, |acc, x| acc ^ x);
            black_box(checksum);
            began.elapsed()
        })
    }
}

/// Rounds of [`spin`] per second on one thread of this machine, the fastest of a few short
/// tries (so a preemption does not slow the estimate down).
pub(crate) fn rounds_per_sec() -> f64 {
    const PROBE: u64 = 200_000;
    let fastest = (0..5)
        .map(|_| {
            let start = Instant::now();
            black_box(spin(PROBE, 1));
            start.elapsed()
        })
        .min()
        .expect("five tries");
    PROBE as f64 / fastest.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_hands_out_every_chunk_whatever_the_thread_count() {
        let plan = CalibrationPlan {
            chunks: 64,
            rounds_per_chunk: 1000,
        };
        for threads in [1, 2, 3, 8] {
            assert!(plan.run(threads) > Duration::ZERO, "{threads} threads");
        }
    }

    #[test]
    fn plans_are_clamped_and_split_into_chunks() {
        let short = CalibrationPlan::for_duration(Duration::ZERO, 2);
        let long = CalibrationPlan::for_duration(Duration::from_secs(60), 2);
        assert_eq!(short.chunks, 64);
        assert!(long.rounds_per_chunk > short.rounds_per_chunk);
        assert_eq!(CalibrationPlan::for_duration(SHORTEST, 16).chunks, 512);
    }
}
