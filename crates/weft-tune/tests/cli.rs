//! The `weft-tune` binary end to end, with tiny settings: good runs produce the table, the
//! JSON report and the chart; bad input gets one clear line and a non-zero exit before
//! anything runs, never a panic; `exec` sweeps a real weft program; an interrupted or failed
//! run never destroys an earlier report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_weft-tune");

fn weft_tune(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("WEFT_NUM_THREADS")
        .output()
        .expect("the weft-tune binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh, empty temporary directory for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-tune-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_report(path: &Path) -> weft_tune::Report {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts a one-line error: exit code, one line on stderr naming the problem, no panic, no
/// table.
fn assert_one_line_error(output: &Output, code: i32, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "more than one line: {err}");
    assert!(err.starts_with("weft-tune: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(output).is_empty(), "no table on error");
}

/// Runs weft-tune with `args` and asserts a one-line error with exit `code` that says each
/// of `needles`.
fn assert_error_says(args: &[&str], code: i32, needles: &[&str]) {
    let output = weft_tune(args);
    assert_one_line_error(&output, code, needles[0]);
    let err = stderr(&output);
    for needle in &needles[1..] {
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    }
}

/// Asserts a refusal that came before any run: a one-line usage error, quickly.
fn assert_refused_at_once(args: &[&str], needle: &str) {
    let start = Instant::now();
    let output = weft_tune(args);
    assert_one_line_error(&output, 2, needle);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{args:?} took {:?}: it ran something before refusing",
        start.elapsed()
    );
}

/// Asserts that `dir` holds exactly `files`, each with its old content: nothing was
/// overwritten and no temporary file was left behind.
fn assert_untouched(dir: &Path, files: &[(&Path, &str)]) {
    for (path, content) in files {
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            *content,
            "{}",
            path.display()
        );
    }
    let entries = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(entries, files.len(), "no temporary file is left");
}

/// Small, fast sweep settings.
const QUICK: [&str; 6] = ["--sizes", "1,2", "--runs", "2", "--warmup", "0"];

/// `QUICK` first, so that it stays before an exec's `--`.
fn quick(args: &[&str]) -> Vec<String> {
    QUICK
        .iter()
        .chain(args)
        .map(|arg| (*arg).to_owned())
        .collect()
}

/// A quick sweep of `args` that writes `NAME.json` and `NAME.svg` into a fresh directory;
/// returns the output, the report and the chart.
fn quick_with_files(name: &str, args: &[&str]) -> (Output, weft_tune::Report, String) {
    let dir = temp_dir(name);
    let (json, svg) = (
        dir.join(format!("{name}.json")),
        dir.join(format!("{name}.svg")),
    );
    let mut args = quick(args);
    args.extend(["--json".to_owned(), json.display().to_string()]);
    args.extend(["--svg".to_owned(), svg.display().to_string()]);
    let output = run_ok(&args);
    let temporary: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temporary.is_empty(), "temporary files left: {temporary:?}");
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(
        chart.starts_with("<svg"),
        "{}",
        &chart[..chart.len().min(80)]
    );
    (output, read_report(&json), chart)
}

fn run_ok(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = weft_tune(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr(&output)
    );
    output
}

/// Asserts each `(arguments, what the error says)` is refused at once.
fn assert_all_refused(cases: &[(&[&str], &str)]) {
    for (args, needle) in cases {
        assert_refused_at_once(args, needle);
    }
}

#[test]
fn a_workload_size_of_zero_is_refused_for_every_workload() {
    for workload in ["sum", "sort", "fib", "tiny", "spin"] {
        assert_refused_at_once(&[workload, "-n", "0"], "leaves nothing to time");
    }
}

#[test]
fn bad_numbers_are_refused_and_a_stray_negative_one_keeps_clap_s_tip() {
    assert_all_refused(&[
        (&["--sizes", "0"], "start at 1"),
        (&["--sizes", "0..=2"], "start at 1"),
        (&["--sizes", "3..1"], "3..1 is empty"),
        (&["--sizes", "two"], "not a pool size"),
        (&["--runs", "0"], "at least 1 timed run"),
        (&["--size", "-5"], "'-5' is negative"),
        (&["-n", "-5"], "'-5' is negative"),
        (&["--runs", "-1"], "'-1' is negative"),
        (&["--sizes", "-2"], "'-2' is negative"),
        (&["spin", "--job-us", "-10"], "'-10' is negative"),
        (&["--tolerance", "-3"], "'-3' is negative"),
        (&["sum", "-5"], "tip: to pass '-5' as a value"),
    ]);
}

#[test]
fn unknown_names_and_misplaced_options_are_refused() {
    assert_all_refused(&[
        (
            &["merge"],
            "expected one of: sum, sort, fib, tiny, spin, exec",
        ),
        (&["--frobnicate"], "--frobnicate"),
        (&["fib", "--job-us", "5"], "only applies to the spin"),
        (&["exec"], "exec needs a command after `--`"),
        (&["sum", "--", "ls"], "is for exec"),
        (
            &["exec", "-n", "5", "--", "ls"],
            "--size does not apply to exec",
        ),
        (
            &["exec", "--pin", "--", "ls"],
            "--pin does not apply to exec",
        ),
    ]);
}

#[test]
fn workloads_beyond_the_machine_are_refused_with_an_estimate() {
    assert_all_refused(&[
        (&["fib", "--size", "200"], "at most 92"),
        (&["sum", "-n", "1e14"], "more than --max-minutes 10"),
        (&["tiny", "-n", "1e13"], "of memory"),
        (&["fib", "--once", "-n", "80"], "one run"),
    ]);
}

#[test]
fn a_fib_that_would_run_for_ages_is_refused_with_an_estimate() {
    // fib(90) would take centuries; the estimate comes from timing fib(24). The error names
    // the largest n that fits.
    assert_error_says(
        &["fib", "-n", "90"],
        2,
        &["would run for at least", "years", "fits"],
    );
}

#[test]
fn a_sort_larger_than_memory_is_refused_with_the_amount() {
    assert_error_says(
        &["sort", "-n", "1e11"],
        2,
        &["needs about 3.2 TB of memory", "available"],
    );
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
    let json = temp_dir("unwritable-svg").join("report.json");
    let output = weft_tune(&[
        "--json",
        json.to_str().unwrap(),
        "--svg",
        "/nonexistent-dir/weft/chart.svg",
    ]);
    assert_one_line_error(&output, 1, "cannot write the --svg file");
    assert!(!json.exists(), "nothing was written");
    let left: Vec<_> = std::fs::read_dir(json.parent().unwrap()).unwrap().collect();
    assert!(left.is_empty(), "no temporary file is left: {left:?}");
}

#[test]
fn help_lists_the_workloads_and_exits_zero() {
    let output = weft_tune(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for word in [
        "sum",
        "sort",
        "fib",
        "tiny",
        "spin",
        "exec",
        "WEFT_NUM_THREADS",
        "--sizes",
        "--json",
        "--svg",
        "--job-us",
        "--once",
        "--timeout",
        "--pin",
    ] {
        assert!(help.contains(word), "{word} missing from --help");
    }
}

#[test]
fn a_small_sweep_prints_the_table_and_writes_json_and_svg() {
    let (output, report, chart) =
        quick_with_files("json-svg", &["tiny", "--size", "2000", "--tolerance", "7"]);
    let table = stdout(&output);
    for needle in [
        "weft-tune: tiny",
        "logical cores",
        "shuffled order",
        "limit:",
        "sequential",
        "interval",
        "<- recommended",
        "recommendation: ",
        "95% interval",
        "contention: ",
    ] {
        assert!(table.contains(needle), "{needle:?} missing: {table}");
    }
    // stderr is not a terminal here: a plain line per round, then the two "wrote" lines.
    let err = stderr(&output);
    let rounds = err.lines().filter(|line| line.contains("round")).count();
    assert_eq!(rounds, 2, "{err}");
    assert!(err.contains("to go"), "{err}");
    assert!(
        err.contains("wrote the report") && err.contains("wrote the chart"),
        "{err}"
    );

    let raw = serde_json::to_value(&report).unwrap();
    assert_eq!(raw["schema_version"], weft_tune::SCHEMA_VERSION);
    assert_eq!(raw["weft_version"], env!("CARGO_PKG_VERSION"));
    assert!(raw["created_utc"].as_str().unwrap().ends_with('Z'));
    assert!(raw["contention"]["warnings"].is_array());
    let command_line = raw["command_line"].as_array().unwrap();
    assert!(
        command_line.iter().any(|arg| arg == "--tolerance"),
        "{command_line:?}"
    );
    let pick = &raw["series"][0]["recommendation"];
    assert_eq!(
        pick["tolerance_percent"], 7.0,
        "the tolerance as the CLI takes it"
    );
    assert!(pick["speedup"]["ci95"]["low"].is_number());

    assert_eq!((report.workload.as_str(), report.runs), ("tiny", 2));
    let series = report.primary();
    assert_eq!(series.items_per_run, Some(2000));
    let sizes: Vec<usize> = series.sizes.iter().map(|s| s.threads).collect();
    assert_eq!(sizes, [1, 2]);
    assert!(
        series
            .sizes
            .iter()
            .all(|s| s.measurement.timing.samples_secs.len() == 2 && s.limit_speedup.is_some())
    );
    assert!(series.sequential.is_some() && report.calibration.is_some());
    for label in [
        "ideal",
        "limit",
        "speed-up over 1 pool thread",
        "p10-p90",
        "recommended",
    ] {
        assert!(chart.contains(label), "{label} missing from the chart");
    }
}

#[test]
fn every_built_in_workload_runs_at_a_tiny_size() {
    for args in [
        &["sum", "--size", "100000"][..],
        &["sort", "--size", "40000"],
        &["fib", "--size", "14"],
        &["tiny", "--size", "500"],
        &["spin", "--job-us", "5", "--size", "40"],
    ] {
        let mut args = quick(args);
        args.push("--no-calibration".to_owned());
        let output = run_ok(&args);
        assert!(stdout(&output).contains("recommendation: "), "{args:?}");
    }
}

#[test]
fn without_sequential_there_is_no_sequential_row() {
    let output = run_ok(
        &[
            "fib",
            "--size",
            "12",
            "--sizes",
            "2",
            "--runs",
            "1",
            "--no-sequential",
            "--no-calibration",
        ]
        .map(str::to_owned),
    );
    let table = stdout(&output);
    assert!(
        !table
            .lines()
            .any(|line| line.trim_start().starts_with("sequential")),
        "{table}"
    );
    assert!(!table.contains("vs sequential"), "{table}");
    // Only size 2 was asked for: one row, though 1 thread was measured as the reference.
    let rows = table
        .lines()
        .filter(|line| line.trim_start().starts_with(char::is_numeric))
        .count();
    assert_eq!(rows, 1, "{table}");
}

#[test]
fn a_job_size_sweep_reports_the_break_even_job_size() {
    let args: Vec<&str> = "spin --job-us 200,2 --size 30 --no-calibration"
        .split(' ')
        .collect();
    let (output, report, chart) = quick_with_files("break-even", &args);
    let table = stdout(&output);
    assert!(table.contains("break-even job size: "), "{table}");
    assert!(
        table.contains("2 us jobs") && table.contains("200 us jobs"),
        "{table}"
    );
    let job_sizes: Vec<Option<u64>> = report.series.iter().map(|s| s.job_us).collect();
    assert_eq!(
        job_sizes,
        [Some(2), Some(200)],
        "one series per job size, smallest first"
    );
    let break_even = report.break_even.expect("a break-even for two job sizes");
    assert_eq!(break_even.job_sizes.len(), 2);
    assert!(chart.contains("2 us jobs") && chart.contains("200 us jobs"));
    assert!(chart.contains("break-even"));
}

#[test]
fn a_pinned_sweep_is_reported_beside_the_unpinned_one() {
    let (output, report, chart) =
        quick_with_files("pin", &["fib", "--size", "16", "--pin", "--no-calibration"]);
    let table = stdout(&output);
    assert!(table.contains("recommendation (unpinned): "), "{table}");
    assert!(table.contains("recommendation (pinned): "), "{table}");
    assert!(table.contains("vs unpinned"), "{table}");
    let labels: Vec<(&str, bool)> = report
        .series
        .iter()
        .map(|s| (s.label.as_str(), s.pinned))
        .collect();
    assert_eq!(labels, [("unpinned", false), ("pinned", true)]);
    let [unpinned, pinned] = &report.series[..] else {
        panic!("two series");
    };
    assert!(
        unpinned
            .sizes
            .iter()
            .all(|s| s.speedup_vs_unpinned.is_none())
    );
    assert!(pinned.sizes.iter().all(|s| s.speedup_vs_unpinned.is_some()));
    assert_eq!(pinned.sizes.len(), 2);
    assert!(chart.contains("pinned: speed-up over 1 pool thread"));
}

#[test]
fn once_runs_on_weft_s_default_pool_sized_by_the_environment() {
    let output = Command::new(BIN)
        .args(["sum", "--once", "-n", "100000"])
        .env("WEFT_NUM_THREADS", "3")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let line = stdout(&output);
    assert!(
        line.contains("pool of 3 threads (WEFT_NUM_THREADS=3)") && line.contains("right"),
        "{line}"
    );
    let output = Command::new(BIN)
        .args(["sum", "--once", "-n", "1000"])
        .env("WEFT_NUM_THREADS", "zero")
        .output()
        .unwrap();
    assert_one_line_error(&output, 1, "WEFT_NUM_THREADS");
}

#[test]
fn exec_sweeps_a_real_weft_program() {
    // The weft program: weft-tune itself, running one sum on weft's default pool, whose
    // size comes from WEFT_NUM_THREADS.
    let json = temp_dir("exec").join("exec.json");
    let mut args = quick(&["exec", "--json", json.to_str().unwrap(), "--", BIN]);
    args.extend(["sum", "--once", "-n", "2000000"].map(str::to_owned));
    let output = run_ok(&args);
    let table = stdout(&output);
    assert!(table.contains("weft-tune: exec"), "{table}");
    assert!(table.contains("recommendation: "), "{table}");
    assert!(
        !table.contains("vs sequential"),
        "a program has no sequential row: {table}"
    );
    let report = read_report(&json);
    assert_eq!(report.workload, "exec");
    assert!(
        report.description.contains("sum --once"),
        "{}",
        report.description
    );
    let series = report.primary();
    assert_eq!(
        series.sizes.iter().map(|s| s.threads).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(series.sequential.is_none());
    assert!(series.items_per_run.is_none());
    assert!([1, 2].contains(&series.recommendation.threads));
    assert!(
        series
            .sizes
            .iter()
            .all(|s| s.measurement.timing.min_secs > 0.0)
    );
}

#[test]
fn exec_passes_each_pool_size_in_the_environment_round_by_round() {
    let log = temp_dir("exec-env").join("sizes.log");
    let script = format!("echo \"$WEFT_NUM_THREADS\" >> '{}'", log.display());
    run_ok(
        &[
            "exec",
            "--sizes",
            "1..=3",
            "--runs",
            "3",
            "--warmup",
            "1",
            "--no-calibration",
            "--",
            "sh",
            "-c",
            &script,
        ]
        .map(str::to_owned),
    );
    let sizes: Vec<u32> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect();
    assert_eq!(sizes.len(), 12, "4 rounds of 3 sizes: {sizes:?}");
    for round in sizes.chunks(3) {
        let mut sorted = round.to_vec();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [1, 2, 3],
            "every round runs every size once: {sizes:?}"
        );
    }
}

#[test]
fn exec_of_a_failing_command_stops_with_its_status_and_last_words() {
    let script = "echo starting >&2; echo 'no such input file' >&2; exit 3";
    assert_error_says(
        &[
            "exec",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--no-calibration",
            "--",
            "sh",
            "-c",
            script,
        ],
        1,
        &[
            "failed with WEFT_NUM_THREADS=",
            "exit status: 3",
            "no such input file",
        ],
    );
}

#[test]
fn exec_of_a_missing_program_is_one_line() {
    let output = weft_tune(&["exec", "--runs", "1", "--", "/nonexistent/weft-program"]);
    assert_one_line_error(&output, 1, "cannot run '/nonexistent/weft-program'");
}

#[test]
fn exec_stops_a_run_that_outlives_the_timeout() {
    let start = Instant::now();
    let output = weft_tune(&[
        "exec",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--sizes",
        "1",
        "--no-calibration",
        "--timeout",
        "0.3",
        "--",
        "sleep",
        "20",
    ]);
    assert_one_line_error(&output, 1, "ran longer than 0.3 s");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_failed_run_keeps_the_earlier_report() {
    let dir = temp_dir("failed-keeps");
    let json = dir.join("report.json");
    std::fs::write(&json, "the earlier report\n").unwrap();
    let output = weft_tune(&[
        "exec",
        "--runs",
        "1",
        "--json",
        json.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "exit 1",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_untouched(&dir, &[(&json, "the earlier report\n")]);
}

#[test]
fn an_interrupted_run_keeps_the_earlier_report() {
    let dir = temp_dir("interrupted-keeps");
    let (json, svg) = (dir.join("report.json"), dir.join("chart.svg"));
    std::fs::write(&json, "the earlier report\n").unwrap();
    std::fs::write(&svg, "<svg>the earlier chart</svg>\n").unwrap();
    // A sweep of several seconds, killed (SIGKILL: nothing runs after it) well before its end;
    // no --max-minutes refusal, however slow this build and this machine.
    let mut child = Command::new(BIN)
        .args([
            "sum",
            "-n",
            "1e9",
            "--sizes",
            "1",
            "--runs",
            "3",
            "--max-minutes",
            "1e6",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--svg")
        .arg(&svg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the sweep was still running"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_untouched(
        &dir,
        &[
            (&json, "the earlier report\n"),
            (&svg, "<svg>the earlier chart</svg>\n"),
        ],
    );
}

#[test]
fn a_busy_machine_is_reported_as_contention_in_the_table_and_the_json() {
    // Two spinning threads in this test process compete with the sweep for the cores.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 1u64;
                // ORDERING: a stop flag with no data behind it.
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            })
        })
        .collect();
    let json = temp_dir("contention").join("report.json");
    let output = weft_tune(&[
        "sum",
        "-n",
        "2e7",
        "--sizes",
        "1,2",
        "--runs",
        "3",
        "--warmup",
        "0",
        "--json",
        json.to_str().unwrap(),
    ]);
    // ORDERING: as above.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for spinner in spinners {
        spinner.join().unwrap();
    }
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(
        table.contains("contention: the machine was shared"),
        "{table}"
    );
    assert!(table.contains("other processes kept"), "{table}");
    assert!(table.contains("caution: "), "{table}");
    let report = read_report(&json);
    let kinds: Vec<&str> = report
        .contention
        .warnings
        .iter()
        .map(|warning| warning.kind.as_str())
        .collect();
    assert!(kinds.contains(&"other_processes"), "{kinds:?}");
    assert!(report.contention.other_processes_busy_cores.unwrap() > 0.25);
}
