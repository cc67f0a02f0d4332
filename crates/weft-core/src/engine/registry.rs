//! [`Registry`]: the shared state of one pool: its queues, its counters, its sleep state,
//! the start and end of its threads, and the spare threads that stand in for blocked ones.
//!
//! # Queues
//!
//! - Structured work (join halves, scope jobs, map and broadcast calls, installs) goes on the
//!   forking worker's own `structured` deque, or, from outside, on the `structured` injector.
//!   A broadcast call for worker `i` goes in worker `i`'s inbox.
//! - Detached jobs go in their priority lane: `High` and `Low` jobs on that lane's injector,
//!   `Normal` jobs on the submitting worker's own `detached` deque (from a worker) or on the
//!   `Normal` injector (from outside).
//!
//! How workers take jobs from these queues is [`super::worker`].
//!
//! # Spare threads (compensation)
//!
//! A worker thread that blocks (waiting on a job handle, or for a `max_queued` place) tells
//! the registry ([`Registry::blocked`]). While fewer than `num_threads` threads are runnable,
//! the registry activates a spare thread: a parked one, or a new one, up to
//! `max_spare_threads`. A spare runs the same loop as a worker thread; once the blocked
//! thread resumes and more than `num_threads` threads are runnable, a spare retires at its
//! next job boundary and parks until it is needed again. So a job that waits on another
//! job's result never leaves the pool without threads to run that result, whatever the jobs
//! wait on, as long as the spares last (Java's ForkJoinPool compensates the same way).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::CachePadded;

use crate::engine::backpressure::Backpressure;
use crate::engine::lifecycle::{Hook, Lifecycle};
use crate::engine::sleep::Sleep;
use crate::engine::slot_set::SlotSet;
use crate::engine::timer::Timer;
use crate::engine::worker::{Deques, WorkerThread, main_loop};
use crate::engine::worker_jobs::LiveWorkerJobs;
use crate::error::BuildError;
use crate::job::heap::DetachedRef;
use crate::job::{JobRef, Mode};
use crate::stats::{self, Event, ExternalCounters, PoolStats, WorkerCounters};
use crate::sync::{self, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::timing::{Span, Timings};

/// How many spare threads a pool may start by default (see the module docs).
pub(crate) const DEFAULT_MAX_SPARE_THREADS: usize = 64;

/// A detached job's priority lane (see `Priority` in the public API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    High = 0,
    Normal = 1,
    Low = 2,
}

/// What the engine needs to start a pool, already checked by the builder.
pub(crate) struct Config {
    pub(crate) num_threads: usize,
    pub(crate) thread_name: Option<Box<dyn FnMut(usize) -> String>>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) max_queued: Option<usize>,
    pub(crate) max_spare_threads: usize,
    pub(crate) record_timing: bool,
    pub(crate) on_thread_start: Option<Hook>,
    pub(crate) on_thread_stop: Option<Hook>,
    /// The CPUs to pin threads to, in order (thread `i` on the `i`-th, wrapping), when
    /// pinned.
    pub(crate) cpus: Option<Box<[usize]>>,
}

/// What the others may see of one thread slot (a worker thread, or a spare).
pub(super) struct ThreadSlot {
    pub(super) structured: Stealer<JobRef>,
    pub(super) detached: Stealer<DetachedRef>,
    /// The tree the slot's thread runs work of now (a `Tree`'s address), for helpers that
    /// look for work of their own tree (see `WorkerThread::find_helpable`).
    pub(super) tree: CachePadded<AtomicUsize>,
}

/// The spare threads of one pool.
struct Spares {
    /// Threads that are not blocked: worker threads plus active spares, minus the blocked.
    active: CachePadded<AtomicUsize>,
    max: usize,
    state: Mutex<SpareState>,
}

struct SpareState {
    /// Spares started so far: they have slots `num_threads..num_threads + started`.
    started: usize,
    /// Retired spares, parked until they are needed again (slot indices).
    parked: Vec<usize>,
    /// The deques of the spare slots not started yet, by slot index - `num_threads`.
    unstarted: Vec<Option<Deques>>,
    handles: Vec<JoinHandle<()>>,
    warned: bool,
}

/// The shared state of one pool.
pub(crate) struct Registry {
    id: usize,
    num_threads: usize,
    /// Structured work from outside the pool's threads.
    pub(super) structured: Injector<JobRef>,
    /// Detached jobs by lane (see the module docs).
    pub(super) lanes: [Injector<DetachedRef>; 3],
    /// Every thread slot: the worker threads, then the spares.
    pub(super) slots: Box<[ThreadSlot]>,
    /// Slots whose thread was started (workers, then spares in order): only these can hold
    /// work, so searches look no further.
    live_slots: AtomicUsize,
    /// Slots that may hold queued work: a thread joins before its first push after waking
    /// and leaves when it sleeps (its deques are empty then, and only it pushes to them).
    /// Steals and the re-check before sleeping visit only these.
    pub(super) work_hints: SlotSet,
    /// Per worker thread: broadcast calls that must run on it.
    pub(super) inboxes: Box<[Injector<JobRef>]>,
    pub(crate) sleep: Sleep,
    pub(super) counters: Box<[CachePadded<WorkerCounters>]>,
    external: ExternalCounters,
    pub(super) epoch: Instant,
    /// Threads exit once they find no work.
    terminate: AtomicBool,
    /// Heap jobs popped from now on are cancelled instead of run (`shutdown_now`).
    cancel_queued: AtomicBool,
    pub(crate) backpressure: Option<Backpressure>,
    spares: Spares,
    stack_size: Option<usize>,
    /// Run and queue timeouts; its thread starts with the first timed job.
    timer: Timer,
    /// Wait and run times of detached jobs, when `record_timing` is on.
    timing: Option<Timings>,
    /// The worker jobs whose input closing the pool ends.
    pub(crate) worker_jobs: LiveWorkerJobs,
    /// Pinning, start and stop hooks, and the start handshake.
    pub(super) lifecycle: Lifecycle,
    /// Test hook: written when the registry drops, read wherever a job's handle or the timer
    /// uses the pool, so that loom reports a use that is not ordered before the drop.
    #[cfg(all(test, weft_loom))]
    model_freed: ModelFreed,
    /// Test hook: the threads a model must run itself (slot index and deques): a loom model
    /// cannot start OS threads. Touched by one model thread at a time, outside loom's view.
    #[cfg(all(test, weft_loom))]
    model_threads: std::sync::Mutex<Vec<(usize, Deques)>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("id", &self.id)
            .field("num_threads", &self.num_threads)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Builds the registry, starts its worker threads and waits until each reported its
    /// start (see [`Lifecycle`]).
    pub(crate) fn start(
        mut config: Config,
    ) -> Result<(Arc<Registry>, Vec<JoinHandle<()>>), BuildError> {
        let num_threads = config.num_threads;
        let lifecycle = Lifecycle::new(
            num_threads,
            config.on_thread_start.take(),
            config.on_thread_stop.take(),
            config.cpus.take(),
        );
        let (registry, deques) = Registry::unstarted(&config, lifecycle);
        /// Stops and joins the workers already started if the build does not finish (an
        /// error, a failed start, or a panic in the `thread_name` callback or in
        /// `std::thread::Builder`).
        struct StartGuard<'a> {
            registry: &'a Registry,
            handles: Vec<JoinHandle<()>>,
            done: bool,
        }
        impl Drop for StartGuard<'_> {
            fn drop(&mut self) {
                if !self.done {
                    self.registry.terminate(false);
                    self.registry.lifecycle.release();
                    for handle in self.handles.drain(..) {
                        let _ = handle.join();
                    }
                }
            }
        }
        let mut started = StartGuard {
            registry: &registry,
            handles: Vec::with_capacity(num_threads),
            done: false,
        };
        let mut names = config.thread_name;
        for (index, deques) in deques.into_iter().enumerate() {
            let name = match names.as_mut() {
                Some(name) => name(index),
                None => format!("weft-worker-{index}"),
            };
            if name.contains('\0') {
                // `std::thread::Builder::spawn` would panic on it.
                return Err(BuildError::ThreadName { index, name });
            }
            match registry.spawn_thread(name, deques, index) {
                Ok(handle) => started.handles.push(handle),
                // The guard stops and joins the workers started so far.
                Err(source) => return Err(BuildError::Spawn { index, source }),
            }
        }
        // On a failed start the guard stops and joins every worker.
        registry.lifecycle.wait_started()?;
        registry.lifecycle.release();
        started.done = true;
        let handles = std::mem::take(&mut started.handles);
        drop(started);
        tracing::debug!(pool = registry.id, num_threads, "pool started");
        Ok((registry, handles))
    }

    /// Starts the thread of slot `index`.
    #[cfg(not(all(test, weft_loom)))]
    fn spawn_thread(
        self: &Arc<Self>,
        name: String,
        deques: Deques,
        index: usize,
    ) -> std::io::Result<JoinHandle<()>> {
        let mut thread = std::thread::Builder::new().name(name);
        if let Some(size) = self.stack_size {
            thread = thread.stack_size(size);
        }
        let registry = Arc::clone(self);
        thread.spawn(move || main_loop(registry, deques, index))
    }

    /// Test hook: "starts" the thread of slot `index` by handing its deques to the model
    /// ([`Registry::take_model_thread`]), which runs that thread's part as a loom thread. The
    /// handle returned is of an OS thread that does nothing.
    #[cfg(all(test, weft_loom))]
    fn spawn_thread(
        self: &Arc<Self>,
        _name: String,
        deques: Deques,
        index: usize,
    ) -> std::io::Result<JoinHandle<()>> {
        let _ = (main_loop, self.stack_size); // the model runs its own loop, on its own stack
        self.model_threads
            .lock()
            .expect("model threads")
            .push((index, deques));
        Ok(std::thread::spawn(|| {}))
    }

    /// The registry and the worker threads' deques, before any thread runs.
    fn unstarted(config: &Config, lifecycle: Lifecycle) -> (Arc<Registry>, Vec<Deques>) {
        let num_threads = config.num_threads;
        let slots = num_threads + config.max_spare_threads;
        let mut deques: Vec<Deques> = (0..slots).map(|_| Deques::new()).collect();
        let spare_deques = deques.split_off(num_threads);
        let slot_states: Box<[ThreadSlot]> = deques
            .iter()
            .chain(spare_deques.iter())
            .map(|deques| ThreadSlot {
                structured: deques.structured.stealer(),
                detached: deques.detached.stealer(),
                tree: CachePadded::new(AtomicUsize::new(0)),
            })
            .collect();
        let epoch = Instant::now();
        let registry = Arc::new(Registry {
            id: sync::next_pool_id(),
            num_threads,
            structured: Injector::new(),
            lanes: [Injector::new(), Injector::new(), Injector::new()],
            slots: slot_states,
            live_slots: AtomicUsize::new(num_threads),
            work_hints: SlotSet::new(slots),
            inboxes: (0..num_threads).map(|_| Injector::new()).collect(),
            sleep: Sleep::new(slots),
            counters: (0..slots).map(|_| CachePadded::default()).collect(),
            external: ExternalCounters::default(),
            epoch,
            terminate: AtomicBool::new(false),
            cancel_queued: AtomicBool::new(false),
            backpressure: config.max_queued.map(Backpressure::new),
            spares: Spares {
                active: CachePadded::new(AtomicUsize::new(num_threads)),
                max: config.max_spare_threads,
                state: Mutex::new(SpareState {
                    started: 0,
                    parked: Vec::new(),
                    unstarted: spare_deques.into_iter().map(Some).collect(),
                    handles: Vec::new(),
                    warned: false,
                }),
            },
            stack_size: config.stack_size,
            timer: Timer::new(),
            timing: config.record_timing.then(|| Timings::new(epoch, slots)),
            worker_jobs: LiveWorkerJobs::new(),
            lifecycle,
            #[cfg(all(test, weft_loom))]
            model_freed: ModelFreed(sync::UnsafeCell::new(false)),
            #[cfg(all(test, weft_loom))]
            model_threads: std::sync::Mutex::new(Vec::new()),
        });
        (registry, deques)
    }

    /// A registry without threads, for the loom models to drive by hand (test hook).
    #[cfg(all(test, weft_loom))]
    pub(crate) fn for_model(config: &Config) -> (Arc<Registry>, Vec<Deques>) {
        Registry::unstarted(config, Lifecycle::new(config.num_threads, None, None, None))
    }

    /// Test hook: the slot index and deques of a thread the registry "started" (a spare),
    /// for the model to run; `None` if it started none since the last call.
    #[cfg(all(test, weft_loom))]
    pub(crate) fn take_model_thread(&self) -> Option<(usize, Deques)> {
        self.model_threads.lock().expect("model threads").pop()
    }

    /// Test hook: a use of the pool that must be ordered before its drop (see `model_freed`).
    #[cfg(all(test, weft_loom))]
    fn model_touch(&self) {
        // SAFETY: a loom cell; loom checks the access against the write in `drop`.
        let freed = self.model_freed.0.with(|freed| unsafe { *freed });
        assert!(!freed, "the pool was used after it was dropped");
    }

    /// Test hook: the threads counted runnable now (`Spares::active`).
    #[cfg(all(test, weft_loom))]
    pub(crate) fn active_for_model(&self) -> usize {
        // ORDERING: SeqCst, as everywhere on `active`.
        self.spares.active.load(Ordering::SeqCst)
    }

    /// Test hook: the number of `max_queued` places taken now (0 without `max_queued`).
    #[cfg(all(test, weft_loom))]
    pub(crate) fn queued_places(&self) -> usize {
        self.backpressure
            .as_ref()
            .map_or(0, Backpressure::queued_for_model)
    }

    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// The calling thread's worker state, if it is one of this pool's threads (a worker
    /// thread or a spare): the one check of "am I a thread of this pool".
    #[inline]
    pub(crate) fn own_worker(&self) -> Option<&'static WorkerThread> {
        WorkerThread::current().filter(|worker| std::ptr::eq(&**worker.registry(), self))
    }

    /// The number of worker threads (spares not counted).
    pub(crate) fn num_threads(&self) -> usize {
        self.num_threads
    }

    /// The slots that can hold work: worker threads and the spares started so far.
    #[inline]
    pub(super) fn live_slots(&self) -> &[ThreadSlot] {
        // ORDERING: Acquire pairs with the Release increment when a spare starts; a slot
        // missed by a stale count is empty anyway (its thread had not started).
        &self.slots[..self.live_slots.load(Ordering::Acquire)]
    }

    /// The number of thread slots: worker threads and possible spares.
    pub(crate) fn thread_slots(&self) -> usize {
        self.slots.len()
    }

    /// Queues structured work from a thread outside the pool (or for any thread to take).
    pub(crate) fn inject(&self, job: JobRef) {
        self.structured.push(job);
        self.sleep.new_work();
    }

    /// Queues structured work where the calling thread can best hand it on: its own deque
    /// when it is a thread of this pool, the structured injector otherwise.
    pub(crate) fn push(&self, job: JobRef) {
        match self.own_worker() {
            Some(worker) => worker.push(job),
            None => self.inject(job),
        }
    }

    /// Queues a job that must run on worker thread `index`.
    pub(crate) fn push_to_worker(&self, index: usize, job: JobRef) {
        self.inboxes[index].push(job);
        self.sleep.wake_worker(index);
    }

    /// A detached job stopped waiting (claimed by a thread, or cancelled by its handle):
    /// frees its `max_queued` place.
    #[inline]
    pub(crate) fn release_queue_place(&self) {
        #[cfg(all(test, weft_loom))]
        self.model_touch();
        if let Some(backpressure) = &self.backpressure {
            backpressure.release();
        }
    }

    /// Counts a detached job as submitted and queues it in its lane (see the module docs),
    /// with one look at the calling thread.
    #[inline]
    pub(crate) fn submit(&self, job: DetachedRef, lane: Lane) {
        match self.own_worker() {
            Some(worker) => {
                worker.counters().submitted();
                if lane == Lane::Normal {
                    worker.push_detached(job);
                    return;
                }
            }
            None => self.external.submitted(),
        }
        self.lanes[lane as usize].push(job);
        self.sleep.new_work();
    }

    /// The wait and run time records, when `record_timing` is on.
    #[inline]
    pub(crate) fn timing(&self) -> Option<&Timings> {
        self.timing.as_ref()
    }

    /// The pool's timer.
    pub(crate) fn timer(&self) -> &Timer {
        &self.timer
    }

    /// Counts a job whose queue timeout (`running: false`) or run timeout (`true`) passed.
    pub(crate) fn count_timed_out(&self, running: bool) {
        #[cfg(all(test, weft_loom))]
        self.model_touch();
        self.external.timed_out(running);
    }

    /// Counts a cancel by a handle on the calling thread's counters.
    pub(crate) fn count_cancelled(&self) {
        #[cfg(all(test, weft_loom))]
        self.model_touch();
        match self.own_worker() {
            Some(worker) => worker.counters().count(Event::Cancelled),
            None => self.external.cancelled(),
        }
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let mut stats = stats::snapshot(
            &self.counters,
            self.num_threads,
            &self.external,
            self.epoch,
            self.sleep.sleepers(),
            self.lifecycle.cpus(),
        );
        let (started, running) = self.spare_counts();
        stats.spare_threads = started as u64;
        stats.spare_threads_running = running as u64;
        if let Some(timing) = &self.timing {
            stats.wait_time = Some(timing.summary(Span::Wait));
            stats.run_time = Some(timing.summary(Span::Run));
        }
        stats
    }

    /// Waits until no detached job is queued or running, or `deadline` passed (`false`).
    /// Only meaningful when nobody can submit from outside (the pool is being shut down):
    /// then a quiet snapshot stays quiet, since only running jobs could submit more.
    pub(crate) fn wait_until_quiet(&self, deadline: Option<Instant>) -> bool {
        let mut pause = Duration::from_micros(20);
        loop {
            let stats = self.stats();
            if stats.queued == 0 && stats.running == 0 {
                return true;
            }
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                return false;
            }
            let left = deadline.map_or(pause, |deadline| deadline - now);
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(1));
        }
    }

    /// Asks the threads to exit once out of work (cancelling queued heap jobs first when
    /// `cancel_queued`) and wakes them all.
    pub(crate) fn terminate(&self, cancel_queued: bool) {
        if cancel_queued {
            // ORDERING: SeqCst, like `terminate`: both are read by workers after a wake-up.
            self.cancel_queued.store(true, Ordering::SeqCst);
        }
        // ORDERING: SeqCst store before the wake-ups; a worker that misses it in its last
        // check before parking is unparked by `wake_all` and re-checks.
        self.terminate.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
    }

    pub(super) fn terminating(&self) -> bool {
        // ORDERING: SeqCst pairs with the store in `terminate`.
        self.terminate.load(Ordering::SeqCst)
    }

    pub(crate) fn mode(&self) -> Mode {
        // ORDERING: Relaxed: checked per job; a job run just before the flag is seen was
        // "running" when `shutdown_now` was called, which is allowed.
        if self.cancel_queued.load(Ordering::Relaxed) {
            Mode::Cancel
        } else {
            Mode::Run
        }
    }

    /// `true` if some queue holds a job that the thread of slot `index` could take.
    pub(super) fn has_work_for(&self, index: usize) -> bool {
        !self.structured.is_empty()
            || self.lanes.iter().any(|lane| !lane.is_empty())
            || self
                .inboxes
                .get(index)
                .is_some_and(|inbox| !inbox.is_empty())
            || self
                .live_slots()
                .iter()
                .any(|slot| !slot.structured.is_empty() || !slot.detached.is_empty())
    }

    /// The calling worker thread is about to block: until the returned guard drops, a spare
    /// thread may stand in for it (see the module docs).
    pub(crate) fn blocked(self: &Arc<Self>) -> Blocked {
        // ORDERING: SeqCst: the decrement and the check that follows must not be reordered
        // with another thread's increment and retire check (a spare must not retire while
        // a worker blocks, leaving fewer runnable threads than asked for).
        let active = self.spares.active.fetch_sub(1, Ordering::SeqCst) - 1;
        if active < self.num_threads {
            self.activate_spare();
        }
        Blocked(Arc::clone(self))
    }

    /// Wakes a parked spare or starts a new one, within the bound.
    fn activate_spare(self: &Arc<Self>) {
        let mut state = self.spares.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = state.parked.pop() {
            drop(state);
            // ORDERING: SeqCst, as in `blocked`.
            self.spares.active.fetch_add(1, Ordering::SeqCst);
            self.sleep.wake_worker(index);
            return;
        }
        if state.started == self.spares.max {
            if !std::mem::replace(&mut state.warned, true) {
                tracing::warn!(
                    pool = self.id,
                    max_spare_threads = self.spares.max,
                    "every spare thread is in use: blocked jobs now wait for each other"
                );
            }
            return;
        }
        let spare = state.started;
        let index = self.num_threads + spare;
        let deques = state.unstarted[spare]
            .take()
            .expect("an unstarted spare slot has its deques");
        // ORDERING: SeqCst, as in `blocked`.
        self.spares.active.fetch_add(1, Ordering::SeqCst);
        // ORDERING: Release: publishes the slot before its thread can push anything there
        // (pairs with the Acquire in `live_slots`); under the spare lock, so in slot order.
        self.live_slots.store(index + 1, Ordering::Release);
        match self.spawn_thread(format!("weft-spare-{index}"), deques, index) {
            Ok(handle) => {
                state.started += 1;
                state.handles.push(handle);
                tracing::debug!(pool = self.id, index, "spare thread started");
            }
            Err(error) => {
                // The deques went with the failed closure; this slot stays unused.
                state.started += 1;
                // ORDERING: SeqCst, as in `blocked`.
                self.spares.active.fetch_sub(1, Ordering::SeqCst);
                tracing::error!(pool = self.id, %error, "could not start a spare thread");
            }
        }
    }

    /// For spare thread `index` at a job boundary: `true` if it should retire now (more
    /// threads are runnable than the pool asks for), and then counted out and already in
    /// `parked`. Both happen under the spare lock, so a worker that blocks meanwhile and
    /// finds too few threads runnable finds this spare in `parked` to call back.
    pub(super) fn spare_should_retire(&self, index: usize) -> bool {
        // ORDERING: SeqCst, as in `blocked`.
        if self.spares.active.load(Ordering::SeqCst) <= self.num_threads {
            return false; // the common case, without the lock
        }
        let mut state = self.spares.state.lock().unwrap_or_else(|p| p.into_inner());
        // ORDERING: SeqCst, as in `blocked`.
        let mut active = self.spares.active.load(Ordering::SeqCst);
        while active > self.num_threads {
            // ORDERING: SeqCst, as in `blocked`.
            match self.spares.active.compare_exchange_weak(
                active,
                active - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    state.parked.push(index);
                    return true;
                }
                Err(actual) => active = actual,
            }
        }
        false
    }

    /// Parks a retired spare (slot `index`, put in `parked` by `spare_should_retire`) until
    /// it is activated again; `false` when the pool terminates instead.
    pub(super) fn park_spare(&self, index: usize) -> bool {
        loop {
            if self.terminating() {
                return false;
            }
            let parked = self
                .spares
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .parked
                .contains(&index);
            if !parked {
                return true;
            }
            sync::park();
        }
    }

    /// The handles of the spare threads started so far, to join at shutdown.
    pub(crate) fn take_spare_handles(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(
            &mut self
                .spares
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .handles,
        )
    }

    /// Spare threads started so far, and how many of them run now (not parked).
    pub(crate) fn spare_counts(&self) -> (usize, usize) {
        let state = self.spares.state.lock().unwrap_or_else(|p| p.into_inner());
        (state.started, state.started - state.parked.len())
    }
}

/// Test hook: the cell behind `Registry::model_freed`.
#[cfg(all(test, weft_loom))]
struct ModelFreed(sync::UnsafeCell<bool>);

// SAFETY: a loom cell: loom checks every access to it for a data race (which is the point).
#[cfg(all(test, weft_loom))]
unsafe impl Sync for ModelFreed {}

/// Test hook: dropping the registry writes `model_freed` (see there).
#[cfg(all(test, weft_loom))]
impl Drop for Registry {
    fn drop(&mut self) {
        // SAFETY: a loom cell; `&mut self`, and loom checks every earlier access against this.
        self.model_freed
            .0
            .with_mut(|freed| unsafe { *freed = true });
    }
}

/// A worker thread is blocked until this drops; see [`Registry::blocked`].
pub(crate) struct Blocked(Arc<Registry>);

impl Drop for Blocked {
    fn drop(&mut self) {
        // ORDERING: SeqCst, as in `blocked`. A surplus spare retires at its next job boundary.
        self.0.spares.active.fetch_add(1, Ordering::SeqCst);
    }
}
