//! [`WorkerThread`]: a pool thread's own state, how it finds work, how it waits inside
//! fork-join work, and its main loop (worker threads and spares run the same loop).
//!
//! # Finding work (`find_work`)
//!
//! Structured work first, since someone is waiting for it: the thread's own structured deque
//! (the newest fork first), its broadcast inbox, the structured injector, one job stolen from
//! another thread's structured deque. Then detached jobs, strictly by lane: the `High`
//! injector, then `Normal` (the own deque, a batch from the `Normal` injector, a batch
//! stolen from another thread), and only when no `Normal` job was found anywhere, the `Low`
//! injector.
//!
//! # Waiting inside fork-join work (`wait_for_latch`)
//!
//! A thread whose `join` half was stolen, or whose scope or `map` waits for its jobs, keeps
//! running queued work meanwhile, but only work of its own tree (see `job::Tree`): its own
//! forks, and jobs taken from threads that publish the same tree. Everything of the tree is
//! waited for by the tree's job, so running it on top of the waiting frame cannot bury what
//! the frame waits for; a job of another tree could wait, through a handle, for the very job
//! whose frame it would bury. Broadcast calls for this thread run too (only it can run
//! them). Nesting is bounded ([`MAX_HELP_DEPTH`]); past it, the thread only waits. With
//! nothing to help with, it parks with a short timeout: its latch being set or a broadcast
//! call wakes it at once, and the timeout lets it pick up new work of its tree. If other
//! work is queued meanwhile (which it may not run, and which what it waits for may depend
//! on), it counts as blocked, and a spare thread runs that work (see `registry.rs`).

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_deque::{Steal, Worker};

use crate::engine::latch::WakeLatch;
use crate::engine::registry::{Blocked, Lane, Registry};
use crate::job::{JobRef, Tree};
use crate::stats::{Event, WorkerCounters};
use crate::sync::{self, Backoff, Ordering};

/// Rounds of looking for work (with a CPU yield between the later ones) before an idle
/// thread sleeps. About 50-100 us here: long enough to keep threads awake while jobs keep
/// coming, short enough that an idle pool costs nothing measurable.
const IDLE_ROUNDS: u32 = 48;

/// Most jobs taken from another thread's detached deque in one steal.
const STEAL_BATCH: usize = 16;

/// How deep a thread may nest the work it runs while waiting inside fork-join work; past
/// this it waits without helping, so the stack stays bounded.
pub(crate) const MAX_HELP_DEPTH: u32 = 128;

/// The first and the longest park of a waiting thread that may have to look again (see
/// [`Stall`]).
const STALL_POLL_MIN: Duration = Duration::from_micros(50);
const STALL_POLL_MAX: Duration = Duration::from_millis(1);

/// Parks a waiting thread makes before it asks for a spare thread (about 150 us): most
/// waits end sooner, and a spare costs a wake-up and, later, a retirement.
const STALL_GRACE_PARKS: u32 = 2;

/// A pool thread that waits (on a job handle, a latch, a queue place): decides how long it
/// parks and when it needs a spare thread to stand in for it.
///
/// A waiting thread is compensated only after a grace period, and only while work is queued
/// that it does not run: then what it waits for may depend on that work, and a spare thread
/// runs it (see `registry.rs`). Until then it parks for short, growing spells and looks
/// again; once compensated it needs no timeout (it is woken when its wait ends).
pub(crate) struct Stall<'a> {
    worker: &'a WorkerThread,
    parks: u32,
    blocked: Option<Blocked>,
}

impl<'a> Stall<'a> {
    pub(crate) fn new(worker: &'a WorkerThread) -> Self {
        Stall {
            worker,
            parks: 0,
            blocked: None,
        }
    }

    /// Call before each park: how long to park at most (`None`: until woken).
    pub(crate) fn before_park(&mut self) -> Option<Duration> {
        self.parks += 1;
        if self.blocked.is_none()
            && self.parks > STALL_GRACE_PARKS
            && self.worker.registry.has_work_for(self.worker.index)
        {
            self.blocked = Some(self.worker.registry.blocked());
        }
        let spell = STALL_POLL_MIN
            .saturating_mul(1 << self.parks.min(6))
            .min(STALL_POLL_MAX);
        Some(spell)
    }

    /// `true` once a spare thread stands in for this one.
    pub(crate) fn is_compensated(&self) -> bool {
        self.blocked.is_some()
    }
}

/// A thread slot's two deques, made before its thread starts (their stealers go in the
/// registry).
pub(crate) struct Deques {
    pub(super) structured: Worker<JobRef>,
    pub(super) detached: Worker<JobRef>,
}

impl Deques {
    pub(super) fn new() -> Self {
        Deques {
            structured: Worker::new_lifo(),
            detached: Worker::new_fifo(),
        }
    }
}

sync::thread_local_cell! {
    /// The pool thread's state, set by `main_loop` for the thread's lifetime.
    static WORKER_THREAD: Cell<*const WorkerThread> = ptr::null();
}

/// A pool thread's own state; lives on the thread's stack for the thread's lifetime.
pub(crate) struct WorkerThread {
    deques: Deques,
    index: usize,
    registry: Arc<Registry>,
    rng: Cell<u64>,
    /// The tree of the work running now.
    tree: Cell<Tree>,
    /// How many waits inside fork-join work are helping on this thread's stack now.
    help_depth: Cell<u32>,
}

impl WorkerThread {
    fn new(registry: Arc<Registry>, deques: Deques, index: usize) -> Self {
        WorkerThread {
            deques,
            index,
            rng: Cell::new(
                0x9e37_79b9_7f4a_7c15u64
                    .wrapping_mul(index as u64 + 1)
                    .wrapping_add(registry.id() as u64)
                    | 1,
            ),
            registry,
            tree: Cell::new(Tree::OUTSIDE),
            help_depth: Cell::new(0),
        }
    }

    /// The calling thread's state, if it is a pool thread.
    #[inline]
    pub(crate) fn current() -> Option<&'static WorkerThread> {
        let worker = WORKER_THREAD.with(Cell::get);
        // SAFETY: the pointer is set by `main_loop` to a WorkerThread on that thread's stack
        // and cleared before it goes away; only this thread reads it, and every job that can
        // observe it finishes inside `main_loop`.
        unsafe { worker.as_ref() }
    }

    /// Runs `body` on the calling loom model thread as thread `index` of `registry`
    /// (registered as the thread's worker state, as `main_loop` does).
    #[cfg(all(test, weft_loom))]
    pub(crate) fn run_as_model_worker<R>(
        registry: Arc<Registry>,
        deques: Deques,
        index: usize,
        body: impl FnOnce(&WorkerThread) -> R,
    ) -> R {
        let worker = WorkerThread::new(registry, deques, index);
        WORKER_THREAD.with(|current| current.set(&worker));
        let result = body(&worker);
        WORKER_THREAD.with(|current| current.set(ptr::null()));
        result
    }

    /// The thread's slot index: `0..num_threads` for worker threads, above for spares.
    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    #[inline]
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    #[inline]
    fn is_spare(&self) -> bool {
        self.index >= self.registry.num_threads()
    }

    #[inline]
    pub(super) fn counters(&self) -> &WorkerCounters {
        &self.registry.counters[self.index]
    }

    /// Counts what happened to a detached job on this thread's counters.
    #[inline]
    pub(crate) fn count(&self, event: Event) {
        self.counters().count(event);
    }

    /// Marks `tree` as the tree of the work running now (for `is_cancelled` and for
    /// helpers); returns the previous one.
    #[inline]
    pub(crate) fn enter_tree(&self, tree: Tree) -> Tree {
        let previous = self.tree.replace(tree);
        if previous != tree {
            self.publish_tree(tree);
        }
        previous
    }

    #[inline]
    pub(crate) fn leave_tree(&self, previous: Tree) {
        if self.tree.replace(previous) != previous {
            self.publish_tree(previous);
        }
    }

    fn publish_tree(&self, tree: Tree) {
        // ORDERING: Relaxed: a hint for helpers, which check the tree of what they steal.
        self.registry.slots[self.index]
            .tree
            .store(tree.addr(), Ordering::Relaxed);
    }

    /// The tree of the work running now.
    #[inline]
    pub(crate) fn current_tree(&self) -> Tree {
        self.tree.get()
    }

    /// Pushes structured work onto this thread's deque, where others may steal it.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        self.deques.structured.push(job);
        self.registry.sleep.new_work();
    }

    /// Pushes a job this thread will come back for itself if nobody steals it (the second
    /// half of a `join`); see [`Sleep::new_work_for_self`](super::sleep::Sleep).
    #[inline]
    pub(crate) fn push_fork(&self, job: JobRef) {
        self.deques.structured.push(job);
        self.registry.sleep.new_work_for_self();
    }

    /// Pushes a detached `Normal` job onto this thread's detached deque.
    #[inline]
    pub(super) fn push_detached(&self, job: JobRef) {
        self.deques.detached.push(job);
        self.registry.sleep.new_work();
    }

    /// Pops the most recently pushed job of this thread's structured deque.
    #[inline]
    pub(crate) fn take_local_job(&self) -> Option<JobRef> {
        self.deques.structured.pop()
    }

    /// Runs (or, under `shutdown_now`, cancels) a job.
    #[inline]
    pub(crate) fn execute(&self, job: JobRef) {
        // SAFETY: every JobRef in the pool's queues is executed once, by whoever popped it,
        // on a thread of this pool.
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

    /// The other live slots, starting at a random one.
    fn victims(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.registry.live_slots().len();
        let start = (self.next_random() % n as u64) as usize;
        (0..n)
            .map(move |k| (start + k) % n)
            .filter(move |&victim| victim != self.index)
    }

    /// Finds a job for the main loop (see the module docs for the order).
    #[inline]
    pub(crate) fn find_work(&self) -> Option<JobRef> {
        self.deques
            .structured
            .pop()
            .or_else(|| self.find_structured())
            .or_else(|| self.find_detached())
    }

    fn find_structured(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        loop {
            let mut retry = false;
            if let Some(inbox) = registry.inboxes.get(self.index) {
                match inbox.steal() {
                    Steal::Success(job) => return Some(job),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            match registry.structured.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            for victim in self.victims() {
                match registry.slots[victim].structured.steal() {
                    Steal::Success(job) => {
                        self.counters().stole();
                        return Some(job);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    fn find_detached(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        loop {
            let mut retry = false;
            match registry.lanes[Lane::High as usize].steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            if let Some(job) = self.deques.detached.pop() {
                return Some(job);
            }
            match registry.lanes[Lane::Normal as usize].steal_batch_and_pop(&self.deques.detached) {
                Steal::Success(job) => return Some(self.stole_batch(job)),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            for victim in self.victims() {
                match registry.slots[victim]
                    .detached
                    .steal_batch_with_limit_and_pop(&self.deques.detached, STEAL_BATCH)
                {
                    Steal::Success(job) => return Some(self.stole_batch(job)),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if retry {
                continue;
            }
            // No `Normal` job anywhere: now a `Low` one.
            match registry.lanes[Lane::Low as usize].steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    /// Counts a successful batch steal and announces the rest of the batch: it left the
    /// queue it came from before it showed up in ours, so a thread that looked in between
    /// may have gone to sleep.
    fn stole_batch(&self, job: JobRef) -> JobRef {
        self.counters().stole();
        if !self.deques.detached.is_empty() {
            self.registry.sleep.new_work();
        }
        job
    }

    /// A queued job of `tree` (or a broadcast call for this thread), for a thread waiting
    /// inside fork-join work of that tree (see the module docs).
    fn find_helpable(&self, tree: Tree) -> Option<JobRef> {
        let registry = &*self.registry;
        if let Some(job) = self.deques.structured.pop() {
            if job.tree() == tree {
                return Some(job);
            }
            // Forked below us by another tree's work: leave it where it was.
            self.deques.structured.push(job);
        }
        if let Some(inbox) = registry.inboxes.get(self.index) {
            if let Steal::Success(job) = inbox.steal() {
                return Some(job);
            }
        }
        if tree == Tree::OUTSIDE {
            if let Steal::Success(job) = registry.structured.steal() {
                if job.tree() == tree {
                    return Some(job);
                }
                // Not ours to run here: back in the queue, and announced again (a thread
                // that looked while we held it may have gone to sleep).
                registry.structured.push(job);
                registry.sleep.new_work();
            }
        }
        for victim in self.victims() {
            let slot = &registry.slots[victim];
            // ORDERING: Relaxed: a hint; what is stolen is checked below.
            if slot.tree.load(Ordering::Relaxed) != tree.addr() {
                continue;
            }
            if let Steal::Success(job) = slot.structured.steal() {
                self.counters().stole();
                if job.tree() == tree {
                    return Some(job);
                }
                // The victim moved on to another tree meanwhile: keep the job stealable on
                // our deque, and stop looking this round.
                self.deques.structured.push(job);
                registry.sleep.new_work();
                return None;
            }
        }
        None
    }

    /// Runs work of the current tree until `latch` is set, parking when there is nothing to
    /// help with (see the module docs).
    pub(crate) fn wait_for_latch(&self, latch: &WakeLatch<'_>) {
        let tree = self.tree.get();
        let depth = self.help_depth.get();
        let can_help = depth < MAX_HELP_DEPTH;
        let mut stall = Stall::new(self);
        loop {
            if latch.probe() {
                return;
            }
            let backoff = Backoff::new();
            let mut helped = false;
            while !backoff.is_completed() {
                let job = if can_help {
                    self.find_helpable(tree)
                } else {
                    self.take_inbox_job()
                };
                if let Some(job) = job {
                    self.help_depth.set(depth + 1);
                    self.execute(job);
                    self.help_depth.set(depth);
                    helped = true;
                    break;
                }
                if latch.probe() {
                    return;
                }
                backoff.snooze();
            }
            if helped {
                continue;
            }
            if !latch.get_sleepy() {
                return;
            }
            // Work of this tree may show up at any time: keep looking, even when compensated.
            let spell = stall.before_park().unwrap_or(STALL_POLL_MAX);
            self.counters().sleep_at(self.registry.epoch);
            sync::park_timeout(spell);
            self.counters().wake_at(self.registry.epoch);
        }
    }

    /// A broadcast call waiting in this thread's inbox.
    pub(crate) fn take_inbox_job(&self) -> Option<JobRef> {
        let inbox = self.registry.inboxes.get(self.index)?;
        loop {
            match inbox.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    fn deques_are_empty(&self) -> bool {
        self.deques.structured.is_empty() && self.deques.detached.is_empty()
    }

    /// Sleeps until there is work this thread could take, or the pool terminates.
    pub(crate) fn sleep_until_work(&self) {
        let registry = &*self.registry;
        self.counters().sleep_at(registry.epoch);
        registry.sleep.sleep(self.index, None, || {
            registry.terminating() || registry.has_work_for(self.index)
        });
        self.counters().wake_at(registry.epoch);
    }

    /// A spare thread's job boundary: if more threads are runnable than the pool asks for,
    /// it retires until it is needed again. `None`: it goes on working; `Some(true)`: it
    /// retired and was called back; `Some(false)`: it retired and the pool terminates.
    pub(crate) fn retire_if_surplus(&self) -> Option<bool> {
        if self.is_spare() && self.deques_are_empty() && self.registry.spare_should_retire() {
            Some(self.retire())
        } else {
            None
        }
    }

    /// Retires a spare thread until it is needed again; `false` when the pool terminates.
    fn retire(&self) -> bool {
        // We may have been woken for work we now leave: pass the wake-up on.
        self.registry.sleep.new_work();
        self.counters().sleep_at(self.registry.epoch);
        let again = self.registry.park_spare(self.index);
        self.counters().wake_at(self.registry.epoch);
        again
    }
}

/// Ends a pool thread's life, however it ends: a panic that escaped a job would be a bug in
/// weft (every piece of user code runs under `catch_unwind`), and a dead thread could leave
/// queued jobs that nobody runs and handles that reach the pool after it is freed, so the
/// process aborts rather than go on.
struct ThreadEnd<'a>(&'a WorkerThread);

impl Drop for ThreadEnd<'_> {
    fn drop(&mut self) {
        self.0.counters().sleep_at(self.0.registry.epoch);
        WORKER_THREAD.with(|current| current.set(ptr::null()));
        if std::thread::panicking() {
            tracing::error!(
                index = self.0.index,
                "a weft pool thread panicked outside any job"
            );
            eprintln!(
                "weft: pool thread {} panicked outside any job (a bug in weft); aborting",
                self.0.index
            );
            std::process::abort();
        }
    }
}

/// The life of a pool thread (a worker thread, or a spare).
pub(super) fn main_loop(registry: Arc<Registry>, deques: Deques, index: usize) {
    let worker = WorkerThread::new(registry, deques, index);
    let registry = &*worker.registry;
    registry.sleep.register_current(index);
    WORKER_THREAD.with(|current| current.set(&worker));
    let _end = ThreadEnd(&worker);
    let span = tracing::debug_span!("weft worker", pool = registry.id(), index);
    let _entered = span.enter();
    tracing::debug!("worker started");
    worker.counters().wake_at(registry.epoch);
    'work: loop {
        match worker.retire_if_surplus() {
            Some(true) => continue,
            Some(false) => break,
            None => {}
        }
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
        worker.sleep_until_work();
    }
    tracing::debug!("worker exited");
}
