//! `ThreadPool::broadcast`: once on every worker, `result[i]` from worker `i`, a panic
//! re-raised after every worker ran.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::{EXPECTED, block_one_worker, expect_panic, panic_text, with_timeout};
use weft::ThreadPool;

#[test]
fn broadcast_result_i_came_from_worker_i() {
    with_timeout(|| {
        let pool = ThreadPool::new(3).unwrap();
        let seen = pool.broadcast(|index| {
            (
                index,
                weft::current_thread_index(),
                std::thread::current().name().map(str::to_owned),
            )
        });
        for (i, (index, current, name)) in seen.into_iter().enumerate() {
            assert_eq!(index, i);
            assert_eq!(current, Some(i), "result[{i}] ran on worker {current:?}");
            assert_eq!(name.as_deref(), Some(format!("weft-worker-{i}").as_str()));
        }
    });
}

#[test]
fn broadcast_runs_exactly_once_on_every_worker() {
    with_timeout(|| {
        let pool = ThreadPool::new(4).unwrap();
        let runs: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        let threads = pool.broadcast(|index| {
            runs[index].fetch_add(1, Ordering::SeqCst);
            std::thread::current().id()
        });
        assert!(runs.iter().all(|count| count.load(Ordering::SeqCst) == 1));
        assert_eq!(
            threads.iter().collect::<HashSet<_>>().len(),
            4,
            "four distinct threads"
        );
    });
}

#[test]
fn broadcast_may_borrow_from_the_caller() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let words = ["zero", "one"];
        assert_eq!(pool.broadcast(|i| words[i].len()), vec![4, 3]);
    });
}

/// Worker 1's call can only return after worker 0's call started unwinding.
#[test]
fn a_panic_in_broadcast_is_reraised_after_every_worker_ran() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let tx = std::sync::Mutex::new(Some(tx));
        let rx = std::sync::Mutex::new(rx);
        let other_finished = AtomicBool::new(false);
        let payload = expect_panic(|| {
            pool.broadcast(|index| {
                if index == 0 {
                    let _tx = tx.lock().unwrap().take();
                    panic!("broadcast {EXPECTED}");
                }
                let _ = rx.lock().unwrap().recv();
                other_finished.store(true, Ordering::SeqCst);
            })
        });
        assert!(panic_text(&*payload).unwrap().contains("broadcast"));
        assert!(
            other_finished.load(Ordering::SeqCst),
            "re-raised before worker 1 finished"
        );
    });
}

#[test]
fn when_several_workers_panic_broadcast_reraises_the_lowest_index() {
    with_timeout(|| {
        let pool = ThreadPool::new(3).unwrap();
        let payload =
            expect_panic(|| pool.broadcast(|index| -> () { panic!("worker {index} {EXPECTED}") }));
        assert_eq!(
            panic_text(&*payload),
            Some(format!("worker 0 {EXPECTED}").as_str())
        );
        assert_eq!(
            pool.broadcast(|i| i),
            vec![0, 1, 2],
            "every worker survived"
        );
    });
}

#[test]
fn broadcast_from_inside_a_pool_job_works_even_on_one_thread() {
    with_timeout(|| {
        for threads in [1, 2] {
            let pool = Arc::new(ThreadPool::new(threads).unwrap());
            let expected: Vec<usize> = (0..threads).collect();
            assert_eq!(pool.install(|| pool.broadcast(|i| i)), expected);
            let inner = Arc::clone(&pool);
            assert_eq!(
                pool.spawn(move || inner.broadcast(|i| i)).join().unwrap(),
                expected
            );
        }
    });
}

#[test]
fn broadcast_waits_for_a_busy_worker() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let blocker = block_one_worker(&pool);
        let (done_tx, done_rx) = mpsc::channel();
        let broadcaster = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || done_tx.send(pool.broadcast(|i| i)).unwrap())
        };
        // Cannot be done: one worker is inside the blocker.
        assert!(done_rx.recv_timeout(Duration::from_millis(20)).is_err());
        blocker.finish();
        assert_eq!(done_rx.recv().unwrap(), vec![0, 1]);
        broadcaster.join().unwrap();
    });
}

#[test]
fn concurrent_broadcasts_each_run_once_per_worker() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    for _ in 0..common::scaled(50) {
                        assert_eq!(
                            pool.broadcast(|i| weft::current_thread_index() == Some(i)),
                            [true, true]
                        );
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });
}
