//! loom models of the slot and the oneshot channel, each named for the failure it guards
//! against.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p
//! weft-channel --lib loom`. Ports are crossbeam-channel underneath (not loom-aware) and are
//! covered by the ordinary tests and miri instead.
//!
//! What the models can see: every atomic operation of the slot is a loom atomic, its cells
//! are loom cells (a read racing a write is reported), a blocked receiver parks on loom's
//! park (a lost unpark is reported as a deadlock), payloads and wakers hold loom `Arc`s
//! (a leaked one is reported at the end of the execution, a double drop shows in the
//! counters), and the slot-level models free their allocation only on `Release::Last`, with
//! a `loom::alloc::Track` inside, so a slot nobody frees is reported as a leak.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use loom::alloc::Track;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::error::{RecvError, RecvTimeoutError, SendError, TryRecvError};
use crate::oneshot;
use crate::slot::{Peek, Release, Slot, Waiter};

/// Counts drops of the [`Payload`]s it makes. Held in a loom `Arc`, so a leaked payload is
/// reported by loom too.
#[derive(Clone)]
struct Drops(Arc<AtomicUsize>);

impl Drops {
    fn new() -> Self {
        Drops(Arc::new(AtomicUsize::new(0)))
    }

    fn payload(&self) -> Payload {
        Payload(self.0.clone())
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct Payload(Arc<AtomicUsize>);

impl Drop for Payload {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that counts its wakes; built on a loom `Arc`, so a waker that is never dropped is
/// reported as a leak.
struct WakeCount(AtomicUsize);

impl WakeCount {
    fn new() -> Arc<Self> {
        Arc::new(WakeCount(AtomicUsize::new(0)))
    }

    fn waker(this: &Arc<Self>) -> Waker {
        let raw = Arc::into_raw(this.clone()).cast::<()>();
        // SAFETY: `raw` is an `Arc<WakeCount>` turned into a pointer, which is what the
        // vtable's functions expect; each `Waker` owns one strong count.
        unsafe { Waker::from_raw(RawWaker::new(raw, &WAKE_COUNT_VTABLE)) }
    }

    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

static WAKE_COUNT_VTABLE: RawWakerVTable = RawWakerVTable::new(
    wake_count_clone,
    wake_count_wake,
    wake_count_wake_by_ref,
    wake_count_drop,
);

unsafe fn wake_count_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` came from `Arc::into_raw` and the waker being cloned owns a count.
    unsafe { Arc::increment_strong_count(data.cast::<WakeCount>()) };
    RawWaker::new(data, &WAKE_COUNT_VTABLE)
}

unsafe fn wake_count_wake(data: *const ()) {
    // SAFETY: the waker owns one count, consumed here.
    let count = unsafe { Arc::from_raw(data.cast::<WakeCount>()) };
    count.0.fetch_add(1, Ordering::SeqCst);
}

unsafe fn wake_count_wake_by_ref(data: *const ()) {
    // SAFETY: the waker owns one count, kept: the `Arc` is not dropped.
    let count = ManuallyDrop::new(unsafe { Arc::from_raw(data.cast::<WakeCount>()) });
    count.0.fetch_add(1, Ordering::SeqCst);
}

unsafe fn wake_count_drop(data: *const ()) {
    // SAFETY: the waker owns one count, released here.
    drop(unsafe { Arc::from_raw(data.cast::<WakeCount>()) });
}

/// Wakes a loom thread parked in [`block_on`].
struct Unparker(thread::Thread);

static UNPARKER_VTABLE: RawWakerVTable = RawWakerVTable::new(
    unparker_clone,
    unparker_wake,
    unparker_wake_by_ref,
    unparker_drop,
);

unsafe fn unparker_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` came from `Arc::into_raw` and the waker being cloned owns a count.
    unsafe { Arc::increment_strong_count(data.cast::<Unparker>()) };
    RawWaker::new(data, &UNPARKER_VTABLE)
}

unsafe fn unparker_wake(data: *const ()) {
    // SAFETY: the waker owns one count, consumed here.
    let unparker = unsafe { Arc::from_raw(data.cast::<Unparker>()) };
    unparker.0.unpark();
}

unsafe fn unparker_wake_by_ref(data: *const ()) {
    // SAFETY: the waker owns one count, kept: the `Arc` is not dropped.
    let unparker = ManuallyDrop::new(unsafe { Arc::from_raw(data.cast::<Unparker>()) });
    unparker.0.unpark();
}

unsafe fn unparker_drop(data: *const ()) {
    // SAFETY: the waker owns one count, released here.
    drop(unsafe { Arc::from_raw(data.cast::<Unparker>()) });
}

/// Drives `future` to completion on the current loom thread, parking (loom's park) whenever
/// it is pending. A lost wake-up leaves the thread parked for good, which loom reports as a
/// deadlock.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let raw = Arc::into_raw(Arc::new(Unparker(thread::current()))).cast::<()>();
    // SAFETY: `raw` is an `Arc<Unparker>` turned into a pointer, as the vtable expects; the
    // waker owns that count.
    let waker = unsafe { Waker::from_raw(RawWaker::new(raw, &UNPARKER_VTABLE)) };
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// A slot embedded in an allocation, as the pool embeds it in a job: freed by the side told
/// `Last`, with a loom `Track` so that a slot nobody frees is reported.
struct Embedded<T> {
    slot: Slot<T>,
    _track: Track<()>,
}

/// A raw pointer to an [`Embedded`] slot, shared by the two sides of a model.
struct Shared<T>(*const Embedded<T>);

// SAFETY: models only; the slot's own `Send + Sync` (for `T: Send`) covers what is shared.
unsafe impl<T: Send> Send for Shared<T> {}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0)
    }
}

impl<T> Shared<T> {
    fn new() -> Self {
        Shared(Box::into_raw(Box::new(Embedded {
            slot: Slot::new(),
            _track: Track::new(()),
        })))
    }

    /// # Safety
    ///
    /// The caller has not yet been told `Last` (nor freed the slot).
    unsafe fn slot(&self) -> &Slot<T> {
        // SAFETY: alive until a side told `Last` frees it, which the caller has not been.
        unsafe { &(*self.0).slot }
    }

    /// Frees the allocation when `release` says this side is last; counts it in `lasts`.
    ///
    /// # Safety
    ///
    /// `release` is what this side was just told by the slot.
    unsafe fn finish(self, release: Release, lasts: &AtomicUsize) {
        if release == Release::Last {
            lasts.fetch_add(1, Ordering::SeqCst);
            // SAFETY: told `Last`: this side is the slot's only user.
            let mut embedded = unsafe { Box::from_raw(self.0.cast_mut()) };
            embedded.slot.model_free();
            drop(embedded);
        }
    }
}

/// The sender of a slot-level model: sends, and frees when told to.
///
/// # Safety
///
/// `shared` is a slot this side sends on once.
unsafe fn slot_send<T>(shared: Shared<T>, value: T, lasts: &AtomicUsize) -> Result<(), T> {
    // SAFETY: the one sender, once.
    let (release, back) = match unsafe { shared.slot().send(value) } {
        Ok(release) => (release, Ok(())),
        Err(value) => (Release::Last, Err(value)),
    };
    // SAFETY: what the slot just told us.
    unsafe { shared.finish(release, lasts) };
    back
}

/// The receiver's last steps in a slot-level model: takes the value if it is there, then
/// releases and frees when told to.
///
/// # Safety
///
/// `shared` is a slot whose one receiver this side is, not yet released.
unsafe fn slot_take_and_release<T>(shared: Shared<T>, lasts: &AtomicUsize) -> Option<T> {
    // SAFETY: the one receiver, not released yet.
    let slot = unsafe { shared.slot() };
    let value = match slot.peek() {
        // SAFETY: `Ready`, not taken before.
        Peek::Ready => Some(unsafe { slot.take() }),
        Peek::Empty | Peek::Closed => None,
    };
    // SAFETY: the one receiver, releasing once; `took` is true exactly when it took.
    let release = unsafe { slot.release_receiver(value.is_some()) };
    // SAFETY: what the slot just told us.
    unsafe { shared.finish(release, lasts) };
    value
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    loom::model(f);
}

/// Runs the two sides of a model on two fresh loom threads and returns what each returned.
///
/// Both sides run on spawned threads, never on the model's main thread: loom 0.7 skips
/// exploring a thread whose first operation is an atomic load when the other side runs on
/// the main thread (tokio-rs/loom#392, #166), which would leave these models with a single
/// interleaving. `loom_models_explore_both_orders` checks that the workaround holds.
fn race<A, B>(
    sender: impl FnOnce() -> A + Send + 'static,
    receiver: impl FnOnce() -> B + Send + 'static,
) -> (A, B)
where
    A: Send + 'static,
    B: Send + 'static,
{
    let sender = thread::spawn(sender);
    let receiver = thread::spawn(receiver);
    (sender.join().unwrap(), receiver.join().unwrap())
}

/// Guards the models themselves: `race` must let loom try the receiver's check both before
/// and after the send (see `race` for the loom bug this works around).
#[test]
fn loom_models_explore_both_orders() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    model(move || {
        let (tx, mut rx) = oneshot();
        let (_, (first, rx)) = race(
            move || assert!(tx.send(1u8).is_ok()),
            move || (rx.try_recv(), rx),
        );
        drop(rx);
        record.lock().unwrap().push(first);
    });
    let seen = seen.lock().unwrap();
    assert!(seen.contains(&Ok(1)), "never received: {seen:?}");
    assert!(
        seen.contains(&Err(TryRecvError::Empty)),
        "never empty: {seen:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Slot-level models: exactly one side frees, nothing leaks, nothing is dropped twice.
// ---------------------------------------------------------------------------------------

/// Guards against a value sent while the receiver lets go being lost, dropped twice, or the
/// slot being freed by both sides (or neither).
#[test]
fn loom_slot_send_racing_release_frees_once() {
    model(|| {
        let drops = Drops::new();
        let lasts = Arc::new(AtomicUsize::new(0));
        let shared = Shared::new();
        let (tx_side, rx_side) = (shared.clone(), shared);
        let (tx_lasts, rx_lasts) = (lasts.clone(), lasts.clone());
        let payload = drops.payload();
        race(
            // SAFETY: the one sender.
            move || drop(unsafe { slot_send(tx_side, payload, &tx_lasts) }),
            // SAFETY: the one receiver.
            move || drop(unsafe { slot_take_and_release(rx_side, &rx_lasts) }),
        );
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
        assert_eq!(drops.count(), 1);
    });
}

/// Guards against a close racing the receiver's release freeing the slot twice or never.
#[test]
fn loom_slot_close_racing_release_frees_once() {
    model(|| {
        let lasts = Arc::new(AtomicUsize::new(0));
        let shared = Shared::<Payload>::new();
        let (tx_side, rx_side) = (shared.clone(), shared);
        let (tx_lasts, rx_lasts) = (lasts.clone(), lasts.clone());
        let (_, got) = race(
            move || {
                // SAFETY: the one sender, once.
                let release = unsafe { tx_side.slot().close() };
                // SAFETY: what the slot just told us.
                unsafe { tx_side.finish(release, &tx_lasts) };
            },
            // SAFETY: the one receiver.
            move || unsafe { slot_take_and_release(rx_side, &rx_lasts) }.is_some(),
        );
        assert!(!got);
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
    });
}

/// Guards against the sender's waiter hand-off (it reads the waiter after publishing the
/// value) racing a receiver that lets go with a waiter registered: the waiter must be woken
/// or dropped exactly once, and the slot freed by exactly one side, never under the sender's
/// feet.
#[test]
fn loom_slot_send_racing_release_with_registered_waiter_frees_once() {
    model(|| {
        let drops = Drops::new();
        let lasts = Arc::new(AtomicUsize::new(0));
        let wakes = WakeCount::new();
        let shared = Shared::new();
        // SAFETY: the one receiver, before anyone else touches the slot.
        let registered = unsafe {
            shared
                .slot()
                .register(Waiter::Task(WakeCount::waker(&wakes)))
        };
        assert!(registered.is_ok());
        let (tx_side, rx_side) = (shared.clone(), shared);
        let (tx_lasts, rx_lasts) = (lasts.clone(), lasts.clone());
        let payload = drops.payload();
        race(
            // SAFETY: the one sender.
            move || drop(unsafe { slot_send(tx_side, payload, &tx_lasts) }),
            // SAFETY: the one receiver.
            move || drop(unsafe { slot_take_and_release(rx_side, &rx_lasts) }),
        );
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
        assert_eq!(drops.count(), 1);
        assert!(wakes.wakes() <= 1);
        assert_eq!(Arc::strong_count(&wakes), 1, "the waiter was dropped");
    });
}

/// Guards against a blocked receiver parking after the sender's unpark (a lost wake-up
/// shows as a loom deadlock), and against the receiver seeing a half-written value.
#[test]
fn loom_slot_wait_is_woken_by_send() {
    model(|| {
        let drops = Drops::new();
        let lasts = Arc::new(AtomicUsize::new(0));
        let shared = Shared::new();
        let (tx_side, rx_side) = (shared.clone(), shared);
        let (tx_lasts, rx_lasts) = (lasts.clone(), lasts.clone());
        let payload = drops.payload();
        let (_, got) = race(
            // SAFETY: the one sender.
            move || assert!(unsafe { slot_send(tx_side, payload, &tx_lasts) }.is_ok()),
            move || {
                // SAFETY: the one receiver.
                assert!(unsafe { rx_side.slot().wait(None) });
                // SAFETY: the one receiver.
                unsafe { slot_take_and_release(rx_side, &rx_lasts) }.is_some()
            },
        );
        assert!(got);
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
        assert_eq!(drops.count(), 1);
    });
}

/// Guards against a timed wait that gives up (taking its waiter back) at the moment the
/// sender takes ownership of that waiter: the wait must then report the value, the waiter
/// be dropped once, and the value stay in the slot.
#[test]
fn loom_slot_wait_timing_out_racing_send_keeps_the_value() {
    model(|| {
        let drops = Drops::new();
        let lasts = Arc::new(AtomicUsize::new(0));
        let shared = Shared::new();
        let (tx_side, rx_side) = (shared.clone(), shared.clone());
        let tx_lasts = lasts.clone();
        let payload = drops.payload();
        race(
            // SAFETY: the one sender.
            move || assert!(unsafe { slot_send(tx_side, payload, &tx_lasts) }.is_ok()),
            move || {
                // A deadline already past: loom has no timed park (the shim yields).
                // SAFETY: the one receiver.
                let finished = unsafe { rx_side.slot().wait(Some(Instant::now())) };
                // SAFETY: the one receiver, not released.
                let peek = unsafe { rx_side.slot() }.peek();
                assert!(!finished || peek == Peek::Ready);
            },
        );
        // SAFETY: the one receiver, after the sender finished.
        assert!(unsafe { slot_take_and_release(shared, &lasts) }.is_some());
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
        assert_eq!(drops.count(), 1);
    });
}

/// Guards against a waker registered while the sender publishes the value being neither
/// woken nor reported as too late (the task would sleep forever).
#[test]
fn loom_slot_register_racing_send_never_loses_the_wake() {
    model(|| {
        let lasts = Arc::new(AtomicUsize::new(0));
        let wakes = WakeCount::new();
        let shared = Shared::new();
        let (tx_side, rx_side) = (shared.clone(), shared.clone());
        let tx_lasts = lasts.clone();
        let rx_wakes = wakes.clone();
        let (_, registered) = race(
            // SAFETY: the one sender.
            move || assert!(unsafe { slot_send(tx_side, 5u8, &tx_lasts) }.is_ok()),
            move || {
                let waiter = Waiter::Task(WakeCount::waker(&rx_wakes));
                // SAFETY: the one receiver.
                match unsafe { rx_side.slot().register(waiter) } {
                    Ok(()) => true,
                    Err(waiter) => {
                        // Too late to wait: the value must be there already.
                        // SAFETY: the one receiver.
                        assert_eq!(unsafe { rx_side.slot() }.peek(), Peek::Ready);
                        drop(waiter);
                        false
                    }
                }
            },
        );
        assert_eq!(wakes.wakes(), usize::from(registered));
        assert_eq!(Arc::strong_count(&wakes), 1);
        // SAFETY: the one receiver, after the sender finished.
        assert_eq!(unsafe { slot_take_and_release(shared, &lasts) }, Some(5));
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
    });
}

/// Guards against replacing a registered waker (the receiver takes the old one back first)
/// racing the sender's claim on it: when the new waker is accepted, it (and only it) is
/// woken; when it is refused, the value is already there to see.
#[test]
fn loom_slot_reregister_racing_send_wakes_the_latest_waker() {
    model(|| {
        let lasts = Arc::new(AtomicUsize::new(0));
        let old = WakeCount::new();
        let new = WakeCount::new();
        let shared = Shared::new();
        // SAFETY: the one receiver, before anyone else touches the slot.
        let registered = unsafe { shared.slot().register(Waiter::Task(WakeCount::waker(&old))) };
        assert!(registered.is_ok());
        let (tx_side, rx_side) = (shared.clone(), shared.clone());
        let tx_lasts = lasts.clone();
        let rx_new = new.clone();
        let (_, replaced) = race(
            // SAFETY: the one sender.
            move || assert!(unsafe { slot_send(tx_side, 5u8, &tx_lasts) }.is_ok()),
            move || {
                let waiter = Waiter::Task(WakeCount::waker(&rx_new));
                // SAFETY: the one receiver.
                let replaced = unsafe { rx_side.slot().register(waiter) }.is_ok();
                if !replaced {
                    // SAFETY: the one receiver, not released.
                    assert_eq!(unsafe { rx_side.slot() }.peek(), Peek::Ready);
                }
                replaced
            },
        );
        if replaced {
            assert_eq!((old.wakes(), new.wakes()), (0, 1));
        } else {
            // The old waker was claimed (and woken) by the sender, or taken back (and
            // dropped) by the receiver: at most one wake, and none for the refused one.
            assert!(old.wakes() <= 1);
            assert_eq!(new.wakes(), 0);
        }
        // SAFETY: the one receiver, after the sender finished.
        assert_eq!(unsafe { slot_take_and_release(shared, &lasts) }, Some(5));
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
        assert_eq!((Arc::strong_count(&old), Arc::strong_count(&new)), (1, 1));
    });
}

/// Guards against taking a waiter back while the sender claims it: `unregister` returning
/// `true` means the waiter is never woken; `false` means it is woken exactly once.
#[test]
fn loom_slot_unregister_racing_send_wakes_or_drops_once() {
    model(|| {
        let lasts = Arc::new(AtomicUsize::new(0));
        let wakes = WakeCount::new();
        let shared = Shared::new();
        // SAFETY: the one receiver, before anyone else touches the slot.
        let registered = unsafe {
            shared
                .slot()
                .register(Waiter::Task(WakeCount::waker(&wakes)))
        };
        assert!(registered.is_ok());
        let (tx_side, rx_side) = (shared.clone(), shared.clone());
        let tx_lasts = lasts.clone();
        let (_, took_back) = race(
            // SAFETY: the one sender.
            move || assert!(unsafe { slot_send(tx_side, 5u8, &tx_lasts) }.is_ok()),
            // SAFETY: the one receiver.
            move || unsafe { rx_side.slot().unregister() },
        );
        assert_eq!(wakes.wakes(), usize::from(!took_back));
        assert_eq!(Arc::strong_count(&wakes), 1);
        // SAFETY: the one receiver, after the sender finished.
        assert_eq!(unsafe { slot_take_and_release(shared, &lasts) }, Some(5));
        assert_eq!(lasts.load(Ordering::SeqCst), 1);
    });
}

// ---------------------------------------------------------------------------------------
// oneshot-level models: the public API over the same slot.
// ---------------------------------------------------------------------------------------

/// Guards against the value being lost or dropped twice when the receiver is dropped while
/// the sender sends (the value comes back, or is dropped with the channel).
#[test]
fn loom_send_racing_receiver_drop_frees_once() {
    model(|| {
        let drops = Drops::new();
        let (tx, rx) = oneshot();
        let payload = drops.payload();
        race(
            move || {
                if let Err(SendError(back)) = tx.send(payload) {
                    drop(back);
                }
            },
            move || drop(rx),
        );
        assert_eq!(drops.count(), 1);
    });
}

/// Guards against a registered waker leaking or being woken after it was dropped when the
/// sender is dropped while the receiver lets go.
#[test]
fn loom_sender_drop_racing_registered_receiver_drop_frees_once() {
    model(|| {
        let wakes = WakeCount::new();
        let (tx, mut rx) = oneshot::<Payload>();
        let waker = WakeCount::waker(&wakes);
        let polled = Pin::new(&mut rx).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        drop(waker);
        race(move || drop(tx), move || drop(rx));
        assert!(wakes.wakes() <= 1);
        assert_eq!(
            Arc::strong_count(&wakes),
            1,
            "the registered waker was dropped"
        );
    });
}

/// Guards against a blocking `recv` missing the value sent while it was getting ready to
/// park (a lost unpark is a loom deadlock).
#[test]
fn loom_blocking_recv_racing_send_gets_the_value() {
    model(|| {
        let drops = Drops::new();
        let (tx, rx) = oneshot();
        let payload = drops.payload();
        let rx_drops = drops.clone();
        race(
            move || assert!(tx.send(payload).is_ok()),
            move || {
                let value = rx.recv();
                assert!(value.is_ok());
                assert_eq!(rx_drops.count(), 0);
            },
        );
        assert_eq!(drops.count(), 1);
    });
}

/// Guards against a blocking `recv` sleeping forever (or reporting a value) when the sender
/// is dropped unsent while it was getting ready to park.
#[test]
fn loom_blocking_recv_racing_sender_drop_reports_disconnected() {
    model(|| {
        let (tx, rx) = oneshot::<Payload>();
        let (_, got) = race(move || drop(tx), move || rx.recv().is_err());
        assert!(got);
    });
}

/// Guards against `recv_timeout` losing the value when it gives up at the moment the value
/// arrives: a timeout leaves the value for the next receive.
#[test]
fn loom_recv_timeout_racing_send_never_loses_the_value() {
    model(|| {
        let drops = Drops::new();
        let (tx, mut rx) = oneshot();
        let payload = drops.payload();
        let (_, (first, mut rx)) = race(
            move || assert!(tx.send(payload).is_ok()),
            // A zero timeout: loom has no timed park (the shim yields instead).
            move || (rx.recv_timeout(Duration::ZERO).is_ok(), rx),
        );
        match first {
            true => assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected))),
            false => assert!(rx.try_recv().is_ok()),
        }
        drop(rx);
        assert_eq!(drops.count(), 1);
    });
}

/// Guards against `recv_timeout` reporting a value, or a timeout forever, when the sender
/// is dropped unsent while it waits.
#[test]
fn loom_recv_timeout_racing_sender_drop_reports_disconnected_afterwards() {
    model(|| {
        let (tx, mut rx) = oneshot::<Payload>();
        let (_, (first, mut rx)) = race(
            move || drop(tx),
            move || {
                let first = match rx.recv_timeout(Duration::ZERO) {
                    Ok(_) => panic!("nothing was sent"),
                    Err(error) => error,
                };
                (first, rx)
            },
        );
        assert!(matches!(
            first,
            RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected
        ));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
    });
}

/// Guards against `try_recv` seeing the value half-written (loom reports the cell race)
/// or losing it.
#[test]
fn loom_try_recv_racing_send_sees_all_or_nothing() {
    model(|| {
        let (tx, mut rx) = oneshot();
        let (_, (first, mut rx)) = race(
            move || assert!(tx.send(String::from("whole")).is_ok()),
            move || (rx.try_recv(), rx),
        );
        match first {
            Ok(value) => assert_eq!(value, "whole"),
            Err(TryRecvError::Empty) => assert_eq!(rx.try_recv().as_deref(), Ok("whole")),
            Err(TryRecvError::Disconnected) => panic!("the sender sent"),
        }
    });
}

/// Guards against the wake being lost when the send lands between the future's readiness
/// check and its waker registration (a lost wake leaves `block_on` parked: a loom deadlock).
#[test]
fn loom_wake_is_not_lost_when_send_races_register() {
    model(|| {
        let (tx, rx) = oneshot();
        let (_, got) = race(move || assert!(tx.send(7u32).is_ok()), move || block_on(rx));
        assert_eq!(got, Ok(7));
    });
}

/// Guards against the wake being lost when the sender is dropped unsent between the
/// future's readiness check and its waker registration.
#[test]
fn loom_wake_is_not_lost_when_sender_drop_races_register() {
    model(|| {
        let (tx, rx) = oneshot::<u32>();
        let (_, got) = race(move || drop(tx), move || block_on(rx));
        assert_eq!(got, Err(RecvError));
    });
}

/// Guards against a re-poll with a new waker (the task moved) racing the send: the task
/// must be woken through the new waker or see the value at once.
#[test]
fn loom_wake_reaches_the_latest_waker_when_repoll_races_send() {
    model(|| {
        let (tx, mut rx) = oneshot();
        let old = WakeCount::new();
        let new = WakeCount::new();
        let old_waker = WakeCount::waker(&old);
        let polled = Pin::new(&mut rx).poll(&mut Context::from_waker(&old_waker));
        assert!(polled.is_pending());
        drop(old_waker);
        let rx_new = new.clone();
        let (_, (second, mut rx)) = race(
            move || assert!(tx.send(9u8).is_ok()),
            move || {
                let new_waker = WakeCount::waker(&rx_new);
                let second = Pin::new(&mut rx).poll(&mut Context::from_waker(&new_waker));
                (second, rx)
            },
        );
        match second {
            Poll::Ready(value) => assert_eq!(value, Ok(9)),
            Poll::Pending => {
                assert_eq!(new.wakes(), 1, "the latest waker is woken");
                assert_eq!(rx.try_recv(), Ok(9));
            }
        }
        drop(rx);
        assert_eq!((Arc::strong_count(&old), Arc::strong_count(&new)), (1, 1));
    });
}
