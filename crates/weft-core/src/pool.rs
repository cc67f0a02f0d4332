//! [`ThreadPool`]: construction, detached jobs, `install`, statistics and shutdown.

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle as ThreadJoinHandle;
use std::time::Duration;

use crate::builder::ThreadPoolBuilder;
use crate::error::BuildError;
use crate::error::SpawnError;
use crate::handle::{JobHandle, RawHandle};
use crate::heap_job::{Detached, ExecuteJob, HeapJob};
use crate::job::StackJob;
use crate::latch::{LockLatch, Owner};
use crate::registry::{Registry, WorkerThread};
use crate::stats::PoolStats;
use crate::sync;

/// A fixed-size work-stealing pool for CPU-bound jobs.
///
/// Every job travels the same way: [`spawn`](Self::spawn) makes one heap allocation holding
/// the closure, its state and its result slot; the job goes onto the spawning worker's own
/// deque (or, from outside the pool, onto the pool's shared queue); idle workers take batches
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
/// A panic is data, not a crash: it is caught on the worker, which lives on; the handle gets
/// [`JobError::Panicked`](crate::JobError::Panicked), [`stats`](Self::stats) counts it, and a
/// `tracing` event at error level records it.
///
/// # Shutdown
///
/// [`shutdown`](Self::shutdown) (and dropping the pool) stops intake, runs every queued job
/// and joins the threads; [`shutdown_now`](Self::shutdown_now) cancels queued jobs instead
/// (their handles get [`JobError::Cancelled`](crate::JobError::Cancelled)) and lets running
/// ones finish. Dropping the pool on one of its own workers does not deadlock: the workers
/// finish the queue and exit on their own.
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
    /// A pool of `num_threads` workers with default settings.
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

    pub(crate) fn from_builder(builder: ThreadPoolBuilder) -> Result<ThreadPool, BuildError> {
        let (registry, threads) = Registry::spawn(builder)?;
        Ok(ThreadPool {
            registry,
            threads,
            closed: false,
        })
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The number of worker threads.
    pub fn num_threads(&self) -> usize {
        self.registry.num_threads()
    }

    /// `true` when the calling thread is one of this pool's workers.
    pub(crate) fn is_own_worker(&self) -> bool {
        self.registry.own_worker().is_some()
    }

    /// Runs `func` on the pool and returns a handle to its result.
    ///
    /// One heap allocation per job. Blocks while `max_queued` jobs are waiting (on a worker
    /// of this pool it runs queued jobs meanwhile instead of blocking).
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
        self.spawn_counted(func)
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
        if let Some(backpressure) = &self.registry.backpressure {
            if !backpressure.try_acquire() {
                return Err(SpawnError::Full(func));
            }
        }
        Ok(self.spawn_counted(func))
    }

    /// Runs `func` on the pool without a handle. A panic is caught, counted in
    /// [`stats`](Self::stats) and recorded by `tracing`, never lost silently.
    pub fn execute<F>(&self, func: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.wait_for_queue_place();
        self.registry.submit(ExecuteJob::job_ref(func));
    }

    /// Allocates, counts and queues a detached job whose queue place is already taken.
    pub(crate) fn spawn_counted<F, T>(&self, func: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let core = HeapJob::<F, T, Detached>::allocate(func, Detached, Some(&self.registry));
        // SAFETY: `core` was just allocated with these parameters and is queued once; the
        // handle below is its one receiver.
        unsafe {
            self.registry
                .submit(HeapJob::<F, T, Detached>::job_ref(core));
            JobHandle::from_raw(RawHandle::new(core))
        }
    }

    /// Takes a place in the queue when `max_queued` is set, blocking (or helping) while full.
    pub(crate) fn wait_for_queue_place(&self) {
        let Some(backpressure) = &self.registry.backpressure else {
            return;
        };
        match WorkerThread::current() {
            // On a worker (of this pool or another), keep running jobs instead of blocking
            // the worker: on this pool that frees places; on another, it keeps that pool
            // going while this one drains.
            Some(worker) => {
                let own = worker.registry().id() == self.registry.id();
                while !backpressure.try_acquire() {
                    match worker.find_work() {
                        Some(job) => worker.execute(job),
                        None if own => sync::yield_now(),
                        None => {
                            if backpressure.acquire_timeout(Duration::from_millis(1)) {
                                return;
                            }
                        }
                    }
                }
            }
            None => backpressure.acquire_blocking(),
        }
    }

    /// Runs `func` on one of the pool's workers and returns its result; the calling thread
    /// blocks meanwhile. Called on a worker of this pool, runs `func` right there. Inside,
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
            LockLatch::new(Owner::current(&self.registry)),
            std::ptr::null(),
        );
        // SAFETY: `job` stays on this frame, unmoved, until its latch is set below.
        self.registry.inject(unsafe { job.as_job_ref() });
        job.latch.wait();
        job.into_result()
    }

    /// Runs `a` and `b` in parallel on the pool's workers (as `install(|| join(a, b))`) and
    /// returns both results.
    ///
    /// Both closures always run. A panic of either is re-raised after both ended.
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
        self.install(|| crate::join::join(a, b))
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        self.registry.stats()
    }

    /// Stops intake, runs every queued job, and joins all threads.
    pub fn shutdown(mut self) {
        self.close(false);
    }

    /// Stops intake, cancels every queued job (their handles get
    /// [`JobError::Cancelled`](crate::JobError::Cancelled); their closures are dropped),
    /// lets running jobs finish, and joins all threads.
    ///
    /// Jobs a running job waits on in a stack frame (the other half of a `join`, scoped
    /// jobs' frames) still run, so running jobs can finish.
    pub fn shutdown_now(mut self) {
        self.close(true);
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
        tracing::debug!(pool = self.registry.id(), "pool shut down");
    }
}

impl Drop for ThreadPool {
    /// Same as [`shutdown`](ThreadPool::shutdown).
    fn drop(&mut self) {
        self.close(false);
    }
}
