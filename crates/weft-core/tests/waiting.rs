//! Waiting on other jobs' results, from inside jobs: the five faults of adversarial use (issue
//! 10), each pinned by a test named for it. Every one hung, crashed or misbehaved before the
//! waiting design changed (see `engine/worker.rs` and `handle.rs`):
//!
//! 1. a panicking `Waker::wake` killed a worker thread, and a handle then read freed memory;
//! 2. help-while-waiting deadlocked with no cycle in the jobs;
//! 3. thousands of nested waits on one worker overflowed its stack;
//! 4. `join_timeout` on a worker ignored its deadline while other work was queued.
//!
//! (The fifth, cost growing with the square of the thread count, is in `scale.rs` and the
//! `scale` bench.)

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::{EXPECTED, eventually, with_timeout};
use weft::{JobHandle, ThreadPool};

/// A job of `pool` that runs until `release` is sent (or dropped).
fn gated(pool: &ThreadPool) -> (JobHandle<u32>, mpsc::Sender<()>) {
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel();
    let handle = pool.spawn(move || {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
        7
    });
    started_rx.recv().expect("the gated job started");
    (handle, release)
}

/// A waker whose `wake` panics, counting the calls.
struct PanickingWaker(AtomicUsize);

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("wake() {EXPECTED}");
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("wake_by_ref() {EXPECTED}");
    }
}

/// Fault 1. Before: the waker's panic escaped the worker's main loop and killed the thread;
/// the handles of the jobs queued behind never resolved, `drop(pool)` returned at once, and a
/// later `cancel()` read the freed pool (valgrind: an invalid read in `Header::cancel`).
#[test]
fn a_panicking_waker_neither_kills_a_worker_nor_lets_a_handle_read_the_freed_pool() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (mut polled, release) = gated(&pool);
        let waker_state = Arc::new(PanickingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&waker_state));
        let mut cx = Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut polled).poll(&mut cx).is_pending());
        // Queued behind the running job, on the only worker.
        let queued: Vec<JobHandle<usize>> = (0..10).map(|i| pool.spawn(move || i)).collect();
        release.send(()).unwrap();
        // The worker survives the panic in the waker it calls ...
        eventually("the waker was called", || {
            waker_state.0.load(Ordering::SeqCst) == 1
        });
        for (i, handle) in queued.into_iter().enumerate() {
            assert_eq!(handle.join().unwrap(), i, "queued jobs still run");
        }
        assert_eq!(pool.broadcast(|index| index), vec![0]);
        assert!(polled.is_finished());
        let value = match std::pin::Pin::new(&mut polled).poll(&mut cx) {
            Poll::Ready(value) => value.unwrap(),
            Poll::Pending => panic!("the job finished: the handle is ready"),
        };
        assert_eq!(value, 7);
        // ... and handles that outlive the pool never touch it again.
        let leftover = pool.spawn(|| 1u8);
        drop(pool);
        assert!(
            leftover.is_finished(),
            "the pool ran its queue before it went"
        );
        assert!(!leftover.cancel(), "a finished job is not cancelled");
        assert_eq!(leftover.join().unwrap(), 1);
    });
}

/// Fault 1, with a handle that cancels after the pool went: every queued job was run or
/// cancelled by the pool first, so the handle's cancel finds it finished.
#[test]
fn a_handle_cancelled_after_its_pool_shut_down_finds_its_job_finished() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let gate = common::hold_workers_until_close(&pool);
        let queued: Vec<JobHandle<u8>> = (0..20).map(|_| pool.spawn(|| 1)).collect();
        gate.announce_close();
        pool.shutdown_now();
        gate.join();
        for handle in queued {
            assert!(handle.is_finished());
            assert!(!handle.cancel(), "cancelled by the pool, not by the handle");
            assert!(handle.join().unwrap_err().is_cancelled());
        }
    });
}

/// Fault 2. Before, on a 1-thread pool: job A waits on X (a job of another pool); while A
/// waits its worker runs job B on top of A's stack; B waits on A, which can never resume
/// under B. X finishes, yet B never does, and `drop(pool)` hangs too.
#[test]
fn a_job_run_while_another_waits_cannot_bury_the_job_it_waits_for() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let other = ThreadPool::new(1).unwrap();
        let (x, release_x) = gated(&other);
        let a = pool.spawn(move || x.join().unwrap() + 1);
        // Let A start waiting before B is queued behind it.
        thread::sleep(Duration::from_millis(20));
        let b = pool.spawn(move || a.join().unwrap() * 10);
        thread::sleep(Duration::from_millis(20));
        release_x.send(()).unwrap();
        assert_eq!(b.join().unwrap(), 80);
        Arc::try_unwrap(pool).unwrap().shutdown();
    });
}

/// Fault 2 on every worker: N workers each wait on a job of another pool, with N jobs queued
/// that each wait on one of the waiters.
#[test]
fn every_worker_waiting_with_as_many_dependent_jobs_queued_does_not_deadlock() {
    with_timeout(|| {
        const N: usize = 2;
        let pool = ThreadPool::new(N).unwrap();
        let other = ThreadPool::new(N).unwrap();
        let gates: Vec<_> = (0..N).map(|_| gated(&other)).collect();
        let mut releases = Vec::new();
        let waiters: Vec<JobHandle<u32>> = gates
            .into_iter()
            .map(|(x, release)| {
                releases.push(release);
                pool.spawn(move || x.join().unwrap())
            })
            .collect();
        eventually("every worker waits", || pool.stats().running == N as u64);
        let dependents: Vec<JobHandle<u32>> = waiters
            .into_iter()
            .map(|waiter| pool.spawn(move || waiter.join().unwrap() + 1))
            .collect();
        thread::sleep(Duration::from_millis(20));
        for release in releases {
            release.send(()).unwrap();
        }
        for dependent in dependents {
            assert_eq!(dependent.join().unwrap(), 8);
        }
    });
}

/// Fault 3. Before: on one worker, 6,000 jobs each joining an unfinished handle of another
/// pool nested on the worker's stack until the process aborted ("has overflowed its
/// stack"); 4,000 were fine. Now a waiting job blocks (at most `max_spare_threads` spares
/// stand in) and no count of waiting jobs grows a stack.
#[test]
fn thousands_of_jobs_waiting_on_unfinished_handles_do_not_overflow_a_stack() {
    with_timeout(|| {
        const JOBS: usize = 6_000;
        const SPARES: usize = 4;
        let pool = ThreadPool::builder()
            .num_threads(1)
            .max_spare_threads(SPARES)
            .build()
            .unwrap();
        let other = ThreadPool::new(1).unwrap();
        let (first, release) = gated(&other);
        let mut theirs = vec![first];
        theirs.extend((1..JOBS).map(|i| other.spawn(move || i as u32)));
        let ours: Vec<JobHandle<u32>> = theirs
            .into_iter()
            .map(|handle| pool.spawn(move || handle.join().unwrap()))
            .collect();
        eventually("the spares are in use", || {
            pool.stats().spare_threads == SPARES as u64
        });
        release.send(()).unwrap();
        for (i, handle) in ours.into_iter().enumerate() {
            let expected = if i == 0 { 7 } else { i as u32 };
            assert_eq!(handle.join().unwrap(), expected);
        }
        let stats = pool.stats();
        assert!(stats.spare_threads <= SPARES as u64, "{stats:?}");
    });
}

/// Fault 4. Before: a job calling `never.join_timeout(10 ms)` with 50 jobs of 40 ms queued
/// behind it returned after 2.0 s: the deadline was checked only when no work was left to
/// run. Now the wait ends at its deadline, busy pool or not (the bound below is 40 times
/// the deadline, against the 200 times it took).
#[test]
fn join_timeout_on_a_worker_returns_at_its_deadline_while_other_jobs_are_queued() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let other = ThreadPool::new(1).unwrap();
        let (never, release) = gated(&other);
        let waited = pool.spawn(move || {
            let start = Instant::now();
            let outcome = never.join_timeout(Duration::from_millis(10));
            (start.elapsed(), outcome.is_err())
        });
        let queued: Vec<JobHandle<()>> = (0..50)
            .map(|_| pool.spawn(|| thread::sleep(Duration::from_millis(40))))
            .collect();
        let (elapsed, timed_out) = waited.join().unwrap();
        assert!(timed_out, "the handle came back: the job never finished");
        assert!(
            elapsed < Duration::from_millis(400),
            "join_timeout(10 ms) returned after {elapsed:?}"
        );
        release.send(()).unwrap();
        for handle in queued {
            handle.join().unwrap();
        }
    });
}

/// A job waiting on a job of its own pool that has not started runs it right there (no
/// spare thread needed, even on one thread).
#[test]
fn a_job_waiting_on_a_queued_job_of_its_own_pool_runs_it_itself() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let inner_pool = Arc::clone(&pool);
        let outer = pool.spawn(move || {
            let inner = inner_pool.spawn(|| (thread::current().id(), weft::current_thread_index()));
            let here = (thread::current().id(), weft::current_thread_index());
            (inner.join().unwrap(), here)
        });
        let (inner, here) = outer.join().unwrap();
        assert_eq!(inner, here, "the waiter ran the job itself");
        assert_eq!(pool.stats().spare_threads, 0);
    });
}

/// Waiting with `join_timeout` does not run the job inline (that could overrun the
/// deadline): a spare thread runs it when the waiter blocks.
#[test]
fn a_job_waiting_with_a_deadline_on_a_queued_job_gets_it_run_by_a_spare() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let inner_pool = Arc::clone(&pool);
        let outer = pool.spawn(move || {
            let inner = inner_pool.spawn(|| 5);
            inner
                .join_timeout(Duration::from_secs(20))
                .expect("a spare ran it in time")
                .unwrap()
        });
        assert_eq!(outer.join().unwrap(), 5);
        assert!(pool.stats().spare_threads >= 1);
    });
}

/// A blocked waiter's spare retires once the waiter resumes: the pool is back to
/// `num_threads` running threads.
#[test]
fn a_spare_thread_parks_again_once_the_blocked_worker_resumes() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let other = ThreadPool::new(1).unwrap();
        let (x, release) = gated(&other);
        let waiting = pool.spawn(move || x.join().unwrap());
        // Work queued behind the waiter makes the pool stand a spare in for it.
        let queued: Vec<JobHandle<u32>> = (0..4).map(|i| pool.spawn(move || i)).collect();
        for (i, handle) in queued.into_iter().enumerate() {
            assert_eq!(handle.join().unwrap(), i as u32, "run by the spare");
        }
        assert_eq!(pool.stats().spare_threads_running, 1);
        release.send(()).unwrap();
        assert_eq!(waiting.join().unwrap(), 7);
        // The spare retires at its next job boundary: give it one.
        let done = Arc::new(AtomicBool::new(false));
        eventually("the spare parked again", || {
            let flag = Arc::clone(&done);
            pool.spawn(move || flag.store(true, Ordering::SeqCst))
                .join()
                .unwrap();
            pool.stats().spare_threads_running == 0
        });
        assert!(done.load(Ordering::SeqCst));
        assert_eq!(pool.stats().spare_threads, 1, "started once, reused");
    });
}

/// With compensation off, a waiting worker simply blocks: the contract is then that of a
/// plain thread pool (a job queued behind it waits).
#[test]
fn max_spare_threads_zero_turns_compensation_off() {
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(1)
            .max_spare_threads(0)
            .build()
            .unwrap();
        let other = ThreadPool::new(1).unwrap();
        let (x, release) = gated(&other);
        let waiting = pool.spawn(move || x.join().unwrap());
        let queued = pool.spawn(|| 3);
        thread::sleep(Duration::from_millis(50));
        assert!(!queued.is_finished(), "no spare ran it");
        release.send(()).unwrap();
        assert_eq!(waiting.join().unwrap(), 7);
        assert_eq!(queued.join().unwrap(), 3);
        assert_eq!(pool.stats().spare_threads, 0);
    });
}

/// A panic in a job waited on by another job reaches the waiter as data.
#[test]
fn a_waited_job_that_panics_reaches_the_waiter_as_an_error() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let inner_pool = Arc::clone(&pool);
        let outer = pool.spawn(move || {
            let inner = inner_pool.spawn(|| -> u8 { panic!("inner {EXPECTED}") });
            inner.join().unwrap_err().is_panic()
        });
        assert!(outer.join().unwrap());
    });
}
