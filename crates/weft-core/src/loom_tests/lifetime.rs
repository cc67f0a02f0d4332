//! A handle that outlives its pool (issue 10, fault 1).
//!
//! A queued detached job's handle reaches the pool through the job's header (to count a
//! cancel and give back its `max_queued` place). The pool is dropped once its threads are
//! done (`ThreadPool::drop` joins them), so the handle's use of the pool must happen-before
//! the last worker is done with the job: a cancelling handle marks the job `DISCARDING`,
//! and a worker that pops it waits until that clears (`Header::claim_or_wait`).
//!
//! The registry's test hook makes a use after free visible: dropping the registry writes a
//! loom cell that every use of the pool by a handle reads.

use super::{config, counted_job, pop_and_execute, spawn_worker, submit};
use crate::engine::registry::Registry;
use loom::thread;

/// What the handle does, on the model's main thread, while the pool may be dropped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HandleEnd {
    /// `cancel()`, then `join()`, then drop.
    CancelJoin,
    /// `join()`, then drop.
    Join,
    /// Dropped unjoined.
    Drop,
}

/// The handle ends as `end` says on the model's main thread while the pool's owner, on
/// another thread, lets its one worker pop the job (run it, or under `shutdown_now` cancel
/// it), waits for the worker, checks the counts and drops the pool.
fn handle_vs_pool_drop(shutdown_now: bool, end: HandleEnd) {
    loom::model(move || {
        let (registry, mut deques) = Registry::for_model(&config(1, Some(1), 0));
        let (core, probes) = counted_job(&registry, None);
        let handle = submit(&registry, core);
        let owner = {
            let deques = deques.pop().unwrap();
            // The pool goes with its owner: the handle's thread keeps no reference to it.
            thread::spawn(move || {
                if shutdown_now {
                    registry.terminate(true);
                }
                let worker = spawn_worker(&registry, deques, 0, pop_and_execute);
                worker.join().unwrap();
                // What `ThreadPool::drop` may rely on once its threads are done: the job is
                // accounted for, its queue place given back, whoever resolved it.
                let stats = registry.stats();
                assert_eq!(
                    (
                        stats.submitted,
                        stats.completed + stats.cancelled,
                        stats.queued
                    ),
                    (1, 1, 0),
                    "the job is accounted for when the pool's threads are done: {stats:?}"
                );
                assert_eq!(
                    registry.queued_places(),
                    0,
                    "the queue place was given back"
                );
                drop(registry);
            })
        };
        let cancelled = match end {
            HandleEnd::CancelJoin => handle.cancel(),
            HandleEnd::Join => {
                // On a thread of its own, which ends with the join: a publisher that took the
                // handle's waiter may unpark it after the join returned (harmless with std,
                // whose token a later park absorbs; loom would wake a thread blocked in
                // `JoinHandle::join` with it, and report an error that is not weft's).
                let joiner = thread::spawn(move || handle.join().is_ok());
                let ok = joiner.join().unwrap();
                owner.join().unwrap();
                assert_eq!(
                    ok,
                    probes.runs() == 1,
                    "join saw a value exactly when the job ran"
                );
                probes.assert_all_dropped_once();
                return;
            }
            HandleEnd::Drop => {
                drop(handle);
                owner.join().unwrap();
                probes.assert_all_dropped_once();
                return;
            }
        };
        let result = handle.join();
        if shutdown_now {
            assert!(
                matches!(&result, Err(error) if error.is_cancelled()),
                "under shutdown_now a queued job is cancelled, by its handle or by the pool"
            );
        } else {
            assert_eq!(cancelled, result.is_err(), "cancel() and join() disagree");
        }
        drop(result);
        owner.join().unwrap();
        probes.assert_all_dropped_once();
    });
}

/// The handle's cancel races the worker's pop, and the pool is dropped right after the worker
/// is done: the handle's `count_cancelled` and `release_queue_place` happen-before the drop.
#[test]
fn loom_handle_cancelling_while_its_pool_drops_uses_the_pool_before_the_drop() {
    handle_vs_pool_drop(false, HandleEnd::CancelJoin);
}

/// The same under `shutdown_now` (`Mode::Cancel`): the worker cancels what it pops, racing
/// the handle's own cancel.
#[test]
fn loom_handle_cancelling_under_shutdown_now_uses_the_pool_before_the_drop() {
    handle_vs_pool_drop(true, HandleEnd::CancelJoin);
}

/// A handle that is only joined while its pool drops never reaches the pool after the drop.
#[test]
fn loom_handle_joined_while_its_pool_drops_never_reaches_the_freed_pool() {
    handle_vs_pool_drop(false, HandleEnd::Join);
}

/// A handle dropped unjoined while its pool drops never reaches the pool after the drop, and
/// the block is freed once, by whoever lets go last.
#[test]
fn loom_handle_dropped_while_its_pool_drops_never_reaches_the_freed_pool() {
    handle_vs_pool_drop(false, HandleEnd::Drop);
}
