//! How idle workers go to sleep and how they are woken.
//!
//! # Protocol
//!
//! Each worker has a state word: `AWAKE`, `SLEEPING` or `NOTIFIED`, and the pool counts its
//! sleepers. A worker that found no work:
//!
//! 1. stores `SLEEPING`, increments `sleepers` and issues a SeqCst fence;
//! 2. checks once more for work (and for whatever else it waits on);
//! 3. parks until a waker moved its state from `SLEEPING` to `NOTIFIED`, or until its own
//!    re-check finds a reason to run.
//!
//! Whoever publishes work issues a SeqCst fence and then reads `sleepers`; only when it is
//! non-zero does it pay for a wake-up (a CAS on one sleeper's state and an `unpark`). The two
//! fences order "work pushed, then sleepers read" against "sleepers incremented, then work
//! checked": at least one side sees the other, so a job pushed while the last worker falls
//! asleep is either seen by that worker's re-check or wakes it. The submit path costs a fence
//! and a load when nobody sleeps: no syscall per job.
//!
//! A worker can also be woken directly (a latch it waits on was set, a job it waits for
//! finished, the pool shuts down): [`Sleep::wake_worker`] unparks its thread whatever its
//! state, and the worker re-checks its conditions.

use crossbeam_utils::CachePadded;
use std::time::Instant;

use crate::engine::slot_set::SlotSet;
use crate::sync::{self, AtomicU8, AtomicUsize, Mutex, Ordering, Thread, fence};

const AWAKE: u8 = 0;
const SLEEPING: u8 = 1;
const NOTIFIED: u8 = 2;

#[derive(Debug)]
struct WorkerSleep {
    state: AtomicU8,
    /// The worker's thread, registered by the worker itself before it can first sleep.
    thread: Mutex<Option<Thread>>,
}

/// The sleep state of every worker of one pool.
#[derive(Debug)]
pub(crate) struct Sleep {
    sleepers: CachePadded<AtomicUsize>,
    /// Where the next `wake_any` starts looking, so wake-ups spread over the workers.
    next_victim: AtomicUsize,
    /// The slots whose thread sleeps (or is about to): `wake_any` looks only here.
    sleeping: SlotSet,
    /// Idle threads spinning before they sleep, and how many may: more spinners than CPUs
    /// only burn time (a 1024-thread pool would spend ~100 ms of CPU every time it idles).
    spinning: CachePadded<AtomicUsize>,
    max_spinning: usize,
    /// Threads waiting in fork-join work for a thief, looking for work of their tree (see
    /// `start_looking`): forking threads share a latent fork while it is not 0.
    looking: CachePadded<AtomicUsize>,
    workers: Box<[CachePadded<WorkerSleep>]>,
}

impl Sleep {
    pub(crate) fn new(num_workers: usize) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Sleep {
            sleepers: CachePadded::new(AtomicUsize::new(0)),
            next_victim: AtomicUsize::new(0),
            sleeping: SlotSet::new(num_workers),
            spinning: CachePadded::new(AtomicUsize::new(0)),
            max_spinning: cpus.max(2),
            looking: CachePadded::new(AtomicUsize::new(0)),
            workers: (0..num_workers)
                .map(|_| {
                    CachePadded::new(WorkerSleep {
                        state: AtomicU8::new(AWAKE),
                        thread: Mutex::new(None),
                    })
                })
                .collect(),
        }
    }

    /// Records the calling thread as worker `index`'s; call before that worker first sleeps.
    pub(crate) fn register_current(&self, index: usize) {
        *self.workers[index].thread.lock().unwrap() = Some(sync::current());
    }

    /// Called after publishing work any worker may take: wakes one sleeper, if any.
    pub(crate) fn new_work(&self) {
        // ORDERING: SeqCst fence between the push (done by the caller) and the read of
        // `sleepers`; pairs with the fence in `sleep` (see the module docs).
        fence(Ordering::SeqCst);
        // ORDERING: Relaxed: the fence above orders it; a stale non-zero only costs a scan.
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            self.wake_any();
        }
    }

    /// Like [`new_work`](Self::new_work) without the fence, for work its publisher is sure
    /// to come back to (the second half of a `join`): if the race with a worker falling
    /// asleep is lost, the job is not stranded, the pool only misses a chance to run it in
    /// parallel. Saves a SeqCst fence per fork.
    #[inline]
    pub(crate) fn new_work_for_self(&self) {
        // ORDERING: Relaxed: no Dekker guarantee wanted here (see above).
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            self.wake_any();
        }
    }

    /// Number of workers asleep right now (a snapshot).
    #[inline]
    pub(crate) fn sleepers(&self) -> usize {
        // ORDERING: Relaxed: a statistic.
        self.sleepers.load(Ordering::Relaxed)
    }

    /// Wakes one sleeping worker; `false` if none was asleep.
    fn wake_any(&self) -> bool {
        // ORDERING: Relaxed: only spreads the choice of victim.
        let start = self.next_victim.fetch_add(1, Ordering::Relaxed);
        self.sleeping
            .find_from(start, self.workers.len(), |index| {
                self.try_notify(index).then(|| self.unpark(index))
            })
            .is_some()
    }

    /// An idle thread asks to spin a while before it sleeps: `false` if enough others spin
    /// already (then it sleeps at once). A `true` must be followed by [`stop_spinning`].
    ///
    /// [`stop_spinning`]: Self::stop_spinning
    pub(crate) fn start_spinning(&self) -> bool {
        // ORDERING: Relaxed: a soft limit; nothing depends on the exact count.
        if self.spinning.fetch_add(1, Ordering::Relaxed) < self.max_spinning {
            true
        } else {
            self.stop_spinning();
            false
        }
    }

    /// A thread waiting in fork-join work for a thief starts looking for work of its tree,
    /// so that forking threads share their latent forks meanwhile. Must be followed by
    /// [`stop_looking`](Self::stop_looking).
    pub(crate) fn start_looking(&self) {
        // ORDERING: Relaxed: a hint for sharing forks; a stale answer only shares a fork late
        // or early.
        self.looking.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stop_looking(&self) {
        // ORDERING: Relaxed, as in `start_looking`.
        self.looking.fetch_sub(1, Ordering::Relaxed);
    }

    /// Threads waiting in fork-join work for a thief now (a snapshot).
    #[inline]
    pub(crate) fn looking(&self) -> usize {
        // ORDERING: Relaxed, as in `start_looking`.
        self.looking.load(Ordering::Relaxed)
    }

    /// Idle threads spinning now, looking for work (a snapshot).
    #[inline]
    pub(crate) fn spinning(&self) -> usize {
        // ORDERING: Relaxed: a hint for keeping forks latent; a stale answer only shares a
        // fork late or early.
        self.spinning.load(Ordering::Relaxed)
    }

    pub(crate) fn stop_spinning(&self) {
        // ORDERING: Relaxed, as in `start_spinning`.
        self.spinning.fetch_sub(1, Ordering::Relaxed);
    }

    /// Moves worker `index` from SLEEPING to NOTIFIED and counts it out of the sleepers.
    fn try_notify(&self, index: usize) -> bool {
        let worker = &self.workers[index];
        // ORDERING: AcqRel: Release so the woken worker (Acquire load of NOTIFIED) sees what
        // was published before the wake; Acquire pairs with the worker's SeqCst announce.
        if worker
            .state
            .compare_exchange(SLEEPING, NOTIFIED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // ORDERING: Relaxed: the count only gates wake attempts; the fences order it.
            self.sleepers.fetch_sub(1, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    fn unpark(&self, index: usize) {
        if let Some(thread) = &*self.workers[index].thread.lock().unwrap() {
            thread.unpark();
        }
    }

    /// Wakes worker `index` whatever it is doing: if it sleeps it gets up, if it is about to
    /// sleep its next park returns at once. It then re-checks what it waits for.
    pub(crate) fn wake_worker(&self, index: usize) {
        self.try_notify(index);
        self.unpark(index);
    }

    /// Wakes every worker (shutdown, broadcast).
    pub(crate) fn wake_all(&self) {
        for index in 0..self.workers.len() {
            self.wake_worker(index);
        }
    }

    /// Puts worker `index` (the calling thread) to sleep until it is notified, `should_wake`
    /// returns true after a wake-up, or `deadline` passes. `should_wake` is checked once
    /// after announcing the sleep, so anything published before a matching wake is seen.
    pub(crate) fn sleep(
        &self,
        index: usize,
        deadline: Option<Instant>,
        mut should_wake: impl FnMut() -> bool,
    ) {
        let me = &self.workers[index];
        // ORDERING: Relaxed: published to wakers by the SeqCst increment below.
        me.state.store(SLEEPING, Ordering::Relaxed);
        self.sleeping.insert(index);
        let _awake_again = AwakeAgain(&self.sleeping, index);
        // ORDERING: SeqCst: the increment is part of the Dekker pair with `new_work`.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        // ORDERING: SeqCst fence between announcing the sleep and re-checking for work; pairs
        // with the fence in `new_work` (see the module docs).
        fence(Ordering::SeqCst);
        if should_wake() {
            self.get_up(me);
            return;
        }
        loop {
            match deadline {
                None => sync::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        self.get_up(me);
                        return;
                    }
                    sync::park_timeout(deadline - now);
                }
            }
            // ORDERING: Acquire pairs with the waker's AcqRel CAS.
            if me.state.load(Ordering::Acquire) == NOTIFIED {
                // ORDERING: Relaxed: only this worker moves its state away from NOTIFIED.
                me.state.store(AWAKE, Ordering::Relaxed);
                return;
            }
            if should_wake() {
                self.get_up(me);
                return;
            }
        }
    }

    /// Leaves the SLEEPING state on the worker's own initiative.
    // (`sleep` leaves the `sleeping` set through its `AwakeAgain` guard.)
    fn get_up(&self, me: &WorkerSleep) {
        // ORDERING: Acquire: if a waker beat us to it, see what it published.
        match me
            .state
            .compare_exchange(SLEEPING, AWAKE, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => {
                // ORDERING: Relaxed, as in `try_notify`.
                self.sleepers.fetch_sub(1, Ordering::Relaxed);
            }
            Err(_) => {
                // A waker counted us out and meant us to take new work, but we are leaving
                // for another reason (and may return to a job first). Pass the wake-up on so
                // the new work does not wait for us.
                // ORDERING: Relaxed: only this worker moves its state away from NOTIFIED.
                me.state.store(AWAKE, Ordering::Relaxed);
                // ORDERING: Relaxed, as in `new_work` (the CAS above ordered us).
                if self.sleepers.load(Ordering::Relaxed) != 0 {
                    self.wake_any();
                }
            }
        }
    }
}

/// Takes a worker out of the sleeping set when its `sleep` returns.
struct AwakeAgain<'a>(&'a SlotSet, usize);

impl Drop for AwakeAgain<'_> {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}
