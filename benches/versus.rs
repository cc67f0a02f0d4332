//! The rows of TARGETS.md in one run, each against its parallel contender: rayon, or two
//! plain scoped threads for the sum. Every round builds FRESH pools for both contenders
//! (rayon's tiny-job time is bimodal per pool), runs them in turn, A B then B A, and takes
//! the ratio of the two times of that round; a row prints the median ratio over its
//! rounds and their range. Times move by up to 3x between minutes on the 2-core build
//! machine, the ratio of neighbours much less.
//!
//! `cargo bench --bench versus`; `WEFT_VERSUS_ROUNDS=21` for more rounds (default 9),
//! `WEFT_VERSUS_ROWS=fib,tree` for some rows only (names as printed).

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use weft::ThreadPool;

const THREADS: usize = 2;

fn weft_pool() -> ThreadPool {
    ThreadPool::new(THREADS).expect("a weft pool")
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("a rayon pool")
}

fn time<R>(f: impl FnOnce() -> R) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

/// One row: `rounds` rounds of (weft, baseline) on fresh state from `setup`, order
/// alternating; prints and returns the median ratio weft / baseline.
fn row<S>(
    name: &str,
    what: &str,
    target: &str,
    rounds: usize,
    mut setup: impl FnMut() -> S,
    mut weft: impl FnMut(&mut S) -> Duration,
    mut base: impl FnMut(&mut S) -> Duration,
) {
    if let Ok(rows) = std::env::var("WEFT_VERSUS_ROWS")
        && !rows.split(',').any(|r| name.starts_with(r.trim()))
    {
        return;
    }
    let mut ratios = Vec::with_capacity(rounds);
    let (mut weft_times, mut base_times) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut state = setup();
        let (w, b) = if round % 2 == 0 {
            let w = weft(&mut state);
            (w, base(&mut state))
        } else {
            let b = base(&mut state);
            (weft(&mut state), b)
        };
        ratios.push(w.as_secs_f64() / b.as_secs_f64());
        weft_times.push(w.as_secs_f64());
        base_times.push(b.as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m = median(&mut ratios);
    let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
    println!(
        "{name:<14} {m:>6.3}x  (rounds {lo:.2}x-{hi:.2}x; weft p50 {}, baseline p50 {})  {what}; target {target}",
        show(median(&mut weft_times)),
        show(median(&mut base_times)),
    );
}

fn show(secs: f64) -> String {
    if secs < 1e-3 {
        format!("{:.1} us", secs * 1e6)
    } else {
        format!("{:.2} ms", secs * 1e3)
    }
}

// ---- tiny jobs ----

const TINY_JOBS: u64 = 1_000_000;

// ---- fork-join ----

fn weft_fib(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    let (a, b) = weft::join(|| weft_fib(n - 1), || weft_fib(n - 2));
    a + b
}

fn rayon_fib(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    let (a, b) = rayon::join(|| rayon_fib(n - 1), || rayon_fib(n - 2));
    a + b
}

struct Node {
    value: u64,
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

fn tree(depth: u32, next: &mut u64) -> Option<Box<Node>> {
    if depth == 0 {
        return None;
    }
    *next += 1;
    let value = *next;
    Some(Box::new(Node {
        value,
        left: tree(depth - 1, next),
        right: tree(depth - 1, next),
    }))
}

fn weft_tree_sum(node: &Option<Box<Node>>) -> u64 {
    match node {
        None => 0,
        Some(n) => {
            let (a, b) = weft::join(|| weft_tree_sum(&n.left), || weft_tree_sum(&n.right));
            n.value + a + b
        }
    }
}

fn rayon_tree_sum(node: &Option<Box<Node>>) -> u64 {
    match node {
        None => 0,
        Some(n) => {
            let (a, b) = rayon::join(|| rayon_tree_sum(&n.left), || rayon_tree_sum(&n.right));
            n.value + a + b
        }
    }
}

// ---- sort: the same quicksort on either join ----

/// The same quicksort on each contender's `join` (the partition and the leaf sort are
/// shared, not inlined, so both run the same machine code for the work).
macro_rules! quicksort_on {
    ($name:ident, $join:path) => {
        fn $name(v: &mut [u64]) {
            if v.len() <= 1024 {
                leaf_sort(v);
                return;
            }
            let mid = partition(v);
            let (lo, hi) = v.split_at_mut(mid);
            $join(|| $name(lo), || $name(&mut hi[1..]));
        }
    };
}

quicksort_on!(weft_quicksort, weft::join);
quicksort_on!(rayon_quicksort, rayon::join);

#[inline(never)]
fn leaf_sort(v: &mut [u64]) {
    v.sort_unstable();
}

#[inline(never)]
fn partition(v: &mut [u64]) -> usize {
    let last = v.len() - 1;
    v.swap(v.len() / 2, last);
    let pivot = v[last];
    let mut store = 0;
    for i in 0..last {
        if v[i] < pivot {
            v.swap(i, store);
            store += 1;
        }
    }
    v.swap(store, last);
    store
}

fn keys(len: usize) -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect()
}

// ---- map and sum ----

#[inline(never)]
fn tiny(x: u64) -> u64 {
    (x ^ (x >> 7)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

const SUM_N: u64 = 1_000_000_000;
const CHUNKS: u64 = 64;

/// The chunk kernel both contenders run: the same machine code, not inlined into either.
#[inline(never)]
fn sum_chunk(chunk: u64) -> u64 {
    let len = SUM_N / CHUNKS;
    let mut sum = 0u64;
    for i in chunk * len..(chunk + 1) * len {
        sum = sum.wrapping_add(black_box(i));
    }
    sum
}

fn threads_sum() -> u64 {
    let next = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let mut mine = 0u64;
                loop {
                    // ORDERING: Relaxed: only the counter's own order matters.
                    let chunk = next.fetch_add(1, Ordering::Relaxed);
                    if chunk >= CHUNKS {
                        break;
                    }
                    mine = mine.wrapping_add(sum_chunk(chunk));
                }
                // ORDERING: Relaxed: read after the scope joined both threads.
                total.fetch_add(mine, Ordering::Relaxed);
            });
        }
    });
    // ORDERING: Relaxed: the scope's end orders both adds before this load.
    total.load(Ordering::Relaxed)
}

fn main() {
    // `cargo test --benches` runs this binary with no `--bench` flag: then only build.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds: usize = std::env::var("WEFT_VERSUS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    println!("weft / baseline, {THREADS} threads, fresh pools every round, {rounds} rounds");

    let expected_tiny = TINY_JOBS * (TINY_JOBS - 1) / 2;
    row(
        "tiny_outside",
        "1M spawns from outside, each joined by handle, vs rayon scope+spawn+atomic",
        "<= 0.5x",
        rounds,
        || (weft_pool(), rayon_pool()),
        |(w, _)| time(|| assert_eq!(common::weft_spawn_join_all(w, TINY_JOBS), expected_tiny)),
        |(_, r)| time(|| assert_eq!(common::rayon_scope_spawn_all(r, TINY_JOBS), expected_tiny)),
    );
    row(
        "tiny_worker",
        "the same inside install, vs rayon scope.spawn inside install",
        "<= 0.5x",
        rounds,
        || (weft_pool(), rayon_pool()),
        |(w, _)| {
            time(|| {
                assert_eq!(
                    w.install(|| common::weft_spawn_join_all(w, TINY_JOBS)),
                    expected_tiny
                )
            })
        },
        |(_, r)| {
            time(|| {
                assert_eq!(
                    r.install(|| common::rayon_scope_spawn_all(r, TINY_JOBS)),
                    expected_tiny
                )
            })
        },
    );
    row(
        "fib30",
        "fib(30), join at every level, vs rayon join",
        "<= 0.5x",
        rounds,
        || (weft_pool(), rayon_pool()),
        |(w, _)| time(|| assert_eq!(w.install(|| weft_fib(30)), 832_040)),
        |(_, r)| time(|| assert_eq!(r.install(|| rayon_fib(30)), 832_040)),
    );
    let mut next = 0;
    let small = tree(10, &mut next);
    let small_sum = 1023 * 1024 / 2;
    row(
        "tree_1k",
        "1023-node tree sum x 1000, join at every node, vs rayon join",
        "<= 0.5x",
        rounds,
        || (weft_pool(), rayon_pool()),
        |(w, _)| {
            time(|| {
                w.install(|| {
                    for _ in 0..1000 {
                        assert_eq!(weft_tree_sum(black_box(&small)), small_sum);
                    }
                })
            })
        },
        |(_, r)| {
            time(|| {
                r.install(|| {
                    for _ in 0..1000 {
                        assert_eq!(rayon_tree_sum(black_box(&small)), small_sum);
                    }
                })
            })
        },
    );
    let mut next = 0;
    let big = tree(22, &mut next);
    let big_sum = next * (next + 1) / 2;
    row(
        "tree_4m",
        "2^22-1-node tree sum, join at every node, vs rayon join",
        "<= 0.6x",
        rounds,
        || (weft_pool(), rayon_pool()),
        |(w, _)| time(|| assert_eq!(w.install(|| weft_tree_sum(&big)), big_sum)),
        |(_, r)| time(|| assert_eq!(r.install(|| rayon_tree_sum(&big)), big_sum)),
    );
    drop(big);
    row(
        "map_10m",
        "pool.map over 10M tiny items vs rayon par_iter().map().collect()",
        "<= 1.0x",
        rounds,
        || (weft_pool(), rayon_pool()),
        |(w, _)| time(|| assert_eq!(w.map(0..10_000_000u64, tiny).len(), 10_000_000)),
        |(_, r)| {
            time(|| {
                let out: Vec<u64> =
                    r.install(|| (0..10_000_000u64).into_par_iter().map(tiny).collect());
                assert_eq!(out.len(), 10_000_000);
            })
        },
    );
    let unsorted = keys(10_000_000);
    let mut sorted = unsorted.clone();
    sorted.sort_unstable();
    row(
        "sort_10m",
        "the same quicksort of 10M u64 on weft::join vs on rayon::join",
        "<= 1.0x",
        rounds,
        || {
            (
                weft_pool(),
                rayon_pool(),
                unsorted.clone(),
                unsorted.clone(),
            )
        },
        |(w, _, a, _)| {
            let t = time(|| w.install(|| weft_quicksort(a)));
            assert!(*a == sorted);
            t
        },
        |(_, r, _, b)| {
            let t = time(|| r.install(|| rayon_quicksort(b)));
            assert!(*b == sorted);
            t
        },
    );
    let expected_sum = (0..CHUNKS).map(sum_chunk).fold(0, u64::wrapping_add);
    row(
        "sum_1e9",
        "sum 0..1e9 in 64 chunks via pool.map vs 2 plain scoped threads on an atomic counter (ratio of times; target is of throughput)",
        "<= 1.03x (>= 0.97x throughput)",
        rounds,
        weft_pool,
        |w| {
            time(|| {
                let sums = w.map(0..CHUNKS, sum_chunk);
                assert_eq!(sums.into_iter().fold(0, u64::wrapping_add), expected_sum);
            })
        },
        |_| time(|| assert_eq!(threads_sum(), expected_sum)),
    );
}
