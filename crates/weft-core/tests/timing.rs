//! `record_timing`: wait and run time summaries of detached jobs in `PoolStats`, off by
//! default; and `PoolStats`' human summary (`Display`).

mod common;

use std::time::{Duration, Instant};

use common::{EXPECTED, block_all_workers, with_timeout};
use weft::{PoolStats, ThreadPool, Timing};

fn timed_pool(threads: usize) -> ThreadPool {
    ThreadPool::builder()
        .num_threads(threads)
        .record_timing(true)
        .build()
        .unwrap()
}

#[test]
fn record_timing_is_off_by_default() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        pool.spawn(|| ()).join().unwrap();
        let stats = pool.stats();
        assert_eq!((stats.wait_time, stats.run_time), (None, None));
        let off = ThreadPool::builder()
            .record_timing(false)
            .num_threads(1)
            .build();
        assert_eq!(off.unwrap().stats().run_time, None);
    });
}

#[test]
fn every_detached_job_that_ran_is_timed_once_and_structured_work_is_not() {
    with_timeout(|| {
        let pool = timed_pool(2);
        assert_eq!(
            pool.stats().run_time,
            Some(Timing::default()),
            "nothing yet"
        );
        let handles: Vec<_> = (0..200u64).map(|i| pool.spawn(move || i)).collect();
        for handle in handles {
            handle.join().unwrap();
        }
        pool.execute(|| ());
        pool.spawn(|| panic!("timed boom {EXPECTED}"))
            .join()
            .unwrap_err();
        // Structured work is not counted.
        pool.map(0..1000, |x| x);
        pool.join(|| (), || ());
        pool.scope(|s| {
            s.spawn(|| ());
        });
        // The executed job has no handle to wait on: wait until its run is recorded (a
        // snapshot reads the records without ordering against the job's end).
        common::eventually("the executed job was timed", || {
            pool.stats().run_time.unwrap().count >= 202
        });
        let stats = pool.stats();
        let (wait, run) = (stats.wait_time.unwrap(), stats.run_time.unwrap());
        assert_eq!(wait.count, 202);
        assert_eq!(run.count, 202);
        for timing in [wait, run] {
            assert!(timing.p50 <= timing.p90, "{timing:?}");
            assert!(timing.p90 <= timing.p99, "{timing:?}");
            assert!(timing.p99 <= timing.max, "{timing:?}");
            assert!(timing.mean <= timing.max, "{timing:?}");
        }
    });
}

#[test]
fn run_time_is_the_time_a_job_ran_by_the_system_clock() {
    with_timeout(|| {
        let pool = timed_pool(1);
        let outer = Instant::now();
        let inner = pool
            .spawn(|| {
                let start = Instant::now();
                std::thread::sleep(Duration::from_millis(20));
                start.elapsed()
            })
            .join()
            .unwrap();
        let outer = outer.elapsed();
        let run = pool.stats().run_time.unwrap();
        assert_eq!(run.count, 1);
        // The job's own measure is inside the recorded run, which is inside the caller's
        // (1% for the conversion of clock ticks to time).
        assert!(
            run.max.as_secs_f64() >= inner.as_secs_f64() * 0.99,
            "{run:?} vs {inner:?}"
        );
        assert!(
            run.max.as_secs_f64() <= outer.as_secs_f64() * 1.01,
            "{run:?} vs {outer:?}"
        );
        // A percentile is its bucket's midpoint: within 1/32 below the value.
        assert!(run.p50 >= Duration::from_millis(19), "{run:?}");
        assert!(run.p50 <= run.max, "{run:?}");
    });
}

#[test]
fn wait_time_covers_the_time_a_job_was_queued() {
    with_timeout(|| {
        let pool = timed_pool(1);
        let blockers = block_all_workers(&pool);
        let queued = pool.spawn(|| ());
        std::thread::sleep(Duration::from_millis(30));
        for blocker in blockers {
            blocker.finish();
        }
        queued.join().unwrap();
        let wait = pool.stats().wait_time.unwrap();
        assert_eq!(wait.count, 2, "the blocker and the queued job");
        assert!(wait.max >= Duration::from_millis(30), "{wait:?}");
    });
}

#[test]
fn jobs_that_never_started_are_not_timed() {
    with_timeout(|| {
        let pool = timed_pool(1);
        let blockers = block_all_workers(&pool);
        let cancelled = pool.spawn(|| ());
        assert!(cancelled.cancel());
        let expired = pool
            .job()
            .queue_timeout(Duration::from_millis(1))
            .spawn(|| ());
        assert!(expired.join().unwrap_err().is_timed_out());
        for blocker in blockers {
            blocker.finish();
        }
        let stats = pool.stats();
        assert_eq!(
            stats.wait_time.unwrap().count,
            1,
            "only the blocker started"
        );
        assert_eq!(stats.run_time.unwrap().count, 1);
    });
}

#[test]
fn stats_with_timings_survive_a_serde_round_trip() {
    with_timeout(|| {
        let pool = timed_pool(2);
        pool.spawn(|| ()).join().unwrap();
        let stats = pool.stats();
        let json = serde_json::to_string(&stats).unwrap();
        let back: PoolStats = serde_json::from_str(&json).unwrap();
        assert_eq!(back, stats);
        assert!(json.contains("\"wait_time\":{\"count\":1"), "{json}");
        // Stats written before these fields existed still read.
        let old = r#"{"num_threads":1,"submitted":0,"completed":0,"panicked":0,"cancelled":0,
            "queued":0,"running":0,"steals":0,"sleeping":0,"workers":[]}"#;
        let old: PoolStats = serde_json::from_str(old).unwrap();
        assert_eq!((old.wait_time, old.uptime), (None, Duration::ZERO));
    });
}

#[test]
fn display_summarises_counts_utilisation_and_timings() {
    with_timeout(|| {
        let pool = timed_pool(2);
        for _ in 0..3 {
            pool.spawn(|| ()).join().unwrap();
        }
        pool.spawn(|| panic!("shown boom {EXPECTED}"))
            .join()
            .unwrap_err();
        let text = pool.stats().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("pool of 2 threads, up "), "{text}");
        assert!(
            lines[0].contains("4 submitted, 3 completed, 1 panicked, 0 cancelled, 0 timed out"),
            "{text}"
        );
        assert!(lines[1].starts_with("threads awake "), "{text}");
        assert!(lines[1].contains("% of the time"), "{text}");
        assert!(lines[2].starts_with("wait: 4 jobs, mean "), "{text}");
        assert!(lines[3].starts_with("run:  4 jobs, mean "), "{text}");
        for part in ["p50 ", "p90 ", "p99 ", "max "] {
            assert!(lines[2].contains(part) && lines[3].contains(part), "{text}");
        }

        // Without timings: two lines.
        let plain = ThreadPool::new(1).unwrap();
        plain.spawn(|| ()).join().unwrap();
        let text = plain.stats().to_string();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains("wait:"), "{text}");
    });
}

#[test]
fn display_of_a_made_up_snapshot_reads_as_expected() {
    // Fields not named keep their defaults (zero, `None`).
    let stats = PoolStats {
        num_threads: 4,
        submitted: 10,
        completed: 7,
        panicked: 1,
        cancelled: 1,
        running: 1,
        steals: 5,
        sleeping: 3,
        spare_threads: 1,
        uptime: Duration::from_secs(2),
        workers: (0..4)
            .map(|index| weft::WorkerStats {
                index,
                busy: Duration::from_secs(1),
                ..Default::default()
            })
            .collect(),
        run_time: Some(Timing {
            count: 8,
            mean: Duration::from_micros(1500),
            p50: Duration::from_nanos(812),
            p90: Duration::from_micros(61),
            p99: Duration::from_millis(12),
            max: Duration::from_secs(3),
        }),
        ..Default::default()
    };
    assert_eq!(
        stats.to_string(),
        "pool of 4 threads, up 2.00 s: 10 submitted, 7 completed, 1 panicked, 1 cancelled, \
         0 timed out, 0 queued, 1 running\n\
         threads awake 50% of the time; 5 steals; 3 asleep now; spare threads: 1 started, \
         0 running\n\
         run:  8 jobs, mean 1.50 ms, p50 812 ns, p90 61.0 us, p99 12.0 ms, max 3.00 s"
    );
    assert_eq!(stats.utilisation(), Some(0.5));
}
