//! loom models of the pool's synchronisation, each named for the failure it guards against.
//!
//! Run with:
//! `RUSTFLAGS="--cfg weft_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test --release -p weft-core --lib loom_`
//!
//! - `sleep`: the sleep/wake protocol and the latches.
//! - `handle`: one job's state machine against its handle: the result racing join, a timed
//!   join, a dropped handle, a cancel, an inline run by the handle; waiters registered and
//!   taken back while the job completes.
//! - `timeouts`: run and queue timeouts racing the job's return, a worker's claim, a cancel.
//! - `lifetime`: a handle that outlives its pool (cancelled, joined or dropped while the
//!   pool drops).
//! - `spares`: spare threads standing in for blocked workers: a spare retiring while a
//!   worker blocks, and the runnable count staying balanced and bounded.
//!
//! The whole step takes about 35 s on an idle 2-core machine (80 s with the machine busy),
//! with `LOOM_MAX_PREEMPTIONS=2`; each model is small enough to explore exhaustively at that
//! bound (one job, one or two pool threads, at most one spare).
//!
//! One loom limitation shapes some models: loom makes a thread runnable on any `unpark`,
//! even one blocked in `JoinHandle::join`, and `std`'s does not. A publisher that took a
//! handle's waiter may unpark it after the handle's wait returned (harmless: a later park
//! absorbs the token); where loom finds a schedule in which that unpark reaches a thread
//! then blocked in `JoinHandle::join` (the joined handle of `lifetime`), it reports an error
//! of its own, so there the handle's join runs on a model thread that ends with it.
//!
//! The models drive the real engine by hand: a model registry without threads
//! (`Registry::for_model`), model threads registered as its workers
//! (`WorkerThread::run_as_model_worker`), the timer played by a model thread
//! (`Timer::pop_for_model`, then `Header::fire_timer`), and spare threads the model runs
//! itself (`Registry::take_model_thread`). Two test hooks turn a use after free into a loom
//! error: freeing a job block writes all its cells (`HeapJob::model_free`), and dropping a
//! registry writes a cell that every use of the pool by a handle or the timer reads
//! (`Registry::model_touch`).

use std::ptr::NonNull;
/// The pool's own `Arc` (the registry is shared through std's, as in the pool).
use std::sync::Arc as PoolArc;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::engine::registry::{Config, Lane, Registry};
use crate::engine::worker::{Deques, WorkerThread};
use crate::handle::RawHandle;
use crate::job::Tree;
use crate::job::heap::{Detached, Extras, Header, HeapJob, JobCore};

mod handle;
mod lifetime;
mod sleep;
mod spares;
mod timeouts;

/// A value that counts its drops.
pub(super) struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// The model's job type: a boxed closure returning a [`Counted`].
pub(super) type Func = Box<dyn FnOnce() -> Counted + Send>;
pub(super) type ModelJob = HeapJob<Func, Counted, Detached>;

/// A model pool's configuration.
pub(super) fn config(
    num_threads: usize,
    max_queued: Option<usize>,
    max_spare_threads: usize,
) -> Config {
    Config {
        num_threads,
        thread_name: None,
        stack_size: None,
        max_queued,
        max_spare_threads,
        record_timing: false,
        on_thread_start: None,
        on_thread_stop: None,
        cpus: None,
    }
}

/// What a model job lets the model check afterwards.
#[derive(Clone)]
pub(super) struct Probes {
    /// Drops of the closure (the guard it captured).
    pub(super) closure_drops: Arc<AtomicUsize>,
    /// Drops of the job's result (returned by the closure, or dropped with it unrun).
    pub(super) result_drops: Arc<AtomicUsize>,
    /// Times the closure ran.
    pub(super) runs: Arc<AtomicUsize>,
    /// The model thread the closure ran on (a plain `std` lock, never held across a loom
    /// operation: bookkeeping for the model, outside what it explores).
    pub(super) ran_on: PoolArc<std::sync::Mutex<Option<thread::ThreadId>>>,
}

impl Probes {
    fn new() -> Self {
        Probes {
            closure_drops: Arc::new(AtomicUsize::new(0)),
            result_drops: Arc::new(AtomicUsize::new(0)),
            runs: Arc::new(AtomicUsize::new(0)),
            ran_on: PoolArc::default(),
        }
    }

    /// How many times the closure ran (0 or 1 in a correct run).
    pub(super) fn runs(&self) -> usize {
        self.runs.load(Ordering::Acquire)
    }

    /// Once every holder let go: the block was freed exactly once, and the closure and the
    /// result were each dropped exactly once.
    pub(super) fn assert_all_dropped_once(&self) {
        assert_eq!(
            crate::job::heap::LIVE_JOBS.with(std::cell::Cell::get),
            0,
            "the job's block was freed exactly once"
        );
        assert_eq!(
            self.closure_drops.load(Ordering::Acquire),
            1,
            "closure dropped once"
        );
        // Returned by the job, or (never run) dropped with the closure that captured it.
        assert_eq!(
            self.result_drops.load(Ordering::Acquire),
            1,
            "result dropped once"
        );
        assert!(self.runs() <= 1, "the closure ran at most once");
    }

    /// The model thread the closure ran on, if it ran.
    pub(super) fn ran_on(&self) -> Option<thread::ThreadId> {
        *self.ran_on.lock().expect("ran_on")
    }
}

/// Allocates a detached job for `registry` (with `extras`, the options of `pool.job()`),
/// whose closure counts its run and returns a [`Counted`].
pub(super) fn counted_job(
    registry: &Registry,
    extras: Option<Extras>,
) -> (NonNull<JobCore<Counted>>, Probes) {
    let probes = Probes::new();
    let func: Func = {
        let guard = Counted(probes.closure_drops.clone());
        let result = Counted(probes.result_drops.clone());
        let runs = probes.runs.clone();
        let ran_on = probes.ran_on.clone();
        Box::new(move || {
            let _guard = guard;
            *ran_on.lock().expect("ran_on") = Some(thread::current().id());
            runs.fetch_add(1, Ordering::AcqRel);
            result
        })
    };
    let core = ModelJob::allocate_with(func, Detached, registry, true, extras.map(Box::new));
    (core, probes)
}

/// Submits a job made by [`counted_job`] as `ThreadPool::spawn_counted` does (a queue place
/// when `max_queued` is set, the queue timer, then the `Normal` lane) from the calling model
/// thread, and returns its handle.
pub(super) fn submit(
    registry: &PoolArc<Registry>,
    core: NonNull<JobCore<Counted>>,
) -> RawHandle<Counted> {
    if let Some(backpressure) = &registry.backpressure {
        assert!(backpressure.try_acquire(), "the model's queue has room");
    }
    // SAFETY: `core` was just allocated by `counted_job` and is queued once; the handle is
    // its one receiver. `JobCore` starts with its header.
    unsafe {
        Header::arm_queue_timer(core.cast(), registry);
        let job = ModelJob::detached_ref(core);
        registry.submit(job, Lane::Normal);
        RawHandle::new(core)
    }
}

/// Spawns a model thread that runs `body` as pool thread `index` of `registry`.
pub(super) fn spawn_worker<R: Send + 'static>(
    registry: &PoolArc<Registry>,
    deques: Deques,
    index: usize,
    body: impl FnOnce(&WorkerThread) -> R + Send + 'static,
) -> thread::JoinHandle<R> {
    let registry = PoolArc::clone(registry);
    thread::spawn(move || WorkerThread::run_as_model_worker(registry, deques, index, body))
}

/// What a worker's main loop does with the one queued job: finds it and runs it (or, under
/// `shutdown_now`, cancels it).
pub(super) fn pop_and_execute(worker: &WorkerThread) {
    let job = worker.find_work().expect("the model's job is queued");
    worker.execute(job);
}

/// The timer thread, once, at whatever point loom schedules it: takes out the earliest entry
/// if the timer holds one, and fires it, as `timer_loop` does. `true` if it fired one.
///
/// One look is enough for the races the models explore: loom runs it before the entry is
/// made, while it is armed, and after its job took it back.
pub(super) fn fire_timer_once(registry: &PoolArc<Registry>) -> bool {
    let Some((job, kind)) = registry.timer().pop_for_model() else {
        return false;
    };
    // SAFETY: the entry's hold is ours now, as the timer thread's.
    unsafe { Header::fire_timer(job, kind, Some(registry)) };
    true
}

/// The usual race of a model: one job submitted from the model's main thread to a pool of
/// one worker thread (the handle's side), the worker popping it on its own model thread,
/// and, for a timed job, the timer firing its entry once on another.
pub(super) struct Race {
    pub(super) registry: PoolArc<Registry>,
    pub(super) probes: Probes,
    worker: thread::JoinHandle<()>,
    timer: Option<thread::JoinHandle<bool>>,
}

impl Race {
    /// Starts the race; the caller plays the handle.
    pub(super) fn start(
        max_queued: Option<usize>,
        extras: Option<Extras>,
    ) -> (Race, RawHandle<Counted>) {
        let (registry, mut deques) = Registry::for_model(&config(1, max_queued, 0));
        let timed = extras.is_some();
        let (core, probes) = counted_job(&registry, extras);
        let handle = submit(&registry, core);
        let worker = spawn_worker(&registry, deques.pop().unwrap(), 0, pop_and_execute);
        let timer = timed.then(|| {
            let registry = PoolArc::clone(&registry);
            thread::spawn(move || fire_timer_once(&registry))
        });
        let race = Race {
            registry,
            probes,
            worker,
            timer,
        };
        (race, handle)
    }

    /// Waits for the worker and the timer; `true` if the timer fired an entry.
    pub(super) fn join_threads(self) -> (PoolArc<Registry>, Probes, bool) {
        self.worker.join().unwrap();
        let fired = self.timer.is_some_and(|timer| timer.join().unwrap());
        (self.registry, self.probes, fired)
    }
}

/// Asserts the model pool counted its one job once: `(completed, cancelled, timed_out)`,
/// with nothing left queued or running.
pub(super) fn assert_counted_once(registry: &Registry, expected: (u64, u64, u64)) {
    let stats = registry.stats();
    assert_eq!(
        (
            stats.submitted,
            stats.completed,
            stats.cancelled,
            stats.timed_out,
            stats.queued,
            stats.running,
        ),
        (1, expected.0, expected.1, expected.2, 0, 0),
        "the job is counted once, as (completed, cancelled, timed out) = {expected:?}: {stats:?}"
    );
}
