//! The lazily built global pool and the free functions: [`join`], and the ones that ask
//! "where am I?".

use std::sync::OnceLock;

use crate::builder::{self, ThreadPoolBuilder};
use crate::engine::worker::WorkerThread;
use crate::error::BuildError;
use crate::fork::join::join_on_worker;
use crate::pool::ThreadPool;

static GLOBAL: OnceLock<ThreadPool> = OnceLock::new();

/// The global pool behind [`join`](crate::join) outside any pool: built on first use (with
/// `WEFT_NUM_THREADS` threads, or one per logical CPU) unless
/// [`ThreadPoolBuilder::build_global`] built it first; never shut down.
///
/// # Panics
///
/// If its threads cannot be started.
pub(crate) fn global_pool() -> &'static ThreadPool {
    GLOBAL.get_or_init(|| {
        global_builder(ThreadPoolBuilder::new())
            .build()
            .unwrap_or_else(|error| panic!("weft: cannot start the global pool: {error}"))
    })
}

/// The global pool's settings on top of the user's: its threads' default names.
fn global_builder(builder: ThreadPoolBuilder) -> ThreadPoolBuilder {
    if builder.thread_name.is_some() {
        builder
    } else {
        builder.thread_name(|index| format!("weft-global-{index}"))
    }
}

/// [`ThreadPoolBuilder::build_global`]: builds the pool and installs it as the global one.
pub(crate) fn set_global(builder: ThreadPoolBuilder) -> Result<(), BuildError> {
    if GLOBAL.get().is_some() {
        return Err(BuildError::GlobalExists);
    }
    let pool = global_builder(builder).build()?;
    // Two racing `build_global`s: the loser's pool is shut down again.
    GLOBAL.set(pool).map_err(|_| BuildError::GlobalExists)
}

/// Runs `a` and `b`, potentially in parallel, and returns both results.
///
/// On a worker thread, `b` lives in this stack frame (no allocation) while `a` runs here;
/// if nobody took `b`, it runs here next. `b` is kept *latent* (on a per-thread list no
/// other thread reads, no atomic operation) unless another worker thread could take it: it
/// is offered to them on this worker's deque when this is the thread's outermost `join`,
/// while another worker thread is idle (spinning or asleep), and while one waits for a
/// thief. A worker thread waiting for a stolen `b` runs other jobs meanwhile. Outside any
/// pool, the call runs on the global pool (built on first use with `WEFT_NUM_THREADS`
/// threads, or one per logical CPU; see
/// [`ThreadPoolBuilder::build_global`](crate::ThreadPoolBuilder::build_global)).
///
/// Both closures always run.
///
/// # Panics
///
/// A panic of either closure is re-raised after both ended (`a`'s if both panicked; `b`'s
/// is then dropped). If the global pool is needed and cannot be started, `join` panics with
/// the reason (a bad `WEFT_NUM_THREADS`, or threads the operating system refused).
///
/// # Waiting
///
/// `a` must not wait for something only `b` does: "potentially in parallel" means that on
/// a busy (or one-thread) pool `b` runs after `a` returned, on the same thread. With latent
/// forks a nested `join` made while every other thread is busy, or while this thread has
/// other work on offer to an idle one, keeps `b` latent, and if its `a` then blocks (on a
/// channel, a lock), `b` waits for `a` even if a thread goes idle meanwhile.
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 { return n; }
///     let (a, b) = weft::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// assert_eq!(fib(20), 6765);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    match WorkerThread::current() {
        Some(worker) => join_on_worker(worker, a, b),
        None => global_pool().install(|| join(a, b)),
    }
}

/// The index of the current thread in its pool (`0..num_threads`), or `None` when it is not
/// a worker thread.
///
/// ```
/// assert_eq!(weft::current_thread_index(), None);
/// let pool = weft::ThreadPool::new(3).unwrap();
/// assert!(pool.install(weft::current_thread_index).unwrap() < 3);
/// ```
pub fn current_thread_index() -> Option<usize> {
    WorkerThread::current().map(WorkerThread::index)
}

/// The number of threads of the current thread's pool; outside a pool, of the global pool
/// (built or not: `WEFT_NUM_THREADS`, or one per logical CPU).
pub fn current_num_threads() -> usize {
    match WorkerThread::current() {
        Some(worker) => worker.registry().num_threads(),
        None => GLOBAL.get().map_or_else(
            || builder::default_num_threads().unwrap_or_else(|_| num_cpus::get().max(1)),
            ThreadPool::num_threads,
        ),
    }
}

/// Inside a job: `true` once its handle asked it to stop ([`JobHandle::cancel`] on a running
/// job). Halves of a [`join`](crate::join) see their job's flag. Elsewhere `false`.
///
/// ```
/// let pool = weft::ThreadPool::new(1).unwrap();
/// let (started_tx, started_rx) = std::sync::mpsc::channel();
/// let handle = pool.spawn(move || {
///     started_tx.send(()).unwrap();
///     let mut rounds = 0u64;
///     while !weft::is_cancelled() {
///         rounds += 1;
///         std::hint::spin_loop();
///     }
///     rounds
/// });
/// started_rx.recv().unwrap();
/// assert!(!handle.cancel()); // it is running: asked to stop, it returns normally
/// assert!(handle.join().is_ok());
/// assert!(!weft::is_cancelled()); // not in a job
/// ```
///
/// [`JobHandle::cancel`]: crate::JobHandle::cancel
pub fn is_cancelled() -> bool {
    let Some(worker) = WorkerThread::current() else {
        return false;
    };
    // SAFETY: the tree is the one of the work running on this thread now, so its job's
    // allocation is alive.
    unsafe { worker.current_tree().is_cancel_requested() }
}
