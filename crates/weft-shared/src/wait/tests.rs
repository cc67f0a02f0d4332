//! Unit tests of wait/notify. They live in the crate so they can use
//! `wait_with_hook`, whose hook tells a test that a waiter is queued (no sleeps, no
//! guessing); the public-API mutex and race tests are in `tests/`.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::WaitResult;
use crate::buffer::SharedBuffer;
use crate::element::Element;
use crate::raw_view::RawView;

/// Long enough never to pass in a test that expects a notify to come first.
const FOREVER: Option<Duration> = Some(Duration::from_secs(600));

fn int32s(byte_len: usize) -> RawView<i32> {
    RawView::whole(&SharedBuffer::new(byte_len)).unwrap()
}

/// Starts a thread waiting on `view[index] == expected` and returns once it is queued.
fn queued_waiter<T: Element + Send + 'static>(
    view: &RawView<T>,
    index: usize,
    expected: T,
    timeout: Option<Duration>,
) -> JoinHandle<WaitResult> {
    let queued = Arc::new(AtomicBool::new(false));
    let handle = {
        let (view, queued) = (view.clone(), Arc::clone(&queued));
        thread::spawn(move || {
            view.wait_with_hook(index, expected, timeout, || queued.store(true, SeqCst))
        })
    };
    while !queued.load(SeqCst) {
        thread::yield_now();
    }
    handle
}

#[test]
fn wait_returns_not_equal_when_the_value_differs_at_call_time() {
    let view = int32s(8);
    view.store(1, 3);
    assert_eq!(view.wait(1, 2, None), WaitResult::NotEqual);
    assert_eq!(view.wait(1, 2, FOREVER), WaitResult::NotEqual);
}

#[test]
fn zero_timeout_checks_the_value_without_blocking() {
    let view = int32s(4);
    assert_eq!(view.wait(0, 0, Some(Duration::ZERO)), WaitResult::TimedOut);
    assert_eq!(view.wait(0, 1, Some(Duration::ZERO)), WaitResult::NotEqual);
}

#[test]
fn wait_times_out_when_nobody_notifies() {
    let view = int32s(4);
    let timeout = Duration::from_millis(20);
    let start = Instant::now();
    assert_eq!(view.wait(0, 0, Some(timeout)), WaitResult::TimedOut);
    assert!(start.elapsed() >= timeout);
}

#[test]
fn notify_with_nobody_waiting_wakes_none() {
    let view = int32s(4);
    assert_eq!(view.notify(0, 1), 0);
    assert_eq!(view.notify(0, usize::MAX), 0);
}

#[test]
fn notified_waiter_returns_ok() {
    let view = int32s(4);
    let waiter = queued_waiter(&view, 0, 0, None);
    assert_eq!(view.notify(0, 1), 1);
    assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
}

#[test]
fn waiter_with_timeout_notified_in_time_returns_ok() {
    let view = int32s(4);
    let waiter = queued_waiter(&view, 0, 0, FOREVER);
    assert_eq!(view.notify(0, 1), 1);
    assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
}

#[test]
fn timed_out_waiter_is_not_counted_by_a_later_notify() {
    let view = int32s(4);
    assert_eq!(
        view.wait(0, 0, Some(Duration::from_millis(1))),
        WaitResult::TimedOut
    );
    assert_eq!(view.notify(0, usize::MAX), 0);
}

#[test]
fn notify_returns_how_many_it_woke() {
    let view = int32s(4);
    let waiters: Vec<_> = (0..3).map(|_| queued_waiter(&view, 0, 0, None)).collect();
    assert_eq!(view.notify(0, 0), 0);
    assert_eq!(view.notify(0, 2), 2);
    assert_eq!(view.notify(0, 5), 1);
    assert_eq!(view.notify(0, 5), 0);
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
    }
}

#[test]
fn notify_all_wakes_every_waiter() {
    let view = int32s(4);
    let waiters: Vec<_> = (0..4).map(|_| queued_waiter(&view, 0, 0, None)).collect();
    assert_eq!(view.notify(0, usize::MAX), 4);
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
    }
}

#[test]
fn notify_wakes_waiters_in_fifo_order() {
    let view = int32s(4);
    let woken_order = Arc::new(Mutex::new(Vec::new()));
    let waiters: Vec<_> = (0..4)
        .map(|id| {
            let queued = Arc::new(AtomicBool::new(false));
            let handle = {
                let (view, queued) = (view.clone(), Arc::clone(&queued));
                let woken_order = Arc::clone(&woken_order);
                thread::spawn(move || {
                    let result = view.wait_with_hook(0, 0, None, || queued.store(true, SeqCst));
                    woken_order.lock().unwrap().push(id);
                    result
                })
            };
            // Queue them strictly one after another.
            while !queued.load(SeqCst) {
                thread::yield_now();
            }
            handle
        })
        .collect();
    for woken in 1..=waiters.len() {
        assert_eq!(view.notify(0, 1), 1);
        while woken_order.lock().unwrap().len() < woken {
            thread::yield_now();
        }
    }
    assert_eq!(*woken_order.lock().unwrap(), [0, 1, 2, 3]);
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
    }
}

#[test]
fn views_over_the_same_bytes_share_a_wait_queue() {
    let buf = SharedBuffer::new(16);
    let whole = RawView::<i32>::whole(&buf).unwrap();
    let ranged = RawView::<i32>::range(&buf, 8, 1).unwrap();
    let bytes = RawView::<u8>::whole(&buf).unwrap();
    let wide = RawView::<i64>::range(&buf, 8, 1).unwrap();
    assert_eq!(whole.park_key(2), ranged.park_key(0));
    assert_eq!(whole.park_key(2), bytes.park_key(8));
    assert_eq!(whole.park_key(2), wide.park_key(0));

    let waiter = queued_waiter(&whole, 2, 0, None);
    assert_eq!(ranged.notify(0, 1), 1);
    assert_eq!(waiter.join().unwrap(), WaitResult::Ok);

    // As in JS, the key is the element's first byte, whatever its width.
    let waiter = queued_waiter(&wide, 0, 0, None);
    assert_eq!(bytes.notify(8, usize::MAX), 1);
    assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
}

#[test]
fn elements_sharing_a_word_have_separate_wait_queues() {
    let buf = SharedBuffer::new(8);
    let halves = RawView::<i32>::whole(&buf).unwrap();
    let bytes = RawView::<u8>::whole(&buf).unwrap();
    assert_ne!(halves.park_key(0), halves.park_key(1));
    let waiter = queued_waiter(&halves, 0, 0, None);
    assert_eq!(halves.notify(1, usize::MAX), 0);
    assert_eq!(bytes.notify(1, usize::MAX), 0);
    assert_eq!(bytes.notify(4, usize::MAX), 0);
    assert_eq!(halves.notify(0, usize::MAX), 1);
    assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
}

#[test]
fn every_integer_kind_waits_and_is_notified() {
    fn check<T: Element + Send + PartialEq + std::fmt::Debug + 'static>(zero: T, one: T) {
        let view = RawView::<T>::whole(&SharedBuffer::new(16)).unwrap();
        let last = view.len() - 1;
        view.store(last, zero);
        assert_eq!(view.wait(last, one, None), WaitResult::NotEqual);
        assert_eq!(
            view.wait(last, zero, Some(Duration::ZERO)),
            WaitResult::TimedOut
        );
        let waiter = queued_waiter(&view, last, zero, None);
        assert_eq!(view.notify(last, usize::MAX), 1);
        assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
    }
    check(0i8, 1);
    check(0u8, 1);
    check(0i16, 1);
    check(0u16, 1);
    check(0i32, 1);
    check(0u32, 1);
    check(0i64, 1);
    check(0u64, 1);
    // Negative values compare on their bits, not sign-extended.
    check(-1i8, 0);
    check(-1i32, 0);
    check(-1i64, 0);
}

#[test]
#[should_panic(expected = "index 1 out of range for Int32View of length 1")]
fn wait_with_index_out_of_range_panics() {
    int32s(4).wait(1, 0, None);
}

#[test]
#[should_panic(expected = "index 2 out of range for Int32View of length 2")]
fn notify_with_index_out_of_range_panics() {
    int32s(8).notify(2, 1);
}
