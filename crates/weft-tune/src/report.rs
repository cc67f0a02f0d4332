//! What a sweep measured: [`Report`] and its parts, all serde-serialisable.

use serde::{Deserialize, Serialize};

use crate::stats::{Estimate, Recommendation, Timing};

/// The version of the JSON layout of [`Report`]; it goes up whenever a field changes
/// meaning or goes away (version 1 was the report before interleaved rounds).
pub const SCHEMA_VERSION: u32 = 2;

/// Everything a sweep measured and concluded; `serde_json` of it is what
/// `weft-tune --json FILE` writes, and its [`Display`](std::fmt::Display) is the table the
/// binary prints.
///
/// Field names carry their units: `_secs` (seconds), `_per_sec`, `_percent`; speed-ups are
/// plain ratios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the weft-tune that wrote the report.
    pub schema_version: u32,
    /// The version of weft the tuner was built with (weft-tune is versioned with it).
    pub weft_version: String,
    /// When the sweep finished, UTC, RFC 3339 (`2025-01-31T12:00:00Z`).
    pub created_utc: String,
    /// The same instant in seconds since the Unix epoch.
    pub created_unix_secs: u64,
    /// The command line of the process that ran the sweep.
    pub command_line: Vec<String>,
    /// The workload's short name (`sum`, `sort`, `exec`, ... or the name given to the sweep).
    pub workload: String,
    /// What one run of the workload does.
    pub description: String,
    /// The machine it ran on.
    pub machine: Machine,
    /// Untimed warm-up rounds before the timed ones.
    pub warmup_runs: usize,
    /// Timed rounds: every configuration ran once per round, so this is also the number of
    /// timed runs of each.
    pub runs: usize,
    /// How the runs were ordered.
    pub order: String,
    /// The wall-clock time of the whole sweep (warm-up, timed runs, pools built and
    /// shut down), in seconds.
    pub sweep_wall_secs: f64,
    /// What an item is (plural): `numbers`, `keys`, `jobs`; `runs` when no item count is set.
    pub item_unit: String,
    /// Whether CPU times could be read (`/proc/self/stat`); if not, they are zero.
    pub cpu_times_available: bool,
    /// What plain threads on a fixed loop reached in the same rounds: the machine's limit
    /// right now. `None` when the sweep was told not to measure it.
    pub calibration: Option<Calibration>,
    /// Signs that other work shared the machine, and the warnings they raised.
    pub contention: Contention,
    /// One series of pool sizes per workload variant: usually one; beside it the same sizes
    /// with pinned workers (`--pin`), or one per job size (`spin --job-us 1,10,100`).
    pub series: Vec<Series>,
    /// For a sweep over job sizes: the smallest job size for which the pool beats one thread.
    pub break_even: Option<BreakEven>,
}

/// The machine a report was measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical cores (hardware threads) the process may use, from `num_cpus::get()`.
    pub logical_cores: usize,
    /// Physical cores, from `num_cpus::get_physical()`.
    pub physical_cores: usize,
    /// The CPU model, from `/proc/cpuinfo` where there is one.
    pub cpu_model: Option<String>,
    /// `std::env::consts::OS`.
    pub os: String,
    /// `std::env::consts::ARCH`.
    pub arch: String,
}

impl Machine {
    /// Describes the machine this process runs on.
    pub fn current() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.split_whitespace().collect::<Vec<_>>().join(" "))
            });
        Machine {
            logical_cores: num_cpus::get(),
            physical_cores: num_cpus::get_physical(),
            cpu_model,
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
        }
    }
}

/// The timed runs of one configuration and the CPU time they used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Wall-clock times of the timed runs, in the order of the rounds.
    pub timing: Timing,
    /// User CPU time per timed run, on average: the whole process's (every thread), or the
    /// command's for `exec`.
    pub cpu_user_secs: f64,
    /// System CPU time per timed run, on average.
    pub cpu_system_secs: f64,
}

impl Measurement {
    /// CPU time (user + system) per wall-clock second of the median run: about the number
    /// of cores kept busy.
    pub fn cores_busy(&self) -> f64 {
        if self.timing.median_secs > 0.0 {
            (self.cpu_user_secs + self.cpu_system_secs) / self.timing.median_secs
        } else {
            0.0
        }
    }
}

/// One series: the pool sizes of one workload variant, their reference runs and the
/// recommendation for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// What tells this series from the others (`unpinned`, `pinned`, `10 us jobs`); the
    /// workload's name when there is only one.
    pub label: String,
    /// What one run of this series does; in a sweep over job sizes, the job count and the
    /// loop rounds that make one job.
    pub description: String,
    /// Items one run processes (numbers summed, keys sorted, jobs run), if known.
    pub items_per_run: Option<u64>,
    /// One entry per pool size asked for, in increasing order.
    pub sizes: Vec<SizeResult>,
    /// The pool size to use, and why.
    pub recommendation: Recommendation,
    /// A pool of one thread: the reference for speed-up and efficiency.
    pub one_thread: Measurement,
    /// Plain sequential code on the calling thread, without a pool, if measured: the
    /// built-in workloads run the same `#[inline(never)]` kernel in it as in the pool.
    pub sequential: Option<Measurement>,
    /// Whether the pools pinned each worker to a CPU (`--pin`,
    /// `ThreadPoolBuilder::pin_threads`).
    pub pinned: bool,
    /// The length of one job in microseconds, in a sweep over job sizes (`spin --job-us`);
    /// `None` in other sweeps.
    pub job_us: Option<u64>,
}

/// One pool size's results.
///
/// Speed-ups are medians over the rounds of a per-round ratio (the reference's time in
/// that round over this size's time in the same round), so drift between rounds cancels;
/// each comes with the p10 and p90 of those ratios and a bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeResult {
    /// The number of threads in the pool.
    pub threads: usize,
    /// Its timed runs and CPU time.
    pub measurement: Measurement,
    /// Items per second at the median run time (runs per second without an item count).
    pub throughput_per_sec: f64,
    /// Speed-up over one pool thread.
    pub speedup_vs_one_thread: Estimate,
    /// The median speed-up over one pool thread, per thread, in percent: 100 means every
    /// thread pulled its full weight.
    pub efficiency_vs_one_thread_percent: f64,
    /// Speed-up over the sequential code, if it was measured.
    pub speedup_vs_sequential: Option<Estimate>,
    /// The median speed-up over the sequential code per thread, in percent.
    pub efficiency_vs_sequential_percent: Option<f64>,
    /// What plain threads reached on this many threads (at most the logical core count) in
    /// the same rounds: the machine's limit for this size right now.
    pub limit_speedup: Option<Estimate>,
    /// The median speed-up over one pool thread as a percentage of the limit's median.
    pub percent_of_limit: Option<f64>,
    /// In a pinned series (`--pin`): the unpinned pool of the same size's time over this
    /// one's, round by round; above 1 when pinning helped.
    pub speedup_vs_unpinned: Option<Estimate>,
    /// What is odd about this size's numbers (an efficiency over 100%, a speed-up above
    /// the limit), and what it likely means.
    pub notes: Vec<String>,
}

/// The calibration: plain scoped threads (no pool) sharing a fixed amount of work on one
/// `#[inline(never)]` loop, taking chunks from one atomic counter (balancing at no cost),
/// timed in the same rounds as the pool sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// What one calibration run does.
    pub description: String,
    /// Chunks of work per run, shared by the threads.
    pub chunks: usize,
    /// Loop rounds per chunk.
    pub rounds_per_chunk: u64,
    /// One entry per thread count measured (always 1 and the logical core count).
    pub points: Vec<CalibrationPoint>,
}

/// Plain threads on the calibration loop, at one thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationPoint {
    /// How many plain threads shared the work.
    pub threads: usize,
    /// The wall-clock times of the runs.
    pub timing: Timing,
    /// The speed-up over one plain thread (per-round ratios, as for pool sizes).
    pub speedup: Estimate,
}

impl Calibration {
    /// The point for `threads` plain threads, if measured.
    pub fn point(&self, threads: usize) -> Option<&CalibrationPoint> {
        self.points.iter().find(|point| point.threads == threads)
    }
}

/// Signs that the machine was shared during the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contention {
    /// What the signs mean for this report, one warning each; empty when none was seen.
    pub warnings: Vec<Warning>,
    /// The 1-minute load average when the sweep started (`/proc/loadavg`).
    pub load_average_at_start: Option<f64>,
    /// Cores' worth of CPU time other processes used during the sweep, on average: the
    /// machine's busy time (`/proc/stat`) minus this process's and its children's.
    pub other_processes_busy_cores: Option<f64>,
    /// The share of the machine's CPU time the hypervisor gave to others (steal time in
    /// `/proc/stat`), in percent.
    pub steal_percent: Option<f64>,
    /// The speed-up plain threads reached on every logical core (the calibration).
    pub calibration_speedup_at_logical_cores: Option<f64>,
    /// The widest p10-p90 spread of any configuration's run times, as a percentage of its
    /// median, and whose it was.
    pub widest_spread_percent: f64,
    /// The configuration with the widest spread (`2 threads`, `sequential`, ...).
    pub widest_spread_of: String,
}

/// One sign of contention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Which sign: `calibration_short`, `wide_spread`, `load_average`, `other_processes`,
    /// `steal_time`, `speedup_above_limit`.
    pub kind: String,
    /// What was seen and what it means, in a sentence or two.
    pub message: String,
}

/// The break-even job size of a sweep over job sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    /// The smallest job size, in microseconds, from which on the best pool size ran the
    /// jobs faster than one thread running them in place (beyond noise: the lower end of
    /// the interval above 1); `None` when no job size got there.
    pub job_us: Option<u64>,
    /// Per job size: the best pool size and its speed-up over running the jobs in place.
    pub job_sizes: Vec<JobSizeSpeedup>,
    /// The rule applied, in a sentence.
    pub reason: String,
}

/// The best pool size for one job size, against the jobs run in place on one thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSizeSpeedup {
    /// The job size in microseconds.
    pub job_us: u64,
    /// The pool size with the best median speed-up over sequential code.
    pub best_threads: usize,
    /// That speed-up.
    pub speedup_vs_sequential: Estimate,
}

impl Report {
    /// The first series: the only one in most sweeps, the unpinned one with `--pin`, the
    /// smallest job size in a sweep over job sizes.
    pub fn primary(&self) -> &Series {
        &self.series[0]
    }

    /// The first series' recommendation.
    pub fn recommendation(&self) -> &Recommendation {
        &self.primary().recommendation
    }

    /// The first series' result for pool size `threads`, if it was measured.
    pub fn size(&self, threads: usize) -> Option<&SizeResult> {
        self.primary().size(threads)
    }
}

impl Series {
    /// The result for pool size `threads`, if it was measured.
    pub fn size(&self, threads: usize) -> Option<&SizeResult> {
        self.sizes.iter().find(|size| size.threads == threads)
    }
}

/// `(RFC 3339 UTC, seconds since the epoch)` for now.
pub(crate) fn now_utc() -> (String, u64) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    (rfc3339(secs), secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (the proleptic Gregorian
/// calendar, from days by Howard Hinnant's `civil_from_days`).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let of_day = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        // The epoch, a leap day, a year's last second, and a century that is no leap year.
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_735_689_599, "2024-12-31T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ] {
            assert_eq!(rfc3339(secs), text);
        }
        let (text, secs) = now_utc();
        assert!(secs > 1_700_000_000 && text.ends_with('Z'), "{text}");
    }
}
