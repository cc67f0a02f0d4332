//! `wait`/`notify` on integer elements: JS `Atomics.wait` and `Atomics.notify`.
//!
//! A waiter parks on its element's park key (the element's byte address, so any two
//! views over the same bytes agree on it) with a validate closure that re-reads the
//! element under the parking lot's queue lock; a notifier wakes queued waiters on the
//! same key under the same lock. See `parking/mod.rs` for why that loses no wake-up.
//!
//! Like JS, the key is the element's first byte: a notify on an `Int32View` element
//! wakes a waiter of a `BigInt64View` whose element starts at the same byte, and not
//! one whose element merely overlaps it.

use std::time::Duration;

use crate::element::Element;
use crate::parking::Parked;
use crate::raw_view::RawView;

/// How a `wait` ended: JS `Atomics.wait`'s `"ok"`, `"not-equal"` and `"timed-out"`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weft::shared::{Int32View, SharedBuffer, WaitResult};
///
/// let view = Int32View::new(&SharedBuffer::new(4))?;
/// assert_eq!(view.wait(0, 1, None), WaitResult::NotEqual);
/// assert_eq!(view.wait(0, 0, Some(Duration::from_millis(1))), WaitResult::TimedOut);
/// # Ok::<(), weft::shared::ViewError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitResult {
    /// Woken by a `notify` (JS `"ok"`). Never reported for a spurious wake-up.
    Ok,
    /// The element did not hold the expected value when `wait` checked it, so it did
    /// not sleep (JS `"not-equal"`).
    NotEqual,
    /// The timeout passed before any `notify` woke this waiter (JS `"timed-out"`).
    TimedOut,
}

impl<T: Element> RawView<T> {
    /// `wait`, with a hook run once the thread is queued, just before it sleeps (not
    /// run if it does not queue). Tests use the hook to know a waiter is queued.
    #[track_caller]
    pub(crate) fn wait_with_hook(
        &self,
        index: usize,
        expected: T,
        timeout: Option<Duration>,
        queued: impl FnOnce(),
    ) -> WaitResult {
        let lane = self.lane(index);
        let key = self.park_key(index);
        let expected = expected.to_bits();
        if timeout == Some(Duration::ZERO) {
            // JS answers a zero timeout without blocking: the value check alone.
            return if lane.load() == expected {
                WaitResult::TimedOut
            } else {
                WaitResult::NotEqual
            };
        }
        // The closure only loads and compares (index already checked): it cannot panic
        // while the parking lot's queue lock is held.
        let still_expected = || lane.load() == expected;
        match self
            .buffer()
            .parking()
            .park(key, still_expected, timeout, queued)
        {
            Parked::Woken => WaitResult::Ok,
            Parked::Invalid => WaitResult::NotEqual,
            Parked::TimedOut => WaitResult::TimedOut,
        }
    }

    #[track_caller]
    pub(crate) fn wait(&self, index: usize, expected: T, timeout: Option<Duration>) -> WaitResult {
        self.wait_with_hook(index, expected, timeout, || {})
    }

    #[track_caller]
    pub(crate) fn notify(&self, index: usize, count: usize) -> usize {
        let key = self.park_key(index);
        self.buffer().parking().unpark(key, count)
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests;

#[cfg(all(test, weft_loom))]
mod loom_tests;
