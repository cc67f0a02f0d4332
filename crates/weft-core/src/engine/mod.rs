//! The engine: how worker threads find work, run it, wait and sleep.
//!
//! - [`registry`] holds one pool's shared state (queues, counters, sleep state) and starts
//!   and ends its threads;
//! - [`lifecycle`] is what a worker thread does before its first job and after its last
//!   (start and stop hooks, pinning through [`affinity`]), and the start handshake;
//! - [`worker`] is a worker thread's own state, `find_work`/steal, waiting while helping,
//!   and the main loop;
//! - [`sleep`] is how idle workers sleep and are woken, and [`slot_set`] the packed sets of
//!   thread slots that keep idle and wake paths small in big pools;
//! - [`latch`] holds the one-way "done" signals that a thread or worker waits on;
//! - [`backpressure`] is `max_queued`;
//! - [`timer`] fires run and queue timeouts without needing a free worker thread;
//! - [`worker_jobs`] lists the live worker jobs, whose input closing the pool ends.
//!
//! The engine imports the job types below it (`crate::job`) and the counters
//! (`crate::stats`), never the front ends (`crate::fork`, `crate::pool`, `crate::handle`).

pub(crate) mod affinity;
pub(crate) mod backpressure;
pub(crate) mod latch;
pub(crate) mod lifecycle;
pub(crate) mod registry;
pub(crate) mod sleep;
pub(crate) mod slot_set;
pub(crate) mod timer;
pub(crate) mod worker;
pub(crate) mod worker_jobs;
