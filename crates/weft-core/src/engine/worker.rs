//! [`WorkerThread`]: a pool thread's own state, how it finds work, how it waits inside
//! fork-join work, and its main loop (worker threads and spares run the same loop).
//!
//! # Finding work (`find_work`)
//!
//! The thread's own structured deque first (the newest fork first: a worker finishes the
//! structured work it forked), then its broadcast inbox and the structured injector (someone
//! waits for those), then detached jobs strictly by lane: the `High` injector, then `Normal`
//! jobs (the thread's own detached deque; one job of another thread's structured work comes
//! next, since someone waits for it; then a batch from another thread's detached deque,
//! which holds jobs queued earlier, then one from the `Normal` injector), and only when no
//! `Normal` job was found anywhere, the `Low` injector.
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

use crossbeam_deque::{Steal, Stealer, Worker};

use crate::engine::latch::WakeLatch;
use crate::engine::registry::{Blocked, Lane, Registry};
use crate::job::heap::DetachedRef;
use crate::job::{JobRef, Tree};
use crate::stats::{Event, WorkerCounters};
use crate::sync::{self, Backoff, Ordering};

/// Rounds of looking for work (with a CPU yield between the later ones) before an idle
/// thread sleeps. About 50-100 us here: long enough to keep threads awake while jobs keep
/// coming, short enough that an idle pool costs nothing measurable.
const IDLE_ROUNDS: u32 = 48;

/// Most jobs taken from another thread's detached deque in one steal.
const STEAL_BATCH: usize = 16;

/// Latent forks a thread keeps at most (see `fork`): past this the oldest is shared.
const LATENT_FORKS: usize = 16;

/// Pauses between two looks at a growing backlog (see [`wait_for_a_batch`]): about 1 us
/// on the 2-core AMD EPYC VM this was measured on (29 ns a pause).
const GROWTH_PAUSES: u32 = 32;

/// Looks at a growing backlog at most this many times (so about 8 us at most here).
const GROWTH_LOOKS: u32 = 8;

/// The length of another thread's detached deque, after letting a short backlog that is
/// still growing become a whole batch.
///
/// Every steal moves the deque's front, which its owner reads on its next push: a thief
/// that keeps up with a thread pushing tiny jobs takes a few at a time and costs the pusher
/// a cache miss every few pushes (1M spawns from a worker: 140k-200k steals and 100-190 ns
/// a spawn). So while the backlog is short and keeps growing between two looks, the thief
/// waits for it, up to [`GROWTH_LOOKS`] times; a backlog that stopped growing (its owner is
/// busy with something else, or another thief took from it) is taken at once. A steal is
/// at most about 8 us late here, and never when the jobs are not coming in a stream.
fn wait_for_a_batch<J>(deque: &Stealer<J>) -> usize {
    let mut len = deque.len();
    let mut looks = 0;
    while len > 0 && len < 2 * STEAL_BATCH && looks < GROWTH_LOOKS {
        for _ in 0..GROWTH_PAUSES {
            std::hint::spin_loop();
        }
        let now = deque.len();
        if now <= len {
            return now;
        }
        len = now;
        looks += 1;
    }
    len
}

/// The job a steal took, if any; a lost race (`Steal::Retry`) is noted in `retry`.
#[inline]
fn steal_result<J>(steal: Steal<J>, retry: &mut bool) -> Option<J> {
    match steal {
        Steal::Success(job) => Some(job),
        Steal::Retry => {
            *retry = true;
            None
        }
        Steal::Empty => None,
    }
}

/// The place of one `join`'s fork on its thread (see [`WorkerThread::fork`]): its depth
/// among the forks open there (made, first half not ended yet), from the outermost.
#[derive(Clone, Copy)]
pub(crate) struct ForkSlot(usize);

/// A thread counted as looking for work (see `Sleep::start_looking`) while it lives.
struct Looking<'a>(&'a super::sleep::Sleep);

impl<'a> Looking<'a> {
    fn new(sleep: &'a super::sleep::Sleep) -> Self {
        sleep.start_looking();
        Looking(sleep)
    }
}

impl Drop for Looking<'_> {
    fn drop(&mut self) {
        self.0.stop_looking();
    }
}

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
        // Forks latent below the waiting frame can run elsewhere meanwhile.
        worker.share_latent();
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
    pub(super) detached: Worker<DetachedRef>,
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
    /// The tree last published in this thread's slot (see `publish_tree`).
    published: Cell<Tree>,
    /// How many waits inside fork-join work are helping on this thread's stack now.
    help_depth: Cell<u32>,
    /// This slot is in the registry's `work_hints` (see there).
    advertised: Cell<bool>,
    /// The forks open on this thread (their first halves still running), by depth (see
    /// [`WorkerThread::fork`]): those at depths `latent_base..fork_top` are latent, nobody
    /// could see them yet, and `latent[depth % LATENT_FORKS]` points at the `JobRef` in the
    /// `join`'s frame; those below `latent_base` were shared. Shared oldest first, so one
    /// comparison tells a `join` whether its fork is still latent.
    latent: [Cell<*const JobRef>; LATENT_FORKS],
    latent_base: Cell<usize>,
    /// How many forks are open on this thread: the depth of the next one.
    fork_top: Cell<usize>,
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
            published: Cell::new(Tree::OUTSIDE),
            help_depth: Cell::new(0),
            advertised: Cell::new(false),
            latent: std::array::from_fn(|_| Cell::new(std::ptr::null())),
            latent_base: Cell::new(0),
            fork_top: Cell::new(0),
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
        self.tree.replace(tree)
    }

    #[inline]
    pub(crate) fn leave_tree(&self, previous: Tree) {
        self.tree.set(previous);
    }

    /// Before a push of structured work: publishes the current tree in this thread's slot
    /// for helpers (`find_helpable`), when it changed since the last push. Work that forks
    /// nothing never publishes; a stale tree only sends a helper to a slot whose jobs it
    /// then checks.
    #[inline]
    fn publish_tree(&self) {
        let tree = self.tree.get();
        if self.published.replace(tree) != tree {
            // ORDERING: Relaxed: a hint for helpers, which check the tree of what they steal.
            self.registry.slots[self.index]
                .tree
                .store(tree.addr(), Ordering::Relaxed);
        }
    }

    /// The tree of the work running now.
    #[inline]
    pub(crate) fn current_tree(&self) -> Tree {
        self.tree.get()
    }

    /// Before a push: makes sure the slot is in the registry's `work_hints`, so that
    /// thieves and threads about to sleep look at our deques (see `slot_set.rs`).
    #[inline]
    fn advertise(&self) {
        if !self.advertised.get() {
            self.registry.work_hints.insert(self.index);
            self.advertised.set(true);
        }
    }

    /// Before sleeping or retiring, with both deques empty: leaves `work_hints`.
    fn withdraw(&self) {
        debug_assert!(self.deques_are_empty());
        if self.advertised.replace(false) {
            self.registry.work_hints.remove(self.index);
        }
    }

    /// Pushes structured work onto this thread's deque, where others may steal it.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        self.advertise();
        self.publish_tree();
        self.deques.structured.push(job);
        self.registry.sleep.new_work();
    }

    /// Pushes a job this thread will come back for itself if nobody steals it (the second
    /// half of a `join`); see [`Sleep::new_work_for_self`](super::sleep::Sleep).
    #[inline]
    pub(crate) fn push_fork(&self, job: JobRef) {
        self.advertise();
        self.publish_tree();
        self.deques.structured.push(job);
        self.registry.sleep.new_work_for_self();
    }

    /// Forks the second half of a `join`: keeps it latent (on a plain thread-local ring, no
    /// atomics) or shares it on the structured deque, where others can steal it. The `join`
    /// calls [`take_latent`](Self::take_latent) with the returned slot once its first half
    /// ended, which takes the fork back unless it was shared.
    ///
    /// - The thread's outermost fork (no other fork open on this thread) is always
    ///   shared: it is the biggest piece of work on offer, and it stays stealable however
    ///   long the first half runs, so a long leaf below it never holds the pool back. A
    ///   fork ends when its first half did (`take_latent`): a second half run here after
    ///   that, and what the thread helps with while its thief runs it, fork at the same
    ///   depth as it did, so the outermost `join`'s second half shares its own biggest
    ///   piece in turn.
    /// - Deeper forks stay latent: the thread takes them back itself in a moment, at the
    ///   cost of a few plain stores, so fine-grained recursion touches no shared cache line.
    /// - While another thread is idle (spins before it sleeps, or sleeps) and this thread
    ///   has nothing on offer (its structured deque is empty), the fork is shared, the
    ///   latent ones first (oldest first): an idle thread always finds the biggest piece;
    ///   sharing wakes a sleeper, which counts it out of the sleepers at once. Once
    ///   something is on offer, further forks stay latent until a thief took it: sharing
    ///   every fork while the idle thread is still waking up (about 30 us here) cost a
    ///   push and a fenced pop per `join` for nothing (a 1023-node tree sum ran slower on
    ///   two threads than on one). Three relaxed loads of lines that change only when a
    ///   thread goes idle or wakes, or a thief steals.
    /// - While a thread waits in fork-join work for its thief (`Sleep::looking`), and when
    ///   `LATENT_FORKS` are latent, the oldest latent fork is shared (the new one if none
    ///   is latent).
    /// - While every thread is busy, forks stay latent.
    /// - Before a thread waits or blocks it shares all its latent forks (`share_latent`).
    ///
    /// Forks are shared oldest first, so those still latent are always the deepest ones, at
    /// depths `latent_base..fork_top`: a `join` learns whether its fork is still latent by
    /// comparing its depth with `latent_base`, and the ring is never searched or cleared.
    ///
    /// # Safety
    ///
    /// `job` must stay where it is, valid, until this thread called
    /// [`take_latent`](Self::take_latent) with the returned slot, and every fork made after
    /// this one on this thread must have been taken back by then: the ring keeps only
    /// `job`'s address, and sharing reads it from there. Every `join` does so before it
    /// returns or unwinds: the first half's panic is caught, and the `join`s it opened
    /// ended before it did.
    #[inline]
    pub(crate) unsafe fn fork(&self, job: &JobRef) -> ForkSlot {
        let depth = self.fork_top.get();
        let sleep = &self.registry.sleep;
        if depth == 0
            || depth - self.latent_base.get() == LATENT_FORKS
            || sleep.spinning() > 0
            || sleep.sleepers() > 0
            || sleep.looking() > 0
        {
            // SAFETY: forwarded from the caller.
            return unsafe { self.fork_rarely(depth, job) };
        }
        self.keep_latent(depth, job)
    }

    /// [`fork`](Self::fork) off its common path (all threads busy, no thread waiting for
    /// its thief, room in the ring), kept out of line so that `join` stays small.
    ///
    /// # Safety
    ///
    /// As for [`fork`](Self::fork).
    #[cold]
    #[inline(never)]
    unsafe fn fork_rarely(&self, depth: usize, job: &JobRef) -> ForkSlot {
        let sleep = &self.registry.sleep;
        if depth == 0
            || ((sleep.spinning() > 0 || sleep.sleepers() > 0) && self.deques.structured.is_empty())
        {
            // The outermost fork, or a thread is idle and finds nothing here: everything on
            // offer, oldest (biggest) first, as rayon would have it.
            self.share_latent();
            self.share_new(depth, job);
            return ForkSlot(depth);
        }
        if depth - self.latent_base.get() == LATENT_FORKS || sleep.looking() > 0 {
            // A ring full, or a thread waiting for its thief: the oldest fork, the biggest.
            if depth == self.latent_base.get() {
                self.share_new(depth, job);
                return ForkSlot(depth);
            }
            self.share_oldest_latent();
        }
        self.keep_latent(depth, job)
    }

    /// Keeps the fork at `depth` latent: its address in the ring, nothing shared.
    #[inline]
    fn keep_latent(&self, depth: usize, job: &JobRef) -> ForkSlot {
        self.latent[depth % LATENT_FORKS].set(job);
        self.fork_top.set(depth + 1);
        ForkSlot(depth)
    }

    /// Shares the fork at `depth`, the newest, while none below it is latent.
    #[inline]
    fn share_new(&self, depth: usize, job: &JobRef) {
        self.push_fork(*job);
        self.fork_top.set(depth + 1);
        self.latent_base.set(depth + 1);
    }

    /// Ends the fork at `slot` (after every later one ended): `true` if it is still latent,
    /// and then it is the caller's to run, `false` if it was shared.
    #[inline]
    pub(crate) fn take_latent(&self, slot: ForkSlot) -> bool {
        let ForkSlot(depth) = slot;
        debug_assert_eq!(
            self.fork_top.get(),
            depth + 1,
            "forks end in the reverse order"
        );
        self.fork_top.set(depth);
        if depth >= self.latent_base.get() {
            true
        } else {
            // Shared, and so was every fork below it: nothing at or above `depth` is open.
            self.latent_base.set(depth);
            false
        }
    }

    /// Moves the oldest latent fork to the structured deque, where others can steal it.
    fn share_oldest_latent(&self) {
        let base = self.latent_base.get();
        debug_assert!(base < self.fork_top.get(), "a latent fork at the base");
        let job = self.latent[base % LATENT_FORKS].get();
        self.latent_base.set(base + 1);
        // SAFETY: a latent fork's `JobRef` stays in its `join`'s frame until that `join`
        // took it back (contract of `fork`), and it was not taken back: it is still here.
        self.push_fork(unsafe { *job });
    }

    /// Shares every latent fork (oldest first, as they were made): before this thread waits
    /// or blocks, so that others can run them meanwhile.
    pub(crate) fn share_latent(&self) {
        while self.latent_base.get() < self.fork_top.get() {
            self.share_oldest_latent();
        }
    }

    /// Pushes a detached `Normal` job onto this thread's detached deque.
    #[inline]
    pub(super) fn push_detached(&self, job: DetachedRef) {
        self.advertise();
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

    /// Calls `visit` on each other slot that may hold work (see `work_hints`), starting at
    /// a random one, until it returns `Some`.
    fn find_victim<R>(&self, mut visit: impl FnMut(usize) -> Option<R>) -> Option<R> {
        let start = self.next_random() as usize;
        let limit = self.registry.live_slots().len();
        self.registry.work_hints.find_from(start, limit, |victim| {
            if victim == self.index {
                None
            } else {
                visit(victim)
            }
        })
    }

    /// Finds a job for the main loop (see the module docs for the order).
    #[inline]
    pub(crate) fn find_work(&self) -> Option<JobRef> {
        if let Some(job) = self.deques.structured.pop() {
            return Some(job);
        }
        self.find_queued()
    }

    /// Everything after the own structured deque, in order: queues only this thread or
    /// any thread takes from first (inbox, structured injector, the `High` lane), then this
    /// thread's own detached jobs, then other threads' structured work, then `Normal` jobs
    /// from other threads and then the injector, then `Low`. Every queue is looked at with a cheap
    /// emptiness check first: crossbeam's `Stealer::steal` pins an epoch (a fence) even when
    /// the deque is empty. Another thread's detached jobs are taken in batches: a short
    /// backlog that is still growing is waited for, briefly ([`wait_for_a_batch`]).
    fn find_queued(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        loop {
            let mut retry = false;
            if let Some(inbox) = registry.inboxes.get(self.index)
                && !inbox.is_empty()
                && let Some(job) = steal_result(inbox.steal(), &mut retry)
            {
                return Some(job);
            }
            if !registry.structured.is_empty()
                && let Some(job) = steal_result(registry.structured.steal(), &mut retry)
            {
                return Some(job);
            }
            // Detached jobs from here on: each leaves its queue once, here, and its entry
            // becomes the `JobRef` to execute.
            let high = &registry.lanes[Lane::High as usize];
            if !high.is_empty()
                && let Some(job) = steal_result(high.steal(), &mut retry)
            {
                // SAFETY: it left its queue just now, once.
                return Some(unsafe { job.job_ref() });
            }
            if let Some(job) = self.deques.detached.pop() {
                // SAFETY: as above.
                return Some(unsafe { job.job_ref() });
            }
            let stolen = self.find_victim(|victim| {
                let deque = &registry.slots[victim].structured;
                if deque.is_empty() {
                    return None;
                }
                steal_result(deque.steal(), &mut retry)
            });
            if let Some(job) = stolen {
                self.counters().stole();
                return Some(job);
            }
            // Other threads' detached jobs before the pool's queue: they were queued
            // earlier (taken from it in a batch), and a lane's order must hold
            // (tests/lane_order.rs: a thread busy with a long job held the rest of its batch
            // while later jobs ran).
            let stolen = self.find_victim(|victim| {
                let deque = &registry.slots[victim].detached;
                if wait_for_a_batch(deque) == 0 {
                    return None;
                }
                let steal =
                    deque.steal_batch_with_limit_and_pop(&self.deques.detached, STEAL_BATCH);
                steal_result(steal, &mut retry)
            });
            if let Some(job) = stolen {
                // SAFETY: as above.
                return Some(self.stole_batch(unsafe { job.job_ref() }));
            }
            let normal = &registry.lanes[Lane::Normal as usize];
            if !normal.is_empty()
                && let Some(job) = steal_result(
                    normal.steal_batch_and_pop(&self.deques.detached),
                    &mut retry,
                )
            {
                // SAFETY: as above.
                return Some(self.stole_batch(unsafe { job.job_ref() }));
            }
            if retry {
                continue;
            }
            // No `Normal` job anywhere: now a `Low` one.
            let low = &registry.lanes[Lane::Low as usize];
            if low.is_empty() {
                return None;
            }
            match low.steal() {
                // SAFETY: as above.
                Steal::Success(job) => return Some(unsafe { job.job_ref() }),
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
            self.advertise();
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
        if let Some(inbox) = registry.inboxes.get(self.index)
            && let Steal::Success(job) = inbox.steal()
        {
            return Some(job);
        }
        if tree == Tree::OUTSIDE
            && let Steal::Success(job) = registry.structured.steal()
        {
            if job.tree() == tree {
                return Some(job);
            }
            // Not ours to run here: back in the queue, and announced again (a thread
            // that looked while we held it may have gone to sleep).
            registry.structured.push(job);
            registry.sleep.new_work();
        }
        let mut moved = false;
        let found = self.find_victim(|victim| {
            let slot = &registry.slots[victim];
            // ORDERING: Relaxed: a hint; what is stolen is checked below.
            if slot.tree.load(Ordering::Relaxed) != tree.addr() || slot.structured.is_empty() {
                return None;
            }
            let Steal::Success(job) = slot.structured.steal() else {
                return None;
            };
            self.counters().stole();
            if job.tree() == tree {
                return Some(job);
            }
            // The victim moved on to another tree meanwhile: keep the job stealable on our
            // deque, and stop looking this round.
            moved = true;
            self.advertise();
            self.deques.structured.push(job);
            registry.sleep.new_work();
            Some(job)
        });
        if moved { None } else { found }
    }

    /// Runs work of the current tree until `latch` is set, parking when there is nothing to
    /// help with (see the module docs).
    pub(crate) fn wait_for_latch(&self, latch: &WakeLatch<'_>) {
        self.share_latent();
        let tree = self.tree.get();
        let depth = self.help_depth.get();
        let can_help = depth < MAX_HELP_DEPTH;
        let mut stall = Stall::new(self);
        let _looking = Looking::new(&self.registry.sleep);
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
                    self.registry.sleep.stop_looking();
                    self.execute(job);
                    self.registry.sleep.start_looking();
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

    /// Leaves the work hints and sleeps until there is work this thread could take, or the
    /// pool terminates. Its deques are empty (the caller checked).
    pub(crate) fn sleep_until_work(&self) {
        let registry = &*self.registry;
        self.withdraw();
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
        if self.is_spare()
            && self.deques_are_empty()
            && self.registry.spare_should_retire(self.index)
        {
            Some(self.retire())
        } else {
            None
        }
    }

    /// Retires a spare thread until it is needed again; `false` when the pool terminates.
    fn retire(&self) -> bool {
        self.withdraw();
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
    // Pinning and `on_thread_start`; a worker whose start failed runs no job and exits.
    if !registry.lifecycle.start_thread(index) {
        return;
    }
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
        if registry.sleep.start_spinning() {
            let backoff = Backoff::new();
            for _ in 0..IDLE_ROUNDS {
                backoff.snooze();
                if let Some(job) = worker.find_work() {
                    registry.sleep.stop_spinning();
                    worker.execute(job);
                    continue 'work;
                }
            }
            registry.sleep.stop_spinning();
        }
        if registry.terminating() {
            break;
        }
        if !worker.deques_are_empty() {
            continue;
        }
        worker.sleep_until_work();
    }
    registry.lifecycle.stop_thread(index);
    tracing::debug!("worker exited");
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use std::ptr::NonNull;

    use super::*;
    use crate::job::{Job, JobRef, Mode};
    use crate::sync::AtomicBool;

    /// A job that is never run: the deques in these tests only hold and count entries.
    struct Inert;

    impl Job for Inert {
        unsafe fn execute(_: NonNull<Self>, _: Mode) {}
    }

    static INERT: Inert = Inert;

    fn entry() -> JobRef {
        // SAFETY: the entries are never executed; the static outlives them.
        unsafe { JobRef::new(NonNull::from(&INERT), Tree::OUTSIDE) }
    }

    #[test]
    fn a_thief_takes_an_empty_deque_or_a_whole_batch_at_once() {
        let deque = Worker::new_fifo();
        assert_eq!(wait_for_a_batch(&deque.stealer()), 0);
        for _ in 0..2 * STEAL_BATCH {
            deque.push(entry());
        }
        assert_eq!(wait_for_a_batch(&deque.stealer()), 2 * STEAL_BATCH);
    }

    #[test]
    fn a_thief_takes_a_short_backlog_that_stopped_growing() {
        let deque = Worker::new_fifo();
        deque.push(entry());
        deque.push(entry());
        assert_eq!(wait_for_a_batch(&deque.stealer()), 2);
    }

    #[test]
    fn a_thief_waiting_for_a_backlog_that_keeps_growing_returns_with_it() {
        let deque = Worker::new_fifo();
        let stealer = deque.stealer();
        let stop = &AtomicBool::new(false);
        std::thread::scope(|scope| {
            // The owner pushes on its own thread (a `Worker` stays with one thread).
            scope.spawn(move || {
                // ORDERING: Relaxed: a stop flag; nothing rides on it.
                while !stop.load(Ordering::Relaxed) {
                    deque.push(entry());
                    std::hint::spin_loop();
                }
            });
            while stealer.is_empty() {
                std::hint::spin_loop();
            }
            let started = std::time::Instant::now();
            let len = wait_for_a_batch(&stealer);
            let waited = started.elapsed();
            // ORDERING: Relaxed, as above.
            stop.store(true, Ordering::Relaxed);
            assert!(len > 0, "a non-empty deque is never reported empty");
            // At most GROWTH_LOOKS looks of GROWTH_PAUSES pauses (about 8 us here): far
            // under a second even on a loaded machine.
            assert!(waited < Duration::from_secs(1), "waited {waited:?}");
        });
    }
}
