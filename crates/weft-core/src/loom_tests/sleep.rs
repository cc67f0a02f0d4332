//! The sleep/wake protocol (`engine/sleep.rs`) and the latches (`engine/latch.rs`).

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use super::{config, spawn_worker};
use crate::engine::latch::{Latch, Owner, WakeLatch};
use crate::engine::registry::Registry;
use crate::engine::sleep::Sleep;

/// The pool's "a job was pushed" as the sleep protocol sees it: a push (Release, like the
/// deque's) and `new_work`.
fn push(queue: &AtomicUsize, sleep: &Sleep) {
    queue.fetch_add(1, Ordering::Release);
    sleep.new_work();
}

/// Takes one job if there is one.
fn take(queue: &AtomicUsize) -> bool {
    queue
        .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// A worker's idle loop: take work, else sleep until there is some; ends after `jobs` jobs
/// or when `done` is set.
fn worker_loop(index: usize, sleep: &Sleep, queue: &AtomicUsize, done: &AtomicBool) -> usize {
    sleep.register_current(index);
    let mut ran = 0;
    loop {
        if take(queue) {
            ran += 1;
            continue;
        }
        if done.load(Ordering::Acquire) {
            return ran;
        }
        sleep.sleep(index, None, || {
            queue.load(Ordering::Relaxed) != 0 || done.load(Ordering::Acquire)
        });
    }
}

#[test]
fn loom_job_pushed_while_last_worker_falls_asleep_is_run() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        let queue = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let worker = {
            let (sleep, queue, done) = (sleep.clone(), queue.clone(), done.clone());
            thread::spawn(move || {
                sleep.register_current(0);
                // Exactly the worker's last steps: nothing found, announce, re-check, park.
                while !take(&queue) {
                    sleep.sleep(0, None, || queue.load(Ordering::Relaxed) != 0);
                }
                done.store(true, Ordering::Release);
            })
        };
        push(&queue, &sleep);
        // A lost wake-up leaves the worker parked forever: loom reports the deadlock.
        worker.join().unwrap();
        assert!(done.load(Ordering::Acquire));
    });
}

#[test]
fn loom_two_sleepers_and_two_pushes_run_both_jobs() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let queue = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let ran = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..2)
            .map(|index| {
                let (sleep, queue, done, ran) =
                    (sleep.clone(), queue.clone(), done.clone(), ran.clone());
                thread::spawn(move || {
                    let n = worker_loop(index, &sleep, &queue, &done);
                    ran.fetch_add(n, Ordering::AcqRel);
                })
            })
            .collect();
        push(&queue, &sleep);
        push(&queue, &sleep);
        // Shut down once the queue is empty (as the pool's terminate does): workers only
        // exit when they find no work, so both jobs must have been taken.
        while queue.load(Ordering::Acquire) != 0 {
            thread::yield_now();
        }
        done.store(true, Ordering::Release);
        sleep.wake_all();
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(ran.load(Ordering::Acquire), 2, "every pushed job ran");
    });
}

#[test]
fn loom_shutdown_racing_a_worker_falling_asleep_is_not_lost() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        let queue = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let worker = {
            let (sleep, queue, done) = (sleep.clone(), queue.clone(), done.clone());
            thread::spawn(move || worker_loop(0, &sleep, &queue, &done))
        };
        // `Registry::terminate`: set the flag, then wake everyone.
        done.store(true, Ordering::Release);
        sleep.wake_all();
        assert_eq!(worker.join().unwrap(), 0);
    });
}

/// Sets `latch` on another model thread, after a write, while this thread waits with `wait`:
/// the wait must return, and see the write.
fn set_elsewhere_while_waiting(latch: WakeLatch<'static>, wait: impl FnOnce(&WakeLatch<'_>)) {
    let latch = Arc::new(latch);
    let data = Arc::new(AtomicUsize::new(0));
    let setter = {
        let (latch, data) = (latch.clone(), data.clone());
        thread::spawn(move || {
            data.store(1, Ordering::Relaxed);
            // SAFETY: the latch is alive (an Arc) and set once.
            unsafe { WakeLatch::set(Arc::as_ptr(&latch)) }
        })
    };
    wait(&latch);
    assert!(latch.probe());
    assert_eq!(
        data.load(Ordering::Relaxed),
        1,
        "what the setter did before `set` is seen after the wait"
    );
    setter.join().unwrap();
}

#[test]
fn loom_latch_set_while_its_worker_waits_is_not_missed() {
    loom::model(|| {
        let (registry, mut deques) = Registry::for_model(&config(1, None, 0));
        let worker = spawn_worker(&registry, deques.pop().unwrap(), 0, |worker| {
            let registry = worker.registry();
            registry.sleep.register_current(0);
            // SAFETY: this worker holds the registry until the latch and its setter are gone.
            let sleep: &'static Sleep = unsafe { &*std::ptr::from_ref(&registry.sleep) };
            // A `join` whose second half was stolen: `WorkerThread::wait_for_latch`.
            set_elsewhere_while_waiting(WakeLatch::new(Owner::Worker(sleep, 0)), |latch| {
                latch.wait();
            });
        });
        worker.join().unwrap();
    });
}

#[test]
fn loom_latch_set_while_thread_owner_parks_wakes_it() {
    loom::model(|| {
        // A lost wake-up leaves this thread parked forever: loom reports the deadlock.
        set_elsewhere_while_waiting(WakeLatch::new(Owner::Thread(thread::current())), |latch| {
            latch.wait_blocking()
        });
    });
}
