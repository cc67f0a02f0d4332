//! Tiny jobs with and without lanes in use: 1,000,000 spawns of a trivial closure, each
//! result read through its own handle, three ways: plain `pool.spawn`, the same through
//! `pool.job().priority(Priority::Normal).spawn` (the builder path), and a mix cycling
//! `High`, `Normal`, `Low`. From outside the pool and from a worker (inside `install`).
//! rayon's `scope.spawn` + an atomic runs beside them as the parallel contender of
//! `benches/tiny_jobs.rs`. The target: the `Normal` paths cost no more than plain `spawn`
//! (and plain `spawn` no more than before the lanes; see README "Performance").
//!
//! Criterion first (one pool per contender), then interleaved rounds on fresh pools (each
//! round builds its pool untimed), whose p50 ratios are the fairer figure here.
//!
//! `cargo bench --bench lanes`

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Throughput};
use weft::{Priority, ThreadPool};

const JOBS: u64 = 1_000_000;
const ROUNDS: usize = 9;

/// How each job is submitted.
#[derive(Clone, Copy)]
enum Way {
    Plain,
    BuilderNormal,
    Mixed,
}

impl Way {
    const ALL: [Way; 3] = [Way::Plain, Way::BuilderNormal, Way::Mixed];

    fn label(self) -> &'static str {
        match self {
            Way::Plain => "pool.spawn",
            Way::BuilderNormal => "job().priority(Normal).spawn",
            Way::Mixed => "High/Normal/Low in turn",
        }
    }

    fn id(self, in_worker: bool) -> String {
        let way = match self {
            Way::Plain => "plain",
            Way::BuilderNormal => "builder_normal",
            Way::Mixed => "mixed_lanes",
        };
        format!("{way}_{}", if in_worker { "worker" } else { "outside" })
    }
}

const MIX: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

fn spawn_join_all(pool: &ThreadPool, jobs: u64, way: Way) -> u64 {
    let handles: Vec<_> = (0..jobs)
        .map(|i| match way {
            Way::Plain => pool.spawn(move || black_box(i)),
            Way::BuilderNormal => pool
                .job()
                .priority(Priority::Normal)
                .spawn(move || black_box(i)),
            Way::Mixed => pool
                .job()
                .priority(MIX[(i % 3) as usize])
                .spawn(move || black_box(i)),
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(0, u64::wrapping_add)
}

fn run(pool: &ThreadPool, way: Way, in_worker: bool) -> u64 {
    if in_worker {
        pool.install(|| spawn_join_all(pool, JOBS, way))
    } else {
        spawn_join_all(pool, JOBS, way)
    }
}

/// Times one run on a fresh pool (built and dropped untimed).
fn fresh_weft(threads: usize, way: Way, in_worker: bool) -> Duration {
    let pool = common::weft_pool(threads);
    let start = Instant::now();
    let sum = run(&pool, way, in_worker);
    let elapsed = start.elapsed();
    assert_eq!(sum, JOBS * (JOBS - 1) / 2);
    elapsed
}

fn fresh_rayon(threads: usize) -> Duration {
    let pool = common::rayon_pool(threads);
    let start = Instant::now();
    let sum = common::rayon_scope_spawn_all(&pool, JOBS);
    let elapsed = start.elapsed();
    assert_eq!(sum, JOBS * (JOBS - 1) / 2);
    elapsed
}

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (weft_pool, rayon_pool) = common::pools(threads);
    let expected = JOBS * (JOBS - 1) / 2;

    let mut group = common::heavy_group(&mut c, "lanes_tiny_jobs");
    group.throughput(Throughput::Elements(JOBS));
    for in_worker in [false, true] {
        for way in Way::ALL {
            let id = way.id(in_worker);
            group.bench_function(BenchmarkId::new("weft", &id), |b| {
                common::bench(b, &id, || {
                    assert_eq!(run(&weft_pool, way, in_worker), expected);
                })
            });
        }
    }
    group.bench_function("rayon_scope_spawn_atomic", |b| {
        common::bench(b, "rayon_scope", || {
            assert_eq!(common::rayon_scope_spawn_all(&rayon_pool, JOBS), expected);
        })
    });
    group.finish();
    c.final_summary();
    drop((weft_pool, rayon_pool));
    if !std::env::args().any(|arg| arg == "--bench") {
        // `cargo test --benches`: criterion ran each routine once; skip the rounds.
        return;
    }

    common::summary_heading(&format!(
        "tiny jobs and lanes, {threads} threads (load average {})",
        common::load_average()
    ));
    for in_worker in [false, true] {
        let place = if in_worker { "in a worker" } else { "outside" };
        for way in Way::ALL {
            common::print_time(
                &format!("{}, {place}", way.label()),
                &way.id(in_worker),
                JOBS,
            );
        }
    }
    common::print_time("rayon scope.spawn + atomic", "rayon_scope", JOBS);
    for in_worker in [false, true] {
        let place = if in_worker { "worker" } else { "outside" };
        for (way, target) in [(Way::BuilderNormal, Some("<= 1.0")), (Way::Mixed, None)] {
            common::print_ratio(
                &format!(
                    "{} / plain, {place}",
                    way.id(false).trim_end_matches("_outside")
                ),
                (&way.id(in_worker), JOBS),
                (&Way::Plain.id(in_worker), JOBS),
                target,
            );
        }
        common::print_ratio(
            &format!("plain {place} / rayon scope.spawn"),
            (&Way::Plain.id(in_worker), JOBS),
            ("rayon_scope", JOBS),
            None,
        );
    }

    let labels: Vec<String> = [false, true]
        .into_iter()
        .flat_map(|in_worker| {
            let place = if in_worker { "in a worker" } else { "outside" };
            Way::ALL.map(|way| format!("{}, {place}", way.label()))
        })
        .collect();
    let mut routines: Vec<common::Timed<'_>> = Vec::new();
    for (index, label) in labels.iter().enumerate() {
        let in_worker = index >= Way::ALL.len();
        let way = Way::ALL[index % Way::ALL.len()];
        routines.push((label, Box::new(move || fresh_weft(threads, way, in_worker))));
    }
    routines.push((
        "rayon scope.spawn + atomic",
        Box::new(move || fresh_rayon(threads)),
    ));
    let p50 = common::interleaved("1M tiny jobs, fresh pools", ROUNDS, routines);
    let per_job = |ns: f64| common::format_ns(ns / JOBS as f64);
    for (offset, place) in [(0, "outside"), (3, "worker")] {
        println!(
            "  per job, {place}: plain {}, builder Normal {}, mixed lanes {}; rayon {}",
            per_job(p50[offset]),
            per_job(p50[offset + 1]),
            per_job(p50[offset + 2]),
            per_job(p50[6])
        );
        common::print_interleaved_ratio(
            &format!("builder_normal / plain, {place}"),
            p50[offset + 1],
            p50[offset],
            Some("<= 1.0"),
        );
        common::print_interleaved_ratio(
            &format!("mixed_lanes / plain, {place}"),
            p50[offset + 2],
            p50[offset],
            None,
        );
        common::print_interleaved_ratio(
            &format!("plain {place} / rayon scope.spawn"),
            p50[offset],
            p50[6],
            None,
        );
    }
}
