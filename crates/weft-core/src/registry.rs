//! The engine: the shared state of one pool and the loop every worker thread runs.
//!
//! A job pushed from a worker goes on that worker's own deque; from outside it goes on the
//! pool's injector. A worker looks for work in its own deque, then its broadcast inbox, then
//! takes a batch from the injector, then steals from the others in random order, and only
//! then spins a little and goes to sleep (see [`crate::sleep`]).

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;

use crate::builder::ThreadPoolBuilder;
use crate::error::BuildError;
use crate::heap_job::Event;
use crate::job::{JobRef, Mode};
use crate::latch::{WaitCondition, passed};
use crate::sleep::Sleep;
use crate::stats::{self, ExternalCounters, PoolStats, WorkerCounters};
use crate::sync::{self, AtomicBool, AtomicU8, AtomicUsize, Condvar, Mutex, Ordering};

/// Rounds of looking for work (with a CPU yield between them) before a worker sleeps.
/// About 50-100 us here: long enough to keep workers awake while jobs keep coming, short
/// enough that an idle pool costs nothing measurable.
const IDLE_ROUNDS: u32 = 48;

/// Most jobs taken from another worker's deque in one steal.
const STEAL_BATCH: usize = 16;

/// Rounds a worker that waits for a latch or job keeps looking before it sleeps.
const WAIT_ROUNDS: u32 = 16;

/// Identifies registries, so a worker can tell whether it belongs to a given pool.
static NEXT_REGISTRY_ID: StdAtomicUsize = StdAtomicUsize::new(1);

/// The shared state of one pool.
pub(crate) struct Registry {
    id: usize,
    injector: Injector<JobRef>,
    stealers: Box<[Stealer<JobRef>]>,
    /// Per-worker queues of jobs that must run on that worker (broadcast).
    inboxes: Box<[Injector<JobRef>]>,
    pub(crate) sleep: Sleep,
    counters: Box<[CachePadded<WorkerCounters>]>,
    external: ExternalCounters,
    epoch: Instant,
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

/// `max_queued`: counts detached jobs between submission and dequeue, and parks submitters
/// while the count is at the limit.
#[derive(Debug)]
pub(crate) struct Backpressure {
    limit: usize,
    queued: CachePadded<AtomicUsize>,
    blocked: AtomicUsize,
    lock: Mutex<()>,
    space: Condvar,
}

impl Backpressure {
    fn new(limit: usize) -> Self {
        Backpressure {
            limit,
            queued: CachePadded::new(AtomicUsize::new(0)),
            blocked: AtomicUsize::new(0),
            lock: Mutex::new(()),
            space: Condvar::new(),
        }
    }

    /// Takes a queue place if one is free.
    pub(crate) fn try_acquire(&self) -> bool {
        // ORDERING: SeqCst pairs with `release`'s SeqCst (Dekker with `blocked`).
        let mut queued = self.queued.load(Ordering::SeqCst);
        loop {
            if queued >= self.limit {
                return false;
            }
            // ORDERING: SeqCst, as above.
            match self.queued.compare_exchange_weak(
                queued,
                queued + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(actual) => queued = actual,
            }
        }
    }

    /// Blocks a thread outside the pool until it gets a queue place.
    pub(crate) fn acquire_blocking(&self) {
        if self.try_acquire() {
            return;
        }
        let mut guard = self.lock.lock().unwrap();
        // ORDERING: SeqCst: announce before re-checking (pairs with `release`).
        self.blocked.fetch_add(1, Ordering::SeqCst);
        while !self.try_acquire() {
            guard = self.space.wait(guard).unwrap();
        }
        // ORDERING: SeqCst, as above.
        self.blocked.fetch_sub(1, Ordering::SeqCst);
    }

    /// Like [`acquire_blocking`](Self::acquire_blocking), giving up after `timeout`.
    pub(crate) fn acquire_timeout(&self, timeout: std::time::Duration) -> bool {
        if self.try_acquire() {
            return true;
        }
        let guard = self.lock.lock().unwrap();
        // ORDERING: SeqCst: announce before re-checking (pairs with `release`).
        self.blocked.fetch_add(1, Ordering::SeqCst);
        let acquired = self.try_acquire() || {
            let (_guard, _) = self.space.wait_timeout(guard, timeout).unwrap();
            self.try_acquire()
        };
        // ORDERING: SeqCst, as above.
        self.blocked.fetch_sub(1, Ordering::SeqCst);
        acquired
    }

    /// A job left the queue.
    pub(crate) fn release(&self) {
        // ORDERING: SeqCst: the decrement is ordered before reading `blocked` (Dekker with
        // `acquire_blocking`, which increments `blocked` before re-checking `queued`).
        self.queued.fetch_sub(1, Ordering::SeqCst);
        // ORDERING: SeqCst, as above.
        if self.blocked.load(Ordering::SeqCst) != 0 {
            let _guard = self.lock.lock().unwrap();
            self.space.notify_all();
        }
    }
}

impl Registry {
    /// Builds the registry and starts its threads.
    pub(crate) fn spawn(
        builder: ThreadPoolBuilder,
    ) -> Result<(Arc<Registry>, Vec<JoinHandle<()>>), BuildError> {
        let num_threads = builder.resolved_num_threads()?;
        let backpressure = match builder.max_queued {
            Some(0) => return Err(BuildError::ZeroMaxQueued),
            Some(limit) => Some(Backpressure::new(limit)),
            None => None,
        };
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
        let mut names = builder.thread_name;
        for (index, deque) in deques.into_iter().enumerate() {
            let name = match names.as_mut() {
                Some(name) => name(index),
                None => format!("weft-worker-{index}"),
            };
            let mut thread = std::thread::Builder::new().name(name);
            if let Some(size) = builder.stack_size {
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
            id: NEXT_REGISTRY_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
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

    /// The calling thread's worker state, if it is one of this pool's workers.
    #[inline]
    pub(crate) fn own_worker(&self) -> Option<&'static WorkerThread> {
        WorkerThread::current().filter(|worker| worker.registry.id == self.id)
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

    fn terminating(&self) -> bool {
        // ORDERING: SeqCst pairs with the store in `terminate`.
        self.terminate.load(Ordering::SeqCst)
    }

    fn mode(&self) -> Mode {
        // ORDERING: Relaxed: checked per job; a job run just before the flag is seen was
        // "running" when `shutdown_now` was called, which is allowed.
        if self.cancel_queued.load(Ordering::Relaxed) {
            Mode::Cancel
        } else {
            Mode::Run
        }
    }

    /// `true` if some queue holds a job that worker `index` could take.
    fn has_work_for(&self, index: usize) -> bool {
        !self.injector.is_empty()
            || !self.inboxes[index].is_empty()
            || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }
}

thread_local! {
    static WORKER_THREAD: Cell<*const WorkerThread> = const { Cell::new(ptr::null()) };
}

/// A worker thread's own state; lives on the worker's stack for the thread's lifetime.
pub(crate) struct WorkerThread {
    deque: Worker<JobRef>,
    index: usize,
    registry: Arc<Registry>,
    rng: Cell<u64>,
    /// The run state (for `is_cancelled`) of the job running now, or null.
    current_job: Cell<*const AtomicU8>,
}

impl WorkerThread {
    /// The calling thread's worker state, if it is a pool worker.
    #[inline]
    pub(crate) fn current() -> Option<&'static WorkerThread> {
        let worker = WORKER_THREAD.with(Cell::get);
        // SAFETY: the pointer is set by `main_loop` to a WorkerThread on that thread's stack
        // and cleared before it goes away; only this thread reads it, and every job that can
        // observe it finishes inside `main_loop`.
        unsafe { worker.as_ref() }
    }

    /// A worker state for a loom model thread (not registered as the thread's worker).
    #[cfg(all(test, weft_loom))]
    pub(crate) fn for_model(registry: Arc<Registry>, deque: Worker<JobRef>, index: usize) -> Self {
        WorkerThread {
            deque,
            index,
            registry,
            rng: Cell::new(1),
            current_job: Cell::new(ptr::null()),
        }
    }

    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    #[inline]
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    #[inline]
    fn counters(&self) -> &WorkerCounters {
        &self.registry.counters[self.index]
    }

    #[inline]
    pub(crate) fn count(&self, event: Event) {
        if event == Event::Claimed {
            self.registry.release_queue_place();
        }
        self.counters().count(event);
    }

    /// Marks `run_state` as the running job's (for `is_cancelled`); returns the previous one.
    #[inline]
    pub(crate) fn enter_job(&self, run_state: *const AtomicU8) -> *const AtomicU8 {
        self.current_job.replace(run_state)
    }

    #[inline]
    pub(crate) fn leave_job(&self, previous: *const AtomicU8) {
        self.current_job.set(previous);
    }

    /// The running job's run state, or null.
    #[inline]
    pub(crate) fn current_job(&self) -> *const AtomicU8 {
        self.current_job.get()
    }

    /// Pushes onto this worker's deque, where others may steal it.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        self.deque.push(job);
        self.registry.sleep.new_work();
    }

    /// Pushes a job this worker will come back for itself if nobody steals it (the second
    /// half of a `join`); see [`Sleep::new_work_for_self`].
    #[inline]
    pub(crate) fn push_fork(&self, job: JobRef) {
        self.deque.push(job);
        self.registry.sleep.new_work_for_self();
    }

    /// Pops the most recently pushed job of this worker's own deque.
    #[inline]
    pub(crate) fn take_local_job(&self) -> Option<JobRef> {
        self.deque.pop()
    }

    /// Runs (or, under `shutdown_now`, cancels) a job.
    #[inline]
    pub(crate) fn execute(&self, job: JobRef) {
        // SAFETY: every JobRef in the pool's queues is executed once, by whoever popped it,
        // on a worker of this pool.
        unsafe { job.execute(self, self.registry.mode()) }
    }

    fn next_random(&self) -> u64 {
        // xorshift64*: cheap, good enough to spread steals.
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Finds a job: own deque, then elsewhere.
    #[inline]
    pub(crate) fn find_work(&self) -> Option<JobRef> {
        self.deque.pop().or_else(|| self.steal_work())
    }

    /// Looks beyond the own deque: broadcast inbox, a batch from the injector, then one job
    /// from another worker, starting at a random victim.
    fn steal_work(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        loop {
            let mut retry = false;
            match registry.inboxes[self.index].steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            match registry.injector.steal_batch_and_pop(&self.deque) {
                Steal::Success(job) => return Some(self.stole_batch(job)),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            let n = registry.stealers.len();
            if n > 1 {
                let start = (self.next_random() % n as u64) as usize;
                for k in 0..n {
                    let victim = (start + k) % n;
                    if victim == self.index {
                        continue;
                    }
                    match registry.stealers[victim]
                        .steal_batch_with_limit_and_pop(&self.deque, STEAL_BATCH)
                    {
                        Steal::Success(job) => return Some(self.stole_batch(job)),
                        Steal::Retry => retry = true,
                        Steal::Empty => {}
                    }
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Counts a successful batch steal and announces the rest of the batch: it left the
    /// queue it came from before it showed up in ours, so a worker that looked in between
    /// may have gone to sleep.
    fn stole_batch(&self, job: JobRef) -> JobRef {
        self.counters().stole();
        if !self.deque.is_empty() {
            self.registry.sleep.new_work();
        }
        job
    }

    /// Runs other jobs until `condition` is done, sleeping when there is nothing to run.
    /// Returns `false` if `deadline` passed first.
    pub(crate) fn wait_until<C: WaitCondition + ?Sized>(
        &self,
        condition: &C,
        deadline: Option<Instant>,
    ) -> bool {
        'outer: loop {
            if condition.done() {
                return true;
            }
            if let Some(job) = self.find_work() {
                self.execute(job);
                continue;
            }
            for round in 0..WAIT_ROUNDS {
                if condition.done() {
                    return true;
                }
                if let Some(job) = self.find_work() {
                    self.execute(job);
                    continue 'outer;
                }
                if passed(deadline) {
                    condition.abandon();
                    return condition.done();
                }
                if round < 6 {
                    for _ in 0..(1u32 << round) {
                        std::hint::spin_loop();
                    }
                } else {
                    sync::yield_now();
                }
            }
            if passed(deadline) {
                condition.abandon();
                return condition.done();
            }
            if !condition.prepare_sleep() {
                return true;
            }
            self.counters().sleep_at(self.registry.epoch);
            self.registry.sleep.sleep(self.index, deadline, || {
                condition.done() || self.registry.has_work_for(self.index)
            });
            self.counters().wake_at(self.registry.epoch);
            if passed(deadline) && !condition.done() {
                condition.abandon();
                return condition.done();
            }
        }
    }
}

/// The life of a worker thread.
fn main_loop(registry: Arc<Registry>, deque: Worker<JobRef>, index: usize) {
    let worker = WorkerThread {
        deque,
        index,
        rng: Cell::new(
            0x9e37_79b9_7f4a_7c15u64
                .wrapping_mul(index as u64 + 1)
                .wrapping_add(registry.id as u64)
                | 1,
        ),
        registry,
        current_job: Cell::new(ptr::null()),
    };
    let registry = &*worker.registry;
    registry.sleep.register_current(index);
    WORKER_THREAD.with(|current| current.set(&worker));
    let span = tracing::debug_span!("weft worker", pool = registry.id, index);
    let _entered = span.enter();
    tracing::debug!("worker started");
    worker.counters().wake_at(registry.epoch);
    'work: loop {
        if let Some(job) = worker.find_work() {
            worker.execute(job);
            continue;
        }
        for _ in 0..IDLE_ROUNDS {
            sync::yield_now();
            if let Some(job) = worker.find_work() {
                worker.execute(job);
                continue 'work;
            }
        }
        if registry.terminating() {
            break;
        }
        worker.counters().sleep_at(registry.epoch);
        registry.sleep.sleep(index, None, || {
            registry.terminating() || registry.has_work_for(index)
        });
        worker.counters().wake_at(registry.epoch);
    }
    worker.counters().sleep_at(registry.epoch);
    tracing::debug!("worker exited");
    WORKER_THREAD.with(|current| current.set(ptr::null()));
}
