//! Lifecycle: `shutdown` runs everything queued, `shutdown_now` cancels it, `Drop` is
//! `shutdown`, dropping the pool on one of its own workers does not deadlock, and
//! `shutdown_timeout` either shuts down in time or gives the pool back as it was.
//!
//! Jobs meant to be "queued at shutdown" sit behind gate jobs that hold every worker until
//! the pool is being closed (see `common::CloseGate`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{DropCounter, block_on, hold_workers_until_close, with_timeout};
use weft::channel::SendError;
use weft::{JobHandle, ThreadPool, WorkerContext};

fn named_pool(threads: usize, prefix: &'static str) -> ThreadPool {
    ThreadPool::builder()
        .num_threads(threads)
        .thread_name(move |i| format!("{prefix}{i}"))
        .build()
        .unwrap()
}

#[test]
fn shutdown_runs_every_queued_job_and_joins_the_threads() {
    with_timeout(|| {
        let pool = named_pool(2, "sd-run-");
        let gate = hold_workers_until_close(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let ran = Arc::clone(&ran);
                pool.spawn(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        for _ in 0..20 {
            let ran = Arc::clone(&ran);
            pool.execute(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0, "everything is still queued");
        gate.announce_close();
        pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 120, "no queued job was lost");
        common::assert_threads_gone("sd-run-");
        gate.join();
        for (i, handle) in handles.into_iter().enumerate() {
            assert!(handle.is_finished());
            assert_eq!(handle.join().unwrap(), i);
        }
    });
}

#[test]
fn dropping_the_pool_runs_every_queued_job_and_joins_the_threads() {
    with_timeout(|| {
        let pool = named_pool(2, "sd-drop-");
        let gate = hold_workers_until_close(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let ran = Arc::clone(&ran);
                pool.spawn(move || ran.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        gate.announce_close();
        drop(pool);
        assert_eq!(ran.load(Ordering::SeqCst), 50);
        common::assert_threads_gone("sd-drop-");
        gate.join();
        for handle in handles {
            handle.join().unwrap();
        }
    });
}

#[test]
fn shutdown_now_cancels_queued_jobs_and_lets_running_ones_finish() {
    with_timeout(|| {
        let pool = named_pool(2, "sd-now-");
        let gate = hold_workers_until_close(&pool);
        let drops = DropCounter::new();
        let ran = Arc::new(AtomicBool::new(false));
        let handles: Vec<JobHandle<()>> = (0..40)
            .map(|_| {
                let token = drops.token();
                let ran = Arc::clone(&ran);
                pool.spawn(move || {
                    let _token = token;
                    ran.store(true, Ordering::SeqCst);
                })
            })
            .collect();
        for _ in 0..10 {
            let token = drops.token();
            let ran = Arc::clone(&ran);
            pool.execute(move || {
                let _token = token;
                ran.store(true, Ordering::SeqCst);
            });
        }
        gate.announce_close();
        // From another thread, as a program's shutdown path would.
        std::thread::spawn(move || pool.shutdown_now())
            .join()
            .unwrap();
        common::assert_threads_gone("sd-now-");
        for handle in &gate.handles {
            assert!(
                handle.is_finished(),
                "running jobs finished before shutdown_now returned"
            );
        }
        gate.join();
        assert!(
            !ran.load(Ordering::SeqCst),
            "a queued job ran after shutdown_now"
        );
        assert_eq!(drops.get(), 50, "every cancelled closure was dropped");
        for handle in handles {
            assert!(handle.is_finished());
            assert!(!handle.cancel(), "a job cancelled by the pool is finished");
            assert!(handle.join().unwrap_err().is_cancelled());
        }
    });
}

#[test]
fn shutdown_now_gives_a_running_job_waiting_on_a_queued_job_a_cancelled_result() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let closing = Arc::new(AtomicBool::new(false));
        let (handle_tx, handle_rx) = mpsc::channel::<JobHandle<u8>>();
        let (started_tx, started_rx) = mpsc::channel();
        let drain_now = Arc::new(AtomicBool::new(false));
        // The gate protocol of `common::CloseGate`, with a handle to wait on at the end.
        let waiting = {
            let (closing, drain_now) = (Arc::clone(&closing), Arc::clone(&drain_now));
            pool.spawn(move || {
                let handle = handle_rx.recv().unwrap();
                started_tx.send(()).unwrap();
                while !drain_now.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                std::thread::park_timeout(std::time::Duration::ZERO);
                started_tx.send(()).unwrap();
                loop {
                    std::thread::park();
                    if closing.load(Ordering::SeqCst) {
                        break;
                    }
                }
                handle.join()
            })
        };
        handle_tx.send(pool.spawn(|| 1)).unwrap();
        started_rx.recv().unwrap();
        drain_now.store(true, Ordering::SeqCst);
        started_rx.recv().unwrap();
        closing.store(true, Ordering::SeqCst);
        pool.shutdown_now();
        let outcome = waiting.join().expect("the running job finished normally");
        assert!(outcome.unwrap_err().is_cancelled());
    });
}

#[test]
fn handles_joined_or_awaited_after_shutdown_resolve() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let handles: Vec<_> = (0..200u64).map(|i| pool.spawn(move || i * 3)).collect();
        let awaited = pool.spawn(|| "awaited");
        pool.shutdown();
        for (i, handle) in (0..200u64).zip(handles) {
            assert_eq!(handle.join().unwrap(), i * 3);
        }
        assert_eq!(block_on(awaited).unwrap(), "awaited");
    });
}

#[test]
fn shutdown_of_an_idle_pool_wakes_and_joins_sleeping_workers() {
    with_timeout(|| {
        let pool = named_pool(2, "sd-idle-");
        pool.spawn(|| ()).join().unwrap();
        // Long enough for the workers to fall asleep (correctness does not depend on it).
        std::thread::sleep(std::time::Duration::from_millis(20));
        pool.shutdown();
        common::assert_threads_gone("sd-idle-");
        let pool = named_pool(2, "sd-idle2-");
        pool.shutdown_now();
        common::assert_threads_gone("sd-idle2-");
    });
}

/// The pool's last `Arc` goes away inside one of its own jobs: `Drop` must not join the
/// thread it runs on. The jobs queued behind it still run, and the workers exit by
/// themselves. The other workers are kept busy until then, so the queue is still full.
#[test]
fn dropping_the_last_arc_on_its_own_worker_does_not_deadlock_and_queued_jobs_still_run() {
    with_timeout(|| {
        for threads in [1, 2] {
            let prefix = if threads == 1 { "sd-own1-" } else { "sd-own2-" };
            let pool = Arc::new(named_pool(threads, prefix));
            let (started_tx, started_rx) = mpsc::channel();
            let (go_tx, go_rx) = mpsc::channel::<Vec<mpsc::Sender<()>>>();
            let (dropped_tx, dropped_rx) = mpsc::channel();
            let dropper = {
                let pool = Arc::clone(&pool);
                pool.clone().spawn(move || {
                    started_tx.send(()).unwrap();
                    let release_others = go_rx.recv().unwrap();
                    let on_worker = weft::current_thread_index().is_some();
                    drop(pool); // the last reference
                    drop(release_others);
                    dropped_tx.send(on_worker).unwrap();
                })
            };
            started_rx.recv().unwrap();
            let others: Vec<_> = (1..threads)
                .map(|_| common::block_one_worker(&pool))
                .collect();
            let ran = Arc::new(AtomicUsize::new(0));
            let queued: Vec<_> = (0..20)
                .map(|_| {
                    let ran = Arc::clone(&ran);
                    pool.spawn(move || ran.fetch_add(1, Ordering::SeqCst))
                })
                .collect();
            drop(pool);
            let (handles, releases): (Vec<_>, Vec<_>) =
                others.into_iter().map(|b| (b.handle, b.release)).unzip();
            go_tx.send(releases).unwrap();
            assert!(
                dropped_rx.recv().unwrap(),
                "the last Arc was dropped on a worker"
            );
            dropper.join().unwrap();
            for handle in handles {
                handle.join().unwrap();
            }
            for handle in queued {
                handle.join().unwrap();
            }
            assert_eq!(ran.load(Ordering::SeqCst), 20);
            // The detached workers exit by themselves.
            common::assert_threads_gone(prefix);
        }
    });
}

#[test]
fn shutdown_now_on_its_own_worker_cancels_the_queue_without_deadlock() {
    with_timeout(|| {
        let pool = Arc::new(named_pool(1, "sd-ownnow-"));
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let stopper = {
            let pool = Arc::clone(&pool);
            pool.clone().spawn(move || {
                go_rx.recv().unwrap();
                Arc::try_unwrap(pool)
                    .expect("the only reference left")
                    .shutdown_now();
                "stopped"
            })
        };
        let queued: Vec<_> = (0..10).map(|i| pool.spawn(move || i)).collect();
        drop(pool);
        go_tx.send(()).unwrap();
        assert_eq!(stopper.join().unwrap(), "stopped");
        for handle in queued {
            assert!(handle.join().unwrap_err().is_cancelled());
        }
        // The detached worker exits by itself.
        common::assert_threads_gone("sd-ownnow-");
    });
}

/// What one submitted job was, to check its outcome.
enum Kind {
    Completes,
    Panics,
    Cancelled(bool),
    Nested,
    Forks,
}

/// Several threads submit a mix of jobs (values, panics, cancels, `execute`, nested spawns,
/// `join` inside jobs) while the last reference to the pool goes away with jobs still in
/// flight: every handle resolves as its kind says, every closure is dropped exactly once,
/// and every job that was not cancelled ran.
#[test]
fn every_job_is_accounted_for_when_the_pool_goes_away_under_a_mixed_load() {
    with_timeout(|| {
        let pool = Arc::new(named_pool(2, "sd-mix-"));
        let drops = DropCounter::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let per_loader = common::scaled(4_000);
        let (submitted_tx, submitted_rx) = mpsc::channel::<()>();
        let loaders: Vec<_> = (0..2)
            .map(|_| {
                let (pool, drops, ran, submitted_tx) = (
                    Arc::clone(&pool),
                    drops.clone(),
                    Arc::clone(&ran),
                    submitted_tx.clone(),
                );
                std::thread::spawn(move || {
                    let mut handles = Vec::new();
                    let mut expected_runs = 0;
                    for i in 0..per_loader {
                        let token = drops.token();
                        let job_ran = Arc::clone(&ran);
                        let count = move || {
                            let _token = token;
                            job_ran.fetch_add(1, Ordering::SeqCst);
                        };
                        match i % 6 {
                            0 => handles.push((Kind::Completes, pool.spawn(count))),
                            1 => handles.push((
                                Kind::Panics,
                                pool.spawn(move || {
                                    count();
                                    panic!("mixed {}", common::EXPECTED)
                                }),
                            )),
                            2 => {
                                let handle = pool.spawn(count);
                                let cancelled = handle.cancel();
                                handles.push((Kind::Cancelled(cancelled), handle));
                                expected_runs += usize::from(!cancelled);
                                continue;
                            }
                            3 => pool.execute(count),
                            4 => {
                                let inner = Arc::clone(&pool);
                                let child_token = drops.token();
                                let child_ran = Arc::clone(&ran);
                                handles.push((
                                    Kind::Nested,
                                    pool.spawn(move || {
                                        count();
                                        inner
                                            .spawn(move || {
                                                let _token = child_token;
                                                child_ran.fetch_add(1, Ordering::SeqCst);
                                            })
                                            .join()
                                            .unwrap();
                                    }),
                                ));
                                expected_runs += 1; // the child
                            }
                            _ => handles.push((
                                Kind::Forks,
                                pool.spawn(move || {
                                    let (a, b) = weft::join(|| 1, || 2);
                                    assert_eq!(a + b, 3);
                                    count();
                                }),
                            )),
                        }
                        expected_runs += 1;
                    }
                    drop(pool);
                    submitted_tx.send(()).unwrap();
                    for (kind, handle) in handles {
                        let outcome = handle.join();
                        match kind {
                            Kind::Completes | Kind::Nested | Kind::Forks => outcome.unwrap(),
                            Kind::Panics => assert!(outcome.unwrap_err().is_panic()),
                            Kind::Cancelled(true) => assert!(outcome.unwrap_err().is_cancelled()),
                            Kind::Cancelled(false) => outcome.unwrap(),
                        }
                    }
                    expected_runs
                })
            })
            .collect();
        submitted_rx.recv().unwrap();
        submitted_rx.recv().unwrap();
        // The last reference goes away here or in a nested job, with jobs still queued.
        drop(pool);
        let expected_runs: usize = loaders.into_iter().map(|l| l.join().unwrap()).sum();
        let children = (0..per_loader).filter(|i| i % 6 == 4).count();
        let created = 2 * (per_loader + children);
        common::eventually("every closure is dropped", || drops.get() == created);
        common::eventually("every job that was not cancelled ran", || {
            ran.load(Ordering::SeqCst) == expected_runs
        });
        common::assert_threads_gone("sd-mix-");
        assert_eq!(drops.get(), created, "a closure was dropped twice");
    });
}

/// How late `shutdown_timeout` may give a busy pool back after its timeout: it checks about
/// every millisecond; the rest is room for a noisy, shared machine.
const GIVE_BACK_SLACK: Duration = Duration::from_secs(2);

#[test]
fn shutdown_timeout_of_an_idle_pool_is_ok_and_joins_the_threads() {
    with_timeout(|| {
        let pool = named_pool(2, "sdt-idle-");
        assert_eq!(pool.spawn(|| 1).join().unwrap(), 1);
        assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_ok());
        common::assert_threads_gone("sdt-idle-");
        // A zero timeout is enough when nothing runs.
        let pool = named_pool(2, "sdt-zero-");
        assert!(pool.shutdown_timeout(Duration::ZERO).is_ok());
        common::assert_threads_gone("sdt-zero-");
        // So is one too large to add to the clock (no deadline).
        assert!(
            ThreadPool::new(1)
                .unwrap()
                .shutdown_timeout(Duration::MAX)
                .is_ok()
        );
    });
}

#[test]
fn shutdown_timeout_runs_the_queued_and_running_jobs_that_finish_in_time() {
    with_timeout(|| {
        let pool = named_pool(2, "sdt-run-");
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let ran = Arc::clone(&ran);
                pool.spawn(move || {
                    std::thread::sleep(Duration::from_millis(2));
                    ran.fetch_add(1, Ordering::SeqCst)
                })
            })
            .collect();
        assert!(pool.shutdown_timeout(Duration::from_secs(20)).is_ok());
        assert_eq!(ran.load(Ordering::SeqCst), 20, "every queued job ran");
        common::assert_threads_gone("sdt-run-");
        for handle in handles {
            handle.join().unwrap();
        }
    });
}

/// A job that outlives the timeout: the pool comes back within the timeout plus a bounded
/// slack, with the same threads, still running jobs (the queued one too), and can be shut
/// down after.
#[test]
fn shutdown_timeout_gives_the_pool_back_open_and_working_while_a_long_job_runs() {
    with_timeout(|| {
        let pool = named_pool(2, "sdt-back-");
        let long = common::block_one_worker(&pool);
        let other = common::block_one_worker(&pool);
        let queued = pool.spawn(|| "queued before");
        let timeout = Duration::from_millis(50);
        let start = Instant::now();
        let pool = pool
            .shutdown_timeout(timeout)
            .expect_err("a running job outlives the timeout");
        let took = start.elapsed();
        assert!(took >= timeout, "gave up early: {took:?}");
        assert!(took < timeout + GIVE_BACK_SLACK, "gave up late: {took:?}");
        #[cfg(target_os = "linux")]
        assert_eq!(common::threads_named("sdt-back-"), 2, "no thread was lost");
        let stats = pool.stats();
        assert_eq!(
            (stats.running, stats.queued),
            (2, 1),
            "as it was: {stats:?}"
        );
        other.finish();
        assert_eq!(queued.join().unwrap(), "queued before");
        assert_eq!(
            pool.spawn(|| 7).join().unwrap(),
            7,
            "it still runs new jobs"
        );
        assert_eq!(pool.map(0..10u32, |x| x + 1).len(), 10);
        // Still busy: a second try gives it back again.
        let pool = pool.shutdown_timeout(Duration::ZERO).unwrap_err();
        long.finish();
        assert!(pool.shutdown_timeout(Duration::from_secs(20)).is_ok());
        common::assert_threads_gone("sdt-back-");
    });
}

/// The one change to a pool given back: the worker jobs that existed lost their input
/// (their `recv` ended, their handle's sends come back). A worker job spawned afterwards
/// talks normally.
#[test]
fn shutdown_timeout_ends_worker_jobs_input_and_a_pool_given_back_takes_new_worker_jobs() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (release, wait) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        let old = pool.spawn_worker(move |ctx: WorkerContext<u32, u32>| {
            started_tx.send(()).unwrap();
            let received: Vec<u32> = std::iter::from_fn(|| ctx.recv().ok()).collect();
            ctx.send(received.len() as u32).unwrap();
            wait.recv().unwrap(); // outlives the timeout after its input ended
            received
        });
        started_rx.recv().unwrap();
        old.send(1).unwrap();
        old.send(2).unwrap();
        let pool = pool
            .shutdown_timeout(Duration::from_millis(20))
            .expect_err("the worker job is still running");
        assert_eq!(
            old.recv().unwrap(),
            2,
            "it read both messages, then its input ended"
        );
        assert_eq!(old.send(3), Err(SendError(3)));
        let new = pool.spawn_worker(|ctx: WorkerContext<u32, u32>| {
            let n = ctx.recv().unwrap();
            ctx.send(n * 10).unwrap();
        });
        new.send(4).unwrap();
        assert_eq!(new.recv().unwrap(), 40);
        new.join().unwrap();
        release.send(()).unwrap();
        assert_eq!(old.join().unwrap(), vec![1, 2]);
        assert!(pool.shutdown_timeout(Duration::from_secs(20)).is_ok());
    });
}

/// A worker job looping on `recv` with its handle alive does not make `shutdown_timeout`
/// time out: its input ends first.
#[test]
fn shutdown_timeout_is_ok_while_a_worker_job_loops_on_recv_and_its_handle_is_alive() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let worker = pool.spawn_worker(|ctx: WorkerContext<u8, ()>| {
            let mut count = 0;
            while ctx.recv().is_ok() {
                count += 1;
            }
            count
        });
        worker.send(1).unwrap();
        assert!(pool.shutdown_timeout(Duration::from_secs(20)).is_ok());
        assert_eq!(worker.join().unwrap(), 1);
    });
}

/// On one of its own worker threads the pool cannot wait for itself: it comes back at once,
/// untouched.
#[test]
fn shutdown_timeout_on_its_own_worker_gives_the_pool_back_at_once() {
    with_timeout(|| {
        let pool = Arc::new(named_pool(1, "sdt-own-"));
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let tryer = {
            let pool = Arc::clone(&pool);
            pool.clone().spawn(move || {
                go_rx.recv().unwrap();
                let pool = Arc::try_unwrap(pool).expect("the only reference left");
                let start = Instant::now();
                let pool = pool
                    .shutdown_timeout(Duration::from_secs(60))
                    .expect_err("cannot end the pool from inside it");
                let took = start.elapsed();
                // Still working (this job runs on it); dropping it here detaches the threads.
                let threads = pool.num_threads();
                drop(pool);
                (took, threads)
            })
        };
        drop(pool);
        go_tx.send(()).unwrap();
        let (took, threads) = tryer.join().unwrap();
        assert!(took < GIVE_BACK_SLACK, "it waited: {took:?}");
        assert_eq!(threads, 1);
        common::assert_threads_gone("sdt-own-");
    });
}
