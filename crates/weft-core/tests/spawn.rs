//! Detached jobs: `spawn` and its `JobHandle` (join, join_timeout, is_finished, Future).

mod common;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::Context;
use std::time::Duration;

use common::{EXPECTED, block_on, block_on_with, block_one_worker, scaled, with_timeout};
use weft::{JobError, JobHandle, SpawnError, ThreadPool};

#[test]
fn spawn_returns_values_of_any_type() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(pool.spawn(|| 42i32).join().unwrap(), 42);
        pool.spawn(|| ()).join().unwrap();
        assert_eq!(pool.spawn(|| String::from("text")).join().unwrap(), "text");
        assert_eq!(
            pool.spawn(|| vec![1u8, 2, 3]).join().unwrap(),
            vec![1, 2, 3]
        );
        assert_eq!(
            pool.spawn(|| (1u8, 'x', 2.5f64)).join().unwrap(),
            (1, 'x', 2.5)
        );
        assert_eq!(pool.spawn(|| Some(7u64)).join().unwrap(), Some(7));
        assert_eq!(pool.spawn(|| Err::<u8, _>("no")).join().unwrap(), Err("no"));
        let big = pool.spawn(|| [7u64; 4096]).join().unwrap();
        assert!(big.iter().all(|&x| x == 7));
        type Adder = Box<dyn Fn(u32) -> u32 + Send>;
        let boxed = pool
            .spawn(|| Box::new(|x: u32| x + 1) as Adder)
            .join()
            .unwrap();
        assert_eq!(boxed(1), 2);
    });
}

#[test]
fn spawn_moves_values_into_the_job_and_out_again() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let data = vec![String::from("a"), String::from("b")];
        let handle = pool.spawn(move || {
            let mut data = data;
            data.push(String::from("c"));
            data
        });
        assert_eq!(handle.join().unwrap(), ["a", "b", "c"]);
    });
}

#[test]
fn every_handle_resolves_to_its_own_jobs_value() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let n = scaled(10_000) as u64;
        let handles: Vec<_> = (0..n).map(|i| pool.spawn(move || i * i)).collect();
        for (i, handle) in (0..n).zip(handles) {
            assert_eq!(handle.join().unwrap(), i * i);
        }
    });
}

#[test]
fn a_dropped_handle_detaches_the_job_which_still_runs() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let blocker = block_one_worker(&pool);
        let (tx, rx) = mpsc::channel();
        drop(pool.spawn(move || tx.send("ran").unwrap()));
        blocker.finish();
        assert_eq!(rx.recv().unwrap(), "ran");
    });
}

#[test]
fn join_timeout_returns_the_handle_on_timeout_and_the_value_later() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (release, release_rx) = mpsc::channel::<u32>();
        let handle = pool.spawn(move || release_rx.recv().unwrap() * 2);
        let handle = match handle.join_timeout(Duration::from_millis(5)) {
            Err(handle) => handle,
            Ok(outcome) => panic!("the job cannot have finished yet: {outcome:?}"),
        };
        assert!(!handle.is_finished());
        let handle = handle.join_timeout(Duration::ZERO).unwrap_err();
        release.send(21).unwrap();
        let value = handle
            .join_timeout(common::HANG_LIMIT)
            .expect("finished in time");
        assert_eq!(value.unwrap(), 42);
    });
}

#[test]
fn join_timeout_of_a_finished_job_returns_at_once_even_with_zero_timeout() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.spawn(|| "done");
        common::eventually("the job finishes", || handle.is_finished());
        assert_eq!(
            handle.join_timeout(Duration::ZERO).unwrap().unwrap(),
            "done"
        );
    });
}

#[test]
fn join_timeout_with_an_endless_timeout_waits_for_the_value() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (release, release_rx) = mpsc::channel::<u8>();
        let handle = pool.spawn(move || release_rx.recv().unwrap());
        release.send(3).unwrap();
        assert_eq!(handle.join_timeout(Duration::MAX).unwrap().unwrap(), 3);
    });
}

#[test]
fn join_timeout_on_a_worker_times_out_and_hands_the_handle_back() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let blocker = block_one_worker(&pool);
        let (release, release_rx) = mpsc::channel::<()>();
        // `slow` occupies the other worker; `waiter` queues until the blocker is released,
        // then waits on `slow` from a worker, which takes the helping path.
        let slow = pool.spawn(move || release_rx.recv().unwrap());
        let waiter = {
            let (handle_tx, handle_rx) = mpsc::channel::<JobHandle<()>>();
            let waiter = pool.spawn(move || {
                let handle = handle_rx.recv().unwrap();
                match handle.join_timeout(Duration::from_millis(5)) {
                    Err(handle) => handle,
                    Ok(_) => panic!("the slow job cannot have finished"),
                }
            });
            handle_tx.send(slow).unwrap();
            waiter
        };
        blocker.finish();
        let slow = waiter
            .join()
            .expect("the waiting job timed out and returned the handle");
        assert!(!slow.is_finished());
        release.send(()).unwrap();
        slow.join().unwrap();
    });
}

#[test]
fn is_finished_turns_true_when_the_job_ends() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (release, release_rx) = mpsc::channel::<()>();
        let handle = pool.spawn(move || release_rx.recv().unwrap());
        assert!(!handle.is_finished());
        release.send(()).unwrap();
        common::eventually("is_finished turns true", || handle.is_finished());
        handle.join().unwrap();

        let panicked = pool.spawn(|| panic!("{EXPECTED}"));
        common::eventually("a panicked job is finished", || panicked.is_finished());
        assert!(panicked.join().unwrap_err().is_panic());
    });
}

#[test]
fn awaiting_a_finished_job_gives_its_value() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.spawn(|| 5u8);
        common::eventually("the job finishes", || handle.is_finished());
        assert_eq!(block_on(handle).unwrap(), 5);
    });
}

#[test]
fn awaiting_a_handle_before_the_job_finished_waits_for_it() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (release, release_rx) = mpsc::channel::<String>();
        let handle = pool.spawn(move || release_rx.recv().unwrap() + "!");
        let mut message = Some(String::from("woken"));
        let (value, polls) = block_on_with(handle, |_| {
            // The first poll found the job blocked; only now let it finish.
            if let Some(message) = message.take() {
                release.send(message).unwrap();
            }
        });
        assert_eq!(value.unwrap(), "woken!");
        assert!(polls >= 2, "the first poll was Pending");
    });
}

#[test]
fn awaiting_a_panicked_or_cancelled_job_gives_the_error() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let error = block_on(pool.spawn(|| -> u8 { panic!("async boom {EXPECTED}") })).unwrap_err();
        assert!(error.panic_message().unwrap().contains("async boom"));

        let blocker = block_one_worker(&pool);
        let queued = pool.spawn(|| 1u8);
        assert!(queued.cancel());
        assert!(block_on(queued).unwrap_err().is_cancelled());
        blocker.finish();
    });
}

#[test]
fn polling_a_handle_again_after_it_completed_panics() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let mut handle = pool.spawn(|| 1u8);
        assert_eq!(block_on(&mut handle).unwrap(), 1);
        let waker = std::task::Waker::noop();
        common::expect_panic(|| Pin::new(&mut handle).poll(&mut Context::from_waker(waker)));
    });
}

#[test]
fn awaiting_many_handles_in_turn_gives_every_value() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let handles: Vec<_> = (0..scaled(500) as u64)
            .map(|i| pool.spawn(move || i + 1))
            .collect();
        let sum = block_on(async move {
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        });
        let n = scaled(500) as u64;
        assert_eq!(sum, n * (n + 1) / 2);
    });
}

/// Between submissions the workers have time to go to sleep: each new job must wake one.
#[test]
fn spawn_wakes_a_sleeping_pool() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for round in 0..scaled(100) {
            std::thread::sleep(Duration::from_millis(2));
            assert_eq!(pool.spawn(move || round).join().unwrap(), round);
        }
    });
}

#[test]
fn spawn_from_several_threads_at_once_resolves_every_job() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let total = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let pool = Arc::clone(&pool);
                let total = Arc::clone(&total);
                std::thread::spawn(move || {
                    let handles: Vec<_> = (0..scaled(2_000))
                        .map(|i| {
                            let total = Arc::clone(&total);
                            pool.spawn(move || {
                                total.fetch_add(1, Ordering::Relaxed);
                                t * 1_000_000 + i
                            })
                        })
                        .collect();
                    for (i, handle) in handles.into_iter().enumerate() {
                        assert_eq!(handle.join().unwrap(), t * 1_000_000 + i);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(total.load(Ordering::Relaxed), 4 * scaled(2_000));
    });
}

#[test]
fn handle_debug_says_whether_it_finished() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.spawn(|| 1);
        common::eventually("the job finishes", || handle.is_finished());
        assert!(format!("{handle:?}").contains("true"), "{handle:?}");
    });
}

// Compile-time checks: these only have to build.

#[allow(dead_code)]
struct NotDebug;

#[test]
fn job_handle_is_send_sync_and_unpin_even_for_non_sync_values() {
    fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
    assert_send_sync_unpin::<JobHandle<NotDebug>>();
    assert_send_sync_unpin::<JobHandle<Cell<u8>>>();
    fn assert_future<F: Future<Output = Result<u8, JobError>>>() {}
    assert_future::<JobHandle<u8>>();
}

#[test]
fn job_error_is_send_and_a_std_error() {
    fn assert_send_error<E: Send + std::error::Error + 'static>() {}
    assert_send_error::<JobError>();
}

#[test]
fn spawn_error_is_debug_and_display_without_a_debug_closure() {
    fn assert_debug_error<E: std::fmt::Debug + std::fmt::Display + std::error::Error>() {}
    let closure = move || NotDebug;
    fn error_of<F>(f: F) -> SpawnError<F> {
        SpawnError::Full(f)
    }
    let error = error_of(closure);
    assert!(format!("{error:?}").contains("Full"));
    assert!(!error.to_string().is_empty());
    assert!(error.is_full());
    let _: NotDebug = error.into_inner()();
    assert_debug_error::<SpawnError<fn() -> NotDebug>>();
}

#[test]
fn thread_pool_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ThreadPool>();
}

#[test]
fn a_job_handle_is_one_word_and_an_optional_one_too() {
    // Its two flags ride in the pointer's low bits: a million outstanding handles are 8 MB.
    assert_eq!(size_of::<JobHandle<u64>>(), size_of::<usize>());
    assert_eq!(
        size_of::<Option<JobHandle<[u8; 100]>>>(),
        size_of::<usize>()
    );
    assert_eq!(
        size_of::<weft::ScopedJobHandle<'static, u64>>(),
        size_of::<usize>()
    );
}
