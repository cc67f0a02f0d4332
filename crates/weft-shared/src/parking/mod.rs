//! Where waiters queue: a FIFO queue of parked threads per key (an element's byte
//! address), with the wait condition validated under the queue's lock.
//!
//! [`ParkingLot`] has one contract and two implementations, chosen by cfg:
//! - `lot.rs` (every normal build): parking_lot_core's global parking lot, the only
//!   unsafe code in the crate;
//! - `loom.rs` (loom test builds): a loom-checked mutex-protected queue, because
//!   parking_lot_core's OS-level parking cannot run inside a loom model.
//!
//! The contract both keep:
//! - `park(key, validate, timeout, before_sleep)` takes the queue lock for `key`, runs
//!   `validate` under it and returns [`Parked::Invalid`] if it says false; otherwise it
//!   appends the thread to `key`'s queue, drops the lock, runs `before_sleep` and
//!   sleeps until unparked ([`Parked::Woken`]) or until `timeout` passes
//!   ([`Parked::TimedOut`], after taking itself off the queue under the lock, so a
//!   thread is either counted by an unpark or times out, never both). Spurious OS
//!   wake-ups are absorbed inside; `Woken` means an `unpark` chose this thread.
//! - `unpark(key, count)` takes the same lock and wakes up to `count` threads queued
//!   on `key`, oldest first, returning how many it woke.
//!
//! Because `validate` and `unpark` run under one lock, a notifier that changed the
//! value before calling `unpark` either finds the waiter queued or the waiter's
//! `validate` sees the new value: no wake-up is lost.

#[cfg(not(all(test, weft_loom)))]
mod lot;
#[cfg(not(all(test, weft_loom)))]
pub(crate) use lot::ParkingLot;

#[cfg(all(test, weft_loom))]
mod loom;
#[cfg(all(test, weft_loom))]
pub(crate) use self::loom::ParkingLot;

/// How a `park` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parked {
    /// An `unpark` on the key chose this thread.
    Woken,
    /// `validate` returned false; the thread never queued.
    Invalid,
    /// The timeout passed first.
    TimedOut,
}
