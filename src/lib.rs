//! # weft
//!
//! Node.js worker threads, brought to Rust the way a systems programmer wants them:
//!
//! - a fixed-size work-stealing [`ThreadPool`] for CPU-bound jobs, with a result channel
//!   ([`JobHandle`]) for every job;
//! - two-way message ports for Node-style worker jobs ([`ThreadPool::spawn_worker`]) and
//!   standalone channels in [`channel`];
//! - shared memory with atomic typed views in [`shared`] (SharedArrayBuffer, typed arrays
//!   and Atomics, including `wait`/`notify`).
//!
//! Nothing is lost: every job ends completed, panicked or cancelled, and every handle
//! resolves. A panic in a job is data, not a crash: it comes back from
//! [`join`](JobHandle::join) as [`JobError::Panicked`], and the worker thread lives on.
//!
//! # Start here
//!
//! 1. Build a pool: [`ThreadPool::new`], or [`ThreadPool::builder`] for thread names, stack
//!    size and backpressure ([`ThreadPoolBuilder::max_queued`]).
//! 2. Run a job: [`ThreadPool::spawn`] returns a [`JobHandle`], the job's result channel:
//!    [`join`](JobHandle::join) it, [`join_timeout`](JobHandle::join_timeout) it,
//!    [`cancel`](JobHandle::cancel) it, or `.await` it. What can go wrong is a
//!    [`JobError`]; [`ThreadPool::try_spawn`] never blocks, [`ThreadPool::execute`] forgets
//!    the result.
//! 3. Split work that borrows from your stack: [`ThreadPool::join`] (fork-join),
//!    [`ThreadPool::map`] (results in input order), [`ThreadPool::scope`] (spawn any number
//!    of borrowing jobs), [`ThreadPool::broadcast`] (once on every worker thread). The free
//!    [`join`] does the same on the current pool, or on a global one.
//! 4. Talk to a job while it runs, as Node's `postMessage` does:
//!    [`ThreadPool::spawn_worker`], with a [`WorkerHandle`] on your side and a
//!    [`WorkerContext`] in the job.
//! 5. Share memory between jobs: a [`shared::SharedBuffer`] and typed views over it
//!    ([`shared::Int32View`] and friends), with JavaScript's `Atomics` operations.
//! 6. Channels of your own: [`channel::oneshot`] (one value) and [`channel::duplex`] (a
//!    pair of ports, Node's `MessageChannel`).
//! 7. See what happened: [`ThreadPool::stats`] gives [`PoolStats`]; every worker thread
//!    and job reports to `tracing`. Stop with [`ThreadPool::shutdown`] (runs what is
//!    queued) or [`ThreadPool::shutdown_now`] (cancels it); dropping the pool is `shutdown`.
//! 8. Outgrow one machine: with the `cluster` feature (off by default), `weft::cluster`
//!    runs the same batch jobs over many processes (`Cluster::from_args` and
//!    `cluster.map`, in place of a pool and `pool.map`).
//!
//! Two words: a *worker thread* is one of the pool's threads; a *worker job* is a
//! Node-style job with a message port, started by [`spawn_worker`](ThreadPool::spawn_worker).
//!
//! # A job and its result
//!
//! ```
//! use weft::ThreadPool;
//!
//! let pool = ThreadPool::new(2)?;
//!
//! let answer = pool.spawn(|| 6 * 7);
//! assert_eq!(answer.join()?, 42);
//!
//! // A panic is the job's result, not the end of the worker thread.
//! let error = pool.spawn(|| -> u32 { panic!("no input") }).join().unwrap_err();
//! assert_eq!(error.panic_message(), Some("no input"));
//! assert_eq!(pool.spawn(|| "still here").join()?, "still here");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Fork-join, map and scope
//!
//! The closures borrow from the caller's stack; nothing needs to be `'static`.
//!
//! ```
//! use weft::ThreadPool;
//!
//! let pool = ThreadPool::new(2)?;
//! let data: Vec<u64> = (1..=100_000).collect();
//!
//! let (left, right) = data.split_at(data.len() / 2);
//! let (a, b) = pool.join(|| left.iter().sum::<u64>(), || right.iter().sum::<u64>());
//! assert_eq!(a + b, 5_000_050_000);
//!
//! let squares = pool.map(&data, |x| x * x); // in input order
//! assert_eq!(&squares[..3], &[1, 4, 9]);
//!
//! let mut halves = [0u64; 2];
//! pool.scope(|s| {
//!     let (first, second) = halves.split_at_mut(1);
//!     s.spawn(move || first[0] = left.iter().max().copied().unwrap_or(0));
//!     s.spawn(move || second[0] = right.iter().max().copied().unwrap_or(0));
//! }); // every job of the scope has ended here
//! assert_eq!(halves, [50_000, 100_000]);
//! # Ok::<(), weft::BuildError>(())
//! ```
//!
//! # A worker job with messages
//!
//! Node's `new Worker(..)`, `worker.postMessage(..)` and `parentPort.on('message', ..)`:
//!
//! ```
//! use weft::{ThreadPool, WorkerContext};
//!
//! let pool = ThreadPool::new(2)?;
//! let squarer = pool.spawn_worker(|ctx: WorkerContext<u64, String>| {
//!     let mut handled = 0;
//!     while let Ok(n) = ctx.recv() {
//!         // ends when the main side stops sending
//!         ctx.send(format!("{n} squared is {}", n * n)).unwrap();
//!         handled += 1;
//!     }
//!     handled // the job's result
//! });
//! for n in [3, 4] {
//!     squarer.send(n)?;
//! }
//! assert_eq!(squarer.recv()?, "3 squared is 9");
//! assert_eq!(squarer.recv()?, "4 squared is 16");
//! assert_eq!(squarer.join()?, 2); // join ends the job's input first
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Shared memory
//!
//! `SharedArrayBuffer`, `Int32Array` and `Atomics`: clones of a buffer or a view share
//! the same memory, and every access is atomic.
//!
//! ```
//! use std::time::Duration;
//!
//! use weft::ThreadPool;
//! use weft::shared::{Int32View, SharedBuffer, WaitResult};
//!
//! let pool = ThreadPool::new(2)?;
//! let buffer = SharedBuffer::new(4 * 4); // new SharedArrayBuffer(16)
//! let counts = Int32View::new(&buffer)?; // new Int32Array(sab)
//! let jobs: Vec<_> = (0..4)
//!     .map(|i| {
//!         let counts = counts.clone(); // postMessage(sab): the same memory
//!         pool.spawn(move || {
//!             for _ in 0..1000 {
//!                 counts.add(i, 1); // Atomics.add(counts, i, 1)
//!             }
//!         })
//!     })
//!     .collect();
//! for job in jobs {
//!     job.join()?;
//! }
//! assert_eq!(counts.to_vec(), [1000; 4]);
//!
//! // Atomics.wait / Atomics.notify: a job stores 42 and wakes the waiting thread.
//! let ready = Int32View::new(&SharedBuffer::new(4))?;
//! let job = {
//!     let ready = ready.clone();
//!     pool.spawn(move || {
//!         ready.store(0, 42);
//!         ready.notify(0, 1)
//!     })
//! };
//! // `NotEqual` at once if the job stored first; `Ok` when its notify woke us.
//! let woke = ready.wait(0, 0, Some(Duration::from_secs(10)));
//! assert_ne!(woke, WaitResult::TimedOut);
//! assert_eq!(ready.load(0), 42);
//! job.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Examples to run
//!
//! The repository's `examples/` folder has whole programs; run one with
//! `cargo run --release --example NAME`:
//!
//! - `sum`: the sum of 0..1e9 split over the pool with `join`, against one thread;
//! - `sort`: a parallel merge sort of 10 million keys on `join`, against rayon;
//! - `messages`: Node's worker message round trip, then a long-lived worker job;
//! - `shared_memory`: `Atomics.wait`/`notify`, then a parallel histogram with atomic adds;
//! - `batch`: checksums of many buffers with `pool.map`, with live progress;
//! - `async_await`: awaiting job handles from async code, without a runtime;
//! - `tracing`: what the pool reports to a `tracing` subscriber;
//! - `cluster_sum`: the sum of 0..1e9 as a cluster job, over one or more processes
//!   (`--features cluster`).
//!
//! # The crates behind this one
//!
//! This crate re-exports three: the pool (`weft-core`) at the top level, the channels
//! (`weft-channel`) as [`channel`] and shared memory (`weft-shared`) as [`shared`]; with
//! the `cluster` feature also a fourth, `weft-cluster`, as `weft::cluster`. Depend on
//! `weft` alone and write `weft::...` paths, as every example here does.

#![forbid(unsafe_code)]

pub use weft_core::*;

#[doc(inline)]
pub use weft_channel as channel;
#[cfg(feature = "cluster")]
#[doc(inline)]
pub use weft_cluster as cluster;
#[doc(inline)]
pub use weft_shared as shared;
