//! A job scheduler, not only a pool (issue 11): priority lanes, run timeouts, queue timeouts
//! and names, through `pool.job()`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::{DropCounter, EXPECTED, block_one_worker, eventually, with_timeout};
use weft::{JobError, JobHandle, PoolStats, Priority, ThreadPool};

/// `submitted == completed + panicked + cancelled + timed_out + queued + running`.
fn assert_adds_up(stats: &PoolStats) {
    assert_eq!(
        stats.completed
            + stats.panicked
            + stats.cancelled
            + stats.timed_out
            + stats.queued
            + stats.running,
        stats.submitted,
        "{stats:?}"
    );
}

/// Records the order in which jobs start.
#[derive(Clone, Default)]
struct StartOrder(Arc<Mutex<Vec<String>>>);

impl StartOrder {
    fn job(&self, label: String) -> impl FnOnce() + Send + 'static {
        let order = self.clone();
        move || order.0.lock().unwrap().push(label)
    }

    fn get(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn label(priority: Priority, i: usize) -> String {
    format!("{priority:?}{i}")
}

#[test]
fn queued_jobs_start_by_lane_high_then_normal_then_low_and_in_submission_order_within_one() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let blocker = block_one_worker(&pool);
        let order = StartOrder::default();
        let mut handles = Vec::new();
        for i in 0..4 {
            for priority in [Priority::Low, Priority::Normal, Priority::High] {
                handles.push(
                    pool.job()
                        .priority(priority)
                        .spawn(order.job(label(priority, i))),
                );
            }
        }
        blocker.finish();
        for handle in handles {
            handle.join().unwrap();
        }
        let expected: Vec<String> = [Priority::High, Priority::Normal, Priority::Low]
            .into_iter()
            .flat_map(|priority| (0..4).map(move |i| label(priority, i)))
            .collect();
        assert_eq!(order.get(), expected);
    });
}

#[test]
fn jobs_submitted_from_a_worker_thread_follow_the_lanes_too() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let order = StartOrder::default();
        let (inner_pool, inner_order) = (Arc::clone(&pool), order.clone());
        let handles = pool
            .spawn(move || {
                // Submitted from the only worker thread, which is busy until this returns.
                [
                    Priority::Low,
                    Priority::Normal,
                    Priority::High,
                    Priority::Normal,
                ]
                .into_iter()
                .enumerate()
                .map(|(i, priority)| {
                    inner_pool
                        .job()
                        .priority(priority)
                        .spawn(inner_order.job(label(priority, i)))
                })
                .collect::<Vec<_>>()
            })
            .join()
            .unwrap();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(order.get(), ["High2", "Normal1", "Normal3", "Low0"]);
    });
}

#[test]
fn a_high_job_from_outside_overtakes_normal_jobs_a_worker_queued_itself() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let order = StartOrder::default();
        let (release, gate) = mpsc::channel::<()>();
        let (queued_tx, queued_rx) = mpsc::channel();
        let (inner_pool, inner_order) = (Arc::clone(&pool), order.clone());
        let outer = pool.spawn(move || {
            let normal: Vec<_> = (0..3)
                .map(|i| inner_pool.spawn(inner_order.job(label(Priority::Normal, i))))
                .collect();
            queued_tx.send(()).unwrap();
            gate.recv().unwrap();
            normal
        });
        queued_rx.recv().unwrap();
        let high = pool
            .job()
            .priority(Priority::High)
            .spawn(order.job("High".into()));
        release.send(()).unwrap();
        for handle in outer.join().unwrap() {
            handle.join().unwrap();
        }
        high.join().unwrap();
        assert_eq!(order.get(), ["High", "Normal0", "Normal1", "Normal2"]);
    });
}

#[test]
fn a_low_job_waits_while_higher_lanes_hold_queued_jobs() {
    with_timeout(|| {
        const NORMAL: usize = 50;
        let pool = ThreadPool::new(2).unwrap();
        let blockers = common::block_all_workers(&pool);
        let started = Arc::new(AtomicUsize::new(0));
        let seen_by_low = {
            let started = Arc::clone(&started);
            pool.job()
                .priority(Priority::Low)
                .spawn(move || started.load(Ordering::SeqCst))
        };
        let normal: Vec<JobHandle<()>> = (0..NORMAL)
            .map(|_| {
                let started = Arc::clone(&started);
                pool.spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_micros(200));
                })
            })
            .collect();
        for blocker in blockers {
            blocker.finish();
        }
        // When the Low job starts, every Normal job has been taken from the queues: all have
        // started but at most one per other worker thread, taken and not yet started.
        let seen = seen_by_low.join().unwrap();
        assert!(
            seen >= NORMAL - 1,
            "the Low job started with {seen} of {NORMAL} Normal jobs started"
        );
        for handle in normal {
            handle.join().unwrap();
        }
    });
}

#[test]
fn a_job_that_returns_before_its_timeout_is_ok() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.job().timeout(Duration::from_secs(30)).spawn(|| 5);
        assert_eq!(handle.join().unwrap(), 5);
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.timed_out), (1, 0));
        assert_adds_up(&stats);
    });
}

#[test]
fn a_run_timeout_resolves_the_handle_at_the_deadline_and_drops_the_late_value_once() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let drops = DropCounter::new();
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let (finished_tx, finished_rx) = mpsc::channel();
        let handle = {
            let (token, saw_cancel) = (drops.token(), Arc::clone(&saw_cancel));
            pool.job()
                .timeout(Duration::from_millis(20))
                .spawn(move || {
                    let start = Instant::now();
                    while !weft::is_cancelled() && start.elapsed() < Duration::from_secs(20) {
                        thread::sleep(Duration::from_millis(1));
                    }
                    saw_cancel.store(weft::is_cancelled(), Ordering::SeqCst);
                    // The late value: dropped by the pool, exactly once.
                    thread::sleep(Duration::from_millis(30));
                    finished_tx.send(()).unwrap();
                    token
                })
        };
        let start = Instant::now();
        let outcome = handle.join();
        let waited = start.elapsed();
        assert!(matches!(outcome, Err(JobError::TimedOut)), "{outcome:?}");
        assert!(waited < Duration::from_secs(5), "join waited {waited:?}");
        finished_rx.recv().unwrap();
        eventually("the late value was dropped", || drops.get() == 1);
        assert!(
            saw_cancel.load(Ordering::SeqCst),
            "is_cancelled() turned true"
        );
        thread::sleep(Duration::from_millis(20));
        assert_eq!(drops.get(), 1, "dropped exactly once");
        let stats = pool.stats();
        assert_eq!((stats.timed_out, stats.completed, stats.running), (1, 0, 0));
        assert_adds_up(&stats);
    });
}

#[test]
fn a_job_still_running_past_its_timeout_counts_as_timed_out_not_running() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (release, gate) = mpsc::channel::<()>();
        let handle = pool
            .job()
            .timeout(Duration::from_millis(10))
            .spawn(move || gate.recv().unwrap());
        assert!(handle.join().unwrap_err().is_timed_out());
        let stats = pool.stats();
        assert_eq!((stats.timed_out, stats.running), (1, 0), "{stats:?}");
        assert_adds_up(&stats);
        release.send(()).unwrap();
    });
}

#[test]
fn a_panic_after_the_deadline_is_not_counted_as_panicked() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.job().timeout(Duration::from_millis(10)).spawn(|| {
            while !weft::is_cancelled() {
                thread::sleep(Duration::from_millis(1));
            }
            panic!("late {EXPECTED}");
        });
        assert!(handle.join().unwrap_err().is_timed_out());
        // One more job on the only worker runs after the late panic: it proves the worker
        // survived it, and that it went uncounted.
        assert_eq!(pool.spawn(|| 1).join().unwrap(), 1);
        let stats = pool.stats();
        assert_eq!(
            (stats.panicked, stats.timed_out, stats.completed),
            (0, 1, 1)
        );
        assert_adds_up(&stats);
    });
}

#[test]
fn a_run_timeout_wakes_a_blocked_join_timeout_and_an_await_on_other_threads() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let spawn_stuck = || {
            let gate = Arc::clone(&gate);
            pool.job()
                .timeout(Duration::from_millis(20))
                .spawn(move || {
                    let _ = gate.lock().unwrap().recv();
                })
        };
        let first = spawn_stuck();
        let start = Instant::now();
        let outcome = first
            .join_timeout(Duration::from_secs(20))
            .expect("resolved");
        assert!(outcome.unwrap_err().is_timed_out());
        assert!(start.elapsed() < Duration::from_secs(5));
        release.send(()).unwrap();
        let second = spawn_stuck();
        let outcome = common::block_on(second);
        assert!(outcome.unwrap_err().is_timed_out());
        release.send(()).unwrap();
    });
}

#[test]
fn a_waiter_that_runs_the_job_itself_returns_timed_out_when_the_job_returns() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let inner_pool = Arc::clone(&pool);
        let outer = pool.spawn(move || {
            let inner = inner_pool
                .job()
                .timeout(Duration::from_millis(10))
                .spawn(|| {
                    // Runs until its timeout fired, then a little longer.
                    while !weft::is_cancelled() {
                        thread::sleep(Duration::from_millis(1));
                    }
                    thread::sleep(Duration::from_millis(40));
                    Instant::now()
                });
            // Still queued on the only thread: the waiter runs it itself.
            let outcome = inner.join();
            (outcome, Instant::now())
        });
        let (outcome, joined_at) = outer.join().unwrap();
        assert!(outcome.is_err_and(|error| error.is_timed_out()));
        let _ = joined_at;
    });
}

#[test]
fn a_queue_timeout_expires_a_job_that_did_not_start_and_frees_its_queue_place() {
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(1)
            .max_queued(1)
            .build()
            .unwrap();
        let blocker = block_one_worker(&pool);
        let drops = DropCounter::new();
        let ran = Arc::new(AtomicBool::new(false));
        let expiring = {
            let (token, ran) = (drops.token(), Arc::clone(&ran));
            pool.job()
                .queue_timeout(Duration::from_millis(20))
                .spawn(move || {
                    let _token = token;
                    ran.store(true, Ordering::SeqCst);
                })
        };
        assert!(
            pool.try_spawn(|| ()).is_err(),
            "the one queue place is taken"
        );
        // The worker is still busy: the timer expires the job without it.
        let outcome = expiring.join();
        assert!(matches!(outcome, Err(JobError::TimedOut)), "{outcome:?}");
        assert_eq!(drops.get(), 1, "its closure was dropped when it expired");
        let next = pool
            .try_spawn(|| 9)
            .expect("the place was freed at that moment");
        blocker.finish();
        assert_eq!(next.join().unwrap(), 9);
        assert!(!ran.load(Ordering::SeqCst), "an expired job never runs");
        let stats = pool.stats();
        assert_eq!(stats.timed_out, 1);
        assert_adds_up(&stats);
    });
}

#[test]
fn a_job_that_starts_in_time_is_not_touched_by_its_queue_timeout() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let deadline = Duration::from_millis(500);
        let submitted = Instant::now();
        // Runs on past its queue deadline: once started, the queue timeout no longer applies.
        let handle = pool.job().queue_timeout(deadline).spawn(move || {
            while submitted.elapsed() < deadline + Duration::from_millis(200) {
                thread::sleep(Duration::from_millis(5));
            }
            3
        });
        assert_eq!(handle.join().unwrap(), 3);
        assert_eq!(pool.stats().timed_out, 0);
    });
}

#[test]
fn a_cancel_before_the_queue_timeout_wins_and_the_timer_then_does_nothing() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let blocker = block_one_worker(&pool);
        let drops = DropCounter::new();
        let token = drops.token();
        let handle = pool
            .job()
            .queue_timeout(Duration::from_millis(20))
            .spawn(move || drop(token));
        assert!(handle.cancel());
        thread::sleep(Duration::from_millis(40));
        assert!(handle.join().unwrap_err().is_cancelled());
        assert_eq!(drops.get(), 1);
        blocker.finish();
        let stats = pool.stats();
        assert_eq!((stats.cancelled, stats.timed_out), (1, 0));
        assert_adds_up(&stats);
    });
}

#[test]
fn cancelling_a_running_job_with_a_run_timeout_still_ends_in_timed_out() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let (release, gate) = mpsc::channel::<()>();
        let handle = pool
            .job()
            .timeout(Duration::from_millis(30))
            .spawn(move || {
                started_tx.send(()).unwrap();
                gate.recv().unwrap();
            });
        started_rx.recv().unwrap();
        assert!(!handle.cancel(), "running: only asked to stop");
        assert!(handle.join().unwrap_err().is_timed_out());
        release.send(()).unwrap();
    });
}

#[test]
fn the_name_is_on_the_handle_and_a_named_panic_keeps_its_payload() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let named = pool.job().name("report #7").spawn(|| 1);
        assert_eq!(named.name(), Some("report #7"));
        assert!(format!("{named:?}").contains("report #7"));
        assert_eq!(named.join().unwrap(), 1);
        assert_eq!(pool.spawn(|| ()).name(), None);
        #[derive(Debug, PartialEq)]
        struct Payload(u32);
        let panicked = pool
            .job()
            .name("panics")
            .spawn(|| std::panic::panic_any(Payload(42)));
        let payload = panicked.join().unwrap_err().into_panic();
        assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(42)));
    });
}

#[test]
fn try_spawn_through_the_builder_hands_the_closure_back_when_full() {
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(1)
            .max_queued(1)
            .build()
            .unwrap();
        let blocker = block_one_worker(&pool);
        let queued = pool.job().priority(Priority::Low).try_spawn(|| 1).unwrap();
        let refused = pool
            .job()
            .priority(Priority::High)
            .try_spawn(|| 2)
            .unwrap_err();
        assert_eq!((refused.into_inner())(), 2);
        blocker.finish();
        assert_eq!(queued.join().unwrap(), 1);
    });
}

#[test]
fn a_worker_job_can_have_a_name_and_a_run_timeout() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let worker = pool
            .job()
            .name("echo")
            .timeout(Duration::from_millis(50))
            .spawn_worker(|ctx: weft::WorkerContext<u32, u32>| {
                while let Ok(n) = ctx
                    .recv_timeout(Duration::from_millis(5))
                    .or_else(|_| if weft::is_cancelled() { Err(()) } else { Ok(0) })
                {
                    if n > 0 {
                        ctx.send(n * 2).unwrap();
                    }
                }
            });
        worker.send(21).unwrap();
        assert_eq!(worker.recv().unwrap(), 42);
        assert!(worker.join().unwrap_err().is_timed_out());
    });
}

#[test]
fn timed_jobs_by_the_thousand_all_end_and_the_counts_add_up() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2_000u64)
            .map(|i| {
                let (token, ran) = (drops.token(), Arc::clone(&ran));
                let job = move || {
                    let _token = token;
                    ran.fetch_add(1, Ordering::SeqCst);
                    if i % 7 == 0 {
                        thread::sleep(Duration::from_millis(2));
                    }
                    i
                };
                let builder = pool.job().priority(match i % 3 {
                    0 => Priority::High,
                    1 => Priority::Normal,
                    _ => Priority::Low,
                });
                match i % 4 {
                    0 => builder.timeout(Duration::from_millis(1)).spawn(job),
                    1 => builder.queue_timeout(Duration::from_millis(3)).spawn(job),
                    2 => builder
                        .timeout(Duration::from_millis(1))
                        .queue_timeout(Duration::from_millis(2))
                        .spawn(job),
                    _ => builder.spawn(job),
                }
            })
            .collect();
        let mut outcomes = [0u64; 2];
        for (i, handle) in handles.into_iter().enumerate() {
            match handle.join() {
                Ok(value) => {
                    assert_eq!(value, i as u64);
                    outcomes[0] += 1;
                }
                Err(JobError::TimedOut) => outcomes[1] += 1,
                Err(other) => panic!("job {i}: {other:?}"),
            }
            assert_adds_up(&pool.stats());
        }
        eventually("every closure was dropped once", || drops.get() == 2_000);
        let stats = pool.stats();
        assert_eq!(stats.submitted, 2_000);
        assert_eq!(stats.completed, outcomes[0]);
        assert_eq!(stats.timed_out, outcomes[1]);
        assert_adds_up(&stats);
        thread::sleep(Duration::from_millis(20));
        assert_eq!(drops.get(), 2_000, "and only once");
    });
}

#[test]
fn stats_with_timed_out_serialise_and_come_back() {
    let pool = ThreadPool::new(1).unwrap();
    let handle = pool.job().timeout(Duration::from_millis(1)).spawn(|| {
        while !weft::is_cancelled() {
            thread::sleep(Duration::from_millis(1));
        }
    });
    assert!(handle.join().is_err());
    let stats = pool.stats();
    let json = serde_json::to_string(&stats).unwrap();
    assert!(json.contains("\"timed_out\":1"), "{json}");
    let back: PoolStats = serde_json::from_str(&json).unwrap();
    assert_eq!(back.timed_out, 1);
}
