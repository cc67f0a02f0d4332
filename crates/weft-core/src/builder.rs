//! [`ThreadPoolBuilder`]: how many threads, their names and stacks, and backpressure.

use std::fmt;

use crate::engine::registry::{Config, DEFAULT_MAX_SPARE_THREADS};
use crate::error::BuildError;
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
            .finish()
    }
}

impl ThreadPoolBuilder {
    /// A builder with the defaults: one thread per logical CPU (`num_cpus::get()`), or
    /// as many as the `WEFT_NUM_THREADS` environment variable says when it is set (see
    /// [`NUM_THREADS_ENV`]); threads named `weft-worker-{index}`, the platform's default
    /// stack size, unbounded queue.
    pub fn new() -> Self {
        ThreadPoolBuilder {
            num_threads: None,
            thread_name: None,
            stack_size: None,
            max_queued: None,
            max_spare_threads: DEFAULT_MAX_SPARE_THREADS,
        }
    }

    /// The number of worker threads, overriding the default (and `WEFT_NUM_THREADS`). `0`
    /// makes [`build`](Self::build) fail with [`BuildError::ZeroThreads`], more than
    /// [`MAX_THREADS`] with [`BuildError::TooManyThreads`].
    pub fn num_threads(mut self, num_threads: usize) -> Self {
        self.num_threads = Some(num_threads);
        self
    }

    /// Names worker `index`'s thread.
    pub fn thread_name(mut self, name: impl FnMut(usize) -> String + 'static) -> Self {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// The stack size of each worker thread, in bytes.
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

    /// Starts the pool's threads.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroThreads`], [`BuildError::TooManyThreads`] and
    /// [`BuildError::ZeroMaxQueued`] for settings that cannot work;
    /// [`BuildError::BadEnvironment`] when the size comes from a `WEFT_NUM_THREADS` that is
    /// not a positive number; [`BuildError::Spawn`] when the operating system refuses a thread (the
    /// threads already started are stopped first).
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
        Ok(Config {
            num_threads,
            thread_name: self.thread_name,
            stack_size: self.stack_size,
            max_queued: self.max_queued,
            max_spare_threads: self.max_spare_threads,
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
