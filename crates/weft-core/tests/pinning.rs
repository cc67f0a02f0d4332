//! `pin_threads(true)`: worker `i` runs only on the `i`-th CPU (wrapping) of the CPUs this
//! process may run on, which is its affinity mask, not every CPU of the machine; the CPU
//! shows in `PoolStats.workers[i].cpu`.
//!
//! What a thread may run on is read back from the kernel (`Cpus_allowed_list` in
//! `/proc/thread-self/status`), so the tests check the pinning itself, not only the stats.
//! One test runs this binary again under `taskset` to give it a one-CPU mask. (The OS
//! refusing to pin is provoked in `src/engine/lifecycle.rs`'s unit tests, with a CPU that
//! does not exist: a real process mask cannot be made to refuse without root.)
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

use common::with_timeout;
use weft::ThreadPool;

/// The CPUs the calling thread may run on, as the kernel lists them.
fn allowed_cpus_of_this_thread() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .expect("a Cpus_allowed_list line")
        .trim();
    let mut cpus = Vec::new();
    for range in list.split(',') {
        match range.split_once('-') {
            Some((first, last)) => {
                cpus.extend(first.parse::<usize>().unwrap()..=last.parse().unwrap());
            }
            None => cpus.push(range.parse().unwrap()),
        }
    }
    cpus
}

/// Builds a pinned pool of `threads` and checks each worker against `allowed`: its stats
/// name `allowed[i % len]`, and the kernel lets it run there and nowhere else. Returns the
/// CPUs the stats reported.
fn check_pinned_pool(threads: usize, allowed: &[usize]) -> Vec<Option<usize>> {
    let pool = ThreadPool::builder()
        .num_threads(threads)
        .pin_threads(true)
        .build()
        .unwrap();
    let expected: Vec<Option<usize>> = (0..threads)
        .map(|i| Some(allowed[i % allowed.len()]))
        .collect();
    let reported: Vec<Option<usize>> = pool.stats().workers.iter().map(|w| w.cpu).collect();
    assert_eq!(reported, expected, "stats: the i-th allowed CPU, wrapping");
    let masks = pool.broadcast(|_| allowed_cpus_of_this_thread());
    let expected_masks: Vec<Vec<usize>> = expected.iter().map(|cpu| vec![cpu.unwrap()]).collect();
    assert_eq!(
        masks, expected_masks,
        "each worker may run on its CPU alone"
    );
    reported
}

#[test]
fn a_pinned_pool_puts_worker_i_on_the_ith_allowed_cpu_wrapping_around() {
    with_timeout(|| {
        let allowed = allowed_cpus_of_this_thread();
        // As many workers as allowed CPUs (all distinct), then one more (it wraps).
        let pool_size = allowed.len();
        let cpus = check_pinned_pool(pool_size, &allowed);
        let distinct: std::collections::BTreeSet<_> = cpus.iter().collect();
        assert_eq!(distinct.len(), pool_size, "one CPU per worker: {cpus:?}");
        let cpus = check_pinned_pool(pool_size + 1, &allowed);
        assert_eq!(
            cpus[pool_size], cpus[0],
            "the extra worker wraps onto the first CPU"
        );
    });
}

#[test]
fn an_unpinned_pool_reports_no_cpu_and_keeps_the_process_mask() {
    with_timeout(|| {
        let allowed = allowed_cpus_of_this_thread();
        let pool = ThreadPool::new(2).unwrap();
        assert!(pool.stats().workers.iter().all(|w| w.cpu.is_none()));
        assert_eq!(
            pool.broadcast(|_| allowed_cpus_of_this_thread()),
            vec![allowed.clone(), allowed]
        );
    });
}

/// A pinned pool's jobs, hooks and shutdown work as usual; the start hook already runs on
/// the pinned CPU.
#[test]
fn a_pinned_pool_runs_its_start_hook_on_the_pinned_cpu() {
    with_timeout(|| {
        let allowed = allowed_cpus_of_this_thread();
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let pool = ThreadPool::builder()
            .num_threads(2)
            .pin_threads(true)
            .on_thread_start(move |index| {
                let mask = allowed_cpus_of_this_thread();
                tx.lock().unwrap().send((index, mask)).unwrap();
            })
            .build()
            .unwrap();
        let mut seen: Vec<_> = rx.iter().take(2).collect();
        seen.sort();
        let expected: Vec<_> = (0..2)
            .map(|i| (i, vec![allowed[i % allowed.len()]]))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(pool.map(0..100u32, |x| x * 2)[99], 198);
        pool.shutdown();
    });
}

/// The mask, not the machine: this test binary is run again under `taskset -c CPU` (one
/// allowed CPU), where a three-thread pinned pool puts every worker on that CPU.
#[test]
fn under_taskset_with_one_cpu_every_pinned_worker_wraps_onto_it() {
    let cpu = allowed_cpus_of_this_thread()[0];
    let exe = std::env::current_exe().unwrap();
    let output = match Command::new("taskset")
        .args(["-c", &cpu.to_string()])
        .arg(&exe)
        .args([
            "--ignored",
            "--exact",
            "pinned_pool_in_a_child_process_follows_its_mask",
            "--test-threads=1",
        ])
        .env("WEFT_PIN_CHILD_EXPECTS", cpu.to_string())
        .output()
    {
        Ok(output) => output,
        Err(error) => {
            eprintln!("`taskset` cannot run here ({error}); nothing checked");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "the child ran the test:\n{stdout}"
    );
}

/// The child of the test above (ignored in normal runs; it also holds in a normal process:
/// it checks the pool against whatever mask the process has).
#[test]
#[ignore = "run by under_taskset_with_one_cpu_every_pinned_worker_wraps_onto_it in a child process"]
fn pinned_pool_in_a_child_process_follows_its_mask() {
    with_timeout(|| {
        let allowed = allowed_cpus_of_this_thread();
        if let Ok(expected) = std::env::var("WEFT_PIN_CHILD_EXPECTS") {
            assert_eq!(
                allowed,
                vec![expected.parse::<usize>().unwrap()],
                "taskset's mask"
            );
        }
        check_pinned_pool(3, &allowed);
    });
}

/// A spare thread (slot `num_threads` and up) is pinned by the same rule: the
/// `index`-th allowed CPU, wrapping.
#[test]
fn a_spare_thread_of_a_pinned_pool_is_pinned_by_its_slot_index() {
    with_timeout(|| {
        let allowed = allowed_cpus_of_this_thread();
        let pool = std::sync::Arc::new(
            ThreadPool::builder()
                .num_threads(1)
                .pin_threads(true)
                .build()
                .unwrap(),
        );
        let inner_pool = std::sync::Arc::clone(&pool);
        // Waiting with a deadline on a queued job of its own pool: a spare runs that job.
        let outer = pool.spawn(move || {
            let inner =
                inner_pool.spawn(|| (weft::current_thread_index(), allowed_cpus_of_this_thread()));
            inner
                .join_timeout(std::time::Duration::from_secs(20))
                .expect("a spare ran it in time")
                .unwrap()
        });
        let (index, mask) = outer.join().unwrap();
        assert_eq!(index, Some(1), "run by the first spare");
        assert_eq!(mask, vec![allowed[1 % allowed.len()]]);
    });
}
