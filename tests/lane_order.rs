//! A lane's submission order, seen from the facade: "within a lane, jobs submitted from one
//! thread outside the pool start in submission order" (the `Priority` docs).
//!
//! Found while writing `examples/priorities.rs`: a worker thread takes a BATCH of `Normal`
//! jobs from the pool's queue into its own deque and runs the first; while that one runs
//! long, another worker thread runs the jobs submitted after the batch, and the batch's
//! other jobs wait in the busy thread's deque. Fixed by looking in other threads' detached
//! deques before the pool's `Normal` queue (`engine/worker.rs::find_queued`).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use weft::{Priority, ThreadPool};

/// Fails the test instead of hanging if `body` does not finish in 30 s.
fn with_hang_guard(body: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let runner = thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => runner.join().expect("the test body"),
        Err(RecvTimeoutError::Disconnected) => {
            // The body panicked: re-raise its panic.
            if let Err(panic) = runner.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("hang guard: the test took over 30 s"),
    }
}

#[test]
fn normal_jobs_from_one_thread_start_in_submission_order_while_a_worker_runs_a_long_one() {
    with_hang_guard(|| {
        const JOBS: usize = 20;
        const THREADS: usize = 2;
        let pool = ThreadPool::new(THREADS).unwrap();
        // Hold every worker thread, so the whole batch below is queued before any starts.
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let (arrived_tx, arrived) = mpsc::channel();
        let holders: Vec<_> = (0..THREADS)
            .map(|_| {
                let (gate, arrived_tx) = (Arc::clone(&gate), arrived_tx.clone());
                pool.job().priority(Priority::High).spawn(move || {
                    arrived_tx.send(()).unwrap();
                    drop(gate.lock().unwrap());
                })
            })
            .collect();
        for _ in 0..THREADS {
            arrived.recv().unwrap();
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let long = pool.spawn(|| thread::sleep(Duration::from_millis(30)));
        let jobs: Vec<_> = (0..JOBS)
            .map(|i| {
                let log = Arc::clone(&log);
                pool.spawn(move || {
                    log.lock().unwrap().push(i);
                    thread::sleep(Duration::from_micros(200));
                })
            })
            .collect();
        drop(held);
        for handle in holders.into_iter().chain(std::iter::once(long)).chain(jobs) {
            handle.join().unwrap();
        }
        let order = log.lock().unwrap().clone();
        // With THREADS threads starting jobs at once, two neighbours may log in either
        // order; a job may not start more than THREADS places ahead of its turn.
        for (position, &job) in order.iter().enumerate() {
            assert!(
                job <= position + THREADS,
                "job {job} started at position {}, ahead of jobs submitted before it: {order:?}",
                position + 1
            );
        }
    });
}
