//! # weft-cluster
//!
//! weft's batch jobs over many processes and machines, on
//! [timely dataflow](https://docs.rs/timely). Moving from one machine to many is one line:
//!
//! ```text
//! let pool = ThreadPool::new(n)?;                         pool.map(items, f)
//! let cluster = Cluster::from_args(std::env::args())?;    cluster.map(items, f)?
//! ```
//!
//! Every process runs the same program (SPMD, as with MPI) and makes the same cluster
//! calls in the same order. In [`Cluster::map`] the leader (process 0) reads the items;
//! timely's exchange spreads them over the processes (item `i` to process
//! `i % processes`); each process runs its share on its own weft
//! [`ThreadPool`](weft_core::ThreadPool) ([`Cluster::pool`], `-w` threads); the results
//! come back to the leader in input order. The job function does not travel: every
//! process has it, because every process is the same binary making the same call. Only
//! items and results cross the network, as bincode.
//!
//! Start the processes with the `weft-cluster` launcher (`weft-cluster -n 3 -- PROGRAM
//! ARGS...`, on this machine, on free loopback ports) or by hand on several machines with
//! `-n -p -h` and a shared hostfile.
//!
//! ## Faults
//!
//! timely retries a connection forever and panics a thread on a broken socket; here every
//! fault is a [`ClusterError`] within a stated time, and nothing panics:
//!
//! - a peer that never comes up: [`ClusterError::Connect`] after the connect timeout
//!   (10 s by default);
//! - a process that dies mid-run: every survivor's `map` returns
//!   [`ClusterError::PeerLost`] as soon as its socket closes (a killed process on this
//!   machine: milliseconds); a machine or link that dies silently is found by TCP
//!   keepalive (2 s idle, then 3 probes 1 s apart) or, with data in flight, by
//!   `TCP_USER_TIMEOUT` (10 s, Linux);
//! - a panicking item: [`ClusterError::Panicked`] with the lowest such item and its
//!   message; every other item still ran and no process crashed;
//! - a bad flag or hostfile: [`ClusterError::Args`], naming it.
//!
//! No panic escapes from timely's threads, and this crate installs no panic hook: the
//! sockets handed to timely are wrappers that turn a broken connection into a clean end
//! of stream for timely and a recorded loss for `map`. A panicking job still prints
//! through the panic hook, as it would in a plain thread or a weft pool.
//!
//! ## Example
//!
//! ```no_run
//! use weft_cluster::Cluster;
//!
//! # fn main() -> Result<(), weft_cluster::ClusterError> {
//! let cluster = Cluster::from_args(std::env::args())?;
//! let items: Vec<(u64, u64)> = if cluster.is_leader() {
//!     (0..64).map(|i| (i * 1_000_000, (i + 1) * 1_000_000)).collect()
//! } else {
//!     Vec::new()
//! };
//! if let Some(sums) = cluster.map(items, |(start, end)| (start..end).sum::<u64>())? {
//!     println!("{}", sums.iter().sum::<u64>());
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod args;
mod builder;
mod cluster;
mod connect;
mod engine;
mod error;
mod link;
mod wire;

pub use args::program_args;
pub use builder::{ClusterBuilder, DEFAULT_BASE_PORT, DEFAULT_CONNECT_TIMEOUT};
pub use cluster::{Cluster, LINGER};
pub use engine::GONE_GRACE;
pub use error::ClusterError;
