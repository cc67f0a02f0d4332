//! Every sender action against every receiver action, with drop counters; written to be run
//! under miri (`cargo +nightly miri test -p weft-channel --test miri`), which checks each
//! case for undefined behaviour, leaks and use after free. Runs natively too.
//!
//! The oneshot crate's habit: enumerate, don't sample.

#![cfg(not(weft_loom))]

mod common;

use std::task::Poll;
use std::thread;
use std::time::Duration;

use common::{Counted, CountingWaker, Drops, block_on, noop_waker, poll_once};
use weft_channel::slot::{Peek, Release, Slot, Waiter};
use weft_channel::{RecvError, RecvTimeoutError, SendError, TryRecvError, oneshot};

/// What the sending half does.
#[derive(Debug, Clone, Copy)]
enum SenderAction {
    Send,
    DropUnsent,
}

/// When the sending half acts, relative to the receiving half.
#[derive(Debug, Clone, Copy)]
enum When {
    /// On this thread, before the receiver does anything.
    Before,
    /// On another thread, a little after the receiver started (it is probably waiting).
    AfterAWhile,
    /// On another thread, right away: a race.
    Concurrently,
}

/// What the receiving half does.
#[derive(Debug, Clone, Copy)]
enum ReceiverAction {
    Recv,
    /// `try_recv` until it stops saying `Empty`, then once more.
    TryRecv,
    /// A zero timeout first (may time out), then a long one, then once more.
    RecvTimeout,
    /// `.await` through a tiny `block_on`.
    Await,
    /// One poll with a no-op waker, then `.await` with a real one (re-registering).
    PollThenAwait,
    /// Polled once (a waker stays registered), then dropped.
    PollThenDrop,
    /// Dropped without receiving.
    Drop,
}

const SENDER_ACTIONS: [SenderAction; 2] = [SenderAction::Send, SenderAction::DropUnsent];
const WHENS: [When; 3] = [When::Before, When::AfterAWhile, When::Concurrently];
const RECEIVER_ACTIONS: [ReceiverAction; 7] = [
    ReceiverAction::Recv,
    ReceiverAction::TryRecv,
    ReceiverAction::RecvTimeout,
    ReceiverAction::Await,
    ReceiverAction::PollThenAwait,
    ReceiverAction::PollThenDrop,
    ReceiverAction::Drop,
];

/// What the receiver ended up with: `Some(id)` of the value, or `None`.
type Received = Option<usize>;

fn receive(rx: weft_channel::OneshotReceiver<Counted>, action: ReceiverAction) -> Received {
    let mut rx = rx;
    match action {
        ReceiverAction::Recv => rx.recv().ok().map(|v| v.id),
        ReceiverAction::TryRecv => {
            let got = loop {
                match rx.try_recv() {
                    Ok(value) => break Some(value.id),
                    Err(TryRecvError::Disconnected) => break None,
                    Err(TryRecvError::Empty) => thread::yield_now(),
                }
            };
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
            got
        }
        ReceiverAction::RecvTimeout => {
            let got = match rx.recv_timeout(Duration::ZERO) {
                Ok(value) => Some(value.id),
                Err(RecvTimeoutError::Disconnected) => None,
                Err(RecvTimeoutError::Timeout) => match rx.recv_timeout(Duration::from_secs(600)) {
                    Ok(value) => Some(value.id),
                    Err(RecvTimeoutError::Disconnected) => None,
                    Err(RecvTimeoutError::Timeout) => panic!("timed out for ten minutes"),
                },
            };
            assert!(matches!(
                rx.recv_timeout(Duration::ZERO),
                Err(RecvTimeoutError::Disconnected)
            ));
            got
        }
        ReceiverAction::Await => block_on(rx).ok().map(|v| v.id),
        ReceiverAction::PollThenAwait => match poll_once(&mut rx, &noop_waker()) {
            Poll::Ready(result) => result.ok().map(|v| v.id),
            Poll::Pending => block_on(rx).ok().map(|v| v.id),
        },
        ReceiverAction::PollThenDrop => {
            let waker = CountingWaker::new();
            let got = match poll_once(&mut rx, &waker.clone().into()) {
                Poll::Ready(result) => result.ok().map(|v| v.id),
                Poll::Pending => None,
            };
            drop(rx);
            got
        }
        ReceiverAction::Drop => None,
    }
}

fn act(tx: weft_channel::OneshotSender<Counted>, action: SenderAction, value: Counted) -> bool {
    match action {
        SenderAction::Send => match tx.send(value) {
            Ok(()) => true,
            Err(SendError(back)) => {
                assert_eq!(back.id, 7);
                false
            }
        },
        SenderAction::DropUnsent => {
            drop(tx);
            drop(value);
            false
        }
    }
}

fn run_case(sender: SenderAction, when: When, receiver: ReceiverAction) {
    let drops = Drops::new();
    let (tx, rx) = oneshot();
    let value = drops.item(7);
    let (delivered, received) = match when {
        When::Before => {
            let delivered = act(tx, sender, value);
            (delivered, receive(rx, receiver))
        }
        When::AfterAWhile | When::Concurrently => {
            let delay = matches!(when, When::AfterAWhile);
            let handle = thread::spawn(move || {
                if delay {
                    thread::sleep(Duration::from_millis(5));
                }
                act(tx, sender, value)
            });
            let received = receive(rx, receiver);
            (handle.join().unwrap(), received)
        }
    };
    let case = format!("{sender:?} {when:?} {receiver:?}");
    assert_eq!(
        drops.count(),
        1,
        "{case}: the value is dropped exactly once"
    );
    match sender {
        SenderAction::DropUnsent => assert_eq!(received, None, "{case}"),
        SenderAction::Send => match receiver {
            ReceiverAction::Drop | ReceiverAction::PollThenDrop => {
                // The value was delivered into the channel (and dropped with it), handed back,
                // or, for `PollThenDrop`, received by the one poll.
                assert!(received.is_none() || delivered, "{case}");
            }
            _ => {
                assert!(delivered, "{case}: the receiver was there");
                assert_eq!(received, Some(7), "{case}");
            }
        },
    }
}

#[test]
fn every_sender_action_against_every_receiver_action() {
    for sender in SENDER_ACTIONS {
        for when in WHENS {
            for receiver in RECEIVER_ACTIONS {
                run_case(sender, when, receiver);
            }
        }
    }
}

#[test]
fn send_after_the_receiver_dropped_hands_the_value_back() {
    let drops = Drops::new();
    let (tx, rx) = oneshot();
    drop(rx);
    let back = tx.send(drops.item(1)).unwrap_err().into_inner();
    assert_eq!(drops.count(), 0);
    drop(back);
    assert_eq!(drops.count(), 1);
}

#[test]
fn send_from_another_thread_after_the_receiver_dropped() {
    let drops = Drops::new();
    let (tx, rx) = oneshot();
    drop(rx);
    let value = drops.item(1);
    let back = thread::spawn(move || tx.send(value).unwrap_err().into_inner())
        .join()
        .unwrap();
    drop(back);
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_value_in_a_dropped_channel_is_dropped_on_the_dropping_thread() {
    let drops = Drops::new();
    let (tx, rx) = oneshot();
    assert!(tx.send(drops.item(1)).is_ok());
    thread::spawn(move || drop(rx)).join().unwrap();
    assert_eq!(drops.count(), 1);
}

#[test]
fn polling_after_completion_and_dropping_unpolled() {
    let (tx, mut rx) = oneshot::<u8>();
    drop(tx);
    assert_eq!(
        poll_once(&mut rx, &noop_waker()),
        Poll::Ready(Err(RecvError))
    );
    assert_eq!(
        poll_once(&mut rx, &noop_waker()),
        Poll::Ready(Err(RecvError))
    );
    let (_tx, rx) = oneshot::<u8>();
    drop(rx);
}

#[test]
fn many_racing_channels() {
    let drops = Drops::new();
    for i in 0..common::rounds(200, 8) {
        let (tx, rx) = oneshot();
        let value = drops.item(i);
        let sender = thread::spawn(move || tx.send(value).is_ok());
        let received = match i % 3 {
            0 => rx.recv().ok().map(|v| v.id),
            1 => block_on(rx).ok().map(|v| v.id),
            _ => {
                drop(rx);
                None
            }
        };
        let delivered = sender.join().unwrap();
        if i % 3 != 2 {
            assert!(delivered);
            assert_eq!(received, Some(i));
        }
    }
    assert_eq!(drops.count(), common::rounds(200, 8));
}

// ---------------------------------------------------------------------------------------
// Slot-level cases: the embedder's side of the contract, freeing on `Release::Last`.
// ---------------------------------------------------------------------------------------

/// A boxed slot shared by raw pointer, freed by whichever side is told it is last.
struct Boxed<T>(*mut Slot<T>);

// SAFETY: the tests below keep the slot's contract; `Slot<T>: Send + Sync` for `T: Send`.
unsafe impl<T: Send> Send for Boxed<T> {}

impl<T> Boxed<T> {
    fn new() -> (Self, Self) {
        let slot = Box::into_raw(Box::new(Slot::new()));
        (Boxed(slot), Boxed(slot))
    }

    fn slot(&self) -> &Slot<T> {
        // SAFETY: the tests only call this before this side was told `Last` or freed.
        unsafe { &*self.0 }
    }

    /// The receiver lets go (once); `true` if it was last and freed the slot.
    fn release(self, took: bool) -> bool {
        // SAFETY: the tests call this once, on the receiver's side.
        let release = unsafe { self.slot().release_receiver(took) };
        self.finish(release)
    }

    /// The sender closes (once); `true` if it was last and freed the slot.
    fn close(self) -> bool {
        // SAFETY: the tests call this once, on the sender's side, instead of `send`.
        let release = unsafe { self.slot().close() };
        self.finish(release)
    }

    fn finish(self, release: Release) -> bool {
        if release == Release::Last {
            // SAFETY: told `Last`: the other side is done with the slot.
            drop(unsafe { Box::from_raw(self.0) });
            true
        } else {
            false
        }
    }
}

#[test]
fn slot_send_then_take_frees_once() {
    let drops = Drops::new();
    let (sender, receiver) = Boxed::new();
    // SAFETY: the one sender, once.
    let sent = unsafe { sender.slot().send(drops.item(1)) };
    let sender_last = sender.finish(sent.ok().unwrap());
    assert_eq!(receiver.slot().peek(), Peek::Ready);
    // SAFETY: the one receiver; `Ready`, not taken before.
    let value = unsafe { receiver.slot().take() };
    let receiver_last = receiver.release(true);
    assert!(sender_last ^ receiver_last);
    drop(value);
    assert_eq!(drops.count(), 1);
}

#[test]
fn slot_release_then_send_hands_back_and_frees_once() {
    let drops = Drops::new();
    let (sender, receiver) = Boxed::new();
    assert!(!receiver.release(false));
    // SAFETY: the one sender, once.
    let back = unsafe { sender.slot().send(drops.item(1)) }.unwrap_err();
    assert!(sender.finish(Release::Last));
    drop(back);
    assert_eq!(drops.count(), 1);
}

#[test]
fn slot_registered_waker_is_woken_by_send_and_consumed() {
    let waker = CountingWaker::new();
    let (sender, receiver) = Boxed::new();
    let task = Waiter::Task(waker.clone().into());
    // SAFETY: the one receiver.
    assert!(unsafe { receiver.slot().register(task) }.is_ok());
    // SAFETY: the one sender, once.
    let sent = unsafe { sender.slot().send(5u8) };
    assert!(!sender.finish(sent.ok().unwrap()));
    assert_eq!(waker.wakes(), 1);
    // SAFETY: the one receiver; `Ready`, not taken before.
    assert_eq!(unsafe { receiver.slot().take() }, 5);
    assert!(receiver.release(true));
    assert_eq!(std::sync::Arc::strong_count(&waker), 1);
}

#[test]
fn slot_registered_waker_of_a_gone_receiver_is_dropped_with_the_slot() {
    let waker = CountingWaker::new();
    let (sender, receiver) = Boxed::<u8>::new();
    // SAFETY: the one receiver.
    assert!(unsafe { receiver.slot().register(Waiter::Task(waker.clone().into())) }.is_ok());
    assert!(!receiver.release(false));
    assert!(sender.close());
    assert_eq!(waker.wakes(), 0);
    assert_eq!(std::sync::Arc::strong_count(&waker), 1);
}

#[test]
fn slot_close_wakes_a_registered_waker() {
    let waker = CountingWaker::new();
    let (sender, receiver) = Boxed::<u8>::new();
    // SAFETY: the one receiver.
    assert!(unsafe { receiver.slot().register(Waiter::Task(waker.clone().into())) }.is_ok());
    assert!(!sender.close());
    assert_eq!(waker.wakes(), 1);
    assert_eq!(receiver.slot().peek(), Peek::Closed);
    assert!(receiver.release(false));
}

#[test]
fn slot_register_after_finish_hands_the_waiter_back() {
    let (sender, receiver) = Boxed::new();
    // SAFETY: the one sender, once.
    let sent = unsafe { sender.slot().send(1u8) };
    assert!(!sender.finish(sent.ok().unwrap()));
    // SAFETY: the one receiver.
    let back = unsafe { receiver.slot().register(Waiter::Task(noop_waker())) };
    assert!(back.is_err());
    // SAFETY: the one receiver.
    assert!(!unsafe { receiver.slot().unregister() });
    assert!(receiver.release(false));
}

#[test]
fn slot_wait_racing_send_across_threads_frees_once() {
    for i in 0..common::rounds(100, 6) {
        let drops = Drops::new();
        let (sender, receiver) = Boxed::new();
        let value = drops.item(i);
        let sending = thread::spawn(move || {
            // SAFETY: the one sender, once.
            match unsafe { sender.slot().send(value) } {
                Ok(release) => sender.finish(release),
                // The receiver timed out and left first: the value comes back.
                Err(back) => {
                    drop(back);
                    sender.finish(Release::Last)
                }
            }
        });
        let deadline = (i % 2 == 0).then(std::time::Instant::now);
        // SAFETY: the one receiver.
        let finished = unsafe { receiver.slot().wait(deadline) };
        assert!(finished || deadline.is_some());
        let took = receiver.slot().peek() == Peek::Ready;
        if took {
            // SAFETY: the one receiver; `Ready`, not taken before.
            drop(unsafe { receiver.slot().take() });
        }
        let receiver_last = receiver.release(took);
        let sender_last = sending.join().unwrap();
        assert!(sender_last ^ receiver_last, "round {i}");
        assert_eq!(drops.count(), 1);
    }
}

/// A waker whose `wake` tells the receiver it was woken, then waits until the receiver says
/// it freed the slot: the sender is then provably still inside `send`/`close` (after its
/// last access to the slot) when the slot is freed.
struct WakeThenWaitForFree {
    woken: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
    freed: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl std::task::Wake for WakeThenWaitForFree {
    fn wake(self: std::sync::Arc<Self>) {
        self.woken.lock().unwrap().send(()).unwrap();
        self.freed.lock().unwrap().recv().unwrap();
    }
}

/// Regression: the sender's `&self` (a function argument, which Rust assumes stays valid
/// for the whole call) was still live in `close`/`send` after their last atomic operation
/// handed the slot to the receiver, and the receiver may free the slot at once. Freeing
/// memory under a live `&Slot` argument was undefined behaviour wherever the slot had bytes
/// outside an `UnsafeCell` (the padding between its fields); miri (Stacked Borrows) reports
/// it as a deallocation that would remove a strongly protected tag.
#[test]
fn receiver_may_free_the_slot_while_the_sender_is_still_inside_close() {
    for sends in [false, true] {
        let (woken_tx, woken_rx) = std::sync::mpsc::channel();
        let (freed_tx, freed_rx) = std::sync::mpsc::channel();
        let waker = std::sync::Arc::new(WakeThenWaitForFree {
            woken: std::sync::Mutex::new(woken_tx),
            freed: std::sync::Mutex::new(freed_rx),
        });
        let (sender, receiver) = Boxed::<u8>::new();
        // SAFETY: the one receiver.
        assert!(unsafe { receiver.slot().register(Waiter::Task(waker.into())) }.is_ok());
        let sending = thread::spawn(move || {
            if sends {
                // SAFETY: the one sender, once.
                let sent = unsafe { sender.slot().send(1) };
                sender.finish(sent.ok().unwrap())
            } else {
                sender.close()
            }
        });
        // The sender has published its outcome and let go: the receiver is last.
        woken_rx.recv().unwrap();
        let took = receiver.slot().peek() == Peek::Ready;
        if took {
            // SAFETY: the one receiver; `Ready`, not taken before.
            assert_eq!(unsafe { receiver.slot().take() }, 1);
        }
        assert!(
            receiver.release(took),
            "the sender was done: the receiver frees"
        );
        freed_tx.send(()).unwrap();
        assert!(!sending.join().unwrap());
    }
}
