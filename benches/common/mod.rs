//! Helpers shared by the criterion benches: one configuration, and side-by-side ratios
//! computed from the very samples criterion measured.
//!
//! Every routine is timed through [`bench`] or [`bench_with_setup`], which record each
//! `iter_custom` call. Criterion's measurement phase is the last `sample_size` calls of a
//! routine, so [`median_ns`] takes the median time per iteration over exactly those.

#![allow(dead_code, unreachable_pub)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use weft::ThreadPool;

/// Every `iter_custom` call: (routine id, iterations, elapsed).
static RECORDS: Mutex<Vec<(String, u64, Duration)>> = Mutex::new(Vec::new());

/// Samples per benchmark (criterion's minimum: the heavy benches take 0.1-1 s per sample).
pub const SAMPLE_SIZE: usize = 10;

/// Threads of every pool in the benches: the machine's logical cores.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// A weft pool of `threads` threads.
pub fn weft_pool(threads: usize) -> ThreadPool {
    ThreadPool::new(threads).expect("build the weft pool")
}

/// A rayon pool of `threads` threads: the baseline beside a weft pool of the same size.
pub fn rayon_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("build the rayon pool")
}

/// The contenders of most benches: a weft pool and a rayon pool, `threads` threads each.
pub fn pools(threads: usize) -> (ThreadPool, rayon::ThreadPool) {
    (weft_pool(threads), rayon_pool(threads))
}

/// weft's way to run `jobs` tiny jobs: a `spawn` each, every result read through its own
/// handle. The weft side of the tiny-jobs benches.
pub fn weft_spawn_join_all(pool: &ThreadPool, jobs: u64) -> u64 {
    let handles: Vec<_> = (0..jobs)
        .map(|i| pool.spawn(move || std::hint::black_box(i)))
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(0, u64::wrapping_add)
}

/// rayon's fastest way to run `jobs` tiny jobs: `scope` + `spawn`, each adding its number
/// to an atomic (rayon has no per-job result channel). The baseline of the tiny-jobs benches.
pub fn rayon_scope_spawn_all(pool: &rayon::ThreadPool, jobs: u64) -> u64 {
    let sum = AtomicU64::new(0);
    pool.scope(|scope| {
        for i in 0..jobs {
            let sum = &sum;
            scope.spawn(move |_| {
                // ORDERING: a sum read after the scope ends, which synchronises with every
                // spawned job.
                sum.fetch_add(std::hint::black_box(i), Ordering::Relaxed);
            });
        }
    });
    sum.into_inner()
}

/// A benchmark group for heavy routines (tens of milliseconds and more per iteration):
/// the same iteration count in every sample, not criterion's 1..=10 ramp.
pub fn heavy_group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// Modest settings so `cargo bench` finishes in minutes: 1 s warm-up, 4 s measurement,
/// 10 samples.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}

fn record(id: &str, iters: u64, elapsed: Duration) {
    RECORDS
        .lock()
        .unwrap()
        .push((id.to_owned(), iters, elapsed));
}

/// Times `iters` calls of `routine`, recording them under `id`.
pub fn bench<R>(
    b: &mut criterion::Bencher<'_, WallTime>,
    id: &str,
    mut routine: impl FnMut() -> R,
) {
    b.iter_custom(|iters| {
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(routine());
        }
        let elapsed = start.elapsed();
        record(id, iters, elapsed);
        elapsed
    });
}

/// Times `routine` alone, on a fresh input from `setup` (untimed) each iteration; the
/// output is dropped untimed too.
pub fn bench_with_setup<I, O>(
    b: &mut criterion::Bencher<'_, WallTime>,
    id: &str,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) {
    b.iter_custom(|iters| {
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters {
            let input = setup();
            let start = Instant::now();
            let output = std::hint::black_box(routine(input));
            elapsed += start.elapsed();
            drop(output);
        }
        record(id, iters, elapsed);
        elapsed
    });
}

/// Like [`bench_with_setup`], where `pause` runs (untimed) before each iteration: e.g. a
/// sleep so that the pool falls asleep.
pub fn bench_after_pause<O>(
    b: &mut criterion::Bencher<'_, WallTime>,
    id: &str,
    mut pause: impl FnMut(),
    mut routine: impl FnMut() -> O,
) {
    bench_with_setup(b, id, &mut pause, |()| routine());
}

/// The median time per iteration, in nanoseconds, over the measured samples of `id`.
pub fn median_ns(id: &str) -> Option<f64> {
    let records = RECORDS.lock().unwrap();
    let mut per_iter: Vec<f64> = records
        .iter()
        .filter(|(rid, _, _)| rid == id)
        .map(|(_, iters, elapsed)| elapsed.as_nanos() as f64 / *iters as f64)
        .collect();
    if per_iter.is_empty() {
        return None;
    }
    let keep = per_iter.len().min(SAMPLE_SIZE);
    per_iter.drain(..per_iter.len() - keep);
    per_iter.sort_by(f64::total_cmp);
    let mid = per_iter.len() / 2;
    Some(if per_iter.len().is_multiple_of(2) {
        (per_iter[mid - 1] + per_iter[mid]) / 2.0
    } else {
        per_iter[mid]
    })
}

/// `1.23 ms`-style formatting of nanoseconds.
pub fn format_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Prints a heading for the summary printed after criterion's own output.
pub fn summary_heading(title: &str) {
    println!();
    println!("== {title} (medians of the measured samples; ratio = weft / baseline) ==");
}

/// Prints one routine's median per iteration, and per item when `items` > 1.
pub fn print_time(label: &str, id: &str, items: u64) {
    match median_ns(id) {
        Some(ns) if items > 1 => println!(
            "  {label:<44} {:>10} per iteration, {:>9} per item",
            format_ns(ns),
            format_ns(ns / items as f64)
        ),
        Some(ns) => println!("  {label:<44} {:>10}", format_ns(ns)),
        None => println!("  {label:<44} (not run)"),
    }
}

/// Prints `weft / baseline` of two routines' medians per item (`items` each), with the
/// target when there is one.
pub fn print_ratio(
    label: &str,
    weft: (&str, u64),
    baseline: (&str, u64),
    target: Option<&str>,
) -> Option<f64> {
    let (weft_ns, base_ns) = (median_ns(weft.0)?, median_ns(baseline.0)?);
    let ratio = (weft_ns / weft.1 as f64) / (base_ns / baseline.1 as f64);
    match target {
        Some(target) => println!("  ratio {label:<38} {ratio:>6.3}x   (target {target})"),
        None => println!("  ratio {label:<38} {ratio:>6.3}x"),
    }
    Some(ratio)
}

/// A routine for [`interleaved`]: returns the time of its timed part.
pub type Timed<'a> = (&'a str, Box<dyn FnMut() -> Duration + 'a>);

/// Times `f` whole.
pub fn time<R>(mut f: impl FnMut() -> R) -> impl FnMut() -> Duration {
    move || {
        let start = Instant::now();
        std::hint::black_box(f());
        start.elapsed()
    }
}

/// Criterion measures one routine after the other, so on a shared machine a change of
/// background load between two routines skews their ratio. Here the routines take turns,
/// one run each per round, for `rounds` rounds (after one untimed warm-up round), so
/// drifting load hits them alike; prints p10/p50/p90 of each and returns the p50s in ns.
pub fn interleaved(title: &str, rounds: usize, mut routines: Vec<Timed<'_>>) -> Vec<f64> {
    for (_, routine) in routines.iter_mut() {
        routine();
    }
    let mut samples: Vec<Vec<f64>> = routines
        .iter()
        .map(|_| Vec::with_capacity(rounds))
        .collect();
    for _ in 0..rounds {
        for ((_, routine), samples) in routines.iter_mut().zip(samples.iter_mut()) {
            samples.push(routine().as_nanos() as f64);
        }
    }
    println!("  {title}, {rounds} rounds taking turns:");
    println!("  {:<44} {:>10} {:>10} {:>10}", "", "p10", "p50", "p90");
    routines
        .iter()
        .zip(samples.iter_mut())
        .map(|((label, _), samples)| {
            samples.sort_by(f64::total_cmp);
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            println!(
                "  {label:<44} {:>10} {:>10} {:>10}",
                format_ns(at(0.1)),
                format_ns(at(0.5)),
                format_ns(at(0.9))
            );
            at(0.5)
        })
        .collect()
}

/// Prints `a / b` of two p50s from [`interleaved`].
pub fn print_interleaved_ratio(label: &str, a: f64, b: f64, target: Option<&str>) {
    let ratio = a / b;
    match target {
        Some(target) => {
            println!("  ratio {label:<38} {ratio:>6.3}x   (target {target}; interleaved p50s)")
        }
        None => println!("  ratio {label:<38} {ratio:>6.3}x   (interleaved p50s)"),
    }
}

/// `true` when `cargo bench` runs this binary (it passes `--bench`). The plain benches
/// (`harness = false` mains that print their figures) measure for seconds and some start
/// hundreds of threads, so under `cargo test --benches` (no `--bench`), or for criterion's
/// `--list`, they say so and return at once.
pub fn run_as_bench() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list") {
        return false;
    }
    if !args.iter().any(|arg| arg == "--bench") {
        println!("a measurement, not a test: run it with `cargo bench --bench <name>`");
        return false;
    }
    true
}

/// The p10, p50, p90 and maximum of some samples (in nanoseconds).
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

/// The [`Percentiles`] of `samples` (sorted in place; at least one sample).
pub fn percentiles(samples: &mut [f64]) -> Percentiles {
    assert!(!samples.is_empty(), "percentiles of no samples");
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Percentiles {
        p10: at(0.1),
        p50: at(0.5),
        p90: at(0.9),
        max: samples[samples.len() - 1],
    }
}

/// Prints the column heads for [`print_percentiles`].
pub fn percentiles_heading(title: &str) {
    println!("  {title}");
    println!(
        "  {:<52} {:>10} {:>10} {:>10} {:>10}",
        "", "p10", "p50", "p90", "max"
    );
}

/// Prints one line of p10/p50/p90/max of `samples` (nanoseconds) and returns them.
pub fn print_percentiles(label: &str, samples: &mut [f64]) -> Percentiles {
    let p = percentiles(samples);
    println!(
        "  {label:<52} {:>10} {:>10} {:>10} {:>10}",
        format_ns(p.p10),
        format_ns(p.p50),
        format_ns(p.p90),
        format_ns(p.max)
    );
    p
}

/// The machine's load averages (1, 5 and 15 minutes) from `/proc/loadavg`, for the record:
/// the machine is shared, and every figure moves with its load.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// A busy loop of `rounds` multiply-xorshift steps: the same machine code for every
/// contender (never inlined), a little over 1 ns a round on the build machine.
#[inline(never)]
pub fn spin_kernel(rounds: u64) -> u64 {
    let mut x = std::hint::black_box(0x9e37_79b9_7f4a_7c15u64);
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
    }
    std::hint::black_box(x)
}

/// How many rounds of [`spin_kernel`] take `target` on this thread now: the median of a few
/// timed calls, scaled.
pub fn calibrate_spin(target: Duration) -> u64 {
    const PROBE: u64 = 100_000;
    spin_kernel(PROBE);
    let mut times: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            spin_kernel(PROBE);
            start.elapsed().as_nanos() as f64
        })
        .collect();
    let per_round = percentiles(&mut times).p50 / PROBE as f64;
    ((target.as_nanos() as f64 / per_round).round() as u64).max(1)
}
