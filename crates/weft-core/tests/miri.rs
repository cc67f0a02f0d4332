//! The pool's unsafe paths, small enough for miri (`cargo +nightly miri test -p weft-core
//! --test miri`): the single job allocation shared by job and handle, stack jobs of `join`
//! (and its ring of latent forks), `install`, `map` and `broadcast`, the lifetime erasure of
//! scoped jobs, and a worker job's run state reached by `shutdown_now`. Each test also runs
//! natively as part of the normal suite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use weft::{JobError, ThreadPool};

mod common;

/// Counts drops, to show every value is dropped exactly once.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[test]
fn job_and_handle_share_one_allocation_freed_once_in_every_order() {
    let pool = ThreadPool::new(2).unwrap();
    let drops = counter();
    // Joined: the handle frees.
    let d = drops.clone();
    assert!(pool.spawn(move || Counted(d)).join().is_ok());
    // Dropped before the job ran or while it runs: the worker frees, dropping the result.
    let (tx, rx) = mpsc::channel::<()>();
    let d = drops.clone();
    drop(pool.spawn(move || {
        rx.recv().unwrap();
        Counted(d)
    }));
    tx.send(()).unwrap();
    // Dropped after it finished: the handle frees, dropping the untaken result.
    let d = drops.clone();
    let handle = pool.spawn(move || Counted(d));
    while !handle.is_finished() {
        std::thread::yield_now();
    }
    drop(handle);
    pool.shutdown();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn cancelled_job_drops_its_closure_once_and_never_runs() {
    let pool = ThreadPool::new(1).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let busy = pool.spawn(move || rx.recv().unwrap());
    let drops = counter();
    let captured = Counted(drops.clone());
    let queued = pool.spawn(move || {
        let _keep = captured;
        unreachable!("cancelled")
    });
    assert!(queued.cancel());
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped by cancel()");
    assert!(matches!(queued.join(), Err(JobError::Cancelled)));
    tx.send(()).unwrap();
    busy.join().unwrap();
    pool.shutdown();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn panicking_job_payload_reaches_the_handle() {
    let pool = ThreadPool::new(1).unwrap();
    let error = pool.spawn(|| -> u8 { panic!("boom") }).join().unwrap_err();
    assert_eq!(error.panic_message(), Some("boom"));
    assert_eq!(pool.spawn(|| 5).join().unwrap(), 5);
}

#[test]
fn join_stack_jobs_return_both_results() {
    let pool = ThreadPool::new(2).unwrap();
    fn sum(v: &[u64]) -> u64 {
        if v.len() <= 2 {
            return v.iter().sum();
        }
        let (l, r) = v.split_at(v.len() / 2);
        let (a, b) = weft::join(|| sum(l), || sum(r));
        a + b
    }
    let data: Vec<u64> = (0..64).collect();
    assert_eq!(pool.install(|| sum(&data)), (0..64).sum());
}

/// A chain of `join`s deeper than the ring of latent forks (16): past it the oldest latent
/// forks are shared from the ring, whose entries point into frames of `join`s still open,
/// while the deeper ones are taken back; each second half's captured value is dropped once.
#[test]
fn join_chain_deeper_than_the_latent_ring_reads_only_live_frames() {
    fn chain(depth: u32, drops: &Arc<AtomicUsize>) -> u32 {
        if depth == 0 {
            return 0;
        }
        let captured = Counted(Arc::clone(drops));
        let (below, here) = weft::join(
            || chain(depth - 1, drops),
            move || {
                drop(captured);
                depth
            },
        );
        below + here
    }
    for threads in [1, 2] {
        let pool = ThreadPool::new(threads).unwrap();
        let drops = counter();
        assert_eq!(pool.install(|| chain(40, &drops)), 40 * 41 / 2);
        assert_eq!(drops.load(Ordering::SeqCst), 40);
    }
}

#[test]
fn join_reraises_a_panic_after_both_halves_ran() {
    let pool = ThreadPool::new(2).unwrap();
    let other_ran = AtomicUsize::new(0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.join(
            || panic!("left"),
            || {
                other_ran.fetch_add(1, Ordering::SeqCst);
            },
        )
    }));
    assert!(result.is_err());
    assert_eq!(other_ran.load(Ordering::SeqCst), 1);
}

#[test]
fn scoped_jobs_borrow_the_stack_and_unjoined_panics_surface() {
    let pool = ThreadPool::new(2).unwrap();
    let mut data = [1u32, 2, 3, 4];
    pool.scope(|s| {
        for x in data.iter_mut() {
            s.spawn(move || *x *= 10);
        }
    });
    assert_eq!(data, [10, 20, 30, 40]);
    let drops = counter();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|s| {
            let d = drops.clone();
            s.spawn(move || Counted(d));
            s.spawn(|| panic!("scoped"));
        })
    }));
    assert!(result.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn map_writes_in_place_and_cleans_up_after_a_panic() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(pool.map(0..50u32, |x| x * 2)[49], 98);
    let made = counter();
    let drops = counter();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.map(0..40u32, |x| {
            if x == 17 {
                panic!("item 17");
            }
            made.fetch_add(1, Ordering::SeqCst);
            Counted(drops.clone())
        })
    }));
    assert!(result.is_err());
    // Every value produced before the panic was dropped once: none leaked into a half-built
    // vector, none dropped twice.
    assert_eq!(drops.load(Ordering::SeqCst), made.load(Ordering::SeqCst));
}

#[test]
fn broadcast_and_install_run_stack_jobs_on_workers() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(pool.broadcast(|i| i * 10), vec![0, 10]);
    assert!(pool.install(weft::current_thread_index).is_some());
}

#[test]
fn shutdown_now_cancels_queued_jobs_and_frees_them() {
    let pool = ThreadPool::new(1).unwrap();
    // Keeps the worker busy until the pool is closing, so the jobs below are still queued
    // when `shutdown_now` says to cancel them.
    let gate = common::hold_workers_until_close(&pool);
    let drops = counter();
    let queued: Vec<_> = (0..3)
        .map(|_| {
            let c = Counted(drops.clone());
            pool.spawn(move || drop(c))
        })
        .collect();
    gate.announce_close();
    pool.shutdown_now();
    gate.join();
    for handle in queued {
        assert!(matches!(handle.join(), Err(JobError::Cancelled)));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn unjoined_scoped_panic_is_not_lost_when_its_handle_was_dropped_before_the_job_finished() {
    // Regression: when the handle was already gone, the worker got the result back from the
    // slot and dropped it without showing it to the scope, so the scope returned normally.
    let pool = ThreadPool::new(1).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|s| {
            drop(s.spawn(move || {
                rx.recv().unwrap();
                panic!("nobody joined me")
            }));
            tx.send(()).unwrap();
        })
    }));
    let payload = result.expect_err("the scope re-raises the unjoined panic");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"nobody joined me"));
}

/// `shutdown_now` reaches a running worker job's run state through the pointer the job
/// registered when it started (`node_worker.rs`'s `Link`), while the job may be ending:
/// the stop request lands while it runs, and the pointer is never used after.
#[test]
fn shutdown_now_reaches_a_running_worker_jobs_run_state_and_never_after_it_ended() {
    for _ in 0..common::scaled(20) {
        let pool = ThreadPool::new(2).unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let looping = pool.spawn_worker(move |ctx: weft::WorkerContext<u8, ()>| {
            started_tx.send(()).unwrap();
            while ctx.recv().is_ok() {}
            (ctx.is_cancelled(), weft::is_cancelled())
        });
        // One that ends on its own, racing the close.
        let ending = pool.spawn_worker(|ctx: weft::WorkerContext<u8, ()>| ctx.try_recv().ok());
        started_rx.recv().unwrap();
        pool.shutdown_now();
        assert_eq!(looping.join().unwrap(), (true, true));
        let _ = ending.join();
    }
}

/// A waker whose `wake` panics (issue 10, fault 1).
struct PanickingWaker;

impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("wake {}", common::EXPECTED);
    }
}

#[test]
fn a_panicking_waker_is_contained_and_handles_outlive_the_pool_safely() {
    common::quiet_expected_panics();
    let pool = ThreadPool::new(1).unwrap();
    let (release, gate) = mpsc::channel::<()>();
    let mut polled = pool.spawn(move || {
        let _ = gate.recv();
        3u8
    });
    let waker = std::task::Waker::from(Arc::new(PanickingWaker));
    let mut cx = std::task::Context::from_waker(&waker);
    let _ = std::pin::Pin::new(&mut polled).poll(&mut cx);
    let drops = counter();
    let queued: Vec<_> = (0..3)
        .map(|_| {
            let d = drops.clone();
            pool.spawn(move || Counted(d))
        })
        .collect();
    release.send(()).unwrap();
    drop(pool);
    // Every handle outlived the pool: reading, cancelling and joining touch only the job.
    assert!(polled.is_finished());
    assert!(!polled.cancel());
    for handle in queued {
        assert!(!handle.cancel());
        assert!(handle.join().is_ok());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn a_job_joined_on_a_worker_of_its_own_pool_runs_inline_and_its_queue_entry_lets_go_later() {
    let pool = Arc::new(ThreadPool::new(1).unwrap());
    let drops = counter();
    let (inner_pool, d) = (Arc::clone(&pool), drops.clone());
    let outer = pool.spawn(move || {
        let inner = inner_pool.spawn(move || Counted(d));
        // Still queued: claimed and run right here; its queue entry is popped afterwards.
        inner.join().is_ok()
    });
    assert!(outer.join().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    Arc::try_unwrap(pool).unwrap().shutdown();
}

#[test]
fn cancel_racing_the_worker_frees_the_job_once_whoever_wins() {
    let pool = ThreadPool::new(1).unwrap();
    let drops = counter();
    for _ in 0..common::scaled(100).max(4) {
        let d = drops.clone();
        let token = Counted(d);
        let handle = pool.spawn(move || drop(token));
        let cancelled = handle.cancel();
        let outcome = handle.join();
        assert_eq!(cancelled, matches!(outcome, Err(JobError::Cancelled)));
    }
    pool.shutdown();
    assert_eq!(drops.load(Ordering::SeqCst), common::scaled(100).max(4));
}

#[test]
fn worker_local_values_stay_with_their_threads_and_come_back_once() {
    let pool = ThreadPool::new(2).unwrap();
    let drops = counter();
    let d = drops.clone();
    let local = weft::WorkerLocal::new(&pool, move |index| (index, 0usize, Counted(d.clone())));
    // Both threads at once, many times: each touches only its own value.
    let n = common::scaled(200);
    pool.map(0..n, |_| local.with(|value| value.1 += 1));
    pool.broadcast(|index| local.with(|value| assert_eq!(value.0, index)));
    let values = local.into_inner();
    assert_eq!(
        values.iter().flatten().map(|value| value.1).sum::<usize>(),
        n
    );
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(values);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn worker_local_refuses_a_second_with_on_one_thread_instead_of_aliasing() {
    let pool = ThreadPool::new(1).unwrap();
    let local = weft::WorkerLocal::new(&pool, |_| vec![0u8]);
    let inner = pool.install(|| {
        local.with(|outer| {
            outer.push(1);
            // Joined on this thread while still queued: runs right here, inside our `with`.
            let inner = pool.scope(|s| s.spawn(|| local.with(|value| value.push(9))).join());
            outer.push(2);
            inner
        })
    });
    assert!(inner.unwrap_err().is_panic());
    assert_eq!(local.into_inner(), vec![Some(vec![0, 1, 2])]);
}
