//! loom models of the pool's synchronisation, each named for the failure it guards against.
//!
//! Run with:
//! `RUSTFLAGS="--cfg weft_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p weft-core --lib loom`

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use crate::engine::latch::{Latch, Owner, WakeLatch};
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

#[test]
fn loom_latch_set_while_owner_falls_asleep_wakes_it() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        // The owner is worker 0 of `sleep`: its latch lives on the worker's side.
        let worker = {
            let sleep = sleep.clone();
            thread::spawn(move || {
                sleep.register_current(0);
                // SAFETY: `sleep` (an Arc held by this thread) outlives the latch: the setter
                // thread is joined below, before this thread lets go of `sleep`.
                let sleep_ref: &'static Sleep = unsafe { &*Arc::as_ptr(&sleep) };
                let latch = Arc::new(WakeLatch::new(Owner::Worker(sleep_ref, 0)));
                let setter = {
                    let latch = latch.clone();
                    thread::spawn(move || {
                        // SAFETY: the latch is alive (an Arc) and set once.
                        unsafe { WakeLatch::set(Arc::as_ptr(&latch)) }
                    })
                };
                // `WorkerThread::wait_until` once it found nothing else to run.
                while !latch.probe() {
                    if !latch.get_sleepy() {
                        break;
                    }
                    sleep.sleep(0, None, || latch.probe());
                }
                assert!(latch.probe());
                setter.join().unwrap();
            })
        };
        worker.join().unwrap();
    });
}

#[test]
fn loom_latch_set_while_thread_owner_parks_wakes_it() {
    loom::model(|| {
        let latch = Arc::new(WakeLatch::new(Owner::Thread(thread::current())));
        let setter = {
            let latch = latch.clone();
            thread::spawn(move || {
                // SAFETY: the latch is alive (an Arc) and set once.
                unsafe { WakeLatch::set(Arc::as_ptr(&latch)) }
            })
        };
        latch.wait_blocking();
        assert!(latch.probe());
        setter.join().unwrap();
    });
}

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// What the handle side does while a model worker thread pops and runs the job.
#[derive(Clone, Copy, Debug)]
enum HandleAction {
    Join,
    JoinTimeoutZero,
    Drop,
    Cancel,
    /// Two threads cancel through the same handle (`cancel` takes `&self`).
    CancelTwice,
}

/// One detached job popped by a model worker thread while the handle does `action`; checks
/// that the closure and the result are each dropped exactly once, the block is freed
/// exactly once, and the outcome is consistent.
fn job_vs_handle(action: HandleAction) {
    use crate::engine::registry::Registry;
    use crate::engine::worker::WorkerThread;
    use crate::handle::RawHandle;
    use crate::job::Tree;
    use crate::job::heap::{Detached, HeapJob};

    loom::model(move || {
        let (registry, mut deques) = Registry::for_model(1);
        let closure_drops = Arc::new(AtomicUsize::new(0));
        let result_drops = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicBool::new(false));
        let func = {
            let guard = Counted(closure_drops.clone());
            let result = Counted(result_drops.clone());
            let ran = ran.clone();
            move || {
                let _guard = guard;
                ran.store(true, Ordering::Release);
                result
            }
        };
        type Func = Box<dyn FnOnce() -> Counted + Send>;
        let func: Func = Box::new(func);
        let core = HeapJob::<Func, Counted, Detached>::allocate(func, Detached, &registry, true);
        // SAFETY: freshly allocated; the job ref is executed once below, the handle is the one
        // receiver.
        let (job, handle) = unsafe {
            (
                HeapJob::<Func, Counted, Detached>::job_ref(core, Tree::OUTSIDE),
                RawHandle::new(core),
            )
        };
        let worker = {
            let registry = registry.clone();
            let deques = deques.pop().unwrap();
            thread::spawn(move || {
                WorkerThread::run_as_model_worker(registry, deques, 0, |worker| {
                    worker.execute(job)
                });
            })
        };
        let outcome = match action {
            HandleAction::Join => Some(handle.join().is_ok()),
            HandleAction::JoinTimeoutZero => match handle.join_timeout(std::time::Duration::ZERO) {
                Ok(result) => Some(result.is_ok()),
                Err(handle) => {
                    drop(handle);
                    None
                }
            },
            HandleAction::Drop => {
                drop(handle);
                None
            }
            HandleAction::Cancel => {
                let cancelled = handle.cancel();
                let result = handle.join();
                assert_eq!(cancelled, result.is_err(), "cancel() and join() disagree");
                Some(result.is_ok())
            }
            HandleAction::CancelTwice => {
                let handle = Arc::new(handle);
                let other = {
                    let handle = handle.clone();
                    thread::spawn(move || handle.cancel())
                };
                let mine = handle.cancel();
                let theirs = other.join().unwrap();
                let handle = Arc::try_unwrap(handle)
                    .ok()
                    .expect("the other thread let go");
                let result = handle.join();
                assert_eq!(mine, theirs, "two cancels of one handle disagree");
                assert_eq!(mine, result.is_err(), "cancel() and join() disagree");
                Some(result.is_ok())
            }
        };
        worker.join().unwrap();
        assert_eq!(
            crate::job::heap::LIVE_JOBS.with(std::cell::Cell::get),
            0,
            "the job's block was freed exactly once"
        );
        assert_eq!(
            closure_drops.load(Ordering::Acquire),
            1,
            "closure dropped once"
        );
        let ran = ran.load(Ordering::Acquire);
        // Returned by the job, or (cancelled) dropped with the closure that captured it.
        assert_eq!(
            result_drops.load(Ordering::Acquire),
            1,
            "result dropped once"
        );
        if let Some(ok) = outcome {
            assert_eq!(ok, ran, "join saw a value exactly when the job ran");
        }
    });
}

#[test]
fn loom_result_published_while_handle_joins_is_received_once() {
    job_vs_handle(HandleAction::Join);
}

#[test]
fn loom_result_racing_join_timeout_is_freed_once() {
    job_vs_handle(HandleAction::JoinTimeoutZero);
}

#[test]
fn loom_result_racing_handle_drop_is_freed_once() {
    job_vs_handle(HandleAction::Drop);
}

#[test]
fn loom_cancel_racing_start_runs_or_cancels_exactly_once() {
    job_vs_handle(HandleAction::Cancel);
}

#[test]
fn loom_two_cancels_of_one_handle_racing_start_agree() {
    job_vs_handle(HandleAction::CancelTwice);
}
