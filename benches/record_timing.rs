//! What `record_timing(true)` costs on the tiny-jobs workload: 1,000,000 spawns of a trivial
//! closure, each result read through its own handle, from outside the pool and from a
//! worker, on a pool with timing on against the same pool without it. Criterion first (one
//! pool of each kind for all samples), then interleaved rounds with fresh pools each round
//! (built and shut down outside the timing).
//!
//! `cargo bench --bench record_timing`

mod common;

use std::time::Duration;

use criterion::Throughput;
use weft::ThreadPool;

const JOBS: u64 = 1_000_000;
const ROUNDS: usize = 11;

fn pool(threads: usize, record_timing: bool) -> ThreadPool {
    ThreadPool::builder()
        .num_threads(threads)
        .record_timing(record_timing)
        .build()
        .expect("build the weft pool")
}

fn from_outside(pool: &ThreadPool) -> u64 {
    common::weft_spawn_join_all(pool, JOBS)
}

fn from_a_worker(pool: &ThreadPool) -> u64 {
    pool.install(|| common::weft_spawn_join_all(pool, JOBS))
}

/// Times `work` on a fresh pool; the pool is built and shut down untimed.
fn fresh(
    threads: usize,
    record_timing: bool,
    work: fn(&ThreadPool) -> u64,
) -> impl FnMut() -> Duration {
    move || {
        let pool = pool(threads, record_timing);
        let elapsed = common::time(|| work(&pool))();
        pool.shutdown();
        elapsed
    }
}

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (plain, timed) = (pool(threads, false), pool(threads, true));
    let expected = JOBS * (JOBS - 1) / 2;

    let mut group = common::heavy_group(&mut c, "record_timing_tiny_jobs");
    group.throughput(Throughput::Elements(JOBS));
    for (name, pool) in [("off", &plain), ("on", &timed)] {
        group.bench_function(format!("outside_timing_{name}"), |b| {
            common::bench(b, &format!("outside_{name}"), || {
                assert_eq!(from_outside(pool), expected);
            })
        });
        group.bench_function(format!("in_worker_timing_{name}"), |b| {
            common::bench(b, &format!("worker_{name}"), || {
                assert_eq!(from_a_worker(pool), expected);
            })
        });
    }
    group.finish();
    c.final_summary();

    let stats = timed.stats();
    common::summary_heading(&format!(
        "tiny jobs with record_timing on and off, {threads} threads"
    ));
    common::print_time("spawn+join from outside, timing off", "outside_off", JOBS);
    common::print_time("spawn+join from outside, timing on", "outside_on", JOBS);
    common::print_time("spawn+join from a worker, timing off", "worker_off", JOBS);
    common::print_time("spawn+join from a worker, timing on", "worker_on", JOBS);
    let target = Some("<= 1.15");
    common::print_ratio(
        "outside: on / off",
        ("outside_on", JOBS),
        ("outside_off", JOBS),
        target,
    );
    common::print_ratio(
        "from a worker: on / off",
        ("worker_on", JOBS),
        ("worker_off", JOBS),
        target,
    );
    println!("  the timed pool's stats after the criterion runs:");
    for line in stats.to_string().lines() {
        println!("    {line}");
    }
    drop((plain, timed));

    let p50 = common::interleaved(
        "1M tiny jobs, fresh pools each round",
        ROUNDS,
        vec![
            (
                "outside, timing off",
                Box::new(fresh(threads, false, from_outside)),
            ),
            (
                "outside, timing on",
                Box::new(fresh(threads, true, from_outside)),
            ),
            (
                "from a worker, timing off",
                Box::new(fresh(threads, false, from_a_worker)),
            ),
            (
                "from a worker, timing on",
                Box::new(fresh(threads, true, from_a_worker)),
            ),
        ],
    );
    common::print_interleaved_ratio("outside: on / off", p50[1], p50[0], target);
    common::print_interleaved_ratio("from a worker: on / off", p50[3], p50[2], target);
}
