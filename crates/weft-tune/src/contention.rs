//! Is the machine shared right now? What the sweep saw of other work (the load average,
//! other processes' CPU time, steal time, the calibration, the spread of the runs), the
//! warnings that come from it, and the notes on numbers that look too good.

use std::time::{Duration, Instant};

use crate::cpu::{CpuTimes, MachineTicks, TICKS_PER_SEC_F64, load_average};
use crate::report::{Calibration, Contention, Machine, Series, SizeResult, Warning};
use crate::stats::{Estimate, format_estimate};

/// Plain threads reaching less than this share of the logical core count means the cores
/// are shared.
const CALIBRATION_SHORT: f64 = 0.85;
/// A p10-p90 spread wider than this percentage of the median counts as wide.
const WIDE_SPREAD_PERCENT: f64 = 25.0;
/// Other processes using more than this many cores' worth on average counts as contention.
const OTHERS_BUSY_CORES: f64 = 0.25;
/// More steal time than this percentage counts as contention.
const STEAL_PERCENT: f64 = 1.0;

/// The machine's counters when a sweep started.
pub(crate) struct Observation {
    started: Instant,
    machine: Option<MachineTicks>,
    own: Duration,
    load_average: Option<f64>,
}

/// What the machine's counters say about the time of a sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Observed {
    pub(crate) load_average_at_start: Option<f64>,
    pub(crate) other_busy_cores: Option<f64>,
    pub(crate) steal_percent: Option<f64>,
}

/// This process's CPU time and its waited-for children's.
fn own_cpu() -> Duration {
    CpuTimes::now().total() + CpuTimes::children_now().total()
}

impl Observation {
    pub(crate) fn start() -> Observation {
        Observation {
            load_average: load_average(),
            machine: MachineTicks::now(),
            own: own_cpu(),
            started: Instant::now(),
        }
    }

    pub(crate) fn finish(self) -> Observed {
        let wall = self.started.elapsed().as_secs_f64();
        let own = own_cpu().saturating_sub(self.own).as_secs_f64();
        let deltas = self
            .machine
            .zip(MachineTicks::now())
            .map(|(before, after)| {
                (
                    after.busy.saturating_sub(before.busy),
                    after.steal.saturating_sub(before.steal),
                    after.total.saturating_sub(before.total),
                )
            });
        Observed {
            load_average_at_start: self.load_average,
            other_busy_cores: deltas
                .filter(|_| wall > 0.0)
                .map(|(busy, _, _)| (busy as f64 / TICKS_PER_SEC_F64 - own).max(0.0) / wall),
            steal_percent: deltas
                .filter(|&(_, _, total)| total > 0)
                .map(|(_, steal, total)| steal as f64 / total as f64 * 100.0),
        }
    }
}

/// A machine counter's warning: its kind, the value seen, the threshold above which it
/// warns, and the message for a value.
type Counter<'f> = (&'static str, Option<f64>, f64, &'f dyn Fn(f64) -> String);

fn warning(kind: &str, message: String) -> Warning {
    Warning {
        kind: kind.to_owned(),
        message,
    }
}

/// The contention section of a report: the signs, and a warning for each that crossed its
/// threshold.
pub(crate) fn assess(
    machine: &Machine,
    observed: &Observed,
    calibration: Option<&Calibration>,
    spreads: &[(String, f64)],
    series: &[Series],
) -> Contention {
    let logical = machine.logical_cores;
    let mut warnings = Vec::new();
    let at_cores = calibration
        .filter(|_| logical >= 2)
        .and_then(|calibration| calibration.point(logical))
        .map(|point| point.speedup);
    if let Some(speedup) = at_cores.filter(|s| s.median < CALIBRATION_SHORT * logical as f64) {
        warnings.push(warning(
            "calibration_short",
            format!(
                "plain threads reached only {:.2}x on the {logical} logical cores (ideal: \
                 {logical}x): other work is using them. Every speed-up here is capped near \
                 that, and a pool larger than the core count can look faster only because it \
                 takes a larger share of a shared machine.",
                speedup.median
            ),
        ));
    }
    let (widest_of, widest) = spreads
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or((String::new(), 0.0), |(label, spread)| {
            (label.clone(), *spread)
        });
    if widest > WIDE_SPREAD_PERCENT {
        warnings.push(warning(
            "wide_spread",
            format!(
                "runs spread widely: the p10-p90 range of {widest_of} is {widest:.0}% of its \
                 median. Drift this large can move the recommendation between runs; the \
                 intervals show how far."
            ),
        ));
    }
    let counters: [Counter<'_>; 3] = [
        (
            "load_average",
            observed.load_average_at_start,
            logical as f64,
            &|load| {
                format!(
                    "the load average was {load:.2} when the sweep started, above the \
                     {logical} logical cores: other work was waiting for a CPU."
                )
            },
        ),
        (
            "other_processes",
            observed.other_busy_cores,
            OTHERS_BUSY_CORES,
            &|busy| {
                format!(
                    "other processes kept {busy:.2} of the {logical} cores busy during the \
                     sweep, on average (/proc/stat, less this process's own CPU time)."
                )
            },
        ),
        (
            "steal_time",
            observed.steal_percent,
            STEAL_PERCENT,
            &|steal| {
                format!(
                    "the hypervisor gave {steal:.1}% of this machine's CPU time to other \
                     guests (steal time in /proc/stat)."
                )
            },
        ),
    ];
    for (kind, value, threshold, message) in counters {
        if let Some(value) = value.filter(|&value| value > threshold) {
            warnings.push(warning(kind, message(value)));
        }
    }
    let several = series.len() > 1;
    let above: Vec<String> = series
        .iter()
        .flat_map(|series| {
            series
                .sizes
                .iter()
                .filter(|size| above_limit(size))
                .map(move |size| {
                    if several {
                        format!("{} ({})", size.threads, series.label)
                    } else {
                        size.threads.to_string()
                    }
                })
        })
        .collect();
    if !above.is_empty() {
        warnings.push(warning(
            "speedup_above_limit",
            format!(
                "the pool beat what plain threads reached in the same rounds, beyond noise, \
                 with {} threads: the machine's share of CPU changed under the sweep, or (with \
                 more threads than cores) the pool took a larger share of a shared machine.",
                above.join(", ")
            ),
        ));
    }
    Contention {
        warnings,
        load_average_at_start: observed.load_average_at_start,
        other_processes_busy_cores: observed.other_busy_cores,
        steal_percent: observed.steal_percent,
        calibration_speedup_at_logical_cores: at_cores.map(|speedup| speedup.median),
        widest_spread_percent: widest,
        widest_spread_of: widest_of,
    }
}

/// Whether a size's speed-up interval lies wholly above the limit's interval.
fn above_limit(size: &SizeResult) -> bool {
    size.limit_speedup
        .is_some_and(|limit| size.speedup_vs_one_thread.ci95.low > limit.ci95.high)
}

/// What to say about a size whose efficiency is over 100% or whose speed-up is above the
/// limit: within noise (the interval includes the bound), or beyond it and why it may be.
pub(crate) fn notes(size: &SizeResult, logical: usize) -> Vec<String> {
    let threads = size.threads as f64;
    let mut notes = Vec::new();
    let over = |speedup: &Estimate| speedup.median > threads * 1.0005;
    let speedup = &size.speedup_vs_one_thread;
    if over(speedup) {
        notes.push(if speedup.ci95.low > threads {
            format!(
                "efficiency over 100% beyond noise: {} threads ran {} as fast as one. \
                 Superlinear: each thread's share of the data may fit in its cache where the \
                 whole does not, or the one-thread runs met more interference.",
                size.threads,
                format_estimate(speedup)
            )
        } else {
            format!(
                "efficiency over 100% within noise: the speed-up {} includes {}x.",
                format_estimate(speedup),
                size.threads
            )
        });
    }
    if let Some(sequential) = size.speedup_vs_sequential.as_ref().filter(|s| over(s)) {
        notes.push(if sequential.ci95.low > threads {
            format!(
                "faster than {}x the sequential code beyond noise ({}): the pool's runs and \
                 the sequential baseline differ in more than the thread count (code, memory \
                 layout or warm caches).",
                size.threads,
                format_estimate(sequential)
            )
        } else {
            format!(
                "over 100% of the sequential code within noise: {} includes {}x.",
                format_estimate(sequential),
                size.threads
            )
        });
    }
    if above_limit(size) {
        let limit = size.limit_speedup.expect("above_limit checked it");
        notes.push(if size.threads > logical {
            format!(
                "above the limit plain threads reached on the {logical} cores ({}): with more \
                 threads than cores the pool takes a larger share of a shared machine.",
                format_estimate(&limit)
            )
        } else {
            format!(
                "above the limit plain threads reached ({}): the calibration's runs met more \
                 interference than the pool's.",
                format_estimate(&limit)
            )
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Measurement;
    use crate::stats::{Interval, Timing};

    fn estimate(median: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            median,
            p10: low,
            p90: high,
            ci95: Interval { low, high },
        }
    }

    fn size(threads: usize, speedup: Estimate, limit: Option<Estimate>) -> SizeResult {
        SizeResult {
            threads,
            measurement: Measurement {
                timing: Timing::from_secs(vec![1.0]),
                cpu_user_secs: 0.0,
                cpu_system_secs: 0.0,
            },
            throughput_per_sec: 1.0,
            speedup_vs_one_thread: speedup,
            efficiency_vs_one_thread_percent: speedup.median / threads as f64 * 100.0,
            speedup_vs_sequential: None,
            efficiency_vs_sequential_percent: None,
            limit_speedup: limit,
            percent_of_limit: None,
            speedup_vs_unpinned: None,
            notes: Vec::new(),
        }
    }

    fn machine(logical_cores: usize) -> Machine {
        Machine {
            logical_cores,
            physical_cores: logical_cores,
            cpu_model: None,
            os: "linux".to_owned(),
            arch: "x86_64".to_owned(),
        }
    }

    #[test]
    fn an_efficiency_over_100_percent_is_explained_as_noise_or_flagged() {
        let within = notes(&size(2, estimate(2.05, 1.8, 2.2), None), 2);
        assert_eq!(within.len(), 1);
        assert!(within[0].contains("within noise"), "{within:?}");
        let beyond = notes(&size(2, estimate(2.4, 2.2, 2.6), None), 2);
        assert!(beyond[0].contains("beyond noise") && beyond[0].contains("Superlinear"));
        assert!(notes(&size(2, estimate(1.8, 1.7, 1.9), None), 2).is_empty());
    }

    #[test]
    fn one_thread_beating_sequential_code_is_noted() {
        let mut one = size(1, estimate(1.0, 1.0, 1.0), None);
        one.speedup_vs_sequential = Some(estimate(1.4, 1.3, 1.5));
        let flagged = notes(&one, 2);
        assert!(
            flagged[0].contains("sequential code beyond noise"),
            "{flagged:?}"
        );
        one.speedup_vs_sequential = Some(estimate(1.1, 0.9, 1.3));
        assert!(notes(&one, 2)[0].contains("within noise"));
    }

    #[test]
    fn a_speedup_above_the_limit_is_noted_with_its_likely_cause() {
        let limit = Some(estimate(1.4, 1.3, 1.5));
        let oversubscribed = notes(&size(4, estimate(1.8, 1.7, 1.9), limit), 2);
        assert!(
            oversubscribed[0].contains("larger share"),
            "{oversubscribed:?}"
        );
        let at_cores = notes(&size(2, estimate(1.8, 1.7, 1.9), limit), 2);
        assert!(at_cores[0].contains("calibration's runs"), "{at_cores:?}");
    }

    fn kinds(contention: &Contention) -> Vec<&str> {
        contention
            .warnings
            .iter()
            .map(|w| w.kind.as_str())
            .collect()
    }

    fn calibration(speedup: Estimate) -> Calibration {
        let point = |threads, speedup| crate::report::CalibrationPoint {
            threads,
            timing: Timing::from_secs(vec![1.0]),
            speedup,
        };
        Calibration {
            description: String::new(),
            chunks: 64,
            rounds_per_chunk: 1,
            points: vec![point(1, estimate(1.0, 1.0, 1.0)), point(2, speedup)],
        }
    }

    #[test]
    fn every_sign_of_contention_raises_its_warning() {
        let busy = Observed {
            load_average_at_start: Some(3.5),
            other_busy_cores: Some(0.9),
            steal_percent: Some(4.0),
        };
        let spreads = [
            ("2 threads".to_owned(), 40.0),
            ("sequential".to_owned(), 5.0),
        ];
        let short = calibration(estimate(1.3, 1.2, 1.4));
        let contention = assess(&machine(2), &busy, Some(&short), &spreads, &[]);
        assert_eq!(
            kinds(&contention),
            [
                "calibration_short",
                "wide_spread",
                "load_average",
                "other_processes",
                "steal_time"
            ]
        );
        assert_eq!(contention.widest_spread_of, "2 threads");
        assert_eq!(contention.calibration_speedup_at_logical_cores, Some(1.3));
    }

    #[test]
    fn a_quiet_machine_raises_no_warning() {
        let quiet = Observed {
            load_average_at_start: Some(0.3),
            other_busy_cores: Some(0.05),
            steal_percent: Some(0.0),
        };
        let full = calibration(estimate(1.95, 1.9, 1.98));
        let contention = assess(
            &machine(2),
            &quiet,
            Some(&full),
            &[("1 thread".to_owned(), 6.0)],
            &[],
        );
        assert!(contention.warnings.is_empty(), "{:?}", contention.warnings);
    }
}
