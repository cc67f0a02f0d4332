//! `ThreadPool::stats`: every submitted job is counted in exactly one state, in every
//! snapshot, and a job is counted before its handle resolves.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{EXPECTED, block_all_workers, eventually, scaled, with_timeout};
use weft::{PoolStats, ThreadPool};

fn assert_adds_up(stats: &PoolStats) {
    assert_eq!(
        stats.completed + stats.panicked + stats.cancelled + stats.queued + stats.running,
        stats.submitted,
        "the invariant does not hold: {stats:?}"
    );
}

fn settled(pool: &ThreadPool) -> PoolStats {
    let mut stats = pool.stats();
    eventually("every submitted job is counted as done", || {
        stats = pool.stats();
        stats.queued == 0 && stats.running == 0
    });
    stats
}

#[test]
fn a_fresh_pool_has_zero_counts() {
    with_timeout(|| {
        let pool = ThreadPool::new(3).unwrap();
        let stats = pool.stats();
        assert_eq!(stats.num_threads, 3);
        assert_eq!(
            (
                stats.submitted,
                stats.completed,
                stats.panicked,
                stats.cancelled,
                stats.queued,
                stats.running
            ),
            (0, 0, 0, 0, 0, 0)
        );
        assert_eq!(stats.workers.len(), 3);
        for (i, worker) in stats.workers.iter().enumerate() {
            assert_eq!((worker.index, worker.jobs), (i, 0));
        }
    });
}

#[test]
fn stats_add_up_exactly_after_a_mixed_load() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let blockers = block_all_workers(&pool);
        let completing: Vec<_> = (0..30).map(|i| pool.spawn(move || i)).collect();
        let panicking: Vec<_> = (0..7)
            .map(|i| pool.spawn(move || -> u32 { panic!("{i} {EXPECTED}") }))
            .collect();
        let cancelled: Vec<_> = (0..5).map(|_| pool.spawn(|| 0u32)).collect();
        for handle in &cancelled {
            assert!(handle.cancel());
        }
        for i in 0..11 {
            if i % 3 == 0 {
                pool.execute(|| panic!("execute {EXPECTED}"));
            } else {
                pool.execute(|| ());
            }
        }
        let before_release = pool.stats();
        assert_adds_up(&before_release);
        assert_eq!(before_release.running, 2, "the blockers");
        assert_eq!(before_release.queued, 30 + 7 + 11);
        assert_eq!(before_release.cancelled, 5);

        for blocker in blockers {
            blocker.finish();
        }
        for handle in completing {
            handle.join().unwrap();
        }
        for handle in panicking {
            assert!(handle.join().unwrap_err().is_panic());
        }
        for handle in cancelled {
            assert!(handle.join().unwrap_err().is_cancelled());
        }
        let stats = settled(&pool);
        assert_adds_up(&stats);
        assert_eq!(stats.submitted, 2 + 30 + 7 + 5 + 11);
        assert_eq!(stats.completed, 2 + 30 + 7);
        assert_eq!(stats.panicked, 7 + 4);
        assert_eq!(stats.cancelled, 5);
        assert_eq!(stats.workers.len(), 2);
        let per_worker: u64 = stats.workers.iter().map(|w| w.jobs).sum();
        assert_eq!(per_worker, stats.completed + stats.panicked);
    });
}

#[test]
fn stats_include_a_job_as_soon_as_its_join_returns() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let (mut completed, mut panicked, mut cancelled) = (0u64, 0u64, 0u64);
        for round in 0..scaled(300) {
            pool.spawn(|| ()).join().unwrap();
            completed += 1;
            let stats = pool.stats();
            assert_eq!(stats.completed, completed, "round {round}: {stats:?}");

            pool.spawn(|| panic!("{EXPECTED}")).join().unwrap_err();
            panicked += 1;
            let stats = pool.stats();
            assert_eq!(stats.panicked, panicked, "round {round}: {stats:?}");

            // Whichever way the race with the worker goes, the count is there after join.
            let handle = pool.spawn(|| ());
            if handle.cancel() {
                cancelled += 1;
                assert!(handle.join().unwrap_err().is_cancelled());
            } else {
                completed += 1;
                handle.join().unwrap();
            }
            let stats = pool.stats();
            assert_eq!(
                (stats.completed, stats.panicked, stats.cancelled),
                (completed, panicked, cancelled),
                "round {round}: {stats:?}"
            );
            assert_adds_up(&stats);
        }
    });
}

#[test]
fn per_worker_job_counts_add_up_to_completed_and_panicked() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let handles: Vec<_> = (0..200)
            .map(|i| {
                pool.spawn(move || {
                    if i % 5 == 0 {
                        panic!("{EXPECTED}")
                    }
                })
            })
            .collect();
        for handle in handles {
            let _ = handle.join();
        }
        let stats = pool.stats();
        assert_eq!(stats.completed + stats.panicked, 200);
        assert_eq!(stats.workers.iter().map(|w| w.jobs).sum::<u64>(), 200);
        assert!(stats.workers.iter().enumerate().all(|(i, w)| w.index == i));
    });
}

#[test]
fn jobs_spawned_from_workers_are_counted() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let inner = Arc::clone(&pool);
        let outer = pool.spawn(move || {
            let handles: Vec<_> = (0..10).map(|i| inner.spawn(move || i)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
        });
        assert_eq!(outer.join().unwrap(), 45);
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (11, 11));
        assert_adds_up(&stats);
    });
}

#[test]
fn stats_survive_a_serde_json_round_trip() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        pool.spawn(|| ()).join().unwrap();
        pool.spawn(|| panic!("{EXPECTED}")).join().unwrap_err();
        let stats = pool.stats();
        let json = serde_json::to_string(&stats).unwrap();
        for field in [
            "submitted",
            "completed",
            "panicked",
            "cancelled",
            "queued",
            "running",
            "workers",
        ] {
            assert!(
                json.contains(&format!("\"{field}\"")),
                "{field} missing from {json}"
            );
        }
        let back: PoolStats = serde_json::from_str(&json).unwrap();
        assert_eq!(back, stats);
        let cloned = stats.clone();
        assert_eq!(format!("{cloned:?}"), format!("{stats:?}"));
    });
}

/// Loaders submit completing, panicking, cancelled, `execute`d and nested jobs from several
/// threads while this thread checks every snapshot it can take.
#[test]
fn the_invariant_holds_in_snapshots_taken_during_a_running_load() {
    with_timeout(|| {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let per_loader = scaled(3_000);
        let loaders: Vec<_> = (0..3)
            .map(|_| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    let mut handles = Vec::new();
                    for i in 0..per_loader {
                        match i % 8 {
                            0 => handles.push(pool.spawn(|| panic!("{EXPECTED}"))),
                            1 => {
                                let handle = pool.spawn(|| ());
                                handle.cancel();
                                handles.push(handle);
                            }
                            2 => pool.execute(|| ()),
                            3 => pool.execute(|| panic!("{EXPECTED}")),
                            4 => {
                                let inner = Arc::clone(&pool);
                                handles.push(pool.spawn(move || {
                                    inner.spawn(|| ()).join().unwrap();
                                }));
                            }
                            _ => handles.push(pool.spawn(|| ())),
                        }
                        if handles.len() > 64 {
                            for handle in handles.drain(..) {
                                let _ = handle.join();
                            }
                        }
                    }
                    for handle in handles {
                        let _ = handle.join();
                    }
                })
            })
            .collect();
        let watcher = {
            let pool = Arc::clone(&pool);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut previous = pool.stats();
                let mut snapshots = 0u64;
                while !done.load(Ordering::SeqCst) {
                    let stats = pool.stats();
                    assert_adds_up(&stats);
                    assert!(stats.submitted >= previous.submitted, "submitted went back");
                    assert!(stats.completed >= previous.completed, "completed went back");
                    assert!(stats.panicked >= previous.panicked, "panicked went back");
                    assert!(stats.cancelled >= previous.cancelled, "cancelled went back");
                    previous = stats;
                    snapshots += 1;
                }
                snapshots
            })
        };
        for loader in loaders {
            loader.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        assert!(watcher.join().unwrap() > 0);
        let stats = settled(&pool);
        assert_adds_up(&stats);
        // Nested jobs count too: one more per job of kind 4.
        let nested = (0..per_loader).filter(|i| i % 8 == 4).count() as u64 * 3;
        assert_eq!(stats.submitted, 3 * per_loader as u64 + nested);
    });
}
