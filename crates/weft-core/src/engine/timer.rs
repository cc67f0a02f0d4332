//! [`Timer`]: run timeouts and queue timeouts, fired by one thread per pool that needs no
//! free worker.
//!
//! The timer keeps its entries in a map ordered by deadline, under a mutex. Its thread is
//! started when the pool's first timed job is submitted; it waits on a condition variable
//! until the earliest deadline (or, with no entries, until woken), fires every entry that is
//! due, and waits again. A pool with no timed jobs has no timer thread; an idle pool with
//! timed jobs far in the future costs one sleeping thread and no CPU.
//!
//! Each entry holds the job's block (one holder in its state word, see `job/heap.rs`).
//! Exactly one of two things happens to an entry: the timer pops it and fires it, or the job
//! removes it first (a claimed job removes its queue timeout; a job that returned removes its
//! run timeout); both happen under the mutex, so they cannot both succeed. Whoever got the
//! entry lets go of its hold.

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::engine::registry::Registry;
use crate::job::heap::{Header, TimerKind};
use crate::sync::{self, Condvar, Mutex, MutexGuard};

/// Where an entry sits in the timer, to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    deadline: Instant,
    seq: u64,
}

struct Entry {
    job: NonNull<Header>,
    kind: TimerKind,
}

// SAFETY: an entry is a hold on a job's block (the block is `Send`: every job type checks its
// bounds when it is made); only the timer thread, or the thread that removes it, uses it.
unsafe impl Send for Entry {}

#[derive(Default)]
struct TimerState {
    entries: BTreeMap<TimerKey, Entry>,
    next_seq: u64,
    stop: bool,
    thread: Option<JoinHandle<()>>,
}

/// One pool's timer: its entries and condition variable are shared with its thread, which
/// holds the pool itself only while it fires entries (so the pool can go away meanwhile).
pub(crate) struct Timer {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<TimerState>,
    wake: Condvar,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer").finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, TimerState> {
        // No user code runs under the lock, so it is never poisoned in practice.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Timer {
    pub(crate) fn new() -> Self {
        Timer {
            shared: Arc::new(Shared {
                state: Mutex::new(TimerState::default()),
                wake: Condvar::new(),
            }),
        }
    }

    /// Adds an entry for `job` at `deadline` (the caller has counted a hold for it) and
    /// starts the timer thread if it is not running.
    pub(crate) fn insert(
        &self,
        registry: &Arc<Registry>,
        deadline: Instant,
        job: NonNull<Header>,
        kind: TimerKind,
    ) -> TimerKey {
        let mut state = self.shared.lock();
        let key = TimerKey {
            deadline,
            seq: state.next_seq,
        };
        state.next_seq += 1;
        let earliest = state
            .entries
            .first_key_value()
            .is_none_or(|(first, _)| key < *first);
        state.entries.insert(key, Entry { job, kind });
        if state.thread.is_none() && !state.stop && sync::STARTS_TIMER_THREAD {
            let (shared, pool) = (Arc::clone(&self.shared), Arc::downgrade(registry));
            let spawned = std::thread::Builder::new()
                .name(format!("weft-timer-{}", registry.id()))
                .spawn(move || timer_loop(&shared, &pool));
            match spawned {
                Ok(handle) => state.thread = Some(handle),
                Err(error) => {
                    tracing::error!(%error, "could not start the pool's timer thread");
                }
            }
        } else if earliest {
            self.shared.wake.notify_one();
        }
        key
    }

    /// Removes the entry at `key`: `true` if it was still there (the caller now owns its
    /// hold), `false` if the timer already took it (and fires it, or has).
    pub(crate) fn remove(&self, key: TimerKey) -> bool {
        self.shared.lock().entries.remove(&key).is_some()
    }

    /// Stops the timer thread and waits for it (at shutdown, after every job finished, so
    /// the timer holds no entry). Called again, does nothing.
    pub(crate) fn shut_down(&self) {
        let thread = {
            let mut state = self.shared.lock();
            state.stop = true;
            state.thread.take()
        };
        self.shared.wake.notify_one();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the pool's timer thread panicked");
        }
    }
}

#[cfg(all(test, weft_loom))]
impl Timer {
    /// Test hook: what the timer thread does for one due entry: takes the earliest entry
    /// out under the lock (the caller then fires it with `Header::fire_timer`, without the
    /// lock, as `timer_loop` does). `None` if the timer holds no entry.
    pub(crate) fn pop_for_model(&self) -> Option<(NonNull<Header>, TimerKind)> {
        let entry = self.shared.lock().entries.pop_first()?.1;
        Some((entry.job, entry.kind))
    }
}

impl Drop for Timer {
    /// The pool went away without a shutdown that waited (dropped on one of its own
    /// threads): the timer thread stops on its own.
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
    }
}

/// The timer thread: wait for the next deadline, fire what is due.
fn timer_loop(shared: &Shared, pool: &Weak<Registry>) {
    let mut state = shared.lock();
    loop {
        if state.stop {
            return;
        }
        let now = Instant::now();
        match state.entries.first_key_value() {
            None => {
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            Some((first, _)) if first.deadline > now => {
                let wait = first.deadline - now;
                state = shared
                    .wake
                    .wait_timeout(state, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            }
            Some(_) => {}
        }
        let mut due = Vec::new();
        while let Some(entry) = state.entries.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            due.push(entry.remove());
        }
        drop(state);
        // A queued or running job keeps the pool alive; if the pool is gone, the entries'
        // jobs have finished and firing only lets go of their holds.
        let pool = pool.upgrade();
        for entry in due {
            // SAFETY: the entry's hold keeps the block alive; we own that hold now.
            unsafe { Header::fire_timer(entry.job, entry.kind, pool.as_ref()) };
        }
        drop(pool);
        state = shared.lock();
    }
}
