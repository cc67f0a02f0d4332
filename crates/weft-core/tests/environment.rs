//! Process-wide settings: `WEFT_NUM_THREADS` and the global pool (`build_global`).
//!
//! Both are global to a process, so each scenario runs in a child process: the parent test
//! starts this very test binary again with the scenario's name and environment, and the
//! child runs only that scenario (an `#[ignore]`d test, which does nothing unless started
//! by its parent with `WEFT_TEST_CHILD` set).

mod common;

use std::process::Command;

use common::with_timeout;
use weft::{BuildError, MAX_THREADS, NUM_THREADS_ENV, ThreadPool, ThreadPoolBuilder};

/// Runs the ignored test `name` in a child process with `WEFT_NUM_THREADS` set to `value`
/// (removed when `None`) and fails unless it ran and passed.
fn run_child(name: &str, value: Option<&str>) {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args([name, "--exact", "--ignored", "--test-threads=1"])
        .env("WEFT_TEST_CHILD", "1");
    match value {
        Some(value) => command.env(NUM_THREADS_ENV, value),
        None => command.env_remove(NUM_THREADS_ENV),
    };
    let output = command
        .output()
        .expect("cannot start the child test process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child {name} with {NUM_THREADS_ENV}={value:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `true` in a child started by [`run_child`]; a child scenario run by hand does nothing.
fn in_child() -> bool {
    std::env::var_os("WEFT_TEST_CHILD").is_some()
}

#[test]
fn the_default_pool_size_honours_weft_num_threads() {
    with_timeout(|| run_child("child_default_size_is_three", Some("3")));
}

#[test]
#[ignore = "a child scenario: run by the_default_pool_size_honours_weft_num_threads"]
fn child_default_size_is_three() {
    if !in_child() {
        return;
    }
    assert_eq!(ThreadPool::builder().build().unwrap().num_threads(), 3);
    assert_eq!(
        ThreadPoolBuilder::default().build().unwrap().num_threads(),
        3
    );
    // An explicit size wins over the variable.
    assert_eq!(ThreadPool::new(2).unwrap().num_threads(), 2);
    // The global pool (behind `weft::join` outside any pool) takes it too.
    assert_eq!(weft::current_num_threads(), 3);
    weft::join(|| (), || ());
    assert_eq!(weft::current_num_threads(), 3);
}

#[test]
fn a_weft_num_threads_that_is_not_a_positive_number_is_an_error_naming_the_variable() {
    with_timeout(|| {
        for value in ["0", "-2", "three", "", "1.5", "99999999999999999999999"] {
            run_child("child_default_size_is_refused", Some(value));
        }
    });
}

#[test]
#[ignore = "a child scenario: run by a_weft_num_threads_that_is_not_a_positive_number_is_an_error_naming_the_variable"]
fn child_default_size_is_refused() {
    if !in_child() {
        return;
    }
    let value = std::env::var(NUM_THREADS_ENV).unwrap();
    match ThreadPool::builder().build() {
        Err(error @ BuildError::BadEnvironment { variable, .. }) => {
            assert_eq!(variable, "WEFT_NUM_THREADS");
            let message = error.to_string();
            assert!(message.contains("WEFT_NUM_THREADS"), "{message}");
            assert!(message.contains(&format!("{value:?}")), "{message}");
        }
        other => panic!("{NUM_THREADS_ENV}={value:?} was accepted: {other:?}"),
    }
    // An explicit size does not read the variable at all.
    assert_eq!(ThreadPool::new(1).unwrap().num_threads(), 1);
}

#[test]
fn a_weft_num_threads_past_the_limit_is_too_many_threads() {
    with_timeout(|| run_child("child_default_size_is_too_many", Some("100000")));
}

#[test]
#[ignore = "a child scenario: run by a_weft_num_threads_past_the_limit_is_too_many_threads"]
fn child_default_size_is_too_many() {
    if !in_child() {
        return;
    }
    let result = ThreadPool::builder().build();
    assert!(
        matches!(
            result,
            Err(BuildError::TooManyThreads {
                requested: 100_000,
                max: MAX_THREADS
            })
        ),
        "{result:?}"
    );
}

#[test]
fn more_threads_than_the_limit_is_a_too_many_threads_error() {
    let result = ThreadPool::new(MAX_THREADS + 1);
    assert!(
        matches!(result, Err(BuildError::TooManyThreads { requested, max })
            if requested == MAX_THREADS + 1 && max == MAX_THREADS),
        "{result:?}"
    );
    let message = ThreadPool::new(MAX_THREADS + 1).unwrap_err().to_string();
    assert!(message.contains(&MAX_THREADS.to_string()), "{message}");
}

#[test]
fn build_global_sizes_the_global_pool_once() {
    with_timeout(|| run_child("child_build_global", None));
}

#[test]
#[ignore = "a child scenario: run by build_global_sizes_the_global_pool_once"]
fn child_build_global() {
    if !in_child() {
        return;
    }
    ThreadPoolBuilder::new()
        .num_threads(3)
        .thread_name(|index| format!("my-global-{index}"))
        .build_global()
        .unwrap();
    assert_eq!(weft::current_num_threads(), 3);
    let names = weft::join(
        || std::thread::current().name().map(str::to_owned),
        weft::current_thread_index,
    );
    assert!(names.0.unwrap().starts_with("my-global-"));
    assert!(names.1.unwrap() < 3);
    let again = ThreadPoolBuilder::new().num_threads(1).build_global();
    assert!(matches!(again, Err(BuildError::GlobalExists)), "{again:?}");
    assert_eq!(weft::current_num_threads(), 3);
}

#[test]
fn build_global_after_the_global_pool_was_used_is_global_exists() {
    with_timeout(|| run_child("child_build_global_too_late", Some("2")));
}

#[test]
#[ignore = "a child scenario: run by build_global_after_the_global_pool_was_used_is_global_exists"]
fn child_build_global_too_late() {
    if !in_child() {
        return;
    }
    let (a, b) = weft::join(|| 1, || 2);
    assert_eq!(a + b, 3);
    let late = ThreadPoolBuilder::new().num_threads(1).build_global();
    assert!(matches!(late, Err(BuildError::GlobalExists)), "{late:?}");
    assert!(late.unwrap_err().to_string().contains("global"));
    assert_eq!(weft::current_num_threads(), 2);
}
