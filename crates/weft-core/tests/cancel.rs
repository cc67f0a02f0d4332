//! `JobHandle::cancel`: a queued job never runs and its closure is dropped at once; a
//! running job is asked to stop through `weft::is_cancelled`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, mpsc};

use common::{DropCounter, block_one_worker, scaled, with_timeout};
use weft::{JobHandle, ThreadPool};

#[test]
fn cancel_of_a_queued_job_drops_its_closure_at_once_and_it_never_runs() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let blocker = block_one_worker(&pool);
        let drops = DropCounter::new();
        let ran = Arc::new(AtomicBool::new(false));
        let handle = {
            let token = drops.token();
            let ran = Arc::clone(&ran);
            pool.spawn(move || {
                let _token = token;
                ran.store(true, Ordering::SeqCst);
            })
        };
        assert_eq!(drops.get(), 0);
        assert!(handle.cancel(), "a queued job can be cancelled");
        assert_eq!(drops.get(), 1, "the closure is dropped by cancel itself");
        assert!(handle.is_finished(), "a cancelled job is finished");
        assert!(handle.join().unwrap_err().is_cancelled());
        blocker.finish();
        pool.shutdown();
        assert!(!ran.load(Ordering::SeqCst), "a cancelled job never runs");
        assert_eq!(drops.get(), 1, "dropped exactly once");
    });
}

#[test]
fn a_cancelled_job_is_counted_in_stats_at_once() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let blocker = block_one_worker(&pool);
        let handle = pool.spawn(|| ());
        assert!(handle.cancel());
        let stats = pool.stats();
        assert_eq!(stats.cancelled, 1);
        assert_eq!(stats.queued, 0, "a cancelled job is no longer queued");
        assert_eq!(stats.running, 1, "the blocker");
        assert_eq!(stats.submitted, 2);
        blocker.finish();
        drop(handle);
        pool.shutdown();
    });
}

#[test]
fn cancel_twice_returns_true_both_times_and_drops_the_closure_once() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let blocker = block_one_worker(&pool);
        let drops = DropCounter::new();
        let token = drops.token();
        let handle = pool.spawn(move || drop(token));
        assert!(handle.cancel());
        assert!(handle.cancel(), "cancel keeps returning true");
        assert_eq!(drops.get(), 1);
        assert!(handle.join().unwrap_err().is_cancelled());
        assert_eq!(pool.stats().cancelled, 1, "counted once");
        blocker.finish();
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn cancel_of_a_running_job_returns_false_and_is_cancelled_turns_true_inside() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            started_tx.send(weft::is_cancelled()).unwrap();
            while !weft::is_cancelled() {
                std::thread::yield_now();
            }
            "stopped"
        });
        assert!(
            !started_rx.recv().unwrap(),
            "not cancelled before the request"
        );
        assert!(!handle.cancel(), "a running job cannot be cancelled");
        assert!(!handle.cancel(), "asking twice changes nothing");
        assert_eq!(handle.join().unwrap(), "stopped", "it returns normally");
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.cancelled), (1, 0));
    });
}

#[test]
fn both_halves_of_a_join_inside_a_cancelled_job_see_the_request() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            let wait_for_cancel = || {
                while !weft::is_cancelled() {
                    std::thread::yield_now();
                }
                true
            };
            started_tx.send(()).unwrap();
            weft::join(wait_for_cancel, wait_for_cancel)
        });
        started_rx.recv().unwrap();
        assert!(!handle.cancel());
        assert_eq!(handle.join().unwrap(), (true, true));
    });
}

#[test]
fn is_cancelled_is_false_in_a_job_nobody_cancelled() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        assert!(!pool.spawn(weft::is_cancelled).join().unwrap());
        assert!(!pool.install(weft::is_cancelled));
        assert!(pool.broadcast(|_| weft::is_cancelled()).iter().all(|&c| !c));
        let (ra, rb) = pool.join(weft::is_cancelled, weft::is_cancelled);
        assert!(!ra && !rb);
    });
}

#[test]
fn cancel_of_a_finished_job_returns_false_and_keeps_its_value() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.spawn(|| 9);
        common::eventually("the job finishes", || handle.is_finished());
        assert!(!handle.cancel());
        assert_eq!(handle.join().unwrap(), 9);
        assert_eq!(pool.stats().cancelled, 0);
    });
}

#[test]
fn cancel_from_a_worker_of_the_same_pool_cancels_a_queued_job() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (handle_tx, handle_rx) = mpsc::channel::<JobHandle<()>>();
        let drops = DropCounter::new();
        let canceller = {
            let drops = drops.clone();
            pool.spawn(move || {
                let handle = handle_rx.recv().unwrap();
                let cancelled = handle.cancel();
                (
                    cancelled,
                    drops.get(),
                    handle.join().unwrap_err().is_cancelled(),
                )
            })
        };
        let token = drops.token();
        let victim = pool.spawn(move || drop(token));
        handle_tx.send(victim).unwrap();
        assert_eq!(canceller.join().unwrap(), (true, 1, true));
        let stats = pool.stats();
        assert_eq!((stats.cancelled, stats.completed), (1, 1));
    });
}

/// The job either ran or was cancelled, never both and never neither; its closure is
/// dropped exactly once; `cancel`'s answer, `join`'s outcome and the stats agree.
fn cancel_racing_start(threads: usize, rounds: usize, cancel_from_other_thread: bool) {
    let pool = ThreadPool::new(threads).unwrap();
    let (mut ran_count, mut cancelled_count) = (0u64, 0u64);
    for round in 0..rounds {
        let drops = DropCounter::new();
        let ran = Arc::new(AtomicBool::new(false));
        let token = drops.token();
        let job_ran = Arc::clone(&ran);
        let handle = pool.spawn(move || {
            let _token = token;
            job_ran.store(true, Ordering::SeqCst);
        });
        let (cancelled, drops_after_cancel, handle) = if cancel_from_other_thread {
            let barrier = Arc::new(Barrier::new(2));
            let canceller = {
                let barrier = Arc::clone(&barrier);
                let drops = drops.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    let cancelled = handle.cancel();
                    (cancelled, drops.get(), handle)
                })
            };
            barrier.wait();
            canceller.join().unwrap()
        } else {
            // Spread the cancel over the time a worker takes to pick the job up.
            for _ in 0..(round % 64) * 100 {
                std::hint::spin_loop();
            }
            let cancelled = handle.cancel();
            (cancelled, drops.get(), handle)
        };
        let outcome = handle.join();
        if cancelled {
            cancelled_count += 1;
            assert_eq!(
                drops_after_cancel, 1,
                "cancel() == true dropped the closure"
            );
            assert!(outcome.unwrap_err().is_cancelled());
            assert!(!ran.load(Ordering::SeqCst), "cancelled and ran");
        } else {
            ran_count += 1;
            assert!(outcome.is_ok(), "not cancelled, so it ran: {outcome:?}");
            assert!(ran.load(Ordering::SeqCst), "neither ran nor cancelled");
        }
        assert_eq!(drops.get(), 1, "the closure is dropped exactly once");
    }
    let stats = pool.stats();
    assert_eq!(stats.submitted, rounds as u64);
    assert_eq!(stats.cancelled, cancelled_count);
    assert_eq!(stats.completed, ran_count);
    assert_eq!(stats.queued + stats.running + stats.panicked, 0);
}

#[test]
fn cancel_racing_the_start_runs_or_cancels_exactly_once() {
    with_timeout(|| cancel_racing_start(1, scaled(1_000), false));
}

#[test]
fn cancel_racing_the_start_from_another_thread_runs_or_cancels_exactly_once() {
    with_timeout(|| cancel_racing_start(2, scaled(500), true));
}
