//! `max_queued`: at most that many detached jobs wait; `try_spawn` hands the closure back,
//! `spawn` and `execute` wait for a place, and a worker at the limit does not deadlock.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::{block_one_worker, scaled, with_timeout};
use weft::{SpawnError, ThreadPool};

fn limited(threads: usize, max_queued: usize) -> ThreadPool {
    ThreadPool::builder()
        .num_threads(threads)
        .max_queued(max_queued)
        .build()
        .unwrap()
}

/// What a correct pool never does, checked for a moment: a blocked call stays blocked.
fn stays_blocked<T>(rx: &mpsc::Receiver<T>) -> bool {
    rx.recv_timeout(Duration::from_millis(20)).is_err()
}

#[test]
fn try_spawn_at_the_limit_hands_the_closure_back() {
    with_timeout(|| {
        let pool = limited(1, 2);
        let blocker = block_one_worker(&pool); // running, so not queued
        let first = pool.try_spawn(|| 1).expect("one place taken of two");
        let second = pool.try_spawn(|| 2).expect("two places taken of two");
        let refused = pool.try_spawn(|| String::from("handed back")).unwrap_err();
        assert!(refused.is_full());
        assert!(matches!(refused, SpawnError::Full(_)));
        assert!(!refused.to_string().is_empty());
        assert!(format!("{refused:?}").contains("Full"));
        assert_eq!((refused.into_inner())(), "handed back");
        assert_eq!(pool.stats().submitted, 3, "a refused job is not submitted");
        blocker.finish();
        assert_eq!((first.join().unwrap(), second.join().unwrap()), (1, 2));
        common::eventually("the queue has room again", || {
            pool.try_spawn(|| 3)
                .map(|handle| handle.join().unwrap())
                .is_ok()
        });
    });
}

#[test]
fn spawn_at_the_limit_blocks_until_a_place_frees_and_then_completes() {
    with_timeout(|| {
        let pool = Arc::new(limited(1, 1));
        let blocker = block_one_worker(&pool);
        let queued = pool.spawn(|| "queued");
        let (spawned_tx, spawned_rx) = mpsc::channel();
        let spawner = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let handle = pool.spawn(|| "waited for a place");
                spawned_tx.send(()).unwrap();
                handle.join().unwrap()
            })
        };
        assert!(
            stays_blocked(&spawned_rx),
            "spawn returned with the queue full"
        );
        assert_eq!(
            pool.stats().submitted,
            2,
            "the blocked job is not submitted yet"
        );
        blocker.finish();
        spawned_rx.recv().unwrap();
        assert_eq!(spawner.join().unwrap(), "waited for a place");
        assert_eq!(queued.join().unwrap(), "queued");
    });
}

#[test]
fn execute_at_the_limit_blocks_until_a_place_frees() {
    with_timeout(|| {
        let pool = Arc::new(limited(1, 1));
        let blocker = block_one_worker(&pool);
        pool.execute(|| ());
        let (ran_tx, ran_rx) = mpsc::channel();
        let (executed_tx, executed_rx) = mpsc::channel();
        let executor = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                pool.execute(move || ran_tx.send(()).unwrap());
                executed_tx.send(()).unwrap();
            })
        };
        assert!(
            stays_blocked(&executed_rx),
            "execute returned with the queue full"
        );
        blocker.finish();
        executed_rx.recv().unwrap();
        ran_rx.recv().unwrap();
        executor.join().unwrap();
    });
}

#[test]
fn spawn_from_a_worker_at_the_limit_does_not_deadlock_on_one_thread() {
    with_timeout(|| {
        let pool = Arc::new(limited(1, 1));
        let inner = Arc::clone(&pool);
        let outer = pool.spawn(move || {
            // Every spawn after the first finds the only place taken: the worker must run
            // queued jobs itself to make room.
            let handles: Vec<_> = (0..10u32).map(|i| inner.spawn(move || i)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u32>()
        });
        assert_eq!(outer.join().unwrap(), 45);
    });
}

#[test]
fn execute_from_a_worker_at_the_limit_does_not_deadlock_on_one_thread() {
    with_timeout(|| {
        let pool = Arc::new(limited(1, 1));
        let inner = Arc::clone(&pool);
        let (tx, rx) = mpsc::channel();
        pool.spawn(move || {
            for i in 0..10 {
                let tx = tx.clone();
                inner.execute(move || tx.send(i).unwrap());
            }
        })
        .join()
        .unwrap();
        let mut seen: Vec<i32> = rx.iter().take(10).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    });
}

#[test]
fn try_spawn_from_a_worker_at_the_limit_does_not_block() {
    with_timeout(|| {
        let pool = Arc::new(limited(1, 1));
        let inner = Arc::clone(&pool);
        let refused = pool
            .spawn(move || {
                let first = inner.try_spawn(|| 1).expect("the place is free");
                let second = inner.try_spawn(|| 2);
                let refused = second.is_err();
                first.join().unwrap();
                refused
            })
            .join()
            .unwrap();
        assert!(refused);
    });
}

#[test]
fn scoped_jobs_are_not_held_back_by_a_full_queue() {
    with_timeout(|| {
        let pool = limited(1, 1);
        let blocker = block_one_worker(&pool);
        let queued = pool.spawn(|| ()); // the queue is full now
        let ran = AtomicBool::new(false);
        pool.scope(|s| {
            for _ in 0..10 {
                s.spawn(|| ran.store(true, Ordering::SeqCst));
            }
            // Reaching this line means no scoped spawn waited for a queue place.
            drop(blocker.release);
        });
        assert!(ran.load(Ordering::SeqCst));
        blocker.handle.join().unwrap();
        queued.join().unwrap();
        assert_eq!(pool.join(|| 1, || 2), (1, 2));
        assert_eq!(pool.map(0..100, |x| x).len(), 100);
    });
}

/// `stats().queued` cannot be used to watch the limit: it is not an atomic snapshot (see the
/// `stats` module), and jobs submitted and started while a snapshot is being read count as
/// queued in it. So the test counts for itself: spawns that returned minus jobs that
/// started. Read in that order, a preempted reader can only under-count.
#[test]
fn many_threads_spawning_into_a_small_queue_all_complete_within_the_limit() {
    use std::sync::atomic::AtomicU64;
    with_timeout(|| {
        let limit = 4u64;
        let pool = Arc::new(limited(2, limit as usize));
        let returned = Arc::new(AtomicU64::new(0));
        let started = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (returned, started, done) = (
                Arc::clone(&returned),
                Arc::clone(&started),
                Arc::clone(&done),
            );
            std::thread::spawn(move || {
                let mut most = 0;
                while !done.load(Ordering::SeqCst) {
                    let returned = returned.load(Ordering::SeqCst);
                    most = most.max(returned.saturating_sub(started.load(Ordering::SeqCst)));
                    std::thread::yield_now();
                }
                most
            })
        };
        let spawners: Vec<_> = (0..4u64)
            .map(|t| {
                let (pool, returned, started) = (
                    Arc::clone(&pool),
                    Arc::clone(&returned),
                    Arc::clone(&started),
                );
                std::thread::spawn(move || {
                    let handles: Vec<_> = (0..scaled(500) as u64)
                        .map(|i| {
                            let started = Arc::clone(&started);
                            let handle = pool.spawn(move || {
                                started.fetch_add(1, Ordering::SeqCst);
                                t * 10_000 + i
                            });
                            returned.fetch_add(1, Ordering::SeqCst);
                            handle
                        })
                        .collect();
                    for (i, handle) in handles.into_iter().enumerate() {
                        assert_eq!(handle.join().unwrap(), t * 10_000 + i as u64);
                    }
                })
            })
            .collect();
        for spawner in spawners {
            spawner.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let most = watcher.join().unwrap();
        // A job leaves the limit's count when a worker pops it, just before it starts:
        // up to one more per worker in between.
        let bound = limit + pool.num_threads() as u64;
        assert!(most <= bound, "{most} jobs waited with max_queued({limit})");
    });
}

/// Regression for: a place is released only when a worker pops the job (`Event::Dequeued`
/// in `WorkerThread::count`), even for a job its handle cancelled, which `stats()` already
/// counts as cancelled and no longer as queued. While the workers are busy, cancelling
/// queued jobs frees no room: `try_spawn` keeps failing and `spawn` keeps blocking.
#[test]
fn cancelling_a_queued_job_frees_its_place() {
    with_timeout(|| {
        let pool = limited(1, 1);
        let blocker = block_one_worker(&pool);
        let queued = pool.spawn(|| 1);
        assert!(queued.cancel());
        assert_eq!(pool.stats().queued, 0);
        let handle = pool
            .try_spawn(|| 2)
            .expect("the cancelled job's place is free again");
        blocker.finish();
        assert_eq!(handle.join().unwrap(), 2);
    });
}
