//! # weft-tune: pool-size sweeps for weft that hold up on a noisy machine
//!
//! How many threads should a pool have for *this* workload on *this* machine? Time it, but
//! time it so that a shared machine's drift does not pick the answer. A [`Sweep`] runs a
//! workload on pools of several sizes and returns a [`Report`]:
//!
//! - **Interleaved rounds.** Every round runs each configuration once (each pool size, the
//!   one-thread reference, the sequential code, the calibration) in a freshly shuffled
//!   order, so a change in the machine's speed hits every size alike.
//! - **Speed-ups with intervals.** A size's speed-up is the median over the rounds of the
//!   reference's time over its time *in the same round*, with a bootstrap 95% interval
//!   ([`Estimate`]). The [`Recommendation`] is the smallest size whose interval overlaps
//!   the best size's (widened by a tolerance, 5% by default): more threads than that buy
//!   nothing the runs can show ([`recommend`]).
//! - **The machine's limit, measured.** Plain scoped threads share a fixed
//!   `#[inline(never)]` loop in the same rounds ([`Calibration`]): what this machine gives
//!   threads right now. Every size is shown against it, and the report warns
//!   ([`Contention`]) when plain threads fall short of the core count, the runs spread
//!   widely, the load average is above the cores, other processes took CPU time, or the
//!   hypervisor stole it. An efficiency over 100% is explained (within noise) or flagged.
//! - **Any program.** [`Sweep::command`] sweeps a program built on weft through the
//!   `WEFT_NUM_THREADS` environment variable, timing the whole process.
//! - **Job sizes.** [`Sweep::with_series`] sweeps several variants in the same rounds; the
//!   `spin` workload uses it to find the break-even job size ([`BreakEven`]).
//!
//! ```
//! use weft::ThreadPool;
//!
//! let report = weft_tune::Sweep::new(|pool: &ThreadPool| {
//!     pool.map(0..50_000u64, |x| x.count_ones()).into_iter().sum::<u32>()
//! })
//! .name("popcount")
//! .items(50_000, "numbers")
//! .sizes(1..=2)
//! .runs(3)
//! .run();
//!
//! print!("{report}"); // the table weft-tune prints
//! let json = serde_json::to_string(&report).unwrap();
//! let back: weft_tune::Report = serde_json::from_str(&json).unwrap();
//! assert_eq!(back.recommendation().threads, report.recommendation().threads);
//! assert_eq!(back.schema_version, weft_tune::SCHEMA_VERSION);
//! ```
//!
//! The built-in workloads (`sum`, `sort`, `fib`, `tiny`, `spin`) live in [`workloads`];
//! weft's examples and benchmarks use them too. The `weft-tune` binary sweeps them, or a
//! program (`weft-tune exec -- COMMAND ARGS...`), from the command line
//! (`cargo run --release -p weft-tune -- --help`), prints the table, and writes the report
//! as JSON (`--json FILE`) and as an SVG chart (`--svg FILE`, [`Report::to_svg`]).
//!
//! CPU times come from `/proc/self/stat` (Linux; zero elsewhere), in 10 ms ticks summed
//! over the timed runs of a configuration; the machine's counters from `/proc/stat`,
//! `/proc/loadavg` and `/proc/meminfo`.

#![forbid(unsafe_code)]

mod assemble;
mod calibration;
mod chart;
mod contention;
mod cpu;
mod engine;
mod process;
mod report;
mod rng;
mod stats;
mod sweep;
mod table;
pub mod units;
pub mod workloads;

pub use chart::ChartError;
pub use report::{
    BreakEven, Calibration, CalibrationPoint, Contention, JobSizeSpeedup, Machine, Measurement,
    Report, SCHEMA_VERSION, Series, SizeResult, Warning,
};
pub use stats::{
    BOOTSTRAP_RESAMPLES, CONFIDENCE_PERCENT, Candidate, DEFAULT_TOLERANCE_PERCENT, Estimate,
    Interval, Recommendation, Timing, percentile, recommend,
};
pub use sweep::{DEFAULT_COMMAND_TIMEOUT, MAX_THREADS, Progress, ProgressEvent, Sweep, SweepError};
pub use units::format_secs;
