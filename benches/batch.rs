//! The batch helpers over 10,000,000 tiny items, each against its rayon counterpart:
//! `pool.map_init` against `into_par_iter().map_init().collect()`, `pool.map_reduce`
//! against `into_par_iter().map().reduce()`, and `pool.for_each` against
//! `into_par_iter().for_each()`. Criterion first (one pool pair for all samples), then
//! interleaved rounds with fresh pools each round (built and dropped outside the timing).
//!
//! `cargo bench --bench batch`

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

const ITEMS: u64 = 10_000_000;
const ROUNDS: usize = 15;

/// The per-item work of every contender (the `map` bench's). Not inlined, so that every
/// contender runs the same machine code for it: inlined into rayon's loop over a range chunk
/// it vectorised, and the bench compared the compilers' loops, not the pools.
#[inline(never)]
fn tiny(x: u64) -> u64 {
    (x ^ (x >> 7)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// `map_init`'s function: uses its per-thread state (a running value) on every item.
#[inline(never)]
fn with_state(state: &mut u64, x: u64) -> u64 {
    *state = state.wrapping_add(1);
    tiny(x) ^ *state
}

fn weft_map_init(pool: &weft::ThreadPool, inits: &AtomicUsize) -> Vec<u64> {
    pool.map_init(
        0..ITEMS,
        || {
            inits.fetch_add(1, Ordering::Relaxed);
            0u64
        },
        with_state,
    )
}

fn rayon_map_init(pool: &rayon::ThreadPool, inits: &AtomicUsize) -> Vec<u64> {
    pool.install(|| {
        (0..ITEMS)
            .into_par_iter()
            .map_init(
                || {
                    inits.fetch_add(1, Ordering::Relaxed);
                    0u64
                },
                with_state,
            )
            .collect()
    })
}

fn weft_map_reduce(pool: &weft::ThreadPool) -> u64 {
    pool.map_reduce(0..ITEMS, tiny, u64::wrapping_add)
        .expect("items")
}

fn rayon_map_reduce(pool: &rayon::ThreadPool) -> u64 {
    pool.install(|| {
        (0..ITEMS)
            .into_par_iter()
            .map(tiny)
            .reduce(|| 0, u64::wrapping_add)
    })
}

fn weft_for_each(pool: &weft::ThreadPool) {
    pool.for_each(0..ITEMS, |x| {
        black_box(tiny(x));
    });
}

fn rayon_for_each(pool: &rayon::ThreadPool) {
    pool.install(|| {
        (0..ITEMS).into_par_iter().for_each(|x| {
            black_box(tiny(x));
        })
    });
}

/// Times `work` on a fresh weft pool; the pool is built and shut down untimed.
fn fresh_weft<R>(
    threads: usize,
    work: impl Fn(&weft::ThreadPool) -> R,
) -> impl FnMut() -> std::time::Duration {
    move || {
        let pool = common::weft_pool(threads);
        let elapsed = common::time(|| work(&pool))();
        pool.shutdown();
        elapsed
    }
}

/// Times `work` on a fresh rayon pool; the pool is built and dropped untimed.
fn fresh_rayon<R>(
    threads: usize,
    work: impl Fn(&rayon::ThreadPool) -> R,
) -> impl FnMut() -> std::time::Duration {
    move || {
        let pool = common::rayon_pool(threads);
        let elapsed = common::time(|| work(&pool))();
        drop(pool);
        elapsed
    }
}

fn main() {
    let mut c = common::criterion();
    let threads = common::threads();
    let (weft_pool, rayon_pool) = common::pools(threads);
    let expected_sum = (0..ITEMS).map(tiny).fold(0, u64::wrapping_add);
    assert_eq!(weft_map_reduce(&weft_pool), expected_sum);
    assert_eq!(rayon_map_reduce(&rayon_pool), expected_sum);

    let weft_inits = AtomicUsize::new(0);
    let rayon_inits = AtomicUsize::new(0);
    let mut group = common::heavy_group(&mut c, "batch_10M_tiny_items");
    group.throughput(criterion::Throughput::Elements(ITEMS));
    group.bench_function("weft_map_init", |b| {
        common::bench(b, "weft_map_init", || {
            weft_map_init(&weft_pool, &weft_inits)
        })
    });
    group.bench_function("rayon_map_init_collect", |b| {
        common::bench(b, "rayon_map_init", || {
            rayon_map_init(&rayon_pool, &rayon_inits)
        })
    });
    group.bench_function("weft_map_reduce", |b| {
        common::bench(b, "weft_map_reduce", || weft_map_reduce(&weft_pool))
    });
    group.bench_function("rayon_map_reduce", |b| {
        common::bench(b, "rayon_map_reduce", || rayon_map_reduce(&rayon_pool))
    });
    group.bench_function("weft_for_each", |b| {
        common::bench(b, "weft_for_each", || weft_for_each(&weft_pool))
    });
    group.bench_function("rayon_for_each", |b| {
        common::bench(b, "rayon_for_each", || rayon_for_each(&rayon_pool))
    });
    group.finish();
    c.final_summary();

    // init calls per call, over one call each.
    let (weft_once, rayon_once) = (AtomicUsize::new(0), AtomicUsize::new(0));
    drop(weft_map_init(&weft_pool, &weft_once));
    drop(rayon_map_init(&rayon_pool, &rayon_once));

    common::summary_heading(&format!(
        "batch helpers over {ITEMS} tiny items, {threads} threads"
    ));
    common::print_time("weft map_init", "weft_map_init", ITEMS);
    common::print_time("rayon map_init().collect()", "rayon_map_init", ITEMS);
    common::print_time("weft map_reduce", "weft_map_reduce", ITEMS);
    common::print_time("rayon map().reduce()", "rayon_map_reduce", ITEMS);
    common::print_time("weft for_each", "weft_for_each", ITEMS);
    common::print_time("rayon for_each", "rayon_for_each", ITEMS);
    println!(
        "  init calls in one map_init call: weft {}, rayon {}",
        weft_once.into_inner(),
        rayon_once.into_inner()
    );
    let target = Some("<= 1.0");
    for (label, weft, rayon) in [
        ("map_init: weft / rayon", "weft_map_init", "rayon_map_init"),
        (
            "map_reduce: weft / rayon",
            "weft_map_reduce",
            "rayon_map_reduce",
        ),
        ("for_each: weft / rayon", "weft_for_each", "rayon_for_each"),
    ] {
        common::print_ratio(label, (weft, ITEMS), (rayon, ITEMS), target);
    }
    drop((weft_pool, rayon_pool));

    let weft_inits = AtomicUsize::new(0);
    let rayon_inits = AtomicUsize::new(0);
    let p50 = common::interleaved(
        "10M tiny items, fresh pools each round",
        ROUNDS,
        vec![
            (
                "weft map_init",
                Box::new(fresh_weft(threads, |pool| weft_map_init(pool, &weft_inits))),
            ),
            (
                "rayon map_init().collect()",
                Box::new(fresh_rayon(threads, |pool| {
                    rayon_map_init(pool, &rayon_inits)
                })),
            ),
            (
                "weft map_reduce",
                Box::new(fresh_weft(threads, weft_map_reduce)),
            ),
            (
                "rayon map().reduce()",
                Box::new(fresh_rayon(threads, rayon_map_reduce)),
            ),
            (
                "weft for_each",
                Box::new(fresh_weft(threads, weft_for_each)),
            ),
            (
                "rayon for_each",
                Box::new(fresh_rayon(threads, rayon_for_each)),
            ),
        ],
    );
    common::print_interleaved_ratio("map_init: weft / rayon", p50[0], p50[1], target);
    common::print_interleaved_ratio("map_reduce: weft / rayon", p50[2], p50[3], target);
    common::print_interleaved_ratio("for_each: weft / rayon", p50[4], p50[5], target);
}
