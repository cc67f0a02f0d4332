//! The free functions that ask "where am I?": `current_thread_index`, `current_num_threads`,
//! `is_cancelled`, outside and inside pools.

mod common;

use std::sync::mpsc;

use common::with_timeout;
use weft::ThreadPool;

#[test]
fn outside_any_pool_there_is_no_index_and_no_cancel() {
    assert_eq!(weft::current_thread_index(), None);
    assert!(!weft::is_cancelled());
    assert!(weft::current_num_threads() >= 1);
    with_timeout(|| {
        assert_eq!(weft::current_thread_index(), None);
        assert!(!weft::is_cancelled());
    });
}

#[test]
fn outside_any_pool_current_num_threads_is_the_global_pools_size() {
    with_timeout(|| {
        assert_eq!(weft::current_num_threads(), num_cpus::get());
        let _ = weft::join(|| (), || ()); // builds the global pool
        assert_eq!(weft::current_num_threads(), num_cpus::get());
    });
}

#[test]
fn inside_a_pool_they_describe_that_pool_and_worker() {
    with_timeout(|| {
        let pool = ThreadPool::new(3).unwrap();
        let seen =
            pool.broadcast(|i| (i, weft::current_thread_index(), weft::current_num_threads()));
        for (i, index, num) in seen {
            assert_eq!(index, Some(i));
            assert_eq!(num, 3);
        }
        let (index, num) = pool
            .spawn(|| (weft::current_thread_index(), weft::current_num_threads()))
            .join()
            .unwrap();
        assert!(index.unwrap() < 3);
        assert_eq!(num, 3);
    });
}

#[test]
fn inside_an_execute_job_they_describe_the_pool() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (tx, rx) = mpsc::channel();
        pool.execute(move || {
            tx.send((
                weft::current_thread_index(),
                weft::current_num_threads(),
                weft::is_cancelled(),
            ))
            .unwrap()
        });
        let (index, num, cancelled) = rx.recv().unwrap();
        assert!(index.unwrap() < 2);
        assert_eq!(num, 2);
        assert!(!cancelled);
    });
}

#[test]
fn a_plain_thread_started_from_a_job_is_not_a_worker() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let index = pool
            .spawn(|| {
                std::thread::spawn(weft::current_thread_index)
                    .join()
                    .unwrap()
            })
            .join()
            .unwrap();
        assert_eq!(index, None);
    });
}

#[test]
fn after_a_job_ends_its_worker_reports_no_cancel() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            started_tx.send(()).unwrap();
            while !weft::is_cancelled() {
                std::thread::yield_now();
            }
        });
        started_rx.recv().unwrap();
        assert!(!handle.cancel());
        handle.join().unwrap();
        // The next job on the same worker starts with a clean slate.
        assert!(!pool.spawn(weft::is_cancelled).join().unwrap());
    });
}
