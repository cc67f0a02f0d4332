//! The `weft-tune` binary end to end, with tiny settings: good runs produce the table, the
//! JSON report and the chart; bad input gets one clear line and a non-zero exit, never a
//! panic.

use std::path::PathBuf;
use std::process::{Command, Output};

fn weft_tune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft-tune"))
        .args(args)
        .output()
        .expect("the weft-tune binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A path in a fresh temporary directory of this test.
fn temp_path(test: &str, file: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-tune-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(file)
}

/// Asserts a usage error: exit code, one line on stderr naming the problem, no panic.
fn assert_one_line_error(output: &Output, code: i32, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "more than one line: {err}");
    assert!(err.starts_with("weft-tune: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(output).is_empty(), "no table on error");
}

#[test]
fn pool_size_zero_is_refused() {
    assert_one_line_error(&weft_tune(&["--sizes", "0"]), 2, "start at 1");
    assert_one_line_error(&weft_tune(&["--sizes", "0..=2"]), 2, "start at 1");
}

#[test]
fn a_backwards_range_of_sizes_is_refused() {
    assert_one_line_error(&weft_tune(&["--sizes", "3..1"]), 2, "3..1 is empty");
}

#[test]
fn sizes_that_are_not_numbers_are_refused() {
    assert_one_line_error(&weft_tune(&["--sizes", "two"]), 2, "not a pool size");
}

#[test]
fn an_unknown_workload_is_refused_with_the_known_ones() {
    assert_one_line_error(
        &weft_tune(&["merge"]),
        2,
        "expected one of: sum, sort, fib, tiny, spin",
    );
}

#[test]
fn zero_runs_are_refused() {
    assert_one_line_error(&weft_tune(&["--runs", "0"]), 2, "at least 1 timed run");
}

#[test]
fn an_unknown_flag_is_refused_in_one_line() {
    assert_one_line_error(&weft_tune(&["--frobnicate"]), 2, "--frobnicate");
}

#[test]
fn job_us_is_refused_for_other_workloads() {
    assert_one_line_error(
        &weft_tune(&["fib", "--job-us", "5"]),
        2,
        "only applies to the spin",
    );
}

#[test]
fn fib_too_large_is_refused() {
    assert_one_line_error(&weft_tune(&["fib", "--size", "200"]), 2, "at most 90");
}

#[test]
fn an_unwritable_json_path_fails_before_the_sweep() {
    let output = weft_tune(&["--json", "/nonexistent-dir/weft/report.json"]);
    assert_one_line_error(
        &output,
        1,
        "cannot write the --json file '/nonexistent-dir/weft/report.json'",
    );
}

#[test]
fn an_unwritable_svg_path_fails_and_leaves_no_json_behind() {
    let json = temp_path("unwritable-svg", "report.json");
    let output = weft_tune(&[
        "--json",
        json.to_str().unwrap(),
        "--svg",
        "/nonexistent-dir/weft/chart.svg",
    ]);
    assert_one_line_error(&output, 1, "cannot write the --svg file");
    assert!(!json.exists(), "the half-made JSON file was removed");
}

#[test]
fn help_lists_the_workloads_and_exits_zero() {
    let output = weft_tune(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for word in [
        "sum", "sort", "fib", "tiny", "spin", "--sizes", "--json", "--svg", "--job-us",
    ] {
        assert!(help.contains(word), "{word} missing from --help");
    }
}

#[test]
fn a_small_sweep_prints_the_table_and_writes_json_and_svg() {
    let json = temp_path("json-svg", "report.json");
    let svg = temp_path("json-svg", "chart.svg");
    let output = weft_tune(&[
        "tiny",
        "--size",
        "2000",
        "--sizes",
        "1..=2",
        "--runs",
        "3",
        "--warmup",
        "0",
        "--json",
        json.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let table = stdout(&output);
    assert!(table.contains("weft-tune: tiny"), "{table}");
    assert!(table.contains("logical cores"), "{table}");
    assert!(table.contains("sequential"), "{table}");
    assert!(table.contains("<- recommended"), "{table}");
    assert!(table.contains("recommendation: "), "{table}");
    // stderr is not a terminal here: no progress bar, only the two "wrote" lines.
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.contains("wrote the report") && err.contains("wrote the chart"),
        "{err}"
    );

    let report: weft_tune::Report =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report.workload, "tiny");
    assert_eq!(report.runs, 3);
    assert_eq!(report.items_per_run, Some(2000));
    assert_eq!(
        report.sizes.iter().map(|s| s.threads).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(
        report
            .sizes
            .iter()
            .all(|s| s.measurement.timing.samples_secs.len() == 3)
    );
    assert!(report.sequential.is_some());
    assert!(report.machine.logical_cores >= 1);

    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(
        chart.starts_with("<svg"),
        "{}",
        &chart[..chart.len().min(80)]
    );
    assert!(chart.contains("throughput") && chart.contains("efficiency"));
}

#[test]
fn every_built_in_workload_runs_at_a_tiny_size() {
    for args in [
        &["sum", "--size", "100000"][..],
        &["sort", "--size", "40000"],
        &["fib", "--size", "12"],
        &["tiny", "--size", "500"],
        &["spin", "--job-us", "5", "--size", "40"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--sizes", "1,2", "--runs", "2", "--warmup", "0"]);
        let output = weft_tune(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).contains("recommendation: "), "{args:?}");
    }
}

#[test]
fn without_sequential_there_is_no_sequential_row() {
    let output = weft_tune(&[
        "fib",
        "--size",
        "10",
        "--sizes",
        "2",
        "--runs",
        "1",
        "--no-sequential",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(!table.contains("sequential"), "{table}");
    // Only size 2 was asked for: one row, though 1 thread was measured as the reference.
    let rows = table
        .lines()
        .filter(|line| line.trim_start().starts_with(char::is_numeric))
        .count();
    assert_eq!(rows, 1, "{table}");
}
