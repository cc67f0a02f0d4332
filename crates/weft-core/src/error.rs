//! The pool's error types: one per operation that can fail.

use std::any::Any;
use std::fmt;

use crate::job::Panic;

/// Why a job produced no value: it panicked, it was cancelled before it started, or one of
/// its timeouts passed.
///
/// New variants may be added: match with a wildcard arm.
///
/// ```
/// let pool = weft::ThreadPool::new(1).unwrap();
/// let error = pool.spawn(|| -> u32 { panic!("boom") }).join().unwrap_err();
/// assert!(error.is_panic());
/// assert_eq!(error.panic_message(), Some("boom"));
/// assert_eq!(error.to_string(), "job panicked: boom");
/// ```
#[non_exhaustive]
pub enum JobError {
    /// The job panicked; the payload is what `panic!` was given.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The job was cancelled before it started, by its handle or by
    /// [`ThreadPool::shutdown_now`](crate::ThreadPool::shutdown_now); it never ran.
    Cancelled,
    /// One of the job's timeouts passed: it was not started within its queue timeout (it
    /// never ran), or it ran longer than its run timeout (whatever it returns later is
    /// dropped).
    TimedOut,
}

impl JobError {
    /// `true` if the job panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JobError::Panicked(_))
    }

    /// `true` if the job was cancelled before it started.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JobError::Cancelled)
    }

    /// `true` if one of the job's timeouts passed.
    pub fn is_timed_out(&self) -> bool {
        matches!(self, JobError::TimedOut)
    }

    /// The panic message, when the payload is a `&str` or a `String` (as `panic!` makes).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JobError::Panicked(payload) => panic_message(payload),
            JobError::Cancelled | JobError::TimedOut => None,
        }
    }

    /// The panic payload, for [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the job did not panic (it was cancelled or timed out).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JobError::Panicked(payload) => payload,
            JobError::Cancelled => {
                panic!("called `JobError::into_panic()` on a cancelled job (`JobError::Cancelled`)")
            }
            JobError::TimedOut => {
                panic!("called `JobError::into_panic()` on a timed-out job (`JobError::TimedOut`)")
            }
        }
    }
}

/// The message of a panic payload made by `panic!`.
pub(crate) fn panic_message(payload: &Panic) -> Option<&str> {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        Some(message)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Panicked(payload) => match panic_message(payload) {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f.write_str("Panicked(Box<dyn Any>)"),
            },
            JobError::Cancelled => f.write_str("Cancelled"),
            JobError::TimedOut => f.write_str("TimedOut"),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Panicked(payload) => match panic_message(payload) {
                Some(message) => write!(f, "job panicked: {message}"),
                None => f.write_str("job panicked"),
            },
            JobError::Cancelled => f.write_str("job was cancelled before it started"),
            JobError::TimedOut => f.write_str("job timed out"),
        }
    }
}

impl std::error::Error for JobError {}

/// A job [`ThreadPool::try_spawn`](crate::ThreadPool::try_spawn) did not queue; the closure
/// comes back untouched.
///
/// ```
/// let pool = weft::ThreadPool::builder().num_threads(1).max_queued(1).build().unwrap();
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let busy = pool.spawn(move || rx.recv().unwrap()); // occupies the only worker
/// # while pool.stats().running == 0 { std::thread::yield_now(); }
/// let queued = pool.spawn(|| 1);                      // fills the one queue place
/// let refused = pool.try_spawn(|| 2).unwrap_err();
/// assert_eq!((refused.into_inner())(), 2);            // the closure is handed back
/// tx.send(()).unwrap();
/// busy.join().unwrap();
/// assert_eq!(queued.join().unwrap(), 1);
/// ```
#[non_exhaustive]
pub enum SpawnError<F> {
    /// `max_queued` jobs are already waiting.
    Full(F),
}

impl<F> SpawnError<F> {
    /// The closure that was not queued.
    pub fn into_inner(self) -> F {
        match self {
            SpawnError::Full(func) => func,
        }
    }

    /// `true` if the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, SpawnError::Full(_))
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str("the pool's queue is full (max_queued reached)"),
        }
    }
}

impl<F> std::error::Error for SpawnError<F> {}

/// Why [`ThreadPoolBuilder::build`](crate::ThreadPoolBuilder::build) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `num_threads(0)`: a pool needs at least one thread.
    ZeroThreads,
    /// More threads than [`MAX_THREADS`](crate::MAX_THREADS).
    TooManyThreads {
        /// The number asked for.
        requested: usize,
        /// The most a pool may have.
        max: usize,
    },
    /// An environment variable that sets a default (`WEFT_NUM_THREADS`) does not hold a
    /// value weft can use.
    BadEnvironment {
        /// The variable's name.
        variable: &'static str,
        /// What it holds (lossily converted to UTF-8).
        value: String,
    },
    /// [`ThreadPoolBuilder::build_global`](crate::ThreadPoolBuilder::build_global): the
    /// global pool already exists (built earlier, or on first use).
    GlobalExists,
    /// `max_queued(0)`: no job could ever wait, so every submission would block forever.
    ZeroMaxQueued,
    /// The operating system refused to start worker `index`; the workers already started
    /// were stopped and joined.
    Spawn {
        /// Which worker failed to start.
        index: usize,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// [`on_thread_start`](crate::ThreadPoolBuilder::on_thread_start) panicked on worker
    /// `index` (the lowest such index if several did); every worker was stopped and joined.
    ThreadStart {
        /// The worker whose start hook panicked.
        index: usize,
        /// The panic message (`"Box<dyn Any>"` if the payload was not a string).
        message: String,
    },
    /// [`pin_threads`](crate::ThreadPoolBuilder::pin_threads): the operating system refused
    /// to pin a worker, or to say which CPUs this process may use; no worker was left
    /// running.
    Affinity(AffinityError),
    /// [`stack_size`](crate::ThreadPoolBuilder::stack_size) below
    /// [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE): too small for a job that panics (a panic
    /// with `RUST_BACKTRACE=1` resolves symbols on the worker's stack).
    StackTooSmall {
        /// The size asked for, in bytes.
        requested: usize,
        /// The smallest size a pool accepts.
        min: usize,
    },
    /// The [`thread_name`](crate::ThreadPoolBuilder::thread_name) of worker `index` contains
    /// a NUL byte, which no operating system accepts in a thread name; the workers already
    /// started were stopped and joined.
    ThreadName {
        /// The worker whose name was refused.
        index: usize,
        /// The name.
        name: String,
    },
}

/// Why [`pin_threads`](crate::ThreadPoolBuilder::pin_threads) failed: the payload of
/// [`BuildError::Affinity`].
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// let pool = weft::ThreadPool::builder().num_threads(2).pin_threads(true).build().unwrap();
/// assert!(pool.stats().workers.iter().all(|worker| worker.cpu.is_some()));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct AffinityError {
    /// The worker that could not be pinned; `None` when the CPUs this process may use could
    /// not be read (before any worker started).
    pub index: Option<usize>,
    /// The CPU that worker was to run on; `None` as for `index`.
    pub cpu: Option<usize>,
    /// The operating system's error ([`std::io::ErrorKind::Unsupported`] where weft cannot
    /// pin threads: every platform but Linux).
    pub source: std::io::Error,
}

impl fmt::Display for AffinityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, self.cpu) {
            (Some(index), Some(cpu)) => write!(
                f,
                "cannot pin worker thread {index} to CPU {cpu}: {}",
                self.source
            ),
            (Some(index), None) => {
                write!(f, "cannot pin worker thread {index}: {}", self.source)
            }
            (None, _) => write!(
                f,
                "cannot read the CPUs this process may run on: {}",
                self.source
            ),
        }
    }
}

impl std::error::Error for AffinityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroThreads => f.write_str("a thread pool needs at least one thread"),
            BuildError::TooManyThreads { requested, max } => write!(
                f,
                "a thread pool may have at most {max} threads ({requested} were asked for)"
            ),
            BuildError::BadEnvironment { variable, value } => write!(
                f,
                "the environment variable {variable} must be a positive whole number, not {value:?}"
            ),
            BuildError::GlobalExists => f.write_str(
                "the global thread pool already exists (build_global must come before its first use)",
            ),
            BuildError::ZeroMaxQueued => {
                f.write_str("max_queued must be at least 1 (0 would block every submission)")
            }
            BuildError::Spawn { index, source } => {
                write!(f, "failed to start worker thread {index}: {source}")
            }
            BuildError::ThreadStart { index, message } => {
                write!(f, "on_thread_start panicked on worker thread {index}: {message}")
            }
            BuildError::Affinity(error) => fmt::Display::fmt(error, f),
            BuildError::StackTooSmall { requested, min } => write!(
                f,
                "a worker thread's stack must be at least {min} bytes ({requested} were asked for)"
            ),
            BuildError::ThreadName { index, name } => write!(
                f,
                "the name of worker thread {index} contains a NUL byte: {name:?}"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn { source, .. } => Some(source),
            BuildError::Affinity(error) => Some(error),
            _ => None,
        }
    }
}
