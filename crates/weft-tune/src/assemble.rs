//! The report of a finished sweep, from its rounds: measurements, per-round speed-up ratios
//! and their intervals, the limit for each size, the recommendation per series, the
//! break-even job size and the contention seen.

use crate::contention::{self, Observed};
use crate::cpu::CpuTimes;
use crate::engine::{Contender, Rounds};
use crate::report::{
    BreakEven, Calibration, CalibrationPoint, JobSizeSpeedup, Machine, Report, SCHEMA_VERSION,
    Series, SizeResult, now_utc,
};
use crate::stats::{Candidate, format_estimate, recommend, threads_phrase};

pub(crate) fn report(rounds: &Rounds<'_, '_>, observed: Observed, sweep_wall_secs: f64) -> Report {
    let settings = rounds.settings;
    let machine = Machine::current();
    let calibration = calibration(rounds);
    let series: Vec<Series> = (0..rounds.series.len())
        .flat_map(|index| {
            settings
                .pinnings()
                .iter()
                .map(move |&pinned| (index, pinned))
        })
        .map(|(index, pinned)| {
            series(
                rounds,
                (index, pinned),
                calibration.as_ref(),
                machine.logical_cores,
            )
        })
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

fn calibration(rounds: &Rounds<'_, '_>) -> Option<Calibration> {
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

/// The series of spec `index`, on pinned pools or not.
fn series(
    rounds: &Rounds<'_, '_>,
    (index, pinned): (usize, bool),
    calibration: Option<&Calibration>,
    logical: usize,
) -> Series {
    let spec = &rounds.series[index];
    let reference = Contender::Pool {
        series: index,
        threads: 1,
        pinned,
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
                pinned,
            };
            // Pinned against unpinned, same size, same round.
            let speedup_vs_unpinned = pinned
                .then(|| {
                    let unpinned = Contender::Pool {
                        series: index,
                        threads,
                        pinned: false,
                    };
                    rounds.speedup(unpinned, contender)
                })
                .flatten();
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
                speedup_vs_unpinned,
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
    let label = match (rounds.settings.pin, rounds.series.len() > 1) {
        (false, _) => spec.label.clone(),
        (true, false) => if pinned { "pinned" } else { "unpinned" }.to_owned(),
        (true, true) => format!(
            "{}, {}",
            spec.label,
            if pinned { "pinned" } else { "unpinned" }
        ),
    };
    Series {
        label,
        description: spec.description.clone(),
        pinned,
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
