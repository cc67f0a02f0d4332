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
//! This crate is a facade: the pool lives in `weft-core` (re-exported at the top level),
//! channels in `weft-channel` (as [`channel`]) and shared memory in `weft-shared`
//! (as [`shared`]). With the `cluster` feature (off by default), `weft-cluster` is
//! `weft::cluster`: the same batch jobs over many processes, on timely dataflow.

#![forbid(unsafe_code)]

pub use weft_core::*;

#[doc(inline)]
pub use weft_channel as channel;
#[cfg(feature = "cluster")]
#[doc(inline)]
pub use weft_cluster as cluster;
#[doc(inline)]
pub use weft_shared as shared;
