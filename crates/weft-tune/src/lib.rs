//! # weft-tune: pool-size sweeps for weft
//!
//! How many threads should a pool have for *this* workload on *this* machine? Time it.
//! A [`Sweep`] runs a workload on pools of several sizes (warm-up runs, then several timed
//! runs each) and returns a [`Report`]: median, p10 and p90 times, throughput, speed-up
//! and efficiency against one pool thread and against plain sequential code, user and
//! system CPU time, the machine, and a [`Recommendation`]: the smallest pool within 5% of
//! the best median.
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
//! assert_eq!(back.recommendation.threads, report.recommendation.threads);
//! ```
//!
//! The built-in workloads (`sum`, `sort`, `fib`, `tiny`, `spin`) live in [`workloads`];
//! weft's examples and benchmarks use them too. The `weft-tune` binary sweeps them from the
//! command line (`cargo run --release -p weft-tune -- --help`), prints the table, and
//! writes the report as JSON (`--json FILE`) and as an SVG chart (`--svg FILE`,
//! [`Report::to_svg`]).
//!
//! CPU times come from `/proc/self/stat` (Linux; zero elsewhere), in 10 ms ticks summed
//! over the timed runs of a size.

#![forbid(unsafe_code)]

mod chart;
mod cpu;
mod report;
mod stats;
mod sweep;
mod table;
pub mod workloads;

pub use chart::ChartError;
pub use report::{Machine, Measurement, Report, SizeResult};
pub use stats::{DEFAULT_TOLERANCE, Recommendation, Timing, format_secs, percentile, recommend};
pub use sweep::{MAX_THREADS, Progress, Sweep, SweepError};
