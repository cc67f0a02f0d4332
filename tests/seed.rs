//! The seed's Node examples, end to end through the `weft` facade.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use weft::shared::{Int32View, SharedBuffer, WaitResult};
use weft::{ThreadPool, WorkerContext};

/// Seed 1: sum a range in worker threads, each worker summing its part, then add the parts.
#[test]
fn seed_sum_split_over_workers_matches_the_sequential_sum() {
    let pool = ThreadPool::new(2).unwrap();
    let n: u64 = if cfg!(miri) { 1_000 } else { 10_000_000 };
    let parts = 8u64;
    let handles: Vec<_> = (0..parts)
        .map(|part| {
            pool.spawn(move || {
                let (start, end) = (part * n / parts, (part + 1) * n / parts);
                (start..end).map(std::hint::black_box).sum::<u64>()
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, n * (n - 1) / 2);
}

/// Seed 2: `worker.postMessage('Start computation')`, the worker replies
/// `Computation result: ...`.
#[test]
fn seed_message_round_trip() {
    let pool = ThreadPool::new(2).unwrap();
    let worker = pool.spawn_worker(|ctx: WorkerContext<String, String>| {
        let message = ctx.recv().unwrap();
        assert_eq!(message, "Start computation");
        let result: u64 = (0..1_000_000u64).sum();
        ctx.send(format!("Computation result: {result}")).unwrap();
    });
    worker.send("Start computation".into()).unwrap();
    assert_eq!(worker.recv().unwrap(), "Computation result: 499999500000");
    worker.join().unwrap();
}

/// Seed 3: a SharedArrayBuffer with an Int32Array; a worker does `Atomics.store(view, 0, 42)`
/// and the main thread reads 42 (after `Atomics.wait` until it changed).
#[test]
fn seed_shared_memory_job_stores_42_main_reads_42() {
    let pool = ThreadPool::new(2).unwrap();
    let buffer = SharedBuffer::new(4);
    let view = Int32View::new(&buffer).unwrap();
    let job = {
        let view = view.clone();
        pool.spawn(move || {
            view.store(0, 42);
            view.notify(0, usize::MAX);
        })
    };
    let waited = view.wait(0, 0, Some(Duration::from_secs(30)));
    assert_ne!(waited, WaitResult::TimedOut);
    job.join().unwrap();
    assert_eq!(view.load(0), 42);
}

/// All three at once on one pool: the pieces compose.
#[test]
fn seed_examples_share_one_pool() {
    let pool = ThreadPool::new(2).unwrap();
    let buffer = SharedBuffer::new(8);
    let view = Int32View::new(&buffer).unwrap();
    let progress = Arc::new(AtomicU64::new(0));
    let worker = {
        let (view, progress) = (view.clone(), progress.clone());
        pool.spawn_worker(move |ctx: WorkerContext<u32, String>| {
            while let Ok(task) = ctx.recv() {
                view.add(1, task as i32);
                progress.fetch_add(1, Ordering::SeqCst);
                ctx.send(format!("done {task}")).unwrap();
            }
        })
    };
    for task in 1..=4 {
        worker.send(task).unwrap();
        assert_eq!(worker.recv().unwrap(), format!("done {task}"));
    }
    worker.join().unwrap();
    assert_eq!(view.load(1), 10);
    assert_eq!(progress.load(Ordering::SeqCst), 4);
    assert_eq!(pool.stats().completed, 1);
}
