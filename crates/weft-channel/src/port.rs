//! [`duplex`]: Node's `MessageChannel`, two [`Port`]s wired back to back over
//! crossbeam-channel.

// # Implementation
//
// Each direction is one crossbeam channel plus a `Gate` shared by both ports:
//
//   state      CLOSED (top bit) | the number of sends in flight
//   closed_tx  held until the direction is closed, then dropped
//   closed_rx  disconnected by that drop: a select on it wakes up at close
//
// crossbeam already gives "drain, then disconnected" when a port is dropped; the gate adds
// the same for `close`, which only has `&self` and so cannot drop the crossbeam halves.
// Dropping a port closes both gates first (so the peer's `is_*_closed` answers are exact),
// then its crossbeam halves go, and crossbeam's own disconnection follows.
//
// Send: `fetch_add(1)` on the state; if CLOSED was set, undo and refuse. Otherwise push,
// then `fetch_sub(1)` (Release). A send blocked on a full bounded channel selects on the
// channel and on `closed_rx`, so a close makes it give the message back.
//
// Receive: `try_recv` first (the fast path never touches the gate). On Empty, load the
// state (Acquire):
//   - open:               spin and yield a little (crossbeam's `Backoff`, as its own
//                         `recv` does), then block in a select on the channel and
//                         `closed_rx`, then retry;
//   - CLOSED, sends > 0:  an accepted send is still pushing: back off and retry;
//   - CLOSED, sends == 0: every send that will ever succeed has pushed, and its push
//                         happens-before this load (its Release `fetch_sub` is in the
//                         release sequence we read from): one more `try_recv` sees it;
//                         if that is empty too, the direction is drained: Disconnected.
// A send that races a close therefore either counted itself in before CLOSED was set (its
// message is pushed, and receivers wait for it before they report Disconnected), or it saw
// CLOSED and gets its message back. Nothing is lost, nothing is delivered after
// Disconnected.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crossbeam_channel as cb;
use crossbeam_utils::Backoff;

use crate::error::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use crate::sync::unmodeled::{Arc, AtomicUsize, Mutex, Ordering, PoisonError};

/// Creates a pair of connected ports with unbounded queues, Node's
/// `new MessageChannel()`: what one port sends, the other receives.
///
/// `A` is what the first port sends (and the second receives), `B` the other way round.
///
/// # Examples
///
/// ```
/// let (main, job) = weft::channel::duplex::<String, usize>();
/// let worker = std::thread::spawn(move || {
///     for text in job.iter() {
///         job.send(text.len()).unwrap();
///     }
/// });
/// main.send("Start computation".to_string()).unwrap();
/// assert_eq!(main.recv(), Ok(17));
/// drop(main); // the job's `iter()` ends once it has read everything
/// worker.join().unwrap();
/// ```
#[must_use = "dropping both halves at once makes a channel nobody can use"]
pub fn duplex<A, B>() -> (Port<A, B>, Port<B, A>) {
    let (a_tx, a_rx) = cb::unbounded();
    let (b_tx, b_rx) = cb::unbounded();
    connect(a_tx, a_rx, b_tx, b_rx)
}

/// Creates a pair of connected ports whose queues hold at most `cap` messages in each
/// direction: a [`send`](Port::send) to a full queue blocks until the peer receives.
///
/// With `cap == 0` every send is a rendezvous: it completes when the peer takes the message.
///
/// # Examples
///
/// ```
/// use weft::channel::{TrySendError, duplex_bounded};
///
/// let (a, b) = duplex_bounded::<u8, u8>(2);
/// a.send(1).unwrap();
/// a.send(2).unwrap();
/// assert_eq!(a.try_send(3), Err(TrySendError::Full(3)));
/// assert_eq!(b.recv(), Ok(1));
/// a.send(3).unwrap();
/// ```
#[must_use = "dropping both halves at once makes a channel nobody can use"]
pub fn duplex_bounded<A, B>(cap: usize) -> (Port<A, B>, Port<B, A>) {
    let (a_tx, a_rx) = cb::bounded(cap);
    let (b_tx, b_rx) = cb::bounded(cap);
    connect(a_tx, a_rx, b_tx, b_rx)
}

fn connect<A, B>(
    a_tx: cb::Sender<A>,
    a_rx: cb::Receiver<A>,
    b_tx: cb::Sender<B>,
    b_rx: cb::Receiver<B>,
) -> (Port<A, B>, Port<B, A>) {
    // gates[0] guards A (first -> second), gates[1] guards B (second -> first).
    let gates = Arc::new([Gate::new(), Gate::new()]);
    (
        Port {
            tx: a_tx,
            rx: b_rx,
            gates: gates.clone(),
            side: 0,
        },
        Port {
            tx: b_tx,
            rx: a_rx,
            gates,
            side: 1,
        },
    )
}

/// The CLOSED bit of a gate's state; the bits below count the sends in flight.
const CLOSED: usize = 1 << (usize::BITS - 1);

/// Never sent: the close signal is the disconnection of its channel.
enum Never {}

/// One direction's closing state (see the implementation notes above).
struct Gate {
    state: AtomicUsize,
    closed_tx: Mutex<Option<cb::Sender<Never>>>,
    closed_rx: cb::Receiver<Never>,
}

/// What a receiver that found its channel empty does next.
enum Phase {
    /// Not closed: wait for a message or the close.
    Open,
    /// Closed, but an accepted send is still pushing its message.
    Closing,
    /// Closed and no send in flight: whatever was accepted has been pushed.
    Closed,
}

impl Gate {
    fn new() -> Self {
        let (closed_tx, closed_rx) = cb::bounded(0);
        Gate {
            state: AtomicUsize::new(0),
            closed_tx: Mutex::new(Some(closed_tx)),
            closed_rx,
        }
    }

    /// Counts a send in, unless the direction is closed. `false`: refuse the message.
    fn enter(&self) -> bool {
        // ORDERING: Relaxed: entering publishes nothing (the push comes later and `exit`
        // publishes it), and a refused sender reads nothing. Being an RMW, it is ordered
        // against the closer's `fetch_or` in the state's modification order, which is all
        // the accept-or-refuse decision needs.
        let before = self.state.fetch_add(1, Ordering::Relaxed);
        if before & CLOSED != 0 {
            self.exit();
            false
        } else {
            true
        }
    }

    /// Counts a send out, after it pushed its message or gave up.
    fn exit(&self) {
        // ORDERING: Release: the push happens-before a receiver's Acquire load that sees the
        // count drop (this RMW, or a later one in its release sequence).
        self.state.fetch_sub(1, Ordering::Release);
    }

    /// Closes the direction and wakes everyone blocked on it. Idempotent.
    fn close(&self) {
        // ORDERING: AcqRel. Senders decide by RMW (see `enter`), ordered against this one in
        // the state's modification order; a receiver woken by the disconnect below sees the
        // bit because crossbeam's disconnect synchronizes with its wake-up. Release so that
        // `Port::close`, which closes the incoming gate before the outgoing one, publishes
        // the first close to a peer that observes the second (Acquire in `phase`): the peer's
        // next `enter` on the first gate then reads CLOSED (write-read coherence).
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        let closed_tx = self
            .closed_tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(closed_tx);
    }

    fn is_closed(&self) -> bool {
        // ORDERING: Relaxed: a hint; nothing is read on the strength of it.
        self.state.load(Ordering::Relaxed) & CLOSED != 0
    }

    fn phase(&self) -> Phase {
        // ORDERING: Acquire pairs with `exit`'s Release: when the count reads zero, every
        // accepted push happens-before the caller's next `try_recv`.
        let state = self.state.load(Ordering::Acquire);
        if state & CLOSED == 0 {
            Phase::Open
        } else if state & !CLOSED != 0 {
            Phase::Closing
        } else {
            Phase::Closed
        }
    }
}

/// One end of a [`duplex`] channel: sends `S` to its peer and receives `R` from it.
///
/// Node's `MessagePort`: [`send`](Self::send) is `postMessage`, [`recv`](Self::recv) and
/// [`iter`](Self::iter) are `on('message')`, [`close`](Self::close) is `close()`. Several
/// threads may use one port at once (`Port` is `Sync` when its payloads are `Send`).
///
/// # Closing
///
/// - Dropping a port, or calling [`close`](Self::close) on either port, ends both
///   directions. [`close_send`](Self::close_send) ends only the direction from this port to
///   its peer.
/// - Once a direction has ended, sends into it are refused with the message handed back in
///   [`SendError`], and receives from it first drain every message that was accepted, then
///   report disconnection. A receiver blocked in [`recv`](Self::recv) is woken.
/// - Messages are never lost: a send that returned `Ok` is readable by the peer until it is
///   read or the peer port is dropped, even if the direction is closed meanwhile. A send
///   racing a close either returns `Ok` (and its message is drained like the others) or
///   returns the message in its error.
///
/// # Examples
///
/// ```
/// use weft::channel::{RecvError, SendError, duplex};
///
/// let (left, right) = duplex::<&str, &str>();
/// left.send("ping").unwrap();
/// assert_eq!(right.recv(), Ok("ping"));
/// right.send("pong").unwrap();
/// assert_eq!(left.recv(), Ok("pong"));
///
/// left.send("last").unwrap();
/// left.close();
/// assert_eq!(left.send("late"), Err(SendError("late")));
/// assert_eq!(right.send("late"), Err(SendError("late")));
/// assert_eq!(right.recv(), Ok("last"));
/// assert_eq!(right.recv(), Err(RecvError));
/// ```
pub struct Port<S, R> {
    tx: cb::Sender<S>,
    rx: cb::Receiver<R>,
    /// `gates[side]` guards `tx`'s direction, `gates[side ^ 1]` guards `rx`'s.
    gates: Arc<[Gate; 2]>,
    side: usize,
}

impl<S, R> Port<S, R> {
    fn send_gate(&self) -> &Gate {
        &self.gates[self.side]
    }

    fn recv_gate(&self) -> &Gate {
        &self.gates[self.side ^ 1]
    }

    /// Sends a message to the peer. Blocks only while a bounded queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message when the peer is gone or this direction is closed
    /// (by [`close`](Self::close) on either port or [`close_send`](Self::close_send) on
    /// this one), including a close that happens while the send is blocked.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::{SendError, duplex};
    ///
    /// let (a, b) = duplex::<u32, ()>();
    /// a.send(1).unwrap();
    /// drop(b);
    /// assert_eq!(a.send(2), Err(SendError(2)));
    /// ```
    pub fn send(&self, message: S) -> Result<(), SendError<S>> {
        let gate = self.send_gate();
        if !gate.enter() {
            return Err(SendError(message));
        }
        let sent = match self.tx.try_send(message) {
            Ok(()) => Ok(()),
            Err(cb::TrySendError::Disconnected(message)) => Err(SendError(message)),
            Err(cb::TrySendError::Full(message)) => self.send_when_room(gate, message),
        };
        gate.exit();
        sent
    }

    /// The blocking part of `send`: waits for room in the queue, or for the close. Spins and
    /// yields a little first, as crossbeam's own `send` does, then blocks.
    fn send_when_room(&self, gate: &Gate, mut message: S) -> Result<(), SendError<S>> {
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            backoff.snooze();
            if gate.is_closed() {
                return Err(SendError(message));
            }
            message = match self.tx.try_send(message) {
                Ok(()) => return Ok(()),
                Err(cb::TrySendError::Full(message)) => message,
                Err(cb::TrySendError::Disconnected(message)) => return Err(SendError(message)),
            };
        }
        cb::select! {
            send(self.tx, message) -> sent => sent.map_err(|cb::SendError(message)| SendError(message)),
            recv(gate.closed_rx) -> _ => Err(SendError(message)),
        }
    }

    /// Sends a message if that can be done without blocking.
    ///
    /// # Errors
    ///
    /// - [`TrySendError::Full`]: a bounded queue is full.
    /// - [`TrySendError::Disconnected`]: the peer is gone or this direction is closed.
    ///
    /// Both hand the message back.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::{TrySendError, duplex_bounded};
    ///
    /// let (a, b) = duplex_bounded::<u32, ()>(1);
    /// assert_eq!(a.try_send(1), Ok(()));
    /// assert_eq!(a.try_send(2), Err(TrySendError::Full(2)));
    /// a.close_send();
    /// assert_eq!(a.try_send(3), Err(TrySendError::Disconnected(3)));
    /// assert_eq!(b.recv(), Ok(1));
    /// ```
    pub fn try_send(&self, message: S) -> Result<(), TrySendError<S>> {
        let gate = self.send_gate();
        if !gate.enter() {
            return Err(TrySendError::Disconnected(message));
        }
        let sent = self.tx.try_send(message).map_err(|error| match error {
            cb::TrySendError::Full(message) => TrySendError::Full(message),
            cb::TrySendError::Disconnected(message) => TrySendError::Disconnected(message),
        });
        gate.exit();
        sent
    }

    /// Blocks until a message arrives, and returns it.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the peer is gone or the direction towards this port is closed,
    /// and every message sent before that has been received.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::{RecvError, duplex};
    ///
    /// let (a, b) = duplex::<u32, ()>();
    /// std::thread::spawn(move || {
    ///     a.send(1).unwrap();
    ///     a.send(2).unwrap();
    /// }); // `a` dropped: `b` drains, then sees the end
    /// assert_eq!(b.recv(), Ok(1));
    /// assert_eq!(b.recv(), Ok(2));
    /// assert_eq!(b.recv(), Err(RecvError));
    /// ```
    pub fn recv(&self) -> Result<R, RecvError> {
        let gate = self.recv_gate();
        // Spin and yield a little before blocking, as crossbeam's own `recv` does: a reply
        // that is microseconds away costs no park and unpark.
        let backoff = Backoff::new();
        loop {
            match self.rx.try_recv() {
                Ok(message) => return Ok(message),
                Err(cb::TryRecvError::Disconnected) => return Err(RecvError),
                Err(cb::TryRecvError::Empty) => {}
            }
            match gate.phase() {
                Phase::Closed => return self.rx.try_recv().map_err(|_| RecvError),
                Phase::Open if backoff.is_completed() => cb::select! {
                    recv(self.rx) -> message => return message.map_err(|cb::RecvError| RecvError),
                    recv(gate.closed_rx) -> _ => {}
                },
                Phase::Open | Phase::Closing => backoff.snooze(),
            }
        }
    }

    /// Returns a message if one is waiting, without blocking.
    ///
    /// # Errors
    ///
    /// - [`TryRecvError::Empty`]: nothing now; the peer may still send.
    /// - [`TryRecvError::Disconnected`]: the peer is gone or the direction towards this port
    ///   is closed, and every message sent before that has been received.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::{TryRecvError, duplex};
    ///
    /// let (a, b) = duplex::<u32, ()>();
    /// assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
    /// a.send(5).unwrap();
    /// a.close_send();
    /// assert_eq!(b.try_recv(), Ok(5));
    /// assert_eq!(b.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<R, TryRecvError> {
        match self.rx.try_recv() {
            Ok(message) => Ok(message),
            Err(cb::TryRecvError::Disconnected) => Err(TryRecvError::Disconnected),
            Err(cb::TryRecvError::Empty) => match self.recv_gate().phase() {
                Phase::Open | Phase::Closing => Err(TryRecvError::Empty),
                Phase::Closed => self.rx.try_recv().map_err(|_| TryRecvError::Disconnected),
            },
        }
    }

    /// Blocks until a message arrives or `timeout` passes.
    ///
    /// A timeout too large to be represented as a deadline waits forever.
    ///
    /// # Errors
    ///
    /// - [`RecvTimeoutError::Timeout`]: nothing arrived in time; the peer may still send.
    /// - [`RecvTimeoutError::Disconnected`]: as [`RecvError`] for [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::channel::{RecvTimeoutError, duplex};
    ///
    /// let (a, b) = duplex::<u32, ()>();
    /// assert_eq!(b.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// a.send(9).unwrap();
    /// assert_eq!(b.recv_timeout(Duration::from_secs(1)), Ok(9));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<R, RecvTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.recv_deadline(deadline),
            None => self.recv().map_err(RecvTimeoutError::from),
        }
    }

    /// Blocks until a message arrives or the clock reaches `deadline`.
    ///
    /// # Errors
    ///
    /// As for [`recv_timeout`](Self::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use weft::channel::{RecvTimeoutError, duplex};
    ///
    /// let (a, b) = duplex::<u32, ()>();
    /// let soon = Instant::now() + Duration::from_millis(1);
    /// assert_eq!(b.recv_deadline(soon), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<R, RecvTimeoutError> {
        let gate = self.recv_gate();
        let backoff = Backoff::new();
        loop {
            match self.rx.try_recv() {
                Ok(message) => return Ok(message),
                Err(cb::TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(cb::TryRecvError::Empty) => {}
            }
            let phase = gate.phase();
            if let Phase::Closed = phase {
                return self
                    .rx
                    .try_recv()
                    .map_err(|_| RecvTimeoutError::Disconnected);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RecvTimeoutError::Timeout);
            }
            match phase {
                Phase::Open if backoff.is_completed() => cb::select! {
                    recv(self.rx) -> message => {
                        return message.map_err(|cb::RecvError| RecvTimeoutError::Disconnected);
                    }
                    recv(gate.closed_rx) -> _ => {}
                    default(deadline - now) => {}
                },
                Phase::Open | Phase::Closing | Phase::Closed => backoff.snooze(),
            }
        }
    }

    /// A blocking iterator over the messages: each `next` is a [`recv`](Self::recv), and the
    /// iteration ends when `recv` would return [`RecvError`] (the peer is gone or closed
    /// and everything it sent has been read).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = weft::channel::duplex::<u32, ()>();
    /// for i in 0..3 {
    ///     a.send(i).unwrap();
    /// }
    /// drop(a);
    /// assert_eq!(b.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, S, R> {
        Iter { port: self }
    }

    /// A non-blocking iterator over the messages waiting now: each `next` is a
    /// [`try_recv`](Self::try_recv), and the iteration ends at the first error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = weft::channel::duplex::<u32, ()>();
    /// a.send(1).unwrap();
    /// a.send(2).unwrap();
    /// assert_eq!(b.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(b.try_iter().next(), None); // `a` is still there, nothing waits
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, S, R> {
        TryIter { port: self }
    }

    /// Ends both directions, Node's `port.close()`.
    ///
    /// Afterwards sends on either port return their message in [`SendError`]; receives on
    /// either port drain what was accepted before, then report disconnection; receivers
    /// (and senders waiting for room) blocked on either port are woken. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::{RecvError, SendError, duplex};
    ///
    /// let (a, b) = duplex::<u32, u32>();
    /// b.send(1).unwrap();
    /// a.close();
    /// assert_eq!(b.send(2), Err(SendError(2)));
    /// assert_eq!(a.recv(), Ok(1));
    /// assert_eq!(a.recv(), Err(RecvError));
    /// assert_eq!(b.recv(), Err(RecvError));
    /// ```
    pub fn close(&self) {
        // Incoming first: a peer that sees our sending direction end (Acquire, through the
        // gate or the disconnect) must also find its own sends refused.
        self.recv_gate().close();
        self.send_gate().close();
    }

    /// Ends the direction from this port to its peer (a half-close): further sends on this
    /// port are refused with the message handed back; the peer drains what was sent, then
    /// its receives report disconnection (a peer blocked in [`recv`](Self::recv) is woken).
    /// Messages from the peer to this port keep flowing. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::channel::{RecvError, SendError, duplex};
    ///
    /// let (main, job) = duplex::<&str, &str>();
    /// main.send("work").unwrap();
    /// main.close_send();
    /// assert_eq!(main.send("more"), Err(SendError("more")));
    /// assert_eq!(job.recv(), Ok("work"));
    /// assert_eq!(job.recv(), Err(RecvError));
    /// job.send("still heard").unwrap();
    /// assert_eq!(main.recv(), Ok("still heard"));
    /// ```
    pub fn close_send(&self) {
        self.send_gate().close();
    }

    /// `true` when sends on this port are refused: the direction to the peer was closed
    /// (by [`close_send`](Self::close_send) or [`close`](Self::close) here, `close` on the
    /// peer) or the peer was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = weft::channel::duplex::<(), ()>();
    /// assert!(!a.is_send_closed());
    /// drop(b);
    /// assert!(a.is_send_closed());
    /// ```
    pub fn is_send_closed(&self) -> bool {
        self.send_gate().is_closed()
    }

    /// `true` when the peer can no longer send to this port (the direction was closed, or
    /// the peer was dropped). Messages it sent before may still be waiting to be received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = weft::channel::duplex::<u8, ()>();
    /// a.send(1).unwrap();
    /// a.close_send();
    /// assert!(b.is_recv_closed());
    /// assert_eq!(b.recv(), Ok(1));
    /// ```
    pub fn is_recv_closed(&self) -> bool {
        self.recv_gate().is_closed()
    }

    /// `true` when both directions are closed, as after [`close`](Self::close) on either
    /// port or the peer's drop.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = weft::channel::duplex::<(), ()>();
    /// b.close();
    /// assert!(a.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.is_send_closed() && self.is_recv_closed()
    }
}

impl<S, R> Drop for Port<S, R> {
    /// Closes both directions (see [`close`](Port::close)); messages the peer has not read
    /// stay readable, messages this port had not read are dropped.
    ///
    /// # Panics
    ///
    /// If dropping an unread message panics, the other unread messages are still dropped,
    /// then the first such panic is re-raised (unless the thread is already panicking).
    fn drop(&mut self) {
        self.close();
        // Drop the unread messages here, one by one: crossbeam's own cleanup stops at the
        // first message whose `Drop` panics and leaks the rest. (A send that was in flight
        // when we closed may still land after this loop; crossbeam drops that one.)
        let mut first_panic = None;
        while let Ok(message) = self.rx.try_recv() {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(message))) {
                first_panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = first_panic
            && !std::thread::panicking()
        {
            panic::resume_unwind(payload);
        }
    }
}

impl<S, R> fmt::Debug for Port<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("send_closed", &self.is_send_closed())
            .field("recv_closed", &self.is_recv_closed())
            .field("waiting", &self.rx.len())
            .finish()
    }
}

/// The blocking iterator returned by [`Port::iter`].
pub struct Iter<'a, S, R> {
    port: &'a Port<S, R>,
}

impl<S, R> Iterator for Iter<'_, S, R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        self.port.recv().ok()
    }
}

impl<S, R> fmt::Debug for Iter<'_, S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("port", self.port).finish()
    }
}

/// The non-blocking iterator returned by [`Port::try_iter`].
pub struct TryIter<'a, S, R> {
    port: &'a Port<S, R>,
}

impl<S, R> Iterator for TryIter<'_, S, R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        self.port.try_recv().ok()
    }
}

impl<S, R> fmt::Debug for TryIter<'_, S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryIter").field("port", self.port).finish()
    }
}

/// The blocking iterator that owns its port, from `port.into_iter()`; see [`Port::iter`].
pub struct IntoIter<S, R> {
    port: Port<S, R>,
}

impl<S, R> Iterator for IntoIter<S, R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        self.port.recv().ok()
    }
}

impl<S, R> fmt::Debug for IntoIter<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("port", &self.port)
            .finish()
    }
}

impl<'a, S, R> IntoIterator for &'a Port<S, R> {
    type Item = R;
    type IntoIter = Iter<'a, S, R>;

    fn into_iter(self) -> Iter<'a, S, R> {
        self.iter()
    }
}

impl<S, R> IntoIterator for Port<S, R> {
    type Item = R;
    type IntoIter = IntoIter<S, R>;

    fn into_iter(self) -> IntoIter<S, R> {
        IntoIter { port: self }
    }
}
