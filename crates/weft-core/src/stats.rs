//! Pool statistics: per-worker counters on the hot path, summed on demand.
//!
//! Each worker writes only its own counters (a load and a store, no RMW, no shared cache
//! line); threads outside the pool use one shared set with `fetch_add`. [`PoolStats`] is the
//! sum, read in an order that keeps the snapshot consistent: finished counts first, then
//! started and cancelled, then submitted, so every job counted in a later stage is also
//! counted in the earlier ones and `queued`/`running` never go negative.

use std::fmt;
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
    /// Time since the pool started.
    #[serde(default)]
    pub uptime: Duration,
    /// How long detached jobs waited, from submission (once `spawn` had a queue place) to
    /// their start on a thread; `None` unless the pool was built with
    /// [`record_timing(true)`](crate::ThreadPoolBuilder::record_timing).
    #[serde(default)]
    pub wait_time: Option<Timing>,
    /// How long detached jobs ran, from start to end; `None` unless the pool was built with
    /// [`record_timing(true)`](crate::ThreadPoolBuilder::record_timing).
    #[serde(default)]
    pub run_time: Option<Timing>,
}

/// A summary of many durations (the wait or run times of a pool's detached jobs, see
/// [`PoolStats::wait_time`]).
///
/// The percentiles come from a histogram whose buckets are at most 1/16 of their value
/// wide, so they are within about 3% of the exact ones; `count`, `mean` and `max` are
/// exact. All zero when nothing was recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// How many durations were recorded.
    pub count: u64,
    /// Their mean.
    pub mean: Duration,
    /// The median: half of them took at most this long.
    pub p50: Duration,
    /// 90% of them took at most this long.
    pub p90: Duration,
    /// 99% of them took at most this long.
    pub p99: Duration,
    /// The longest.
    pub max: Duration,
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

impl PoolStats {
    /// The share of the worker threads' time since the pool started that they spent awake
    /// (running jobs or looking for them), from 0.0 to 1.0; `None` before any time passed.
    pub fn utilisation(&self) -> Option<f64> {
        let capacity = self.uptime.as_secs_f64() * self.num_threads as f64;
        if capacity <= 0.0 {
            return None;
        }
        let busy: f64 = self.workers.iter().map(|w| w.busy.as_secs_f64()).sum();
        Some((busy / capacity).clamp(0.0, 1.0))
    }
}

/// A short summary for people: the job counts, how busy the threads were, and the wait and
/// run times when they were recorded.
///
/// ```
/// let pool = weft::ThreadPool::builder().num_threads(2).record_timing(true).build().unwrap();
/// pool.spawn(|| 1 + 1).join().unwrap();
/// let summary = pool.stats().to_string();
/// assert!(summary.contains("1 submitted, 1 completed"));
/// assert!(summary.contains("wait: 1 jobs"));
/// println!("{summary}");
/// // pool of 2 threads, up 1.52 ms: 1 submitted, 1 completed, 0 panicked, 0 cancelled, ...
/// // threads awake 93% of the time; 0 steals; 0 asleep now
/// // wait: 1 jobs, mean 61.2 us, p50 61.4 us, p90 61.4 us, p99 61.4 us, max 61.2 us
/// // run:  1 jobs, mean 210 ns, p50 211 ns, p90 211 ns, p99 211 ns, max 210 ns
/// ```
impl fmt::Display for PoolStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "pool of {} threads, up {}: {} submitted, {} completed, {} panicked, {} cancelled, \
             {} timed out, {} queued, {} running",
            self.num_threads,
            Short(self.uptime),
            self.submitted,
            self.completed,
            self.panicked,
            self.cancelled,
            self.timed_out,
            self.queued,
            self.running
        )?;
        match self.utilisation() {
            Some(share) => write!(f, "threads awake {:.0}% of the time", share * 100.0)?,
            None => write!(f, "threads awake: -")?,
        }
        write!(f, "; {} steals; {} asleep now", self.steals, self.sleeping)?;
        if self.spare_threads > 0 {
            write!(
                f,
                "; spare threads: {} started, {} running",
                self.spare_threads, self.spare_threads_running
            )?;
        }
        for (label, timing) in [("wait: ", &self.wait_time), ("run:  ", &self.run_time)] {
            if let Some(timing) = timing {
                write!(
                    f,
                    "\n{label}{} jobs, mean {}, p50 {}, p90 {}, p99 {}, max {}",
                    timing.count,
                    Short(timing.mean),
                    Short(timing.p50),
                    Short(timing.p90),
                    Short(timing.p99),
                    Short(timing.max)
                )?;
            }
        }
        Ok(())
    }
}

/// A duration with three significant digits and a unit: `812 ns`, `61.2 us`, `1.52 ms`.
struct Short(Duration);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos() as f64;
        let (value, unit) = if nanos < 1e3 {
            (nanos, "ns")
        } else if nanos < 1e6 {
            (nanos / 1e3, "us")
        } else if nanos < 1e9 {
            (nanos / 1e6, "ms")
        } else {
            (nanos / 1e9, "s")
        };
        let decimals = if value < 10.0 && unit != "ns" {
            2
        } else if value < 100.0 && unit != "ns" {
            1
        } else {
            0
        };
        write!(f, "{value:.decimals$} {unit}")
    }
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
        uptime: Duration::from_nanos(now),
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
