//! Loom models of wait vs notify vs timeout, each named for the bug it rules out.
//! Run: `RUSTFLAGS="--cfg weft_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p
//! weft-shared --lib loom`. A lost wake-up shows up as a loom deadlock (every thread
//! parked), a miscount as a failed assertion.

use std::time::Duration;

use loom::thread;

use super::WaitResult;
use crate::buffer::SharedBuffer;
use crate::raw_view::RawView;

const SOME_TIMEOUT: Option<Duration> = Some(Duration::from_secs(1));

fn flag() -> RawView<i32> {
    RawView::whole(&SharedBuffer::new(4)).unwrap()
}

/// The classic futex race: the notifier changes the value and notifies after the
/// waiter checked the value but before it went to sleep. The check runs under the
/// queue lock, so the waiter either sees the new value or is queued in time.
#[test]
fn loom_notify_between_check_and_park_is_not_lost() {
    loom::model(|| {
        let view = flag();
        let waiter = {
            let view = view.clone();
            thread::spawn(move || view.wait(0, 0, None))
        };
        view.store(0, 1);
        let woken = view.notify(0, 1);
        match waiter.join().unwrap() {
            WaitResult::Ok => assert_eq!(woken, 1),
            WaitResult::NotEqual => assert_eq!(woken, 0),
            WaitResult::TimedOut => panic!("no timeout was given"),
        }
    });
}

/// A timeout racing a notify: the waiter must be counted by `notify` exactly when it
/// reports `Ok`, never both timed out and counted, never woken and uncounted.
#[test]
fn loom_timeout_racing_notify_is_counted_exactly_once() {
    loom::model(|| {
        let view = flag();
        let waiter = {
            let view = view.clone();
            thread::spawn(move || view.wait(0, 0, SOME_TIMEOUT))
        };
        view.store(0, 1);
        let woken = view.notify(0, usize::MAX);
        let result = waiter.join().unwrap();
        assert_eq!(
            woken == 1,
            result == WaitResult::Ok,
            "{result:?}, woke {woken}"
        );
        assert!(woken <= 1);
    });
}

/// `notify(i, 1)` with two sleepers must wake exactly one of them and leave the other
/// queued for the next notify (no over-wake, no waiter dropped from the queue).
#[test]
fn loom_notify_one_leaves_the_other_waiter_for_the_next_notify() {
    loom::model(|| {
        let view = flag();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let view = view.clone();
                thread::spawn(move || view.wait(0, 0, None))
            })
            .collect();
        view.store(0, 1);
        let first = view.notify(0, 1);
        let second = view.notify(0, usize::MAX);
        let oks = waiters
            .into_iter()
            .map(|waiter| waiter.join().unwrap())
            .filter(|result| *result == WaitResult::Ok)
            .count();
        assert!(first <= 1);
        assert_eq!(first + second, oks);
    });
}

/// A notify on one element must not wake (or count) a waiter on a neighbouring
/// element of the same word, whose value another view changed meanwhile.
#[test]
fn loom_notify_on_a_neighbouring_element_does_not_wake_the_waiter() {
    loom::model(|| {
        let buf = SharedBuffer::new(8);
        let halves = RawView::<i32>::whole(&buf).unwrap();
        let bytes = RawView::<u8>::whole(&buf).unwrap();
        let waiter = {
            let halves = halves.clone();
            thread::spawn(move || halves.wait(0, 0, SOME_TIMEOUT))
        };
        bytes.store(4, 1);
        assert_eq!(halves.notify(1, usize::MAX), 0);
        let result = waiter.join().unwrap();
        assert_eq!(result, WaitResult::TimedOut);
    });
}

/// The futex-style lock of the crate docs (0 free, 1 held, 2 contended) built from the
/// real lane operations: a thread that sleeps on a contended lock must be woken by the
/// holder's unlock, and the counter it guards must count both increments.
#[test]
fn loom_lock_handoff_through_wait_notify_never_strands_a_waiter() {
    fn lock(state: &RawView<i32>) {
        if state.compare_exchange(0, 0, 1) != 0 {
            while state.rmw(0, 2, |lane, bits| lane.swap(bits)) != 0 {
                state.wait(0, 2, None);
            }
        }
    }
    fn unlock(state: &RawView<i32>) {
        if state.rmw(0, 0, |lane, bits| lane.swap(bits)) == 2 {
            state.notify(0, 1);
        }
    }
    loom::model(|| {
        let buf = SharedBuffer::new(8);
        let state = RawView::<i32>::range(&buf, 0, 1).unwrap();
        let counter = RawView::<u32>::range(&buf, 4, 1).unwrap();
        let other = {
            let (state, counter) = (state.clone(), counter.clone());
            thread::spawn(move || {
                lock(&state);
                counter.store(0, counter.load(0) + 1);
                unlock(&state);
            })
        };
        lock(&state);
        counter.store(0, counter.load(0) + 1);
        unlock(&state);
        other.join().unwrap();
        assert_eq!(counter.load(0), 2);
        assert_eq!(state.load(0), 0);
    });
}
