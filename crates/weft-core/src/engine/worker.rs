//! [`WorkerThread`]: a worker thread's own state, how it finds work, how it waits while
//! helping, and its main loop.
//!
//! A worker looks for work in its own deque, then its broadcast inbox, then takes a batch
//! from the injector, then steals from the others in random order (`find_work`), and only
//! then backs off a little and goes to sleep (see [`super::sleep`]).

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_deque::{Steal, Worker};

use crate::engine::registry::Registry;
use crate::job::JobRef;
use crate::stats::{Event, WorkerCounters};
use crate::sync::{self, AtomicU8, Backoff};

/// Rounds of looking for work (with a CPU yield between the later ones) before a worker
/// sleeps. About 50-100 us here: long enough to keep workers awake while jobs keep coming,
/// short enough that an idle pool costs nothing measurable.
const IDLE_ROUNDS: u32 = 48;

/// Most jobs taken from another worker's deque in one steal.
const STEAL_BATCH: usize = 16;

/// What a waiting worker waits for: [`WorkerThread::wait_until`] runs other jobs until
/// `done`, and sleeps only after `prepare_sleep` agreed.
pub(crate) trait WaitCondition {
    /// `true` once the wait is over.
    fn done(&self) -> bool;
    /// Arranges to be woken when `done` turns true; `false` if it already is.
    fn prepare_sleep(&self) -> bool;
    /// The wait is abandoned (deadline passed) after `prepare_sleep` agreed.
    fn abandon(&self) {}
}

/// `true` once `deadline` (if any) has passed.
pub(crate) fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

sync::thread_local_cell! {
    /// The worker thread's state, set by `main_loop` for the thread's lifetime.
    static WORKER_THREAD: Cell<*const WorkerThread> = ptr::null();
}

/// A worker thread's own state; lives on the worker's stack for the thread's lifetime.
pub(crate) struct WorkerThread {
    deque: Worker<JobRef>,
    index: usize,
    registry: Arc<Registry>,
    rng: Cell<u64>,
    /// The run state (for `is_cancelled`) of the job running now, or null.
    current_job: Cell<*const AtomicU8>,
}

impl WorkerThread {
    /// The calling thread's worker state, if it is a pool worker.
    #[inline]
    pub(crate) fn current() -> Option<&'static WorkerThread> {
        let worker = WORKER_THREAD.with(Cell::get);
        // SAFETY: the pointer is set by `main_loop` to a WorkerThread on that thread's stack
        // and cleared before it goes away; only this thread reads it, and every job that can
        // observe it finishes inside `main_loop`.
        unsafe { worker.as_ref() }
    }

    /// Runs `body` on the calling loom model thread as worker `index` of `registry`
    /// (registered as the thread's worker, as `main_loop` does).
    #[cfg(all(test, weft_loom))]
    pub(crate) fn run_as_model_worker<R>(
        registry: Arc<Registry>,
        deque: Worker<JobRef>,
        index: usize,
        body: impl FnOnce(&WorkerThread) -> R,
    ) -> R {
        let worker = WorkerThread {
            deque,
            index,
            registry,
            rng: Cell::new(1),
            current_job: Cell::new(ptr::null()),
        };
        WORKER_THREAD.with(|current| current.set(&worker));
        let result = body(&worker);
        WORKER_THREAD.with(|current| current.set(ptr::null()));
        result
    }

    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    #[inline]
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    #[inline]
    pub(super) fn counters(&self) -> &WorkerCounters {
        &self.registry.counters[self.index]
    }

    /// Counts what happened to a detached job on this worker's counters.
    #[inline]
    pub(crate) fn count(&self, event: Event) {
        self.counters().count(event);
    }

    /// Marks `run_state` as the running job's (for `is_cancelled`); returns the previous one.
    #[inline]
    pub(crate) fn enter_job(&self, run_state: *const AtomicU8) -> *const AtomicU8 {
        self.current_job.replace(run_state)
    }

    #[inline]
    pub(crate) fn leave_job(&self, previous: *const AtomicU8) {
        self.current_job.set(previous);
    }

    /// The running job's run state, or null.
    #[inline]
    pub(crate) fn current_job(&self) -> *const AtomicU8 {
        self.current_job.get()
    }

    /// Pushes onto this worker's deque, where others may steal it.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        self.deque.push(job);
        self.registry.sleep.new_work();
    }

    /// Pushes a job this worker will come back for itself if nobody steals it (the second
    /// half of a `join`); see [`Sleep::new_work_for_self`].
    #[inline]
    pub(crate) fn push_fork(&self, job: JobRef) {
        self.deque.push(job);
        self.registry.sleep.new_work_for_self();
    }

    /// Pops the most recently pushed job of this worker's own deque.
    #[inline]
    pub(crate) fn take_local_job(&self) -> Option<JobRef> {
        self.deque.pop()
    }

    /// Runs (or, under `shutdown_now`, cancels) a job.
    #[inline]
    pub(crate) fn execute(&self, job: JobRef) {
        // SAFETY: every JobRef in the pool's queues is executed once, by whoever popped it,
        // on a worker of this pool.
        unsafe { job.execute(self.registry.mode()) }
    }

    fn next_random(&self) -> u64 {
        // xorshift64*: cheap, good enough to spread steals.
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Finds a job: own deque, then elsewhere.
    #[inline]
    pub(crate) fn find_work(&self) -> Option<JobRef> {
        self.deque.pop().or_else(|| self.steal_work())
    }

    /// Looks beyond the own deque: broadcast inbox, a batch from the injector, then one job
    /// from another worker, starting at a random victim.
    fn steal_work(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        loop {
            let mut retry = false;
            match registry.inboxes[self.index].steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            match registry.injector.steal_batch_and_pop(&self.deque) {
                Steal::Success(job) => return Some(self.stole_batch(job)),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            let n = registry.stealers.len();
            if n > 1 {
                let start = (self.next_random() % n as u64) as usize;
                for k in 0..n {
                    let victim = (start + k) % n;
                    if victim == self.index {
                        continue;
                    }
                    match registry.stealers[victim]
                        .steal_batch_with_limit_and_pop(&self.deque, STEAL_BATCH)
                    {
                        Steal::Success(job) => return Some(self.stole_batch(job)),
                        Steal::Retry => retry = true,
                        Steal::Empty => {}
                    }
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Counts a successful batch steal and announces the rest of the batch: it left the
    /// queue it came from before it showed up in ours, so a worker that looked in between
    /// may have gone to sleep.
    fn stole_batch(&self, job: JobRef) -> JobRef {
        self.counters().stole();
        if !self.deque.is_empty() {
            self.registry.sleep.new_work();
        }
        job
    }

    /// Runs other jobs until `condition` is done, sleeping when there is nothing to run.
    /// Returns `false` if `deadline` passed first.
    pub(crate) fn wait_until<C: WaitCondition + ?Sized>(
        &self,
        condition: &C,
        deadline: Option<Instant>,
    ) -> bool {
        'outer: loop {
            if condition.done() {
                return true;
            }
            if let Some(job) = self.find_work() {
                self.execute(job);
                continue;
            }
            let backoff = Backoff::new();
            while !backoff.is_completed() {
                if condition.done() {
                    return true;
                }
                if let Some(job) = self.find_work() {
                    self.execute(job);
                    continue 'outer;
                }
                if passed(deadline) {
                    condition.abandon();
                    return condition.done();
                }
                backoff.snooze();
            }
            if passed(deadline) {
                condition.abandon();
                return condition.done();
            }
            if !condition.prepare_sleep() {
                return true;
            }
            self.counters().sleep_at(self.registry.epoch);
            self.registry.sleep.sleep(self.index, deadline, || {
                condition.done() || self.registry.has_work_for(self.index)
            });
            self.counters().wake_at(self.registry.epoch);
            if passed(deadline) && !condition.done() {
                condition.abandon();
                return condition.done();
            }
        }
    }
}

/// The life of a worker thread.
pub(super) fn main_loop(registry: Arc<Registry>, deque: Worker<JobRef>, index: usize) {
    let worker = WorkerThread {
        deque,
        index,
        rng: Cell::new(
            0x9e37_79b9_7f4a_7c15u64
                .wrapping_mul(index as u64 + 1)
                .wrapping_add(registry.id() as u64)
                | 1,
        ),
        registry,
        current_job: Cell::new(ptr::null()),
    };
    let registry = &*worker.registry;
    registry.sleep.register_current(index);
    WORKER_THREAD.with(|current| current.set(&worker));
    let span = tracing::debug_span!("weft worker", pool = registry.id(), index);
    let _entered = span.enter();
    tracing::debug!("worker started");
    worker.counters().wake_at(registry.epoch);
    'work: loop {
        if let Some(job) = worker.find_work() {
            worker.execute(job);
            continue;
        }
        let backoff = Backoff::new();
        for _ in 0..IDLE_ROUNDS {
            backoff.snooze();
            if let Some(job) = worker.find_work() {
                worker.execute(job);
                continue 'work;
            }
        }
        if registry.terminating() {
            break;
        }
        worker.counters().sleep_at(registry.epoch);
        registry.sleep.sleep(index, None, || {
            registry.terminating() || registry.has_work_for(index)
        });
        worker.counters().wake_at(registry.epoch);
    }
    worker.counters().sleep_at(registry.epoch);
    tracing::debug!("worker exited");
    WORKER_THREAD.with(|current| current.set(ptr::null()));
}
