//! Fork-join: `ThreadPool::join` and the free `weft::join` run both closures, on the pool
//! (or the global pool), and re-raise a panic only after both ended.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use common::{EXPECTED, expect_panic, panic_text, with_timeout};
use weft::ThreadPool;

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = weft::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn fib_sequential(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_sequential(n - 1) + fib_sequential(n - 2)
    }
}

#[test]
fn pool_join_runs_both_closures_and_returns_both_results() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (a, b) = pool.join(|| "a", || 2);
        assert_eq!((a, b), ("a", 2));
    });
}

#[test]
fn pool_join_runs_both_halves_on_the_pools_workers() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (a, b) = pool.join(weft::current_thread_index, weft::current_thread_index);
        assert!(matches!(a, Some(0 | 1)), "{a:?}");
        assert!(matches!(b, Some(0 | 1)), "{b:?}");
    });
}

#[test]
fn join_halves_may_borrow_disjoint_parts_mutably() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let mut data = vec![0u32; 1000];
        let (left, right) = data.split_at_mut(500);
        pool.join(
            || left.iter_mut().for_each(|x| *x = 1),
            || right.iter_mut().for_each(|x| *x = 2),
        );
        assert_eq!(data.iter().sum::<u32>(), 500 + 1000);
    });
}

#[test]
fn nested_joins_compute_fib_on_the_pool() {
    with_timeout(|| {
        let n = if cfg!(miri) { 8 } else { 20 };
        for threads in [1, 2] {
            let pool = ThreadPool::new(threads).unwrap();
            assert_eq!(
                pool.install(|| fib(n)),
                fib_sequential(n),
                "{threads} threads"
            );
        }
    });
}

#[test]
fn free_join_outside_any_pool_runs_on_the_global_pool() {
    with_timeout(|| {
        assert_eq!(weft::current_thread_index(), None);
        let (a, b) = weft::join(weft::current_thread_index, weft::current_thread_index);
        assert!(
            a.is_some() && b.is_some(),
            "both halves ran on pool workers: {a:?} {b:?}"
        );
        let n = if cfg!(miri) { 8 } else { 18 };
        assert_eq!(fib(n), fib_sequential(n));
    });
}

#[test]
fn free_join_inside_a_pool_uses_that_pool() {
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(2)
            .thread_name(|i| format!("joinpool-{i}"))
            .build()
            .unwrap();
        let names = pool.install(|| {
            weft::join(
                || std::thread::current().name().map(str::to_owned),
                || std::thread::current().name().map(str::to_owned),
            )
        });
        assert!(names.0.unwrap().starts_with("joinpool-"));
        assert!(names.1.unwrap().starts_with("joinpool-"));
    });
}

#[test]
fn free_join_inside_a_spawned_job_completes_on_one_thread() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.spawn(|| fib(15));
        assert_eq!(handle.join().unwrap(), fib_sequential(15));
    });
}

/// `b` can only return after `a` started unwinding (it waits for the sender `a` drops).
#[test]
fn a_panic_in_a_is_reraised_after_b_finished() {
    with_timeout(|| {
        for threads in [1, 2] {
            let pool = ThreadPool::new(threads).unwrap();
            let b_finished = AtomicBool::new(false);
            let (tx, rx) = mpsc::channel::<()>();
            let b_finished_ref = &b_finished;
            let payload = expect_panic(|| {
                pool.join(
                    move || {
                        let _tx = tx;
                        panic!("a {EXPECTED}")
                    },
                    move || {
                        let _ = rx.recv();
                        b_finished_ref.store(true, Ordering::SeqCst);
                    },
                )
            });
            assert_eq!(
                panic_text(&*payload),
                Some(format!("a {EXPECTED}").as_str())
            );
            assert!(
                b_finished.load(Ordering::SeqCst),
                "b had not finished ({threads} threads)"
            );
        }
    });
}

/// On two threads `b` is stolen while `a` waits for `b`'s panic; on one thread `a` has
/// finished before `b` runs at all.
#[test]
fn a_panic_in_b_is_reraised_after_a_finished() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let a_finished = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel::<()>();
        let a_finished_ref = &a_finished;
        let payload = expect_panic(|| {
            pool.join(
                move || {
                    let _ = rx.recv();
                    a_finished_ref.store(true, Ordering::SeqCst);
                },
                move || {
                    let _tx = tx;
                    panic!("b {EXPECTED}")
                },
            )
        });
        assert_eq!(
            panic_text(&*payload),
            Some(format!("b {EXPECTED}").as_str())
        );
        assert!(a_finished.load(Ordering::SeqCst));

        let pool = ThreadPool::new(1).unwrap();
        let a_finished = AtomicBool::new(false);
        expect_panic(|| {
            pool.join(
                || a_finished.store(true, Ordering::SeqCst),
                || panic!("b {EXPECTED}"),
            )
        });
        assert!(a_finished.load(Ordering::SeqCst));
    });
}

#[test]
fn a_panic_in_free_join_outside_any_pool_is_reraised_after_both_ended() {
    with_timeout(|| {
        let b_finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&b_finished);
        let payload = expect_panic(|| {
            weft::join(
                || panic!("global a {EXPECTED}"),
                move || flag.store(true, Ordering::SeqCst),
            )
        });
        assert!(panic_text(&*payload).unwrap().contains("global a"));
        assert!(b_finished.load(Ordering::SeqCst));
    });
}

/// Regression for: when `b` was not stolen, `join_on_worker` runs it inline with
/// `run_inline`, outside `catch_unwind`, so a panic of `b` unwinds past `a`'s caught panic
/// and `b`'s payload is raised, although `join`'s docs promise `a`'s when both panicked.
#[test]
fn when_both_halves_panic_join_reraises_the_panic_of_a() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let payload =
            expect_panic(|| pool.join(|| panic!("a {EXPECTED}"), || panic!("b {EXPECTED}")));
        assert_eq!(
            panic_text(&*payload),
            Some(format!("a {EXPECTED}").as_str())
        );
    });
}

#[test]
fn the_pool_is_usable_after_a_panicking_join() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        expect_panic(|| pool.join(|| panic!("{EXPECTED}"), || ()));
        assert_eq!(pool.join(|| 1, || 2), (1, 2));
    });
}

/// Latent forks (a `join`'s second half kept off the shared deque while nobody could use
/// it) must not cost parallelism: the outermost half is shared when a thread is idle, so a
/// `join` of two long halves runs them at the same time. Here `a` waits (bounded) for `b`
/// to have started: it passes only if `b` ran on another thread meanwhile.
#[test]
fn a_join_of_two_long_halves_runs_them_at_the_same_time() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..20 {
            let b_started = std::sync::atomic::AtomicBool::new(false);
            let (overlapped, b_thread) = pool.join(
                || {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                    while !b_started.load(std::sync::atomic::Ordering::SeqCst) {
                        if std::time::Instant::now() > deadline {
                            return (false, weft::current_thread_index());
                        }
                        std::thread::yield_now();
                    }
                    (true, weft::current_thread_index())
                },
                || {
                    b_started.store(true, std::sync::atomic::Ordering::SeqCst);
                    weft::current_thread_index()
                },
            );
            assert!(overlapped.0, "b started while a ran");
            assert_ne!(overlapped.1, b_thread, "on two threads");
        }
    });
}

/// Deep recursion where both threads stay busy keeps most forks latent; the results, and
/// which halves ran, are the same as with every fork shared.
#[test]
fn deep_joins_with_latent_forks_compute_the_same_results() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..5 {
            assert_eq!(pool.install(|| fib(24)), fib_sequential(24));
        }
        let one = ThreadPool::new(1).unwrap();
        assert_eq!(one.install(|| fib(20)), fib_sequential(20));
    });
}

/// One level of a chain of `join`s: `a` goes one level deeper, `b` counts itself and
/// gives its depth; `panic_at` makes that level's `b` panic.
fn chain(depth: u32, ran: &AtomicUsize, panic_at: Option<u32>) -> u32 {
    if depth == 0 {
        return 0;
    }
    let (below, here) = weft::join(
        || chain(depth - 1, ran, panic_at),
        || {
            // ORDERING: Relaxed: a counter read after the joins ended.
            ran.fetch_add(1, Ordering::Relaxed);
            if panic_at == Some(depth) {
                panic!("level {depth} {}", common::EXPECTED);
            }
            depth
        },
    );
    below + here
}

/// A chain of `join`s far deeper than the ring of latent forks: past its size the oldest
/// latent forks are shared while deeper ones stay latent, and every `join` still finds
/// its own second half (taken back, popped, or run by a thief), once, on one thread and on
/// two; a panic deep in the chain comes out after every level ran.
#[test]
fn a_chain_of_joins_deeper_than_the_latent_ring_runs_every_half_once() {
    with_timeout(|| {
        for threads in [1, 2] {
            let pool = ThreadPool::new(threads).unwrap();
            for _ in 0..20 {
                let ran = AtomicUsize::new(0);
                assert_eq!(pool.install(|| chain(300, &ran, None)), 300 * 301 / 2);
                // ORDERING: Relaxed: the joins ended; install's return ordered their writes.
                assert_eq!(ran.load(Ordering::Relaxed), 300);
                let ran = AtomicUsize::new(0);
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    pool.install(|| chain(300, &ran, Some(150)))
                }));
                assert!(outcome.is_err(), "the panic of level 150 came out");
                // ORDERING: Relaxed, as above.
                assert_eq!(ran.load(Ordering::Relaxed), 300, "every level ran");
            }
        }
    });
}

/// A panic in `a` while `b` is latent: `b` still runs (inline), then the panic comes out.
#[test]
fn a_panic_in_a_with_a_latent_b_still_runs_b_first() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let ran_b = std::sync::atomic::AtomicBool::new(false);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.join(
                || -> u8 { panic!("a {}", common::EXPECTED) },
                || ran_b.store(true, std::sync::atomic::Ordering::SeqCst),
            )
        }));
        assert!(outcome.is_err());
        assert!(
            ran_b.load(std::sync::atomic::Ordering::SeqCst),
            "b ran before the panic came out"
        );
    });
}

/// With latent forks, a nested `join`'s second half must still be offered when another
/// worker thread is idle: here the first half blocks until the second half ran, which
/// only another thread can do (as with rayon). The other thread is idle (its share of the
/// outer `join` done, 100 ms to fall asleep) when the inner `join` forks.
#[test]
fn a_nested_join_offers_its_second_half_to_an_idle_thread() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..3 {
            let outer_b_ran = AtomicBool::new(false);
            let (tx, rx) = mpsc::channel();
            let received = pool.install(|| {
                weft::join(
                    || {
                        // ORDERING: Relaxed: a flag polled until set; no data rides on it.
                        while !outer_b_ran.load(Ordering::Relaxed) {
                            std::thread::yield_now();
                        }
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        weft::join(
                            move || rx.recv_timeout(std::time::Duration::from_secs(5)),
                            move || tx.send(7).unwrap(),
                        )
                        .0
                    },
                    // ORDERING: Relaxed: see above.
                    || outer_b_ran.store(true, Ordering::Relaxed),
                )
                .0
            });
            assert_eq!(
                received,
                Ok(7),
                "the inner join's second half stayed latent while a thread was idle"
            );
        }
    });
}

/// A tree of `join`s whose closures capture tracked values and return them, some leaves
/// panicking: the captures of both halves and every result are dropped once each, whether
/// a half ran latent (inline), shared, stolen, or next to a panic.
fn tracked_tree(
    ledger: &common::DropLedger,
    counts: &[std::sync::atomic::AtomicUsize; 2],
    depth: u32,
    panic_every: usize,
) -> common::Tracked {
    let [next, caught] = counts;
    // ORDERING: Relaxed: only hands out distinct indices; the counts are read after the
    // pool's `install` returned, which synchronises with every half.
    let index = || next.fetch_add(1, Ordering::Relaxed);
    let mine = ledger.item(index());
    if depth == 0 {
        assert_ne!(
            mine.index % panic_every,
            0,
            "a deliberate leaf panic {EXPECTED}"
        );
        return mine;
    }
    let (left, right) = (ledger.item(index()), ledger.item(index()));
    let half = |token: common::Tracked| {
        move || {
            let _token = token;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                tracked_tree(ledger, counts, depth - 1, panic_every)
            }));
            if result.is_err() {
                // ORDERING: Relaxed: read after `install`, as above.
                caught.fetch_add(1, Ordering::Relaxed);
            }
            result.ok()
        }
    };
    drop(weft::join(half(left), half(right)));
    mine
}

#[test]
fn every_capture_and_result_of_a_join_tree_is_dropped_once() {
    with_timeout(|| {
        for threads in [1, 2] {
            let pool = ThreadPool::new(threads).unwrap();
            for round in 0..4 {
                let ledger = common::DropLedger::new(4 << 12);
                let counts = [0, 0].map(std::sync::atomic::AtomicUsize::new);
                let root = pool.install(|| tracked_tree(&ledger, &counts, 12, 89 + round));
                drop(root);
                // ORDERING: Relaxed: read after `install` returned (see `tracked_tree`).
                let [used, caught] = counts.map(|count| count.load(Ordering::Relaxed));
                assert!(caught > 0, "some leaves panicked");
                let wrong: Vec<_> = ledger
                    .not_dropped_once()
                    .into_iter()
                    .filter(|&(index, _)| index < used)
                    .collect();
                assert!(
                    wrong.is_empty(),
                    "{threads} threads, round {round}: (index, drops) not dropped once: {wrong:?}"
                );
            }
        }
    });
}
