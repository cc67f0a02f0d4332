//! `map_init`, `for_each` and `map_reduce`: input order kept (for `map_reduce`: `reduce`
//! never reorders), `init` at most once per thread per call, closures that borrow, and
//! `map`'s panic rules: the first panic re-raised after every thread stopped, every item
//! and value dropped exactly once.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use common::{
    DropCounter, DropLedger, EXPECTED, Tracked, block_one_worker, expect_panic, panic_text, scaled,
    with_timeout,
};
use weft::ThreadPool;

/// Counts `init` calls per OS thread.
#[derive(Default)]
struct InitsPerThread(Mutex<HashMap<ThreadId, usize>>);

impl InitsPerThread {
    fn count(&self) {
        *self
            .0
            .lock()
            .unwrap()
            .entry(std::thread::current().id())
            .or_default() += 1;
    }

    fn most_on_one_thread(&self) -> usize {
        self.0.lock().unwrap().values().copied().max().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.0.lock().unwrap().values().sum()
    }
}

#[test]
fn map_init_returns_results_in_input_order() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(20_000) as u64;
        let expected: Vec<u64> = (0..n).map(|x| x * 3).collect();
        assert_eq!(pool.map_init(0..n, || 3u64, |k, x| x * *k), expected);
        let filtered = (0..n).filter(|x| x % 2 == 0);
        let expected: Vec<u64> = filtered.clone().map(|x| x + 1).collect();
        assert_eq!(pool.map_init(filtered, || (), |(), x| x + 1), expected);
        assert!(pool.map_init(0..0u8, || (), |(), x| x).is_empty());
    });
}

#[test]
fn map_init_builds_its_state_at_most_once_per_thread_per_call() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..5 {
            let inits = InitsPerThread::default();
            let n = scaled(50_000) as u64;
            let out = pool.map_init(
                0..n,
                || {
                    inits.count();
                    Vec::<u64>::with_capacity(8)
                },
                |scratch, x| {
                    scratch.clear();
                    scratch.push(x);
                    scratch[0] + 1
                },
            );
            assert_eq!(out.len() as u64, n);
            assert_eq!(inits.most_on_one_thread(), 1);
            assert!((1..=2).contains(&inits.total()), "{} inits", inits.total());
        }
    });
}

#[test]
fn map_init_state_is_built_once_even_when_its_thread_helps_with_the_same_call() {
    with_timeout(|| {
        // Worker 1 is held by a blocker, so the call's second share stays queued; worker 0's
        // first item waits in a broadcast (which needs worker 1) and, while it waits, picks
        // up that second share on the same thread, on top of the first.
        let pool = ThreadPool::new(2).unwrap();
        let blocker = block_one_worker(&pool);
        let inits = InitsPerThread::default();
        let waiting = AtomicBool::new(false);
        let first = AtomicBool::new(true);
        let waiting_flag = &waiting;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let waiting = waiting_flag;
                common::eventually("the first item waits in its broadcast", || {
                    waiting.load(Ordering::SeqCst)
                });
                std::thread::sleep(Duration::from_millis(50));
                blocker.finish();
            });
            let out = pool.map_init(
                0..scaled(2_000) as u64,
                || {
                    inits.count();
                    0u64
                },
                |seen, x| {
                    if first.swap(false, Ordering::SeqCst) {
                        waiting.store(true, Ordering::SeqCst);
                        pool.broadcast(|_| ());
                    }
                    *seen += 1;
                    x
                },
            );
            assert_eq!(out, (0..scaled(2_000) as u64).collect::<Vec<_>>());
        });
        assert_eq!(inits.most_on_one_thread(), 1, "a thread built two states");
    });
}

#[test]
fn map_init_drops_every_state_once_on_its_thread() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let states = DropCounter::new();
        let built = AtomicUsize::new(0);
        let out = pool.map_init(
            0..scaled(10_000),
            || {
                built.fetch_add(1, Ordering::SeqCst);
                states.token()
            },
            |_token, x| x,
        );
        assert_eq!(out.len(), scaled(10_000));
        assert_eq!(states.get(), built.load(Ordering::SeqCst));
    });
}

#[test]
fn map_reduce_never_reorders_a_non_commutative_reduce() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(20_000);
        let expected: String = (0..n).map(|i| format!("{i},")).collect();
        let text = pool.map_reduce(0..n, |i| format!("{i},"), |a, b| a + &b);
        assert_eq!(text.as_deref(), Some(expected.as_str()));
        // Every reduce(a, b) gets two adjacent runs, a's right before b's.
        let adjacent = |items: Vec<usize>| {
            pool.map_reduce(
                items,
                |i| (i, i + 1),
                |a, b| {
                    assert_eq!(a.1, b.0, "reduce got {a:?} and {b:?}");
                    (a.0, b.1)
                },
            )
        };
        assert_eq!(adjacent((0..n).collect()), Some((0, n)));
        let odd_sized = (0..n).filter(|i| i % 3 != 7).collect::<Vec<_>>();
        assert_eq!(adjacent(odd_sized), Some((0, n)));
        let unknown_size = pool.map_reduce(
            (0..n).filter(|_| true),
            |i| (i, i + 1),
            |a: (usize, usize), b: (usize, usize)| {
                assert_eq!(a.1, b.0);
                (a.0, b.1)
            },
        );
        assert_eq!(unknown_size, Some((0, n)));
    });
}

#[test]
fn map_reduce_of_no_items_is_none_and_of_one_item_is_it() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let never = |_: u32, _: u32| -> u32 { unreachable!("nothing to combine") };
        assert_eq!(pool.map_reduce(Vec::<u32>::new(), |x| x, never), None);
        assert_eq!(
            pool.map_reduce((0..10u32).filter(|_| false), |x| x, never),
            None
        );
        assert_eq!(pool.map_reduce([7u32], |x| x * 2, never), Some(14));
    });
}

#[test]
fn map_reduce_sums_like_a_sequential_fold() {
    with_timeout(|| {
        let pool = ThreadPool::new(3).unwrap();
        let n = scaled(100_000) as u64;
        let expected = (0..n).map(|x| x * x).fold(0u64, u64::wrapping_add);
        assert_eq!(
            pool.map_reduce(0..n, |x| x * x, u64::wrapping_add),
            Some(expected)
        );
    });
}

#[test]
fn for_each_calls_the_function_once_per_item_and_may_borrow() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(10_000);
        let seen: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
        pool.for_each(0..n, |i| {
            seen[i].fetch_add(1, Ordering::SeqCst);
        });
        assert!(seen.iter().all(|count| count.load(Ordering::SeqCst) == 1));
        let words = vec![String::from("a"), String::from("bb")];
        let letters = AtomicUsize::new(0);
        pool.for_each(&words, |word| {
            letters.fetch_add(word.len(), Ordering::SeqCst);
        });
        assert_eq!(letters.into_inner(), 3);
        pool.for_each(Vec::<u8>::new(), |_| unreachable!("no items"));
    });
}

#[test]
fn the_batch_helpers_work_from_inside_a_job_of_their_pool() {
    with_timeout(|| {
        for threads in [1, 2] {
            let pool = ThreadPool::new(threads).unwrap();
            let (a, b, c) = pool.install(|| {
                let a = pool.map_init(0..100u64, || 1, |one, x| x + *one);
                let b = pool.map_reduce(0..100u64, |x| x, |x, y| x + y);
                let count = AtomicUsize::new(0);
                pool.for_each(0..100, |_| {
                    count.fetch_add(1, Ordering::SeqCst);
                });
                (a, b, count.into_inner())
            });
            assert_eq!(a[99], 100);
            assert_eq!(b, Some(4950));
            assert_eq!(c, 100);
        }
    });
}

/// Which helper a panic test runs, and where it panics.
#[derive(Debug, Clone, Copy)]
enum Fault {
    MapInitFunc,
    MapReduceMap,
    MapReduceReduce,
    ForEach,
}

/// One run of a helper over tracked items that panics per `fault` at item `panic_at`:
/// the panic comes back, and every item and every value made is dropped exactly once.
fn panic_drops_everything_once(fault: Fault, n: usize, panic_at: usize, exact_size: bool) {
    let pool = ThreadPool::new(2).unwrap();
    let items = DropLedger::new(n);
    let values = DropLedger::new(n);
    let made: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
    let input: Vec<Tracked> = (0..n).map(|i| items.item(i)).collect();
    let make = |item: Tracked, panics: bool| {
        if panics && item.index == panic_at {
            panic!("helper boom {EXPECTED}");
        }
        made[item.index].store(true, Ordering::SeqCst);
        values.item(item.index)
    };
    let run = |input: Box<dyn Iterator<Item = Tracked> + Send>| match fault {
        Fault::MapInitFunc => drop(pool.map_init(input, || (), |(), item| make(item, true))),
        Fault::MapReduceMap | Fault::MapReduceReduce => {
            drop(pool.map_reduce(
                input,
                |item| make(item, matches!(fault, Fault::MapReduceMap)),
                |a, b| {
                    // Every value but the first is some reduce's `b` once: this panics.
                    if matches!(fault, Fault::MapReduceReduce) && b.index >= panic_at.max(1) {
                        panic!("helper boom {EXPECTED}");
                    }
                    a
                },
            ));
        }
        Fault::ForEach => pool.for_each(input, |item| drop(make(item, true))),
    };
    let payload = if exact_size {
        expect_panic(|| run(Box::new(input.into_iter())))
    } else {
        expect_panic(|| run(Box::new(input.into_iter().filter(|_| true))))
    };
    assert!(
        panic_text(&*payload).unwrap().contains("helper boom"),
        "{fault:?}"
    );
    assert_eq!(
        items.not_dropped_once(),
        vec![],
        "{fault:?}: every item dropped exactly once"
    );
    let value_drops = values.counts();
    let wrong: Vec<_> = (0..n)
        .filter(|&i| value_drops[i] != usize::from(made[i].load(Ordering::SeqCst)))
        .map(|i| (i, value_drops[i]))
        .collect();
    assert_eq!(
        wrong,
        vec![],
        "{fault:?}: every value made dropped exactly once"
    );
}

#[test]
fn a_panic_in_any_helper_drops_every_item_and_value_exactly_once() {
    with_timeout(|| {
        let n = scaled(5_000);
        for fault in [
            Fault::MapInitFunc,
            Fault::MapReduceMap,
            Fault::MapReduceReduce,
            Fault::ForEach,
        ] {
            for panic_at in [0, n / 3, n - 1] {
                for exact_size in [true, false] {
                    panic_drops_everything_once(fault, n, panic_at, exact_size);
                }
            }
        }
    });
}

#[test]
fn a_panicking_init_is_reraised_and_every_item_dropped_once() {
    with_timeout(|| {
        // The second init panics: the first thread's state is fine, the second's is not.
        // Only a run where both threads take items sees it, so retry until one does.
        let n = scaled(5_000);
        let pool = ThreadPool::new(2).unwrap();
        let mut saw_it = false;
        for _ in 0..50 {
            let items = DropLedger::new(n);
            let inits = AtomicUsize::new(0);
            let input: Vec<Tracked> = (0..n).map(|i| items.item(i)).collect();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.map_init(
                    input,
                    || {
                        if inits.fetch_add(1, Ordering::SeqCst) == 1 {
                            panic!("init boom {EXPECTED}");
                        }
                    },
                    |(), item| {
                        std::hint::black_box(&item);
                        std::thread::yield_now();
                        item.index
                    },
                )
            }));
            assert_eq!(items.not_dropped_once(), vec![]);
            if let Err(payload) = outcome {
                assert!(panic_text(&*payload).unwrap().contains("init boom"));
                saw_it = true;
                break;
            }
        }
        assert!(saw_it, "no run had both threads take items");
    });
}

#[test]
fn a_panicking_state_drop_is_reraised_after_the_call() {
    with_timeout(|| {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("state drop boom {EXPECTED}");
            }
        }
        let pool = ThreadPool::new(2).unwrap();
        let values = DropLedger::new(100);
        let payload = expect_panic(|| pool.map_init(0..100, || Bomb, |_bomb, i| values.item(i)));
        assert!(panic_text(&*payload).unwrap().contains("state drop boom"));
        // The results were all made and are all dropped with the failed call.
        assert_eq!(values.not_dropped_once(), vec![]);
        // The pool lives on.
        assert_eq!(pool.map(0..3, |x| x), [0, 1, 2]);
    });
}

#[test]
fn a_panic_in_map_reduce_stops_the_threads_taking_more_items() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let calls = AtomicUsize::new(0);
        expect_panic(|| {
            pool.map_reduce(
                0..scaled(10_000),
                |i| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if i == 10 {
                        panic!("stop {EXPECTED}");
                    }
                    i
                },
                |a, b| a + b,
            )
        });
        assert_eq!(calls.load(Ordering::SeqCst), 11);
    });
}

#[test]
fn batch_helpers_accept_arc_shared_state() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let inner = Arc::clone(&pool);
        let from_job = pool.spawn(move || inner.map_reduce(1..=10u64, |x| x, |a, b| a * b));
        assert_eq!(from_job.join().unwrap(), Some(3_628_800));
    });
}
