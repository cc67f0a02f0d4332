//! A real batch job: checksum many buffers with `pool.map`, with live progress, then fold
//! them into one digest of the whole batch with `pool.map_reduce`.
//!
//! `pool.map` keeps the results in input order and blocks until all are done; a scoped
//! reporter thread prints progress meanwhile from a counter the jobs bump. The checksums
//! are then compared with a sequential pass. `pool.map_reduce` checksums the buffers again
//! and combines the checksums into a digest that depends on their order (a polynomial
//! rolling hash: associative, not commutative), which map_reduce allows since it never
//! reorders; the digest must equal a sequential fold's.
//!
//! Run: `cargo run --release --example batch [-- BUFFERS]` (default 512, or
//! `WEFT_EXAMPLE_SIZE=BUFFERS`).
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

/// The digest of a run of checksums: `hash = c[0] * B^(n-1) + ... + c[n-1]` and `B^n`,
/// wrapping. Combining two runs is associative but depends on their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest {
    hash: u64,
    power: u64,
}

impl Digest {
    const BASE: u64 = 0x0000_0100_0000_01b3;

    fn of(checksum: u64) -> Digest {
        Digest {
            hash: checksum,
            power: Digest::BASE,
        }
    }

    /// The digest of `self`'s run followed by `next`'s.
    fn then(self, next: Digest) -> Digest {
        Digest {
            hash: self.hash.wrapping_mul(next.power).wrapping_add(next.hash),
            power: self.power.wrapping_mul(next.power),
        }
    }
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

    // The whole batch as one value: map every buffer to the digest of its checksum and
    // combine the digests in input order, on the pool.
    let start = Instant::now();
    // (`None` for an empty batch.)
    let digest = pool.map_reduce(
        &buffers,
        |buffer| Digest::of(checksum(buffer)),
        Digest::then,
    );
    let reduced = start.elapsed();
    let in_order = sums.iter().map(|&sum| Digest::of(sum)).reduce(Digest::then);
    assert_eq!(
        digest, in_order,
        "map_reduce's digest differs from the sequential fold's"
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
        "map_reduce: {reduced:>9.2?}  {:7.0} MiB/s  (checksums and digest)",
        mib / reduced.as_secs_f64()
    );
    println!(
        "all {count} checksums match the sequential pass; first: {:#018x}",
        sums.first().copied().unwrap_or(0)
    );
    println!(
        "batch digest {:#018x}, the same as the sequential fold's",
        digest.map_or(0, |digest| digest.hash)
    );
    println!("{}", pool.stats());
}
