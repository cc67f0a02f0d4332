//! `spin`: jobs of chosen lengths, to find the break-even job size. Each job spins a
//! calibrated number of rounds of [`spin`], an `#[inline(never)]` loop, about `job_us`
//! microseconds of work on one core of this machine, whatever the pool size (a job measured
//! by the clock would shrink when threads outnumber cores).
//!
//! [`job_size_sweep`] sweeps several job sizes in the same rounds, a series each; the
//! report's break-even is the smallest job size from which on the pool runs the jobs
//! faster than one thread running them in place.
//!
//! ```
//! use weft_tune::workloads::spin::Spin;
//!
//! let spin = Spin::calibrate(5);
//! let pool = weft::ThreadPool::new(2).unwrap();
//! assert_eq!(spin.run_jobs(&pool, 100), spin.run_sequential(100));
//! ```

use std::hint::black_box;
use std::time::Duration;

use weft::ThreadPool;

use crate::sweep::Sweep;

/// The default job sizes in microseconds.
pub const DEFAULT_JOB_US: [u64; 4] = [1, 10, 100, 1000];

/// The default sequential duration of one run of every job size together; each job size's
/// job count comes from its share of it.
pub const DEFAULT_RUN: Duration = Duration::from_millis(400);

/// The shortest default run of one job size.
const SHORTEST_RUN: Duration = Duration::from_millis(100);

/// A calibrated spin job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spin {
    /// Loop rounds per job.
    pub rounds: u64,
    /// The job length asked for, in microseconds.
    pub job_us: u64,
}

/// One job: `rounds` rounds of a xorshift loop the compiler cannot shorten; returns a
/// checksum. Never inlined: the jobs, the sequential baseline and the tuner's calibration
/// run this one piece of machine code.
#[inline(never)]
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
        let rounds_per_us = crate::calibration::rounds_per_sec() / 1e6;
        Spin {
            rounds: ((rounds_per_us * job_us as f64).round() as u64).max(1),
            job_us,
        }
    }

    /// A job count that makes one run about `run` of sequential work (16 to 1,000,000 jobs).
    pub fn jobs_for(&self, run: Duration) -> u64 {
        (run.as_micros() as u64 / self.job_us.max(1)).clamp(16, 1_000_000)
    }

    /// A job count that makes one run about 0.4 s of sequential work.
    pub fn default_jobs(&self) -> u64 {
        self.jobs_for(DEFAULT_RUN)
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

    /// The sweep of one job size: [`run_jobs`](Self::run_jobs) of `jobs` jobs, against
    /// the same jobs run in place.
    pub fn sweep<'a>(self, jobs: u64) -> Sweep<'a, u64> {
        let description = format!(
            "{} jobs of about {} us each ({} spin rounds), spawned from outside, then joined",
            crate::units::group_digits(jobs),
            self.job_us,
            crate::units::group_digits(self.rounds),
        );
        super::checked_sweep(
            "spin",
            description,
            (jobs, "jobs"),
            move |pool| self.run_jobs(pool, jobs),
            move || self.run_sequential(jobs),
            (self.run_sequential(jobs), "the checksum".to_owned()),
        )
        .label(format!("{} us jobs", self.job_us))
        .job_us(self.job_us)
    }
}

/// The built-in `spin` sweep: one series per job size in `job_us` (microseconds), each of
/// `jobs` jobs, or by default as many as make its runs its share of 0.4 s of sequential
/// work (at least 0.1 s). With two or more job sizes the report has the break-even.
///
/// # Panics
///
/// If `job_us` is empty.
pub fn job_size_sweep<'a>(job_us: &[u64], jobs: Option<u64>) -> Sweep<'a, u64> {
    assert!(!job_us.is_empty(), "at least one job size");
    let share = (DEFAULT_RUN / job_us.len() as u32).max(SHORTEST_RUN);
    let mut sizes = job_us.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    let series = sizes.iter().map(|&us| {
        let spin = Spin::calibrate(us);
        spin.sweep(jobs.unwrap_or_else(|| spin.jobs_for(share)))
    });
    let mut series = series.collect::<Vec<_>>().into_iter();
    let first = series.next().expect("at least one job size");
    let listed: Vec<String> = sizes.iter().map(u64::to_string).collect();
    let description = if sizes.len() == 1 {
        None
    } else {
        Some(format!(
            "jobs of {} us, spawned from outside, then joined; the jobs run in place as the \
             sequential baseline",
            listed.join(", ")
        ))
    };
    let mut sweep = series.fold(first, Sweep::with_series);
    if let Some(description) = description {
        sweep = sweep.summary(description);
    }
    sweep
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
        let spin = |job_us| Spin { rounds: 1, job_us };
        assert_eq!(spin(100).default_jobs(), 4000);
        assert_eq!(spin(0).default_jobs(), 400_000);
        assert_eq!(spin(1_000_000).default_jobs(), 16);
        assert_eq!(spin(10).jobs_for(Duration::from_millis(100)), 10_000);
    }

    #[test]
    fn a_job_size_sweep_has_a_series_per_job_size_and_a_break_even() {
        let report = job_size_sweep(&[50, 2], Some(40))
            .sizes([1, 2])
            .runs(2)
            .warmup(0)
            .without_calibration()
            .run();
        let job_sizes: Vec<Option<u64>> = report.series.iter().map(|s| s.job_us).collect();
        assert_eq!(job_sizes, [Some(2), Some(50)]);
        assert!(
            report.description.contains("jobs of 2, 50 us"),
            "{}",
            report.description
        );
        assert!(report.series[0].description.contains("about 2 us each"));
        assert!(report.series[1].description.contains("about 50 us each"));
        assert!(report.series.iter().all(|s| s.sequential.is_some()));
        let break_even = report.break_even.unwrap();
        assert_eq!(break_even.job_sizes.len(), 2);
        assert!(!break_even.reason.is_empty());
    }
}
