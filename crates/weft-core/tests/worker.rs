//! Node-style worker jobs: `spawn_worker`, `WorkerHandle`, `WorkerContext`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use weft::channel::{RecvError, RecvTimeoutError, SendError, TryRecvError};
use weft::{JobError, ThreadPool, WorkerContext};

use common::with_timeout;

/// Counts drops, so every message can be shown to be dropped exactly once.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn seed_round_trip_start_computation_gets_a_computation_result() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let worker = pool.spawn_worker(|ctx: WorkerContext<String, String>| {
            let message = ctx.recv().unwrap();
            assert_eq!(message, "Start computation");
            let result: u64 = (0..1_000u64).sum();
            ctx.send(format!("Computation result: {result}")).unwrap();
        });
        worker.send("Start computation".to_string()).unwrap();
        assert_eq!(worker.recv().unwrap(), "Computation result: 499500");
        worker.join().unwrap();
    });
}

#[test]
fn every_message_the_job_sent_is_readable_after_it_finished() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let worker = pool.spawn_worker(|ctx: WorkerContext<(), u32>| {
            for n in 0..100 {
                ctx.send(n).unwrap();
            }
            7
        });
        while !worker.is_finished() {
            std::thread::yield_now();
        }
        let received: Vec<u32> = worker.iter().collect();
        assert_eq!(received, (0..100).collect::<Vec<_>>());
        assert_eq!(worker.recv(), Err(RecvError));
        assert_eq!(worker.join().unwrap(), 7);
    });
}

#[test]
fn messages_sent_before_a_panic_are_readable_and_join_reports_the_panic() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let worker = pool.spawn_worker(|ctx: WorkerContext<(), &'static str>| {
            ctx.send("before").unwrap();
            panic!("worker failed");
        });
        assert_eq!(worker.recv().unwrap(), "before");
        assert_eq!(
            worker.recv(),
            Err(RecvError),
            "the port closes when the job ends"
        );
        let error = worker.join().unwrap_err();
        assert_eq!(error.panic_message(), Some("worker failed"));
    });
}

#[test]
fn recv_reports_the_end_only_once_the_job_ended_even_if_it_dropped_its_context() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let worker = pool.spawn_worker(move |ctx: WorkerContext<(), u8>| {
            ctx.send(1).unwrap();
            drop(ctx);
            go_rx.recv().unwrap();
            2
        });
        assert_eq!(worker.recv().unwrap(), 1);
        assert_eq!(
            worker.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout),
            "the job still runs, so its port is still open"
        );
        go_tx.send(()).unwrap();
        assert_eq!(worker.recv(), Err(RecvError));
        assert_eq!(worker.join().unwrap(), 2);
    });
}

#[test]
fn a_message_sent_to_a_finished_job_comes_back() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let worker = pool.spawn_worker(|_ctx: WorkerContext<String, ()>| {});
        while worker.recv().is_ok() {}
        let refused = worker.send("too late".to_string()).unwrap_err();
        assert_eq!(refused, SendError("too late".to_string()));
        worker.join().unwrap();
    });
}

#[test]
fn try_recv_and_recv_timeout_report_empty_timeout_and_disconnected() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let worker = pool.spawn_worker(move |ctx: WorkerContext<(), u8>| {
            go_rx.recv().unwrap();
            ctx.send(5).unwrap();
        });
        assert_eq!(worker.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(
            worker.recv_timeout(Duration::from_millis(5)),
            Err(RecvTimeoutError::Timeout)
        );
        go_tx.send(()).unwrap();
        assert_eq!(worker.recv_timeout(Duration::from_secs(20)), Ok(5));
        assert_eq!(worker.recv(), Err(RecvError));
        assert_eq!(worker.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(
            worker.recv_timeout(Duration::from_millis(1)),
            Err(RecvTimeoutError::Disconnected)
        );
        worker.join().unwrap();
    });
}

#[test]
fn the_job_side_reads_messages_in_order_and_sees_the_end_of_input_on_join() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let worker = pool.spawn_worker(|ctx: WorkerContext<u32, u32>| {
            let mut seen = Vec::new();
            while let Ok(n) = ctx.recv() {
                seen.push(n);
                ctx.send(n * 2).unwrap();
            }
            seen
        });
        for n in 0..50 {
            worker.send(n).unwrap();
        }
        let doubled: Vec<u32> = (0..50).map(|_| worker.recv().unwrap()).collect();
        assert_eq!(doubled, (0..50).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(worker.join().unwrap(), (0..50).collect::<Vec<_>>());
    });
}

#[test]
fn job_side_try_recv_and_recv_timeout() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (checked_tx, checked_rx) = mpsc::channel::<()>();
        let worker = pool.spawn_worker(move |ctx: WorkerContext<u8, ()>| {
            assert_eq!(ctx.try_recv(), Err(TryRecvError::Empty));
            assert_eq!(
                ctx.recv_timeout(Duration::from_millis(5)),
                Err(RecvTimeoutError::Timeout)
            );
            checked_tx.send(()).unwrap();
            assert_eq!(ctx.recv_timeout(Duration::from_secs(20)), Ok(9));
            assert_eq!(ctx.recv(), Err(RecvError), "join ended the input");
        });
        checked_rx.recv().unwrap();
        worker.send(9).unwrap();
        worker.join().unwrap();
    });
}

#[test]
fn cancel_wakes_a_job_blocked_in_recv_with_an_error() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (blocked_tx, blocked_rx) = mpsc::channel::<()>();
        let worker = pool.spawn_worker(move |ctx: WorkerContext<u8, ()>| {
            assert_eq!(
                ctx.recv(),
                Ok(1),
                "what was sent before the cancel is read first"
            );
            blocked_tx.send(()).unwrap();
            let end = ctx.recv();
            (end, ctx.is_cancelled(), weft::is_cancelled())
        });
        worker.send(1).unwrap();
        blocked_rx.recv().unwrap();
        assert!(
            !worker.cancel(),
            "a running job is asked to stop, not cancelled"
        );
        let (end, ctx_cancelled, job_cancelled) = worker.join().unwrap();
        assert_eq!(end, Err(RecvError));
        assert!(ctx_cancelled);
        assert!(job_cancelled);
    });
}

#[test]
fn cancelling_a_queued_worker_job_means_it_never_runs_and_messages_come_back() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let busy = pool.spawn(move || release_rx.recv().unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        let worker = {
            let ran = ran.clone();
            pool.spawn_worker(move |_ctx: WorkerContext<u8, u8>| ran.store(true, Ordering::SeqCst))
        };
        assert!(worker.cancel());
        assert_eq!(worker.send(3), Err(SendError(3)));
        assert_eq!(
            worker.recv(),
            Err(RecvError),
            "a cancelled job sends nothing"
        );
        release_tx.send(()).unwrap();
        busy.join().unwrap();
        assert!(matches!(worker.join(), Err(JobError::Cancelled)));
        assert!(!ran.load(Ordering::SeqCst));
    });
}

#[test]
fn a_dropped_handle_ends_the_jobs_input_and_the_job_still_runs() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let worker = pool.spawn_worker(move |ctx: WorkerContext<u8, ()>| {
            let mut got = Vec::new();
            while let Ok(n) = ctx.recv() {
                got.push(n);
            }
            done_tx.send(got).unwrap();
        });
        worker.send(1).unwrap();
        worker.send(2).unwrap();
        drop(worker);
        assert_eq!(done_rx.recv().unwrap(), vec![1, 2]);
    });
}

#[test]
fn every_message_is_dropped_exactly_once_read_or_not() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let worker = {
            let drops = drops.clone();
            pool.spawn_worker(move |ctx: WorkerContext<Counted, Counted>| {
                let first = ctx.recv().unwrap();
                drop(first);
                for _ in 0..3 {
                    ctx.send(Counted(drops.clone())).unwrap();
                }
            })
        };
        for _ in 0..4 {
            worker.send(Counted(drops.clone())).unwrap();
        }
        drop(worker.recv().unwrap());
        // Three messages to the job are never read; two from the job are never read.
        let _ = worker.join();
        // join returned: the job is over and its port gone; ours goes with the handle.
        assert_eq!(drops.load(Ordering::SeqCst), 7);
    });
}

#[test]
fn worker_jobs_are_counted_like_spawned_jobs() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let ok = pool.spawn_worker(|_ctx: WorkerContext<(), ()>| ());
        let bad = pool.spawn_worker(|_ctx: WorkerContext<(), ()>| panic!("counted"));
        ok.join().unwrap();
        assert!(bad.join().is_err());
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.panicked),
            (2, 1, 1)
        );
    });
}

#[test]
fn worker_handles_and_contexts_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    fn assert_sync<T: Sync>() {}
    assert_send::<weft::WorkerHandle<String, Vec<u8>, u64>>();
    assert_sync::<weft::WorkerHandle<String, Vec<u8>, u64>>();
    assert_send::<WorkerContext<String, Vec<u8>>>();
    assert_sync::<WorkerContext<String, Vec<u8>>>();
}
