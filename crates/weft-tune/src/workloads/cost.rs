//! What a run of a built-in workload will need, estimated before anything runs: memory
//! (against what `/proc/meminfo` says is available) and time (from a short measurement on
//! this machine), so that `weft-tune` can refuse a sweep that cannot finish.
//!
//! ```
//! use weft_tune::workloads::{Workload, cost};
//!
//! let sort = cost::estimate(Workload::Sort, 1_000_000, &[]);
//! assert_eq!(sort.memory_bytes, 32_000_000); // four vectors of a million u64
//! let fib = cost::estimate(Workload::Fib, 30, &[]);
//! assert!(fib.run_secs > 0.0);
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::{Workload, fib, sort, spin, sum};

/// What one run of a workload needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Memory the sweep holds at its peak, in bytes.
    pub memory_bytes: u64,
    /// What the memory is, in a phrase (`4 vectors of 8-byte keys`).
    pub memory_basis: String,
    /// One sequential run, in seconds, on one core of this machine (an estimate from a
    /// smaller run of the same code).
    pub run_secs: f64,
    /// How `run_secs` was estimated, in a phrase.
    pub time_basis: String,
}

/// Bytes one spawned job holds until it is joined: its handle in the caller's vector and
/// its heap block (closure, state and result slot), rounded up.
pub const BYTES_PER_JOB: u64 = 128;

/// Times `work` (a few tries, the fastest).
fn fastest(mut work: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .expect("three tries")
}

/// Estimates a run of `workload` at `size` (its `--size`; for spin the job count, with
/// `job_us` the job sizes). Takes a few milliseconds: it times a small run of the
/// workload's sequential kernel.
pub fn estimate(workload: Workload, size: u64, job_us: &[u64]) -> Cost {
    match workload {
        Workload::Sum => {
            const PROBE: u64 = 1 << 20;
            let probe = fastest(|| {
                black_box(sum::sum_sequential(0..PROBE));
            });
            Cost {
                memory_bytes: 0,
                memory_basis: "nothing beyond the pool".to_owned(),
                run_secs: probe.as_secs_f64() / PROBE as f64 * size as f64,
                time_basis: format!(
                    "{:.2} ns a number",
                    probe.as_secs_f64() / PROBE as f64 * 1e9
                ),
            }
        }
        Workload::Sort => {
            const PROBE: usize = 1 << 16;
            let keys = sort::random_keys(PROBE, 1);
            let probe = fastest(|| {
                let mut copy = keys.clone();
                sort::sort_piece(&mut copy);
                black_box(copy);
            });
            // n log n from the probe's size.
            let scale = |n: f64| n * n.max(2.0).log2();
            Cost {
                memory_bytes: sort::MEMORY_COPIES.saturating_mul(8).saturating_mul(size),
                memory_basis: format!("{} vectors of 8-byte keys", sort::MEMORY_COPIES),
                run_secs: probe.as_secs_f64() * scale(size as f64) / scale(PROBE as f64),
                time_basis: format!(
                    "sorting {PROBE} keys in {:.2} ms, scaled by n log n",
                    probe.as_secs_f64() * 1e3
                ),
            }
        }
        Workload::Fib => {
            const PROBE: u32 = 24;
            let probe = fastest(|| {
                black_box(fib::fib_sequential(black_box(PROBE)));
            });
            let n = u32::try_from(size).unwrap_or(u32::MAX).min(200);
            let calls = |n: u32| 1.618_034_f64.powi(n as i32);
            Cost {
                memory_bytes: 0,
                memory_basis: "nothing beyond the pool".to_owned(),
                run_secs: probe.as_secs_f64() * calls(n) / calls(PROBE),
                time_basis: format!(
                    "fib({PROBE}) in {:.2} ms, 1.618 times as long for each step of n",
                    probe.as_secs_f64() * 1e3
                ),
            }
        }
        Workload::Tiny => {
            // Each job costs far more in a pool than its work: a rough 100 ns a job on one
            // thread, a bound from below.
            Cost {
                memory_bytes: BYTES_PER_JOB.saturating_mul(size),
                memory_basis: format!("{BYTES_PER_JOB} bytes a job in flight"),
                run_secs: size as f64 * 100e-9,
                time_basis: "100 ns a job".to_owned(),
            }
        }
        Workload::Spin => {
            let sizes = if job_us.is_empty() {
                &spin::DEFAULT_JOB_US[..]
            } else {
                job_us
            };
            let total_us: f64 = sizes.iter().map(|&us| us as f64 * size as f64).sum();
            Cost {
                memory_bytes: BYTES_PER_JOB.saturating_mul(size),
                memory_basis: format!("{BYTES_PER_JOB} bytes a job in flight"),
                run_secs: total_us / 1e6,
                time_basis: "the job sizes times the job count".to_owned(),
            }
        }
    }
}

/// Memory the machine can give a new allocation without swapping, in bytes:
/// `MemAvailable` of `/proc/meminfo` (`None` where there is none).
pub fn available_memory_bytes() -> Option<u64> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

fn parse_meminfo(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// How many times longer a whole sweep takes than one sequential run, at the least: every
/// round runs the sequential code (if any) and each pool size, which at best divides the
/// run by its thread count (up to the logical cores). The calibration is left out.
pub fn sweep_factor(rounds: usize, sizes: &[usize], sequential: bool, logical: usize) -> f64 {
    let mut pools: Vec<usize> = sizes.to_vec();
    if !pools.contains(&1) {
        pools.push(1);
    }
    let per_round: f64 = pools
        .iter()
        .map(|&threads| 1.0 / threads.clamp(1, logical.max(1)) as f64)
        .sum::<f64>()
        + f64::from(u8::from(sequential));
    per_round * rounds as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_gives_available_memory_in_bytes() {
        let meminfo = "MemTotal:       24683652 kB\nMemFree: 1 kB\nMemAvailable:   24179764 kB\n";
        assert_eq!(parse_meminfo(meminfo), Some(24_179_764 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn fib_estimates_grow_by_the_golden_ratio() {
        let small = estimate(Workload::Fib, 30, &[]).run_secs;
        let large = estimate(Workload::Fib, 40, &[]).run_secs;
        let ratio = large / small;
        // 1.618^10 = 122.99; the two probes differ by timing noise only.
        assert!((20.0..800.0).contains(&ratio), "{ratio}");
    }

    #[test]
    fn the_sweep_factor_counts_every_configuration_of_every_round() {
        // Sizes 1..=4 on 2 cores, with sequential code: 1 + 1 + 1/2 + 1/2 + 1/2 per round.
        assert_eq!(sweep_factor(10, &[1, 2, 3, 4], true, 2), 35.0);
        // The one-thread reference is added when it is not asked for.
        assert_eq!(sweep_factor(1, &[2], false, 2), 1.5);
    }
}
