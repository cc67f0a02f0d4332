//! The ports' rules (Node's MessageChannel), one test per rule.

#![cfg(not(weft_loom))]

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{Drops, rounds};
use weft_channel::{
    Port, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError, duplex,
    duplex_bounded,
};

/// Long enough for another thread to block in `recv` first (not a correctness condition:
/// the tests pass whichever thread gets there first).
const SETTLE: Duration = Duration::from_millis(20);

#[test]
fn the_seed_round_trip() {
    let (main, job) = duplex::<String, String>();
    let worker = thread::spawn(move || {
        let request = job.recv().unwrap();
        assert_eq!(request, "Start computation");
        let sum: u64 = (1..=100).sum();
        job.send(format!("Computation result: {sum}")).unwrap();
    });
    main.send("Start computation".to_string()).unwrap();
    assert_eq!(main.recv().unwrap(), "Computation result: 5050");
    worker.join().unwrap();
    assert_eq!(main.recv(), Err(RecvError));
}

#[test]
fn messages_flow_both_ways_in_order() {
    let (a, b) = duplex::<u32, char>();
    for i in 0..10 {
        a.send(i).unwrap();
    }
    for c in ['x', 'y'] {
        b.send(c).unwrap();
    }
    assert_eq!(
        b.try_iter().collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(a.try_iter().collect::<String>(), "xy");
}

#[test]
fn send_to_a_dropped_peer_hands_the_message_back() {
    let (a, b) = duplex::<String, ()>();
    drop(b);
    assert_eq!(a.send("m".into()), Err(SendError("m".into())));
    assert_eq!(
        a.try_send("n".into()),
        Err(TrySendError::Disconnected("n".into()))
    );
}

#[test]
fn dropping_a_port_lets_the_peer_drain_then_disconnects() {
    let (a, b) = duplex::<u32, ()>();
    a.send(1).unwrap();
    a.send(2).unwrap();
    drop(a);
    assert_eq!(b.try_recv(), Ok(1));
    assert_eq!(b.recv(), Ok(2));
    assert_eq!(b.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(b.recv(), Err(RecvError));
    assert_eq!(b.recv_timeout(SETTLE), Err(RecvTimeoutError::Disconnected));
    assert_eq!(b.send(()), Err(SendError(())));
}

#[test]
fn dropping_a_port_wakes_the_peer_blocked_in_recv() {
    let (a, b) = duplex::<u32, ()>();
    let dropper = thread::spawn(move || {
        thread::sleep(SETTLE);
        drop(a);
    });
    assert_eq!(b.recv(), Err(RecvError));
    dropper.join().unwrap();
}

#[test]
fn close_refuses_sends_on_both_ports() {
    let (a, b) = duplex::<u32, u32>();
    a.close();
    assert_eq!(a.send(1), Err(SendError(1)));
    assert_eq!(b.send(2), Err(SendError(2)));
    assert_eq!(a.try_send(3), Err(TrySendError::Disconnected(3)));
    assert_eq!(b.try_send(4), Err(TrySendError::Disconnected(4)));
}

#[test]
fn close_drains_what_was_accepted_then_disconnects_both_ports() {
    let (a, b) = duplex::<u32, u32>();
    a.send(1).unwrap();
    b.send(10).unwrap();
    b.send(11).unwrap();
    b.close();
    assert_eq!(b.recv(), Ok(1));
    assert_eq!(b.recv(), Err(RecvError));
    assert_eq!(a.recv(), Ok(10));
    assert_eq!(a.try_recv(), Ok(11));
    assert_eq!(a.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(a.recv_timeout(SETTLE), Err(RecvTimeoutError::Disconnected));
    // The closing port's own messages stay readable by the peer.
    let (a, b) = duplex::<u32, u32>();
    a.send(1).unwrap();
    a.close();
    assert_eq!(b.recv(), Ok(1));
    assert_eq!(b.recv(), Err(RecvError));
}

#[test]
fn close_wakes_a_receiver_blocked_on_the_peer() {
    let (a, b) = duplex::<u32, u32>();
    let closer = thread::spawn(move || {
        thread::sleep(SETTLE);
        a.close();
        a
    });
    assert_eq!(b.recv(), Err(RecvError));
    drop(closer.join().unwrap());
}

#[test]
fn close_wakes_a_receiver_blocked_on_the_same_port() {
    let (a, _b) = duplex::<u32, u32>();
    thread::scope(|s| {
        let receiver = s.spawn(|| a.recv());
        thread::sleep(SETTLE);
        a.close();
        assert_eq!(receiver.join().unwrap(), Err(RecvError));
    });
}

#[test]
fn close_wakes_recv_timeout_and_every_blocked_receiver() {
    let (a, b) = duplex::<u32, u32>();
    thread::scope(|s| {
        let waiting: Vec<_> = (0..3)
            .map(|_| s.spawn(|| b.recv_timeout(Duration::from_secs(60))))
            .collect();
        let blocked = s.spawn(|| b.recv());
        thread::sleep(SETTLE);
        a.close();
        for w in waiting {
            assert_eq!(w.join().unwrap(), Err(RecvTimeoutError::Disconnected));
        }
        assert_eq!(blocked.join().unwrap(), Err(RecvError));
    });
}

#[test]
fn close_is_idempotent() {
    let (a, b) = duplex::<u32, u32>();
    a.close();
    a.close();
    b.close();
    a.close_send();
    assert!(a.is_closed() && b.is_closed());
    assert_eq!(a.recv(), Err(RecvError));
}

#[test]
fn close_send_ends_one_direction_only() {
    let (main, job) = duplex::<&str, &str>();
    main.send("first").unwrap();
    main.close_send();
    assert_eq!(main.send("refused"), Err(SendError("refused")));
    assert_eq!(
        main.try_send("refused"),
        Err(TrySendError::Disconnected("refused"))
    );
    assert_eq!(job.recv(), Ok("first"));
    assert_eq!(job.recv(), Err(RecvError));
    assert_eq!(job.try_recv(), Err(TryRecvError::Disconnected));
    // The other direction keeps flowing.
    job.send("reply").unwrap();
    assert_eq!(main.recv(), Ok("reply"));
    assert!(main.is_send_closed() && !main.is_recv_closed());
    assert!(job.is_recv_closed() && !job.is_send_closed());
}

#[test]
fn close_send_wakes_the_peer_blocked_in_recv() {
    // The pool's `WorkerHandle::cancel`: a job blocked in `ctx.recv()` must wake.
    let (main, job) = duplex::<u32, &str>();
    let worker = thread::spawn(move || {
        let got = job.recv();
        job.send("ending").unwrap();
        got
    });
    thread::sleep(SETTLE);
    main.close_send();
    assert_eq!(worker.join().unwrap(), Err(RecvError));
    assert_eq!(main.recv(), Ok("ending"));
    assert_eq!(main.recv(), Err(RecvError));
}

#[test]
fn a_finished_job_returns_messages_sent_to_it() {
    let (main, job) = duplex::<String, u32>();
    let worker = thread::spawn(move || {
        job.send(1).unwrap();
        job.close();
    });
    worker.join().unwrap();
    assert_eq!(main.send("late".into()), Err(SendError("late".into())));
    assert_eq!(main.recv(), Ok(1));
    assert_eq!(main.recv(), Err(RecvError));
}

#[test]
fn bounded_send_blocks_until_the_peer_receives() {
    let (a, b) = duplex_bounded::<u32, ()>(1);
    a.send(1).unwrap();
    assert_eq!(a.try_send(2), Err(TrySendError::Full(2)));
    thread::scope(|s| {
        let blocked = s.spawn(|| a.send(2));
        thread::sleep(SETTLE);
        assert!(!blocked.is_finished());
        assert_eq!(b.recv(), Ok(1));
        assert_eq!(blocked.join().unwrap(), Ok(()));
    });
    assert_eq!(b.recv(), Ok(2));
}

#[test]
fn bounded_send_blocked_on_a_full_queue_is_refused_by_close() {
    let (a, b) = duplex_bounded::<u32, ()>(1);
    a.send(1).unwrap();
    thread::scope(|s| {
        let blocked = s.spawn(|| a.send(2));
        thread::sleep(SETTLE);
        b.close();
        assert_eq!(blocked.join().unwrap(), Err(SendError(2)));
    });
    assert_eq!(b.recv(), Ok(1));
    assert_eq!(b.recv(), Err(RecvError));
}

#[test]
fn bounded_send_blocked_on_a_full_queue_is_refused_by_its_own_close_send() {
    let (a, b) = duplex_bounded::<u32, ()>(1);
    a.send(1).unwrap();
    thread::scope(|s| {
        let blocked = s.spawn(|| a.send(2));
        thread::sleep(SETTLE);
        a.close_send();
        assert_eq!(blocked.join().unwrap(), Err(SendError(2)));
    });
    assert_eq!(b.recv(), Ok(1));
    assert_eq!(b.recv(), Err(RecvError));
}

#[test]
fn bounded_send_blocked_on_a_full_queue_is_refused_by_the_peer_drop() {
    let (a, b) = duplex_bounded::<u32, ()>(1);
    a.send(1).unwrap();
    let blocked = thread::spawn(move || a.send(2));
    thread::sleep(SETTLE);
    drop(b);
    assert_eq!(blocked.join().unwrap(), Err(SendError(2)));
}

#[test]
fn zero_capacity_send_is_a_rendezvous() {
    let (a, b) = duplex_bounded::<u32, ()>(0);
    assert_eq!(a.try_send(1), Err(TrySendError::Full(1)));
    thread::scope(|s| {
        let sender = s.spawn(|| a.send(7));
        assert_eq!(b.recv(), Ok(7));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
    a.close();
    assert_eq!(b.recv(), Err(RecvError));
}

#[test]
fn try_recv_tells_empty_from_disconnected() {
    let (a, b) = duplex::<u32, ()>();
    assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
    a.send(1).unwrap();
    assert_eq!(b.try_recv(), Ok(1));
    assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
    a.close_send();
    assert_eq!(b.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_timeout_times_out_receives_and_reports_disconnection() {
    let (a, b) = duplex::<u32, ()>();
    assert_eq!(b.recv_timeout(SETTLE), Err(RecvTimeoutError::Timeout));
    assert_eq!(
        b.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    a.send(1).unwrap();
    assert_eq!(b.recv_timeout(Duration::ZERO), Ok(1));
    let sender = thread::spawn(move || {
        thread::sleep(SETTLE);
        a.send(2).unwrap();
        a
    });
    assert_eq!(b.recv_timeout(Duration::from_secs(60)), Ok(2));
    let a = sender.join().unwrap();
    a.close();
    assert_eq!(
        b.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn iter_ends_at_disconnection() {
    let (a, b) = duplex::<u32, ()>();
    let sender = thread::spawn(move || {
        for i in 0..5 {
            a.send(i).unwrap();
        }
        a.close_send();
        a
    });
    assert_eq!(b.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    drop(sender.join().unwrap());
    assert_eq!((&b).into_iter().next(), None);
    assert_eq!(b.into_iter().next(), None);
}

#[test]
fn into_iter_owns_the_port() {
    let (a, b) = duplex::<u32, ()>();
    a.send(1).unwrap();
    a.send(2).unwrap();
    drop(a);
    let collected: Vec<u32> = b.into_iter().collect();
    assert_eq!(collected, [1, 2]);
}

#[test]
fn try_iter_takes_only_what_waits() {
    let (a, b) = duplex::<u32, ()>();
    a.send(1).unwrap();
    assert_eq!(b.try_iter().collect::<Vec<_>>(), [1]);
    a.send(2).unwrap();
    assert_eq!(b.try_iter().next(), Some(2));
    assert_eq!(b.try_iter().next(), None);
}

#[test]
fn is_closed_helpers_follow_each_way_of_closing() {
    let (a, b) = duplex::<(), ()>();
    assert!(!a.is_send_closed() && !a.is_recv_closed() && !a.is_closed());
    b.close_send();
    assert!(a.is_recv_closed() && !a.is_send_closed() && !a.is_closed());
    a.close_send();
    assert!(a.is_closed() && b.is_closed());

    let (a, b) = duplex::<(), ()>();
    drop(b);
    assert!(a.is_closed());
}

#[test]
fn messages_left_in_dropped_ports_are_dropped_once() {
    for cap in [None, Some(8)] {
        let drops = Drops::new();
        let (a, b) = match cap {
            None => duplex(),
            Some(cap) => duplex_bounded(cap),
        };
        for i in 0..4 {
            assert!(a.send(drops.item(i)).is_ok());
            assert!(b.send(drops.item(10 + i)).is_ok());
        }
        assert_eq!(b.recv().ok().map(|m| m.id), Some(0));
        assert_eq!(drops.count(), 1);
        drop(a);
        drop(b);
        assert_eq!(drops.count(), 8, "capacity {cap:?}");
    }
}

#[test]
fn refused_messages_are_handed_back_not_dropped() {
    let drops = Drops::new();
    let (a, b) = duplex::<_, ()>();
    a.close();
    let back = a.send(drops.item(1)).unwrap_err().into_inner();
    assert_eq!((back.id, drops.count()), (1, 0));
    drop(back);
    drop(b);
    assert_eq!(drops.count(), 1);
}

#[test]
fn sends_racing_close_are_either_delivered_or_handed_back() {
    for cap in [None, Some(1), Some(0)] {
        for round in 0..rounds(40, 2) {
            let drops = Drops::new();
            let (a, b) = match cap {
                None => duplex::<_, ()>(),
                Some(cap) => duplex_bounded(cap),
            };
            let per_sender = rounds(200, 10);
            // Close mid-stream: from the sending side or from the receiving side.
            let close_from_receiver = round % 2 == 1;
            let sent = AtomicUsize::new(0);
            let halfway = || sent.load(Ordering::Relaxed) >= per_sender / 2;
            let start = Barrier::new(3);
            let (accepted, refused, received) = thread::scope(|s| {
                let senders: Vec<_> = (0..2)
                    .map(|t| {
                        let (a, drops, start, sent) = (&a, &drops, &start, &sent);
                        s.spawn(move || {
                            start.wait();
                            let (mut ok, mut back) = (0, Vec::new());
                            for i in 0..per_sender {
                                match a.send(drops.item(t * per_sender + i)) {
                                    Ok(()) => ok += 1,
                                    Err(SendError(m)) => back.push(m),
                                }
                                sent.fetch_add(1, Ordering::Relaxed);
                            }
                            (ok, back)
                        })
                    })
                    .collect();
                let receiver = s.spawn(|| {
                    start.wait();
                    let mut got = Vec::new();
                    while let Ok(m) = b.recv() {
                        got.push(m.id);
                        if close_from_receiver && halfway() {
                            b.close();
                        }
                    }
                    got
                });
                if !close_from_receiver {
                    while !halfway() {
                        thread::yield_now();
                    }
                    a.close();
                }
                let mut accepted = 0;
                let mut refused = Vec::new();
                for sender in senders {
                    let (ok, back) = sender.join().unwrap();
                    accepted += ok;
                    refused.extend(back);
                }
                (accepted, refused, receiver.join().unwrap())
            });
            assert_eq!(received.len(), accepted, "capacity {cap:?}");
            assert_eq!(accepted + refused.len(), 2 * per_sender);
            let mut ids: Vec<_> = received.clone();
            ids.extend(refused.iter().map(|m| m.id));
            ids.sort_unstable();
            assert_eq!(ids, (0..2 * per_sender).collect::<Vec<_>>());
            drop(refused);
            drop((a, b));
            assert_eq!(drops.count(), 2 * per_sender);
        }
    }
}

#[test]
fn ports_are_send_sync_and_debug_without_payload_bounds() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Port<String, Vec<u8>>>();
    send_sync::<Port<std::cell::Cell<u8>, ()>>();
    struct Opaque;
    let (a, b) = duplex::<Opaque, Opaque>();
    b.send(Opaque).map_err(|_| ()).unwrap();
    assert_eq!(
        format!("{a:?}"),
        "Port { send_closed: false, recv_closed: false, waiting: 1 }"
    );
    assert!(format!("{:?}", a.iter()).starts_with("Iter { port: Port {"));
    assert!(format!("{:?}", a.try_iter()).starts_with("TryIter { port: Port {"));
}

#[test]
fn ping_pong_across_threads() {
    let (a, b) = duplex_bounded::<u64, u64>(1);
    let echo = thread::spawn(move || {
        for n in b.iter() {
            if b.send(n + 1).is_err() {
                break;
            }
        }
    });
    let mut n = 0;
    for _ in 0..rounds(1000, 20) {
        a.send(n).unwrap();
        n = a.recv().unwrap();
    }
    assert_eq!(n, rounds(1000, 20) as u64);
    drop(a);
    echo.join().unwrap();
}

/// Regression: `close` ended its sending direction before its receiving one, so a peer that
/// had just seen the end of input could still have a send accepted (and then dropped with
/// the closed port), although the port it was talking to was already closed.
#[test]
fn a_send_after_recv_saw_the_peer_close_is_refused() {
    let rounds = if cfg!(miri) { 20 } else { 2_000 };
    for _ in 0..rounds {
        let (left, right) = weft_channel::duplex::<u8, u8>();
        let closer = std::thread::spawn(move || {
            left.close();
            left
        });
        while right.recv().is_ok() {}
        assert_eq!(
            right.send(1),
            Err(weft_channel::SendError(1)),
            "the peer's close was seen, so the reverse direction is closed too"
        );
        drop(closer.join().unwrap());
    }
}

/// Regression: dropping a port left its unread messages to crossbeam's channel cleanup,
/// which stops at a message whose `Drop` panics and leaks the ones behind it.
#[test]
fn a_panicking_message_drop_does_not_leak_the_unread_messages_behind_it() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Message {
        drops: Arc<AtomicUsize>,
        panics: bool,
    }
    impl Drop for Message {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
            if self.panics {
                panic!("message dropped");
            }
        }
    }

    let drops = Arc::new(AtomicUsize::new(0));
    let (left, right) = weft_channel::duplex::<Message, ()>();
    for panics in [true, false, false, false] {
        let message = Message {
            drops: drops.clone(),
            panics,
        };
        assert!(left.send(message).is_ok());
    }
    drop(left);
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(right)));
    assert!(
        dropped.is_err(),
        "the message's panic comes out of the port's drop"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        4,
        "every unread message was dropped"
    );
}
