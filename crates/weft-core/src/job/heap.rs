//! [`HeapJob`]: the single allocation behind `spawn`, `spawn_worker`, `execute` and scoped
//! spawns, and the state machine that decides who runs the job, who resolves its handle and
//! who frees it.
//!
//! # The allocation
//!
//! One block holds the [`Header`] (state word, vtable, pool), the waiter cell, one cell for
//! the closure and then its outcome (the closure is gone before the outcome is written, so
//! they share the space: a job capturing a word and returning a word fits a 64-byte block),
//! and the job's kind. Up to three holders share it, counted in the state
//! word: the queue entry (the [`JobRef`] in a queue, then the thread that pops it), the
//! handle (none for `execute`), and the timer (one per timer entry, later). Whoever lets go
//! last frees the block; nobody touches it after letting go.
//!
//! # The state word
//!
//! | bit | set by | meaning |
//! |---|---|---|
//! | `CLAIMED` | the first claimer | someone owns the closure: a worker that popped the job, a handle that runs it inline or cancels it, the timer that expires it |
//! | `DISCARDING` | a cancelling handle | the handle is counting the cancel in the pool's stats: a worker that pops the job waits until it clears, which keeps the pool alive for the handle |
//! | `FINISHING` | outcome racers | the outcome is decided and being counted (a run timeout racing the job's return) |
//! | `DONE` + one of `VALUE` / `CANCELLED` / `TIMED_OUT` | the outcome's owner | the handle-visible outcome, published with release ordering; with `VALUE` the outcome cell holds the closure's result or panic |
//! | `WAITING` | the handle | the waiter cell holds a waiter; once `DONE` is set with it, the publisher owns the cell, wakes the waiter and clears the bit |
//! | `TAKEN` | the handle, when it lets go | it moved the value out (so the block's free does not drop it again) |
//! | `CANCEL_REQUESTED` | a handle's `cancel`, a run timeout | `weft::is_cancelled()` inside the job |
//! | `BY_HANDLE` | a cancelling handle, with `CLAIMED` | the handle cancelled it (not `shutdown_now`): a second `cancel` answers `true` too |
//! | count (high bits) | holders | how many holders the block has left |
//!
//! A job runs or is cancelled (or expired), never both and never neither: claiming is one
//! RMW that sets `CLAIMED`, and only the thread that set it owns the closure. Only the owner of
//! the outcome writes the outcome cell, and only before setting `DONE`; the handle reads it
//! only after seeing `DONE | VALUE` with acquire ordering.
//!
//! # Counting before resolving
//!
//! Every transition counts the job in the pool's stats before it sets `DONE`, so stats read
//! after a `join` already include the job. The counting thread is the claimer (started,
//! cancelled) or the outcome's owner (completed, panicked).
//!
//! # User code
//!
//! A closure's `Drop`, a result's `Drop` and a waker's `wake` are user code. On a worker
//! thread (and on the timer thread) every one of them runs inside `catch_unwind`: a worker
//! thread never dies of a user's panic, so every queued job is popped, and the pool (which a
//! queued detached job's handle may still reach through [`Header::registry`]) outlives every
//! queued job.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use tracing::Level;
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};

use crate::engine::registry::Registry;
use crate::engine::timer::TimerKey;
use crate::engine::worker::WorkerThread;
use crate::job::{self, CANCEL_REQUESTED, Job, JobRef, Mode, Panic, Tree};
use crate::stats::Event;
use crate::sync::{AtomicUsize, Backoff, Ordering, Thread, UnsafeCell};

const CLAIMED: usize = 1 << 0;
const DISCARDING: usize = 1 << 1;
const FINISHING: usize = 1 << 2;
const DONE: usize = 1 << 3;
const VALUE: usize = 1 << 4;
const CANCELLED: usize = 1 << 5;
const TIMED_OUT: usize = 1 << 6;
const WAITING: usize = 1 << 7;
const TAKEN: usize = 1 << 8;
// CANCEL_REQUESTED is bit 9 (job/mod.rs: `Tree` reads it).
/// Set with `CLAIMED` by a cancelling handle (so `cancel` keeps answering `true`).
const BY_HANDLE: usize = 1 << 10;
/// One holder in the count.
const HOLDER: usize = 1 << 11;

const _: () = assert!(CANCEL_REQUESTED == 1 << 9);

/// How many holders a state word counts.
#[inline]
fn holders(state: usize) -> usize {
    state / HOLDER
}

/// The outcome a handle finds, once the job is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The closure returned or panicked: the outcome cell holds it.
    Value,
    /// It never ran: cancelled by its handle or by `shutdown_now`.
    Cancelled,
    /// It timed out (a queue or run timeout).
    TimedOut,
}

/// A sleeping handle, as registered in a job.
pub(crate) enum Waiter {
    /// A blocked thread.
    Thread(Thread),
    /// An async task.
    Task(Waker),
}

impl Waiter {
    /// Wakes the waiter. A waker's `wake` is user code: on a worker or the timer thread its
    /// panic is caught and reported, never allowed to unwind the thread.
    fn wake_quietly(self) {
        match self {
            Waiter::Thread(thread) => thread.unpark(),
            Waiter::Task(waker) => {
                if panic::catch_unwind(AssertUnwindSafe(|| waker.wake())).is_err() {
                    tracing::error!(
                        "a waker's wake() panicked while a job's outcome was delivered"
                    );
                }
            }
        }
    }
}

/// What every heap job starts with; handles reach it through a type-erased pointer.
#[derive(Debug)]
pub(crate) struct Header {
    state: AtomicUsize,
    vtable: &'static VTable,
    /// The pool the job was queued in (for a detached job, where a cancel by its handle is
    /// counted and gives its queue place back). Alive while the job is queued: see the
    /// module docs.
    registry: NonNull<Registry>,
    /// What only some jobs have: a name, timeouts (`JobBuilder`). One more allocation for
    /// those jobs, none for plain ones.
    extras: Option<Box<Extras>>,
}

/// The options of a job made with `pool.job()`, and where its timer entries sit.
#[derive(Debug)]
pub(crate) struct Extras {
    pub(crate) name: Option<Box<str>>,
    /// `timeout(d)`: limit on running time.
    pub(crate) run_timeout: Option<Duration>,
    /// `queue_timeout(d)`: limit on waiting time, as a deadline.
    pub(crate) queue_deadline: Option<Instant>,
    /// The queue timeout's timer entry: written before the job is queued, taken by its
    /// claimer (whoever set `CLAIMED`, the one thread that touches it afterwards).
    queue_key: UnsafeCell<Option<TimerKey>>,
    /// The run timeout's timer entry: written and taken by the thread running the job.
    run_key: UnsafeCell<Option<TimerKey>>,
}

impl Extras {
    pub(crate) fn new(
        name: Option<Box<str>>,
        run_timeout: Option<Duration>,
        queue_deadline: Option<Instant>,
    ) -> Self {
        Extras {
            name,
            run_timeout,
            queue_deadline,
            queue_key: UnsafeCell::new(None),
            run_key: UnsafeCell::new(None),
        }
    }
}

/// Which of a job's timeouts a timer entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// Not started by the deadline: it never runs.
    Queue,
    /// Still running at the deadline: its handle resolves with `TimedOut`.
    Run,
}

#[derive(Debug)]
struct VTable {
    /// A detached job (counted in the pool's stats and `max_queued`), not a scoped one.
    detached: bool,
    /// Runs (or under `Mode::Cancel` cancels) a job the caller claimed and publishes its
    /// outcome; `release`: the caller is the queue entry's holder and lets go of the block
    /// with the publish.
    run: unsafe fn(NonNull<Header>, Mode, bool),
    /// Drops the closure of a job the caller claimed and will not run.
    drop_func: unsafe fn(NonNull<Header>),
    /// Frees the block (dropping an untaken outcome and a leftover waiter).
    free: unsafe fn(NonNull<Header>),
    /// Moves the outcome (a `Result<T, Panic>`) out of a done job into the place given.
    take_value: unsafe fn(NonNull<Header>, NonNull<u8>),
    /// The queue entry of a [`DetachedRef`].
    job_ref: unsafe fn(NonNull<Header>) -> JobRef,
}

/// A queued detached job, one word: the queues that hold only detached jobs (the lanes and
/// every thread's detached deque) store these, eight to a cache line where a [`JobRef`]
/// takes three words. A worker that pushes a stream of jobs while another thread steals
/// them writes slots the thief has read, one cache-line transfer per line of slots; and a
/// deque holding a million jobs is 8 MB, not 24. The `JobRef` is rebuilt from the job's
/// vtable when it leaves the queue (its header is read then anyway, to claim it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DetachedRef(NonNull<Header>);

// SAFETY: as for `JobRef`: a promise that the job may run on another thread, checked by the
// `Send` bounds of `HeapJob::allocate`.
unsafe impl Send for DetachedRef {}

impl DetachedRef {
    /// The entry to execute.
    ///
    /// # Safety
    ///
    /// The job has not been executed yet (the entry is the queue's hold on the block).
    #[inline]
    pub(crate) unsafe fn job_ref(self) -> JobRef {
        // SAFETY: the queue entry holds the block; the vtable is the job's own.
        unsafe { (self.0.as_ref().vtable.job_ref)(self.0) }
    }
}

impl Header {
    /// `true` once the outcome is published.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        // ORDERING: Acquire pairs with the publisher's Release (see `publish`): a caller that
        // sees DONE sees the outcome cell written.
        self.state.load(Ordering::Acquire) & DONE != 0
    }

    /// The published outcome.
    ///
    /// # Panics
    ///
    /// If the job is not done (the caller checks [`is_done`](Self::is_done) first).
    #[inline]
    pub(crate) fn outcome(&self) -> Outcome {
        // ORDERING: Acquire, as in `is_done`.
        let state = self.state.load(Ordering::Acquire);
        assert!(
            state & DONE != 0,
            "a job's outcome was read before it was done"
        );
        if state & VALUE != 0 {
            Outcome::Value
        } else if state & CANCELLED != 0 {
            Outcome::Cancelled
        } else {
            Outcome::TimedOut
        }
    }

    /// The job's name, from `JobBuilder::name`.
    pub(crate) fn name(&self) -> Option<&str> {
        self.extras.as_ref()?.name.as_deref()
    }

    /// Counts one more holder (a timer entry the caller is about to make).
    fn add_holder(&self) {
        // ORDERING: Relaxed: the caller already holds the block, so the count cannot drop
        // to zero meanwhile; the timer that takes the new hold synchronises through its mutex.
        self.state.fetch_add(HOLDER, Ordering::Relaxed);
    }

    /// For the submitter of a job with a queue timeout, before the job is queued: makes its
    /// timer entry (with a hold of its own).
    ///
    /// # Safety
    ///
    /// `this` is a freshly allocated job's header (the caller holds it, nobody else has seen
    /// it), with the whole block's provenance, queued in `registry`'s pool.
    #[inline]
    pub(crate) unsafe fn arm_queue_timer(this: NonNull<Header>, registry: &Arc<Registry>) {
        // SAFETY: the caller holds the block.
        let header = unsafe { this.as_ref() };
        let Some(extras) = &header.extras else { return };
        let Some(deadline) = extras.queue_deadline else {
            return;
        };
        header.add_holder();
        let key = registry
            .timer()
            .insert(registry, deadline, this, TimerKind::Queue);
        // SAFETY: nobody else touches the key before the job is queued (the claimer takes it
        // after the queue handed the job over, which orders it after this write). The timer
        // may fire before that, but it never touches the key.
        extras
            .queue_key
            .with_mut(|slot| unsafe { *slot = Some(key) });
    }

    /// For the claimer of a job with a queue timeout: takes its timer entry back, so the
    /// timer will not fire it; lets go of the entry's hold if the timer had not taken it.
    #[inline]
    fn remove_queue_timer(&self, registry: &Registry) {
        let Some(extras) = &self.extras else { return };
        // SAFETY: the claimer is the one thread that touches `queue_key` after the job was
        // queued (module docs of `Extras`).
        let Some(key) = extras.queue_key.with_mut(|key| unsafe { (*key).take() }) else {
            return;
        };
        if registry.timer().remove(key) {
            // The claimer still holds the block: this cannot be the last hold.
            let last = self.release(false);
            debug_assert!(!last, "a claimer holds the job");
        }
    }

    /// The timer fires an entry of the job at `this`: a queue timeout expires a job nobody
    /// claimed; a run timeout resolves the handle of a job still running. Lets go of the
    /// entry's hold. `pool` is `None` only if the pool is gone, and then the job finished.
    ///
    /// # Safety
    ///
    /// The caller owns the timer entry's hold on the block; `this` has the whole block's
    /// provenance.
    pub(crate) unsafe fn fire_timer(
        this: NonNull<Header>,
        kind: TimerKind,
        pool: Option<&Arc<Registry>>,
    ) {
        // SAFETY: we hold the block.
        let header = unsafe { this.as_ref() };
        let fired = match (kind, pool) {
            (TimerKind::Queue, Some(pool)) if header.try_claim() => {
                // Queued, so counted in `max_queued`; never runs.
                pool.count_timed_out(false);
                pool.release_queue_place();
                // SAFETY: we claimed the closure and will not run it.
                let dropped = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
                    (header.vtable.drop_func)(this)
                }));
                if dropped.is_err() {
                    tracing::error!("dropping the closure of an expired job panicked");
                }
                // SAFETY: we own the outcome and hold the block (the entry's hold).
                unsafe { publish(this, TIMED_OUT, 0, true) };
                true
            }
            (TimerKind::Run, Some(pool)) if header.try_finish(CANCEL_REQUESTED) => {
                pool.count_timed_out(true);
                // SAFETY: we won FINISHING: the outcome is ours; the entry's hold.
                unsafe { publish(this, TIMED_OUT, FINISHING, true) };
                true
            }
            _ => false,
        };
        if !fired && header.release(false) {
            // SAFETY: we were the last holder.
            unsafe { free_quietly(this) };
        }
    }

    /// Takes the outcome of a running job with a run timeout (the job's return racing its
    /// timer): sets `FINISHING` (and `extra`) unless the outcome is taken already.
    fn try_finish(&self, extra: usize) -> bool {
        // ORDERING: Relaxed: a first guess for the CAS.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & (DONE | FINISHING) != 0 {
                return false;
            }
            // ORDERING: Acquire on success: the winner owns the outcome cell from here on;
            // the publish that follows releases what it writes.
            match self.state.compare_exchange_weak(
                state,
                state | FINISHING | extra,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    /// `true` if the job was queued in `registry`'s pool.
    pub(crate) fn belongs_to(&self, registry: &Registry) -> bool {
        std::ptr::eq(self.registry.as_ptr(), registry)
    }

    /// The tree a job's own fork-join work belongs to.
    pub(crate) fn tree(&self) -> Tree {
        Tree::of(&self.state)
    }

    /// Claims the closure (to run it or discard it); `false` if someone claimed it first.
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        // ORDERING: Acquire: the claimer reads the closure, written before the job was
        // published (the queue push, or the handle's own creation, released it).
        self.state.fetch_or(CLAIMED, Ordering::Acquire) & CLAIMED == 0
    }

    /// Claims the closure as a popping worker: `false` if someone claimed it first, after
    /// waiting for a cancelling handle to finish counting (so that the pool, which the
    /// handle is using, outlives that).
    #[inline]
    fn claim_or_wait(&self) -> bool {
        // ORDERING: Acquire, as in `try_claim`.
        let before = self.state.fetch_or(CLAIMED, Ordering::Acquire);
        if before & CLAIMED == 0 {
            return true;
        }
        if before & DISCARDING != 0 {
            let backoff = Backoff::new();
            // ORDERING: Acquire pairs with the canceller's Release when it clears DISCARDING.
            while self.state.load(Ordering::Acquire) & DISCARDING != 0 {
                backoff.snooze();
            }
        }
        false
    }

    /// Lets go of one hold; `true` if it was the last (the caller must free the block).
    ///
    /// `took`: the caller is the handle and moved the value out.
    #[inline]
    fn release(&self, took: bool) -> bool {
        let delta = if took {
            TAKEN.wrapping_sub(HOLDER)
        } else {
            HOLDER.wrapping_neg()
        };
        // ORDERING: AcqRel: Release so everything this holder did happens-before the free by
        // whoever lets go last; Acquire so that, if that is us, the others' accesses
        // happen-before ours.
        holders(self.state.fetch_add(delta, Ordering::AcqRel)) == 1
    }

    /// The handle's cancel: `Some(true)` when the job was queued and is now cancelled,
    /// `Some(false)` when it had been cancelled before (by the handle or by `shutdown_now`),
    /// `None` when it is running or finished some other way (a stop is requested instead).
    ///
    /// # Safety
    ///
    /// `this` is a live heap job's header (the caller holds it), with the whole block's
    /// provenance; the caller is its handle.
    pub(crate) unsafe fn cancel(this: NonNull<Header>) -> Option<bool> {
        // SAFETY: the caller holds the block.
        let header = unsafe { this.as_ref() };
        // ORDERING: Acquire to read the current state (and, when claimed, what came with it).
        let mut state = header.state.load(Ordering::Acquire);
        loop {
            if state & CLAIMED != 0 {
                if state & BY_HANDLE != 0 {
                    // This handle cancelled it (or another call of it is doing so now).
                    return Some(false);
                }
                // ORDERING: Relaxed: a request the job polls; no data rides on it.
                header.state.fetch_or(CANCEL_REQUESTED, Ordering::Relaxed);
                return None;
            }
            // ORDERING: Acquire on success: we own the closure now (see `try_claim`).
            match header.state.compare_exchange_weak(
                state,
                state | CLAIMED | DISCARDING | BY_HANDLE,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if header.vtable.detached {
            // SAFETY: the job was queued when we claimed it, and a worker that pops it waits
            // for DISCARDING to clear before it goes on (module docs): the pool is alive.
            let registry = unsafe { header.registry.as_ref() };
            registry.count_cancelled();
            // The job no longer waits: give its `max_queued` place back now.
            registry.release_queue_place();
            header.remove_queue_timer(registry);
        }
        // ORDERING: Release pairs with the popping worker's Acquire in `claim_or_wait`: our
        // use of the pool happens-before it goes on.
        header.state.fetch_and(!DISCARDING, Ordering::Release);
        // SAFETY: we claimed the closure and will not run it.
        let dropped = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
            (header.vtable.drop_func)(this)
        }));
        // SAFETY: we hold the block (the handle) and own the outcome; not releasing.
        unsafe { publish(this, CANCELLED, 0, false) };
        if let Err(payload) = dropped {
            // Reported to the caller of `cancel`, after the job is consistently cancelled.
            panic::resume_unwind(payload);
        }
        Some(true)
    }

    /// Runs the closure of a job the caller claimed with [`try_claim`](Self::try_claim),
    /// on the calling worker thread, and publishes its outcome; under `shutdown_now`
    /// (`Mode::Cancel`) cancels it instead, as a popping worker would. The caller keeps its
    /// hold.
    ///
    /// # Safety
    ///
    /// The caller claimed the job, holds it (as its handle), and is on a worker thread of
    /// the job's pool.
    pub(crate) unsafe fn run_claimed_inline(this: NonNull<Header>, mode: Mode) {
        // SAFETY: forwarded; not the queue entry, so no release.
        unsafe { (this.as_ref().vtable.run)(this, mode, false) }
    }

    /// Registers `waiter` to be woken when the job is done, replacing a waiter registered
    /// before. `Err(waiter)` when the job is already done.
    ///
    /// # Safety
    ///
    /// The caller is the job's handle (the only one who registers), on one thread at a time.
    pub(crate) unsafe fn register(this: NonNull<Header>, waiter: Waiter) -> Result<(), Waiter> {
        // SAFETY: the handle holds the block.
        let header = unsafe { this.as_ref() };
        // ORDERING: Acquire, as in `is_done`.
        let mut state = header.state.load(Ordering::Acquire);
        if state & DONE != 0 {
            return Err(waiter);
        }
        if state & WAITING != 0 {
            // SAFETY: same caller, same contract.
            if !unsafe { Header::unregister(this) } {
                return Err(waiter);
            }
            state &= !WAITING;
        }
        // SAFETY: WAITING is clear, so the cell belongs to the handle and holds nothing.
        unsafe { waiter_cell(this) }.with_mut(|cell| unsafe { (*cell).write(waiter) });
        loop {
            // ORDERING: Release publishes the waiter to the publisher, which reads it after
            // its own AcqRel RMW; Acquire on failure to see a publisher's outcome.
            match header.state.compare_exchange_weak(
                state,
                state | WAITING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) if actual & DONE != 0 => {
                    // SAFETY: WAITING was never set: the cell is still ours.
                    let waiter = unsafe { waiter_cell(this) }
                        .with(|cell| unsafe { (*cell).assume_init_read() });
                    return Err(waiter);
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// Takes back a registered waiter before the job is done: `true` if one was registered
    /// and is now dropped; `false` if none was, or if the job is done and its publisher owns
    /// the waiter (and wakes it, or has).
    ///
    /// # Safety
    ///
    /// As for [`register`](Self::register).
    pub(crate) unsafe fn unregister(this: NonNull<Header>) -> bool {
        // SAFETY: the handle holds the block.
        let header = unsafe { this.as_ref() };
        // ORDERING: Acquire, as in `is_done`.
        let mut state = header.state.load(Ordering::Acquire);
        loop {
            if state & WAITING == 0 || state & DONE != 0 {
                return false;
            }
            // ORDERING: Acquire: nothing of the publisher's is read on success (it never had
            // the waiter); on failure we only re-check.
            match header.state.compare_exchange_weak(
                state,
                state & !WAITING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        // SAFETY: we cleared WAITING before DONE was set: the waiter is ours again.
        let waiter =
            unsafe { waiter_cell(this) }.with(|cell| unsafe { (*cell).assume_init_read() });
        drop(waiter);
        true
    }

    /// The handle lets go: `took` says whether it moved the value out. Frees the block if the
    /// handle was its last holder (on the handle's thread: a panicking `Drop` of an untaken
    /// result reaches the caller).
    ///
    /// # Safety
    ///
    /// The caller is the job's handle, letting go once; `this` has the whole block's
    /// provenance.
    pub(crate) unsafe fn release_handle(this: NonNull<Header>, took: bool) {
        // SAFETY: the handle holds the block until this release.
        if unsafe { this.as_ref() }.release(took) {
            // SAFETY: we were the last holder.
            unsafe { (this.as_ref().vtable.free)(this) };
        }
    }
}

/// The waiter cell of the job at `this`.
///
/// # Safety
///
/// `this` is a live heap job's header with the whole block's provenance.
unsafe fn waiter_cell(this: NonNull<Header>) -> &'static UnsafeCell<MaybeUninit<Waiter>> {
    // SAFETY: every heap job is a `JobCore<T>` first (repr(C)), whose waiter cell's offset does
    // not depend on `T` (it comes before the outcome); a raw projection keeps the block's
    // provenance. The `'static` is the caller's to keep honest: the reference is used only
    // while the block is held.
    unsafe { &(*this.cast::<JobCore<()>>().as_ptr()).waiter }
}

/// Publishes `outcome` (`VALUE`, `CANCELLED` or `TIMED_OUT`, with `DONE`), clears `clear`
/// bits, lets go of the caller's hold if `release`, and wakes a registered waiter; frees the
/// block if that was its last hold (catching a panic of the freeing `Drop`s).
///
/// # Safety
///
/// The caller owns the outcome (it claimed the job, or won `FINISHING`), has written the
/// outcome cell for `VALUE`, and holds the block; `this` has the whole block's provenance.
unsafe fn publish(this: NonNull<Header>, outcome: usize, clear: usize, release: bool) {
    // SAFETY: the caller holds the block.
    let header = unsafe { this.as_ref() };
    let drop_hold = if release { HOLDER } else { 0 };
    // ORDERING: Relaxed: only a first guess for the CAS, which orders itself.
    let mut state = header.state.load(Ordering::Relaxed);
    loop {
        let mut next = (state & !clear) | DONE | outcome;
        if state & WAITING == 0 {
            next -= drop_hold;
        }
        // ORDERING: AcqRel: Release publishes the outcome cell (and the counts) to whoever
        // sees DONE; Acquire makes a registered waiter (released by the handle's CAS) and,
        // if we free, every other holder's accesses visible.
        match header
            .state
            .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => break,
            Err(actual) => state = actual,
        }
    }
    let last = if state & WAITING != 0 {
        // SAFETY: DONE is now set with WAITING: the waiter cell is ours (`unregister` can no
        // longer take it back), and we still hold the block.
        let waiter =
            unsafe { waiter_cell(this) }.with(|cell| unsafe { (*cell).assume_init_read() });
        // ORDERING: AcqRel, as for `release`: after this the handle may free the block, so
        // the read above must come first; WAITING is known set and only we clear it now.
        let before = header
            .state
            .fetch_sub(WAITING + drop_hold, Ordering::AcqRel);
        waiter.wake_quietly();
        release && holders(before) == 1
    } else {
        release && holders(state) == 1
    };
    if last {
        // SAFETY: we were the last holder.
        unsafe { free_quietly(this) };
    }
}

/// Frees the block on a worker or timer thread, catching a panic of the `Drop`s it runs.
///
/// # Safety
///
/// The caller was the block's last holder.
unsafe fn free_quietly(this: NonNull<Header>) {
    // SAFETY: forwarded.
    let freed = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        (this.as_ref().vtable.free)(this)
    }));
    if freed.is_err() {
        tracing::error!("dropping the result of a job panicked");
    }
}

#[cfg(all(test, weft_loom))]
std::thread_local! {
    /// Heap jobs allocated and not yet freed on this OS thread (a loom model runs on one).
    pub(crate) static LIVE_JOBS: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

/// The part of a heap job a handle can name: header and waiter. The outcome sits after it,
/// where only the job's vtable knows (its offset depends on the closure's alignment).
#[repr(C)]
pub(crate) struct JobCore<T> {
    pub(crate) header: Header,
    waiter: UnsafeCell<MaybeUninit<Waiter>>,
    outcome: PhantomData<T>,
}

impl<T> JobCore<T> {
    /// Moves the value out of a done job whose outcome is [`Outcome::Value`].
    ///
    /// # Safety
    ///
    /// `this` is the core of a live heap job with outcome type `T` and the whole block's
    /// provenance; the caller is its handle, saw [`Outcome::Value`], takes it once, and
    /// releases with `took: true`.
    #[inline]
    pub(crate) unsafe fn take_value(this: NonNull<Self>) -> Result<T, Panic> {
        let mut value = MaybeUninit::<Result<T, Panic>>::uninit();
        // SAFETY: the vtable is the job's own, whose outcome type is `T`; forwarded.
        unsafe {
            (this.as_ref().header.vtable.take_value)(this.cast(), NonNull::from(&mut value).cast());
            value.assume_init()
        }
    }
}

/// The closure of a queued job, and (with `record_timing`) its submission time in
/// nanoseconds since the pool's epoch.
struct Pending<F> {
    func: ManuallyDrop<F>,
    stamp: u64,
}

/// A heap job's closure until it is claimed, then (once it ran) its outcome: never both
/// (the claimer moves the closure out before it runs it, and writes the outcome after).
#[repr(C)]
union Slot<F, T> {
    pending: ManuallyDrop<Pending<F>>,
    outcome: ManuallyDrop<Result<T, Panic>>,
}

/// What kind of heap job this is: how it is counted and what happens around it.
pub(crate) trait JobKind: Copy + Send {
    /// Detached (counted in the stats and in `max_queued`), not scoped.
    const DETACHED: bool;
    /// A claimer on `worker` took the job out of the queue (to run or to discard it): a
    /// detached job gives its `max_queued` place back. A cancelling handle gives the place
    /// back itself.
    fn left_queue(self, worker: &WorkerThread);
    /// Counts the job as started, finished or cancelled on `worker`'s stats.
    fn count(self, worker: &WorkerThread, event: Event);
    /// The block is being freed; `result` is the outcome nobody took.
    fn on_free<T>(self, result: Option<Result<T, Panic>>);
    /// The queue entry's holder is done with the job (after it may have freed it).
    fn after_queue_entry(self);
}

/// Detached jobs (`spawn`, `spawn_worker`, `execute`): counted in the pool's stats.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detached;

impl JobKind for Detached {
    const DETACHED: bool = true;

    #[inline]
    fn left_queue(self, worker: &WorkerThread) {
        worker.registry().release_queue_place();
    }

    #[inline]
    fn count(self, worker: &WorkerThread, event: Event) {
        worker.count(event);
    }

    fn on_free<T>(self, result: Option<Result<T, Panic>>) {
        drop(result);
    }

    fn after_queue_entry(self) {}
}

/// A heap job: the core first (so a `JobCore<T>` or `Header` pointer reaches it), then the
/// closure-or-outcome slot and the kind.
#[repr(C)]
pub(crate) struct HeapJob<F, T, K> {
    core: JobCore<T>,
    slot: UnsafeCell<Slot<F, T>>,
    kind: K,
}

impl<F, T, K> HeapJob<F, T, K>
where
    F: FnOnce() -> T + Send,
    T: Send,
    K: JobKind,
{
    const VTABLE: VTable = VTable {
        detached: K::DETACHED,
        run: Self::run,
        drop_func: Self::drop_func,
        free: Self::free,
        take_value: Self::take_value,
        job_ref: Self::detached_job_ref,
    };

    /// Allocates the job for `registry`'s pool, held by its queue entry and, when
    /// `with_handle`, its handle.
    pub(crate) fn allocate(
        func: F,
        kind: K,
        registry: &Registry,
        with_handle: bool,
    ) -> NonNull<JobCore<T>> {
        Self::allocate_with(func, kind, registry, with_handle, None)
    }

    /// [`allocate`](Self::allocate) with the options of `JobBuilder`.
    pub(crate) fn allocate_with(
        func: F,
        kind: K,
        registry: &Registry,
        with_handle: bool,
        extras: Option<Box<Extras>>,
    ) -> NonNull<JobCore<T>> {
        let holders = if with_handle { 2 } else { 1 };
        // record_timing: the submission time rides with the closure (nothing else reads the
        // slot before the job is claimed), so timing costs a job no space of its own.
        let stamp = match registry.timing() {
            Some(timing) if K::DETACHED => timing.now(),
            _ => 0,
        };
        let job = Self {
            core: JobCore::<T> {
                header: Header {
                    state: AtomicUsize::new(holders * HOLDER),
                    vtable: &Self::VTABLE,
                    registry: NonNull::from(registry),
                    extras,
                },
                waiter: UnsafeCell::new(MaybeUninit::uninit()),
                outcome: PhantomData,
            },
            slot: UnsafeCell::new(Slot {
                pending: ManuallyDrop::new(Pending {
                    func: ManuallyDrop::new(func),
                    stamp,
                }),
            }),
            kind,
        };
        let block = job::alloc::allocate(Layout::new::<Self>()).cast::<Self>();
        // SAFETY: a fresh block of this type's layout, ours alone.
        unsafe { block.write(job) };
        #[cfg(all(test, weft_loom))]
        LIVE_JOBS.with(|live| live.set(live.get() + 1));
        block.cast()
    }

    /// The queue entry of a job made by [`allocate`](Self::allocate).
    ///
    /// # Safety
    ///
    /// `core` came from `allocate` with these type parameters, and the returned `JobRef` is
    /// queued once.
    pub(crate) unsafe fn job_ref(core: NonNull<JobCore<T>>, tree: Tree) -> JobRef {
        // SAFETY: `repr(C)`: the core is the first field, so the cast gets the whole job.
        unsafe { JobRef::new(core.cast::<Self>(), tree) }
    }

    /// The queue entry of a detached job made by [`allocate`](Self::allocate), for the
    /// queues of detached jobs.
    ///
    /// # Safety
    ///
    /// As for [`job_ref`](Self::job_ref), for a job outside any fork-join tree.
    pub(crate) unsafe fn detached_ref(core: NonNull<JobCore<T>>) -> DetachedRef {
        DetachedRef(core.cast())
    }

    /// The vtable's `job_ref`.
    ///
    /// # Safety
    ///
    /// `header` is the header of a queued `Self` made by [`allocate`](Self::allocate).
    unsafe fn detached_job_ref(header: NonNull<Header>) -> JobRef {
        // SAFETY: forwarded: the entry is executed once (it left its queue once).
        unsafe { JobRef::new(header.cast::<Self>(), Tree::OUTSIDE) }
    }

    /// Takes the closure out of a claimed job, with its submission stamp.
    ///
    /// # Safety
    ///
    /// The caller claimed the job and takes the closure once.
    unsafe fn take_func(job: *const Self) -> (F, u64) {
        // SAFETY: the claimer owns the slot, which holds the closure, untouched until now;
        // moved out once.
        unsafe {
            (*job).slot.with_mut(|slot| {
                let pending: &mut Pending<F> = &mut (*slot).pending;
                (ManuallyDrop::take(&mut pending.func), pending.stamp)
            })
        }
    }

    /// The vtable's `take_value`.
    ///
    /// # Safety
    ///
    /// As for [`JobCore::take_value`]; `out` is valid for a write of `Result<T, Panic>`.
    unsafe fn take_value(header: NonNull<Header>, out: NonNull<u8>) {
        let job = header.cast::<Self>().as_ptr();
        // SAFETY: DONE | VALUE was seen with Acquire: the slot holds the outcome and nobody
        // else touches it any more; moved out once, into the caller's place.
        unsafe {
            (*job).slot.with_mut(|slot| {
                let value = ManuallyDrop::take(&mut (*slot).outcome);
                out.cast::<Result<T, Panic>>().write(value);
            });
        }
    }

    /// The vtable's `drop_func`.
    ///
    /// # Safety
    ///
    /// `header` is the header of a `Self` the caller claimed and will not run; called once.
    unsafe fn drop_func(header: NonNull<Header>) {
        let job = header.cast::<Self>().as_ptr();
        // SAFETY: the claimer owns the slot, which holds the closure, untouched until now.
        unsafe {
            (*job).slot.with_mut(|slot| {
                let pending: &mut Pending<F> = &mut (*slot).pending;
                ManuallyDrop::drop(&mut pending.func);
            });
        }
    }

    /// The vtable's `free`: drops an untaken outcome and a leftover waiter, tells the kind,
    /// and frees the block.
    ///
    /// # Safety
    ///
    /// `header` is the header of a `Self` made by [`allocate`](Self::allocate), with a
    /// pointer that has the whole block's provenance, and the caller was its last holder.
    unsafe fn free(header: NonNull<Header>) {
        let block = header.cast::<Self>();
        // SAFETY: the caller is the only user left; the block holds a `Self` written by
        // `allocate`, moved out once here (the block is given back below).
        let job = unsafe { block.read() };
        #[cfg(all(test, weft_loom))]
        job.model_free();
        // SAFETY: `block` came from `job::alloc::allocate` with this layout, nothing reaches
        // it any more (we were the last holder, and `job` is a copy), freed once.
        unsafe { job::alloc::deallocate(block.cast(), Layout::new::<Self>()) };
        // ORDERING: Relaxed: the last holder synchronised with the others on its way here
        // (AcqRel RMWs); this reads its own view.
        let state = job.core.header.state.load(Ordering::Relaxed);
        let kind = job.kind;
        if state & WAITING != 0 {
            // SAFETY: WAITING still set: a registered waiter nobody took or woke.
            drop(
                job.core
                    .waiter
                    .with(|cell| unsafe { (*cell).assume_init_read() }),
            );
        }
        let untaken =
            if state & (DONE | VALUE | TAKEN) == DONE | VALUE {
                // SAFETY: DONE | VALUE without TAKEN: the slot holds the outcome, not moved out.
                Some(job.slot.with(|slot| unsafe {
                    ManuallyDrop::into_inner(std::ptr::read(&(*slot).outcome))
                }))
            } else {
                None
            };
        drop(job);
        #[cfg(all(test, weft_loom))]
        LIVE_JOBS.with(|live| live.set(live.get() - 1));
        // The result's `Drop` last: it may panic.
        kind.on_free(untaken);
    }

    /// The vtable's `run`: runs the closure of a claimed job on the calling worker thread,
    /// counts it, and publishes its outcome; under `Mode::Cancel` cancels it instead.
    ///
    /// # Safety
    ///
    /// The caller claimed the job and holds it; it is on a worker thread of the job's pool.
    /// `release`: the caller holds the queue entry's hold and lets go of it here (otherwise
    /// it is the handle, running the job inline).
    unsafe fn run(header: NonNull<Header>, mode: Mode, release: bool) {
        let job = header.cast::<Self>().as_ptr();
        let worker = WorkerThread::current().expect("jobs run on worker threads");
        // SAFETY: we hold the job.
        let (kind, head) = unsafe { ((*job).kind, &(*job).core.header) };
        kind.left_queue(worker);
        head.remove_queue_timer(worker.registry());
        if mode == Mode::Cancel {
            // SAFETY: claimed: the closure is ours, taken once.
            drop_quietly(unsafe { Self::take_func(job) }.0);
            kind.count(worker, Event::Cancelled);
            // SAFETY: we own the outcome and hold the job.
            unsafe { publish(header, CANCELLED, 0, release) };
            return;
        }
        // SAFETY: claimed by the caller, taken once.
        let (func, submitted) = unsafe { Self::take_func(job) };
        kind.count(worker, Event::Started);
        // record_timing: the wait ends, the run starts (a detached job of this pool was
        // stamped when allocated).
        let stopwatch = match worker.registry().timing() {
            Some(timing) if K::DETACHED => Some(timing.start(worker.index(), submitted)),
            _ => None,
        };
        let run_timeout = head.extras.as_ref().and_then(|extras| extras.run_timeout);
        if let Some(timeout) = run_timeout {
            head.add_holder();
            let deadline = Instant::now()
                .checked_add(timeout)
                .unwrap_or_else(far_future);
            let key = worker.registry().timer().insert(
                worker.registry(),
                deadline,
                header,
                TimerKind::Run,
            );
            let extras = head.extras.as_ref().expect("a run timeout is an extra");
            // SAFETY: only the thread running the job touches `run_key`.
            extras.run_key.with_mut(|slot| unsafe { *slot = Some(key) });
        }
        let previous = worker.enter_tree(head.tree());
        // The span only when some subscriber wants trace level: a disabled `trace_span!` still
        // builds and drops a `Span` (about 12 instructions a job, measured with callgrind on
        // spawn + join); this is one relaxed load.
        let span = (Level::TRACE <= STATIC_MAX_LEVEL && Level::TRACE <= LevelFilter::current())
            .then(|| tracing::trace_span!("job", name = head.name()).entered());
        let result = panic::catch_unwind(AssertUnwindSafe(func));
        if let Some(stopwatch) = stopwatch {
            stopwatch.stop();
        }
        drop(span);
        worker.leave_tree(previous);
        if run_timeout.is_some() {
            let extras = head.extras.as_ref().expect("a run timeout is an extra");
            // SAFETY: as above.
            if let Some(key) = extras.run_key.with_mut(|slot| unsafe { (*slot).take() })
                && worker.registry().timer().remove(key)
            {
                let last = head.release(false);
                debug_assert!(!last, "the running thread holds the job");
            }
            if !head.try_finish(0) {
                // The run timeout resolved the handle first: the late outcome is dropped
                // here, once, and not counted (a panic after the deadline included).
                drop_quietly(result);
                if release && head.release(false) {
                    // SAFETY: we were the last holder.
                    unsafe { free_quietly(header) };
                }
                return;
            }
        }
        match &result {
            Ok(_) => kind.count(worker, Event::Completed),
            Err(payload) => {
                kind.count(worker, Event::Panicked);
                tracing::error!(
                    worker = worker.index(),
                    job = head.name(),
                    panic = crate::error::panic_message(payload).unwrap_or("Box<dyn Any>"),
                    "job panicked"
                );
            }
        }
        // SAFETY: we own the outcome (no run timeout, or we won FINISHING) and the slot (its
        // closure was moved out above), and write it before publishing.
        unsafe {
            (*job)
                .slot
                .with_mut(|slot| (*slot).outcome = ManuallyDrop::new(result));
        }
        // SAFETY: as above.
        unsafe { publish(header, VALUE, FINISHING, release) };
    }
}

#[cfg(all(test, weft_loom))]
impl<F, T, K> HeapJob<F, T, K> {
    /// Test hook: writes every cell of the block, as freeing it does, so that loom reports an
    /// access by another holder that is not ordered before the free (a use after free, or a
    /// recycled block reached through an old pointer, outside the model).
    fn model_free(&self) {
        self.core.waiter.with_mut(|_| ());
        self.slot.with_mut(|_| ());
        if let Some(extras) = &self.core.header.extras {
            extras.queue_key.with_mut(|_| ());
            extras.run_key.with_mut(|_| ());
        }
    }
}

/// A deadline that never comes (for a timeout too long to add to now).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(60 * 60 * 24 * 365 * 100)
}

impl<F, T, K> Job for HeapJob<F, T, K>
where
    F: FnOnce() -> T + Send,
    T: Send,
    K: JobKind,
{
    /// The queue entry was popped by a worker thread.
    unsafe fn execute(this: NonNull<Self>, mode: Mode) {
        let job = this.as_ptr();
        let header = this.cast::<Header>();
        // SAFETY: the queue entry holds the job until we let go of it.
        let kind = unsafe { (*job).kind };
        // SAFETY: as above.
        if !unsafe { header.as_ref() }.claim_or_wait() {
            // Claimed by its handle (run inline or cancelled) or expired: only let go.
            // SAFETY: the queue entry's hold, released once.
            if unsafe { header.as_ref() }.release(false) {
                // SAFETY: we were the last holder.
                unsafe { free_quietly(header) };
            }
            kind.after_queue_entry();
            return;
        }
        // SAFETY: claimed, held, on a worker of the pool; the queue entry's hold.
        unsafe { Self::run(header, mode, true) };
        kind.after_queue_entry();
    }
}

/// Drops a value on a worker, keeping a panic in its `Drop` off the worker.
pub(crate) fn drop_quietly<V>(value: V) {
    if panic::catch_unwind(AssertUnwindSafe(move || drop(value))).is_err() {
        tracing::error!("dropping a job's closure or result panicked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest size class is 64 bytes: a closure capturing a word and returning one
    /// (the tiny-jobs benches, a typical `spawn(move || f(i))`) fits it because the closure
    /// and its outcome share the slot. With separate cells it took a 128-byte block, and
    /// 1M outstanding jobs faulted in twice the pages.
    #[test]
    fn a_job_capturing_a_word_and_returning_a_word_fits_the_smallest_block() {
        fn size_of_job<F: FnOnce() -> T + Send, T: Send>(_: &F) -> usize {
            size_of::<HeapJob<F, T, Detached>>()
        }
        let word = 7_u64;
        let size = size_of_job(&move || word * 2);
        assert!(size <= 64, "a one-word job takes {size} bytes");
        assert_eq!(
            job::alloc::class_of(Layout::from_size_align(size, 8).expect("a small layout")),
            Some(0)
        );
    }

    /// The queues of detached jobs hold one word per job (a `JobRef` is three).
    #[test]
    fn a_queued_detached_job_is_one_word() {
        assert_eq!(size_of::<DetachedRef>(), size_of::<usize>());
    }
}
