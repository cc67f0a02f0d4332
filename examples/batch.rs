//! A real batch job: checksum many buffers with `pool.map`, with live progress.
//!
//! `pool.map` keeps the results in input order and blocks until all are done; a scoped
//! reporter thread prints progress meanwhile from a counter the jobs bump. The checksums
//! are then compared with a sequential pass.
//!
//! ```text
//! cargo run --release --example batch            # 512 buffers of 512 KiB (256 MiB)
//! cargo run --release --example batch -- 64      # 64 buffers (CI); or WEFT_EXAMPLE_SIZE=64
//! ```

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use weft::ThreadPool;

const BUFFER_LEN: usize = 512 * 1024;

/// A 64-bit checksum of `bytes`, 8 bytes at a time (multiply and xor-shift, in the spirit
/// of wyhash; not cryptographic), so the job is CPU-bound rather than memory-bound.
fn checksum(bytes: &[u8]) -> u64 {
    let mut hash = 0x243f_6a88_85a3_08d3u64 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        for _ in 0..4 {
            hash = (hash ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            hash ^= hash >> 29;
        }
    }
    for &byte in words.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
    }
    hash ^ (hash >> 32)
}

/// Deterministic contents for buffer `index`.
fn make_buffer(index: usize) -> Vec<u8> {
    let mut state = index as u64 + 1;
    (0..BUFFER_LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn main() {
    let count: usize = common::size_from_args("buffers of 512 KiB", 512);
    let pool = ThreadPool::builder().build().expect("a pool");
    println!(
        "checksumming {count} buffers of {} KiB on {} threads",
        BUFFER_LEN / 1024,
        pool.num_threads()
    );
    // Making the inputs is a batch job too.
    let buffers: Vec<Vec<u8>> = pool.map(0..count, make_buffer);

    let done = AtomicUsize::new(0);
    let (sums, parallel) = std::thread::scope(|scope| {
        let reporter = scope.spawn(|| {
            let mut last = usize::MAX;
            let mut last_print = Instant::now();
            loop {
                let finished = done.load(Ordering::Relaxed);
                if finished != last
                    && (finished == count || last_print.elapsed() >= Duration::from_millis(100))
                {
                    println!("  {finished:>6}/{count} buffers");
                    last = finished;
                    last_print = Instant::now();
                }
                if finished == count {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let start = Instant::now();
        let sums = pool.map(&buffers, |buffer| {
            let sum = checksum(buffer);
            done.fetch_add(1, Ordering::Relaxed);
            sum
        });
        let parallel = start.elapsed();
        reporter.join().expect("the reporter thread");
        (sums, parallel)
    });

    let start = Instant::now();
    let expected: Vec<u64> = buffers.iter().map(|buffer| checksum(buffer)).collect();
    let sequential = start.elapsed();
    assert_eq!(
        sums, expected,
        "pool.map's checksums differ from the sequential ones"
    );

    let mib = (count * BUFFER_LEN) as f64 / (1024.0 * 1024.0);
    println!(
        "pool.map:   {parallel:>9.2?}  {:7.0} MiB/s",
        mib / parallel.as_secs_f64()
    );
    println!(
        "sequential: {sequential:>9.2?}  {:7.0} MiB/s  (pool: {:.2}x)",
        mib / sequential.as_secs_f64(),
        sequential.as_secs_f64() / parallel.as_secs_f64()
    );
    println!(
        "all {count} checksums match the sequential pass; first: {:#018x}",
        sums.first().copied().unwrap_or(0)
    );
    let stats = pool.stats();
    println!(
        "pool stats: {} steals, {} workers asleep now",
        stats.steals, stats.sleeping
    );
}
