//! The seed's first example: the sum of 0..1,000,000,000 split over the pool, compared with
//! one thread. Every number goes through `std::hint::black_box`, so the compiler can neither
//! fold the loop into `n * (n - 1) / 2` nor vectorise it: this is real work, about a
//! nanosecond per number.
//!
//! ```text
//! cargo run --release --example sum              # 0..1e9
//! cargo run --release --example sum -- 10000000  # a smaller n (CI); or WEFT_EXAMPLE_SIZE=10000000
//! ```
//!
//! The work is `weft_tune::workloads::sum::par_sum` (crates/weft-tune/src/workloads/sum.rs):
//! the range is halved with `weft::join` down to small pieces, and work stealing spreads them.

mod common;

use std::time::{Duration, Instant};

use weft::ThreadPool;
use weft_tune::workloads::sum::{expected, par_sum, sum_sequential};

/// The median of three timed runs of `sum`, each checked against `want`.
fn median_of_three(want: u64, mut sum: impl FnMut() -> u64) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(sum(), want);
            start.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

fn main() {
    let n: u64 = common::size_from_args("n of the sum 0..n", 1_000_000_000);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let want = expected(n);
    println!("sum of 0..{n} (black-boxed), median of 3 runs each; expected {want}");

    let sequential_time = median_of_three(want, || sum_sequential(0..n));
    println!("  plain loop, no pool      {sequential_time:>10.2?}");

    let one = ThreadPool::new(1).expect("a pool of one thread");
    let one_time = median_of_three(want, || par_sum(&one, 0..n));
    println!("  pool of 1 thread         {one_time:>10.2?}");

    let pool = ThreadPool::new(threads).expect("a pool");
    let pool_time = median_of_three(want, || par_sum(&pool, 0..n));
    let speedup = one_time.as_secs_f64() / pool_time.as_secs_f64();
    println!(
        "  pool of {threads} threads        {pool_time:>10.2?}  ({speedup:.2}x one thread, \
         efficiency {:.0}%)",
        speedup / threads as f64 * 100.0
    );
    println!("all three sums are {want}");
}
