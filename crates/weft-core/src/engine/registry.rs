//! [`Registry`]: the shared state of one pool: its queues, its counters, its sleep state,
//! and the start and end of its worker threads.
//!
//! A job pushed from a worker thread goes on that worker's own deque; from outside it goes on
//! the pool's injector; a job for one particular worker (broadcast) goes in that worker's
//! inbox. How workers take jobs from these queues is [`super::worker`].

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_deque::{Injector, Stealer, Worker};
use crossbeam_utils::CachePadded;

use crate::engine::backpressure::Backpressure;
use crate::engine::sleep::Sleep;
use crate::engine::worker::{WorkerThread, main_loop};
use crate::error::BuildError;
use crate::job::{JobRef, Mode};
use crate::stats::{self, Event, ExternalCounters, PoolStats, WorkerCounters};
use crate::sync::{self, AtomicBool, Ordering};

/// What the engine needs to start a pool, already checked by the builder.
pub(crate) struct Config {
    pub(crate) num_threads: usize,
    pub(crate) thread_name: Option<Box<dyn FnMut(usize) -> String>>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) max_queued: Option<usize>,
}

/// The shared state of one pool.
pub(crate) struct Registry {
    id: usize,
    pub(super) injector: Injector<JobRef>,
    pub(super) stealers: Box<[Stealer<JobRef>]>,
    /// Per-worker queues of jobs that must run on that worker (broadcast).
    pub(super) inboxes: Box<[Injector<JobRef>]>,
    pub(crate) sleep: Sleep,
    pub(super) counters: Box<[CachePadded<WorkerCounters>]>,
    external: ExternalCounters,
    pub(super) epoch: Instant,
    /// Workers exit once they find no work.
    terminate: AtomicBool,
    /// Heap jobs popped from now on are cancelled instead of run (`shutdown_now`).
    cancel_queued: AtomicBool,
    pub(crate) backpressure: Option<Backpressure>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("id", &self.id)
            .field("num_threads", &self.num_threads())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Builds the registry and starts its worker threads.
    pub(crate) fn start(
        config: Config,
    ) -> Result<(Arc<Registry>, Vec<JoinHandle<()>>), BuildError> {
        let num_threads = config.num_threads;
        let backpressure = config.max_queued.map(Backpressure::new);
        let (registry, deques) = Registry::unstarted(num_threads, backpressure);
        /// Stops and joins the workers already started if the build does not finish (an
        /// error, or a panic in the `thread_name` callback or in `std::thread::Builder`).
        struct StartGuard<'a> {
            registry: &'a Registry,
            handles: Vec<JoinHandle<()>>,
            done: bool,
        }
        impl Drop for StartGuard<'_> {
            fn drop(&mut self) {
                if !self.done {
                    self.registry.terminate(false);
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
        for (index, deque) in deques.into_iter().enumerate() {
            let name = match names.as_mut() {
                Some(name) => name(index),
                None => format!("weft-worker-{index}"),
            };
            let mut thread = std::thread::Builder::new().name(name);
            if let Some(size) = config.stack_size {
                thread = thread.stack_size(size);
            }
            let worker_registry = Arc::clone(&registry);
            match thread.spawn(move || main_loop(worker_registry, deque, index)) {
                Ok(handle) => started.handles.push(handle),
                // The guard stops and joins the workers started so far.
                Err(source) => return Err(BuildError::Spawn { index, source }),
            }
        }
        started.done = true;
        let handles = std::mem::take(&mut started.handles);
        drop(started);
        tracing::debug!(pool = registry.id, num_threads, "pool started");
        Ok((registry, handles))
    }

    /// The registry and its workers' deques, before any thread runs.
    fn unstarted(
        num_threads: usize,
        backpressure: Option<Backpressure>,
    ) -> (Arc<Registry>, Vec<Worker<JobRef>>) {
        let deques: Vec<Worker<JobRef>> = (0..num_threads).map(|_| Worker::new_lifo()).collect();
        let registry = Arc::new(Registry {
            id: sync::next_pool_id(),
            injector: Injector::new(),
            stealers: deques.iter().map(Worker::stealer).collect(),
            inboxes: (0..num_threads).map(|_| Injector::new()).collect(),
            sleep: Sleep::new(num_threads),
            counters: (0..num_threads).map(|_| CachePadded::default()).collect(),
            external: ExternalCounters::default(),
            epoch: Instant::now(),
            terminate: AtomicBool::new(false),
            cancel_queued: AtomicBool::new(false),
            backpressure,
        });
        (registry, deques)
    }

    /// A registry without threads, for the loom models to drive by hand.
    #[cfg(all(test, weft_loom))]
    pub(crate) fn for_model(num_threads: usize) -> (Arc<Registry>, Vec<Worker<JobRef>>) {
        Registry::unstarted(num_threads, None)
    }

    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// The calling thread's worker state, if it is one of this pool's worker threads: the
    /// one check of "am I a worker of this pool".
    #[inline]
    pub(crate) fn own_worker(&self) -> Option<&'static WorkerThread> {
        WorkerThread::current().filter(|worker| std::ptr::eq(&**worker.registry(), self))
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.stealers.len()
    }

    /// Queues a job from outside the pool's workers (or for any worker to take).
    pub(crate) fn inject(&self, job: JobRef) {
        self.injector.push(job);
        self.sleep.new_work();
    }

    /// Queues `job` where the calling thread can best hand it on: its own deque when it is
    /// a worker of this pool, the injector otherwise.
    pub(crate) fn push(&self, job: JobRef) {
        match self.own_worker() {
            Some(worker) => worker.push(job),
            None => self.inject(job),
        }
    }

    /// Queues a job that must run on worker `index`.
    pub(crate) fn push_to_worker(&self, index: usize, job: JobRef) {
        self.inboxes[index].push(job);
        self.sleep.wake_worker(index);
    }

    /// A detached job stopped waiting (claimed by a worker, or cancelled by its handle):
    /// frees its `max_queued` place.
    #[inline]
    pub(crate) fn release_queue_place(&self) {
        if let Some(backpressure) = &self.backpressure {
            backpressure.release();
        }
    }

    /// Counts a detached job as submitted and queues it (see [`push`](Self::push)), with
    /// one look at the calling thread.
    #[inline]
    pub(crate) fn submit(&self, job: JobRef) {
        match self.own_worker() {
            Some(worker) => {
                worker.counters().submitted();
                worker.push(job);
            }
            None => {
                self.external.submitted();
                self.inject(job);
            }
        }
    }

    /// Counts a cancel by a handle on the calling thread's counters.
    pub(crate) fn count_cancelled(&self) {
        match self.own_worker() {
            Some(worker) => worker.counters().count(Event::Cancelled),
            None => self.external.cancelled(),
        }
    }

    pub(crate) fn stats(&self) -> PoolStats {
        stats::snapshot(
            &self.counters,
            &self.external,
            self.epoch,
            self.sleep.sleepers(),
        )
    }

    /// Asks the workers to exit once out of work (cancelling queued heap jobs first when
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

    pub(super) fn mode(&self) -> Mode {
        // ORDERING: Relaxed: checked per job; a job run just before the flag is seen was
        // "running" when `shutdown_now` was called, which is allowed.
        if self.cancel_queued.load(Ordering::Relaxed) {
            Mode::Cancel
        } else {
            Mode::Run
        }
    }

    /// `true` if some queue holds a job that worker `index` could take.
    pub(super) fn has_work_for(&self, index: usize) -> bool {
        !self.injector.is_empty()
            || !self.inboxes[index].is_empty()
            || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }
}
