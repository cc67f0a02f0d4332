//! The errors of the channel operations, one type per operation (crossbeam's habit).
//!
//! Errors of sending hand the message back; their `Debug` does not print it, so they work
//! for payloads that are not `Debug`.

use std::error::Error;
use std::fmt;

/// A message could not be sent: the receiving side is gone or closed. The message is
/// handed back.
///
/// Returned by [`OneshotSender::send`](crate::OneshotSender::send) and
/// [`Port::send`](crate::Port::send).
///
/// # Examples
///
/// ```
/// use weft::channel::{SendError, oneshot};
///
/// let (tx, rx) = oneshot::<String>();
/// drop(rx);
/// let SendError(message) = tx.send("hello".to_string()).unwrap_err();
/// assert_eq!(message, "hello");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The message that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::SendError;
    ///
    /// assert_eq!(SendError(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError { .. }")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> Error for SendError<T> {}

/// A message could not be sent without blocking. The message is handed back.
///
/// Returned by [`Port::try_send`](crate::Port::try_send).
///
/// # Examples
///
/// ```
/// use weft::channel::{TrySendError, duplex_bounded};
///
/// let (a, b) = duplex_bounded::<u32, u32>(1);
/// a.try_send(1).unwrap();
/// assert_eq!(a.try_send(2), Err(TrySendError::Full(2)));
/// drop(b);
/// assert_eq!(a.try_send(3), Err(TrySendError::Disconnected(3)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is bounded and full.
    Full(T),
    /// The receiving side is gone or closed.
    Disconnected(T),
}

impl<T> TrySendError<T> {
    /// The message that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::TrySendError;
    ///
    /// assert_eq!(TrySendError::Full(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(message) | TrySendError::Disconnected(message) => message,
        }
    }

    /// `true` when the send failed because the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// `true` when the send failed because the receiving side is gone or closed.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TrySendError::Disconnected(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Disconnected(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    /// A refused blocking send is a [`TrySendError::Disconnected`].
    fn from(SendError(message): SendError<T>) -> Self {
        TrySendError::Disconnected(message)
    }
}

/// Nothing will ever be received: the sending side is gone or closed, and every message it
/// sent has been received.
///
/// Returned by [`OneshotReceiver::recv`](crate::OneshotReceiver::recv) (and its `.await`)
/// and [`Port::recv`](crate::Port::recv).
///
/// # Examples
///
/// ```
/// use weft::channel::{RecvError, oneshot};
///
/// let (tx, rx) = oneshot::<u32>();
/// drop(tx);
/// assert_eq!(rx.recv(), Err(RecvError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed channel")
    }
}

impl Error for RecvError {}

/// Nothing could be received without blocking.
///
/// Returned by [`OneshotReceiver::try_recv`](crate::OneshotReceiver::try_recv) and
/// [`Port::try_recv`](crate::Port::try_recv).
///
/// # Examples
///
/// ```
/// use weft::channel::{TryRecvError, oneshot};
///
/// let (tx, mut rx) = oneshot::<u32>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing is waiting now, but something may still be sent.
    Empty,
    /// Nothing will ever be received (see [`RecvError`]).
    Disconnected,
}

impl TryRecvError {
    /// `true` when nothing was waiting but something may still come.
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// `true` when nothing will ever be received.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TryRecvError::Disconnected)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Disconnected => f.write_str("receiving on a closed channel"),
        }
    }
}

impl Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    /// A failed blocking receive is a [`TryRecvError::Disconnected`].
    fn from(_: RecvError) -> Self {
        TryRecvError::Disconnected
    }
}

/// Nothing was received before the timeout.
///
/// Returned by [`OneshotReceiver::recv_timeout`](crate::OneshotReceiver::recv_timeout) and
/// [`Port::recv_timeout`](crate::Port::recv_timeout).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weft::channel::{RecvTimeoutError, oneshot};
///
/// let (tx, mut rx) = oneshot::<u32>();
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// drop(tx);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Disconnected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvTimeoutError {
    /// The timeout passed with nothing to receive; something may still be sent.
    Timeout,
    /// Nothing will ever be received (see [`RecvError`]).
    Disconnected,
}

impl RecvTimeoutError {
    /// `true` when the wait timed out but something may still come.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }

    /// `true` when nothing will ever be received.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, RecvTimeoutError::Disconnected)
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting on channel"),
            RecvTimeoutError::Disconnected => {
                f.write_str("channel is empty and sending half is closed")
            }
        }
    }
}

impl Error for RecvTimeoutError {}

impl From<RecvError> for RecvTimeoutError {
    /// A failed blocking receive is a [`RecvTimeoutError::Disconnected`].
    fn from(_: RecvError) -> Self {
        RecvTimeoutError::Disconnected
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    /// A payload that implements none of the traits the errors could ask for.
    struct Opaque;

    #[test]
    fn send_errors_debug_without_payload_debug() {
        assert_eq!(format!("{:?}", SendError(Opaque)), "SendError { .. }");
        assert_eq!(format!("{:?}", TrySendError::Full(Opaque)), "Full(..)");
        assert_eq!(
            format!("{:?}", TrySendError::Disconnected(Opaque)),
            "Disconnected(..)"
        );
    }

    #[test]
    fn display_messages_are_lowercase_like_std() {
        assert_eq!(SendError(()).to_string(), "sending on a closed channel");
        assert_eq!(
            TrySendError::Full(()).to_string(),
            "sending on a full channel"
        );
        assert_eq!(
            TrySendError::Disconnected(()).to_string(),
            "sending on a closed channel"
        );
        assert_eq!(RecvError.to_string(), "receiving on a closed channel");
        assert_eq!(
            TryRecvError::Empty.to_string(),
            "receiving on an empty channel"
        );
        assert_eq!(
            TryRecvError::Disconnected.to_string(),
            "receiving on a closed channel"
        );
        assert_eq!(
            RecvTimeoutError::Timeout.to_string(),
            "timed out waiting on channel"
        );
        assert_eq!(
            RecvTimeoutError::Disconnected.to_string(),
            "channel is empty and sending half is closed"
        );
    }

    #[test]
    fn conversions_map_to_disconnected() {
        assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
        assert_eq!(
            RecvTimeoutError::from(RecvError),
            RecvTimeoutError::Disconnected
        );
        assert_eq!(
            TrySendError::from(SendError(3)),
            TrySendError::Disconnected(3)
        );
    }

    #[test]
    fn payloads_come_back() {
        assert_eq!(SendError(String::from("m")).into_inner(), "m");
        assert_eq!(TrySendError::Full(1).into_inner(), 1);
        assert_eq!(TrySendError::Disconnected(2).into_inner(), 2);
    }

    #[test]
    fn predicates_name_the_variant() {
        assert!(TrySendError::Full(()).is_full());
        assert!(TrySendError::Disconnected(()).is_disconnected());
        assert!(TryRecvError::Empty.is_empty());
        assert!(TryRecvError::Disconnected.is_disconnected());
        assert!(RecvTimeoutError::Timeout.is_timeout());
        assert!(RecvTimeoutError::Disconnected.is_disconnected());
    }

    #[test]
    fn errors_are_std_errors_and_send_sync() {
        fn assert_error<E: Error + Send + Sync + 'static>() {}
        assert_error::<SendError<String>>();
        assert_error::<TrySendError<String>>();
        assert_error::<RecvError>();
        assert_error::<TryRecvError>();
        assert_error::<RecvTimeoutError>();
    }
}
