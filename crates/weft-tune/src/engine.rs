//! The engine behind [`Sweep::try_run`](crate::Sweep::try_run): rounds that run every
//! configuration once each in a shuffled order, then the report built from per-round ratios.

use std::time::{Duration, Instant};

use weft::ThreadPool;

use crate::calibration::CalibrationPlan;
use crate::contention::{self, Observation, Observed};
use crate::cpu::CpuTimes;
use crate::process::{CommandSpec, RunFailure};
use crate::report::{
    BreakEven, Calibration, CalibrationPoint, JobSizeSpeedup, Machine, Measurement, Report,
    SCHEMA_VERSION, Series, SizeResult, now_utc,
};
use crate::rng::SplitMix64;
use crate::stats::{Candidate, Estimate, Timing, format_estimate, recommend, threads_phrase};
use crate::sweep::{MAX_THREADS, Progress, ProgressEvent, ProgressFn, SweepError};

/// One run's wall-clock and CPU time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunTimes {
    pub(crate) wall: Duration,
    pub(crate) cpu: CpuTimes,
}

type PoolRun<'a> = Box<dyn FnMut(&ThreadPool) -> Result<RunTimes, String> + 'a>;
type SequentialRun<'a> = Box<dyn FnMut() -> RunTimes + 'a>;

/// What a series times for each pool size, its result type erased (the check is inside).
pub(crate) enum SeriesWork<'a> {
    Pool(PoolRun<'a>),
    Command(CommandSpec),
}

/// One series of a sweep, as the engine sees it.
pub(crate) struct SeriesSpec<'a> {
    pub(crate) label: String,
    pub(crate) description: String,
    pub(crate) job_us: Option<u64>,
    pub(crate) items: Option<u64>,
    pub(crate) work: SeriesWork<'a>,
    pub(crate) sequential: Option<SequentialRun<'a>>,
}

/// The settings of a sweep, shared by its series.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) item_unit: String,
    pub(crate) sizes: Vec<usize>,
    pub(crate) warmup: usize,
    pub(crate) runs: usize,
    pub(crate) tolerance_percent: f64,
    pub(crate) calibrate: bool,
}

/// One configuration that is timed once per round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    /// Plain threads on the calibration loop.
    Calibration(usize),
    /// Series `series`'s sequential code.
    Sequential(usize),
    /// Series `series` on a pool of `threads`.
    Pool { series: usize, threads: usize },
}

/// The seed of the run order and of the bootstrap: fixed, so a report can be reproduced
/// from its samples.
const SEED: u64 = 0x7765_6674_2d74_756e;

/// The calibration plan of warm-up rounds (and of every round when there are none): the
/// real plan is sized from the one-thread run of the warm-up.
const WARMUP_CALIBRATION: Duration = Duration::from_millis(20);

impl Settings {
    /// The thread counts the calibration measures: 1, the logical core count, and every
    /// pool size below it.
    fn calibration_threads(&self) -> Vec<usize> {
        if !self.calibrate {
            return Vec::new();
        }
        let logical = num_cpus::get().max(1);
        let mut threads: Vec<usize> = self
            .sizes
            .iter()
            .map(|&size| size.min(logical))
            .chain([1, logical])
            .collect();
        threads.sort_unstable();
        threads.dedup();
        threads
    }

    /// Every configuration of a sweep whose series have (`true`) or lack a sequential
    /// baseline.
    fn contenders_for(&self, sequential: &[bool]) -> Vec<Contender> {
        let mut contenders: Vec<Contender> = self
            .calibration_threads()
            .into_iter()
            .map(Contender::Calibration)
            .collect();
        let mut sizes = self.sizes.clone();
        if !sizes.contains(&1) {
            sizes.insert(0, 1);
        }
        for (series, &has_sequential) in sequential.iter().enumerate() {
            if has_sequential {
                contenders.push(Contender::Sequential(series));
            }
            contenders.extend(
                sizes
                    .iter()
                    .map(|&threads| Contender::Pool { series, threads }),
            );
        }
        contenders
    }

    /// The number of configurations (for [`Sweep::total_runs`](crate::Sweep::total_runs)).
    pub(crate) fn contender_count(&self, sequential: &[bool]) -> usize {
        self.contenders_for(sequential).len()
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
}

/// A fresh pool of `threads` workers, every one of them started.
fn fresh_pool(threads: usize) -> Result<ThreadPool, SweepError> {
    let pool = ThreadPool::builder()
        .num_threads(threads)
        .thread_name(|index| format!("weft-tune-{index}"))
        .build()
        .map_err(|source| SweepError::Pool { threads, source })?;
    // Every worker has run once: none is still starting up when the timed span begins.
    pool.broadcast(|_| ());
    Ok(pool)
}

fn command_error(spec: &CommandSpec, threads: usize, failure: RunFailure) -> SweepError {
    let command = spec.display();
    match failure {
        RunFailure::Spawn(message) => SweepError::CommandSpawn { command, message },
        RunFailure::Failed {
            status,
            last_stderr_line,
        } => SweepError::CommandFailed {
            command,
            threads,
            status,
            last_stderr_line,
        },
        RunFailure::TimedOut => SweepError::CommandTimedOut {
            command,
            threads,
            timeout: spec.timeout,
        },
    }
}

/// One run of `series` on a pool of `threads` (a fresh one for closures, the environment
/// variable for commands).
fn run_series(series: &mut SeriesSpec<'_>, threads: usize) -> Result<RunTimes, SweepError> {
    match &mut series.work {
        SeriesWork::Pool(work) => {
            let pool = fresh_pool(threads)?;
            let times = work(&pool).map_err(|message| SweepError::Check { threads, message })?;
            pool.shutdown();
            Ok(times)
        }
        SeriesWork::Command(spec) => spec.run(threads).map_or_else(
            |failure| Err(command_error(spec, threads, failure)),
            |(wall, cpu)| Ok(RunTimes { wall, cpu }),
        ),
    }
}

/// One run of `series` on the given pool, for [`Sweep::run_once`](crate::Sweep::run_once).
pub(crate) fn run_series_once(
    series: &mut SeriesSpec<'_>,
    pool: &ThreadPool,
) -> Result<RunTimes, SweepError> {
    let threads = pool.num_threads();
    match &mut series.work {
        SeriesWork::Pool(work) => {
            work(pool).map_err(|message| SweepError::Check { threads, message })
        }
        SeriesWork::Command(_) => run_series(series, threads),
    }
}

/// The sweep's state while it runs.
struct Rounds<'s, 'a> {
    settings: &'s Settings,
    series: &'s mut [SeriesSpec<'a>],
    contenders: Vec<Contender>,
    /// The timed runs of each contender, by round.
    samples: Vec<Vec<RunTimes>>,
    /// The latest run of each contender, pool building included, for the time to go.
    latest: Vec<Option<Duration>>,
    plan: CalibrationPlan,
    progress: Option<ProgressFn<'a>>,
    started: Instant,
    done: usize,
}

impl Rounds<'_, '_> {
    fn label(&self, contender: Contender) -> String {
        let of_series = |series: usize| {
            if self.series.len() > 1 {
                format!(" ({})", self.series[series].label)
            } else {
                String::new()
            }
        };
        match contender {
            Contender::Calibration(threads) => {
                format!(
                    "calibration, {threads} plain thread{}",
                    if threads == 1 { "" } else { "s" }
                )
            }
            Contender::Sequential(series) => format!("sequential{}", of_series(series)),
            Contender::Pool { series, threads } => {
                format!("{}{}", threads_phrase(threads), of_series(series))
            }
        }
    }

    fn total(&self) -> usize {
        self.contenders.len() * (self.settings.warmup + self.settings.runs)
    }

    /// The time still to go: the latest run of each contender, once for each of its runs
    /// to come. `next` is the position of the next run in the current round's order.
    fn eta(&self, round: usize, order: &[usize], next: usize) -> Option<Duration> {
        let per_round: Duration = self
            .latest
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .sum();
        let rest_of_round: Duration = order[next..]
            .iter()
            .filter_map(|&index| self.latest[index])
            .sum();
        let rounds_after = (self.settings.warmup + self.settings.runs).saturating_sub(round + 1);
        Some(rest_of_round + per_round * rounds_after as u32)
    }

    fn report_progress(
        &mut self,
        event: ProgressEvent,
        round: usize,
        label: String,
        eta: Option<Duration>,
    ) {
        let total = self.total();
        let rounds = self.settings.warmup + self.settings.runs;
        let progress = Progress {
            event,
            done: self.done,
            total,
            round: (round + 1).min(rounds),
            rounds,
            warmup: round < self.settings.warmup,
            label,
            elapsed: self.started.elapsed(),
            eta,
        };
        if let Some(report) = self.progress.as_mut() {
            report(&progress);
        }
    }

    fn run_one(&mut self, contender: Contender) -> Result<RunTimes, SweepError> {
        match contender {
            Contender::Calibration(threads) => {
                let cpu_before = CpuTimes::now();
                let wall = self.plan.run(threads);
                Ok(RunTimes {
                    wall,
                    cpu: CpuTimes::now().since(cpu_before),
                })
            }
            Contender::Sequential(series) => {
                let run = self.series[series]
                    .sequential
                    .as_mut()
                    .expect("a sequential contender has a sequential baseline");
                Ok(run())
            }
            Contender::Pool { series, threads } => run_series(&mut self.series[series], threads),
        }
    }

    fn run(&mut self) -> Result<(), SweepError> {
        let rounds = self.settings.warmup + self.settings.runs;
        let mut rng = SplitMix64::new(SEED);
        for round in 0..rounds {
            let mut order: Vec<usize> = (0..self.contenders.len()).collect();
            rng.shuffle(&mut order);
            for (position, &index) in order.iter().enumerate() {
                let contender = self.contenders[index];
                let eta = self.eta(round, &order, position);
                self.report_progress(ProgressEvent::Run, round, self.label(contender), eta);
                let began = Instant::now();
                let times = self.run_one(contender)?;
                self.latest[index] = Some(began.elapsed());
                self.done += 1;
                if round >= self.settings.warmup {
                    self.samples[index].push(times);
                }
            }
            if round + 1 == self.settings.warmup {
                self.size_calibration();
            }
            let eta = self.eta(round, &order, order.len());
            let what = if round < self.settings.warmup {
                "warm-up round"
            } else {
                "round"
            };
            self.report_progress(
                ProgressEvent::RoundDone,
                round,
                format!("{what} {} of {rounds} done", round + 1),
                eta,
            );
        }
        self.report_progress(
            ProgressEvent::Done,
            rounds,
            "done".to_owned(),
            Some(Duration::ZERO),
        );
        Ok(())
    }

    /// After the warm-up: a calibration run as long as the first series' one-thread run
    /// (within 10-250 ms), so that both meet the same kind of noise.
    fn size_calibration(&mut self) {
        let one_thread = self
            .contenders
            .iter()
            .position(|&c| {
                c == Contender::Pool {
                    series: 0,
                    threads: 1,
                }
            })
            .and_then(|index| self.latest[index]);
        if let Some(target) = one_thread {
            self.plan = CalibrationPlan::for_duration(target, num_cpus::get());
            // The calibration's latest times are now out of date for the time to go.
            for (index, contender) in self.contenders.iter().enumerate() {
                if matches!(contender, Contender::Calibration(_)) {
                    self.latest[index] = None;
                }
            }
        }
    }

    fn index_of(&self, contender: Contender) -> Option<usize> {
        self.contenders.iter().position(|&c| c == contender)
    }

    fn walls(&self, contender: Contender) -> Option<Vec<f64>> {
        let index = self.index_of(contender)?;
        Some(
            self.samples[index]
                .iter()
                .map(|run| run.wall.as_secs_f64())
                .collect(),
        )
    }

    fn measurement(&self, contender: Contender) -> Option<Measurement> {
        let index = self.index_of(contender)?;
        let runs = &self.samples[index];
        let cpu = runs
            .iter()
            .fold(CpuTimes::default(), |sum, run| sum.add(run.cpu));
        let count = runs.len() as f64;
        Some(Measurement {
            timing: Timing::from_secs(runs.iter().map(|run| run.wall.as_secs_f64()).collect()),
            cpu_user_secs: cpu.user.as_secs_f64() / count,
            cpu_system_secs: cpu.system.as_secs_f64() / count,
        })
    }

    /// The median over the rounds of `reference`'s time over `contender`'s time in the
    /// same round, with its bootstrap interval.
    fn speedup(&self, reference: Contender, contender: Contender) -> Option<Estimate> {
        let reference = self.walls(reference)?;
        let times = self.walls(contender)?;
        let ratios: Vec<f64> = reference
            .iter()
            .zip(&times)
            .map(|(&reference, &time)| reference / time.max(1e-12))
            .collect();
        let seed = SEED ^ (self.index_of(contender)? as u64).wrapping_mul(0x9e37_79b9);
        Some(Estimate::of_median(&ratios, seed))
    }
}

/// Runs a sweep of `series` and builds its report.
pub(crate) fn run<'a>(
    settings: Settings,
    mut series: Vec<SeriesSpec<'a>>,
    progress: Option<ProgressFn<'a>>,
) -> Result<Report, SweepError> {
    settings.validate()?;
    let shapes: Vec<bool> = series.iter().map(|s| s.sequential.is_some()).collect();
    let contenders = settings.contenders_for(&shapes);
    let observation = Observation::start();
    let started = Instant::now();
    let mut rounds = Rounds {
        settings: &settings,
        series: &mut series,
        samples: vec![Vec::new(); contenders.len()],
        latest: vec![None; contenders.len()],
        contenders,
        plan: CalibrationPlan::for_duration(WARMUP_CALIBRATION, num_cpus::get()),
        progress,
        started,
        done: 0,
    };
    rounds.run()?;
    let observed = observation.finish();
    let sweep_wall_secs = started.elapsed().as_secs_f64();
    Ok(build_report(&rounds, observed, sweep_wall_secs))
}

fn build_report(rounds: &Rounds<'_, '_>, observed: Observed, sweep_wall_secs: f64) -> Report {
    let settings = rounds.settings;
    let machine = Machine::current();
    let calibration = build_calibration(rounds);
    let series: Vec<Series> = (0..rounds.series.len())
        .map(|index| build_series(rounds, index, calibration.as_ref(), machine.logical_cores))
        .collect();
    let spreads: Vec<(String, f64)> = rounds
        .contenders
        .iter()
        .filter_map(|&contender| {
            let measurement = rounds.measurement(contender)?;
            Some((rounds.label(contender), measurement.timing.spread_percent()))
        })
        .collect();
    let contention =
        contention::assess(&machine, &observed, calibration.as_ref(), &spreads, &series);
    let break_even = break_even(&series);
    let (created_utc, created_unix_secs) = now_utc();
    Report {
        schema_version: SCHEMA_VERSION,
        weft_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_utc,
        created_unix_secs,
        command_line: std::env::args().collect(),
        workload: settings.name.clone(),
        description: settings.description.clone(),
        machine,
        warmup_runs: settings.warmup,
        runs: settings.runs,
        order: "rounds: every configuration once per round, in a freshly shuffled order".to_owned(),
        sweep_wall_secs,
        item_unit: settings.item_unit.clone(),
        cpu_times_available: CpuTimes::available(),
        calibration,
        contention,
        series,
        break_even,
    }
}

fn build_calibration(rounds: &Rounds<'_, '_>) -> Option<Calibration> {
    let threads = rounds.settings.calibration_threads();
    if threads.is_empty() {
        return None;
    }
    let reference = Contender::Calibration(1);
    let points = threads
        .into_iter()
        .filter_map(|threads| {
            let contender = Contender::Calibration(threads);
            Some(CalibrationPoint {
                threads,
                timing: rounds.measurement(contender)?.timing,
                speedup: rounds.speedup(reference, contender)?,
            })
        })
        .collect();
    Some(Calibration {
        description: format!(
            "plain scoped threads, no pool, sharing {} chunks of an #[inline(never)] xorshift \
             loop through one atomic counter",
            rounds.plan.chunks
        ),
        chunks: rounds.plan.chunks,
        rounds_per_chunk: rounds.plan.rounds_per_chunk,
        points,
    })
}

fn build_series(
    rounds: &Rounds<'_, '_>,
    index: usize,
    calibration: Option<&Calibration>,
    logical: usize,
) -> Series {
    let spec = &rounds.series[index];
    let reference = Contender::Pool {
        series: index,
        threads: 1,
    };
    let sequential = spec
        .sequential
        .as_ref()
        .map(|_| Contender::Sequential(index));
    let one_thread = rounds
        .measurement(reference)
        .expect("the one-thread reference is always measured");
    let sizes: Vec<SizeResult> = rounds
        .settings
        .sizes
        .iter()
        .map(|&threads| {
            let contender = Contender::Pool {
                series: index,
                threads,
            };
            let measurement = rounds
                .measurement(contender)
                .expect("every size is measured");
            let speedup = rounds
                .speedup(reference, contender)
                .expect("every size is measured");
            let speedup_vs_sequential =
                sequential.and_then(|sequential| rounds.speedup(sequential, contender));
            let limit_speedup = calibration
                .and_then(|calibration| calibration.point(threads.min(logical)))
                .map(|point| point.speedup);
            let median = measurement.timing.median_secs;
            let mut size = SizeResult {
                threads,
                throughput_per_sec: if median > 0.0 {
                    spec.items.unwrap_or(1) as f64 / median
                } else {
                    0.0
                },
                efficiency_vs_one_thread_percent: speedup.median / threads as f64 * 100.0,
                speedup_vs_one_thread: speedup,
                efficiency_vs_sequential_percent: speedup_vs_sequential
                    .map(|speedup| speedup.median / threads as f64 * 100.0),
                speedup_vs_sequential,
                percent_of_limit: limit_speedup.map(|limit| speedup.median / limit.median * 100.0),
                limit_speedup,
                measurement,
                notes: Vec::new(),
            };
            size.notes = contention::notes(&size, logical);
            size
        })
        .collect();
    let candidates: Vec<Candidate> = sizes
        .iter()
        .map(|size| Candidate {
            threads: size.threads,
            speedup: size.speedup_vs_one_thread,
            median_secs: size.measurement.timing.median_secs,
        })
        .collect();
    let recommendation = recommend(&candidates, rounds.settings.tolerance_percent)
        .expect("validate() ensured at least one size");
    Series {
        label: spec.label.clone(),
        description: spec.description.clone(),
        pinned: false,
        job_us: spec.job_us,
        items_per_run: spec.items,
        sequential: sequential.and_then(|sequential| rounds.measurement(sequential)),
        one_thread,
        sizes,
        recommendation,
    }
}

/// The break-even job size, when every series has a job size and a sequential baseline.
fn break_even(series: &[Series]) -> Option<BreakEven> {
    if series.len() < 2
        || series
            .iter()
            .any(|s| s.job_us.is_none() || s.sequential.is_none())
    {
        return None;
    }
    let mut job_sizes: Vec<JobSizeSpeedup> = series
        .iter()
        .filter(|s| !s.pinned)
        .filter_map(|s| {
            let best = s.sizes.iter().max_by(|a, b| {
                let median =
                    |size: &SizeResult| size.speedup_vs_sequential.map_or(0.0, |e| e.median);
                median(a)
                    .total_cmp(&median(b))
                    .then(b.threads.cmp(&a.threads))
            })?;
            Some(JobSizeSpeedup {
                job_us: s.job_us?,
                best_threads: best.threads,
                speedup_vs_sequential: best.speedup_vs_sequential?,
            })
        })
        .collect();
    job_sizes.sort_by_key(|job| job.job_us);
    // The smallest job size from which on every larger one beat one thread beyond noise.
    let beats = |job: &JobSizeSpeedup| job.speedup_vs_sequential.ci95.low > 1.0;
    let first = job_sizes
        .iter()
        .rposition(|job| !beats(job))
        .map_or(0, |last_loss| last_loss + 1);
    let job_us = job_sizes.get(first).map(|job| job.job_us);
    let reason = match job_sizes.get(first) {
        Some(job) => format!(
            "from {} us jobs on, the best pool ran the jobs faster than one thread running \
             them in place, beyond noise: {} with {}{}",
            job.job_us,
            format_estimate(&job.speedup_vs_sequential),
            threads_phrase(job.best_threads),
            if first > 0 {
                format!(
                    "; at {} us it did not: {}",
                    job_sizes[first - 1].job_us,
                    format_estimate(&job_sizes[first - 1].speedup_vs_sequential)
                )
            } else {
                "; it did at every job size swept: the break-even is at or below the smallest"
                    .to_owned()
            }
        ),
        None => format!(
            "at none of the job sizes swept did the pool beat one thread running the jobs in \
             place beyond noise (at the largest, {} us: {}): the break-even is above it, or \
             the machine gave the pool no second core",
            job_sizes.last().map_or(0, |job| job.job_us),
            job_sizes
                .last()
                .map_or_else(String::new, |job| format_estimate(
                    &job.speedup_vs_sequential
                ))
        ),
    };
    Some(BreakEven {
        job_us,
        job_sizes,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use crate::sweep::Sweep;

    use super::*;

    fn trivial<'a>() -> Sweep<'a, u64> {
        Sweep::new(|pool: &ThreadPool| pool.install(|| 1u64))
            .runs(1)
            .warmup(0)
            .without_calibration()
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
            .sizes([1])
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
        .without_calibration()
        .run();
        assert_eq!(
            runs, 6,
            "(1 warm-up + 2 runs) x (size 2 + the 1-thread reference)"
        );
        assert_eq!(report.primary().sizes.len(), 1);
        assert_eq!(report.primary().sizes[0].threads, 2);
        assert_eq!(report.primary().one_thread.timing.samples_secs.len(), 2);
    }

    #[test]
    fn rounds_interleave_the_sizes_instead_of_timing_them_in_blocks() {
        let order = RefCell::new(Vec::new());
        Sweep::new(|pool: &ThreadPool| order.borrow_mut().push(pool.num_threads()))
            .sizes(1..=3)
            .runs(4)
            .warmup(1)
            .without_calibration()
            .run();
        let order = order.into_inner();
        assert_eq!(order.len(), 15);
        let rounds: Vec<&[usize]> = order.chunks(3).collect();
        assert!(
            rounds
                .iter()
                .all(|round| (1..=3).all(|size| round.contains(&size))),
            "every round runs every size once: {order:?}"
        );
        assert!(
            order.chunks(3).any(|runs| runs != order[..3].to_vec()),
            "the order is shuffled from round to round: {order:?}"
        );
    }

    #[test]
    fn every_pool_is_fresh_and_fully_started() {
        let report = Sweep::new(|pool: &ThreadPool| {
            let stats = pool.stats();
            // The broadcast that starts every worker is the only work before the run.
            assert_eq!(stats.submitted, 0, "{stats:?}");
            pool.num_threads()
        })
        .sizes([1, 3])
        .runs(2)
        .without_calibration()
        .run();
        assert_eq!(report.primary().sizes.len(), 2);
    }

    #[test]
    fn progress_counts_every_run_reports_rounds_and_ends_with_done() {
        let mut seen = Vec::new();
        let sweep = trivial().sizes([1, 2]).runs(2).warmup(1).sequential(|| 1);
        let total = sweep.total_runs();
        sweep
            .on_progress(|progress| seen.push(progress.clone()))
            .run();
        assert_eq!(total, 9, "3 configurations x 3 rounds");
        let runs = seen
            .iter()
            .filter(|p| p.event == ProgressEvent::Run)
            .count();
        let rounds: Vec<&Progress> = seen
            .iter()
            .filter(|p| p.event == ProgressEvent::RoundDone)
            .collect();
        assert_eq!(runs, total);
        assert_eq!(rounds.len(), 3);
        assert!(rounds[0].warmup && !rounds[1].warmup);
        assert!(
            rounds.iter().all(|p| p.eta.is_some()),
            "known after a round"
        );
        let last = seen.last().unwrap();
        assert_eq!(
            (last.event, last.done, last.total, last.label.as_str()),
            (ProgressEvent::Done, 9, 9, "done")
        );
    }

    #[test]
    fn speedups_are_medians_of_per_round_ratios() {
        let report = trivial().sizes([1, 2]).runs(3).sequential(|| 1).run();
        let series = report.primary();
        let two = series.size(2).unwrap();
        let one = &series.one_thread.timing.samples_secs;
        let mut ratios: Vec<f64> = one
            .iter()
            .zip(&two.measurement.timing.samples_secs)
            .map(|(one, two)| one / two)
            .collect();
        ratios.sort_by(f64::total_cmp);
        assert!((two.speedup_vs_one_thread.median - ratios[1]).abs() < 1e-12);
        assert!(two.speedup_vs_one_thread.ci95.contains(ratios[1]));
        let efficiency = two.efficiency_vs_one_thread_percent;
        assert!((efficiency - ratios[1] / 2.0 * 100.0).abs() < 1e-9);
        assert!(two.speedup_vs_sequential.is_some());
        assert_eq!(series.size(1).unwrap().speedup_vs_one_thread.median, 1.0);
    }

    #[test]
    fn the_calibration_measures_one_thread_and_every_core() {
        let report = Sweep::new(|pool: &ThreadPool| pool.install(|| 1u64))
            .sizes([1])
            .runs(2)
            .warmup(1)
            .run();
        let calibration = report.calibration.as_ref().unwrap();
        let logical = num_cpus::get();
        assert!(calibration.point(1).is_some());
        assert!(calibration.point(logical).is_some());
        assert_eq!(calibration.point(1).unwrap().speedup.median, 1.0);
        assert_eq!(
            calibration
                .point(logical)
                .unwrap()
                .timing
                .samples_secs
                .len(),
            2
        );
        assert_eq!(
            report.contention.calibration_speedup_at_logical_cores,
            Some(calibration.point(logical).unwrap().speedup.median)
        );
    }
}
