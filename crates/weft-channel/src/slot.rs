//! [`Slot`]: one value, sent once by one sender, received once by one receiver, stored
//! inside an allocation that somebody else owns.
//!
//! This is the building block behind [`oneshot`](crate::oneshot()). The slot never
//! allocates and never frees: it tells each side, when it lets go, whether it was the last
//! one out ([`Release::Last`]), and the last one frees the allocation that holds the slot.
//!
//! # Not a public API
//!
//! This module is `pub` only so that this crate's integration tests (`tests/miri.rs`) can
//! drive the raw protocol under miri. It is `#[doc(hidden)]` and outside semver: any release
//! may change or remove it without notice. Users send one value with
//! [`oneshot`](crate::oneshot()), which wraps this slot safely.
//!
//! # Contract
//!
//! The methods are `unsafe` because the slot cannot check who calls them. The embedder
//! promises:
//!
//! 1. Exactly one *sender* finishes the slot, once, with [`send`](Slot::send) or
//!    [`close`](Slot::close), and touches it no more after that call returns.
//! 2. Exactly one *receiver* calls [`take`](Slot::take) (at most once, and only after
//!    [`peek`](Slot::peek) returned [`Peek::Ready`]), [`register`](Slot::register),
//!    [`unregister`](Slot::unregister), [`wait`](Slot::wait) and [`poll`](Slot::poll),
//!    never from two threads at once, and finally calls
//!    [`release_receiver`](Slot::release_receiver) once and touches it no more.
//! 3. The slot stays allocated until the side that got [`Release::Last`] (or an `Err` from
//!    `send`) drops it; that side is then its only user, and dropping the slot drops a value
//!    that was sent but not taken and a waiter that was registered but not woken.
//!
//! # Ordering
//!
//! Sending happens-before every way of observing it: a [`peek`](Slot::peek) that returns
//! [`Peek::Ready`] sees the value completely written, and the same holds for `close` and
//! [`Peek::Closed`]. Everything either side did before letting go happens-before the drop
//! of the slot by the side that was told it was last.

// # Implementation
//
// One `AtomicU8` holds the whole state, as bits:
//
//   VALUE         the value cell holds the sender's value (set with Release)
//   CLOSED        the sender finished without a value
//   SENDER_DONE   the sender will not touch the slot again
//   WAITING       the waiter cell holds a waiter registered by the receiver
//   RECEIVER_GONE the receiver will not touch the slot again
//   TAKEN         the receiver moved the value out (set together with RECEIVER_GONE)
//
// The waiter cell belongs to the receiver while WAITING is clear. Once the receiver sets
// WAITING it may take the waiter back only with a CAS that clears WAITING and expects
// VALUE and CLOSED to be clear. When the sender sets VALUE or CLOSED and sees WAITING, the
// waiter is the sender's: it moves it out, then clears WAITING and sets SENDER_DONE in one
// RMW, and wakes it. Until SENDER_DONE is set the receiver never frees the slot, so the
// sender can read the waiter after publishing the value without racing a free. Without a
// waiter the sender publishes VALUE and SENDER_DONE in one CAS, so the common case costs
// the sender one RMW and the receiver none (a load that sees VALUE|SENDER_DONE, then a
// plain store, since nobody else can touch the slot any more).

use std::fmt;
use std::mem::MaybeUninit;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::sync::{self, AtomicU8, Backoff, Ordering, UnsafeCell};

const VALUE: u8 = 1 << 0;
const CLOSED: u8 = 1 << 1;
const SENDER_DONE: u8 = 1 << 2;
const WAITING: u8 = 1 << 3;
const RECEIVER_GONE: u8 = 1 << 4;
const TAKEN: u8 = 1 << 5;

/// What a receiver can observe without taking anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peek {
    /// The sender has not finished yet.
    Empty,
    /// A value is waiting to be [`take`](Slot::take)n.
    Ready,
    /// The sender finished without a value.
    Closed,
}

/// Who frees the slot, told to the side that just let go of it.
#[must_use = "the side told `Last` must free the allocation holding the slot"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The other side still uses the slot and will free it.
    Shared,
    /// The other side is already gone: the caller is the slot's only user and must drop it.
    Last,
}

/// A sleeping receiver, as registered in a [`Slot`].
pub enum Waiter {
    /// A blocked thread, woken with [`Thread::unpark`](std::thread::Thread::unpark).
    Thread(sync::Thread),
    /// An async task, woken with [`Waker::wake`].
    Task(Waker),
}

impl Waiter {
    /// Wakes whoever is waiting.
    pub fn wake(self) {
        match self {
            Waiter::Thread(thread) => thread.unpark(),
            Waiter::Task(waker) => waker.wake(),
        }
    }
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Waiter::Thread(_) => f.write_str("Waiter::Thread"),
            Waiter::Task(_) => f.write_str("Waiter::Task"),
        }
    }
}

/// One value, one sender, one receiver, living inside an allocation owned by the embedder.
///
/// See the [module documentation](self) for the contract every `unsafe` method relies on.
pub struct Slot<T> {
    /// Every byte of the slot, padding included, is inside this cell. One side may free the
    /// slot while the other is still inside `send`, `close` or `release_receiver` (after its
    /// last access), that is, under a live `&self` argument. Rust lets memory behind a
    /// shared reference be freed during the call only where that memory is interior-mutable
    /// (rust-lang/rust#55005); the padding between plain fields is not, so without this cell
    /// such a free was undefined behaviour (miri reports it; see the regression test
    /// `receiver_may_free_the_slot_while_the_sender_is_still_inside_close`). The cell itself
    /// is never written through: all mutation goes through the atomic and the inner cells.
    parts: std::cell::UnsafeCell<Parts<T>>,
}

/// The slot's fields, kept inside [`Slot::parts`].
struct Parts<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
    waiter: UnsafeCell<MaybeUninit<Waiter>>,
}

// SAFETY: the value moves from the sender's thread to the receiver's (hence `T: Send`), and
// the state word hands the cells over between the two sides so that they are never accessed
// by both at once (see the implementation notes above).
unsafe impl<T: Send> Send for Slot<T> {}
// SAFETY: as for `Send`: shared access from the two sides is coordinated by `state`; no `&T`
// is ever handed out, so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").field("state", &self.peek()).finish()
    }
}

impl<T> Slot<T> {
    /// An empty slot: no value, no waiter, both sides present.
    pub fn new() -> Self {
        Slot {
            parts: std::cell::UnsafeCell::new(Parts {
                state: AtomicU8::new(0),
                value: UnsafeCell::new(MaybeUninit::uninit()),
                waiter: UnsafeCell::new(MaybeUninit::uninit()),
            }),
        }
    }

    fn parts(&self) -> &Parts<T> {
        // SAFETY: the outer cell is never written through (nor borrowed mutably, except by
        // `Drop` with `&mut self`), so a shared reference to the parts is always valid.
        unsafe { &*self.parts.get() }
    }

    fn state(&self) -> &AtomicU8 {
        &self.parts().state
    }

    fn value(&self) -> &UnsafeCell<MaybeUninit<T>> {
        &self.parts().value
    }

    fn waiter(&self) -> &UnsafeCell<MaybeUninit<Waiter>> {
        &self.parts().waiter
    }

    /// What the receiver would find now.
    ///
    /// [`Peek::Ready`] keeps being returned after the value was taken; the receiver knows
    /// whether it took it.
    pub fn peek(&self) -> Peek {
        // ORDERING: Acquire pairs with the sender's Release when it set VALUE or CLOSED, so a
        // receiver that sees Ready also sees the value fully written.
        let state = self.state().load(Ordering::Acquire);
        if state & VALUE != 0 {
            Peek::Ready
        } else if state & CLOSED != 0 {
            Peek::Closed
        } else {
            Peek::Empty
        }
    }

    /// `true` once the sender has finished, with or without a value.
    pub fn is_finished(&self) -> bool {
        self.peek() != Peek::Empty
    }

    /// `true` once the receiver has let go ([`release_receiver`](Slot::release_receiver)):
    /// a value sent now would come back.
    ///
    /// A hint for the sender (say, to skip work nobody will read); [`send`](Slot::send)
    /// decides for itself.
    pub fn is_receiver_gone(&self) -> bool {
        // ORDERING: Relaxed: nothing is read on the strength of this answer; `send` and
        // `close` order themselves.
        self.state().load(Ordering::Relaxed) & RECEIVER_GONE != 0
    }

    /// Stores `value` and wakes the receiver if it waits.
    ///
    /// Returns `Err(value)` when the receiver is already gone: the value comes back, and
    /// the caller is now the slot's only user and must free it. `Ok(Release::Last)` means
    /// the receiver left while the value was being delivered (the slot drops the value if
    /// it was not taken); the caller frees the slot then too.
    ///
    /// # Safety
    ///
    /// The caller is the slot's one sender and has not finished it before (contract 1).
    pub unsafe fn send(&self, value: T) -> Result<Release, T> {
        // SAFETY: contract 1: only the sender writes the value cell, and only before it sets
        // VALUE; the receiver reads it only after seeing VALUE.
        self.value()
            .with_mut(|cell| unsafe { (*cell).write(value) });
        match self.finish(VALUE) {
            Ok(release) => Ok(release),
            // SAFETY: the receiver is gone and VALUE was never set, so nobody else reads the
            // cell; it was initialised just above.
            Err(()) => Err(self
                .value()
                .with(|cell| unsafe { (*cell).assume_init_read() })),
        }
    }

    /// Finishes the slot without a value (the sender was dropped): the receiver sees
    /// [`Peek::Closed`] and is woken if it waits.
    ///
    /// # Safety
    ///
    /// The caller is the slot's one sender and has not finished it before (contract 1).
    pub unsafe fn close(&self) -> Release {
        match self.finish(CLOSED) {
            Ok(release) => release,
            Err(()) => Release::Last,
        }
    }

    /// Sets `outcome` (VALUE or CLOSED) and SENDER_DONE, waking a registered waiter.
    /// `Err(())` when the receiver was gone before the outcome could be published.
    fn finish(&self, outcome: u8) -> Result<Release, ()> {
        // ORDERING: Acquire so that, if the receiver is already gone, everything it did to
        // the slot happens-before the caller frees it.
        let mut state = self.state().load(Ordering::Acquire);
        loop {
            if state & RECEIVER_GONE != 0 {
                return Err(());
            }
            let next = if state & WAITING != 0 {
                state | outcome
            } else {
                state | outcome | SENDER_DONE
            };
            // ORDERING: Release publishes the value written before this call; Acquire makes
            // the waiter the receiver wrote (published by its Release CAS) visible to us.
            match self.state().compare_exchange_weak(
                state,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & WAITING == 0 {
            return Ok(Release::Shared);
        }
        // SAFETY: WAITING was set when we published the outcome, so the waiter cell holds a
        // waiter and now belongs to us: the receiver's reclaiming CAS expects the outcome
        // bits clear and can no longer succeed.
        let waiter = self
            .waiter()
            .with(|cell| unsafe { (*cell).assume_init_read() });
        // ORDERING: AcqRel: Release so a receiver that sees SENDER_DONE and frees the slot
        // does so after our read of the waiter cell; Acquire so that, if the receiver left
        // meanwhile, its last accesses happen-before we free. The XOR clears WAITING (known
        // set, and nobody else clears it now) and sets SENDER_DONE (known clear).
        let before = self
            .state()
            .fetch_xor(WAITING | SENDER_DONE, Ordering::AcqRel);
        waiter.wake();
        if before & RECEIVER_GONE != 0 {
            Ok(Release::Last)
        } else {
            Ok(Release::Shared)
        }
    }

    /// Moves the value out.
    ///
    /// # Safety
    ///
    /// The caller is the slot's one receiver, [`peek`](Slot::peek) returned
    /// [`Peek::Ready`], and the value was not taken before. The receiver must pass
    /// `took: true` to its [`release_receiver`](Slot::release_receiver) call.
    pub unsafe fn take(&self) -> T {
        // SAFETY: the caller saw VALUE with Acquire (see `peek`), so the cell is initialised
        // and fully written; the sender never touches it again; taking only once is the
        // caller's promise.
        self.value()
            .with(|cell| unsafe { (*cell).assume_init_read() })
    }

    /// The receiver lets go of the slot for good. `took` says whether it took the value.
    ///
    /// A waiter still registered is dropped with the slot, or woken harmlessly by a sender
    /// that already owned it.
    ///
    /// # Safety
    ///
    /// The caller is the slot's one receiver, calls this once, and `took` is true exactly
    /// when it called [`take`](Slot::take).
    pub unsafe fn release_receiver(&self, took: bool) -> Release {
        let bits = RECEIVER_GONE | if took { TAKEN } else { 0 };
        // ORDERING: Acquire pairs with the sender's Release when it set SENDER_DONE: its
        // accesses happen-before we free the slot.
        let state = self.state().load(Ordering::Acquire);
        if state & SENDER_DONE != 0 {
            // ORDERING: the sender is done and we are the only user left; the store only
            // records TAKEN for the slot's own `Drop`, which runs on this thread.
            self.state().store(state | bits, Ordering::Relaxed);
            return Release::Last;
        }
        // ORDERING: Release so that our take of the value happens-before a sender that sees
        // RECEIVER_GONE frees the slot; Acquire in case the sender finished meanwhile and we
        // are the one who frees.
        let before = self.state().fetch_or(bits, Ordering::AcqRel);
        if before & SENDER_DONE != 0 {
            Release::Last
        } else {
            Release::Shared
        }
    }

    /// Registers `waiter` to be woken when the sender finishes, replacing a waiter
    /// registered before.
    ///
    /// Returns `Err(waiter)` when the sender has already finished (there is nothing to wait
    /// for; check [`peek`](Slot::peek)).
    ///
    /// # Safety
    ///
    /// The caller is the slot's one receiver and has not released it (contract 2).
    pub unsafe fn register(&self, waiter: Waiter) -> Result<(), Waiter> {
        // ORDERING: Acquire, as in `peek`: a finished sender's writes become visible.
        let mut state = self.state().load(Ordering::Acquire);
        if state & (VALUE | CLOSED) != 0 {
            return Err(waiter);
        }
        if state & WAITING != 0 {
            // SAFETY: same caller, same contract.
            if !unsafe { self.unregister() } {
                return Err(waiter);
            }
            state &= !WAITING;
        }
        // SAFETY: WAITING is clear, so the cell is the receiver's (ours) and holds nothing.
        self.waiter()
            .with_mut(|cell| unsafe { (*cell).write(waiter) });
        // ORDERING: Release publishes the waiter to the sender, which reads it after its own
        // Acquire CAS; Acquire on failure so a finished sender's value is visible to the
        // caller's next `peek`. A strong CAS: the only other writer is the sender, so a
        // failure always means the sender finished.
        match self.state().compare_exchange(
            state,
            state | WAITING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            // SAFETY: the CAS failed, so WAITING was never set: the cell is still ours and
            // holds the waiter written above.
            Err(_) => Err(self
                .waiter()
                .with(|cell| unsafe { (*cell).assume_init_read() })),
        }
    }

    /// Takes back a registered waiter before the sender finishes.
    ///
    /// Returns `true` if a waiter was registered and is now dropped; `false` if none was,
    /// or if the sender has finished and owns it (and wakes it, or has woken it already).
    ///
    /// # Safety
    ///
    /// The caller is the slot's one receiver and has not released it (contract 2).
    pub unsafe fn unregister(&self) -> bool {
        // ORDERING: Acquire, as in `peek`.
        let state = self.state().load(Ordering::Acquire);
        if state & WAITING == 0 || state & (VALUE | CLOSED) != 0 {
            return false;
        }
        // ORDERING: Acquire so our drop of the waiter comes after our own earlier write of it
        // (same thread, trivially) and after nothing of the sender's (it never touched it).
        match self.state().compare_exchange(
            state,
            state & !WAITING,
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // SAFETY: we cleared WAITING while the outcome bits were clear, so the waiter
                // written by our `register` is ours again.
                drop(
                    self.waiter()
                        .with(|cell| unsafe { (*cell).assume_init_read() }),
                );
                true
            }
            Err(_) => false,
        }
    }

    /// Blocks the current thread until the sender finishes or `deadline` passes; `true`
    /// when the sender finished (see [`peek`](Slot::peek) for how).
    ///
    /// Backs off for a few microseconds first (a value about to arrive costs no park), then
    /// parks with a [`Waiter::Thread`].
    ///
    /// # Safety
    ///
    /// The caller is the slot's one receiver and has not released it (contract 2).
    pub unsafe fn wait(&self, deadline: Option<Instant>) -> bool {
        // A few microseconds of backoff first: a value about to arrive costs no park.
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if self.is_finished() {
                return true;
            }
            backoff.snooze();
        }
        // SAFETY: forwarded contract.
        if unsafe { self.register(Waiter::Thread(sync::current())) }.is_err() {
            return true;
        }
        loop {
            if self.is_finished() {
                return true;
            }
            match deadline {
                None => sync::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // SAFETY: forwarded contract.
                        if unsafe { self.unregister() } {
                            return false;
                        }
                        // The sender owns our waiter: it has finished, or is about to say so.
                        continue;
                    }
                    sync::park_timeout(deadline - now);
                }
            }
        }
    }

    /// The async form of [`wait`](Slot::wait): `Ready` once the sender finished, otherwise
    /// registers the task's waker (replacing an earlier one) and returns `Pending`.
    ///
    /// # Safety
    ///
    /// The caller is the slot's one receiver and has not released it (contract 2).
    pub unsafe fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_finished() {
            return Poll::Ready(());
        }
        // SAFETY: forwarded contract.
        match unsafe { self.register(Waiter::Task(cx.waker().clone())) } {
            Ok(()) => Poll::Pending,
            Err(_) => Poll::Ready(()),
        }
    }
}

impl<T> Slot<T> {
    /// With the slot all to itself (after being told [`Release::Last`]), removes a value that
    /// was sent and never taken, so the embedder can look at it before the slot is dropped.
    pub fn take_exclusive(&mut self) -> Option<T> {
        let parts = self.parts.get_mut();
        // ORDERING: `&mut self`: the side that was told Last synchronised with the other side
        // (Acquire) on the way; nothing runs concurrently.
        let state = parts.state.load(Ordering::Relaxed);
        if state & VALUE == 0 || state & TAKEN != 0 {
            return None;
        }
        // ORDERING: as above.
        parts.state.store(state | TAKEN, Ordering::Relaxed);
        // SAFETY: VALUE without TAKEN: the cell holds the sender's value; TAKEN is now set so
        // `Drop` will not drop it again.
        Some(
            parts
                .value
                .with(|cell| unsafe { (*cell).assume_init_read() }),
        )
    }
}

#[cfg(all(test, weft_loom))]
impl<T> Slot<T> {
    /// loom models only: writes every part of the slot, as freeing it does, so that loom
    /// reports any access by the other side that is not ordered before the free (a use after
    /// free outside the model).
    pub(crate) fn model_free(&mut self) {
        let parts = self.parts.get_mut();
        parts.state.with_mut(|_| ());
        parts.value.with_mut(|_| ());
        parts.waiter.with_mut(|_| ());
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        let parts = self.parts.get_mut();
        // ORDERING: whoever drops the slot was told it is the only user, with Acquire on the
        // way; Relaxed suffices to read our own view of the state.
        let state = parts.state.load(Ordering::Relaxed);
        // The waiter first: the value's `Drop` is user code and may panic, which would skip
        // whatever comes after it here.
        if state & WAITING != 0 {
            // SAFETY: WAITING still set: the waiter was registered and neither taken back by
            // the receiver nor moved out by a sender (which clears WAITING when it does).
            parts
                .waiter
                .with_mut(|cell| unsafe { (*cell).assume_init_drop() });
        }
        if state & VALUE != 0 && state & TAKEN == 0 {
            // SAFETY: VALUE without TAKEN: the cell holds the sender's value, not moved out.
            parts
                .value
                .with_mut(|cell| unsafe { (*cell).assume_init_drop() });
        }
    }
}

#[cfg(all(test, not(weft_loom)))]
// SAFETY (whole module): each test plays the one sender and the one receiver of its slot,
// calling each side's methods in the order the contract allows.
#[allow(clippy::undocumented_unsafe_blocks)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn send_then_take_without_waiter() {
        let slot = Slot::new();
        assert_eq!(slot.peek(), Peek::Empty);
        assert_eq!(unsafe { slot.send(5) }, Ok(Release::Shared));
        assert_eq!(slot.peek(), Peek::Ready);
        assert_eq!(unsafe { slot.take() }, 5);
        assert_eq!(unsafe { slot.release_receiver(true) }, Release::Last);
    }

    #[test]
    fn send_to_gone_receiver_hands_value_back() {
        let slot = Slot::new();
        assert_eq!(unsafe { slot.release_receiver(false) }, Release::Shared);
        assert_eq!(
            unsafe { slot.send(String::from("x")) },
            Err(String::from("x"))
        );
    }

    #[test]
    fn close_is_seen_as_closed() {
        let slot = Slot::<u8>::new();
        assert_eq!(unsafe { slot.close() }, Release::Shared);
        assert_eq!(slot.peek(), Peek::Closed);
        assert_eq!(unsafe { slot.release_receiver(false) }, Release::Last);
    }

    #[test]
    fn untaken_value_is_dropped_with_the_slot() {
        let value = Arc::new(());
        let slot = Slot::new();
        let _ = unsafe { slot.send(value.clone()) };
        assert_eq!(Arc::strong_count(&value), 2);
        assert_eq!(unsafe { slot.release_receiver(false) }, Release::Last);
        drop(slot);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn blocked_receiver_is_woken_by_send() {
        let slot = Arc::new(Slot::new());
        let sender = {
            let slot = slot.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                unsafe { slot.send(7u32) }
            })
        };
        assert!(unsafe { slot.wait(None) });
        assert_eq!(unsafe { slot.take() }, 7);
        let receiver_release = unsafe { slot.release_receiver(true) };
        let sender_release = sender.join().unwrap().unwrap();
        assert!(
            (receiver_release == Release::Last) ^ (sender_release == Release::Last),
            "exactly one side frees: receiver {receiver_release:?}, sender {sender_release:?}"
        );
    }

    #[test]
    fn take_exclusive_removes_an_untaken_value_once() {
        let value = Arc::new(());
        let mut slot = Slot::new();
        assert_eq!(slot.take_exclusive(), None);
        let _ = unsafe { slot.send(value.clone()) };
        assert_eq!(unsafe { slot.release_receiver(false) }, Release::Last);
        let taken = slot.take_exclusive();
        assert!(taken.is_some());
        assert!(slot.take_exclusive().is_none());
        drop(slot);
        assert_eq!(
            Arc::strong_count(&value),
            2,
            "the slot did not drop it again"
        );
        drop(taken);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn wait_times_out_and_unregisters() {
        let slot = Slot::<u8>::new();
        let deadline = Instant::now() + Duration::from_millis(10);
        assert!(!unsafe { slot.wait(Some(deadline)) });
        assert!(
            !unsafe { slot.unregister() },
            "timeout took the waiter back"
        );
        assert_eq!(unsafe { slot.send(1) }, Ok(Release::Shared));
        assert_eq!(unsafe { slot.release_receiver(false) }, Release::Last);
    }
}
