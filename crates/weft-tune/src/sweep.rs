//! [`Sweep`]: what to time, on which pool sizes, how often; the engine
//! (`engine.rs`) times it and summarises it in a [`Report`].

use std::ffi::OsString;
use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

use weft::{BuildError, ThreadPool};

use crate::cpu::CpuTimes;
use crate::engine::{self, RunTimes, SeriesSpec, SeriesWork, Settings};
use crate::process::CommandSpec;
use crate::report::Report;
use crate::stats::DEFAULT_TOLERANCE_PERCENT;

/// The largest pool a sweep builds.
pub const MAX_THREADS: usize = weft::MAX_THREADS;

/// How long one run of a command may take by default ([`Sweep::timeout`]).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// One timed run: wall-clock time, CPU time and the workload's result.
type Measured<R> = (Duration, CpuTimes, R);
type MeasureFn<'a, R> = Box<dyn FnMut(&ThreadPool) -> Measured<R> + 'a>;
type SequentialFn<'a> = Box<dyn FnMut() -> RunTimes + 'a>;
type CheckFn<'a, R> = Box<dyn FnMut(R) -> Result<(), String> + 'a>;
pub(crate) type ProgressFn<'a> = Box<dyn FnMut(&Progress) + 'a>;

/// What a sweep times for each pool size.
enum Work<'a, R> {
    /// A closure, called with a fresh pool of the size.
    Pool(MeasureFn<'a, R>),
    /// A program, run with `WEFT_NUM_THREADS` set to the size.
    Command(CommandSpec),
}

/// A pool-size sweep: times a workload on pools of several sizes and reports medians,
/// spreads, throughput, speed-ups with confidence intervals, efficiency, CPU time, the
/// machine's limit and the recommended size.
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
/// assert_eq!(report.primary().sizes.len(), 2);
/// println!("{report}"); // the table
/// let pick = report.recommendation();
/// println!("use {} threads: {}", pick.threads, pick.reason);
/// ```
///
/// # How it times
///
/// The runs go in rounds: every round runs each configuration once (every pool size, the
/// one-thread reference, the sequential code, the calibration), in a freshly shuffled
/// order, so a change in the machine's speed during the sweep hits every size alike.
/// Warm-up rounds come first and are not timed. Speed-ups are medians of per-round ratios
/// (the reference's time in a round over the size's time in the same round), each with a
/// bootstrap interval; the recommendation is the smallest size whose interval overlaps the
/// best size's ([`recommend`](crate::recommend)).
///
/// Each run gets a fresh pool, built (and every worker started) before the timed span and
/// shut down after it. The timed span is the work closure's call and nothing else:
/// [`with_input`](Self::with_input)'s setup, dropping the result and
/// [`check`](Self::check) happen outside it. CPU time is the whole process's (every
/// thread), read from `/proc/self/stat` around the same span, to 10 ms per reading; the
/// report gives its average per run. A pool of one thread is always measured, as the
/// reference, even when 1 is not among the sizes.
///
/// The calibration ([`without_calibration`](Self::without_calibration) turns it off):
/// plain scoped threads, no pool, share a fixed amount of an `#[inline(never)]` loop,
/// 1 thread and up to the logical core count, in the same rounds. What they reach is the
/// machine's limit right now; each size is shown against it, and a limit short of the core
/// count is reported as contention.
pub struct Sweep<'a, R = ()> {
    name: String,
    description: String,
    summary: Option<String>,
    label: Option<String>,
    job_us: Option<u64>,
    work: Work<'a, R>,
    check: Option<CheckFn<'a, R>>,
    sequential: Option<SequentialFn<'a>>,
    items: Option<(u64, String)>,
    more: Vec<SeriesSpec<'a>>,
    sizes: Vec<usize>,
    warmup: usize,
    runs: usize,
    tolerance_percent: f64,
    calibrate: bool,
    pin: bool,
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
            .field("tolerance_percent", &self.tolerance_percent)
            .field("sequential", &self.sequential.is_some())
            .field("check", &self.check.is_some())
            .field("series", &(1 + self.more.len()))
            .finish_non_exhaustive()
    }
}

/// Where a running sweep is, for a progress display ([`Sweep::on_progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// What happened: a run is about to start, a round ended, or the sweep is done.
    pub event: ProgressEvent,
    /// Runs finished so far (warm-up and timed).
    pub done: usize,
    /// Runs in the whole sweep.
    pub total: usize,
    /// The round under way (or just ended), from 1.
    pub round: usize,
    /// Rounds in the whole sweep, warm-up included.
    pub rounds: usize,
    /// Whether that round is a warm-up round (not timed).
    pub warmup: bool,
    /// What runs next (`"2 threads"`), or what ended.
    pub label: String,
    /// Time since the sweep started.
    pub elapsed: Duration,
    /// The time still to go, estimated from the last run of every configuration; `None`
    /// until each has run once.
    pub eta: Option<Duration>,
}

/// What a [`Progress`] report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressEvent {
    /// A run is about to start.
    Run,
    /// A round just ended.
    RoundDone,
    /// The sweep is done (`done == total`).
    Done,
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
    /// The command of [`Sweep::command`] could not be started.
    CommandSpawn {
        /// The command line.
        command: String,
        /// What the system said.
        message: String,
    },
    /// The command exited unsuccessfully.
    CommandFailed {
        /// The command line.
        command: String,
        /// The pool size it was given.
        threads: usize,
        /// How it exited (`exit status: 1`, `signal: 9 (SIGKILL)`).
        status: String,
        /// The last line it wrote to stderr, if any.
        last_stderr_line: Option<String>,
    },
    /// [`Sweep::pin`] was asked of a sweep of a command, whose pool the sweep does not build.
    PinnedCommand,
    /// The command ran longer than [`Sweep::timeout`] and was killed.
    CommandTimedOut {
        /// The command line.
        command: String,
        /// The pool size it was given.
        threads: usize,
        /// The timeout.
        timeout: Duration,
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
            SweepError::PinnedCommand => {
                f.write_str("pinning applies to pools the sweep builds; a command builds its own")
            }
            SweepError::CommandSpawn { command, message } => {
                write!(f, "cannot run '{command}': {message}")
            }
            SweepError::CommandFailed {
                command,
                threads,
                status,
                last_stderr_line,
            } => {
                write!(
                    f,
                    "'{command}' failed with {}={threads} ({status})",
                    weft::NUM_THREADS_ENV
                )?;
                match last_stderr_line {
                    Some(line) => write!(f, ": {line}"),
                    None => Ok(()),
                }
            }
            SweepError::CommandTimedOut {
                command,
                threads,
                timeout,
            } => write!(
                f,
                "'{command}' ran longer than {} s with {}={threads} and was stopped \
                 (raise --timeout)",
                timeout.as_secs_f64(),
                weft::NUM_THREADS_ENV
            ),
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
    /// A sweep of `work`, which is timed whole, called once per run with a fresh pool of
    /// the size being measured. Its result goes through [`black_box`] so the work cannot be
    /// optimised away, and is dropped outside the timed span.
    ///
    /// The defaults: sizes `1..=2 x` logical cores, 1 warm-up round and 10 timed rounds, no
    /// item count, no sequential baseline, the calibration on, 5% tolerance.
    pub fn new<R: 'a>(mut work: impl FnMut(&ThreadPool) -> R + 'a) -> Sweep<'a, R> {
        Sweep::from_work(Work::Pool(Box::new(move |pool| timed(|| work(pool)))))
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
    /// assert_eq!(report.primary().sizes[1].threads, 2);
    /// ```
    pub fn with_input<I: 'a, R: 'a>(
        mut setup: impl FnMut() -> I + 'a,
        mut work: impl FnMut(&ThreadPool, I) -> R + 'a,
    ) -> Sweep<'a, R> {
        Sweep::from_work(Work::Pool(Box::new(move |pool| {
            let input = setup();
            timed(|| work(pool, input))
        })))
    }

    /// A sweep of a program built on weft: each run starts `program args...` with the
    /// `WEFT_NUM_THREADS` environment variable set to the pool size (weft's default pool
    /// and its global pool honour it, as rayon's honour `RAYON_NUM_THREADS`) and times the
    /// whole process, from spawn to exit. The CPU time is the program's own.
    ///
    /// The program's stdin and stdout are closed to it (stdout goes to `/dev/null`); if it
    /// exits unsuccessfully, the sweep stops with [`SweepError::CommandFailed`] and the last
    /// line it wrote to stderr. A run longer than [`timeout`](Self::timeout) (default 10
    /// minutes) is killed and stops the sweep with [`SweepError::CommandTimedOut`].
    ///
    /// ```no_run
    /// let report = weft_tune::Sweep::command("./target/release/my-batch-job", ["input.csv"])
    ///     .sizes(1..=8)
    ///     .run();
    /// println!("{report}");
    /// ```
    pub fn command(
        program: impl Into<OsString>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Sweep<'a> {
        let spec = CommandSpec {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
        };
        let description = format!(
            "the program `{}`, run whole with {} set to the pool size",
            spec.display(),
            weft::NUM_THREADS_ENV
        );
        Sweep::from_work(Work::Command(spec))
            .name("exec")
            .description(description)
    }
}

impl<'a, R: 'a> Sweep<'a, R> {
    fn from_work(work: Work<'a, R>) -> Sweep<'a, R> {
        let logical = num_cpus::get().max(1);
        Sweep {
            name: "custom".to_owned(),
            description: "a custom workload".to_owned(),
            summary: None,
            label: None,
            job_us: None,
            work,
            check: None,
            sequential: None,
            items: None,
            more: Vec::new(),
            sizes: (1..=2 * logical).collect(),
            warmup: 1,
            runs: 10,
            tolerance_percent: DEFAULT_TOLERANCE_PERCENT,
            calibrate: true,
            pin: false,
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

    /// What the whole sweep does, for the report's heading, when it sweeps several series
    /// ([`with_series`](Self::with_series)); by default the first series' description.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// What tells this workload's series apart when several are swept together
    /// ([`with_series`](Self::with_series)); the name by default.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The length of one job of this workload in microseconds. A sweep whose series all
    /// carry a job size and a sequential baseline reports the break-even job size.
    pub fn job_us(mut self, job_us: u64) -> Self {
        self.job_us = Some(job_us);
        self
    }

    /// The pool sizes to measure, e.g. `1..=8` or `[1, 2, 4, 8]`; sorted, duplicates removed.
    pub fn sizes(mut self, sizes: impl IntoIterator<Item = usize>) -> Self {
        self.sizes = sizes.into_iter().collect();
        self.sizes.sort_unstable();
        self.sizes.dedup();
        self
    }

    /// Timed rounds (default 10): every configuration runs once per round.
    pub fn runs(mut self, runs: usize) -> Self {
        self.runs = runs;
        self
    }

    /// Untimed warm-up rounds before the timed ones (default 1).
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
    /// speed-up and efficiency "against sequential" columns. Let it run the same
    /// `#[inline(never)]` kernel as the pool's pieces: the same loop inlined into two
    /// callers can run at different speeds, and the sweep would measure the compiler.
    pub fn sequential<S>(mut self, mut work: impl FnMut() -> S + 'a) -> Self {
        self.sequential = Some(Box::new(move || {
            let (wall, cpu, result) = timed(&mut work);
            drop(result);
            RunTimes { wall, cpu }
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
            RunTimes { wall, cpu }
        }));
        self
    }

    /// Drops the sequential baseline set by [`sequential`](Self::sequential) (built-in
    /// workloads set one), in this series and every one added with
    /// [`with_series`](Self::with_series).
    pub fn without_sequential(mut self) -> Self {
        self.sequential = None;
        for series in &mut self.more {
            series.sequential = None;
        }
        self
    }

    /// Checks every run's result (warm-up runs too), outside the timed span. An `Err`
    /// stops the sweep: [`try_run`](Self::try_run) returns [`SweepError::Check`].
    pub fn check(mut self, check: impl FnMut(R) -> Result<(), String> + 'a) -> Self {
        self.check = Some(Box::new(check));
        self
    }

    /// How much slower than the best size a smaller one may be and still be recommended,
    /// in percent (default 5): a size's speed-up interval, its upper end raised by this
    /// much, must reach the best size's interval.
    pub fn tolerance_percent(mut self, percent: f64) -> Self {
        self.tolerance_percent = percent;
        self
    }

    /// For a [`command`](Sweep::command) sweep: how long one run may take before it is
    /// killed (default [`DEFAULT_COMMAND_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        if let Work::Command(spec) = &mut self.work {
            spec.timeout = timeout;
        }
        self
    }

    /// Leaves out the calibration (plain threads on a fixed loop): a faster sweep, without
    /// the machine's limit and the contention warning that comes from it.
    pub fn without_calibration(mut self) -> Self {
        self.calibrate = false;
        self
    }

    /// With `true`, times every pool size twice in each round: as usual, and with each worker
    /// pinned to a CPU (`ThreadPoolBuilder::pin_threads(true)`: worker `i` on the `i`-th CPU
    /// this process may use, wrapping). The report gets a pinned series beside each
    /// unpinned one, with each pinned size's speed-up over its unpinned twin. A
    /// [`command`](Sweep::command) builds its own pool and cannot be pinned:
    /// [`SweepError::PinnedCommand`].
    pub fn pin(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// Sweeps `other` together with this workload, as a series of its own, in the same
    /// rounds: its work, sequential code, check, item count, label and job size come from
    /// `other`; sizes, runs, warm-up, tolerance and progress from `self`.
    ///
    /// ```
    /// use weft_tune::workloads::spin::Spin;
    ///
    /// let short = Spin { rounds: 50, job_us: 1 };
    /// let long = Spin { rounds: 5_000, job_us: 100 };
    /// let report = short.sweep(200).with_series(long.sweep(20)).sizes([1, 2]).runs(2).run();
    /// assert_eq!(report.series.len(), 2);
    /// assert!(report.break_even.is_some());
    /// ```
    pub fn with_series<R2: 'a>(mut self, other: Sweep<'a, R2>) -> Self {
        let (spec, more) = other.into_specs();
        self.more.push(spec);
        self.more.extend(more);
        self
    }

    /// Calls `progress` before every run, after every round and once at the end.
    pub fn on_progress(mut self, progress: impl FnMut(&Progress) + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Runs (warm-up plus timed) the sweep will do in all.
    pub fn total_runs(&self) -> usize {
        self.settings().contender_count(&self.series_shapes()) * (self.warmup + self.runs)
    }

    /// Runs the workload once on `pool` (each series once, if there are several) and
    /// checks the result: what `weft-tune --once` does with weft's default pool. For a
    /// command, `pool`'s size is the `WEFT_NUM_THREADS` it gets. Returns the time of each
    /// series' run.
    ///
    /// # Errors
    ///
    /// [`SweepError::Check`] if the check rejects the result; the command errors for a
    /// [`command`](Sweep::command).
    pub fn run_once(self, pool: &ThreadPool) -> Result<Vec<Duration>, SweepError> {
        let (first, more) = self.into_specs();
        std::iter::once(first)
            .chain(more)
            .map(|mut series| engine::run_series_once(&mut series, pool).map(|run| run.wall))
            .collect()
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
    /// pool that cannot be built, a result the [`check`](Self::check) rejected, or a
    /// command that failed.
    ///
    /// # Panics
    ///
    /// If the workload panics.
    pub fn try_run(mut self) -> Result<Report, SweepError> {
        let settings = self.settings();
        let progress = self.progress.take();
        let (first, more) = self.into_specs();
        let mut series = vec![first];
        series.extend(more);
        engine::run(settings, series, progress)
    }

    fn settings(&self) -> Settings {
        Settings {
            name: self.name.clone(),
            description: self
                .summary
                .clone()
                .unwrap_or_else(|| self.description.clone()),
            item_unit: self
                .items
                .as_ref()
                .map_or_else(|| "runs".to_owned(), |(_, unit)| unit.clone()),
            sizes: self.sizes.clone(),
            warmup: self.warmup,
            runs: self.runs,
            tolerance_percent: self.tolerance_percent,
            calibrate: self.calibrate,
            pin: self.pin,
        }
    }

    /// For each series: whether it has a sequential baseline.
    fn series_shapes(&self) -> Vec<bool> {
        std::iter::once(self.sequential.is_some())
            .chain(self.more.iter().map(|series| series.sequential.is_some()))
            .collect()
    }

    /// This sweep's own series with its result type erased, and the ones added to it.
    fn into_specs(self) -> (SeriesSpec<'a>, Vec<SeriesSpec<'a>>) {
        let work = match self.work {
            Work::Pool(mut measure) => {
                let mut check = self.check;
                SeriesWork::Pool(Box::new(move |pool: &ThreadPool| {
                    let (wall, cpu, result) = measure(pool);
                    match check.as_mut() {
                        Some(check) => check(result)?,
                        None => drop(result),
                    }
                    Ok(RunTimes { wall, cpu })
                }))
            }
            Work::Command(spec) => SeriesWork::Command(spec),
        };
        let spec = SeriesSpec {
            label: self.label.unwrap_or_else(|| self.name.clone()),
            description: self.description,
            job_us: self.job_us,
            items: self.items.map(|(count, _)| count),
            work,
            sequential: self.sequential,
        };
        (spec, self.more)
    }
}
