//! One job's state machine against its handle (`job/heap.rs`, `handle.rs`): the result racing
//! join, a timed join, a dropped handle and a cancel; the handle running the job inline
//! while a worker pops it; waiters registered and taken back while the job completes.

use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::{Race, assert_counted_once, config, counted_job, spawn_worker, submit};
use crate::engine::registry::Registry;

/// What the handle side does while a model worker thread pops and runs the job.
#[derive(Clone, Copy, Debug)]
enum HandleAction {
    Join,
    JoinTimeoutZero,
    Drop,
    Cancel,
    /// Two threads cancel through the same handle (`cancel` takes `&self`).
    CancelTwice,
}

/// One detached job popped by a model worker thread while the handle does `action`; checks
/// that the closure and the result are each dropped exactly once, the block is freed
/// exactly once, and the outcome is consistent.
fn job_vs_handle(action: HandleAction) {
    loom::model(move || {
        let (race, handle) = Race::start(None, None);
        let outcome = match action {
            HandleAction::Join => Some(handle.join().is_ok()),
            HandleAction::JoinTimeoutZero => match handle.join_timeout(Duration::ZERO) {
                Ok(result) => Some(result.is_ok()),
                Err(handle) => {
                    drop(handle);
                    None
                }
            },
            HandleAction::Drop => {
                drop(handle);
                None
            }
            HandleAction::Cancel => {
                let cancelled = handle.cancel();
                let result = handle.join();
                assert_eq!(cancelled, result.is_err(), "cancel() and join() disagree");
                Some(result.is_ok())
            }
            HandleAction::CancelTwice => {
                let handle = Arc::new(handle);
                let other = {
                    let handle = handle.clone();
                    thread::spawn(move || handle.cancel())
                };
                let mine = handle.cancel();
                let theirs = other.join().unwrap();
                let handle = Arc::try_unwrap(handle)
                    .ok()
                    .expect("the other thread let go");
                let result = handle.join();
                assert_eq!(mine, theirs, "two cancels of one handle disagree");
                assert_eq!(mine, result.is_err(), "cancel() and join() disagree");
                Some(result.is_ok())
            }
        };
        let (_, probes, _) = race.join_threads();
        probes.assert_all_dropped_once();
        if let Some(ok) = outcome {
            assert_eq!(
                ok,
                probes.runs() == 1,
                "join saw a value exactly when the job ran"
            );
        }
    });
}

#[test]
fn loom_result_published_while_handle_joins_is_received_once() {
    job_vs_handle(HandleAction::Join);
}

#[test]
fn loom_result_racing_join_timeout_is_freed_once() {
    job_vs_handle(HandleAction::JoinTimeoutZero);
}

#[test]
fn loom_result_racing_handle_drop_is_freed_once() {
    job_vs_handle(HandleAction::Drop);
}

#[test]
fn loom_cancel_racing_start_runs_or_cancels_exactly_once() {
    job_vs_handle(HandleAction::Cancel);
}

#[test]
fn loom_two_cancels_of_one_handle_racing_start_agree() {
    job_vs_handle(HandleAction::CancelTwice);
}

/// Issue 10, fault 2's design: a job joins a handle of a job of its own pool that has not
/// started, and runs it right there (`Header::try_claim`, `Header::run_claimed_inline`),
/// while another worker steals the same queue entry. The closure runs once, the block is
/// freed once, the queue place is given back once, and the handle gets the value.
#[test]
fn loom_handle_running_its_job_inline_while_a_thief_pops_it_runs_it_once() {
    // Across the explored executions: how often the thief ran the job, and how often the
    // handle did (plain std atomics, outside the model, counted once per execution).
    static THIEF_RAN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static INLINE_RAN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    loom::model(|| {
        let (registry, mut deques) = Registry::for_model(&config(2, Some(1), 0));
        let thief_deques = deques.pop().unwrap();
        let waiter = spawn_worker(&registry, deques.pop().unwrap(), 0, move |worker| {
            // Submitted from worker 0: the job goes on its own detached deque.
            let (core, probes) = counted_job(worker.registry(), None);
            let handle = submit(worker.registry(), core);
            // The thief's one look: it steals the entry (and runs it, or finds it claimed
            // inline and lets go), or finds the deque empty (the handle's run popped it).
            let thief = spawn_worker(worker.registry(), thief_deques, 1, |thief| {
                if let Some(job) = thief.find_work() {
                    thief.execute(job);
                }
                thread::current().id()
            });
            let result = handle.join();
            assert!(result.is_ok(), "the joined job ran, here or on the thief");
            drop(result);
            let thief = thief.join().unwrap();
            (probes, thief)
        });
        let (probes, thief) = waiter.join().unwrap();
        let stole = probes.ran_on() == Some(thief);
        assert_eq!(probes.runs(), 1, "the closure ran exactly once");
        probes.assert_all_dropped_once();
        assert_eq!(
            registry.queued_places(),
            0,
            "the queue place was given back once"
        );
        assert_counted_once(&registry, (1, 0, 0));
        let ran_here = if stole { &THIEF_RAN } else { &INLINE_RAN };
        // ORDERING: Relaxed: a tally read after `loom::model` returns, on the same thread.
        ran_here.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    // ORDERING: Relaxed: as above.
    let (thief, inline) = (
        THIEF_RAN.load(std::sync::atomic::Ordering::Relaxed),
        INLINE_RAN.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert!(
        thief > 0 && inline > 0,
        "the model explored both winners: thief {thief}, inline {inline}"
    );
}

/// `join_timeout`'s deadline passes while the job completes: the waiter registered in the job
/// takes itself back (`Header::unregister`) while the worker publishes and may be waking it.
/// Then the handle waits again with no deadline: a wake-up lost by the first wait, or a
/// waiter it left behind, would leave that second wait parked forever (loom reports it).
#[test]
fn loom_join_timeout_expiring_while_the_job_completes_loses_no_wake_up() {
    loom::model(|| {
        let (race, handle) = Race::start(None, None);
        let result = match handle.join_timeout(Duration::ZERO) {
            Ok(result) => result,
            Err(handle) => handle.join(),
        };
        assert!(result.is_ok(), "the job ran");
        drop(result);
        let (_, probes, _) = race.join_threads();
        probes.assert_all_dropped_once();
    });
}

/// A waker that counts its live instances and its wakes, and unparks the polling thread.
struct WakeProbe {
    live: AtomicUsize,
    wakes: AtomicUsize,
    thread: thread::Thread,
}

impl WakeProbe {
    fn new() -> Arc<Self> {
        Arc::new(WakeProbe {
            live: AtomicUsize::new(0),
            wakes: AtomicUsize::new(0),
            thread: thread::current(),
        })
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::Acquire)
    }

    fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }
}

static PROBE_VTABLE: RawWakerVTable =
    RawWakerVTable::new(probe_clone, probe_wake, probe_wake_by_ref, probe_drop);

/// A new waker instance of `probe` (each instance is its own allocation).
fn probe_raw(probe: &Arc<WakeProbe>) -> RawWaker {
    probe.live.fetch_add(1, Ordering::AcqRel);
    RawWaker::new(Box::into_raw(Box::new(probe.clone())).cast(), &PROBE_VTABLE)
}

fn probe_waker(probe: &Arc<WakeProbe>) -> Waker {
    // SAFETY: the vtable's functions keep the RawWaker contract: each instance owns one box.
    unsafe { Waker::from_raw(probe_raw(probe)) }
}

/// # Safety
///
/// `data` is a live instance made by `probe_raw`.
unsafe fn probe_clone(data: *const ()) -> RawWaker {
    // SAFETY: forwarded.
    probe_raw(unsafe { &*data.cast::<Arc<WakeProbe>>() })
}

/// # Safety
///
/// As for `probe_clone`; the instance is consumed.
unsafe fn probe_wake(data: *const ()) {
    // SAFETY: forwarded.
    unsafe {
        probe_wake_by_ref(data);
        probe_drop(data);
    }
}

/// # Safety
///
/// As for `probe_clone`.
unsafe fn probe_wake_by_ref(data: *const ()) {
    // SAFETY: forwarded.
    let probe = unsafe { &*data.cast::<Arc<WakeProbe>>() };
    probe.wakes.fetch_add(1, Ordering::AcqRel);
    probe.thread.unpark();
}

/// # Safety
///
/// As for `probe_clone`; the instance is consumed.
unsafe fn probe_drop(data: *const ()) {
    // SAFETY: forwarded: the instance's box, dropped once.
    let probe = unsafe { Box::from_raw(data.cast::<Arc<WakeProbe>>().cast_mut()) };
    let before = probe.live.fetch_sub(1, Ordering::AcqRel);
    assert!(before > 0, "a waker instance was dropped twice");
}

/// An async handle polled with waker A, then re-polled with waker B while the job completes:
/// the second poll takes A back (`Header::register` replacing it) while the worker may be
/// publishing and waking A. No wake-up is lost (a pending poll is woken through B), the
/// waiter cell is never read after it was taken (loom checks the cell), and every waker
/// instance is dropped exactly once.
#[test]
fn loom_waker_replaced_while_the_job_completes_is_woken_or_dropped_once() {
    loom::model(|| {
        let (race, mut handle) = Race::start(None, None);
        let (a, b) = (WakeProbe::new(), WakeProbe::new());
        let (waker_a, waker_b) = (probe_waker(&a), probe_waker(&b));
        let mut ready = None;
        for waker in [&waker_a, &waker_b] {
            if let Poll::Ready(result) = handle.poll(&mut Context::from_waker(waker)) {
                ready = Some(result);
                break;
            }
        }
        let result = match ready {
            Some(result) => result,
            None => {
                // Pending with B registered: only B can be woken now.
                while b.wakes() == 0 {
                    thread::park();
                }
                match handle.poll(&mut Context::from_waker(&waker_b)) {
                    Poll::Ready(result) => result,
                    Poll::Pending => panic!("woken, yet the job is not done"),
                }
            }
        };
        assert!(result.is_ok(), "the job ran");
        drop((result, handle, waker_a, waker_b));
        let (_, probes, _) = race.join_threads();
        probes.assert_all_dropped_once();
        assert_eq!((a.live(), b.live()), (0, 0), "every waker dropped once");
        assert!(
            a.wakes() <= 1 && b.wakes() <= 1,
            "each waker woken at most once"
        );
    });
}
