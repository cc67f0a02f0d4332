//! `ThreadPool::scope`: jobs that borrow from the caller, joined or not, and how panics of
//! the body and of the jobs come out.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use common::{DropCounter, EXPECTED, expect_panic, panic_text, with_timeout};
use weft::ThreadPool;

#[test]
fn scoped_jobs_borrow_the_callers_data() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let numbers: Vec<u64> = (1..=100).collect();
        let mut halves = [0u64; 2];
        let (left, right) = halves.split_at_mut(1);
        let (len, sum) = pool.scope(|s| {
            let len = s.spawn(|| numbers.len());
            let sum = s.spawn(|| numbers.iter().sum::<u64>());
            s.spawn(|| left[0] = numbers[..50].iter().sum());
            s.spawn(|| right[0] = numbers[50..].iter().sum());
            (len.join().unwrap(), sum.join().unwrap())
        });
        assert_eq!((len, sum), (100, 5050));
        assert_eq!(halves[0] + halves[1], 5050);
    });
}

#[test]
fn scoped_jobs_write_disjoint_chunks_of_a_buffer() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let mut buffer = vec![0usize; 10_000];
        pool.scope(|s| {
            for (c, chunk) in buffer.chunks_mut(100).enumerate() {
                s.spawn(move || {
                    for (i, x) in chunk.iter_mut().enumerate() {
                        *x = c * 100 + i;
                    }
                });
            }
        });
        assert!(buffer.iter().enumerate().all(|(i, &x)| i == x));
    });
}

#[test]
fn scope_returns_the_bodys_value_after_every_job_finished() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let finished = AtomicUsize::new(0);
        let value = pool.scope(|s| {
            for _ in 0..50 {
                s.spawn(|| {
                    std::thread::yield_now();
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            "body"
        });
        assert_eq!(value, "body");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            50,
            "no job outlives the scope"
        );
    });
}

#[test]
fn a_joined_scoped_panic_is_returned_as_err_and_not_reraised() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let outcome = pool.scope(|s| {
            let handle = s.spawn(|| -> u8 { panic!("joined {EXPECTED}") });
            handle.join()
        });
        let error = outcome.unwrap_err();
        assert!(error.panic_message().unwrap().contains("joined"));
    });
}

/// `slow` can only finish after `panicking` panicked (it waits for the channel that
/// `panicking` drops while unwinding), so a scope that re-raised early would miss it.
#[test]
fn an_unjoined_scoped_panic_makes_scope_panic_after_every_job_finished() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let slow_finished = AtomicBool::new(false);
        let payload = expect_panic(|| {
            pool.scope(|s| {
                let (tx, rx) = mpsc::channel::<()>();
                let slow_finished = &slow_finished;
                s.spawn(move || {
                    let _ = rx.recv();
                    slow_finished.store(true, Ordering::SeqCst);
                });
                let panicking = s.spawn(move || {
                    let _tx = tx;
                    panic!("unjoined {EXPECTED}")
                });
                // Keep the handle until the job is done, then let it go unjoined.
                while !panicking.is_finished() {
                    std::thread::yield_now();
                }
            })
        });
        assert!(panic_text(&*payload).unwrap().contains("unjoined"));
        assert!(
            slow_finished.load(Ordering::SeqCst),
            "scope panicked before a job finished"
        );
    });
}

/// Regression for: a scoped job whose handle is dropped before the job finishes loses its
/// panic. The worker's `send` of `Err(payload)` finds the receiver gone and drops the
/// payload quietly (`HeapJob::finish`), so `Scoped::on_free` never sees it and `scope`
/// returns normally.
#[test]
fn an_unjoined_scoped_panic_is_reraised_even_when_its_handle_was_dropped_before_the_job_ran() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let payload = expect_panic(|| {
            pool.scope(|s| {
                let (release, release_rx) = mpsc::channel::<()>();
                let handle = s.spawn(move || {
                    release_rx.recv().unwrap();
                    panic!("dropped handle {EXPECTED}")
                });
                drop(handle);
                release.send(()).unwrap();
            })
        });
        assert!(panic_text(&*payload).unwrap().contains("dropped handle"));
    });
}

/// The usual way to write it: `s.spawn(..);` as a statement drops the handle at once.
#[test]
fn a_panic_of_a_job_spawned_as_a_statement_makes_scope_panic() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let payload = expect_panic(|| {
            pool.scope(|s| {
                let (release, release_rx) = mpsc::channel::<()>();
                s.spawn(move || {
                    release_rx.recv().unwrap();
                    panic!("statement {EXPECTED}")
                });
                release.send(()).unwrap();
            })
        });
        assert!(panic_text(&*payload).unwrap().contains("statement"));
    });
}

#[test]
fn a_panic_of_the_body_is_reraised_after_every_job_finished() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let slow_finished = AtomicBool::new(false);
        let payload = expect_panic(|| {
            pool.scope(|s| {
                let (tx, rx) = mpsc::channel::<()>();
                let slow_finished = &slow_finished;
                s.spawn(move || {
                    // Returns once the body dropped `tx` while unwinding.
                    let _ = rx.recv();
                    slow_finished.store(true, Ordering::SeqCst);
                });
                let _tx = tx;
                panic!("body {EXPECTED}");
            })
        });
        assert!(panic_text(&*payload).unwrap().contains("body"));
        assert!(
            slow_finished.load(Ordering::SeqCst),
            "scope panicked before a job finished"
        );
    });
}

#[test]
fn a_panic_of_the_body_wins_over_an_unjoined_job_panic() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let payload = expect_panic(|| {
            pool.scope(|s| {
                let job = s.spawn(|| panic!("job {EXPECTED}"));
                while !job.is_finished() {
                    std::thread::yield_now();
                }
                drop(job);
                panic!("body {EXPECTED}");
            })
        });
        assert!(panic_text(&*payload).unwrap().contains("body"));
    });
}

#[test]
fn scoped_jobs_can_spawn_more_scoped_jobs() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let count = AtomicUsize::new(0);
        let count = &count;
        pool.scope(|s| {
            for _ in 0..4 {
                s.spawn(move || {
                    for _ in 0..4 {
                        s.spawn(move || {
                            s.spawn(move || count.fetch_add(1, Ordering::SeqCst));
                            count.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(count.load(Ordering::SeqCst), 4 + 4 * 4 * 2);
    });
}

#[test]
fn a_nested_scoped_job_can_join_its_own_child() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let data = [1, 2, 3];
        let total = pool.scope(|s| {
            let outer = s.spawn(|| {
                let inner = s.spawn(|| data.iter().sum::<i32>());
                inner.join().unwrap() * 10
            });
            outer.join().unwrap()
        });
        assert_eq!(total, 60);
    });
}

#[test]
fn scope_called_from_inside_a_pool_job_works_even_on_one_thread() {
    with_timeout(|| {
        for threads in [1, 2] {
            let pool = Arc::new(ThreadPool::new(threads).unwrap());
            let inner = Arc::clone(&pool);
            let handle = pool.spawn(move || {
                let data = [1u64, 2, 3, 4];
                inner.scope(|s| {
                    let a = s.spawn(|| data[..2].iter().sum::<u64>());
                    let b = s.spawn(|| data[2..].iter().sum::<u64>());
                    a.join().unwrap() + b.join().unwrap()
                })
            });
            assert_eq!(handle.join().unwrap(), 10);
            let via_install = pool.install(|| pool.scope(|s| s.spawn(|| 5).join().unwrap()));
            assert_eq!(via_install, 5);
        }
    });
}

#[test]
fn a_queued_scoped_job_can_be_cancelled() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let drops = DropCounter::new();
        let ran = AtomicBool::new(false);
        pool.scope(|s| {
            let (release, release_rx) = mpsc::channel::<()>();
            let (started_tx, started_rx) = mpsc::channel::<()>();
            let blocker = s.spawn(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            });
            started_rx.recv().unwrap();
            let token = drops.token();
            let victim = s.spawn(|| {
                let _token = token;
                ran.store(true, Ordering::SeqCst);
            });
            assert!(victim.cancel());
            assert_eq!(drops.get(), 1, "closure dropped by cancel");
            assert!(victim.is_finished());
            assert!(victim.join().unwrap_err().is_cancelled());
            release.send(()).unwrap();
            blocker.join().unwrap();
        });
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn cancel_of_a_running_scoped_job_sets_is_cancelled_inside_it() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let stopped = pool.scope(|s| {
            let (started_tx, started_rx) = mpsc::channel::<()>();
            let job = s.spawn(move || {
                started_tx.send(()).unwrap();
                while !weft::is_cancelled() {
                    std::thread::yield_now();
                }
                "stopped"
            });
            started_rx.recv().unwrap();
            assert!(!job.cancel());
            job.join().unwrap()
        });
        assert_eq!(stopped, "stopped");
    });
}

#[test]
fn scoped_jobs_are_not_counted_in_stats() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        pool.scope(|s| {
            for _ in 0..10 {
                s.spawn(|| ());
            }
        });
        assert_eq!(pool.stats().submitted, 0);
    });
}
