//! [`ThreadPoolBuilder`]: how many threads, their names and stacks, and backpressure.

use std::fmt;

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
            .finish()
    }
}

impl ThreadPoolBuilder {
    /// A builder with the defaults: one thread per logical CPU (`num_cpus::get()`), threads
    /// named `weft-worker-{index}`, the platform's default stack size, unbounded queue.
    pub fn new() -> Self {
        ThreadPoolBuilder {
            num_threads: None,
            thread_name: None,
            stack_size: None,
            max_queued: None,
        }
    }

    /// The number of worker threads. `0` makes [`build`](Self::build) fail with
    /// [`BuildError::ZeroThreads`].
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

    /// Starts the pool's threads.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroThreads`] and [`BuildError::ZeroMaxQueued`] for settings that
    /// cannot work; [`BuildError::Spawn`] when the operating system refuses a thread (the
    /// threads already started are stopped first).
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        ThreadPool::from_builder(self)
    }

    pub(crate) fn resolved_num_threads(&self) -> Result<usize, BuildError> {
        match self.num_threads {
            Some(0) => Err(BuildError::ZeroThreads),
            Some(n) => Ok(n),
            None => Ok(num_cpus::get().max(1)),
        }
    }
}
