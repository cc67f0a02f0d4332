//! Pool statistics: per-worker counters on the hot path, summed on demand.
//!
//! Each worker writes only its own counters (a load and a store, no RMW, no shared cache
//! line); threads outside the pool use one shared set with `fetch_add`. [`PoolStats`] is the
//! sum, read in an order that keeps the snapshot consistent: finished counts first, then
//! started and cancelled, then submitted, so every job counted in a later stage is also
//! counted in the earlier ones and `queued`/`running` never go negative.

use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use serde::{Deserialize, Serialize};

use crate::sync::{AtomicU64, Ordering};

/// What happened to a detached job, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Started,
    Completed,
    Panicked,
    /// Cancelled by the pool (`shutdown_now`); cancels by handles are counted by them.
    Cancelled,
}

/// A snapshot of a pool's counters, from [`ThreadPool::stats`](crate::ThreadPool::stats).
///
/// Counts cover detached jobs (`spawn`, `try_spawn`, `execute`, `spawn_worker`). Every
/// submitted job is in exactly one state, so
/// `completed + panicked + cancelled + timed_out + queued + running == submitted` holds in
/// every snapshot. A job's counter is updated before its handle resolves: stats read after
/// [`JobHandle::join`](crate::JobHandle::join) returned already include that job.
///
/// The counters are read one after another, not frozen together, so while jobs flow the
/// snapshot is a little smeared: `queued` and `running` are derived from the others and can
/// include jobs that changed state during the read (they are never negative, and the sum
/// above always holds). Once the pool is quiet, every figure is exact.
///
/// ```
/// let pool = weft::ThreadPool::new(2).unwrap();
/// let handle = pool.spawn(|| 6 * 7);
/// assert_eq!(handle.join().unwrap(), 42);
/// let stats = pool.stats();
/// assert_eq!((stats.submitted, stats.completed), (1, 1));
/// assert_eq!(stats.completed + stats.panicked + stats.cancelled + stats.timed_out
///            + stats.queued + stats.running, stats.submitted);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStats {
    /// Number of worker threads.
    pub num_threads: usize,
    /// Jobs submitted.
    pub submitted: u64,
    /// Jobs that ran to completion.
    pub completed: u64,
    /// Jobs that panicked (the panic went to the handle, or was counted for `execute`).
    pub panicked: u64,
    /// Jobs cancelled before they started (by their handle or by `shutdown_now`).
    pub cancelled: u64,
    /// Jobs whose queue timeout passed before they started (they never ran), or whose run
    /// timeout passed while they ran (a job still running past its timeout counts here, not
    /// in `running`).
    #[serde(default)]
    pub timed_out: u64,
    /// Jobs submitted and not yet started or cancelled.
    pub queued: u64,
    /// Jobs running now.
    pub running: u64,
    /// Successful steals (batches from the pool's queue, jobs from other worker threads).
    pub steals: u64,
    /// Workers asleep at the time of the snapshot.
    pub sleeping: u64,
    /// Spare threads started so far: each stood in for a worker thread blocked in a wait
    /// (see [`ThreadPoolBuilder::max_spare_threads`](crate::ThreadPoolBuilder::max_spare_threads)).
    /// Their jobs count in the totals above, not in `workers`.
    #[serde(default)]
    pub spare_threads: u64,
    /// Spare threads running now (not parked).
    #[serde(default)]
    pub spare_threads_running: u64,
    /// Per-worker figures, indexed by worker.
    pub workers: Vec<WorkerStats>,
}

/// One worker's share of [`PoolStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// The worker's index (as [`current_thread_index`](crate::current_thread_index) says).
    pub index: usize,
    /// Detached jobs this worker thread ran (completed or panicked).
    pub jobs: u64,
    /// Successful steals by this worker.
    pub steals: u64,
    /// Time this worker thread spent awake (running or looking for jobs), not parked.
    pub busy: Duration,
    /// The CPU this worker thread is pinned to
    /// ([`ThreadPoolBuilder::pin_threads`](crate::ThreadPoolBuilder::pin_threads)), `None`
    /// when it is not pinned.
    #[serde(default)]
    pub cpu: Option<usize>,
}

/// One worker's counters; written only by that worker.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    submitted: AtomicU64,
    started: AtomicU64,
    completed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    steals: AtomicU64,
    busy_nanos: AtomicU64,
    /// Nanoseconds since the pool's epoch when the current busy stretch began, 0 if parked.
    busy_since: AtomicU64,
}

/// Single-writer increment: a load and a store.
#[inline]
fn bump(counter: &AtomicU64, by: u64) {
    // ORDERING: only the owning worker writes; Release so a reader's Acquire load of this
    // counter also sees the counts this job got in earlier stages (possibly elsewhere).
    counter.store(counter.load(Ordering::Relaxed) + by, Ordering::Release);
}

impl WorkerCounters {
    #[inline]
    pub(crate) fn count(&self, event: Event) {
        match event {
            Event::Started => bump(&self.started, 1),
            Event::Completed => bump(&self.completed, 1),
            Event::Panicked => bump(&self.panicked, 1),
            Event::Cancelled => bump(&self.cancelled, 1),
        }
    }

    #[inline]
    pub(crate) fn submitted(&self) {
        bump(&self.submitted, 1);
    }

    #[inline]
    pub(crate) fn stole(&self) {
        bump(&self.steals, 1);
    }

    pub(crate) fn wake_at(&self, epoch: Instant) {
        let now = nanos_since(epoch).max(1);
        // ORDERING: single writer; readers only estimate.
        self.busy_since.store(now, Ordering::Relaxed);
    }

    pub(crate) fn sleep_at(&self, epoch: Instant) {
        // ORDERING: single writer.
        let since = self.busy_since.load(Ordering::Relaxed);
        if since != 0 {
            bump(&self.busy_nanos, nanos_since(epoch).saturating_sub(since));
            // ORDERING: single writer; readers only estimate.
            self.busy_since.store(0, Ordering::Relaxed);
        }
    }
}

/// Counters for submissions and cancels from threads outside the pool, and for the timer.
#[derive(Debug, Default)]
pub(crate) struct ExternalCounters {
    submitted: CachePadded<AtomicU64>,
    cancelled: CachePadded<AtomicU64>,
    /// Jobs whose queue timeout passed before they started (they never ran).
    timed_out_queued: AtomicU64,
    /// Jobs whose run timeout passed while they ran.
    timed_out_running: AtomicU64,
}

impl ExternalCounters {
    pub(crate) fn submitted(&self) {
        // ORDERING: Release, as in `bump`; several writers, hence the RMW.
        self.submitted.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn cancelled(&self) {
        // ORDERING: Release, as in `bump`.
        self.cancelled.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn timed_out(&self, running: bool) {
        let counter = if running {
            &self.timed_out_running
        } else {
            &self.timed_out_queued
        };
        // ORDERING: Release, as in `bump`.
        counter.fetch_add(1, Ordering::Release);
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn read(counter: &AtomicU64) -> u64 {
    // ORDERING: Acquire pairs with the Release increments (see `bump`).
    counter.load(Ordering::Acquire)
}

/// Sums the counters into a consistent snapshot (see the module docs for the order).
/// `workers` holds every thread slot: the `num_threads` worker threads, then the spares,
/// whose counts go into the totals only.
pub(crate) fn snapshot(
    workers: &[CachePadded<WorkerCounters>],
    num_threads: usize,
    external: &ExternalCounters,
    epoch: Instant,
    sleeping: usize,
    cpus: Option<&[usize]>,
) -> PoolStats {
    let now = nanos_since(epoch);
    let mut stats = PoolStats {
        num_threads,
        sleeping: sleeping as u64,
        ..PoolStats::default()
    };
    for (index, worker) in workers.iter().enumerate() {
        let completed = read(&worker.completed);
        let panicked = read(&worker.panicked);
        stats.completed += completed;
        stats.panicked += panicked;
        let steals = read(&worker.steals);
        stats.steals += steals;
        // ORDERING: Relaxed: an estimate of the current busy stretch.
        let since = worker.busy_since.load(Ordering::Relaxed);
        let current = if since == 0 {
            0
        } else {
            now.saturating_sub(since)
        };
        if index < num_threads {
            stats.workers.push(WorkerStats {
                index,
                jobs: completed + panicked,
                steals,
                busy: Duration::from_nanos(read(&worker.busy_nanos) + current),
                cpu: cpus.map(|cpus| cpus[index % cpus.len()]),
            });
        }
    }
    let timed_out_running = read(&external.timed_out_running);
    let mut started = 0;
    for worker in workers {
        stats.cancelled += read(&worker.cancelled);
        started += read(&worker.started);
    }
    stats.cancelled += read(&external.cancelled);
    let timed_out_queued = read(&external.timed_out_queued);
    stats.timed_out = timed_out_queued + timed_out_running;
    for worker in workers {
        stats.submitted += read(&worker.submitted);
    }
    stats.submitted += read(&external.submitted);
    // Saturating only guards against a reader racing counters it could not order (it cannot
    // happen with the order above).
    stats.running = started.saturating_sub(stats.completed + stats.panicked + timed_out_running);
    stats.queued = stats
        .submitted
        .saturating_sub(started + stats.cancelled + timed_out_queued);
    stats
}
