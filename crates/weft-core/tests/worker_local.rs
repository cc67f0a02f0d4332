//! `WorkerLocal`: one value per thread of one pool, built lazily, never aliased, handed back
//! by thread index. Small enough for miri (`cargo +nightly miri test -p weft-core --test
//! worker_local`).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use common::{DropCounter, EXPECTED, expect_panic, panic_text, scaled, with_timeout};
use weft::{ThreadPool, WorkerLocal};

#[test]
fn each_thread_builds_its_value_once_with_its_own_index() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&builds);
        let local = WorkerLocal::new(&pool, move |index| {
            counted.fetch_add(1, Ordering::SeqCst);
            (index, 0u64)
        });
        // Every worker thread, by index.
        let seen = pool.broadcast(|index| local.with(|value| (index, value.0)));
        assert_eq!(seen, vec![(0, 0), (1, 1)]);
        for _ in 0..3 {
            pool.map(0..scaled(1_000) as u64, |x| {
                local.with(|value| value.1 += x)
            });
        }
        assert_eq!(builds.load(Ordering::SeqCst), 2, "one build per thread");
        let values = local.into_inner();
        assert_eq!(values.len(), 2, "no spare ran: one entry per worker thread");
        let n = scaled(1_000) as u64;
        let mut total = 0;
        for (index, value) in values.into_iter().enumerate() {
            let (built_for, sum) = value.expect("built on every thread");
            assert_eq!(built_for, index);
            total += sum;
        }
        assert_eq!(total, 3 * n * (n - 1) / 2);
    });
}

#[test]
fn values_are_built_lazily_and_kept_across_jobs() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let local = Arc::new(WorkerLocal::new(&pool, |_| 0usize));
        assert!(
            WorkerLocal::new(&pool, |_| 0u8)
                .into_inner()
                .iter()
                .all(Option::is_none),
            "nothing is built before a `with`"
        );
        let jobs = scaled(1_000);
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                let local = Arc::clone(&local);
                pool.spawn(move || local.with(|count| *count += 1))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let local = Arc::try_unwrap(local).expect("every job dropped its Arc");
        let counts: usize = local.into_inner().into_iter().flatten().sum();
        assert_eq!(
            counts, jobs,
            "every job's increment is in some thread's value"
        );
    });
}

#[test]
fn with_outside_any_pool_panics_with_a_clear_message() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let local = WorkerLocal::new(&pool, |_| 0u8);
        let payload = expect_panic(|| local.with(|_| ()));
        let message = panic_text(&*payload).unwrap();
        assert!(message.contains("outside any pool"), "{message}");
        assert!(message.contains("WorkerLocal::with"), "{message}");
    });
}

#[test]
fn with_on_a_thread_of_another_pool_panics_with_a_clear_message() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let other = ThreadPool::new(1).unwrap();
        let local = WorkerLocal::new(&pool, |_| 0u8);
        let payload = expect_panic(|| other.install(|| local.with(|_| ())));
        let message = panic_text(&*payload).unwrap();
        assert!(message.contains("another pool"), "{message}");
        // Nothing was built for the other pool's thread, and the own pool still works.
        assert_eq!(pool.install(|| local.with(|value| *value + 1)), 1);
        assert_eq!(local.into_inner(), vec![Some(0)]);
    });
}

#[test]
fn with_again_inside_a_job_joined_inline_panics_instead_of_aliasing() {
    with_timeout(|| {
        // One thread: a handle joined on it runs its still-queued job right there.
        let pool = ThreadPool::new(1).unwrap();
        let local = WorkerLocal::new(&pool, |_| vec![1u8]);
        let inner_error = pool.install(|| {
            local.with(|outer| {
                outer.push(2);
                let inner = pool.scope(|s| s.spawn(|| local.with(|inner| inner.push(99))).join());
                outer.push(3);
                inner
            })
        });
        let error = inner_error.expect_err("the inner `with` panics");
        let message = error.panic_message().unwrap();
        assert!(message.contains("called again"), "{message}");
        // The outer `with` kept its value untouched by the inner job, and the thread is free
        // for a `with` again.
        assert_eq!(
            pool.install(|| local.with(|value| value.clone())),
            [1, 2, 3]
        );
    });
}

#[test]
fn with_again_inside_a_join_half_panics_instead_of_aliasing() {
    with_timeout(|| {
        // One thread: the second half of a join runs on the thread that forked it.
        let pool = ThreadPool::new(1).unwrap();
        let local = WorkerLocal::new(&pool, |_| 0u32);
        let payload = expect_panic(|| {
            pool.install(|| {
                local.with(|outer| {
                    *outer += 1;
                    pool.join(|| (), || local.with(|inner| *inner += 100));
                })
            })
        });
        let message = panic_text(&*payload).unwrap();
        assert!(message.contains("called again"), "{message}");
        assert_eq!(pool.install(|| local.with(|value| *value)), 1);
    });
}

#[test]
fn with_inside_its_own_init_panics_instead_of_aliasing() {
    with_timeout(|| {
        // `init` reaches its own WorkerLocal through a static.
        static LOCAL: std::sync::OnceLock<WorkerLocal<u8>> = std::sync::OnceLock::new();
        let pool = ThreadPool::new(1).unwrap();
        let local = LOCAL.get_or_init(|| {
            WorkerLocal::new(&pool, |_| {
                LOCAL.get().expect("set").with(|value| *value + 1)
            })
        });
        let payload = expect_panic(|| pool.install(|| local.with(|value| *value)));
        let message = panic_text(&*payload).unwrap();
        assert!(message.contains("called again"), "{message}");
        assert!(message.contains("`init`"), "{message}");
    });
}

#[test]
fn a_panicking_init_builds_nothing_and_the_next_with_tries_again() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failed);
        let local = WorkerLocal::new(&pool, move |index| {
            if !flag.swap(true, Ordering::SeqCst) {
                panic!("first init fails {EXPECTED}");
            }
            index + 10
        });
        let payload = expect_panic(|| pool.install(|| local.with(|value| *value)));
        assert!(panic_text(&*payload).unwrap().contains("first init fails"));
        assert_eq!(pool.install(|| local.with(|value| *value)), 10);
        // A panic inside `with` leaves the value as it was left, and the slot usable.
        expect_panic(|| {
            pool.install(|| {
                local.with(|value| {
                    *value += 1;
                    panic!("inside with {EXPECTED}");
                })
            })
        });
        assert_eq!(local.into_inner(), vec![Some(11)]);
    });
}

#[test]
fn into_inner_drops_nothing_and_dropping_drops_every_value_once() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let tokens = drops.clone();
        let local = WorkerLocal::new(&pool, move |_| tokens.token());
        pool.broadcast(|_| local.with(|_| ()));
        let values = local.into_inner();
        assert_eq!(drops.get(), 0);
        assert_eq!(values.iter().flatten().count(), 2);
        drop(values);
        assert_eq!(drops.get(), 2);

        let tokens = drops.clone();
        let local = WorkerLocal::new(&pool, move |_| tokens.token());
        pool.broadcast(|_| local.with(|_| ()));
        drop(local);
        assert_eq!(drops.get(), 4);
    });
}

#[test]
fn a_spare_thread_gets_its_own_value_after_the_worker_threads() {
    with_timeout(|| {
        // One worker thread, blocked on a job of another pool: a spare thread (slot 1) runs
        // the job queued meanwhile.
        let pool = ThreadPool::new(1).unwrap();
        let other = ThreadPool::new(1).unwrap();
        let local = Arc::new(WorkerLocal::new(&pool, |index| index));
        let (release, released) = mpsc::channel::<()>();
        let elsewhere = other.spawn(move || released.recv().unwrap());
        let blocked = {
            let local = Arc::clone(&local);
            pool.spawn(move || {
                local.with(|_| ());
                elsewhere.join().unwrap();
            })
        };
        let on_spare = {
            let local = Arc::clone(&local);
            pool.spawn(move || (weft::current_thread_index(), local.with(|index| *index)))
        };
        assert_eq!(on_spare.join().unwrap(), (Some(1), 1));
        release.send(()).unwrap();
        blocked.join().unwrap();
        let local = Arc::try_unwrap(local).expect("the jobs dropped their Arcs");
        assert_eq!(local.into_inner(), vec![Some(0), Some(1)]);
    });
}

#[test]
fn worker_local_is_send_and_sync_for_send_values() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WorkerLocal<Vec<u8>>>();
    assert_send_sync::<WorkerLocal<std::cell::Cell<u8>>>();
    // Debug says which pool, without reading the threads' values.
    let pool = ThreadPool::new(1).unwrap();
    let text = format!("{:?}", WorkerLocal::new(&pool, |_| 0u8));
    assert!(text.starts_with("WorkerLocal"), "{text}");
}
