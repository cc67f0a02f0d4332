//! Spare threads standing in for blocked workers (`engine/registry.rs`, "Spare threads"):
//! the `active` count, `Registry::blocked`, `spare_should_retire`, `park_spare` and
//! `activate_spare` (issue 10, fault 2's design).
//!
//! loom cannot start OS threads: the registry hands a started spare's slot to the model
//! (`Registry::take_model_thread`), which runs the spare's part of the main loop itself.

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread::{self, JoinHandle};
use std::sync::Arc as PoolArc;

use super::{config, spawn_worker};
use crate::engine::registry::{Lane, Registry};
use crate::engine::worker::Deques;
use crate::job::Tree;
use crate::job::heap::{Detached, HeapJob};

type Func = Box<dyn FnOnce() + Send>;

/// A model pool of `num_threads` worker threads and at most one spare, which an earlier block
/// (over now) started: it is surplus. Returns the pool, the workers' deques, and the spare's
/// slot index and deques for [`run_spare`].
fn pool_with_a_surplus_spare(
    num_threads: usize,
) -> (PoolArc<Registry>, Vec<Deques>, (usize, Deques)) {
    let (registry, deques) = Registry::for_model(&config(num_threads, None, 1));
    drop(registry.blocked());
    let spare = registry
        .take_model_thread()
        .expect("the first block started a spare");
    (registry, deques, spare)
}

/// Runs the spare on a model thread: its main loop without the idle spin (its job boundary,
/// its work, its sleep). It ends when it retires and the pool terminates.
fn run_spare(registry: &PoolArc<Registry>, (index, deques): (usize, Deques)) -> JoinHandle<()> {
    spawn_worker(registry, deques, index, move |spare| {
        spare.registry().sleep.register_current(index);
        loop {
            match spare.retire_if_surplus() {
                Some(true) => continue,
                Some(false) => return,
                None => {}
            }
            match spare.find_work() {
                Some(job) => spare.execute(job),
                None => spare.sleep_until_work(),
            }
        }
    })
}

/// A pool of one worker thread and at most one spare. The spare was started for an earlier
/// block that is over, so it is surplus and retires at its next job boundary, while the
/// worker blocks again, waiting on a job that only a runnable thread can run. Whichever comes
/// first, while the worker is blocked one thread must stay runnable: if the spare retires and
/// the worker's block does not call it back, both wait forever (loom reports the deadlock).
#[test]
fn loom_spare_retiring_while_a_worker_blocks_leaves_num_threads_runnable() {
    loom::model(|| {
        let (registry, mut deques, spare) = pool_with_a_surplus_spare(1);
        let done = Arc::new(AtomicBool::new(false));
        let worker = {
            let done = done.clone();
            spawn_worker(&registry, deques.remove(0), 0, move |worker| {
                let registry = worker.registry();
                registry.sleep.register_current(0);
                // A job that the worker will wait for; it can run on the spare only (the
                // worker blocks, as in `JobHandle::join` on a job of another pool).
                let me = thread::current();
                let func: Func = {
                    let done = done.clone();
                    Box::new(move || {
                        done.store(true, Ordering::Release);
                        me.unpark();
                    })
                };
                let core = HeapJob::<Func, (), Detached>::allocate(func, Detached, registry, false);
                // SAFETY: freshly allocated, queued once, no handle.
                let job = unsafe { HeapJob::<Func, (), Detached>::detached_ref(core) };
                // The block (once `Stall`'s grace period is over), then the job shows up.
                let blocked = registry.blocked();
                registry.submit(job, Lane::Normal);
                while !done.load(Ordering::Acquire) {
                    thread::park();
                }
                drop(blocked);
            })
        };
        let spare = run_spare(&registry, spare);
        worker.join().unwrap();
        assert!(
            done.load(Ordering::Acquire),
            "the job the worker waited on ran"
        );
        // `ThreadPool::drop`: the spare wakes, retires and exits.
        registry.terminate(false);
        spare.join().unwrap();
        assert_eq!(
            crate::job::heap::LIVE_JOBS.with(std::cell::Cell::get),
            0,
            "the job's block was freed"
        );
    });
}

/// The compensation counter (`Spares::active`): two worker threads of a two-thread pool
/// block and unblock at once while the one spare allowed, started by an earlier block,
/// retires or is called back. While a worker is blocked the count never underflows (a
/// wrapped count would read as a huge number, and no spare would ever be activated again);
/// the pool never starts more spares than `max_spare_threads`; and once everything is
/// unblocked the count is `num_threads` plus the spares not parked, exactly (a block, a
/// call-back or a retire counted twice, or lost, would leave it off for good).
#[test]
fn loom_blocks_and_retires_keep_the_spare_count_balanced_and_bounded() {
    loom::model(|| {
        let (registry, mut deques, spare) = pool_with_a_surplus_spare(2);
        let workers: Vec<_> = (0..2)
            .map(|index| {
                spawn_worker(&registry, deques.remove(0), index, move |worker| {
                    let registry = worker.registry();
                    registry.sleep.register_current(index);
                    let blocked = registry.blocked();
                    let active = registry.active_for_model();
                    assert!(
                        active <= 2,
                        "at most num_threads runnable while one of them is blocked: {active}"
                    );
                    drop(blocked);
                })
            })
            .collect();
        let spare = run_spare(&registry, spare);
        for worker in workers {
            worker.join().unwrap();
        }
        // `ThreadPool::drop`: the spare wakes, retires and exits.
        registry.terminate(false);
        spare.join().unwrap();
        let (started, running) = registry.spare_counts();
        assert_eq!(
            started, 1,
            "no more spares than max_spare_threads were started"
        );
        assert!(
            registry.take_model_thread().is_none(),
            "no other spare thread was started"
        );
        // The spare is parked (retired), or was called back and saw the pool terminate
        // before it could retire again (then it still counts as runnable).
        assert_eq!(
            registry.active_for_model(),
            2 + running,
            "every block, call-back and retire was counted once: the worker threads plus the \
             spares not parked are runnable"
        );
    });
}
