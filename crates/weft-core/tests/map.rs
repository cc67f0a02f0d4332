//! `ThreadPool::map`: results in input order whatever the iterator, and after a panic every
//! value and every item dropped exactly once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{DropLedger, EXPECTED, Tracked, expect_panic, panic_text, scaled, with_timeout};
use weft::ThreadPool;

#[test]
fn map_returns_results_in_input_order() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(10_000) as u64;
        assert_eq!(
            pool.map(0..n, |x| x * 2),
            (0..n).map(|x| x * 2).collect::<Vec<_>>()
        );
        let words = vec!["a", "bb", "ccc", "dddd"];
        assert_eq!(pool.map(words, str::len), vec![1, 2, 3, 4]);
        let owned: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        let expected: Vec<String> = owned.iter().map(|s| format!("<{s}>")).collect();
        assert_eq!(pool.map(owned, |s| format!("<{s}>")), expected);
    });
}

#[test]
fn map_of_empty_input_is_empty() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        assert!(pool.map(Vec::<u8>::new(), |x| x).is_empty());
        assert!(pool.map(0..0u32, |x| x).is_empty());
        assert!(pool.map((0..100u32).filter(|_| false), |x| x).is_empty());
    });
}

#[test]
fn map_of_fewer_items_than_threads() {
    with_timeout(|| {
        let pool = ThreadPool::new(4).unwrap();
        assert_eq!(pool.map(vec![7u8], |x| x + 1), vec![8]);
        assert_eq!(pool.map(0..2u8, |x| x + 1), vec![1, 2]);
    });
}

#[test]
fn map_of_a_non_exact_size_iterator_keeps_order() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(10_000) as u64;
        let expected: Vec<u64> = (0..n).filter(|x| x % 3 == 0).map(|x| x + 1).collect();
        assert_eq!(pool.map((0..n).filter(|x| x % 3 == 0), |x| x + 1), expected);
        let chained = (0..10u64).chain((0..n).filter(|x| x % 7 == 1));
        let expected: Vec<u64> = chained.clone().map(|x| x * 3).collect();
        assert_eq!(pool.map(chained, |x| x * 3), expected);
    });
}

/// An iterator whose `size_hint` claims an exact length it does not have.
struct Lying<I> {
    inner: I,
    claimed: (usize, Option<usize>),
}

impl<I: Iterator> Iterator for Lying<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.claimed
    }
}

fn lying(actual: u64, claimed: (usize, Option<usize>)) -> Lying<std::ops::Range<u64>> {
    Lying {
        inner: 0..actual,
        claimed,
    }
}

#[test]
fn map_is_correct_when_size_hint_claims_more_items_than_there_are() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for (actual, claimed) in [(0, 10), (3, 10), (100, 5_000), (999, 1_000)] {
            let result = pool.map(lying(actual, (claimed, Some(claimed))), |x| x * 2);
            assert_eq!(
                result,
                (0..actual).map(|x| x * 2).collect::<Vec<_>>(),
                "{actual} vs {claimed}"
            );
        }
    });
}

#[test]
fn map_is_correct_when_size_hint_claims_more_items_than_memory_holds() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        // 2^60 u64s cannot be allocated (and usize::MAX / 2 overflows the byte count): the
        // output buffer is refused, and the results go the overflow way instead of aborting.
        for claimed in [1usize << 60, usize::MAX / 2] {
            let result = pool.map(lying(100, (claimed, Some(claimed))), |x| x * 2);
            assert_eq!(
                result,
                (0..100).map(|x| x * 2).collect::<Vec<_>>(),
                "{claimed}"
            );
        }
    });
}

#[test]
fn map_is_correct_when_size_hint_claims_fewer_items_than_there_are() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for (actual, claimed) in [(10, 0), (10, 3), (5_000, 100), (1_001, 1_000)] {
            let result = pool.map(lying(actual, (claimed, Some(claimed))), |x| x * 2);
            assert_eq!(
                result,
                (0..actual).map(|x| x * 2).collect::<Vec<_>>(),
                "{actual} vs {claimed}"
            );
        }
    });
}

#[test]
fn map_is_correct_when_size_hint_bounds_are_wrong_but_not_exact() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for (actual, claimed) in [
            (10, (50, None)),
            (500, (0, Some(2))),
            (100, (200, Some(300))),
        ] {
            let result = pool.map(lying(actual, claimed), |x| x + 1);
            assert_eq!(
                result,
                (1..=actual).collect::<Vec<_>>(),
                "{actual} vs {claimed:?}"
            );
        }
    });
}

#[test]
fn map_to_zero_sized_values_gives_one_per_item() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(pool.map(0..1000, |_| ()).len(), 1000);
        assert_eq!(
            pool.map((0..1000).filter(|x| x % 2 == 0), |_| ()).len(),
            500
        );
    });
}

#[test]
fn map_may_borrow_from_the_caller() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let table: Vec<u64> = (0..100).map(|x| x * x).collect();
        let offset = 5;
        let result = pool.map(0..100usize, |i| table[i] + offset);
        assert_eq!(result[10], 105);
    });
}

#[test]
fn map_called_from_inside_a_pool_job_works_even_on_one_thread() {
    with_timeout(|| {
        for threads in [1, 2] {
            let pool = Arc::new(ThreadPool::new(threads).unwrap());
            let inner = Arc::clone(&pool);
            let from_job = pool.spawn(move || inner.map(0..1000u64, |x| x + 1).iter().sum::<u64>());
            assert_eq!(from_job.join().unwrap(), 500_500);
            let from_install = pool.install(|| pool.map(0..10u64, |x| pool.map(0..x, |y| y).len()));
            assert_eq!(from_install, (0..10).collect::<Vec<usize>>());
        }
    });
}

/// Drop bookkeeping of one `map` run whose function panics at `panic_at`.
fn map_panic_drops_everything_once(threads: usize, n: usize, panic_at: usize, exact_size: bool) {
    let pool = ThreadPool::new(threads).unwrap();
    let items = DropLedger::new(n);
    let values = DropLedger::new(n);
    let produced: Arc<Vec<AtomicBool>> = Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
    let input: Vec<Tracked> = (0..n).map(|i| items.item(i)).collect();
    let func = |item: Tracked| {
        if item.index == panic_at {
            panic!("map boom {EXPECTED}");
        }
        produced[item.index].store(true, Ordering::SeqCst);
        values.item(item.index)
    };
    let payload = if exact_size {
        expect_panic(|| pool.map(input, func))
    } else {
        expect_panic(|| pool.map(input.into_iter().filter(|_| true), func))
    };
    assert!(panic_text(&*payload).unwrap().contains("map boom"));
    assert_eq!(
        items.not_dropped_once(),
        vec![],
        "every item dropped exactly once"
    );
    let value_drops = values.counts();
    let wrong: Vec<_> = (0..n)
        .filter(|&i| value_drops[i] != usize::from(produced[i].load(Ordering::SeqCst)))
        .map(|i| (i, value_drops[i]))
        .collect();
    assert_eq!(
        wrong,
        vec![],
        "every produced value dropped exactly once, no other"
    );
}

#[test]
fn a_panic_in_map_drops_every_value_and_item_exactly_once() {
    with_timeout(|| {
        let n = scaled(5_000);
        for panic_at in [0, n / 3, n - 1] {
            map_panic_drops_everything_once(2, n, panic_at, true);
        }
    });
}

#[test]
fn a_panic_in_map_over_a_non_exact_iterator_drops_every_value_and_item_exactly_once() {
    with_timeout(|| {
        let n = scaled(5_000);
        for panic_at in [0, n / 3, n - 1] {
            map_panic_drops_everything_once(2, n, panic_at, false);
        }
    });
}

#[test]
fn a_panic_in_map_stops_the_workers_taking_more_items() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let calls = AtomicUsize::new(0);
        let n = scaled(10_000);
        expect_panic(|| {
            pool.map(0..n, |i| {
                calls.fetch_add(1, Ordering::SeqCst);
                if i == 10 {
                    panic!("stop {EXPECTED}");
                }
            })
        });
        assert_eq!(
            calls.load(Ordering::SeqCst),
            11,
            "no item after the panic was processed"
        );
    });
}

#[test]
fn a_panic_in_map_is_reraised_after_every_worker_stopped() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let in_flight = AtomicUsize::new(0);
        expect_panic(|| {
            pool.map(0..scaled(20_000), |i| {
                in_flight.fetch_add(1, Ordering::SeqCst);
                std::hint::black_box(i);
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if i == 100 {
                    panic!("stop {EXPECTED}");
                }
            })
        });
        assert_eq!(
            in_flight.load(Ordering::SeqCst),
            0,
            "a worker still ran the function"
        );
    });
}

#[test]
fn a_panic_in_the_iterator_is_reraised_and_every_value_dropped_once() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(3_000);
        let items = DropLedger::new(n);
        let created: Arc<Vec<AtomicBool>> =
            Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
        let input = {
            let (items, created) = (items.clone(), Arc::clone(&created));
            (0..n).map(move |i| {
                if i == n / 2 {
                    panic!("iterator boom {EXPECTED}");
                }
                created[i].store(true, Ordering::SeqCst);
                items.item(i)
            })
        };
        let payload = expect_panic(|| pool.map(input, |item| item));
        assert!(panic_text(&*payload).unwrap().contains("iterator boom"));
        for (i, count) in items.not_dropped_once() {
            assert!(
                !created[i].load(Ordering::SeqCst) && count == 0,
                "item {i} dropped {count} times"
            );
        }
    });
}

#[test]
fn map_drops_each_consumed_item_once_and_hands_every_value_out() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(2_000);
        let items = DropLedger::new(n);
        let values = DropLedger::new(n);
        let input: Vec<Tracked> = (0..n).map(|i| items.item(i)).collect();
        let result = pool.map(input, |item| values.item(item.index));
        assert_eq!(items.not_dropped_once(), vec![]);
        assert!(result.iter().enumerate().all(|(i, value)| value.index == i));
        drop(result);
        assert_eq!(values.not_dropped_once(), vec![]);
    });
}
