//! What a sweep measured: [`Report`] and its parts, all serde-serialisable.

use serde::{Deserialize, Serialize};

use crate::stats::{Recommendation, Timing};

/// Everything a sweep measured and concluded; `serde_json` of it is what
/// `weft-tune --json FILE` writes, and its [`Display`](std::fmt::Display) is the table the
/// binary prints.
///
/// Times are in seconds (`f64`), throughputs in items per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The workload's short name (`sum`, `sort`, ... or the name given to the sweep).
    pub workload: String,
    /// What one run of the workload does.
    pub description: String,
    /// The machine it ran on.
    pub machine: Machine,
    /// Untimed warm-up runs before the timed ones, per configuration.
    pub warmup_runs: usize,
    /// Timed runs per configuration.
    pub runs: usize,
    /// Items one run processes (numbers summed, keys sorted, jobs run), if known.
    pub items_per_run: Option<u64>,
    /// What an item is (plural): `numbers`, `keys`, `jobs`; `runs` when no item count is set.
    pub item_unit: String,
    /// Whether CPU times could be read (`/proc/self/stat`); if not, they are zero.
    pub cpu_times_available: bool,
    /// Plain sequential code on the calling thread, without a pool, if measured.
    pub sequential: Option<Measurement>,
    /// A pool of one thread: the reference for speed-up and efficiency.
    pub one_thread: Measurement,
    /// One entry per pool size, in increasing order.
    pub sizes: Vec<SizeResult>,
    /// The pool size to use, and why.
    pub recommendation: Recommendation,
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
    /// Wall-clock times of the timed runs.
    pub timing: Timing,
    /// User CPU time of the whole process per timed run (every thread), on average.
    pub cpu_user_secs: f64,
    /// System CPU time of the whole process per timed run, on average.
    pub cpu_system_secs: f64,
}

impl Measurement {
    /// CPU time (user + system) per wall-clock second of the median run: about the number
    /// of cores kept busy.
    pub fn cores_busy(&self) -> f64 {
        (self.cpu_user_secs + self.cpu_system_secs) / self.timing.median_secs
    }
}

/// One pool size's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeResult {
    /// The number of threads in the pool.
    pub threads: usize,
    /// Its timed runs and CPU time.
    pub measurement: Measurement,
    /// Items per second at the median run time (runs per second without an item count).
    pub throughput_per_sec: f64,
    /// Median of one pool thread / median of this size.
    pub speedup_vs_one_thread: f64,
    /// `speedup_vs_one_thread / threads`: 1.0 means every thread pulled its full weight.
    pub efficiency_vs_one_thread: f64,
    /// Median of sequential code / median of this size, if the sequential code was measured.
    pub speedup_vs_sequential: Option<f64>,
    /// `speedup_vs_sequential / threads`.
    pub efficiency_vs_sequential: Option<f64>,
}

impl Report {
    /// The result for pool size `threads`, if it was measured.
    pub fn size(&self, threads: usize) -> Option<&SizeResult> {
        self.sizes.iter().find(|size| size.threads == threads)
    }
}
