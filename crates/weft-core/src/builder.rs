//! [`ThreadPoolBuilder`]: how many threads, their names and stacks, backpressure, what runs
//! when a thread starts and stops, and pinning.

use std::fmt;
use std::sync::Arc;

use crate::engine::affinity;
use crate::engine::lifecycle::Hook;
use crate::engine::registry::{Config, DEFAULT_MAX_SPARE_THREADS};
use crate::error::{AffinityError, BuildError};
use crate::pool::ThreadPool;

/// Configures and builds a [`ThreadPool`].
///
/// ```
/// let pool = weft::ThreadPool::builder()
///     .num_threads(2)
///     .thread_name(|index| format!("cruncher-{index}"))
///     .stack_size(4 << 20)
///     .max_queued(10_000)
///     .build()
///     .unwrap();
/// assert_eq!(pool.num_threads(), 2);
/// let name = pool.install(|| std::thread::current().name().map(str::to_owned));
/// assert!(name.unwrap().starts_with("cruncher-"));
/// ```
pub struct ThreadPoolBuilder {
    pub(crate) num_threads: Option<usize>,
    pub(crate) thread_name: Option<Box<dyn FnMut(usize) -> String>>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) max_queued: Option<usize>,
    pub(crate) max_spare_threads: usize,
    pub(crate) record_timing: bool,
    on_thread_start: Option<Hook>,
    on_thread_stop: Option<Hook>,
    pin_threads: bool,
}

impl Default for ThreadPoolBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("num_threads", &self.num_threads)
            .field("thread_name", &self.thread_name.as_ref().map(|_| ".."))
            .field("stack_size", &self.stack_size)
            .field("max_queued", &self.max_queued)
            .field("max_spare_threads", &self.max_spare_threads)
            .field("record_timing", &self.record_timing)
            .field(
                "on_thread_start",
                &self.on_thread_start.as_ref().map(|_| ".."),
            )
            .field(
                "on_thread_stop",
                &self.on_thread_stop.as_ref().map(|_| ".."),
            )
            .field("pin_threads", &self.pin_threads)
            .finish()
    }
}

impl ThreadPoolBuilder {
    /// A builder with the defaults: one thread per logical CPU (`num_cpus::get()`), or
    /// as many as the `WEFT_NUM_THREADS` environment variable says when it is set (see
    /// [`NUM_THREADS_ENV`]); threads named `weft-worker-{index}`, the platform's default
    /// stack size, unbounded queue, no start or stop hooks, threads not pinned.
    pub fn new() -> Self {
        ThreadPoolBuilder {
            num_threads: None,
            thread_name: None,
            stack_size: None,
            max_queued: None,
            max_spare_threads: DEFAULT_MAX_SPARE_THREADS,
            record_timing: false,
            on_thread_start: None,
            on_thread_stop: None,
            pin_threads: false,
        }
    }

    /// The number of worker threads, overriding the default (and `WEFT_NUM_THREADS`). `0`
    /// makes [`build`](Self::build) fail with [`BuildError::ZeroThreads`], more than
    /// [`MAX_THREADS`] with [`BuildError::TooManyThreads`].
    pub fn num_threads(mut self, num_threads: usize) -> Self {
        self.num_threads = Some(num_threads);
        self
    }

    /// Names worker `index`'s thread. A name with a NUL byte makes [`build`](Self::build)
    /// fail with [`BuildError::ThreadName`].
    pub fn thread_name(mut self, name: impl FnMut(usize) -> String + 'static) -> Self {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// The stack size of each worker thread, in bytes. Less than [`MIN_STACK_SIZE`] makes
    /// [`build`](Self::build) fail with [`BuildError::StackTooSmall`]. (The operating
    /// system may round the size up.)
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Backpressure: at most `max` detached jobs may wait in the queues (submitted, and
    /// neither started by a worker nor cancelled). At the limit, [`ThreadPool::spawn`] and
    /// [`ThreadPool::execute`] block (on a worker thread they run queued jobs meanwhile),
    /// and [`ThreadPool::try_spawn`] hands the closure back. Jobs of scopes, `join`, `map`
    /// and `broadcast` are not counted: their callers wait for them anyway. Default:
    /// unbounded. `0` makes [`build`](Self::build) fail with [`BuildError::ZeroMaxQueued`].
    pub fn max_queued(mut self, max: usize) -> Self {
        self.max_queued = Some(max);
        self
    }

    /// The most spare threads the pool may start (default 64).
    ///
    /// A job that blocks on a worker thread, waiting on another job's handle that it cannot
    /// run itself (the job is running elsewhere, or belongs to another pool) or for a
    /// `max_queued` place, does not leave the pool short of threads: the pool starts a
    /// spare thread (or wakes a parked one) that runs jobs while it waits, and the spare
    /// parks again once the blocked thread resumes. So waiting on results never deadlocks
    /// the pool unless the jobs wait on each other in a cycle, or more than this many wait
    /// at once. `0` turns compensation off: then a blocked job holds its thread idle.
    pub fn max_spare_threads(mut self, max: usize) -> Self {
        self.max_spare_threads = max;
        self
    }

    /// Records how long detached jobs wait (from submission to start) and run (from start to
    /// end), summarised in [`PoolStats::wait_time`](crate::PoolStats::wait_time) and
    /// [`PoolStats::run_time`](crate::PoolStats::run_time) (count, mean, p50, p90, p99, max).
    ///
    /// Off by default, and then free (one branch per job). On, it costs three clock reads
    /// per job (one at submission, two on the thread that runs it) and a histogram update
    /// on that thread's own counters: no lock, no shared cache line.
    ///
    /// ```
    /// let pool = weft::ThreadPool::builder().num_threads(2).record_timing(true).build().unwrap();
    /// let handles: Vec<_> = (0..100).map(|i| pool.spawn(move || i * 2)).collect();
    /// for handle in handles {
    ///     handle.join().unwrap();
    /// }
    /// let run = pool.stats().run_time.unwrap();
    /// assert_eq!(run.count, 100);
    /// assert!(run.p50 <= run.p99 && run.p99 <= run.max);
    /// assert!(weft::ThreadPool::new(1).unwrap().stats().run_time.is_none());
    /// ```
    pub fn record_timing(mut self, on: bool) -> Self {
        self.record_timing = on;
        self
    }

    /// Runs `start(index)` on each worker thread `index` before its first job: set up a
    /// thread-local, a scratch buffer, a per-thread allocator or profiler. Inside,
    /// [`current_thread_index`](crate::current_thread_index) is `Some(index)`. Worker
    /// threads start in parallel, so calls for different workers may overlap.
    ///
    /// [`build`](Self::build) returns once every call returned, so a `start` that never
    /// returns keeps `build` waiting.
    ///
    /// Spare threads (see [`max_spare_threads`](Self::max_spare_threads)) run it too, with
    /// their own index (`num_threads` and up), when they start: a thread never runs a job
    /// before its `start`. The build has returned by then, so a panic in a spare's `start`
    /// is reported through `tracing` (an error event), and the spare runs jobs anyway.
    ///
    /// # Errors
    ///
    /// A panic in `start` makes [`build`](Self::build) fail with
    /// [`BuildError::ThreadStart`] naming the worker and the panic message; every worker
    /// thread is stopped and joined first, so none is left running.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&started);
    /// let pool = weft::ThreadPool::builder()
    ///     .num_threads(2)
    ///     .on_thread_start(move |_index| {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(started.load(Ordering::SeqCst), 2); // all ran before `build` returned
    ///
    /// let refused = weft::ThreadPool::builder()
    ///     .num_threads(2)
    ///     .on_thread_start(|index| if index == 1 { panic!("no GPU for worker 1") })
    ///     .build();
    /// assert!(matches!(refused, Err(weft::BuildError::ThreadStart { index: 1, .. })));
    /// ```
    pub fn on_thread_start(mut self, start: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(start));
        self
    }

    /// Runs `stop(index)` on each worker thread `index` after its last job, when the pool
    /// shuts down (and when a failed [`build`](Self::build) stops the workers whose
    /// `on_thread_start` returned). A worker whose start failed does not run it. Spare
    /// threads run it too, with their own index, when they end (at the pool's shutdown).
    ///
    /// # Panics
    ///
    /// A panic in `stop` is caught: it is reported through `tracing` (an error event naming
    /// the worker and the message), the other workers still stop, and the shutdown returns
    /// normally.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&stopped);
    /// let pool = weft::ThreadPool::builder()
    ///     .num_threads(2)
    ///     .on_thread_stop(move |_index| {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// pool.shutdown();
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// ```
    pub fn on_thread_stop(mut self, stop: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Arc::new(stop));
        self
    }

    /// With `true`, worker `i` runs only on the `i`-th CPU (wrapping around) of the CPUs
    /// this process may run on: the affinity mask of the thread that calls
    /// [`build`](Self::build), which it inherits from the process (what `taskset`, `numactl`
    /// or a container's cpuset allow), not every CPU of the machine. A pool of more threads
    /// than allowed CPUs puts several workers on one CPU. [`PoolStats`] shows each worker's
    /// CPU in [`WorkerStats::cpu`]. A worker pins itself before `on_thread_start` runs.
    /// Spare threads are pinned by the same rule, by their index (`num_threads` and up); if
    /// the OS refuses one, that is reported through `tracing` and the spare runs unpinned.
    /// Default: `false`.
    ///
    /// Pinning a pool built on a thread that was itself pinned to one CPU puts every worker
    /// on that CPU: build pinned pools from a thread with the process's full mask.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails with [`BuildError::Affinity`] if the operating system
    /// refuses to say which CPUs the process may use or to pin a worker (on every platform
    /// but Linux, where weft cannot pin, with [`std::io::ErrorKind::Unsupported`]); no
    /// worker is left running.
    ///
    /// [`PoolStats`]: crate::PoolStats
    /// [`WorkerStats::cpu`]: crate::WorkerStats::cpu
    pub fn pin_threads(mut self, pin: bool) -> Self {
        self.pin_threads = pin;
        self
    }

    /// Starts the pool's threads, and waits until each has pinned itself (with
    /// [`pin_threads`](Self::pin_threads)) and run
    /// [`on_thread_start`](Self::on_thread_start).
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroThreads`], [`BuildError::TooManyThreads`],
    /// [`BuildError::ZeroMaxQueued`] and [`BuildError::StackTooSmall`] for settings that
    /// cannot work; [`BuildError::BadEnvironment`] when the size comes from a
    /// `WEFT_NUM_THREADS` that is not a positive number; [`BuildError::ThreadName`] for a
    /// thread name with a NUL byte; [`BuildError::Spawn`] when the operating system refuses
    /// a thread; [`BuildError::ThreadStart`] when `on_thread_start` panics;
    /// [`BuildError::Affinity`] when pinning fails. After a failure no worker thread is left
    /// running: the ones already started are stopped and joined first.
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        ThreadPool::from_builder(self)
    }

    /// Builds the pool and makes it the global pool, the one behind [`crate::join`] (and
    /// the other free functions) on threads outside any pool.
    ///
    /// Call it early, before anything uses the global pool: the global pool is built once,
    /// on first use, and never replaced.
    ///
    /// # Errors
    ///
    /// [`BuildError::GlobalExists`] if the global pool was already built (by an earlier
    /// `build_global` or by a first use); the errors of [`build`](Self::build) otherwise.
    ///
    /// ```
    /// weft::ThreadPoolBuilder::new().num_threads(2).build_global().unwrap();
    /// assert_eq!(weft::current_num_threads(), 2);
    /// let again = weft::ThreadPoolBuilder::new().num_threads(3).build_global();
    /// assert!(matches!(again, Err(weft::BuildError::GlobalExists)));
    /// ```
    pub fn build_global(self) -> Result<(), BuildError> {
        crate::global::set_global(self)
    }

    /// Checks the settings and resolves the defaults, for the engine to start the threads.
    pub(crate) fn into_config(self) -> Result<Config, BuildError> {
        let num_threads = self.resolved_num_threads()?;
        if self.max_queued == Some(0) {
            return Err(BuildError::ZeroMaxQueued);
        }
        if let Some(requested) = self.stack_size.filter(|&size| size < MIN_STACK_SIZE) {
            return Err(BuildError::StackTooSmall {
                requested,
                min: MIN_STACK_SIZE,
            });
        }
        let cpus = if self.pin_threads {
            Some(pinned_cpus()?)
        } else {
            None
        };
        Ok(Config {
            num_threads,
            thread_name: self.thread_name,
            stack_size: self.stack_size,
            max_queued: self.max_queued,
            max_spare_threads: self.max_spare_threads,
            record_timing: self.record_timing,
            on_thread_start: self.on_thread_start,
            on_thread_stop: self.on_thread_stop,
            cpus,
        })
    }

    fn resolved_num_threads(&self) -> Result<usize, BuildError> {
        let n = match self.num_threads {
            Some(0) => return Err(BuildError::ZeroThreads),
            Some(n) => n,
            None => default_num_threads()?,
        };
        if n > MAX_THREADS {
            return Err(BuildError::TooManyThreads {
                requested: n,
                max: MAX_THREADS,
            });
        }
        Ok(n)
    }
}

/// The CPUs pinned threads go on, in order (thread `i` on the `i`-th, wrapping): those the
/// calling thread may run on.
fn pinned_cpus() -> Result<Box<[usize]>, BuildError> {
    let refused = |source| {
        BuildError::Affinity(AffinityError {
            index: None,
            cpu: None,
            source,
        })
    };
    let allowed = affinity::allowed_cpus().map_err(refused)?;
    if allowed.is_empty() {
        return Err(refused(std::io::Error::other(
            "the affinity mask of this thread is empty",
        )));
    }
    Ok(allowed.into_boxed_slice())
}

/// The smallest stack a worker thread may have, in bytes (64 KiB):
/// [`ThreadPoolBuilder::stack_size`] below it is [`BuildError::StackTooSmall`]. A job that
/// panics while `RUST_BACKTRACE` is set prints its backtrace on the worker's stack, which
/// took more than 24 and at most 32 KiB (x86_64 Linux, Rust 1.95, debug and release
/// builds); the minimum leaves twice that, for the job's own frames.
pub const MIN_STACK_SIZE: usize = 64 << 10;

/// The environment variable that sets the default pool size: the size of a pool built
/// without [`ThreadPoolBuilder::num_threads`], and of the global pool.
pub const NUM_THREADS_ENV: &str = "WEFT_NUM_THREADS";

/// The most worker threads a pool may have; [`ThreadPoolBuilder::build`] refuses more with
/// [`BuildError::TooManyThreads`].
pub const MAX_THREADS: usize = 1024;

/// The default pool size: `WEFT_NUM_THREADS` when set, else one thread per logical CPU.
pub(crate) fn default_num_threads() -> Result<usize, BuildError> {
    let Some(value) = std::env::var_os(NUM_THREADS_ENV) else {
        return Ok(num_cpus::get().max(1));
    };
    match value
        .to_str()
        .and_then(|text| text.trim().parse::<usize>().ok())
    {
        Some(n) if n > 0 => Ok(n),
        _ => Err(BuildError::BadEnvironment {
            variable: NUM_THREADS_ENV,
            value: value.to_string_lossy().into_owned(),
        }),
    }
}
