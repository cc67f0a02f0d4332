//! Shared memory: Node's SharedArrayBuffer + Int32Array + Atomics, then a real use.
//!
//! 1. The seed's example: a pool job stores 42 into a shared buffer and wakes the main thread,
//!    which is waiting on that element (`Atomics.wait` / `Atomics.notify`), then reads 42.
//! 2. A parallel histogram: pool jobs count 10,000,000 pseudo-random values into 256 buckets
//!    with atomic `add` on a `Uint32View`, checked against a sequential count.
//!
//! Run: `cargo run --release --example shared_memory [-- ITEMS]` (default 10,000,000, or
//! `WEFT_EXAMPLE_SIZE=ITEMS`; CI passes a small number).

mod common;

use std::time::{Duration, Instant};

use weft::ThreadPool;
use weft::shared::{Int32View, SharedBuffer, Uint32View, WaitResult};

const BUCKETS: usize = 256;

fn main() {
    let items: usize = common::size_from_args("ITEMS counted into the histogram", 10_000_000);
    let pool = ThreadPool::new(num_threads()).expect("start the pool");

    seed_example(&pool);
    histogram(&pool, items);
}

fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// `const sab = new SharedArrayBuffer(4); const view = new Int32Array(sab);`
/// a worker does `Atomics.store(view, 0, 42); Atomics.notify(view, 0);`
/// the main thread `Atomics.wait(view, 0, 0)`s and reads 42.
fn seed_example(pool: &ThreadPool) {
    let buffer = SharedBuffer::new(4);
    let view = Int32View::new(&buffer).expect("4 bytes hold one i32");

    let job = {
        let view = view.clone();
        pool.spawn(move || {
            view.store(0, 42);
            view.notify(0, usize::MAX)
        })
    };
    // Wait while the element is still 0. `NotEqual` means the job stored first: no wait.
    let waited = view.wait(0, 0, Some(Duration::from_secs(10)));
    assert_ne!(waited, WaitResult::TimedOut, "the job never stored");
    let woken = job.join().expect("the job does not panic");
    let value = view.load(0);
    assert_eq!(value, 42);
    println!("seed: a pool job stored {value}; main read it after {waited:?} (job woke {woken})");
}

/// Deterministic pseudo-random values (xorshift64*), so both counts see the same data.
fn value(index: u64) -> u32 {
    let mut x = index.wrapping_add(0x9e37_79b9_7f4a_7c15) | 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
}

fn histogram(pool: &ThreadPool, items: usize) {
    let started = Instant::now();
    let mut expected = [0u32; BUCKETS];
    for index in 0..items as u64 {
        expected[value(index) as usize % BUCKETS] += 1;
    }
    let sequential = started.elapsed();

    let buffer = SharedBuffer::new(BUCKETS * 4);
    let counts = Uint32View::new(&buffer).expect("whole buffer as u32");
    let chunks = (pool.num_threads() * 8) as u64;
    let per_chunk = (items as u64).div_ceil(chunks.max(1));
    let started = Instant::now();
    pool.scope(|scope| {
        for chunk in 0..chunks {
            let counts = &counts;
            scope.spawn(move || {
                let end = ((chunk + 1) * per_chunk).min(items as u64);
                for index in chunk * per_chunk..end {
                    counts.add(value(index) as usize % BUCKETS, 1);
                }
            });
        }
    });
    let parallel = started.elapsed();

    let counted = counts.to_vec();
    assert_eq!(
        counted, expected,
        "parallel histogram matches the sequential count"
    );
    assert_eq!(counted.iter().map(|&c| c as usize).sum::<usize>(), items);
    println!(
        "histogram: {items} values into {BUCKETS} buckets with Uint32View::add on {} threads \
         in {parallel:?} (sequential plain array: {sequential:?}); counts match",
        pool.num_threads()
    );
}
