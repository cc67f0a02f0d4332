//! [`Sweep`]: time a workload on pools of several sizes and summarise it in a [`Report`].

use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

use weft::{BuildError, ThreadPool};

use crate::cpu::CpuTimes;
use crate::report::{Machine, Measurement, Report, SizeResult};
use crate::stats::{DEFAULT_TOLERANCE, Timing, recommend};

/// The largest pool a sweep builds.
pub const MAX_THREADS: usize = 1024;

/// One timed run: wall-clock time, CPU time and the workload's result.
type Measured<R> = (Duration, CpuTimes, R);
type MeasureFn<'a, R> = Box<dyn FnMut(&ThreadPool) -> Measured<R> + 'a>;
type SequentialFn<'a> = Box<dyn FnMut() -> (Duration, CpuTimes) + 'a>;
type CheckFn<'a, R> = Box<dyn FnMut(R) -> Result<(), String> + 'a>;
type ProgressFn<'a> = Box<dyn FnMut(&Progress) + 'a>;

/// A pool-size sweep: runs a workload on pools of several sizes (after warm-up runs,
/// several timed runs each) and reports medians, spreads, throughput, speed-up, efficiency,
/// CPU time and the recommended size.
///
/// ```
/// use weft::ThreadPool;
///
/// let report = weft_tune::Sweep::new(|pool: &ThreadPool| {
///     pool.map(0..10_000u64, |x| x * x).iter().sum::<u64>()
/// })
/// .name("squares")
/// .items(10_000, "numbers")
/// .sizes(1..=2)
/// .runs(3)
/// .run();
///
/// assert_eq!(report.sizes.len(), 2);
/// println!("{report}"); // the table
/// println!("use {} threads: {}", report.recommendation.threads, report.recommendation.reason);
/// ```
///
/// # What is timed
///
/// The work closure's call, nothing else: building the pool, [`with_input`](Self::with_input)'s
/// setup, dropping the result and [`check`](Self::check) happen outside the timed span. CPU
/// time is the whole process's (every thread), read from `/proc/self/stat` around the same
/// span, to 10 ms per reading; the report gives its average per run.
///
/// Sizes run one after another, each on a fresh pool: warm-up runs, then the timed runs. A
/// pool of one thread is always measured, as the reference for speed-up and efficiency,
/// even when 1 is not among the sizes.
pub struct Sweep<'a, R = ()> {
    name: String,
    description: String,
    measure: MeasureFn<'a, R>,
    check: Option<CheckFn<'a, R>>,
    sequential: Option<SequentialFn<'a>>,
    sizes: Vec<usize>,
    warmup: usize,
    runs: usize,
    items: Option<(u64, String)>,
    tolerance: f64,
    progress: Option<ProgressFn<'a>>,
}

impl<R> fmt::Debug for Sweep<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sweep")
            .field("name", &self.name)
            .field("sizes", &self.sizes)
            .field("warmup", &self.warmup)
            .field("runs", &self.runs)
            .field("items", &self.items)
            .field("tolerance", &self.tolerance)
            .field("sequential", &self.sequential.is_some())
            .field("check", &self.check.is_some())
            .finish_non_exhaustive()
    }
}

/// Where a running sweep is, for a progress display ([`Sweep::on_progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Runs finished so far (warm-up and timed).
    pub done: usize,
    /// Runs in the whole sweep.
    pub total: usize,
    /// What runs next (`"2 threads: run 3/5"`), or `"done"`.
    pub label: String,
}

/// Why a sweep could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum SweepError {
    /// No pool sizes were given.
    NoSizes,
    /// A pool size of 0 was given: a pool has at least one thread.
    ZeroThreads,
    /// A pool size above [`MAX_THREADS`] was given.
    TooManyThreads(usize),
    /// `runs(0)`: there would be nothing to report.
    ZeroRuns,
    /// A pool could not be built.
    Pool {
        /// The size asked for.
        threads: usize,
        /// What the pool builder said.
        source: BuildError,
    },
    /// The [`check`](Sweep::check) rejected a result.
    Check {
        /// The pool size of the run.
        threads: usize,
        /// What the check said.
        message: String,
    },
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::NoSizes => f.write_str("no pool sizes to sweep"),
            SweepError::ZeroThreads => {
                f.write_str("pool size 0 is not a pool: sizes start at 1 thread")
            }
            SweepError::TooManyThreads(threads) => write!(
                f,
                "pool size {threads} is too large: at most {MAX_THREADS} threads"
            ),
            SweepError::ZeroRuns => f.write_str("0 timed runs: at least 1 is needed"),
            SweepError::Pool { threads, source } => {
                write!(f, "cannot build a pool of {threads} threads: {source}")
            }
            SweepError::Check { threads, message } => {
                let plural = if *threads == 1 { "" } else { "s" };
                write!(f, "wrong result with {threads} thread{plural}: {message}")
            }
        }
    }
}

impl std::error::Error for SweepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SweepError::Pool { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Times `work` alone and reads the process's CPU time around it.
fn timed<T>(work: impl FnOnce() -> T) -> (Duration, CpuTimes, T) {
    let cpu_before = CpuTimes::now();
    let start = Instant::now();
    let result = black_box(work());
    let wall = start.elapsed();
    let cpu = CpuTimes::now().since(cpu_before);
    (wall, cpu, result)
}

impl<'a> Sweep<'a> {
    /// A sweep of `work`, which is timed whole, called once per run with the pool of the
    /// size being measured. Its result goes through [`black_box`] so the work cannot be
    /// optimised away, and is dropped outside the timed span.
    ///
    /// The defaults: sizes `1..=2 x` logical cores, 1 warm-up run and 5 timed runs per
    /// size, no item count, no sequential baseline, 5% tolerance.
    pub fn new<R: 'a>(mut work: impl FnMut(&ThreadPool) -> R + 'a) -> Sweep<'a, R> {
        Sweep::from_measure(Box::new(move |pool| timed(|| work(pool))))
    }

    /// A sweep of a workload that needs a fresh input per run: `setup` makes it outside the
    /// timed span (a shuffled vector for a sort, say), `work` consumes it and is timed.
    ///
    /// ```
    /// let report = weft_tune::Sweep::with_input(
    ///     || (0..20_000u64).rev().collect::<Vec<_>>(),
    ///     |pool, mut keys| {
    ///         weft_tune::workloads::sort::par_sort(pool, &mut keys);
    ///         keys
    ///     },
    /// )
    /// .check(|keys| keys.is_sorted().then_some(()).ok_or_else(|| "not sorted".to_owned()))
    /// .sizes([1, 2])
    /// .runs(2)
    /// .run();
    /// assert_eq!(report.sizes[1].threads, 2);
    /// ```
    pub fn with_input<I: 'a, R: 'a>(
        mut setup: impl FnMut() -> I + 'a,
        mut work: impl FnMut(&ThreadPool, I) -> R + 'a,
    ) -> Sweep<'a, R> {
        Sweep::from_measure(Box::new(move |pool| {
            let input = setup();
            timed(|| work(pool, input))
        }))
    }
}

impl<'a, R: 'a> Sweep<'a, R> {
    fn from_measure(measure: MeasureFn<'a, R>) -> Sweep<'a, R> {
        let logical = num_cpus::get().max(1);
        Sweep {
            name: "custom".to_owned(),
            description: "a custom workload".to_owned(),
            measure,
            check: None,
            sequential: None,
            sizes: (1..=2 * logical).collect(),
            warmup: 1,
            runs: 5,
            items: None,
            tolerance: DEFAULT_TOLERANCE,
            progress: None,
        }
    }

    /// The workload's short name, for the report.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// What one run does, in a phrase, for the report.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The pool sizes to measure, e.g. `1..=8` or `[1, 2, 4, 8]`; sorted, duplicates removed.
    pub fn sizes(mut self, sizes: impl IntoIterator<Item = usize>) -> Self {
        self.sizes = sizes.into_iter().collect();
        self.sizes.sort_unstable();
        self.sizes.dedup();
        self
    }

    /// Timed runs per size (default 5).
    pub fn runs(mut self, runs: usize) -> Self {
        self.runs = runs;
        self
    }

    /// Untimed warm-up runs per size before the timed ones (default 1).
    pub fn warmup(mut self, warmup: usize) -> Self {
        self.warmup = warmup;
        self
    }

    /// How many items one run processes and what they are called (plural), for throughput
    /// in items per second. Without it, throughput is in runs per second.
    pub fn items(mut self, count: u64, unit: impl Into<String>) -> Self {
        self.items = Some((count, unit.into()));
        self
    }

    /// Plain sequential code doing the same work without a pool, timed whole, for the
    /// speed-up and efficiency "against sequential" columns.
    pub fn sequential<S>(mut self, mut work: impl FnMut() -> S + 'a) -> Self {
        self.sequential = Some(Box::new(move || {
            let (wall, cpu, result) = timed(&mut work);
            drop(result);
            (wall, cpu)
        }));
        self
    }

    /// Like [`sequential`](Self::sequential), with a fresh input per run made outside the
    /// timed span.
    pub fn sequential_with_input<I, S>(
        mut self,
        mut setup: impl FnMut() -> I + 'a,
        mut work: impl FnMut(I) -> S + 'a,
    ) -> Self {
        self.sequential = Some(Box::new(move || {
            let input = setup();
            let (wall, cpu, result) = timed(|| work(input));
            drop(result);
            (wall, cpu)
        }));
        self
    }

    /// Drops the sequential baseline set by [`sequential`](Self::sequential) (built-in
    /// workloads set one).
    pub fn without_sequential(mut self) -> Self {
        self.sequential = None;
        self
    }

    /// Checks every run's result (warm-up runs too), outside the timed span. An `Err`
    /// stops the sweep: [`try_run`](Self::try_run) returns [`SweepError::Check`].
    pub fn check(mut self, check: impl FnMut(R) -> Result<(), String> + 'a) -> Self {
        self.check = Some(Box::new(check));
        self
    }

    /// How close to the best median a smaller pool must come to be recommended instead
    /// (default 0.05: within 5%).
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Calls `progress` before every run and once more at the end (`done == total`).
    pub fn on_progress(mut self, progress: impl FnMut(&Progress) + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Runs (warm-up plus timed) the sweep will do in all.
    pub fn total_runs(&self) -> usize {
        let configs = self.sizes.len()
            + usize::from(!self.sizes.contains(&1))
            + usize::from(self.sequential.is_some());
        configs * (self.warmup + self.runs)
    }

    /// Runs the sweep.
    ///
    /// # Panics
    ///
    /// On any error [`try_run`](Self::try_run) would return, and if the workload panics.
    pub fn run(self) -> Report {
        self.try_run()
            .unwrap_or_else(|error| panic!("weft-tune: {error}"))
    }

    /// Runs the sweep.
    ///
    /// # Errors
    ///
    /// [`SweepError`] for sizes or runs that cannot work (checked before anything runs), a
    /// pool that cannot be built, or a result the [`check`](Self::check) rejected.
    ///
    /// # Panics
    ///
    /// If the workload panics.
    pub fn try_run(mut self) -> Result<Report, SweepError> {
        self.validate()?;
        let total = self.total_runs();
        let mut done = 0;
        let sequential = match self.sequential.take() {
            Some(mut work) => {
                let samples = self.repeat("sequential", &mut done, total, |_| {
                    let (wall, cpu) = work();
                    Ok((wall, cpu))
                })?;
                Some(samples)
            }
            None => None,
        };
        let mut measured = Vec::with_capacity(self.sizes.len() + 1);
        let mut sizes = self.sizes.clone();
        if !sizes.contains(&1) {
            sizes.insert(0, 1);
        }
        for &threads in &sizes {
            let pool = ThreadPool::builder()
                .num_threads(threads)
                .thread_name(|index| format!("weft-tune-{index}"))
                .build()
                .map_err(|source| SweepError::Pool { threads, source })?;
            let label = format!("{threads} thread{}", if threads == 1 { "" } else { "s" });
            let measurement = self.repeat(&label, &mut done, total, |sweep| {
                let (wall, cpu, result) = (sweep.measure)(&pool);
                if let Some(check) = sweep.check.as_mut() {
                    check(result).map_err(|message| SweepError::Check { threads, message })?;
                } else {
                    drop(result);
                }
                Ok((wall, cpu))
            })?;
            pool.shutdown();
            measured.push((threads, measurement));
        }
        if let Some(progress) = self.progress.as_mut() {
            progress(&Progress {
                done,
                total,
                label: "done".to_owned(),
            });
        }
        Ok(self.report(sequential, measured))
    }

    fn validate(&self) -> Result<(), SweepError> {
        // `sizes` is sorted: the first is the smallest, the last the largest.
        let (Some(&smallest), Some(&largest)) = (self.sizes.first(), self.sizes.last()) else {
            return Err(SweepError::NoSizes);
        };
        if smallest == 0 {
            Err(SweepError::ZeroThreads)
        } else if largest > MAX_THREADS {
            Err(SweepError::TooManyThreads(largest))
        } else if self.runs == 0 {
            Err(SweepError::ZeroRuns)
        } else {
            Ok(())
        }
    }

    /// Warm-up runs, then timed runs of one configuration.
    fn repeat(
        &mut self,
        label: &str,
        done: &mut usize,
        total: usize,
        mut run: impl FnMut(&mut Self) -> Result<(Duration, CpuTimes), SweepError>,
    ) -> Result<Measurement, SweepError> {
        let mut samples = Vec::with_capacity(self.runs);
        let mut cpu = CpuTimes::default();
        for index in 0..self.warmup + self.runs {
            if let Some(progress) = self.progress.as_mut() {
                let what = if index < self.warmup {
                    "warm-up".to_owned()
                } else {
                    format!("run {}/{}", index - self.warmup + 1, self.runs)
                };
                progress(&Progress {
                    done: *done,
                    total,
                    label: format!("{label}: {what}"),
                });
            }
            let (wall, run_cpu) = run(self)?;
            *done += 1;
            if index >= self.warmup {
                samples.push(wall.as_secs_f64());
                cpu = cpu.add(run_cpu);
            }
        }
        let runs = self.runs as f64;
        Ok(Measurement {
            timing: Timing::from_secs(samples),
            cpu_user_secs: cpu.user.as_secs_f64() / runs,
            cpu_system_secs: cpu.system.as_secs_f64() / runs,
        })
    }

    fn report(
        self,
        sequential: Option<Measurement>,
        measured: Vec<(usize, Measurement)>,
    ) -> Report {
        let one_thread = measured
            .iter()
            .find(|(threads, _)| *threads == 1)
            .map(|(_, measurement)| measurement.clone())
            .expect("a one-thread pool is always measured");
        let (items_per_run, item_unit) = match self.items {
            Some((count, unit)) => (Some(count), unit),
            None => (None, "runs".to_owned()),
        };
        let sizes: Vec<SizeResult> = measured
            .into_iter()
            .filter(|(threads, _)| self.sizes.contains(threads))
            .map(|(threads, measurement)| {
                let median = measurement.timing.median_secs;
                let speedup_vs_one_thread = one_thread.timing.median_secs / median;
                let speedup_vs_sequential = sequential
                    .as_ref()
                    .map(|sequential| sequential.timing.median_secs / median);
                SizeResult {
                    threads,
                    throughput_per_sec: items_per_run.unwrap_or(1) as f64 / median,
                    speedup_vs_one_thread,
                    efficiency_vs_one_thread: speedup_vs_one_thread / threads as f64,
                    speedup_vs_sequential,
                    efficiency_vs_sequential: speedup_vs_sequential
                        .map(|speedup| speedup / threads as f64),
                    measurement,
                }
            })
            .collect();
        let medians: Vec<(usize, f64)> = sizes
            .iter()
            .map(|size| (size.threads, size.measurement.timing.median_secs))
            .collect();
        let recommendation =
            recommend(&medians, self.tolerance).expect("validate() ensured at least one size");
        Report {
            workload: self.name,
            description: self.description,
            machine: Machine::current(),
            warmup_runs: self.warmup,
            runs: self.runs,
            items_per_run,
            item_unit,
            cpu_times_available: CpuTimes::available(),
            sequential,
            one_thread,
            sizes,
            recommendation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trivial<'a>() -> Sweep<'a, u64> {
        Sweep::new(|pool: &ThreadPool| pool.install(|| 1u64))
            .runs(1)
            .warmup(0)
    }

    #[test]
    fn bad_settings_are_refused_before_anything_runs() {
        assert!(matches!(
            trivial().sizes([]).try_run(),
            Err(SweepError::NoSizes)
        ));
        assert!(matches!(
            trivial().sizes([0, 1]).try_run(),
            Err(SweepError::ZeroThreads)
        ));
        assert!(matches!(
            trivial().sizes([MAX_THREADS + 1]).try_run(),
            Err(SweepError::TooManyThreads(_))
        ));
        assert!(matches!(
            trivial().sizes([1]).runs(0).try_run(),
            Err(SweepError::ZeroRuns)
        ));
    }

    #[test]
    fn a_rejected_result_stops_the_sweep_with_the_check_message() {
        let error = trivial()
            .sizes([1, 2])
            .check(|value| Err(format!("got {value}")))
            .try_run()
            .unwrap_err();
        assert_eq!(error.to_string(), "wrong result with 1 thread: got 1");
    }

    #[test]
    fn one_thread_is_measured_as_the_reference_even_when_not_asked_for() {
        let mut runs = 0;
        let report = Sweep::new(|pool: &ThreadPool| {
            runs += 1;
            pool.num_threads()
        })
        .sizes([2])
        .runs(2)
        .warmup(1)
        .run();
        assert_eq!(
            runs, 6,
            "(1 warm-up + 2 runs) x (size 2 + the 1-thread reference)"
        );
        assert_eq!(report.sizes.len(), 1);
        assert_eq!(report.sizes[0].threads, 2);
        assert_eq!(report.one_thread.timing.samples_secs.len(), 2);
    }

    #[test]
    fn progress_counts_every_run_and_ends_with_done() {
        let mut seen = Vec::new();
        let sweep = trivial().sizes([1, 2]).runs(2).warmup(1).sequential(|| 1);
        let total = sweep.total_runs();
        sweep
            .on_progress(|progress| seen.push(progress.clone()))
            .run();
        assert_eq!(total, 9, "3 configurations x 3 runs");
        assert_eq!(seen.len(), total + 1);
        assert_eq!(seen[0].label, "sequential: warm-up");
        let last = seen.last().unwrap();
        assert_eq!((last.done, last.total, last.label.as_str()), (9, 9, "done"));
    }

    #[test]
    fn speedups_and_efficiencies_follow_from_the_medians() {
        let report = trivial().sizes([1, 2]).runs(3).sequential(|| 1).run();
        let two = report.size(2).unwrap();
        let expected = report.one_thread.timing.median_secs / two.measurement.timing.median_secs;
        assert!((two.speedup_vs_one_thread - expected).abs() < 1e-12);
        assert!((two.efficiency_vs_one_thread - expected / 2.0).abs() < 1e-12);
        assert!(two.speedup_vs_sequential.is_some());
        assert_eq!(report.size(1).unwrap().speedup_vs_one_thread, 1.0);
    }
}
