//! Parallel sort of 10 million random `u64` on `join`, checked, and timed against
//! `sort_unstable` and rayon's `par_sort_unstable` on a pool of the same size.
//!
//! ```text
//! cargo run --release --example sort            # 10,000,000 keys
//! cargo run --release --example sort -- 200000  # fewer keys (CI); or WEFT_EXAMPLE_SIZE=200000
//! ```
//!
//! The sort is `weft_tune::workloads::sort::par_sort` (crates/weft-tune/src/workloads/sort.rs),
//! a merge sort built on `weft::join`, in short:
//!
//! ```text
//! fn sort_into(src, buf, into_buf) {
//!     if src is short enough { src.sort_unstable(); copy to buf if into_buf; return }
//!     join(|| sort_into(low half, ..., !into_buf), || sort_into(high half, ..., !into_buf));
//!     par_merge(the two sorted halves, into whichever of src / buf is the target)
//! }
//! fn par_merge(a, b, out) {
//!     if out is short { sequential merge; return }
//!     split the longer input at its middle key, binary-search that key in the other,
//!     join(|| par_merge(low parts, low out), || par_merge(high parts, high out));
//! }
//! ```

mod common;

use std::time::{Duration, Instant};

use rayon::slice::ParallelSliceMut;
use weft::ThreadPool;
use weft_tune::workloads::sort::{par_sort, random_keys};

const RUNS: usize = 5;

/// The median of `RUNS` timed runs of `sort` on fresh copies of `keys`; every result is
/// checked against `expected`.
fn median_time(keys: &[u64], expected: &[u64], mut sort: impl FnMut(&mut Vec<u64>)) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let mut copy = keys.to_vec();
            let start = Instant::now();
            sort(&mut copy);
            let elapsed = start.elapsed();
            assert!(
                copy == expected,
                "the sort's output differs from sort_unstable's"
            );
            elapsed
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn main() {
    let len: usize = common::size_from_args("keys to sort", 10_000_000);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    println!("sorting {len} random u64, {threads} threads, median of {RUNS} runs each");
    let keys = random_keys(len, 42);
    let mut expected = keys.clone();
    expected.sort_unstable();

    let weft_pool = ThreadPool::new(threads).expect("a weft pool");
    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");

    let sequential = median_time(&keys, &expected, |v| v.sort_unstable());
    let weft = median_time(&keys, &expected, |v| par_sort(&weft_pool, v));
    let rayon = median_time(&keys, &expected, |v| {
        rayon_pool.install(|| v.par_sort_unstable())
    });

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("  sort_unstable (1 thread)     {:8.1} ms", ms(sequential));
    println!(
        "  rayon par_sort_unstable      {:8.1} ms  ({:.2}x sort_unstable)",
        ms(rayon),
        sequential.as_secs_f64() / rayon.as_secs_f64()
    );
    println!(
        "  weft par_sort (join)         {:8.1} ms  ({:.2}x sort_unstable, {:.2}x rayon's time)",
        ms(weft),
        sequential.as_secs_f64() / weft.as_secs_f64(),
        weft.as_secs_f64() / rayon.as_secs_f64()
    );
    println!("every result was checked: sorted and equal to sort_unstable's output");
}
