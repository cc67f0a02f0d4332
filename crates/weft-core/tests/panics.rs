//! A panic is data, not a crash: it reaches the handle as `JobError::Panicked`, the worker
//! lives on, and `stats()` counts it (also for `execute`, which has no handle).

mod common;

use std::panic;
use std::sync::mpsc;

use common::{EXPECTED, eventually, expect_panic, panic_text, with_timeout};
use weft::{JobError, ThreadPool};

#[test]
fn a_panicking_job_leaves_the_only_worker_alive_for_the_next_job() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let before = pool.spawn(|| std::thread::current().id()).join().unwrap();
        let error = pool
            .spawn(|| -> u8 { panic!("boom {EXPECTED}") })
            .join()
            .unwrap_err();
        assert!(error.is_panic());
        let (thread, index) = pool
            .spawn(|| (std::thread::current().id(), weft::current_thread_index()))
            .join()
            .unwrap();
        assert_eq!(thread, before, "the same worker thread runs the next job");
        assert_eq!(index, Some(0));
    });
}

#[test]
fn many_panics_in_a_row_do_not_wear_the_pool_down() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handles: Vec<_> = (0..common::scaled(200))
            .map(|i| pool.spawn(move || -> usize { panic!("{i} {EXPECTED}") }))
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let error = handle.join().unwrap_err();
            assert_eq!(
                error.panic_message(),
                Some(format!("{i} {EXPECTED}").as_str())
            );
        }
        assert_eq!(pool.spawn(|| "alive").join().unwrap(), "alive");
        let stats = pool.stats();
        assert_eq!(stats.panicked, common::scaled(200) as u64);
        assert_eq!(stats.completed, 1);
    });
}

#[test]
fn a_str_panic_gives_its_message() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let error = pool
            .spawn(|| panic!("static boom (expected panic)"))
            .join()
            .unwrap_err();
        assert!(error.is_panic());
        assert!(!error.is_cancelled());
        assert_eq!(error.panic_message(), Some("static boom (expected panic)"));
        assert!(
            error.to_string().contains("static boom"),
            "Display: {error}"
        );
        assert!(
            format!("{error:?}").contains("static boom"),
            "Debug: {error:?}"
        );
        let payload = error.into_panic();
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"static boom (expected panic)")
        );
    });
}

#[test]
fn a_formatted_panic_gives_its_string_message() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let n = 5;
        let error = pool
            .spawn(move || panic!("n = {n} {EXPECTED}"))
            .join()
            .unwrap_err();
        assert_eq!(
            error.panic_message(),
            Some(format!("n = 5 {EXPECTED}").as_str())
        );
        let payload = error.into_panic();
        assert_eq!(
            payload.downcast_ref::<String>().unwrap(),
            &format!("n = 5 {EXPECTED}")
        );
    });
}

#[derive(Debug, PartialEq)]
struct CustomPayload {
    code: u32,
}

#[test]
fn non_string_payloads_are_kept_as_they_are() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let error = pool.spawn(|| panic::panic_any(42i32)).join().unwrap_err();
        assert!(error.is_panic());
        assert_eq!(error.panic_message(), None);
        assert!(!error.to_string().is_empty());
        assert!(!format!("{error:?}").is_empty());
        assert_eq!(*error.into_panic().downcast::<i32>().unwrap(), 42);

        let error = pool
            .spawn(|| panic::panic_any(CustomPayload { code: 7 }))
            .join()
            .unwrap_err();
        assert_eq!(error.panic_message(), None);
        let payload = error.into_panic().downcast::<CustomPayload>().unwrap();
        assert_eq!(*payload, CustomPayload { code: 7 });
    });
}

#[test]
fn into_panic_resumes_the_original_panic() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let error = pool.spawn(|| panic::panic_any(99u64)).join().unwrap_err();
        let payload = expect_panic(|| panic::resume_unwind(error.into_panic()));
        assert_eq!(payload.downcast_ref::<u64>(), Some(&99));
    });
}

#[test]
fn a_cancelled_error_is_no_panic() {
    let error = JobError::Cancelled;
    assert!(error.is_cancelled());
    assert!(!error.is_panic());
    assert_eq!(error.panic_message(), None);
    assert!(!error.to_string().is_empty());
    assert_eq!(format!("{error:?}"), "Cancelled");
}

#[test]
fn into_panic_of_a_cancelled_error_panics() {
    let payload = expect_panic(|| JobError::Cancelled.into_panic());
    assert!(panic_text(&*payload).is_some());
}

#[test]
fn execute_panics_are_counted_and_the_workers_live_on() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..3 {
            pool.execute(|| panic!("execute boom {EXPECTED}"));
        }
        let (tx, rx) = mpsc::channel();
        pool.execute(move || tx.send("ran").unwrap());
        assert_eq!(rx.recv().unwrap(), "ran");
        eventually("three execute panics are counted", || {
            pool.stats().panicked == 3
        });
        eventually("the fourth job is counted", || pool.stats().completed == 1);
        let stats = pool.stats();
        assert_eq!(stats.submitted, 4);
        assert_eq!(pool.broadcast(|i| i), vec![0, 1], "both workers alive");
    });
}

/// A result whose `Drop` panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("result dropped {EXPECTED}");
    }
}

#[test]
fn a_panic_dropping_the_result_of_a_job_whose_handle_is_gone_does_not_kill_the_worker() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (release, release_rx) = mpsc::channel::<()>();
        let handle = pool.spawn(move || {
            release_rx.recv().unwrap();
            PanicsOnDrop
        });
        drop(handle); // the result will be dropped on the worker
        release.send(()).unwrap();
        assert_eq!(pool.spawn(|| "alive").join().unwrap(), "alive");
        let stats = pool.stats();
        assert_eq!(stats.completed, 2, "the job itself completed");
        assert_eq!(stats.panicked, 0);
    });
}

#[test]
fn a_panic_dropping_the_closure_of_a_job_cancelled_by_shutdown_now_does_not_kill_the_worker() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let gate = common::hold_workers_until_close(&pool);
        let guard = PanicsOnDrop;
        let queued = pool.spawn(move || drop(guard));
        let (tx, rx) = mpsc::channel::<()>();
        let last = pool.spawn(move || tx.send(()).unwrap());
        gate.announce_close();
        pool.shutdown_now();
        gate.join();
        assert!(queued.join().unwrap_err().is_cancelled());
        assert!(last.join().unwrap_err().is_cancelled());
        assert!(rx.try_recv().is_err());
    });
}
