//! [`ThreadPool`]: the front door. Every public method of the pool is in this file, in the
//! order a user meets them: build, submit detached jobs, structured parallelism, observe,
//! shut down. The work is done in the rooms behind: `job/` (what a job is), `engine/` (how
//! worker threads run it), `fork/` (join, scope, map, broadcast) and `node_worker.rs`.

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle as ThreadJoinHandle;
use std::time::{Duration, Instant};

use crate::builder::ThreadPoolBuilder;
use crate::engine::latch::{Owner, WakeLatch};
use crate::engine::registry::{Lane, Registry};
use crate::engine::worker::{Stall, WorkerThread};
use crate::error::{BuildError, SpawnError};
use crate::fork::{self, scope::Scope};
use crate::handle::{JobHandle, RawHandle};
use crate::job::heap::{Detached, Header, HeapJob};
use crate::job::options::{JobBuilder, JobOptions};
use crate::job::stack::StackJob;
use crate::node_worker::{self, WorkerContext, WorkerHandle};
use crate::stats::PoolStats;

/// A fixed-size work-stealing pool for CPU-bound jobs.
///
/// Every job travels the same way: [`spawn`](Self::spawn) makes one heap allocation holding
/// the closure, its state and its result slot; the job goes onto the spawning worker's own
/// deque (or, from outside the pool, onto the pool's shared queue); idle worker threads take batches
/// from the shared queue and steal from each other; the result comes back through the
/// job's [`JobHandle`].
///
/// ```
/// let pool = weft::ThreadPool::new(2).unwrap();
/// let handles: Vec<_> = (0..10u64).map(|i| pool.spawn(move || i * i)).collect();
/// let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// assert_eq!(squares[9], 81);
/// ```
///
/// # Panics in jobs
///
/// A panic is data, not a crash: it is caught on the worker thread, which lives on; the handle gets
/// [`JobError::Panicked`](crate::JobError::Panicked), [`stats`](Self::stats) counts it, and a
/// `tracing` event at error level records it.
///
/// # Shutdown
///
/// [`shutdown`](Self::shutdown) (and dropping the pool) stops intake, runs every queued job
/// and joins the threads; [`shutdown_now`](Self::shutdown_now) cancels queued jobs instead
/// (their handles get [`JobError::Cancelled`](crate::JobError::Cancelled)) and lets running
/// ones finish. Dropping the pool on one of its own worker threads does not deadlock: they
/// finish the queue and exit on their own.
///
/// All three end the input of every worker job ([`spawn_worker`](Self::spawn_worker)) once
/// it read what was already sent, so a worker job looping on `ctx.recv()` ends and the
/// shutdown returns; `shutdown_now` also sets each worker job's cancel flag
/// ([`WorkerContext::is_cancelled`], [`is_cancelled`](crate::is_cancelled)).
pub struct ThreadPool {
    registry: Arc<Registry>,
    threads: Vec<ThreadJoinHandle<()>>,
    closed: bool,
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("num_threads", &self.num_threads())
            .finish_non_exhaustive()
    }
}

impl ThreadPool {
    /// A pool of `num_threads` worker threads with default settings.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroThreads`] for `0`; [`BuildError::Spawn`] if a thread cannot start.
    ///
    /// ```
    /// assert!(weft::ThreadPool::new(0).is_err());
    /// ```
    pub fn new(num_threads: usize) -> Result<ThreadPool, BuildError> {
        ThreadPoolBuilder::new().num_threads(num_threads).build()
    }

    /// A builder for a pool with more settings.
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::new()
    }

    /// The number of worker threads.
    pub fn num_threads(&self) -> usize {
        self.registry.num_threads()
    }

    /// Options for one job: priority, run and queue timeouts, a name; then `spawn` it.
    /// `pool.spawn(f)` is `pool.job().spawn(f)`.
    ///
    /// ```
    /// use weft::Priority;
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let handle = pool.job().priority(Priority::High).name("urgent").spawn(|| 1 + 1);
    /// assert_eq!(handle.join().unwrap(), 2);
    /// ```
    pub fn job(&self) -> JobBuilder<'_> {
        JobBuilder::new(self)
    }

    /// Runs `func` on the pool and returns a handle to its result.
    ///
    /// One heap allocation per job. Blocks while `max_queued` jobs are waiting (on a worker
    /// thread of this pool it runs queued jobs meanwhile instead of blocking).
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let handle = pool.spawn(|| "hello from a worker".len());
    /// assert_eq!(handle.join().unwrap(), 19);
    /// ```
    pub fn spawn<F, T>(&self, func: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.wait_for_queue_place();
        self.spawn_counted(func, JobOptions::PLAIN)
    }

    /// Like [`spawn`](Self::spawn), but never blocks.
    ///
    /// # Errors
    ///
    /// [`SpawnError::Full`] with the closure handed back when `max_queued` jobs are waiting.
    pub fn try_spawn<F, T>(&self, func: F) -> Result<JobHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if !self.try_take_queue_place() {
            return Err(SpawnError::Full(func));
        }
        Ok(self.spawn_counted(func, JobOptions::PLAIN))
    }

    /// Runs `func` on the pool without a handle. A panic is caught, counted in
    /// [`stats`](Self::stats) and recorded by `tracing`, never lost silently.
    pub fn execute<F>(&self, func: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.wait_for_queue_place();
        let core = HeapJob::<F, (), Detached>::allocate(func, Detached, &self.registry, false);
        // SAFETY: just allocated with these parameters (with no handle), queued once.
        let job = unsafe { HeapJob::<F, (), Detached>::detached_ref(core) };
        self.registry.submit(job, Lane::Normal);
    }

    /// Runs `func` as a Node-style worker job: it gets a [`WorkerContext`] to exchange
    /// messages with the returned [`WorkerHandle`], and its return value is the job's result.
    ///
    /// Counted and queued like [`spawn`](Self::spawn) (and, like it, blocks while
    /// `max_queued` jobs are waiting).
    ///
    /// Unlike Node, where every `new Worker` is a new thread, a worker job runs on one of the
    /// pool's worker threads and holds it for its whole life: a pool of `n` threads runs at
    /// most `n` worker jobs (and other jobs) at once, and further worker jobs wait in the
    /// queue until one ends. Size the pool for the worker jobs that must run together: on a
    /// pool with fewer threads than worker jobs that wait for each other's messages, the
    /// ones still queued never start and the running ones wait forever.
    ///
    /// Dropping the [`WorkerHandle`] detaches the job: it keeps running until it returns,
    /// its `ctx.recv()` reports the end once it read what was sent before, and its value is
    /// dropped (see [`WorkerHandle`]).
    ///
    /// # Shutdown
    ///
    /// Closing the pool ends every worker job's input (its `ctx.recv()` returns
    /// `Err(RecvError)` once it read every message sent before), even while its handle is
    /// alive; [`shutdown_now`](Self::shutdown_now) also sets its cancel flag. A worker job
    /// that loops on `ctx.recv()` therefore never hangs the pool's shutdown.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let summer = pool.spawn_worker(|ctx: weft::WorkerContext<u64, u64>| {
    ///     let mut total = 0;
    ///     while let Ok(n) = ctx.recv() {   // ends when the main side stops sending
    ///         total += n;
    ///         ctx.send(total).unwrap();    // a running total after every message
    ///     }
    ///     total
    /// });
    /// for n in 1..=4 {
    ///     summer.send(n).unwrap();
    /// }
    /// assert_eq!(summer.recv().unwrap(), 1);
    /// assert_eq!(summer.join().unwrap(), 10); // join ends the input first
    /// ```
    pub fn spawn_worker<F, In, Out, T>(&self, func: F) -> WorkerHandle<In, Out, T>
    where
        F: FnOnce(WorkerContext<In, Out>) -> T + Send + 'static,
        In: Send + 'static,
        Out: Send + 'static,
        T: Send + 'static,
    {
        let (job, unstarted) = self.prepare_worker(func);
        unstarted.started(self.spawn(job))
    }

    /// Runs `func` on one of the pool's worker threads and returns its result; the calling thread
    /// blocks meanwhile. Called on a worker thread of this pool, runs `func` right there. Inside,
    /// [`join`](crate::join) and friends use this pool.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of `func`.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let index = pool.install(|| weft::current_thread_index());
    /// assert!(matches!(index, Some(0 | 1)));
    /// ```
    pub fn install<F, R>(&self, func: F) -> R
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        if self.is_own_worker() {
            return func();
        }
        // A worker of another pool keeps running its own pool's jobs while it waits.
        let job = StackJob::new(
            func,
            WakeLatch::new(Owner::current(&self.registry)),
            fork::caller_tree(),
        );
        // SAFETY: `job` stays on this frame, unmoved, until its latch is set below.
        self.registry.inject(unsafe { job.as_job_ref() });
        job.latch.wait();
        job.into_result()
    }

    /// Runs `a` and `b` in parallel on the pool's worker threads (as `install(|| join(a, b))`) and
    /// returns both results.
    ///
    /// Both closures always run.
    ///
    /// # Panics
    ///
    /// A panic of either closure is re-raised after both ended (`a`'s if both panicked).
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let v = vec![1, 2, 3, 4];
    /// let (left, right) = pool.join(|| v[..2].iter().sum::<i32>(), || v[2..].iter().sum::<i32>());
    /// assert_eq!(left + right, 10);
    /// ```
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.install(|| {
            let worker = WorkerThread::current().expect("install runs its closure on a worker");
            fork::join::join_on_worker(worker, a, b)
        })
    }

    /// Runs `body` on the calling thread with a [`Scope`] whose jobs run on the pool and may
    /// borrow from the caller; returns once every job of the scope is done.
    ///
    /// # Panics
    ///
    /// After every job finished: re-raises a panic of `body`, or else the first panic of a
    /// job whose handle was not joined.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let mut halves = [0u64; 2];
    /// let (left, right) = halves.split_at_mut(1);
    /// pool.scope(|s| {
    ///     s.spawn(|| left[0] = (0..1000).sum());
    ///     s.spawn(|| right[0] = (1000..2000).sum());
    /// });
    /// assert_eq!(halves[0] + halves[1], (0..2000).sum());
    /// ```
    pub fn scope<'env, F, R>(&'env self, body: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        fork::scope::scope(&self.registry, body)
    }

    /// Applies `func` to every item on the pool's worker threads and returns the results in input
    /// order.
    ///
    /// The iterator is driven by the worker threads a chunk at a time, so it must be `Send`;
    /// when its size is known exactly (`size_hint` lower == upper) the results go straight
    /// into their final place.
    ///
    /// # Panics
    ///
    /// If `func` (or the iterator) panics, the worker threads stop taking new items, every
    /// result and item not consumed is dropped, and the first panic is re-raised after all of
    /// them stopped.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let lengths = pool.map(vec!["a", "bb", "ccc"], str::len);
    /// assert_eq!(lengths, vec![1, 2, 3]);
    /// let squares = pool.map(0..1000u64, |x| x * x);
    /// assert_eq!(squares[999], 998_001);
    /// ```
    pub fn map<It, I, T, F>(&self, items: It, func: F) -> Vec<T>
    where
        It: IntoIterator<Item = I>,
        It::IntoIter: Send,
        I: Send,
        T: Send,
        F: Fn(I) -> T + Sync,
    {
        fork::map::map(&self.registry, items, func)
    }

    /// Like [`map`](Self::map), with a state of type `S` per worker thread: `init` builds it
    /// the first time a thread takes items, and `func` gets `&mut` to it for every item that
    /// thread maps. A scratch buffer, a random number generator, a parser: built once per
    /// thread, not once per item.
    ///
    /// `init` runs at most once per thread per call (so at most `num_threads` times, plus
    /// once per spare thread that joins in), and only on threads that get items. The
    /// states are dropped on their threads once the items run out. Results come in input
    /// order.
    ///
    /// # Panics
    ///
    /// As for [`map`](Self::map): a panic of `init`, `func`, the iterator or a state's
    /// `Drop` stops the worker threads from taking new items, every result and item not
    /// consumed is dropped, and the first panic is re-raised after all of them stopped.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let buffers_made = AtomicUsize::new(0);
    /// let lines = pool.map_init(
    ///     0..10_000u32,
    ///     || {
    ///         buffers_made.fetch_add(1, Ordering::Relaxed);
    ///         String::with_capacity(32)
    ///     },
    ///     |buffer, i| {
    ///         use std::fmt::Write;
    ///         buffer.clear();
    ///         write!(buffer, "line {i}").unwrap();
    ///         buffer.len()
    ///     },
    /// );
    /// assert_eq!(lines[9_999], "line 9999".len());
    /// assert!(buffers_made.load(Ordering::Relaxed) <= 2); // one per thread, not per item
    /// ```
    pub fn map_init<It, I, S, T, Init, F>(&self, items: It, init: Init, func: F) -> Vec<T>
    where
        It: IntoIterator<Item = I>,
        It::IntoIter: Send,
        I: Send,
        T: Send,
        Init: Fn() -> S + Sync,
        F: Fn(&mut S, I) -> T + Sync,
    {
        fork::map::map_init(&self.registry, items, init, func)
    }

    /// Calls `func` on every item on the pool's worker threads, and returns once all are
    /// done. Items are taken in chunks, as by [`map`](Self::map); the order of the calls
    /// is not defined.
    ///
    /// # Panics
    ///
    /// As for [`map`](Self::map): the first panic is re-raised after every worker thread
    /// stopped, and the items not consumed are dropped.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let total = AtomicU64::new(0);
    /// pool.for_each(1..=100u64, |x| {
    ///     total.fetch_add(x, Ordering::Relaxed);
    /// });
    /// assert_eq!(total.into_inner(), 5050);
    /// ```
    pub fn for_each<It, I, F>(&self, items: It, func: F)
    where
        It: IntoIterator<Item = I>,
        It::IntoIter: Send,
        I: Send,
        F: Fn(I) + Sync,
    {
        fork::map::for_each(&self.registry, items, func);
    }

    /// Maps every item with `map` on the pool's worker threads and combines the results
    /// with `reduce` into one value; `None` when there are no items.
    ///
    /// `reduce` must be associative: the results may be combined in any grouping
    /// (`reduce(reduce(a, b), c)` or `reduce(a, reduce(b, c))`), but never reordered:
    /// in every `reduce(x, y)`, `x` comes from items before `y`'s in input order. So it
    /// needs no identity value and need not be commutative (concatenation works). Each
    /// worker thread folds its chunks of consecutive items left to right; the calling thread
    /// combines the chunks' values in input order at the end.
    ///
    /// # Panics
    ///
    /// As for [`map`](Self::map): a panic of `map`, `reduce` or the iterator stops the worker
    /// threads from taking new items, every value and item not consumed is dropped, and the
    /// first panic is re-raised after all of them stopped.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let sum = pool.map_reduce(1..=100u64, |x| x * x, |a, b| a + b);
    /// assert_eq!(sum, Some(338_350));
    /// // Order is kept: concatenation is associative, not commutative.
    /// let text = pool.map_reduce(0..10u8, |d| d.to_string(), |a, b| a + &b);
    /// assert_eq!(text.as_deref(), Some("0123456789"));
    /// assert_eq!(pool.map_reduce(0..0u8, |d| d, |a, _| a), None);
    /// ```
    pub fn map_reduce<It, I, T, M, R>(&self, items: It, map: M, reduce: R) -> Option<T>
    where
        It: IntoIterator<Item = I>,
        It::IntoIter: Send,
        I: Send,
        T: Send,
        M: Fn(I) -> T + Sync,
        R: Fn(T, T) -> T + Sync,
    {
        fork::map::map_reduce(&self.registry, items, map, reduce)
    }

    /// Runs `func(index)` once on every worker thread `index` and returns the results in
    /// worker order: `result[i]` came from worker thread `i`.
    ///
    /// Each worker thread runs its call when it next looks for work, so one busy with a long
    /// job delays the broadcast until that job ends.
    ///
    /// # Panics
    ///
    /// Re-raises the first panic (by worker index) after every worker thread ran its call.
    ///
    /// ```
    /// let pool = weft::ThreadPool::new(3).unwrap();
    /// let seen = pool.broadcast(|index| (index, weft::current_thread_index()));
    /// assert_eq!(seen, vec![(0, Some(0)), (1, Some(1)), (2, Some(2))]);
    /// ```
    pub fn broadcast<F, R>(&self, func: F) -> Vec<R>
    where
        F: Fn(usize) -> R + Sync,
        R: Send,
    {
        fork::broadcast::broadcast(&self.registry, func)
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        self.registry.stats()
    }

    /// Stops intake, runs every queued job, and joins all threads.
    ///
    /// Worker jobs' inputs are ended first (see [`spawn_worker`](Self::spawn_worker)): each
    /// reads what was sent to it, then its `ctx.recv()` returns `Err(RecvError)`.
    pub fn shutdown(mut self) {
        self.close(false);
    }

    /// Stops intake, cancels every queued job (their handles get
    /// [`JobError::Cancelled`](crate::JobError::Cancelled); their closures are dropped),
    /// lets running jobs finish, and joins all threads.
    ///
    /// Jobs a running job waits on in a stack frame (the other half of a `join`, scoped
    /// jobs' frames) still run, so running jobs can finish.
    ///
    /// Running worker jobs get their cancel flag set ([`WorkerContext::is_cancelled`] and
    /// [`is_cancelled`](crate::is_cancelled) turn true), then their input is ended as by
    /// [`shutdown`](Self::shutdown); queued ones are cancelled.
    pub fn shutdown_now(mut self) {
        self.close(true);
    }

    /// As [`shutdown`](Self::shutdown), but gives up after `timeout`: if the pool's jobs
    /// have not all finished by then, the pool comes back in `Err`, open and working, so
    /// you can retry, call [`shutdown_now`](Self::shutdown_now), or go on using it.
    ///
    /// It first ends every worker job's input, as `shutdown` does (see
    /// [`spawn_worker`](Self::spawn_worker)), then waits until no detached job is queued or
    /// running. Only then are the threads told to stop, so a pool that is given back has
    /// lost nothing: the same threads, settings and counters, its queued jobs still queued
    /// and its running jobs still running.
    ///
    /// # Errors
    ///
    /// `Err(pool)` if jobs were still queued or running after `timeout` (checked about
    /// every millisecond, so it comes back within about a millisecond after `timeout`), and
    /// at once when called on one of the pool's own worker threads, which cannot wait for
    /// the pool to end (dropping the pool there does not wait either; see
    /// [Shutdown](ThreadPool#shutdown)).
    ///
    /// # Shutdown
    ///
    /// The pool given back is as it was, except that the input of every worker job that
    /// existed at the call has ended: each reads what was sent to it, then its `ctx.recv()`
    /// returns `Err(RecvError)`, and its handle's `send` hands messages back in `SendError`
    /// (its messages to the main side still flow). Worker jobs spawned afterwards are not
    /// affected.
    ///
    /// `timeout` covers the wait for the jobs. Once the pool is quiet, stopping and joining
    /// its idle threads takes what an idle pool's [`shutdown`](Self::shutdown) takes,
    /// including their [`on_thread_stop`](crate::ThreadPoolBuilder::on_thread_stop) hooks,
    /// which may run past `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = weft::ThreadPool::new(2).unwrap();
    /// let (release, wait) = std::sync::mpsc::channel::<()>();
    /// let long = pool.spawn(move || wait.recv().unwrap());
    /// # while pool.stats().running == 0 { std::thread::yield_now(); }
    /// let pool = pool.shutdown_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(pool.spawn(|| 2).join().unwrap(), 2); // still working
    /// release.send(()).unwrap();
    /// long.join().unwrap();
    /// assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_ok());
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Result<(), ThreadPool> {
        if self.is_own_worker() {
            return Err(self);
        }
        let deadline = Instant::now().checked_add(timeout);
        self.registry.worker_jobs.close_all(false);
        if !self.registry.wait_until_quiet(deadline) {
            return Err(self);
        }
        self.close(false);
        Ok(())
    }
}

/// What the pool does behind its public methods.
impl ThreadPool {
    pub(crate) fn from_builder(builder: ThreadPoolBuilder) -> Result<ThreadPool, BuildError> {
        let (registry, threads) = Registry::start(builder.into_config()?)?;
        Ok(ThreadPool {
            registry,
            threads,
            closed: false,
        })
    }

    /// The pool's shared state (for `WorkerLocal`).
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// `true` when the calling thread is one of this pool's worker threads.
    fn is_own_worker(&self) -> bool {
        self.registry.own_worker().is_some()
    }

    /// Splits a worker job into the job the pool runs and the handle's parts (see
    /// `node_worker::prepare`), and registers it so that closing the pool ends its input.
    pub(crate) fn prepare_worker<F, In, Out, T>(
        &self,
        func: F,
    ) -> (
        impl FnOnce() -> T + Send + 'static,
        node_worker::Unstarted<In, Out>,
    )
    where
        F: FnOnce(WorkerContext<In, Out>) -> T + Send + 'static,
        In: Send + 'static,
        Out: Send + 'static,
        T: Send + 'static,
    {
        let (job, unstarted) = node_worker::prepare(func);
        self.registry.worker_jobs.register(unstarted.input());
        (job, unstarted)
    }

    /// Allocates, counts and queues a detached job whose queue place is already taken.
    pub(crate) fn spawn_counted<F, T>(&self, func: F, options: JobOptions) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let core = HeapJob::<F, T, Detached>::allocate_with(
            func,
            Detached,
            &self.registry,
            true,
            options.extras,
        );
        // SAFETY: `core` was just allocated with these parameters and is queued once; the
        // handle below is its one receiver. `JobCore` starts with its header.
        unsafe {
            Header::arm_queue_timer(core.cast(), &self.registry);
            let job = HeapJob::<F, T, Detached>::detached_ref(core);
            self.registry.submit(job, options.lane);
            JobHandle::from_raw(RawHandle::new(core))
        }
    }

    /// Takes a queue place without blocking when `max_queued` is set; `false` if full.
    pub(crate) fn try_take_queue_place(&self) -> bool {
        self.registry
            .backpressure
            .as_ref()
            .is_none_or(|backpressure| backpressure.try_acquire())
    }

    /// Takes a place in the queue when `max_queued` is set, blocking while the queue is full.
    /// A worker thread that blocks here lets a spare thread run jobs meanwhile (running them
    /// on top of the spawning job could bury what they wait for).
    #[inline]
    pub(crate) fn wait_for_queue_place(&self) {
        let Some(backpressure) = &self.registry.backpressure else {
            return;
        };
        if backpressure.try_acquire() {
            return;
        }
        self.wait_for_queue_place_slow(backpressure);
    }

    #[cold]
    fn wait_for_queue_place_slow(&self, backpressure: &crate::engine::backpressure::Backpressure) {
        match WorkerThread::current() {
            Some(worker) => {
                let mut stall = Stall::new(worker);
                while !backpressure.acquire_timeout(stall.before_park().unwrap_or(Duration::MAX)) {}
            }
            None => backpressure.acquire_blocking(),
        }
    }

    fn close(&mut self, cancel_queued: bool) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        tracing::debug!(
            pool = self.registry.id(),
            cancel_queued,
            "pool shutting down"
        );
        // Worker jobs blocked in `ctx.recv()` would keep their threads forever otherwise.
        self.registry.worker_jobs.close_all(cancel_queued);
        self.registry.terminate(cancel_queued);
        if self.is_own_worker() {
            tracing::debug!(
                pool = self.registry.id(),
                "pool dropped on its own worker: workers drain the queue and exit on their own"
            );
            self.threads.clear();
            return;
        }
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a weft worker thread panicked outside of any job");
            }
        }
        // Spare threads next: a blocked worker may have started one while we joined.
        loop {
            let spares = self.registry.take_spare_handles();
            if spares.is_empty() {
                break;
            }
            for thread in spares {
                if thread.join().is_err() {
                    tracing::error!("a weft spare thread panicked outside of any job");
                }
            }
        }
        // Every job has finished: the timer holds no entry any more.
        self.registry.timer().shut_down();
        tracing::debug!(pool = self.registry.id(), "pool shut down");
    }
}

impl Drop for ThreadPool {
    /// Same as [`shutdown`](ThreadPool::shutdown).
    fn drop(&mut self) {
        self.close(false);
    }
}
