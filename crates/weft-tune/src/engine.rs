//! The engine behind [`Sweep::try_run`](crate::Sweep::try_run): rounds that run every
//! configuration once each in a shuffled order; `assemble.rs` then builds the report from
//! per-round ratios.

use std::time::{Duration, Instant};

use weft::ThreadPool;

use crate::assemble;
use crate::calibration::CalibrationPlan;
use crate::contention::Observation;
use crate::cpu::CpuTimes;
use crate::process::{CommandSpec, RunFailure};
use crate::report::{Measurement, Report};
use crate::rng::SplitMix64;
use crate::stats::{Estimate, Timing, threads_phrase};
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
    pub(crate) pin: bool,
}

/// One configuration that is timed once per round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contender {
    /// Plain threads on the calibration loop.
    Calibration(usize),
    /// Series `series`'s sequential code.
    Sequential(usize),
    /// Series `series` on a pool of `threads`, its workers pinned to CPUs or not.
    Pool {
        series: usize,
        threads: usize,
        pinned: bool,
    },
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
    pub(crate) fn calibration_threads(&self) -> Vec<usize> {
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
            for &pinned in self.pinnings() {
                contenders.extend(sizes.iter().map(|&threads| Contender::Pool {
                    series,
                    threads,
                    pinned,
                }));
            }
        }
        contenders
    }

    /// Unpinned pools, and pinned ones beside them with `--pin`.
    pub(crate) fn pinnings(&self) -> &'static [bool] {
        if self.pin { &[false, true] } else { &[false] }
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

/// A fresh pool of `threads` workers, every one of them started; with `pinned`, worker `i`
/// runs only on the `i`-th CPU this process may use (wrapping).
fn fresh_pool(threads: usize, pinned: bool) -> Result<ThreadPool, SweepError> {
    let pool = ThreadPool::builder()
        .num_threads(threads)
        .thread_name(|index| format!("weft-tune-{index}"))
        .pin_threads(pinned)
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
fn run_series(
    series: &mut SeriesSpec<'_>,
    threads: usize,
    pinned: bool,
) -> Result<RunTimes, SweepError> {
    match &mut series.work {
        SeriesWork::Pool(work) => {
            let pool = fresh_pool(threads, pinned)?;
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
        SeriesWork::Command(_) => run_series(series, threads, false),
    }
}

/// The sweep's state while it runs.
pub(crate) struct Rounds<'s, 'a> {
    pub(crate) settings: &'s Settings,
    pub(crate) series: &'s mut [SeriesSpec<'a>],
    pub(crate) contenders: Vec<Contender>,
    /// The timed runs of each contender, by round.
    samples: Vec<Vec<RunTimes>>,
    /// The latest run of each contender, pool building included, for the time to go.
    latest: Vec<Option<Duration>>,
    pub(crate) plan: CalibrationPlan,
    progress: Option<ProgressFn<'a>>,
    started: Instant,
    done: usize,
}

impl Rounds<'_, '_> {
    pub(crate) fn label(&self, contender: Contender) -> String {
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
            Contender::Pool {
                series,
                threads,
                pinned,
            } => format!(
                "{}{}{}",
                threads_phrase(threads),
                if pinned { " pinned" } else { "" },
                of_series(series)
            ),
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
            Contender::Pool {
                series,
                threads,
                pinned,
            } => run_series(&mut self.series[series], threads, pinned),
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
                    pinned: false,
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

    pub(crate) fn measurement(&self, contender: Contender) -> Option<Measurement> {
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
    pub(crate) fn speedup(&self, reference: Contender, contender: Contender) -> Option<Estimate> {
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
    if settings.pin
        && series
            .iter()
            .any(|series| matches!(series.work, SeriesWork::Command(_)))
    {
        return Err(SweepError::PinnedCommand);
    }
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
    Ok(assemble::report(&rounds, observed, sweep_wall_secs))
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
