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
//! # How a job travels
//!
//! From a worker thread a job goes onto that worker's own deque (crossbeam-deque); from
//! outside it goes onto the pool's shared queue. A worker looks in its own deque, then takes
//! a batch from the shared queue, then steals from the others in random order, then spins a
//! little, then sleeps. It runs the job under `catch_unwind`, publishes the outcome (value,
//! panic, cancelled) into the job's result slot with release ordering, and wakes a waiting
//! `join`, `recv` or `.await`. Waking costs only when a worker actually sleeps: the submit
//! path checks a counter, it makes no syscall per job.
//!
//! # Nothing is lost
//!
//! Every submitted job ends completed, panicked or cancelled, every handle resolves, and
//! [`PoolStats`] adds up. A panic reaches the handle ([`JobError::Panicked`]), the worker
//! survives, and `tracing` records it at error level. A job that waits on another job's
//! result on a worker runs other jobs while it waits, so it never deadlocks the pool.
//!
//! # Memory ordering and `unsafe`
//!
//! Every atomic operation carries an `// ORDERING:` comment and every `unsafe` block a
//! `// SAFETY:` comment. Synchronisation primitives come from one shim (`sync.rs`) so the
//! sleep protocol and the job state machine also run under the loom model checker
//! (`--cfg weft_loom`).

#![deny(unsafe_op_in_unsafe_fn)]

mod broadcast;
mod builder;
mod error;
mod global;
mod handle;
mod heap_job;
mod job;
mod join;
mod latch;
#[cfg(all(test, weft_loom))]
mod loom_tests;
mod map;
mod pool;
mod registry;
mod scope;
mod sleep;
mod stats;
mod sync;
mod worker_job;

pub use builder::{MAX_THREADS, NUM_THREADS_ENV, ThreadPoolBuilder};
pub use error::{BuildError, JobError, SpawnError};
pub use global::{current_num_threads, current_thread_index, is_cancelled};
pub use handle::JobHandle;
pub use join::join;
pub use pool::ThreadPool;
pub use scope::{Scope, ScopedJobHandle};
pub use stats::{PoolStats, WorkerStats};
pub use worker_job::{WorkerContext, WorkerHandle};
