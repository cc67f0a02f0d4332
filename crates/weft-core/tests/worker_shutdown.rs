//! Worker jobs at shutdown (API.md, "Worker jobs at shutdown"): `shutdown`, `shutdown_now`
//! and `Drop` close the main-to-job direction of every worker job's port once what was sent
//! is read, so a job looping on `ctx.recv()` ends and the pool's shutdown returns, even while
//! the job's `WorkerHandle` is alive. `shutdown_now` also sets the job's cancel flag.

mod common;

use std::sync::Arc;
use std::sync::mpsc;

use common::{hold_workers_until_close, with_timeout};
use weft::channel::SendError;
use weft::{ThreadPool, WorkerContext, WorkerHandle};

/// How a test ends the pool.
#[derive(Debug, Clone, Copy)]
enum Close {
    Drop,
    Shutdown,
    ShutdownNow,
}

impl Close {
    const ALL: [Close; 3] = [Close::Drop, Close::Shutdown, Close::ShutdownNow];

    fn close(self, pool: ThreadPool) {
        match self {
            Close::Drop => drop(pool),
            Close::Shutdown => pool.shutdown(),
            Close::ShutdownNow => pool.shutdown_now(),
        }
    }
}

fn named_pool(threads: usize, prefix: &'static str) -> ThreadPool {
    ThreadPool::builder()
        .num_threads(threads)
        .thread_name(move |i| format!("{prefix}{i}"))
        .build()
        .unwrap()
}

/// A worker job that sums what it receives until its input ends; tells `started` once it
/// runs.
fn summer(pool: &ThreadPool, started: mpsc::Sender<()>) -> WorkerHandle<u64, (), (u64, usize)> {
    pool.spawn_worker(move |ctx: WorkerContext<u64, ()>| {
        started.send(()).unwrap();
        let (mut sum, mut count) = (0, 0);
        while let Ok(n) = ctx.recv() {
            sum += n;
            count += 1;
        }
        (sum, count)
    })
}

/// Regression for: dropping a pool (or `shutdown()`, or `shutdown_now()`) hangs forever
/// while a worker job loops on `ctx.recv()` and its `WorkerHandle` is alive: the job waits
/// for input that never ends, and the pool waits for the job.
#[test]
fn closing_a_pool_does_not_hang_while_a_worker_job_loops_on_recv_and_its_handle_is_alive() {
    with_timeout(|| {
        for close in Close::ALL {
            let pool = ThreadPool::new(2).unwrap();
            let (started_tx, started_rx) = mpsc::channel();
            let worker = summer(&pool, started_tx);
            started_rx.recv().unwrap();
            worker.send(5).unwrap();
            close.close(pool);
            // The handle is still alive here: the pool closed the job's input by itself.
            assert_eq!(worker.join().unwrap(), (5, 1), "{close:?}");
        }
    });
}

/// Nothing already sent is lost: the job reads every message sent before the shutdown, in
/// order, before its `recv` reports the end.
#[test]
fn a_worker_job_reads_every_message_sent_before_the_pool_closed() {
    with_timeout(|| {
        for close in Close::ALL {
            let pool = ThreadPool::new(1).unwrap();
            let (started_tx, started_rx) = mpsc::channel();
            let worker = pool.spawn_worker(move |ctx: WorkerContext<u32, ()>| {
                started_tx.send(()).unwrap();
                let mut seen = Vec::new();
                while let Ok(n) = ctx.recv() {
                    seen.push(n);
                }
                seen
            });
            // Sent while the job starts and runs: all of them are in the port at the close.
            for n in 0..1_000 {
                worker.send(n).unwrap();
            }
            started_rx.recv().unwrap(); // running, so `shutdown_now` does not cancel it
            close.close(pool);
            assert_eq!(
                worker.join().unwrap(),
                (0..1_000).collect::<Vec<_>>(),
                "{close:?}"
            );
        }
    });
}

/// Once the pool closed the job's input, the main side's sends come back.
#[test]
fn sends_to_a_worker_job_after_the_pool_closed_come_back() {
    with_timeout(|| {
        for close in Close::ALL {
            let pool = ThreadPool::new(1).unwrap();
            let (started_tx, started_rx) = mpsc::channel();
            let worker = summer(&pool, started_tx);
            started_rx.recv().unwrap();
            close.close(pool);
            assert_eq!(worker.send(9), Err(SendError(9)), "{close:?}");
            assert_eq!(worker.join().unwrap(), (0, 0));
        }
    });
}

/// `shutdown_now` sets the cancel flag of a running worker job before waking it: both
/// `ctx.is_cancelled()` and `weft::is_cancelled()` are true when its `recv` fails. `shutdown`
/// and `Drop` only end its input.
#[test]
fn shutdown_now_sets_a_running_worker_jobs_cancel_flag_and_shutdown_does_not() {
    with_timeout(|| {
        for close in Close::ALL {
            let pool = ThreadPool::new(2).unwrap();
            let (started_tx, started_rx) = mpsc::channel();
            let worker = pool.spawn_worker(move |ctx: WorkerContext<(), ()>| {
                let before = (ctx.is_cancelled(), weft::is_cancelled());
                started_tx.send(()).unwrap();
                while ctx.recv().is_ok() {}
                (before, (ctx.is_cancelled(), weft::is_cancelled()))
            });
            started_rx.recv().unwrap();
            close.close(pool);
            let (before, after) = worker.join().unwrap();
            assert_eq!(before, (false, false), "{close:?}");
            let cancelled = matches!(close, Close::ShutdownNow);
            assert_eq!(after, (cancelled, cancelled), "{close:?}");
        }
    });
}

/// A worker job still queued when the pool closes (behind a gate job that holds the only
/// worker until the close, see `common::CloseGate`): `shutdown` and `Drop` run it, and it
/// reads what was sent to it, then its input ends; `shutdown_now` cancels it.
#[test]
fn a_queued_worker_job_runs_and_reads_its_messages_on_shutdown_and_is_cancelled_by_shutdown_now() {
    with_timeout(|| {
        for close in Close::ALL {
            let pool = ThreadPool::new(1).unwrap();
            let gate = hold_workers_until_close(&pool);
            let (started_tx, _started_rx) = mpsc::channel();
            let worker = summer(&pool, started_tx);
            worker.send(3).unwrap();
            worker.send(4).unwrap();
            gate.announce_close();
            close.close(pool);
            gate.join();
            let outcome = worker.join();
            match close {
                Close::ShutdownNow => assert!(outcome.unwrap_err().is_cancelled()),
                Close::Drop | Close::Shutdown => assert_eq!(outcome.unwrap(), (7, 2)),
            }
        }
    });
}

/// Several worker jobs at once, one per worker thread, all looping on `recv`.
#[test]
fn closing_a_pool_ends_every_live_worker_job() {
    with_timeout(|| {
        for close in Close::ALL {
            let pool = named_pool(3, "wsd-all-");
            let (started_tx, started_rx) = mpsc::channel();
            let workers: Vec<_> = (0..3).map(|_| summer(&pool, started_tx.clone())).collect();
            for _ in 0..3 {
                started_rx.recv().unwrap();
            }
            for (n, worker) in (1..).zip(&workers) {
                worker.send(n).unwrap();
            }
            close.close(pool);
            #[cfg(target_os = "linux")]
            common::assert_no_thread_named("wsd-all-");
            let sums: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
            assert_eq!(sums, vec![(1, 1), (2, 1), (3, 1)], "{close:?}");
        }
    });
}

/// The pool's last reference goes away inside one of its own jobs while a worker job loops
/// on `recv` with its handle alive elsewhere: the close ends the worker job's input there
/// too, so the detached workers still exit by themselves.
#[test]
fn dropping_the_pool_on_its_own_worker_ends_a_looping_worker_job_and_the_threads_exit() {
    with_timeout(|| {
        let pool = Arc::new(named_pool(2, "wsd-own-"));
        let (started_tx, started_rx) = mpsc::channel();
        let worker = summer(&pool, started_tx);
        started_rx.recv().unwrap();
        worker.send(11).unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let dropper = {
            let inner = Arc::clone(&pool);
            pool.spawn(move || {
                go_rx.recv().unwrap();
                drop(inner); // the last reference, on a worker of the pool
                weft::current_thread_index().is_some()
            })
        };
        drop(pool);
        go_tx.send(()).unwrap();
        assert!(
            dropper.join().unwrap(),
            "the last Arc was dropped on a worker"
        );
        // The handle is still alive: the threads exit without its `join` ending the input.
        #[cfg(target_os = "linux")]
        {
            common::assert_no_thread_named("wsd-own-");
            assert!(worker.is_finished());
        }
        assert_eq!(worker.join().unwrap(), (11, 1));
    });
}

/// Worker jobs whose handles are gone (the usual way they end) and worker jobs that ended
/// long ago do not disturb the close: only live ones are closed.
#[test]
fn closing_a_pool_after_many_worker_jobs_came_and_went_still_ends_the_live_one() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for round in 0..200u64 {
            let worker = pool.spawn_worker(|ctx: WorkerContext<u64, u64>| ctx.recv().unwrap());
            worker.send(round).unwrap();
            if round % 2 == 0 {
                assert_eq!(worker.join().unwrap(), round);
            } else {
                drop(worker);
            }
        }
        let (started_tx, started_rx) = mpsc::channel();
        let live = summer(&pool, started_tx);
        started_rx.recv().unwrap();
        live.send(1).unwrap();
        pool.shutdown();
        assert_eq!(live.join().unwrap(), (1, 1));
    });
}
