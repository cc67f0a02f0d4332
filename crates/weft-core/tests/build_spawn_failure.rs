//! A thread-spawn failure after some workers already started: `BuildError::Spawn` names the
//! worker that could not start, and the workers started before it are stopped and joined.
//!
//! The OS is made to refuse worker 1 (and only it) by lowering this process's address-space
//! limit (`RLIMIT_AS`, through the `prlimit` tool) from the `thread_name` callback, which
//! runs just before each worker is spawned; the limit is restored right after. That limit
//! holds for the whole process, so this test lives alone in its own test binary. Worker 0
//! is given time to start completely before the limit drops (a thread that is still
//! starting needs memory for its signal stack).
#![cfg(target_os = "linux")]

mod common;

use std::error::Error;
use std::process::Command;

use weft::{BuildError, ThreadPool};

/// Stack per worker: worker 0 gets it, worker 1 cannot once the limit is lowered.
const STACK: usize = 1 << 30;

/// Room left under the lowered limit for small allocations (malloc arenas, the `prlimit`
/// child), well below [`STACK`].
const HEADROOM: u64 = 256 << 20;

fn prlimit_as(limit: &str) -> bool {
    Command::new("prlimit")
        .args([
            "--pid",
            &std::process::id().to_string(),
            &format!("--as={limit}"),
        ])
        .status()
        .is_ok_and(|status| status.success())
}

fn virtual_size_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn spawn_failure_of_a_later_worker_names_it_and_stops_the_started_ones() {
    if !prlimit_as("unlimited:unlimited") {
        eprintln!("`prlimit` is not available here; nothing checked");
        return;
    }
    common::with_timeout(|| {
        let result = ThreadPool::builder()
            .num_threads(3)
            .stack_size(STACK)
            .thread_name(|index| {
                if index == 1 {
                    // Worker 0 must be fully started first (its signal stack is allocated
                    // before it names itself).
                    common::eventually("worker 0 runs", || common::threads_named("spfail-0") == 1);
                    let limit = virtual_size_bytes() + HEADROOM;
                    assert!(prlimit_as(&format!("{limit}:")), "prlimit failed");
                }
                format!("spfail-{index}")
            })
            .build();
        assert!(
            prlimit_as("unlimited:"),
            "could not restore the address-space limit"
        );
        let error = match result {
            Err(error) => error,
            Ok(_) => panic!("worker 1 started despite the address-space limit"),
        };
        let BuildError::Spawn { index, .. } = &error else {
            panic!("expected BuildError::Spawn, got {error:?}");
        };
        assert_eq!(*index, 1);
        assert!(
            error.to_string().contains('1'),
            "Display names the index: {error}"
        );
        assert!(error.source().is_some());
        // Worker 0 was stopped and joined (a joined thread may stay listed for a moment).
        common::assert_no_thread_named("spfail-");
    });
}
