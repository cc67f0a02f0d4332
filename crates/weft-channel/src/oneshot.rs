//! [`oneshot`]: the standalone form of [`Slot`]: one value, once, from one thread to
//! another, in one heap allocation.

// # Implementation
//
// `oneshot()` boxes one `Slot<T>` and gives both halves a pointer to it. Each half finishes
// its side of the slot exactly once (the sender with `send` or, when dropped unsent,
// `close`; the receiver with `release_receiver`, as soon as it has taken the value or seen
// the slot closed, or when dropped), and the half told `Release::Last` (or handed the value
// back by `send`) frees the box. The receiver forgets its pointer once it has released the
// slot, so a receiver that has received answers every later call with "disconnected" without
// touching freed memory.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::{RecvError, RecvTimeoutError, SendError, TryRecvError};
use crate::slot::{Peek, Release, Slot};

/// Creates a oneshot channel: one value, sent once, received once.
///
/// The channel is one heap allocation (a state word, a cell for the value and one for a
/// waiting receiver), freed by whichever half lets go last.
///
/// # Send happens-before receive
///
/// Everything the sending thread did before [`OneshotSender::send`] happens-before
/// everything the receiving thread does after it received the value, by any of the ways
/// of receiving: [`recv`](OneshotReceiver::recv), [`try_recv`](OneshotReceiver::try_recv),
/// [`recv_timeout`](OneshotReceiver::recv_timeout),
/// [`recv_deadline`](OneshotReceiver::recv_deadline) or `.await`. The same holds for dropping
/// the sender unsent and a receive that reports it. So the value itself, and anything the
/// sender wrote through other means before sending, is fully visible to the receiver without
/// further synchronisation.
///
/// # Examples
///
/// ```
/// let (tx, rx) = weft::channel::oneshot();
/// std::thread::spawn(move || tx.send(6 * 7).unwrap());
/// assert_eq!(rx.recv(), Ok(42));
/// ```
///
/// A dropped sender is reported, and a value sent to a dropped receiver comes back:
///
/// ```
/// use weft::channel::{RecvError, SendError, oneshot};
///
/// let (tx, rx) = oneshot::<u32>();
/// drop(tx);
/// assert_eq!(rx.recv(), Err(RecvError));
///
/// let (tx, rx) = oneshot::<u32>();
/// drop(rx);
/// assert_eq!(tx.send(1), Err(SendError(1)));
/// ```
#[must_use = "dropping both halves at once makes a channel nobody can use"]
pub fn oneshot<T>() -> (OneshotSender<T>, OneshotReceiver<T>) {
    let slot = NonNull::from(Box::leak(Box::new(Slot::new())));
    (
        OneshotSender {
            slot,
            _owns: PhantomData,
        },
        OneshotReceiver {
            slot: Some(slot),
            _owns: PhantomData,
        },
    )
}

/// Frees the allocation made by [`oneshot`].
///
/// # Safety
///
/// `slot` came from [`oneshot`], and the caller was just told it is the slot's last user
/// ([`Release::Last`], or an `Err` from [`Slot::send`]).
unsafe fn free<T>(slot: NonNull<Slot<T>>) {
    // SAFETY: the box was leaked by `oneshot`; the caller is its last user (see above), so
    // nobody else reads or frees it.
    drop(unsafe { Box::from_raw(slot.as_ptr()) });
}

/// The sending half of a [`oneshot`] channel.
///
/// Dropping it without sending closes the channel: the receiver gets [`RecvError`].
pub struct OneshotSender<T> {
    /// Valid until this half finishes the slot (by `send`, which consumes `self`, or `Drop`).
    slot: NonNull<Slot<T>>,
    /// The channel may drop a `T` when this half frees it.
    _owns: PhantomData<T>,
}

// SAFETY: the value moves to the receiver's thread, hence `T: Send`; the slot coordinates
// the two halves (see `Slot`'s own `Send`).
unsafe impl<T: Send> Send for OneshotSender<T> {}
// SAFETY: `&OneshotSender` only reads the slot's state word; no `T` is reachable through it.
unsafe impl<T: Send> Sync for OneshotSender<T> {}

impl<T> OneshotSender<T> {
    /// Sends `value`, waking the receiver if it waits. Never blocks.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value when the receiver was already dropped (or had already
    /// given up on the channel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::channel::oneshot();
    /// tx.send("done").unwrap();
    /// assert_eq!(rx.recv(), Ok("done"));
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let slot = self.slot;
        // The slot is finished below; `Drop` must not close it again.
        mem::forget(self);
        // SAFETY: this half is the slot's one sender and finishes it only here (`Drop` is
        // skipped); the slot is alive because this half has not finished it yet.
        let sent = unsafe { slot.as_ref().send(value) };
        match sent {
            Ok(Release::Shared) => Ok(()),
            Ok(Release::Last) => {
                // SAFETY: told `Last`: the receiver is gone.
                unsafe { free(slot) };
                Ok(())
            }
            Err(value) => {
                // SAFETY: `send` handed the value back: the receiver is gone.
                unsafe { free(slot) };
                Err(SendError(value))
            }
        }
    }

    /// `true` when the receiver has been dropped, or has given up on the channel: a value
    /// sent now would come back in [`SendError`].
    ///
    /// Only a hint: the receiver can go right after this returned `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::channel::oneshot::<u32>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // SAFETY: the slot is alive until this half finishes it.
        unsafe { self.slot.as_ref() }.is_receiver_gone()
    }
}

impl<T> Drop for OneshotSender<T> {
    fn drop(&mut self) {
        // SAFETY: this half is the slot's one sender; `send` skips this `Drop`, so the slot is
        // finished only here.
        if unsafe { self.slot.as_ref().close() } == Release::Last {
            // SAFETY: told `Last`: the receiver is gone.
            unsafe { free(self.slot) };
        }
    }
}

impl<T> fmt::Debug for OneshotSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneshotSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a [`oneshot`] channel.
///
/// Receive by blocking ([`recv`](Self::recv), [`recv_timeout`](Self::recv_timeout)), by
/// polling ([`try_recv`](Self::try_recv)) or by awaiting it: `OneshotReceiver<T>` is a
/// [`Future`] with `Output = Result<T, RecvError>`, and is [`Unpin`].
///
/// Dropping it makes a later [`send`](OneshotSender::send) hand the value back; a value
/// sent but never received is dropped with the channel.
pub struct OneshotReceiver<T> {
    /// `None` once this half has released the slot (it took the value or saw the slot
    /// closed); until then the slot is alive.
    slot: Option<NonNull<Slot<T>>>,
    /// The channel may drop a `T` when this half frees it.
    _owns: PhantomData<T>,
}

// SAFETY: the value moves here from the sender's thread, hence `T: Send`.
unsafe impl<T: Send> Send for OneshotReceiver<T> {}
// SAFETY: `&OneshotReceiver` only reads the slot's state word (`is_ready`, `is_finished`);
// every method that can take the value needs `&mut self` or `self`.
unsafe impl<T: Send> Sync for OneshotReceiver<T> {}

// The receiver is never pinned structurally: it is a pointer and a flag.
impl<T> Unpin for OneshotReceiver<T> {}

impl<T> OneshotReceiver<T> {
    /// Blocks until the value arrives, and returns it.
    ///
    /// Spins for a few microseconds, then parks the thread.
    ///
    /// # Errors
    ///
    /// [`RecvError`] when the sender was dropped without sending.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::channel::oneshot();
    /// std::thread::spawn(move || tx.send(vec![1, 2, 3]).unwrap());
    /// assert_eq!(rx.recv().unwrap(), [1, 2, 3]);
    /// ```
    pub fn recv(mut self) -> Result<T, RecvError> {
        match self.recv_until(None) {
            Ok(value) => Ok(value),
            Err(_) => Err(RecvError),
        }
    }

    /// Returns the value if it has arrived, without blocking.
    ///
    /// # Errors
    ///
    /// - [`TryRecvError::Empty`]: nothing yet; the sender may still send.
    /// - [`TryRecvError::Disconnected`]: the sender was dropped without sending, or the value
    ///   was already received.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::{TryRecvError, oneshot};
    ///
    /// let (tx, mut rx) = oneshot();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(slot) = self.slot else {
            return Err(TryRecvError::Disconnected);
        };
        // SAFETY: `self.slot` is `Some`, so this half has not released the slot: it is alive.
        match unsafe { slot.as_ref() }.peek() {
            Peek::Empty => Err(TryRecvError::Empty),
            Peek::Ready => {
                // SAFETY: this half is the one receiver, `peek` said `Ready`, and it has not
                // taken the value before (it releases the slot right after taking).
                let value = unsafe { slot.as_ref().take() };
                self.release(true);
                Ok(value)
            }
            Peek::Closed => {
                self.release(false);
                Err(TryRecvError::Disconnected)
            }
        }
    }

    /// Blocks until the value arrives or `timeout` passes.
    ///
    /// A timeout too large to be represented as a deadline waits forever.
    ///
    /// # Errors
    ///
    /// - [`RecvTimeoutError::Timeout`]: nothing arrived in time; the sender may still send.
    /// - [`RecvTimeoutError::Disconnected`]: the sender was dropped without sending, or the
    ///   value was already received.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::channel::{RecvTimeoutError, oneshot};
    ///
    /// let (tx, mut rx) = oneshot();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// tx.send('x').unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Ok('x'));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// Blocks until the value arrives or the clock reaches `deadline`.
    ///
    /// # Errors
    ///
    /// As for [`recv_timeout`](Self::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (tx, mut rx) = weft::channel::oneshot();
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.recv_deadline(Instant::now() + Duration::from_secs(1)), Ok(3));
    /// ```
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// `true` when a value is waiting: the next receive returns it without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::channel::oneshot();
    /// assert!(!rx.is_ready());
    /// tx.send(()).unwrap();
    /// assert!(rx.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        match self.slot {
            // SAFETY: `Some`: not released, so alive.
            Some(slot) => unsafe { slot.as_ref() }.peek() == Peek::Ready,
            None => false,
        }
    }

    /// `true` when the sender has finished: the next receive does not block (it returns the
    /// value, or reports that there is none and never will be).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::channel::oneshot::<u8>();
    /// assert!(!rx.is_finished());
    /// drop(tx);
    /// assert!(rx.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        match self.slot {
            // SAFETY: `Some`: not released, so alive.
            Some(slot) => unsafe { slot.as_ref() }.is_finished(),
            None => true,
        }
    }

    /// Waits (forever when `deadline` is `None`), then receives.
    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let Some(slot) = self.slot else {
            return Err(RecvTimeoutError::Disconnected);
        };
        // SAFETY: this half is the one receiver and has not released the slot (`Some`).
        if !unsafe { slot.as_ref().wait(deadline) } {
            return Err(RecvTimeoutError::Timeout);
        }
        match self.try_recv() {
            Ok(value) => Ok(value),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            // `wait` returned `true`: the sender has finished, so this cannot be empty.
            Err(TryRecvError::Empty) => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Lets go of the slot, freeing it if the sender is gone too.
    fn release(&mut self, took: bool) {
        if let Some(slot) = self.slot.take() {
            // SAFETY: this half is the one receiver and releases only here, once: the pointer
            // was just taken out of `self.slot`.
            if unsafe { slot.as_ref().release_receiver(took) } == Release::Last {
                // SAFETY: told `Last`: the sender is gone.
                unsafe { free(slot) };
            }
        }
    }
}

impl<T> Future for OneshotReceiver<T> {
    type Output = Result<T, RecvError>;

    /// Ready with the value, or with [`RecvError`] when the sender was dropped unsent.
    /// Polling again after it returned `Ready` gives `Ready(Err(RecvError))`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(slot) = this.slot else {
            return Poll::Ready(Err(RecvError));
        };
        // SAFETY: this half is the one receiver and has not released the slot (`Some`).
        match unsafe { slot.as_ref().poll(cx) } {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(this.try_recv().map_err(|_| RecvError)),
        }
    }
}

impl<T> Drop for OneshotReceiver<T> {
    fn drop(&mut self) {
        self.release(false);
    }
}

impl<T> fmt::Debug for OneshotReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.slot {
            // SAFETY: `Some`: not released, so alive.
            Some(slot) => match unsafe { slot.as_ref() }.peek() {
                Peek::Empty => "empty",
                Peek::Ready => "ready",
                Peek::Closed => "closed",
            },
            None => "done",
        };
        f.debug_struct("OneshotReceiver")
            .field("state", &state)
            .finish()
    }
}
