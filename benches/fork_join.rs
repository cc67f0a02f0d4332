//! Fork-join: fib(32) with a join at every level and no cutoff, weft against rayon (and
//! the plain recursion).
//!
//! `cargo bench --bench fork_join`

mod common;

use weft_tune::workloads::fib::{self, fib_join, fib_sequential};

const N: u32 = 32;

fn rayon_fib(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    let (a, b) = rayon::join(|| rayon_fib(n - 1), || rayon_fib(n - 2));
    a + b
}

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (weft_pool, rayon_pool) = common::pools(threads);
    let expected = fib::expected(N);

    let mut group = common::heavy_group(&mut c, "fib32_join_every_level");
    group.bench_function("weft_join", |b| {
        common::bench(b, "weft", || {
            assert_eq!(weft_pool.install(|| fib_join(N)), expected)
        })
    });
    group.bench_function("rayon_join", |b| {
        common::bench(b, "rayon", || {
            assert_eq!(rayon_pool.install(|| rayon_fib(N)), expected)
        })
    });
    group.bench_function("sequential", |b| {
        common::bench(b, "sequential", || {
            assert_eq!(fib_sequential(std::hint::black_box(N)), expected)
        })
    });
    group.finish();
    c.final_summary();

    common::summary_heading(&format!("fib({N}), join at every level, {threads} threads"));
    common::print_time("weft join", "weft", 1);
    common::print_time("rayon join", "rayon", 1);
    common::print_time("sequential recursion", "sequential", 1);
    common::print_ratio("weft / rayon", ("weft", 1), ("rayon", 1), Some("<= 1.0"));

    let p50 = common::interleaved(
        "fib(32)",
        31,
        vec![
            (
                "weft join",
                Box::new(common::time(|| weft_pool.install(|| fib_join(N)))),
            ),
            (
                "rayon join",
                Box::new(common::time(|| rayon_pool.install(|| rayon_fib(N)))),
            ),
            (
                "sequential",
                Box::new(common::time(|| fib_sequential(std::hint::black_box(N)))),
            ),
        ],
    );
    common::print_interleaved_ratio("weft / rayon", p50[0], p50[1], Some("<= 1.0"));
}
