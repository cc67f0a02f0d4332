//! `spin`: jobs of a chosen length, to find the break-even job size. Each job spins a
//! calibrated number of rounds of a black-boxed loop, about `job_us` microseconds of work on
//! one core of this machine, whatever the pool size (a job measured by the clock would
//! shrink when threads outnumber cores).
//!
//! Compare the "vs sequential" speed-up across `--job-us` values: where it stays below
//! 1.0 the jobs are too small for the pool to pay off.
//!
//! ```
//! use weft_tune::workloads::spin::Spin;
//!
//! let spin = Spin::calibrate(5);
//! let pool = weft::ThreadPool::new(2).unwrap();
//! assert_eq!(spin.run_jobs(&pool, 100), spin.run_sequential(100));
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use weft::ThreadPool;

use crate::sweep::Sweep;

/// The default job length in microseconds.
pub const DEFAULT_JOB_US: u64 = 50;

/// The default sequential duration of one run, to derive the job count from the job size.
const DEFAULT_RUN: Duration = Duration::from_millis(400);

/// A calibrated spin job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spin {
    /// Loop rounds per job.
    pub rounds: u64,
    /// The job length asked for, in microseconds.
    pub job_us: u64,
}

/// One job: `rounds` rounds of a loop the compiler cannot shorten; returns a checksum.
pub fn spin(rounds: u64, seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..rounds {
        x = black_box(x ^ (x << 13));
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

impl Spin {
    /// Measures how many rounds of [`spin`] take `job_us` microseconds on the calling thread
    /// (the fastest of several tries, so a preemption does not inflate it).
    pub fn calibrate(job_us: u64) -> Spin {
        const PROBE: u64 = 200_000;
        let fastest = (0..7)
            .map(|_| {
                let start = Instant::now();
                black_box(spin(PROBE, 1));
                start.elapsed()
            })
            .min()
            .expect("seven tries");
        let rounds_per_us = PROBE as f64 / fastest.as_secs_f64().max(1e-9) / 1e6;
        Spin {
            rounds: ((rounds_per_us * job_us as f64).round() as u64).max(1),
            job_us,
        }
    }

    /// A job count that makes one run about 0.4 s of sequential work.
    pub fn default_jobs(&self) -> u64 {
        (DEFAULT_RUN.as_micros() as u64 / self.job_us.max(1)).clamp(16, 1_000_000)
    }

    /// Spawns `jobs` spin jobs from outside the pool, then joins them all; returns the
    /// combined checksum.
    ///
    /// # Panics
    ///
    /// If a job fails (they cannot).
    pub fn run_jobs(&self, pool: &ThreadPool, jobs: u64) -> u64 {
        let rounds = self.rounds;
        let handles: Vec<_> = (0..jobs)
            .map(|seed| pool.spawn(move || spin(rounds, seed)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a spin job failed"))
            .fold(0, |acc, x| acc ^ x)
    }

    /// The same jobs, one after another on the calling thread.
    pub fn run_sequential(&self, jobs: u64) -> u64 {
        (0..jobs)
            .map(|seed| spin(self.rounds, seed))
            .fold(0, |acc, x| acc ^ x)
    }

    /// The built-in `spin` sweep: [`run_jobs`](Self::run_jobs) of `jobs` jobs.
    pub fn sweep<'a>(self, jobs: u64) -> Sweep<'a, u64> {
        let want = self.run_sequential(jobs);
        Sweep::new(move |pool| self.run_jobs(pool, jobs))
            .name("spin")
            .description(format!(
                "{} jobs of about {} us each ({} spin rounds), spawned from outside, then joined",
                super::group_digits(jobs),
                self.job_us,
                super::group_digits(self.rounds),
            ))
            .items(jobs, "jobs")
            .sequential(move || self.run_sequential(jobs))
            .check(move |checksum| {
                if checksum == want {
                    Ok(())
                } else {
                    Err(format!("checksum {checksum:#x}, expected {want:#x}"))
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_gives_more_rounds_to_longer_jobs() {
        let short = Spin::calibrate(1);
        let long = Spin::calibrate(1000);
        assert!(short.rounds >= 1);
        assert!(long.rounds > short.rounds, "{short:?} {long:?}");
    }

    #[test]
    fn pool_and_sequential_jobs_agree() {
        let spin = Spin {
            rounds: 100,
            job_us: 1,
        };
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(spin.run_jobs(&pool, 500), spin.run_sequential(500));
    }

    #[test]
    fn default_job_counts_stay_in_bounds() {
        assert_eq!(
            Spin {
                rounds: 1,
                job_us: 100
            }
            .default_jobs(),
            4000
        );
        assert_eq!(
            Spin {
                rounds: 1,
                job_us: 0
            }
            .default_jobs(),
            400_000
        );
        assert_eq!(
            Spin {
                rounds: 1,
                job_us: 1_000_000
            }
            .default_jobs(),
            16
        );
    }
}
