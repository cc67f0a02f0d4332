//! Per-worker state: a scratch buffer per worker thread, reused by every job that thread
//! runs, with `weft::WorkerLocal`, against a fresh buffer in every job.
//!
//! Each job renders a report (a few hundred numbers as text) into a buffer and returns a
//! checksum of it. Run once with a new `Vec` per job and once with one `Vec` per worker
//! thread; a counting global allocator shows the allocations the second run saved. Both
//! runs must give the same checksums. The pool records its jobs' wait and run times
//! (`record_timing`), and prints its stats at the end.
//!
//! Run: `cargo run --release --example worker_state [-- JOBS]` (default 20,000, or
//! `WEFT_EXAMPLE_SIZE=JOBS`).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use weft::{ThreadPool, WorkerLocal};

/// The system allocator, counting every allocation (and reallocation).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a side
// effect that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded: `ptr` came from `alloc`/`realloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Numbers per report.
const LINES: u64 = 400;

/// Renders report `job` into `out` (cleared first) and returns a checksum of the text.
fn render(job: u64, out: &mut Vec<u8>) -> u64 {
    out.clear();
    for line in 0..LINES {
        let value = (job * LINES + line).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
        writeln!(out, "job {job:>6} line {line:>3}: {value:>8}").expect("a Vec takes writes");
    }
    out.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Runs `jobs` jobs and returns their checksums, with the allocations and time it took.
fn run(
    pool: &ThreadPool,
    jobs: u64,
    job: impl Fn(u64) -> u64 + Send + Sync + Clone + 'static,
) -> (Vec<u64>, u64, f64) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    let handles: Vec<_> = (0..jobs)
        .map(|i| {
            let job = job.clone();
            pool.spawn(move || job(i))
        })
        .collect();
    let sums: Vec<u64> = handles
        .into_iter()
        .map(|handle| handle.join().expect("a report job"))
        .collect();
    let seconds = start.elapsed().as_secs_f64();
    (sums, ALLOCATIONS.load(Ordering::Relaxed) - before, seconds)
}

fn main() {
    let jobs: u64 = common::size_from_args("jobs", 20_000);
    // With wait and run times, printed at the end.
    let pool = ThreadPool::builder()
        .record_timing(true)
        .build()
        .expect("a pool");
    println!(
        "{jobs} report jobs of {LINES} lines on {} worker threads",
        pool.num_threads()
    );

    // A new buffer in every job: it is allocated, and grown while the report is written.
    let (fresh, fresh_allocations, fresh_seconds) =
        run(&pool, jobs, |i| render(i, &mut Vec::new()));

    // One buffer per worker thread, built the first time that thread runs a job and reused
    // by every job after: it stops growing once it has the largest report's size.
    let scratch = Arc::new(WorkerLocal::new(&pool, |_index| Vec::<u8>::new()));
    let shared = Arc::clone(&scratch);
    let (reused, reused_allocations, reused_seconds) = run(&pool, jobs, move |i| {
        shared.with(|buffer| render(i, buffer))
    });
    assert_eq!(fresh, reused, "the two runs rendered different reports");

    let per_job = |allocations: u64| allocations as f64 / jobs as f64;
    println!(
        "fresh buffer per job:    {fresh_allocations:>8} allocations ({:.2} per job), {:.1} ms",
        per_job(fresh_allocations),
        fresh_seconds * 1e3
    );
    println!(
        "one buffer per worker:   {reused_allocations:>8} allocations ({:.2} per job), {:.1} ms",
        per_job(reused_allocations),
        reused_seconds * 1e3
    );
    println!(
        "saved: {} allocations ({:.2} per job)",
        fresh_allocations.saturating_sub(reused_allocations),
        per_job(fresh_allocations.saturating_sub(reused_allocations))
    );

    println!("{}", pool.stats());
    drop(pool);
    let scratch = Arc::try_unwrap(scratch).expect("every job let go of the scratch buffers");
    let buffers = scratch.into_inner();
    let built: Vec<String> = buffers
        .iter()
        .enumerate()
        .filter_map(|(index, buffer)| {
            buffer
                .as_ref()
                .map(|buffer| format!("thread {index}: {} KiB", buffer.capacity() / 1024))
        })
        .collect();
    println!(
        "{} scratch buffers were built ({})",
        built.len(),
        built.join(", ")
    );
    println!("all {jobs} checksums match; first: {:#018x}", reused[0]);
}
