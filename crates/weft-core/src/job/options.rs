//! Options for one job: [`JobBuilder`] (from [`ThreadPool::job`]) and [`Priority`].

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::registry::Lane;
use crate::error::SpawnError;
use crate::handle::JobHandle;
use crate::job::heap::Extras;
use crate::node_worker::{WorkerContext, WorkerHandle};
use crate::pool::ThreadPool;

/// The priority lane of a detached job.
///
/// A worker thread that looks for a detached job takes any queued `High` job before any
/// `Normal` one, and any `Normal` before any `Low`, pool-wide, whether the jobs were submitted
/// from outside or from a worker thread. Priority is strict: a `Low` job waits while higher
/// lanes hold queued jobs, however long. Within a lane, jobs submitted from one thread outside
/// the pool start in submission order.
///
/// Structured work (the halves of a `join`, `scope`, `map`, `broadcast`, `install`) is in no
/// lane: a worker thread finishes the structured work it forked before it starts another
/// detached job, since someone waits for it.
///
/// `High > Normal > Low`; the default is `Normal`.
///
/// ```
/// use weft::Priority;
/// assert!(Priority::High > Priority::Normal && Priority::Normal > Priority::Low);
/// assert_eq!(Priority::default(), Priority::Normal);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Priority {
    /// Background work: runs only when no `Normal` or `High` job is queued.
    Low,
    /// The default lane.
    #[default]
    Normal,
    /// Urgent work: overtakes every queued `Normal` and `Low` job.
    High,
}

impl Priority {
    pub(crate) fn lane(self) -> Lane {
        match self {
            Priority::High => Lane::High,
            Priority::Normal => Lane::Normal,
            Priority::Low => Lane::Low,
        }
    }
}

/// Options for one detached job, then `spawn`, `try_spawn` or `spawn_worker`: std's
/// `thread::Builder`, for jobs. Made by [`ThreadPool::job`]; `pool.spawn(f)` is
/// `pool.job().spawn(f)`.
///
/// ```
/// use std::time::Duration;
/// use weft::{Priority, ThreadPool};
///
/// let pool = ThreadPool::new(2).unwrap();
/// let urgent = pool
///     .job()
///     .priority(Priority::High)
///     .name("urgent request")
///     .timeout(Duration::from_secs(5))
///     .spawn(|| 6 * 7);
/// assert_eq!(urgent.name(), Some("urgent request"));
/// assert_eq!(urgent.join().unwrap(), 42);
///
/// // A runaway job is stopped by its run timeout: its handle resolves at the deadline.
/// let runaway = pool.job().timeout(Duration::from_millis(20)).spawn(|| {
///     while !weft::is_cancelled() {
///         std::hint::spin_loop();
///     }
/// });
/// assert!(runaway.join().unwrap_err().is_timed_out());
/// ```
///
/// # Timeouts
///
/// - [`timeout`](Self::timeout) limits RUNNING time, counted from the moment a worker thread
///   starts the job; time spent queued does not count. When the job has run that long
///   without returning, its handle resolves at once with [`JobError::TimedOut`]: a blocked
///   `join`, `join_timeout` or `.await` wakes (a waiter that runs the job itself returns
///   when the job returns, with `TimedOut`). [`crate::is_cancelled`] turns true inside the
///   job, so a job that checks it can stop. Whatever it returns later is dropped, once; a
///   panic after the deadline is not counted as `panicked`.
/// - [`queue_timeout`](Self::queue_timeout) limits WAITING time, counted from the moment
///   the job is queued: a job not started by then never runs; its closure is dropped, its
///   handle gets [`JobError::TimedOut`], and its `max_queued` place is freed at that
///   moment.
///
/// Both are fired by a timer thread of the pool, so they do not need a free worker thread:
/// a busy or sleeping pool does not delay them. A pool with no timed jobs has no timer
/// thread, and an idle one spends no CPU on them. Timed-out jobs are counted in
/// [`PoolStats::timed_out`](crate::PoolStats::timed_out).
///
/// [`JobError::TimedOut`]: crate::JobError::TimedOut
#[must_use = "a JobBuilder does nothing until `spawn`, `try_spawn` or `spawn_worker`"]
pub struct JobBuilder<'pool> {
    pool: &'pool ThreadPool,
    priority: Priority,
    timeout: Option<Duration>,
    queue_timeout: Option<Duration>,
    name: Option<String>,
}

impl fmt::Debug for JobBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobBuilder")
            .field("priority", &self.priority)
            .field("timeout", &self.timeout)
            .field("queue_timeout", &self.queue_timeout)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a job's options come to when it is submitted.
pub(crate) struct JobOptions {
    pub(crate) lane: Lane,
    pub(crate) extras: Option<Box<Extras>>,
}

impl JobOptions {
    /// A plain `Normal` job.
    pub(crate) const PLAIN: JobOptions = JobOptions {
        lane: Lane::Normal,
        extras: None,
    };
}

impl<'pool> JobBuilder<'pool> {
    pub(crate) fn new(pool: &'pool ThreadPool) -> Self {
        JobBuilder {
            pool,
            priority: Priority::Normal,
            timeout: None,
            queue_timeout: None,
            name: None,
        }
    }

    /// The job's priority lane (default [`Priority::Normal`]).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// A limit on the job's RUNNING time, counted from the moment a worker thread starts
    /// it (see [Timeouts](Self#timeouts)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// A limit on the job's WAITING time, counted from the moment it is queued: not started
    /// by then, it never runs (see [Timeouts](Self#timeouts)).
    pub fn queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = Some(timeout);
        self
    }

    /// A name for the job: in its `tracing` span, in the `tracing` event that reports its
    /// panic, and on its handle ([`JobHandle::name`]). The panic payload stays the user's own.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The options as submitted now (the queue timeout's deadline counts from here).
    fn options(&mut self) -> JobOptions {
        let needs_extras =
            self.name.is_some() || self.timeout.is_some() || self.queue_timeout.is_some();
        JobOptions {
            lane: self.priority.lane(),
            extras: needs_extras.then(|| {
                let queue_deadline = self.queue_timeout.map(|timeout| {
                    let now = Instant::now();
                    now.checked_add(timeout)
                        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 100))
                });
                Box::new(Extras::new(
                    self.name.take().map(String::into_boxed_str),
                    self.timeout,
                    queue_deadline,
                ))
            }),
        }
    }

    /// Queues the job and returns its handle; blocks while `max_queued` jobs are waiting,
    /// like [`ThreadPool::spawn`].
    pub fn spawn<F, T>(mut self, func: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.pool.wait_for_queue_place();
        let options = self.options();
        self.pool.spawn_counted(func, options)
    }

    /// Like [`spawn`](Self::spawn), but never blocks.
    ///
    /// # Errors
    ///
    /// [`SpawnError::Full`] with the closure handed back when `max_queued` jobs are waiting.
    pub fn try_spawn<F, T>(mut self, func: F) -> Result<JobHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if !self.pool.try_take_queue_place() {
            return Err(SpawnError::Full(func));
        }
        let options = self.options();
        Ok(self.pool.spawn_counted(func, options))
    }

    /// Runs `func` as a Node-style worker job with these options; see
    /// [`ThreadPool::spawn_worker`].
    pub fn spawn_worker<F, In, Out, T>(self, func: F) -> WorkerHandle<In, Out, T>
    where
        F: FnOnce(WorkerContext<In, Out>) -> T + Send + 'static,
        In: Send + 'static,
        Out: Send + 'static,
        T: Send + 'static,
    {
        let (job, unstarted) = self.pool.prepare_worker(func);
        unstarted.started(self.spawn(job))
    }
}
