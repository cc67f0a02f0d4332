//! `ThreadPool::install`: run a closure on a worker, wait for its result, re-raise its panic.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{EXPECTED, expect_panic, panic_text, with_timeout, with_timeout_of};
use weft::ThreadPool;

#[test]
fn install_runs_the_closure_on_a_worker_and_returns_its_result() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let caller = std::thread::current().id();
        let (index, thread, value) = pool.install(|| {
            (
                weft::current_thread_index(),
                std::thread::current().id(),
                6 * 7,
            )
        });
        assert!(matches!(index, Some(0 | 1)), "{index:?}");
        assert_ne!(thread, caller);
        assert_eq!(value, 42);
        assert_eq!(pool.install(weft::current_num_threads), 2);
    });
}

#[test]
fn install_may_borrow_mutably_from_the_caller() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let mut data = vec![1, 2, 3];
        pool.install(|| data.push(4));
        assert_eq!(data, [1, 2, 3, 4]);
    });
}

#[test]
fn a_panic_in_install_is_reraised_and_the_pool_lives_on() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let payload = expect_panic(|| pool.install(|| -> u8 { panic!("install {EXPECTED}") }));
        assert_eq!(
            panic_text(&*payload),
            Some(format!("install {EXPECTED}").as_str())
        );
        let payload = expect_panic(|| pool.install(|| std::panic::panic_any(5u16)));
        assert_eq!(payload.downcast_ref::<u16>(), Some(&5));
        assert_eq!(pool.install(|| "alive"), "alive");
    });
}

#[test]
fn install_from_inside_the_same_pool_runs_inline() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let inner = Arc::clone(&pool);
        let (outside, inside) = pool
            .spawn(move || {
                let here = (weft::current_thread_index(), std::thread::current().id());
                (
                    here,
                    inner.install(|| (weft::current_thread_index(), std::thread::current().id())),
                )
            })
            .join()
            .unwrap();
        assert_eq!(outside, inside, "same worker, same thread");
        let nested = pool.install(|| pool.install(|| pool.install(weft::current_thread_index)));
        assert_eq!(nested, Some(0));
    });
}

#[test]
fn install_from_a_worker_of_another_pool_runs_on_the_target_pool() {
    with_timeout(|| {
        let a = ThreadPool::builder()
            .num_threads(1)
            .thread_name(|i| format!("pool-a-{i}"))
            .build()
            .unwrap();
        let b = Arc::new(
            ThreadPool::builder()
                .num_threads(1)
                .thread_name(|i| format!("pool-b-{i}"))
                .build()
                .unwrap(),
        );
        let b_inner = Arc::clone(&b);
        let name = a
            .spawn(move || b_inner.install(|| std::thread::current().name().map(str::to_owned)))
            .join()
            .unwrap();
        assert_eq!(name.as_deref(), Some("pool-b-0"));
    });
}

#[test]
fn install_from_many_threads_at_once() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    (0..common::scaled(200) as u64)
                        .map(|i| pool.install(move || t * i))
                        .sum::<u64>()
                })
            })
            .collect();
        let n = common::scaled(200) as u64;
        for (t, thread) in threads.into_iter().enumerate() {
            assert_eq!(thread.join().unwrap(), t as u64 * n * (n - 1) / 2);
        }
    });
}

/// Regression for: `install` called on a worker of another pool parks that worker
/// (`LockLatch::wait_blocking`, owner `Owner::Thread`) instead of letting it run its own
/// pool's jobs while it waits. Here pool A's only worker waits in `b.install(..)` for a
/// closure that waits for a job queued on A: nobody can ever run that job. DESIGN.md: "a
/// worker that waits helps (runs other jobs) while it waits". (`scope`, `map` and
/// `broadcast` called on another pool's worker wait the same way.)
#[test]
fn install_from_another_pools_worker_keeps_running_its_own_pools_jobs() {
    with_timeout_of(Duration::from_secs(10), || {
        let a = Arc::new(ThreadPool::new(1).unwrap());
        let b = Arc::new(ThreadPool::new(1).unwrap());
        let (a_inner, b_inner) = (Arc::clone(&a), Arc::clone(&b));
        let outer = a.spawn(move || {
            let queued_on_a = a_inner.spawn(|| 5);
            b_inner.install(move || queued_on_a.join().unwrap()) + 1
        });
        assert_eq!(outer.join().unwrap(), 6);
    });
}
