//! Parallel sort of 10,000,000 random u64 (the `sort` workload, a merge sort on join)
//! against rayon `par_sort_unstable` and `sort_unstable`. Each run sorts a fresh copy made
//! outside the timed span.
//!
//! `cargo bench --bench sort`

mod common;

use rayon::slice::ParallelSliceMut;
use weft_tune::workloads::sort::{par_sort, par_sort_with_scratch, random_keys};

const LEN: usize = 10_000_000;

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (weft_pool, rayon_pool) = common::pools(threads);
    let keys = random_keys(LEN, 42);

    let mut group = common::heavy_group(&mut c, "sort_10M_u64");
    group.throughput(criterion::Throughput::Elements(LEN as u64));
    group.bench_function("weft_par_sort_join", |b| {
        common::bench_with_setup(
            b,
            "weft",
            || keys.clone(),
            |mut v| {
                par_sort(&weft_pool, &mut v);
                v
            },
        )
    });
    let mut scratch = Vec::new();
    group.bench_function("weft_par_sort_join_reused_scratch", |b| {
        common::bench_with_setup(
            b,
            "weft_scratch",
            || keys.clone(),
            |mut v| {
                par_sort_with_scratch(&weft_pool, &mut v, &mut scratch);
                v
            },
        )
    });
    group.bench_function("rayon_par_sort_unstable", |b| {
        common::bench_with_setup(
            b,
            "rayon",
            || keys.clone(),
            |mut v| {
                rayon_pool.install(|| v.par_sort_unstable());
                v
            },
        )
    });
    group.bench_function("sort_unstable", |b| {
        common::bench_with_setup(
            b,
            "sequential",
            || keys.clone(),
            |mut v| {
                v.sort_unstable();
                v
            },
        )
    });
    group.finish();
    c.final_summary();

    // The benches time the sorts; check the results once, outside the timings.
    let mut expected = keys.clone();
    expected.sort_unstable();
    let mut ours = keys.clone();
    par_sort(&weft_pool, &mut ours);
    assert_eq!(ours, expected, "weft's par_sort differs from sort_unstable");

    common::summary_heading(&format!("sort of {LEN} random u64, {threads} threads"));
    common::print_time("weft par_sort (merge sort on join)", "weft", 1);
    common::print_time(
        "weft par_sort, scratch reused across runs",
        "weft_scratch",
        1,
    );
    common::print_time("rayon par_sort_unstable", "rayon", 1);
    common::print_time("sort_unstable", "sequential", 1);
    common::print_ratio("weft / rayon", ("weft", 1), ("rayon", 1), Some("<= 1.05"));
    common::print_ratio("weft / sort_unstable", ("weft", 1), ("sequential", 1), None);
    common::print_ratio(
        "weft, reused scratch / rayon",
        ("weft_scratch", 1),
        ("rayon", 1),
        None,
    );

    fn timed_sort(
        keys: &[u64],
        mut sort: impl FnMut(&mut Vec<u64>),
    ) -> impl FnMut() -> std::time::Duration {
        move || {
            let mut copy = keys.to_vec();
            let start = std::time::Instant::now();
            sort(&mut copy);
            start.elapsed()
        }
    }
    let p50 = common::interleaved(
        "sort of 10M u64",
        11,
        vec![
            (
                "weft par_sort",
                Box::new(timed_sort(&keys, |v| par_sort(&weft_pool, v))),
            ),
            (
                "weft par_sort, reused scratch",
                Box::new(timed_sort(&keys, |v| {
                    par_sort_with_scratch(&weft_pool, v, &mut scratch)
                })),
            ),
            (
                "rayon par_sort_unstable",
                Box::new(timed_sort(&keys, |v| {
                    rayon_pool.install(|| v.par_sort_unstable())
                })),
            ),
            (
                "sort_unstable",
                Box::new(timed_sort(&keys, |v| v.sort_unstable())),
            ),
        ],
    );
    common::print_interleaved_ratio("weft / rayon", p50[0], p50[2], Some("<= 1.05"));
    common::print_interleaved_ratio("weft, reused scratch / rayon", p50[1], p50[2], None);
    common::print_interleaved_ratio("weft / sort_unstable", p50[0], p50[3], None);
}
