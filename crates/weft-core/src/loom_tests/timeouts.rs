//! Run and queue timeouts (`engine/timer.rs`, `Header::fire_timer`) racing the job's return,
//! a worker's claim and a cancel by the handle (issue 11). The timer thread is played by a
//! model thread that fires the timer's entry once, wherever loom schedules it.

use std::time::{Duration, Instant};

use super::{Race, assert_counted_once};
use crate::error::JobError;
use crate::job::heap::Extras;

/// A job with a run timeout, run by a model worker while the timer fires its entry; the
/// handle joins (its waiter must be woken whichever side resolves it) or is dropped.
fn run_timeout_vs_return(join: bool) {
    loom::model(move || {
        let run_timeout = Extras::new(None, Some(Duration::from_millis(1)), None);
        let (race, handle) = Race::start(None, Some(run_timeout));
        let result = if join {
            Some(handle.join().map(drop))
        } else {
            drop(handle);
            None
        };
        let (registry, probes, fired) = race.join_threads();
        assert_eq!(probes.runs(), 1, "a started job runs once");
        probes.assert_all_dropped_once();
        let timed_out = registry.stats().timed_out != 0;
        assert!(fired || !timed_out, "only the timer times a job out");
        assert_counted_once(&registry, (u64::from(!timed_out), 0, u64::from(timed_out)));
        match result {
            Some(Ok(())) => assert!(!timed_out, "a value means completed"),
            Some(Err(JobError::TimedOut)) => assert!(timed_out, "TimedOut means timed out"),
            Some(Err(other)) => panic!("a run timeout's job ended {other:?}"),
            None => {}
        }
    });
}

/// Issue 11: the handle resolves exactly once (the value or `TimedOut`), the late value is
/// dropped exactly once, the job is counted once (completed XOR timed out), and a thread
/// blocked in `join` is woken either way (a lost wake-up leaves it parked: loom reports it).
#[test]
fn loom_run_timeout_racing_the_jobs_return_resolves_the_handle_once() {
    run_timeout_vs_return(true);
}

/// The same race with the handle dropped meanwhile: whichever of worker, timer entry and
/// handle lets go last frees the block, once, and the value is dropped once.
#[test]
fn loom_run_timeout_racing_the_jobs_return_and_a_dropped_handle_frees_once() {
    run_timeout_vs_return(false);
}

/// A job with a queue timeout, popped by a model worker while the timer fires its entry and
/// the handle does `cancel` first (or not), then joins. Checks that exactly one of run,
/// expired, cancelled happened, agreed on by the handle and counted once, with the closure
/// dropped once and the `max_queued` place given back once.
fn queue_timeout_race(cancel: bool) {
    loom::model(move || {
        let queue_timeout = Extras::new(None, None, Some(Instant::now()));
        let (race, handle) = Race::start(Some(1), Some(queue_timeout));
        let cancelled = cancel && handle.cancel();
        let result = handle.join().map(drop);
        let (registry, probes, _) = race.join_threads();
        let ran = probes.runs() == 1;
        let outcome = match result {
            Ok(()) => (1, 0, 0),
            Err(JobError::Cancelled) => (0, 1, 0),
            Err(JobError::TimedOut) => (0, 0, 1),
            Err(other) => panic!("a queue timeout's job ended {other:?}"),
        };
        assert_eq!(outcome.0 == 1, ran, "a value exactly when it ran");
        assert_eq!(
            outcome.1 == 1,
            cancelled,
            "cancelled exactly when cancel() said so"
        );
        assert_counted_once(&registry, outcome);
        probes.assert_all_dropped_once();
        assert_eq!(
            registry.queued_places(),
            0,
            "the queue place was given back once"
        );
    });
}

/// Issue 11: a queue timeout fires while a worker claims the job: it runs XOR expires, its
/// closure is dropped once, its `max_queued` place is given back once, it is counted once,
/// and the joined handle agrees with what happened.
#[test]
fn loom_queue_timeout_racing_a_workers_claim_runs_or_expires_once() {
    queue_timeout_race(false);
}

/// Issue 11: the handle cancels while the queue timeout fires and a worker pops the job:
/// exactly one outcome (cancelled, expired or run), counted once, the closure dropped once,
/// the queue place given back once.
#[test]
fn loom_cancel_racing_a_queue_timeout_has_one_outcome() {
    queue_timeout_race(true);
}
