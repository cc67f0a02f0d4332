//! Jobs that spawn jobs and wait on them: a waiting worker runs other jobs meanwhile, so
//! nothing deadlocks, even on a pool of one thread.

mod common;

use std::sync::Arc;
use std::sync::mpsc;

use common::{scaled, with_timeout};
use weft::{JobHandle, ThreadPool};

#[test]
fn nested_spawn_and_join_on_a_one_thread_pool_does_not_deadlock() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let inner_pool = Arc::clone(&pool);
        let outer = pool.spawn(move || {
            let inner = inner_pool.spawn(|| 21);
            inner.join().unwrap() * 2
        });
        assert_eq!(outer.join().unwrap(), 42);
    });
}

#[test]
fn a_job_waiting_on_a_job_queued_behind_it_runs_that_job_itself() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (handle_tx, handle_rx) = mpsc::channel::<JobHandle<u32>>();
        let waiting = pool.spawn(move || handle_rx.recv().unwrap().join().unwrap() + 1);
        // The only worker is (or will be) inside `waiting`: this job can only run if the
        // waiting worker runs it.
        let awaited = pool.spawn(|| 41);
        handle_tx.send(awaited).unwrap();
        assert_eq!(waiting.join().unwrap(), 42);
    });
}

fn chain(pool: Arc<ThreadPool>, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    let next = Arc::clone(&pool);
    pool.spawn(move || chain(next, depth - 1)).join().unwrap() + 1
}

#[test]
fn a_chain_of_jobs_each_joining_the_next_on_a_one_thread_pool_completes() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let depth = scaled(64);
        let root = Arc::clone(&pool);
        assert_eq!(
            pool.spawn(move || chain(root, depth)).join().unwrap(),
            depth
        );
    });
}

fn tree(pool: Arc<ThreadPool>, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (left_pool, right_pool) = (Arc::clone(&pool), Arc::clone(&pool));
    let left = pool.spawn(move || tree(left_pool, depth - 1));
    let right = pool.spawn(move || tree(right_pool, depth - 1));
    1 + left.join().unwrap() + right.join().unwrap()
}

#[test]
fn a_tree_of_jobs_joining_their_children_completes_on_two_threads() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let depth = if cfg!(miri) { 4 } else { 9 };
        let root = Arc::clone(&pool);
        let count = pool.spawn(move || tree(root, depth)).join().unwrap();
        assert_eq!(count, (1 << (depth + 1)) - 1);
    });
}

#[test]
fn a_job_can_wait_on_a_job_of_another_pool() {
    with_timeout(|| {
        let a = ThreadPool::new(1).unwrap();
        let b = ThreadPool::new(1).unwrap();
        let (release, release_rx) = mpsc::channel::<u8>();
        let on_b = b.spawn(move || release_rx.recv().unwrap());
        let on_a = a.spawn(move || on_b.join().unwrap() + 1);
        release.send(6).unwrap();
        assert_eq!(on_a.join().unwrap(), 7);
    });
}

#[test]
fn a_job_waiting_on_another_pools_job_keeps_running_its_own_pools_jobs() {
    with_timeout(|| {
        let a = ThreadPool::new(1).unwrap();
        let b = ThreadPool::new(1).unwrap();
        let (release, release_rx) = mpsc::channel::<()>();
        let on_b = b.spawn(move || release_rx.recv().unwrap());
        let waiting = a.spawn(move || on_b.join().unwrap());
        // Queued behind `waiting` on a's only worker: runs while `waiting` waits.
        let (ran_tx, ran_rx) = mpsc::channel();
        let _behind = a.spawn(move || ran_tx.send(()).unwrap());
        ran_rx.recv().unwrap();
        release.send(()).unwrap();
        waiting.join().unwrap();
    });
}
