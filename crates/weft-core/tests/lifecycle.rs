//! A worker thread's start and end: `on_thread_start` runs on worker `i` before its first
//! job and `build` waits for it; `on_thread_stop` runs after its last job; a panicking start
//! hook is `BuildError::ThreadStart` and leaves no thread running; a panicking stop hook
//! neither stops the other workers from stopping nor the shutdown from returning.
//! (That the stop hook's panic is reported through `tracing` is in tests/tracing.rs.)

mod common;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use common::{EXPECTED, with_timeout};
use weft::{BuildError, ThreadPool};

thread_local! {
    /// Set by the start hooks below: which worker this thread started as.
    static STARTED_AS: Cell<Option<usize>> = const { Cell::new(None) };
    /// Jobs this thread ran, counted by the jobs themselves.
    static JOBS_RUN: Cell<usize> = const { Cell::new(0) };
}

#[test]
fn on_thread_start_runs_on_each_worker_before_build_returns_and_before_its_first_job() {
    with_timeout(|| {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        let pool = ThreadPool::builder()
            .num_threads(3)
            .thread_name(|index| format!("start-{index}"))
            .on_thread_start(move |index| {
                STARTED_AS.with(|started| started.set(Some(index)));
                let name = std::thread::current().name().map(str::to_owned);
                recorded
                    .lock()
                    .unwrap()
                    .push((index, name, weft::current_thread_index()));
            })
            .build()
            .unwrap();
        let mut calls = calls.lock().unwrap().clone();
        calls.sort();
        let expected: Vec<_> = (0..3)
            .map(|i| (i, Some(format!("start-{i}")), Some(i)))
            .collect();
        assert_eq!(
            calls, expected,
            "once per worker, on that worker, before build returned"
        );
        // Every worker's first job sees what its start hook set up.
        let seen = pool.broadcast(|_| STARTED_AS.with(Cell::get));
        assert_eq!(seen, vec![Some(0), Some(1), Some(2)]);
    });
}

#[test]
fn on_thread_stop_runs_on_each_worker_after_its_last_job() {
    with_timeout(|| {
        let stops = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&stops);
        let pool = ThreadPool::builder()
            .num_threads(3)
            .on_thread_stop(move |index| {
                let jobs = JOBS_RUN.with(Cell::get);
                recorded
                    .lock()
                    .unwrap()
                    .push((index, weft::current_thread_index(), jobs));
            })
            .build()
            .unwrap();
        let jobs = 3_000;
        for _ in 0..jobs {
            pool.execute(|| JOBS_RUN.with(|run| run.set(run.get() + 1)));
        }
        assert!(
            stops.lock().unwrap().is_empty(),
            "no stop before the shutdown"
        );
        pool.shutdown();
        let mut stops = stops.lock().unwrap().clone();
        stops.sort();
        let indices: Vec<_> = stops.iter().map(|&(i, on, _)| (i, on)).collect();
        assert_eq!(indices, vec![(0, Some(0)), (1, Some(1)), (2, Some(2))]);
        // Each stop hook saw every job its thread ran: none ran after it.
        let counted: usize = stops.iter().map(|&(_, _, jobs)| jobs).sum();
        assert_eq!(counted, jobs);
    });
}

#[test]
fn a_panicking_on_thread_start_is_a_thread_start_error_and_leaves_no_thread_running() {
    with_timeout(|| {
        let stops = Arc::new(Mutex::new(BTreeSet::new()));
        let recorded = Arc::clone(&stops);
        let result = ThreadPool::builder()
            .num_threads(4)
            .thread_name(|index| format!("tspanic-{index}"))
            .on_thread_start(|index| {
                if index == 2 {
                    panic!("no device for worker 2 {EXPECTED}");
                }
            })
            .on_thread_stop(move |index| {
                recorded.lock().unwrap().insert(index);
            })
            .build();
        let error = result.expect_err("a panicking start hook fails the build");
        let BuildError::ThreadStart { index, message } = &error else {
            panic!("expected BuildError::ThreadStart, got {error:?}");
        };
        assert_eq!(*index, 2);
        assert!(message.contains("no device for worker 2"), "{message}");
        let text = error.to_string();
        assert!(text.contains('2') && text.contains("no device"), "{text}");
        common::assert_threads_gone("tspanic-");
        // The workers whose start hook returned were stopped properly; worker 2 was not.
        assert_eq!(*stops.lock().unwrap(), BTreeSet::from([0, 1, 3]));
    });
}

#[test]
fn when_several_start_hooks_panic_the_lowest_index_is_reported() {
    with_timeout(|| {
        for _ in 0..10 {
            let result = ThreadPool::builder()
                .num_threads(4)
                .thread_name(|index| format!("tsall-{index}"))
                .on_thread_start(|index| {
                    if index > 0 {
                        panic!("worker {index} {EXPECTED}");
                    }
                })
                .build();
            match result {
                Err(BuildError::ThreadStart { index, message }) => {
                    assert_eq!(index, 1);
                    assert!(message.starts_with("worker 1 "), "{message}");
                }
                other => panic!("expected BuildError::ThreadStart, got {other:?}"),
            }
            common::assert_threads_gone("tsall-");
        }
    });
}

/// A start hook whose payload is not a string still gives a message.
#[test]
fn a_start_hook_panicking_with_a_non_string_payload_is_reported_as_box_dyn_any() {
    with_timeout(|| {
        let result = ThreadPool::builder()
            .num_threads(1)
            .on_thread_start(|_| std::panic::panic_any(42u32))
            .build();
        match result {
            Err(BuildError::ThreadStart { index: 0, message }) => {
                assert_eq!(message, "Box<dyn Any>");
            }
            other => panic!("expected BuildError::ThreadStart, got {other:?}"),
        }
    });
}

#[test]
fn a_panicking_on_thread_stop_does_not_stop_the_other_workers_stopping_or_shutdown_returning() {
    with_timeout(|| {
        for shutdown_now in [false, true] {
            let stops = Arc::new(AtomicUsize::new(0));
            let counted = Arc::clone(&stops);
            let pool = ThreadPool::builder()
                .num_threads(3)
                .thread_name(|index| format!("stpanic-{index}"))
                .on_thread_stop(move |index| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    if index == 1 {
                        panic!("stop hook of worker 1 {EXPECTED}");
                    }
                })
                .build()
                .unwrap();
            assert_eq!(pool.spawn(|| 5).join().unwrap(), 5);
            if shutdown_now {
                pool.shutdown_now();
            } else {
                pool.shutdown();
            }
            assert_eq!(stops.load(Ordering::SeqCst), 3, "every stop hook ran");
            common::assert_threads_gone("stpanic-");
        }
    });
}

/// The pool's last reference goes away on one of its own workers: the workers exit by
/// themselves, and each still runs its stop hook.
#[test]
fn dropping_the_pool_on_its_own_worker_still_runs_every_stop_hook() {
    with_timeout(|| {
        let (stopped_tx, stopped_rx) = mpsc::channel();
        let stopped_tx = Mutex::new(stopped_tx);
        let pool = Arc::new(
            ThreadPool::builder()
                .num_threads(2)
                .on_thread_stop(move |index| stopped_tx.lock().unwrap().send(index).unwrap())
                .build()
                .unwrap(),
        );
        let inner = Arc::clone(&pool);
        let dropper = pool.spawn(move || drop(inner));
        drop(pool);
        dropper.join().unwrap();
        let mut stopped: Vec<usize> = stopped_rx.iter().take(2).collect();
        stopped.sort();
        assert_eq!(stopped, vec![0, 1]);
    });
}

/// Many threads, both hooks: every start before `build` returns, every stop before
/// `shutdown` returns.
#[test]
fn every_hook_of_a_large_pool_runs_exactly_once() {
    with_timeout(|| {
        let threads = 128;
        let starts = Arc::new(Mutex::new(Vec::new()));
        let stops = Arc::new(Mutex::new(Vec::new()));
        let (on_start, on_stop) = (Arc::clone(&starts), Arc::clone(&stops));
        let pool = ThreadPool::builder()
            .num_threads(threads)
            .stack_size(weft::MIN_STACK_SIZE)
            .on_thread_start(move |index| on_start.lock().unwrap().push(index))
            .on_thread_stop(move |index| on_stop.lock().unwrap().push(index))
            .build()
            .unwrap();
        let mut started = starts.lock().unwrap().clone();
        started.sort_unstable();
        assert_eq!(started, (0..threads).collect::<Vec<_>>());
        pool.shutdown();
        let mut stopped = stops.lock().unwrap().clone();
        stopped.sort_unstable();
        assert_eq!(stopped, (0..threads).collect::<Vec<_>>());
    });
}

/// A spare thread (started after the build, while a worker waits) runs both hooks too,
/// with its slot index (`num_threads` and up), before its first job and after its last.
#[test]
fn a_spare_thread_runs_both_hooks_with_its_slot_index() {
    with_timeout(|| {
        let starts = Arc::new(Mutex::new(BTreeSet::new()));
        let stops = Arc::new(Mutex::new(BTreeSet::new()));
        let (on_start, on_stop) = (Arc::clone(&starts), Arc::clone(&stops));
        let pool = Arc::new(
            ThreadPool::builder()
                .num_threads(1)
                .on_thread_start(move |index| {
                    STARTED_AS.with(|started| started.set(Some(index)));
                    on_start.lock().unwrap().insert(index);
                })
                .on_thread_stop(move |index| {
                    on_stop.lock().unwrap().insert(index);
                })
                .build()
                .unwrap(),
        );
        assert_eq!(*starts.lock().unwrap(), BTreeSet::from([0]));
        let inner_pool = Arc::clone(&pool);
        // Waiting with a deadline on a queued job of its own pool: a spare runs that job.
        let outer = pool.spawn(move || {
            let inner = inner_pool.spawn(|| STARTED_AS.with(Cell::get));
            inner
                .join_timeout(std::time::Duration::from_secs(20))
                .expect("a spare ran it in time")
                .unwrap()
        });
        let seen_by_inner = outer.join().unwrap();
        assert!(pool.stats().spare_threads >= 1);
        assert_eq!(
            seen_by_inner,
            Some(1),
            "the spare's start hook ran before its job"
        );
        assert_eq!(*starts.lock().unwrap(), BTreeSet::from([0, 1]));
        Arc::try_unwrap(pool).unwrap().shutdown();
        assert_eq!(*stops.lock().unwrap(), BTreeSet::from([0, 1]));
    });
}
