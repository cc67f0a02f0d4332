//! The seed's workload: the sum of 0..1e9, black-boxed. Speed-up of a pool of all cores over
//! a pool of one thread (target >= 1.75x on 2 cores), and rayon `par_iter` the same way.
//!
//! `cargo bench --bench sum`

mod common;

use std::hint::black_box;

use rayon::prelude::*;
use weft_tune::workloads::sum::{expected, par_sum, sum_sequential};

const N: u64 = 1_000_000_000;

fn rayon_sum(pool: &rayon::ThreadPool) -> u64 {
    pool.install(|| (0..N).into_par_iter().map(black_box).sum())
}

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (weft_one, rayon_one) = common::pools(1);
    let (weft_all, rayon_all) = common::pools(threads);
    let want = expected(N);

    let mut group = common::heavy_group(&mut c, "sum_1e9_black_boxed");
    group.throughput(criterion::Throughput::Elements(N));
    group.bench_function("weft_1_thread", |b| {
        common::bench(b, "weft_1", || assert_eq!(par_sum(&weft_one, 0..N), want))
    });
    group.bench_function(format!("weft_{threads}_threads"), |b| {
        common::bench(b, "weft_all", || assert_eq!(par_sum(&weft_all, 0..N), want))
    });
    group.bench_function("rayon_1_thread", |b| {
        common::bench(b, "rayon_1", || assert_eq!(rayon_sum(&rayon_one), want))
    });
    group.bench_function(format!("rayon_{threads}_threads"), |b| {
        common::bench(b, "rayon_all", || assert_eq!(rayon_sum(&rayon_all), want))
    });
    group.bench_function("sequential_loop", |b| {
        common::bench(b, "sequential", || assert_eq!(sum_sequential(0..N), want))
    });
    group.finish();
    c.final_summary();

    common::summary_heading(&format!("sum of 0..{N}, black-boxed"));
    common::print_time("weft, 1 thread", "weft_1", N);
    common::print_time(&format!("weft, {threads} threads"), "weft_all", N);
    common::print_time("rayon, 1 thread", "rayon_1", N);
    common::print_time(&format!("rayon, {threads} threads"), "rayon_all", N);
    common::print_time("sequential loop", "sequential", N);
    // A speed-up is baseline / weft: print it as such.
    if let (Some(one), Some(all)) = (common::median_ns("weft_1"), common::median_ns("weft_all")) {
        println!(
            "  weft speed-up {threads} threads over 1: {:.2}x   (target >= 1.75x)",
            one / all
        );
    }
    if let (Some(one), Some(all)) = (common::median_ns("rayon_1"), common::median_ns("rayon_all")) {
        println!(
            "  rayon speed-up {threads} threads over 1: {:.2}x",
            one / all
        );
    }
    common::print_ratio(
        &format!("weft / rayon, {threads} threads"),
        ("weft_all", N),
        ("rayon_all", N),
        None,
    );

    let p50 = common::interleaved(
        "sum of 0..1e9",
        7,
        vec![
            (
                "weft, 1 thread",
                Box::new(common::time(|| par_sum(&weft_one, 0..N))),
            ),
            (
                "weft, all threads",
                Box::new(common::time(|| par_sum(&weft_all, 0..N))),
            ),
            (
                "rayon, 1 thread",
                Box::new(common::time(|| rayon_sum(&rayon_one))),
            ),
            (
                "rayon, all threads",
                Box::new(common::time(|| rayon_sum(&rayon_all))),
            ),
        ],
    );
    println!(
        "  weft speed-up all threads over 1: {:.2}x   (target >= 1.75x; interleaved p50s)",
        p50[0] / p50[1]
    );
    println!(
        "  rayon speed-up all threads over 1: {:.2}x   (interleaved p50s)",
        p50[2] / p50[3]
    );
    common::print_interleaved_ratio("weft / rayon, all threads", p50[1], p50[3], None);
}
