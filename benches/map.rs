//! `pool.map` over 10,000,000 tiny items against rayon `into_par_iter().map().collect()`.
//!
//! `cargo bench --bench map`

mod common;

use rayon::prelude::*;

const ITEMS: u64 = 10_000_000;

fn tiny(x: u64) -> u64 {
    (x ^ (x >> 7)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (weft_pool, rayon_pool) = common::pools(threads);

    let mut group = common::heavy_group(&mut c, "map_10M_tiny_items");
    group.throughput(criterion::Throughput::Elements(ITEMS));
    group.bench_function("weft_pool_map", |b| {
        common::bench(b, "weft", || {
            let out = weft_pool.map(0..ITEMS, tiny);
            assert_eq!(out.len() as u64, ITEMS);
            out
        })
    });
    group.bench_function("rayon_par_iter_map_collect", |b| {
        common::bench(b, "rayon", || {
            let out: Vec<u64> =
                rayon_pool.install(|| (0..ITEMS).into_par_iter().map(tiny).collect());
            assert_eq!(out.len() as u64, ITEMS);
            out
        })
    });
    group.bench_function("sequential_map_collect", |b| {
        common::bench(b, "sequential", || {
            (0..ITEMS).map(tiny).collect::<Vec<u64>>()
        })
    });
    group.finish();
    c.final_summary();

    common::summary_heading(&format!("map over {ITEMS} tiny items, {threads} threads"));
    common::print_time("weft pool.map", "weft", ITEMS);
    common::print_time("rayon into_par_iter().map().collect()", "rayon", ITEMS);
    common::print_time("sequential map().collect()", "sequential", ITEMS);
    common::print_ratio(
        "weft / rayon",
        ("weft", ITEMS),
        ("rayon", ITEMS),
        Some("<= 1.1"),
    );

    let p50 = common::interleaved(
        "map over 10M tiny items",
        21,
        vec![
            (
                "weft pool.map",
                Box::new(common::time(|| weft_pool.map(0..ITEMS, tiny))),
            ),
            (
                "rayon par_iter map collect",
                Box::new(common::time(|| {
                    rayon_pool
                        .install(|| (0..ITEMS).into_par_iter().map(tiny).collect::<Vec<u64>>())
                })),
            ),
        ],
    );
    common::print_interleaved_ratio("weft / rayon", p50[0], p50[1], Some("<= 1.1"));
}
