//! # weft-core: the weft thread pool
//!
//! A fixed-size work-stealing pool for CPU-bound jobs, with a result channel for every job.
//!
//! - [`ThreadPool::spawn`] runs a `'static` closure and returns a [`JobHandle`]: `join` it,
//!   `join_timeout` it, `cancel` it, or `.await` it. One heap allocation per job holds the
//!   closure, its state and its result slot.
//! - [`ThreadPool::scope`], [`ThreadPool::map`], [`ThreadPool::join`] and [`join`] run
//!   closures that borrow from the caller; `join` allocates nothing per fork.
//! - [`ThreadPool::install`] and [`ThreadPool::broadcast`] run closures on the workers.
//! - [`ThreadPool::spawn_worker`] runs a Node-style worker job with a two-way message port
//!   ([`WorkerHandle`] on the main side, [`WorkerContext`] in the job).
//! - [`ThreadPool::stats`] counts every job: completed, panicked, cancelled, queued, running.
//!
//! ```
//! use weft::ThreadPool;
//!
//! let pool = ThreadPool::new(2).unwrap();
//! let handle = pool.spawn(|| (1..=10u64).product::<u64>());
//! assert_eq!(handle.join().unwrap(), 3_628_800);
//!
//! let (a, b) = pool.join(|| (0..1000u64).sum::<u64>(), || (1000..2000u64).sum::<u64>());
//! assert_eq!(a + b, (0..2000u64).sum());
//! ```
//!
//! # Words
//!
//! - A **worker thread** (or just *worker*) is one of a pool's threads.
//! - A **worker job** is a Node-style job with a message port, started by
//!   [`ThreadPool::spawn_worker`]; it runs on one worker thread for its whole life.
//! - A **detached job** is one with a handle of its own ([`ThreadPool::spawn`],
//!   [`ThreadPool::try_spawn`], [`ThreadPool::execute`], `spawn_worker`): counted in
//!   [`PoolStats`] and in `max_queued`. **Structured work** (`join` halves, `scope`, `map`,
//!   `broadcast`, `install`) is waited for by its caller and is counted in neither.
//!
//! # How a job travels: the code map
//!
//! One `pool.spawn(f)` from outside the pool, to `handle.join()`, file by file (the rooms
//! under `src/` are in this order: `pool`, `job/`, `engine/`, `handle`):
//!
//! 1. `pool.rs::ThreadPool::spawn` takes a queue place when `max_queued` is set
//!    (`ThreadPool::wait_for_queue_place`, `engine/backpressure.rs::Backpressure::try_acquire`).
//! 2. `pool.rs::ThreadPool::spawn_counted` calls `job/heap.rs::HeapJob::allocate_with`: ONE
//!    heap allocation holding the job's header (its state word), its waiter cell, and one
//!    slot for the closure and then the outcome; the queue entry (`job/heap.rs::DetachedRef`,
//!    one word, from `HeapJob::detached_ref`) and the handle (`handle.rs::RawHandle`) are its
//!    two holders. A job with a queue timeout also gets a
//!    timer entry here (`job/heap.rs::Header::arm_queue_timer`, `engine/timer.rs::Timer::insert`).
//! 3. `engine/registry.rs::Registry::submit` counts the job as submitted and queues it in
//!    its lane: a `Normal` job on the submitting worker's own detached deque
//!    (`engine/worker.rs::WorkerThread::push_detached`) or, from outside, on the `Normal`
//!    injector; `High` and `Low` jobs on their lane's injector.
//! 4. `engine/sleep.rs::Sleep::new_work` wakes a sleeping worker thread only if one sleeps (a
//!    fence and a load otherwise: no syscall per job).
//! 5. `engine/worker.rs::main_loop` asks `WorkerThread::find_work`: its own structured
//!    deque first, then `find_queued`: structured work of others, then detached jobs by lane
//!    (`High`, then `Normal` from the own deque, another thread's deque or an injector
//!    batch, then `Low`); a detached job's entry becomes a `job/mod.rs::JobRef` as it leaves
//!    its queue (`job/heap.rs::DetachedRef::job_ref`).
//! 6. `engine/worker.rs::WorkerThread::execute` calls `job/mod.rs::JobRef::execute`, which
//!    lands in `job/heap.rs::HeapJob::execute`.
//! 7. `job/heap.rs::Header::claim_or_wait` claims the job with one RMW (or finds that its
//!    handle ran or cancelled it, or the timer expired it, and only lets go); then
//!    `HeapJob::run` gives the queue place back (`JobKind::left_queue`), runs the closure
//!    under `catch_unwind` and counts it on the worker's own counters
//!    (`stats.rs::WorkerCounters::count`).
//! 8. `job/heap.rs::publish` writes the outcome with release ordering in the same RMW that
//!    lets go of the queue entry's hold, and wakes a waiter registered in the job (under
//!    `catch_unwind`: a waker is user code).
//! 9. `handle.rs::JobHandle::join` calls `RawHandle::wait`: on a worker thread of the same
//!    pool, a job still queued is claimed and run right there (`Header::try_claim`,
//!    `Header::run_claimed_inline`); otherwise `RawHandle::block` backs off, registers the
//!    thread (`Header::register`) and parks, and on a worker thread a spare stands in after a
//!    grace period (`engine/worker.rs::Stall`, `engine/registry.rs::Registry::blocked`).
//! 10. `handle.rs::RawHandle::take_outcome` moves the value out (`JobCore::take_value`, through the job's vtable).
//! 11. Dropping the handle lets go of its hold (`job/heap.rs::Header::release_handle`);
//!     whoever lets go last frees the allocation (`HeapJob::free`).
//!
//! Structured work takes a shorter way: `fork/join.rs::join_on_worker` forks its second
//! half as a `job/stack.rs::StackJob` living in its own frame (no allocation), kept latent
//! on the thread (`engine/worker.rs::WorkerThread::fork`: no atomic operation) until another
//! thread could use it, takes it back with `WorkerThread::take_latent` if nobody did, and
//! otherwise waits on an `engine/latch.rs::WakeLatch`.
//!
//! # Nothing is lost
//!
//! Every submitted job ends completed, panicked or cancelled, every handle resolves, and
//! [`PoolStats`] adds up. A panic reaches the handle ([`JobError::Panicked`]), the worker
//! thread survives, and `tracing` records it at error level. No user code (a closure, a
//! `Drop`, a waker) runs on a worker thread outside a `catch_unwind`.
//!
//! # Waiting inside jobs
//!
//! Blocking inside a job on another job's result never deadlocks the pool, overflows a
//! stack or misses a deadline, unless the jobs wait on each other in a cycle:
//!
//! - A job that joins a handle of a job of its own pool that has not started runs that job
//!   right there: it is the one job the waiter needs.
//! - Otherwise the waiting thread blocks, and the pool lets a spare thread stand in for it
//!   (at most [`ThreadPoolBuilder::max_spare_threads`]), so `num_threads` threads keep
//!   running the pool's other jobs; the spare parks again once the waiter resumes. Running
//!   other queued jobs on top of the waiting one instead (helping blindly) can bury the very
//!   job another one waits for, and nests without bound.
//! - Fork-join waits (`join`'s stolen half, the end of a `scope`, `map`, `broadcast`) keep
//!   the thread busy with queued work of the same job only (its own forks, and work taken
//!   from threads running the same job), at most 128 deep: everything of that job is waited
//!   for by that job, so it cannot bury what the waiter needs. A broadcast call for the
//!   waiting thread runs too.
//!
//! # Memory ordering and `unsafe`
//!
//! Every atomic operation carries an `// ORDERING:` comment and every `unsafe` block a
//! `// SAFETY:` comment. Synchronisation primitives come from one shim (`sync.rs`) so the
//! sleep protocol and the job state machine also run under the loom model checker
//! (`--cfg weft_loom`).

#![deny(unsafe_op_in_unsafe_fn)]

// The rooms, in the order a job travels (see the code map above).
mod builder;
mod engine;
mod error;
mod fork;
mod global;
mod handle;
mod job;
#[cfg(all(test, weft_loom))]
mod loom_tests;
mod node_worker;
mod pool;
mod stats;
mod sync;
mod timing;
mod worker_local;

pub use builder::{MAX_THREADS, MIN_STACK_SIZE, NUM_THREADS_ENV, ThreadPoolBuilder};
pub use error::{AffinityError, BuildError, JobError, SpawnError};
pub use fork::scope::{Scope, ScopedJobHandle};
pub use global::{current_num_threads, current_thread_index, is_cancelled, join};
pub use handle::JobHandle;
pub use job::options::{JobBuilder, Priority};
pub use node_worker::{WorkerContext, WorkerHandle};
pub use pool::ThreadPool;
pub use stats::{PoolStats, Timing, WorkerStats};
pub use worker_local::WorkerLocal;
