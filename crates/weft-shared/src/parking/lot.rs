//! The parking lot of normal builds: parking_lot_core's global table.
//!
//! parking_lot_core's `park` and `unpark_filter` are `unsafe fn`s, so this is the one
//! module of the crate that allows `unsafe`; each call states why its contract holds.
#![allow(unsafe_code)]

use std::time::{Duration, Instant};

use parking_lot_core::{
    DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN, FilterOp, ParkResult, park, unpark_filter,
};

use super::Parked;

/// The handle on parking_lot_core's process-wide table; it needs no state of its own.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ParkingLot;

impl ParkingLot {
    pub(crate) fn new() -> Self {
        Self
    }

    /// See the module docs of `parking` for the contract.
    ///
    /// `key` must be a park key of a live `SharedBuffer` that the caller holds (see
    /// `SharedBuffer::park_key`); `validate` and `before_sleep` must not panic.
    pub(crate) fn park(
        &self,
        key: usize,
        validate: impl FnOnce() -> bool,
        timeout: Option<Duration>,
        before_sleep: impl FnOnce(),
    ) -> Parked {
        // A timeout too large for an `Instant` is, in practice, no timeout.
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        // SAFETY: (1) `key` is the address of a byte inside a `SharedBuffer`'s
        // allocation, which the caller keeps alive for the whole call by holding a view
        // of it. Only this module parks or unparks on such keys, and no other
        // synchronization primitive can have its own address inside that allocation,
        // so we cannot interfere with anyone else's queue. A timed-out thread removes
        // itself before `park` returns, so no thread is left queued on the key after
        // the allocation is freed and its address reused.
        // (2) `validate` (an atomic load and a compare of precomputed values),
        // `before_sleep` (a no-op, or a test's counter increment) and `timed_out` (a
        // no-op) neither unwind nor call into parking_lot; `before_sleep` in
        // particular never parks.
        // (3) We are not in a signal handler.
        let result = unsafe {
            park(
                key,
                validate,
                before_sleep,
                |_, _| {},
                DEFAULT_PARK_TOKEN,
                deadline,
            )
        };
        match result {
            ParkResult::Unparked(_) => Parked::Woken,
            ParkResult::Invalid => Parked::Invalid,
            ParkResult::TimedOut => Parked::TimedOut,
        }
    }

    /// See the module docs of `parking` for the contract; `key` as for `park`.
    pub(crate) fn unpark(&self, key: usize, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        let mut left = count;
        // SAFETY: (1) `key` is as in `park` above: an address inside a live
        // `SharedBuffer` allocation that only this module parks on, so every thread we
        // may wake was parked by `park` above and expects exactly this kind of wake-up.
        // (2) The filter (a counter decrement, which cannot underflow because it stops
        // at zero) and the callback (returns a constant) neither unwind nor call into
        // parking_lot.
        // (3) We are not in a signal handler.
        let result = unsafe {
            unpark_filter(
                key,
                |_| {
                    if left == 0 {
                        FilterOp::Stop
                    } else {
                        left -= 1;
                        FilterOp::Unpark
                    }
                },
                |_| DEFAULT_UNPARK_TOKEN,
            )
        };
        result.unparked_threads
    }
}
