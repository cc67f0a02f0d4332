//! Building a pool: sizes, names, stacks, and the errors of settings that cannot work.

mod common;

use std::error::Error;
use std::sync::{Arc, Mutex};

use common::{EXPECTED, expect_panic, with_timeout};
use weft::{BuildError, MIN_STACK_SIZE, ThreadPool, ThreadPoolBuilder};

#[test]
fn new_with_zero_threads_is_a_zero_threads_error() {
    assert!(matches!(ThreadPool::new(0), Err(BuildError::ZeroThreads)));
}

#[test]
fn builder_with_zero_threads_is_a_zero_threads_error() {
    let result = ThreadPool::builder().num_threads(0).build();
    assert!(matches!(result, Err(BuildError::ZeroThreads)));
}

#[test]
fn max_queued_zero_is_a_zero_max_queued_error() {
    let result = ThreadPool::builder().num_threads(1).max_queued(0).build();
    assert!(matches!(result, Err(BuildError::ZeroMaxQueued)));
}

#[test]
fn build_errors_have_a_display_and_are_std_errors() {
    fn assert_error<E: Error + Send + Sync + 'static>(_: &E) {}
    for error in [
        BuildError::ZeroThreads,
        BuildError::ZeroMaxQueued,
        BuildError::GlobalExists,
        BuildError::TooManyThreads {
            requested: 2000,
            max: 1024,
        },
        BuildError::BadEnvironment {
            variable: "WEFT_NUM_THREADS",
            value: "x".into(),
        },
        BuildError::ThreadStart {
            index: 3,
            message: "boom".into(),
        },
        BuildError::StackTooSmall {
            requested: 1,
            min: MIN_STACK_SIZE,
        },
        BuildError::ThreadName {
            index: 0,
            name: "a\0b".into(),
        },
    ] {
        assert_error(&error);
        assert!(!error.to_string().is_empty());
        assert!(error.source().is_none());
        assert!(!format!("{error:?}").is_empty());
    }
}

#[test]
fn new_starts_the_number_of_threads_asked_for() {
    with_timeout(|| {
        let pool = ThreadPool::new(3).unwrap();
        assert_eq!(pool.num_threads(), 3);
        assert_eq!(pool.broadcast(|index| index), vec![0, 1, 2]);
    });
}

#[test]
fn more_threads_than_cores_all_start_and_run() {
    with_timeout(|| {
        let pool = ThreadPool::new(32).unwrap();
        assert_eq!(pool.broadcast(|index| index), (0..32).collect::<Vec<_>>());
    });
}

#[test]
fn default_size_is_num_cpus() {
    with_timeout(|| {
        // `WEFT_NUM_THREADS` (tests/environment.rs) takes precedence when set.
        let expected = std::env::var("WEFT_NUM_THREADS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(num_cpus::get);
        assert_eq!(
            ThreadPool::builder().build().unwrap().num_threads(),
            expected
        );
        assert_eq!(
            ThreadPoolBuilder::new().build().unwrap().num_threads(),
            expected
        );
        assert_eq!(
            ThreadPoolBuilder::default().build().unwrap().num_threads(),
            expected
        );
    });
}

#[test]
fn default_thread_names_are_weft_worker_index() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let names = pool.broadcast(|_| std::thread::current().name().map(str::to_owned));
        assert_eq!(
            names,
            vec![
                Some("weft-worker-0".to_owned()),
                Some("weft-worker-1".to_owned())
            ]
        );
    });
}

#[test]
fn thread_name_names_each_worker_by_its_index() {
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(3)
            .thread_name(|index| format!("cruncher-{index}"))
            .build()
            .unwrap();
        let names = pool.broadcast(|_| std::thread::current().name().map(str::to_owned));
        let expected: Vec<_> = (0..3).map(|i| Some(format!("cruncher-{i}"))).collect();
        assert_eq!(names, expected);
    });
}

#[test]
fn thread_name_is_called_once_per_index_in_order() {
    with_timeout(|| {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        let pool = ThreadPool::builder()
            .num_threads(4)
            .thread_name(move |index| {
                recorded.lock().unwrap().push(index);
                format!("named-{index}")
            })
            .build()
            .unwrap();
        assert_eq!(*calls.lock().unwrap(), vec![0, 1, 2, 3]);
        drop(pool);
    });
}

#[test]
fn a_custom_stack_size_runs_jobs() {
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(2)
            .stack_size(8 << 20)
            .build()
            .unwrap();
        // Deep enough recursion to need more than a tiny stack, well within 8 MiB.
        fn depth(n: u64) -> u64 {
            let pad = std::hint::black_box([n; 64]);
            if n == 0 { pad[0] } else { 1 + depth(n - 1) }
        }
        assert_eq!(pool.spawn(|| depth(2000)).join().unwrap(), 2000);
    });
}

#[test]
fn builder_is_debug() {
    let builder = ThreadPool::builder()
        .num_threads(2)
        .thread_name(|i| format!("x{i}"));
    let text = format!("{builder:?}");
    assert!(text.contains("num_threads"), "{text}");
}

/// 64 TiB of stack per thread: the kernel refuses the first one here (overcommit heuristic
/// mode, 23 GiB of RAM); on a machine that accepts it, the test says so and checks nothing.
#[test]
fn absurd_stack_size_is_a_spawn_error_naming_the_index() {
    with_timeout(|| {
        let result = ThreadPool::builder()
            .num_threads(3)
            .thread_name(|index| format!("absurd-{index}"))
            .stack_size(1 << 46)
            .build();
        let error = match result {
            Err(error) => error,
            Ok(_) => {
                eprintln!("this machine accepted a 64 TiB thread stack; nothing checked");
                return;
            }
        };
        let BuildError::Spawn { index, source } = &error else {
            panic!("expected BuildError::Spawn, got {error:?}");
        };
        assert_eq!(*index, 0, "the first thread already cannot start");
        let text = error.to_string();
        assert!(
            text.contains(&index.to_string()),
            "Display names the index: {text}"
        );
        assert!(
            text.contains(&source.to_string()),
            "Display names the cause: {text}"
        );
        assert!(error.source().is_some(), "the io::Error is the source");
        #[cfg(target_os = "linux")]
        common::assert_no_thread_named("absurd-");
    });
}

/// Regression for: a panic while building (a `thread_name` callback that panics) unwinds
/// out of `Registry::spawn` without terminating the workers already started, which then
/// sleep forever.
#[test]
#[cfg(target_os = "linux")]
fn panic_during_build_leaves_no_worker_thread_behind() {
    with_timeout(|| {
        let payload = expect_panic(|| {
            ThreadPool::builder()
                .num_threads(3)
                .thread_name(|index| {
                    if index == 1 {
                        panic!("no name for worker 1 {EXPECTED}");
                    }
                    format!("leaky-{index}")
                })
                .build()
        });
        assert!(common::panic_text(&*payload).unwrap().contains("no name"));
        let limit = std::time::Duration::from_secs(10);
        common::eventually_within(limit, "worker 0 of the failed build exits", || {
            common::threads_named("leaky-") == 0
        });
    });
}

/// Regression for: `stack_size(0)` and `stack_size(1)` silently gave 16 KiB stacks, which a
/// job panicking with `RUST_BACKTRACE=1` overflows (the process aborts).
#[test]
fn stack_sizes_below_the_minimum_are_a_stack_too_small_error() {
    for requested in [0, 1, 16 << 10, MIN_STACK_SIZE - 1] {
        let result = ThreadPool::builder()
            .num_threads(1)
            .stack_size(requested)
            .build();
        match result {
            Err(BuildError::StackTooSmall { requested: r, min }) => {
                assert_eq!((r, min), (requested, MIN_STACK_SIZE));
                let error = BuildError::StackTooSmall { requested: r, min };
                let text = error.to_string();
                assert!(
                    text.contains(&min.to_string()) && text.contains(&r.to_string()),
                    "{text}"
                );
            }
            other => panic!("stack_size({requested}): expected StackTooSmall, got {other:?}"),
        }
    }
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(1)
            .stack_size(MIN_STACK_SIZE)
            .build()
            .unwrap();
        assert_eq!(pool.spawn(|| 3).join().unwrap(), 3);
    });
}

/// The minimum is enough for the worst case it is there for: a job that panics while
/// `RUST_BACKTRACE` is set, so the panic hook resolves and prints a backtrace on the
/// worker's stack (more than 24 and at most 32 KiB here; 16 KiB, what `stack_size(0)` used
/// to give, overflows). The environment variable is read once per process, so a child
/// process runs the check.
#[test]
fn a_job_panicking_with_rust_backtrace_does_not_overflow_the_smallest_stack() {
    let exe = std::env::current_exe().unwrap();
    for backtrace in ["1", "full"] {
        let output = std::process::Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "panicking_job_on_the_smallest_stack_in_a_child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RUST_BACKTRACE", backtrace)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "RUST_BACKTRACE={backtrace}: the child failed ({:?}):\n{stdout}\n{stderr}",
            output.status
        );
        assert!(
            stdout.contains("1 passed"),
            "the child ran the test: {stdout}"
        );
        // Optimised builds inline the test's closure away: its name is only in a debug
        // build's backtrace.
        assert!(
            stderr.contains("stack backtrace:")
                && (stderr.contains("panicking_job_on") || !cfg!(debug_assertions)),
            "the backtrace was printed and resolved: {stderr}"
        );
    }
}

/// The child of the test above: no hang guard thread of its own in the way, the job's panic
/// printed by the default hook (its message is not marked as expected).
#[test]
#[ignore = "run by a_job_panicking_with_rust_backtrace_does_not_overflow_the_smallest_stack"]
fn panicking_job_on_the_smallest_stack_in_a_child_process() {
    with_timeout(|| {
        let pool = ThreadPool::builder()
            .num_threads(1)
            .stack_size(MIN_STACK_SIZE)
            .build()
            .unwrap();
        for _ in 0..2 {
            let error = pool
                .spawn(|| -> u8 { panic!("a deliberate panic, to print a backtrace") })
                .join()
                .unwrap_err();
            assert!(error.is_panic());
        }
        assert_eq!(pool.spawn(|| 1).join().unwrap(), 1, "the worker survived");
    });
}

/// Regression for: a NUL byte in a thread name made `build()` panic (inside
/// `std::thread::Builder::spawn`).
#[test]
fn a_nul_byte_in_a_thread_name_is_a_thread_name_error_naming_the_index() {
    with_timeout(|| {
        let result = ThreadPool::builder()
            .num_threads(3)
            .thread_name(|index| {
                if index == 1 {
                    "bad\0name".to_owned()
                } else {
                    format!("nulname-{index}")
                }
            })
            .build();
        let error = match result {
            Err(error) => error,
            Ok(_) => panic!("a name with a NUL byte was accepted"),
        };
        let BuildError::ThreadName { index, name } = &error else {
            panic!("expected BuildError::ThreadName, got {error:?}");
        };
        assert_eq!((*index, name.as_str()), (1, "bad\0name"));
        let text = error.to_string();
        assert!(text.contains("thread 1") && text.contains("NUL"), "{text}");
        // Worker 0 had started: it was stopped and joined.
        common::assert_threads_gone("nulname-");
    });
}
