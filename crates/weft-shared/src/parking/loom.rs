//! The parking lot of loom builds: one loom mutex-protected FIFO queue per buffer.
//!
//! It keeps the contract in `parking/mod.rs`, in a form loom can explore:
//! - the queue lock is a loom `Mutex`, so `validate` under it and `unpark` under it
//!   are ordered exactly as with parking_lot_core's bucket lock;
//! - a woken waiter's flag is set under the lock and its thread unparked with loom's
//!   `Thread::unpark`; a waiter without timeout loops on loom's `park` until its flag is
//!   set (a lost wake-up shows up as a loom deadlock);
//! - loom has no clock, so a waiter with a timeout models "the deadline may pass at any
//!   moment": after queueing it takes the lock again at once and, unless an `unpark`
//!   already chose it, removes itself and reports `TimedOut`. Loom schedules that lock
//!   before or after a concurrent `unpark`, which covers both orders of the race.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::thread::{self, Thread};

use super::Parked;

/// A FIFO queue of waiters, shared by all clones of one buffer.
#[derive(Clone)]
pub(crate) struct ParkingLot {
    queue: Arc<Mutex<VecDeque<Waiter>>>,
}

struct Waiter {
    key: usize,
    woken: Arc<AtomicBool>,
    thread: Thread,
}

impl fmt::Debug for ParkingLot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ParkingLot(loom)")
    }
}

impl ParkingLot {
    pub(crate) fn new() -> Self {
        Self {
            queue: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    pub(crate) fn park(
        &self,
        key: usize,
        validate: impl FnOnce() -> bool,
        timeout: Option<Duration>,
        before_sleep: impl FnOnce(),
    ) -> Parked {
        let mut queue = self.queue.lock().unwrap();
        if !validate() {
            return Parked::Invalid;
        }
        let woken = Arc::new(AtomicBool::new(false));
        queue.push_back(Waiter {
            key,
            woken: Arc::clone(&woken),
            thread: thread::current(),
        });
        drop(queue);
        before_sleep();
        match timeout {
            None => {
                // ORDERING: SeqCst; the flag is set under the queue lock before the
                // unpark, and loom checks that we see it.
                while !woken.load(SeqCst) {
                    thread::park();
                }
                Parked::Woken
            }
            Some(_) => {
                let mut queue = self.queue.lock().unwrap();
                // ORDERING: SeqCst; read under the lock that `unpark` sets it under.
                if woken.load(SeqCst) {
                    return Parked::Woken;
                }
                queue.retain(|waiter| !Arc::ptr_eq(&waiter.woken, &woken));
                Parked::TimedOut
            }
        }
    }

    pub(crate) fn unpark(&self, key: usize, count: usize) -> usize {
        let mut queue = self.queue.lock().unwrap();
        let mut woken = 0;
        let mut i = 0;
        while woken < count && i < queue.len() {
            if queue[i].key == key {
                let waiter = queue.remove(i).expect("index checked against len");
                // ORDERING: SeqCst; set under the lock, read by the waiter (see park).
                waiter.woken.store(true, SeqCst);
                waiter.thread.unpark();
                woken += 1;
            } else {
                i += 1;
            }
        }
        woken
    }
}
