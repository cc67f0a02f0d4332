//! The oneshot channel's rules, one test per rule.

#![cfg(not(weft_loom))]

mod common;

use std::marker::PhantomPinned;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use common::{CountingWaker, Drops, block_on, noop_waker, poll_once};
use weft_channel::{
    OneshotReceiver, OneshotSender, RecvError, RecvTimeoutError, SendError, TryRecvError, oneshot,
};

#[test]
fn send_then_recv_returns_the_value() {
    let (tx, rx) = oneshot();
    assert_eq!(tx.send(String::from("hello")), Ok(()));
    assert_eq!(rx.recv().as_deref(), Ok("hello"));
}

#[test]
fn recv_blocks_until_the_value_is_sent_from_another_thread() {
    let (tx, rx) = oneshot();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(7u64).unwrap();
    });
    assert_eq!(rx.recv(), Ok(7));
    sender.join().unwrap();
}

#[test]
fn recv_reports_a_sender_dropped_unsent() {
    let (tx, rx) = oneshot::<u8>();
    drop(tx);
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn blocked_recv_is_woken_by_the_sender_drop() {
    let (tx, rx) = oneshot::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(tx);
    });
    assert_eq!(rx.recv(), Err(RecvError));
    dropper.join().unwrap();
}

#[test]
fn send_to_a_dropped_receiver_hands_the_value_back() {
    let (tx, rx) = oneshot();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(vec![1, 2]), Err(SendError(vec![1, 2])));
}

#[test]
fn try_recv_is_empty_then_the_value_then_disconnected() {
    let (tx, mut rx) = oneshot();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn try_recv_reports_a_sender_dropped_unsent() {
    let (tx, mut rx) = oneshot::<u8>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_timeout_times_out_then_still_receives() {
    let (tx, mut rx) = oneshot();
    let start = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    tx.send(1).unwrap();
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn recv_timeout_is_woken_by_a_send_from_another_thread() {
    let (tx, mut rx) = oneshot();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send('v').unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok('v'));
    sender.join().unwrap();
}

#[test]
fn recv_timeout_reports_a_sender_dropped_unsent() {
    let (tx, mut rx) = oneshot::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(tx);
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Disconnected)
    );
    dropper.join().unwrap();
}

#[test]
fn recv_timeout_too_large_for_a_deadline_waits_for_the_value() {
    let (tx, mut rx) = oneshot();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(5).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(5));
    sender.join().unwrap();
}

#[test]
fn recv_deadline_in_the_past_only_checks() {
    let (tx, mut rx) = oneshot();
    let past = Instant::now();
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    tx.send(2).unwrap();
    assert_eq!(rx.recv_deadline(past), Ok(2));
}

#[test]
fn await_returns_the_value() {
    let (tx, rx) = oneshot();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(11).unwrap();
    });
    assert_eq!(block_on(rx), Ok(11));
    sender.join().unwrap();
}

#[test]
fn await_reports_a_sender_dropped_unsent() {
    let (tx, rx) = oneshot::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(tx);
    });
    assert_eq!(block_on(rx), Err(RecvError));
    dropper.join().unwrap();
}

#[test]
fn pending_poll_is_woken_once_by_send() {
    let (tx, mut rx) = oneshot();
    let waker = CountingWaker::new();
    let as_waker = waker.clone().into();
    assert_eq!(poll_once(&mut rx, &as_waker), Poll::Pending);
    assert_eq!(waker.wakes(), 0);
    tx.send(4).unwrap();
    assert_eq!(waker.wakes(), 1);
    assert_eq!(poll_once(&mut rx, &as_waker), Poll::Ready(Ok(4)));
}

#[test]
fn the_last_registered_waker_is_the_one_woken() {
    let (tx, mut rx) = oneshot();
    let first = CountingWaker::new();
    let second = CountingWaker::new();
    assert_eq!(poll_once(&mut rx, &first.clone().into()), Poll::Pending);
    assert_eq!(poll_once(&mut rx, &second.clone().into()), Poll::Pending);
    tx.send(()).unwrap();
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert_eq!(
        Arc::strong_count(&first),
        1,
        "the replaced waker was dropped"
    );
    assert_eq!(
        Arc::strong_count(&second),
        1,
        "the woken waker was consumed"
    );
}

#[test]
fn polling_after_ready_reports_disconnected() {
    let (tx, mut rx) = oneshot();
    tx.send(1).unwrap();
    let waker = noop_waker();
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok(1)));
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Err(RecvError)));
}

#[test]
fn a_registered_waker_is_dropped_with_the_channel() {
    let waker = CountingWaker::new();
    let (tx, mut rx) = oneshot::<u8>();
    assert_eq!(poll_once(&mut rx, &waker.clone().into()), Poll::Pending);
    assert_eq!(Arc::strong_count(&waker), 2);
    drop(rx);
    assert_eq!(tx.send(1), Err(SendError(1)));
    assert_eq!(Arc::strong_count(&waker), 1);
    assert_eq!(waker.wakes(), 0);
}

#[test]
fn is_ready_and_is_finished_follow_the_channel() {
    let (tx, mut rx) = oneshot();
    assert!(!rx.is_ready() && !rx.is_finished());
    tx.send(1).unwrap();
    assert!(rx.is_ready() && rx.is_finished());
    rx.try_recv().unwrap();
    assert!(!rx.is_ready() && rx.is_finished());

    let (tx, rx) = oneshot::<u8>();
    drop(tx);
    assert!(!rx.is_ready() && rx.is_finished());
}

#[test]
fn sender_is_closed_only_once_the_receiver_is_gone() {
    let (tx, rx) = oneshot::<u8>();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
}

#[test]
fn a_value_never_received_is_dropped_once_with_the_receiver() {
    let drops = Drops::new();
    let (tx, rx) = oneshot();
    assert!(tx.send(drops.item(0)).is_ok());
    assert_eq!(drops.count(), 0);
    drop(rx);
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_value_sent_to_a_dropped_receiver_is_dropped_once_by_its_owner() {
    let drops = Drops::new();
    let (tx, rx) = oneshot();
    drop(rx);
    let back = tx.send(drops.item(0)).unwrap_err().into_inner();
    assert_eq!(drops.count(), 0);
    drop(back);
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_received_value_is_dropped_once_by_the_receiver() {
    let drops = Drops::new();
    let (tx, rx) = oneshot();
    assert!(tx.send(drops.item(0)).is_ok());
    let value = rx.recv().ok().unwrap();
    assert_eq!(drops.count(), 0);
    drop(value);
    assert_eq!(drops.count(), 1);
}

#[test]
fn send_happens_before_every_way_of_receiving() {
    static WRITTEN: AtomicUsize = AtomicUsize::new(0);
    for how in 0..4 {
        let (tx, mut rx) = oneshot();
        let sender = thread::spawn(move || {
            // ORDERING: Relaxed on purpose: only the channel orders it.
            WRITTEN.store(how + 1, Ordering::Relaxed);
            tx.send(how).unwrap();
        });
        let got = match how {
            0 => rx.recv().unwrap(),
            1 => loop {
                if let Ok(v) = rx.try_recv() {
                    break v;
                }
                thread::yield_now();
            },
            2 => rx.recv_timeout(Duration::from_secs(60)).unwrap(),
            _ => block_on(rx).unwrap(),
        };
        assert_eq!(got, how);
        assert_eq!(WRITTEN.load(Ordering::Relaxed), how + 1);
        sender.join().unwrap();
    }
}

#[test]
fn debug_does_not_need_a_debug_payload() {
    struct Opaque;
    let (tx, mut rx) = oneshot::<Opaque>();
    assert_eq!(format!("{tx:?}"), "OneshotSender { closed: false }");
    assert_eq!(format!("{rx:?}"), r#"OneshotReceiver { state: "empty" }"#);
    assert!(tx.send(Opaque).is_ok());
    assert_eq!(format!("{rx:?}"), r#"OneshotReceiver { state: "ready" }"#);
    assert!(rx.try_recv().is_ok());
    assert_eq!(format!("{rx:?}"), r#"OneshotReceiver { state: "done" }"#);
}

#[test]
fn halves_are_send_sync_and_the_receiver_is_unpin() {
    fn send_sync<T: Send + Sync>() {}
    fn unpin<T: Unpin>() {}
    send_sync::<OneshotSender<String>>();
    send_sync::<OneshotReceiver<String>>();
    // `Cell` is `Send` but not `Sync`: the halves only need `T: Send`.
    send_sync::<OneshotSender<std::cell::Cell<u8>>>();
    send_sync::<OneshotReceiver<std::cell::Cell<u8>>>();
    unpin::<OneshotReceiver<PhantomPinned>>();
}

#[test]
fn many_channels_across_threads_each_deliver_once() {
    let drops = Drops::new();
    let rounds = common::rounds(2000, 20);
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..rounds).map(|_| oneshot()).unzip();
    let sender = {
        let drops = drops.clone();
        thread::spawn(move || {
            for (i, tx) in txs.into_iter().enumerate() {
                assert!(tx.send(drops.item(i)).is_ok());
            }
        })
    };
    for (i, rx) in rxs.into_iter().enumerate() {
        assert_eq!(rx.recv().ok().map(|c| c.id), Some(i));
    }
    sender.join().unwrap();
    assert_eq!(drops.count(), rounds);
}
