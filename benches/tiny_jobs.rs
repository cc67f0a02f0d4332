//! Tiny jobs: 1,000,000 spawns of a trivial closure, each result read through its own
//! handle, against rayon `scope.spawn` + an atomic, threadpool + mpsc, and rayon `spawn`
//! with a channel per job (100,000 of those: per-job time is what counts).
//!
//! `cargo bench --bench tiny_jobs`

mod common;

use std::hint::black_box;
use std::sync::mpsc;

use criterion::{BenchmarkId, Throughput};

const JOBS: u64 = 1_000_000;
const CHANNEL_JOBS: u64 = 100_000;

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (weft_pool, rayon_pool) = common::pools(threads);
    let threadpool = threadpool::ThreadPool::new(threads);
    let expected = JOBS * (JOBS - 1) / 2;

    let mut group = common::heavy_group(&mut c, "tiny_jobs");
    group.throughput(Throughput::Elements(JOBS));
    group.bench_function(BenchmarkId::new("weft_spawn_join", "outside"), |b| {
        common::bench(b, "weft_outside", || {
            assert_eq!(common::weft_spawn_join_all(&weft_pool, JOBS), expected);
        })
    });
    group.bench_function(BenchmarkId::new("weft_spawn_join", "in_worker"), |b| {
        common::bench(b, "weft_worker", || {
            let sum = weft_pool.install(|| common::weft_spawn_join_all(&weft_pool, JOBS));
            assert_eq!(sum, expected);
        })
    });
    group.bench_function("rayon_scope_spawn_atomic", |b| {
        common::bench(b, "rayon_scope", || {
            assert_eq!(common::rayon_scope_spawn_all(&rayon_pool, JOBS), expected);
        })
    });
    group.bench_function("threadpool_mpsc", |b| {
        common::bench(b, "threadpool", || {
            let (tx, rx) = mpsc::channel();
            for i in 0..JOBS {
                let tx = tx.clone();
                threadpool.execute(move || tx.send(black_box(i)).unwrap());
            }
            drop(tx);
            assert_eq!(rx.iter().fold(0, u64::wrapping_add), expected);
        })
    });
    group.throughput(Throughput::Elements(CHANNEL_JOBS));
    group.bench_function("rayon_spawn_channel_per_job", |b| {
        common::bench(b, "rayon_channel", || {
            let receivers: Vec<_> = (0..CHANNEL_JOBS)
                .map(|i| {
                    let (tx, rx) = crossbeam_channel::bounded(1);
                    rayon_pool.spawn(move || tx.send(black_box(i)).unwrap());
                    rx
                })
                .collect();
            let sum = receivers
                .into_iter()
                .map(|rx| rx.recv().unwrap())
                .fold(0, u64::wrapping_add);
            assert_eq!(sum, CHANNEL_JOBS * (CHANNEL_JOBS - 1) / 2);
        })
    });
    group.finish();
    c.final_summary();

    common::summary_heading(&format!("tiny jobs, {threads} threads"));
    common::print_time("weft spawn+join, from outside", "weft_outside", JOBS);
    common::print_time("weft spawn+join, from a worker", "weft_worker", JOBS);
    common::print_time("rayon scope.spawn + atomic", "rayon_scope", JOBS);
    common::print_time("threadpool + mpsc", "threadpool", JOBS);
    common::print_time(
        "rayon spawn + channel per job",
        "rayon_channel",
        CHANNEL_JOBS,
    );
    let target = Some("<= 0.33");
    common::print_ratio(
        "weft outside / rayon scope.spawn",
        ("weft_outside", JOBS),
        ("rayon_scope", JOBS),
        target,
    );
    common::print_ratio(
        "weft in worker / rayon scope.spawn",
        ("weft_worker", JOBS),
        ("rayon_scope", JOBS),
        target,
    );
    common::print_ratio(
        "weft outside / threadpool+mpsc",
        ("weft_outside", JOBS),
        ("threadpool", JOBS),
        None,
    );
    common::print_ratio(
        "weft outside / rayon spawn+channel",
        ("weft_outside", JOBS),
        ("rayon_channel", CHANNEL_JOBS),
        None,
    );

    let p50 = common::interleaved(
        "1M tiny jobs",
        11,
        vec![
            (
                "weft spawn+join, outside",
                Box::new(common::time(|| {
                    common::weft_spawn_join_all(&weft_pool, JOBS)
                })),
            ),
            (
                "weft spawn+join, in a worker",
                Box::new(common::time(|| {
                    weft_pool.install(|| common::weft_spawn_join_all(&weft_pool, JOBS))
                })),
            ),
            (
                "rayon scope.spawn + atomic",
                Box::new(common::time(|| {
                    common::rayon_scope_spawn_all(&rayon_pool, JOBS)
                })),
            ),
        ],
    );
    common::print_interleaved_ratio(
        "weft outside / rayon scope.spawn",
        p50[0],
        p50[2],
        Some("<= 0.33"),
    );
    common::print_interleaved_ratio(
        "weft in worker / rayon scope.spawn",
        p50[1],
        p50[2],
        Some("<= 0.33"),
    );
}
