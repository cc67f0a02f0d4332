//! Heap allocations per `spawn` (target: exactly 1), counted by a counting global allocator
//! in this bench target alone, so it distorts no other bench.
//!
//! What is counted: calls to `alloc`/`alloc_zeroed`/`realloc`, on the calling thread (a
//! thread-local counter) and in the whole process (a global counter), between two reads
//! around N spawn+join pairs; the handles' `Vec` is allocated before the first read. Two
//! patterns: one job at a time (spawn, join, repeat) and a batch (spawn N, then join N).
//! From outside the pool a job goes onto crossbeam's injector, which allocates one block per
//! 63 pushes (about 1/63 = 0.016 per spawn extra on the calling thread); a worker's own
//! deque grows by doubling and then keeps its buffer. rayon's `spawn` gets the same
//! treatment, with and without a channel per job.
//!
//! `cargo bench --bench allocs`

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use weft::ThreadPool;

struct Counting;

static TOTAL: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static MINE: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    // `try_with`: a thread being torn down may still allocate.
    let _ = MINE.try_with(|mine| mine.set(mine.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting touches only
// an atomic and a const-initialised thread-local `Cell`, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded; `ptr` was allocated by `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations (this thread, whole process) during `work`, per one of `n` operations.
fn per_op(n: u64, work: impl FnOnce()) -> (f64, f64) {
    let mine_before = MINE.with(Cell::get);
    let total_before = TOTAL.load(Ordering::SeqCst);
    work();
    let mine = MINE.with(Cell::get) - mine_before;
    let total = TOTAL.load(Ordering::SeqCst) - total_before;
    (mine as f64 / n as f64, total as f64 / n as f64)
}

fn row(label: &str, (mine, total): (f64, f64)) {
    println!("  {label:<52} {mine:>8.4} {total:>10.4}");
}

const N: u64 = 100_000;

fn weft_one_at_a_time(pool: &ThreadPool) {
    for i in 0..N {
        black_box(pool.spawn(move || black_box(i)).join().unwrap());
    }
}

fn weft_batch(pool: &ThreadPool, handles: &mut Vec<weft::JobHandle<u64>>) {
    for i in 0..N {
        handles.push(pool.spawn(move || black_box(i)));
    }
    for handle in handles.drain(..) {
        black_box(handle.join().unwrap());
    }
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let threads = common::threads();
    let (pool, rayon_pool) = common::pools(threads);

    // Warm up: let the deques and injector reach their steady sizes.
    let mut handles = Vec::with_capacity(N as usize);
    weft_batch(&pool, &mut handles);
    pool.install(|| {
        let mut handles = Vec::with_capacity(N as usize);
        weft_batch(&pool, &mut handles);
    });

    println!("allocations per spawn+join, {N} jobs, pool of {threads}");
    println!("  {:<52} {:>8} {:>10}", "", "caller", "process");
    row(
        "weft, outside, one at a time",
        per_op(N, || weft_one_at_a_time(&pool)),
    );
    row(
        "weft, outside, batch (spawn all, join all)",
        per_op(N, || weft_batch(&pool, &mut handles)),
    );
    let in_worker = pool.install(|| {
        let mut handles = Vec::with_capacity(N as usize);
        let one = per_op(N, || weft_one_at_a_time(&pool));
        let batch = per_op(N, || weft_batch(&pool, &mut handles));
        (one, batch)
    });
    row("weft, from a worker, one at a time", in_worker.0);
    row("weft, from a worker, batch", in_worker.1);

    let done = Arc::new(AtomicU64::new(0));
    row(
        "rayon spawn + atomic, outside, batch",
        per_op(N, || {
            for _ in 0..N {
                let done = Arc::clone(&done);
                rayon_pool.spawn(move || {
                    done.fetch_add(1, Ordering::Release);
                });
            }
            while done.load(Ordering::Acquire) < N {
                std::thread::yield_now();
            }
        }),
    );
    let mut receivers = Vec::with_capacity(N as usize);
    row(
        "rayon spawn + crossbeam channel per job, outside",
        per_op(N, || {
            for i in 0..N {
                let (tx, rx) = crossbeam_channel::bounded(1);
                rayon_pool.spawn(move || tx.send(black_box(i)).unwrap());
                receivers.push(rx);
            }
            for rx in receivers.drain(..) {
                black_box(rx.recv().unwrap());
            }
        }),
    );
    println!("  (caller: allocations by the spawning thread; process: by every thread, per job)");
}
