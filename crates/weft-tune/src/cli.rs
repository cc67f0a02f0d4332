//! The command line: arguments, their validation before anything runs, and one-line errors.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use weft_tune::units::{format_bytes, format_duration_words};
use weft_tune::workloads::Workload;
use weft_tune::workloads::cost;
use weft_tune::{MAX_THREADS, SweepError};

/// Sweeps weft pool sizes on a built-in workload, or on any program built on weft (`exec`),
/// and recommends one. Every round times each pool size once, in a shuffled order, beside
/// plain threads on a fixed loop (the machine's limit right now); speed-ups come with 95%
/// intervals, and the recommendation is the smallest size whose interval overlaps the best.
#[derive(Debug, Parser)]
#[command(name = "weft-tune", version, after_help = AFTER_HELP, mut_args(negative_values_reach_the_parser))]
pub(crate) struct Cli {
    /// The workload: sum, sort, fib, tiny, spin, or exec (your program, after `--`).
    #[arg(default_value = "sum", value_parser = parse_target, hide_default_value = false)]
    pub(crate) workload: Target,

    /// Pool sizes: N, A..=B, A..B (B excluded) or a list like 1,2,4 [default: 1..=2 x logical
    /// cores].
    #[arg(long, value_name = "SIZES", value_parser = parse_sizes)]
    pub(crate) sizes: Option<Sizes>,

    /// Timed rounds: each runs every pool size once.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = parse_runs)]
    pub(crate) runs: usize,

    /// Untimed warm-up rounds before the timed ones.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = parse_warmup)]
    pub(crate) warmup: usize,

    /// The workload's size: numbers to sum, keys to sort, n of fib(n), or jobs for tiny and
    /// spin [defaults: 1e9, 1e7, 40, 1e6, 0.4 s of spin jobs].
    #[arg(long, short = 'n', value_name = "N", value_parser = parse_size)]
    pub(crate) size: Option<u64>,

    /// spin only: job sizes in microseconds, a list like 1,10,100 [default: 1,10,100,1000].
    /// With two or more, the report gives the break-even job size.
    #[arg(long, value_name = "US,...", value_parser = parse_job_us)]
    pub(crate) job_us: Option<JobSizes>,

    /// Write the whole report as JSON to FILE (atomically: an interrupted run leaves an
    /// older FILE as it was).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Draw the speed-up against pool size as an SVG chart in FILE (atomically too).
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<PathBuf>,

    /// Skip the sequential baseline (no "vs sequential" columns).
    #[arg(long)]
    pub(crate) no_sequential: bool,

    /// Skip the calibration (plain threads on a fixed loop): no limit column, no warning when
    /// plain threads fall short of the cores.
    #[arg(long)]
    pub(crate) no_calibration: bool,

    /// Recommend the smallest pool whose speed-up interval, raised by this many percent,
    /// reaches the best size's interval.
    #[arg(long, default_value_t = 5.0, value_name = "PERCENT", value_parser = parse_tolerance)]
    pub(crate) tolerance: f64,

    /// Also time every pool size with pinned workers (worker i on the i-th CPU this process
    /// may use, `ThreadPoolBuilder::pin_threads`), in the same rounds, reported beside the
    /// unpinned ones.
    #[arg(long)]
    pub(crate) pin: bool,

    /// Run the workload once on weft's default pool (its size from WEFT_NUM_THREADS, else
    /// the core count), check the result and print the time: no sweep. A program for
    /// `weft-tune exec` to tune.
    #[arg(long)]
    pub(crate) once: bool,

    /// exec only: stop a run of the command that takes longer than this many seconds.
    #[arg(long, default_value_t = 600.0, value_name = "SECS", value_parser = parse_timeout)]
    pub(crate) timeout: f64,

    /// Refuse a built-in sweep estimated to take longer than this many minutes.
    #[arg(long, default_value_t = 10.0, value_name = "MINUTES", value_parser = parse_minutes)]
    pub(crate) max_minutes: f64,

    /// exec only: the program to tune and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

/// Options that take a value hand `-5` to their value parser, which says that it is
/// negative, instead of clap calling it an unexpected argument. Positional arguments keep
/// clap's behaviour, and its tip (`to pass '-5' as a value, use '-- -5'`).
fn negative_values_reach_the_parser(arg: clap::Arg) -> clap::Arg {
    if !arg.is_positional() && arg.get_action().takes_values() {
        arg.allow_negative_numbers(true)
    } else {
        arg
    }
}

const AFTER_HELP: &str = "\
Workloads:
  sum   the sum of 0..1e9, every number black-boxed, split with join (the seed's example)
  sort  10M random u64, merge sort on join (sort_unstable pieces, parallel merges)
  fib   fib(40) with a join at every level down to fib(8) leaves
  tiny  1,000,000 trivial jobs spawned from outside, each joined through its handle
  spin  jobs of 1, 10, 100 and 1000 us (--job-us): the break-even job size
  exec  any program built on weft: each run sets WEFT_NUM_THREADS to the pool size and
        times the whole process (its stdout is discarded; a failure stops the sweep)

Examples:
  weft-tune
  weft-tune sort --sizes 1..=4 --runs 7 --json sort.json --svg sort.svg
  weft-tune spin --job-us 1,10,100,1000
  weft-tune exec --sizes 1..=4 -- ./target/release/my-batch-job input.csv
  weft-tune exec -- weft-tune sum --once -n 1e8";

/// What to sweep: a built-in workload or a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Builtin(Workload),
    Exec,
}

/// Pool sizes from `--sizes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sizes(pub(crate) Vec<usize>);

/// Job sizes from `--job-us`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobSizes(pub(crate) Vec<u64>);

fn parse_target(text: &str) -> Result<Target, String> {
    if text.trim().eq_ignore_ascii_case("exec") {
        return Ok(Target::Exec);
    }
    text.parse().map(Target::Builtin).map_err(|_| {
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        format!(
            "no such workload (expected one of: {}, exec)",
            names.join(", ")
        )
    })
}

/// A whole number; a negative one is named as such.
fn parse_whole(text: &str, what: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('-')
        && rest.parse::<f64>().is_ok()
    {
        return Err(format!("'{text}' is negative: a {what} is a whole number"));
    }
    text.parse::<u64>()
        .map_err(|_| format!("'{text}' is not a {what} (a whole number)"))
}

fn parse_count(text: &str, what: &str) -> Result<usize, String> {
    let value = parse_whole(text, what)?;
    usize::try_from(value).map_err(|_| format!("'{text}' is too large for a {what}"))
}

/// `4`, `1..=8`, `2..6` (6 excluded) or `1,2,4`.
fn parse_sizes(text: &str) -> Result<Sizes, String> {
    let sizes: Vec<usize> = if let Some((low, high)) = text.split_once("..") {
        let low = parse_count(low, "pool size")?;
        let (high, inclusive) = match high.strip_prefix('=') {
            Some(high) => (parse_count(high, "pool size")?, true),
            None => (parse_count(high, "pool size")?, false),
        };
        let sizes: Vec<usize> = if inclusive {
            (low..=high).collect()
        } else {
            (low..high).collect()
        };
        if sizes.is_empty() {
            return Err(format!(
                "the range {text} is empty: write it low to high, e.g. 1..=4"
            ));
        }
        sizes
    } else {
        text.split(',')
            .map(|size| parse_count(size, "pool size"))
            .collect::<Result<_, _>>()?
    };
    if sizes.contains(&0) {
        return Err("pool sizes start at 1: a pool has at least one thread".to_owned());
    }
    if let Some(&largest) = sizes.iter().max().filter(|&&largest| largest > MAX_THREADS) {
        return Err(format!(
            "pool size {largest} is too large (at most {MAX_THREADS})"
        ));
    }
    Ok(Sizes(sizes))
}

fn parse_runs(text: &str) -> Result<usize, String> {
    match parse_count(text, "run count")? {
        0 => Err("at least 1 timed run is needed".to_owned()),
        runs => Ok(runs),
    }
}

fn parse_warmup(text: &str) -> Result<usize, String> {
    parse_count(text, "run count")
}

/// A size: a whole number, with `_` separators or as `1e9`.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim().replace('_', "");
    match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let mantissa = parse_whole(mantissa, "size")?;
            let exponent: u32 = exponent
                .parse()
                .map_err(|_| format!("'{text}' is not a size (a whole number, or like 1e9)"))?;
            10u64
                .checked_pow(exponent)
                .and_then(|scale| mantissa.checked_mul(scale))
                .ok_or_else(|| format!("'{text}' is too large"))
        }
        None => parse_whole(&text, "size"),
    }
}

fn parse_job_us(text: &str) -> Result<JobSizes, String> {
    let sizes: Vec<u64> = text
        .split(',')
        .map(|us| parse_whole(us, "job size in microseconds"))
        .collect::<Result<_, _>>()?;
    if sizes.contains(&0) {
        return Err("a job of 0 us is no job: job sizes start at 1".to_owned());
    }
    Ok(JobSizes(sizes))
}

fn parse_percent_like(
    text: &str,
    what: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<f64, String> {
    match text.trim().trim_end_matches('%').parse::<f64>() {
        Ok(value) if range.contains(&value) => Ok(value),
        Ok(value) if value < 0.0 => Err(format!("'{text}' is negative: {what}")),
        _ => Err(format!("'{text}': {what}")),
    }
}

fn parse_tolerance(text: &str) -> Result<f64, String> {
    parse_percent_like(
        text,
        "the tolerance is a percentage from 0 to 100",
        0.0..=100.0,
    )
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    parse_percent_like(
        text,
        "the timeout is a number of seconds above 0",
        f64::MIN_POSITIVE..=1e9,
    )
}

fn parse_minutes(text: &str) -> Result<f64, String> {
    parse_percent_like(
        text,
        "the limit is a number of minutes above 0",
        f64::MIN_POSITIVE..=1e9,
    )
}

impl Cli {
    /// Parses and cross-checks the arguments. `--help` and `--version` print and exit here.
    pub(crate) fn parse_args() -> Result<Cli, CliError> {
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(error) => {
                use clap::error::ErrorKind;
                if matches!(
                    error.kind(),
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                ) {
                    error.exit();
                }
                return Err(CliError::usage(one_line(&error.to_string())));
            }
        };
        cli.cross_check()?;
        Ok(cli)
    }

    fn cross_check(&self) -> Result<(), CliError> {
        let builtin = match self.workload {
            Target::Exec => {
                let refuse = |flag: &str, why: &str| {
                    Err(CliError::usage(format!(
                        "{flag} does not apply to exec: {why}"
                    )))
                };
                if self.command.is_empty() {
                    return Err(CliError::usage(
                        "exec needs a command after `--`, e.g. weft-tune exec -- ./my-job input",
                    ));
                }
                if self.size.is_some() {
                    return refuse("--size", "give the program its arguments after `--`");
                }
                if self.job_us.is_some() {
                    return refuse("--job-us", "it is for the spin workload");
                }
                if self.no_sequential {
                    return refuse("--no-sequential", "a program has no sequential baseline");
                }
                if self.once {
                    return refuse("--once", "it runs a built-in workload once");
                }
                if self.pin {
                    return refuse("--pin", "the program builds its own pool");
                }
                return Ok(());
            }
            Target::Builtin(workload) => workload,
        };
        if !self.command.is_empty() {
            return Err(CliError::usage(format!(
                "a command after `--` is for exec, not {builtin}: weft-tune exec -- COMMAND ..."
            )));
        }
        if self.job_us.is_some() && builtin != Workload::Spin {
            return Err(CliError::usage(format!(
                "--job-us only applies to the spin workload, not {builtin}"
            )));
        }
        if self.size == Some(0) {
            let (meaning, _) = builtin.size_meaning();
            return Err(CliError::usage(format!(
                "--size 0 leaves nothing to time: {builtin} needs at least 1 ({meaning})"
            )));
        }
        if builtin == Workload::Fib {
            let max = weft_tune::workloads::fib::MAX_N;
            if self.size.is_some_and(|n| n > u64::from(max)) {
                return Err(CliError::usage(format!(
                    "fib --size is n of fib(n), at most {max} (fib(n) must fit in 64 bits)"
                )));
            }
        }
        Ok(())
    }

    /// The pool sizes the sweep will time, for estimates (the sweep's default when none
    /// were given).
    pub(crate) fn sizes_or_default(&self) -> Vec<usize> {
        self.sizes.as_ref().map_or_else(
            || (1..=2 * num_cpus::get().max(1)).collect(),
            |s| s.0.clone(),
        )
    }

    /// The job sizes of spin.
    pub(crate) fn job_sizes(&self) -> Vec<u64> {
        self.job_us.as_ref().map_or_else(
            || weft_tune::workloads::spin::DEFAULT_JOB_US.to_vec(),
            |sizes| sizes.0.clone(),
        )
    }

    /// For exec: how long one run may take.
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }

    /// Refuses, before anything runs, a built-in sweep that needs more memory than the
    /// machine has available or would run longer than `--max-minutes`.
    pub(crate) fn check_cost(&self, workload: Workload, size: u64) -> Result<(), CliError> {
        let job_us = self.job_sizes();
        let cost = cost::estimate(workload, size, &job_us);
        let what = match self.size {
            Some(_) => format!("{workload} --size {size}"),
            None => workload.name().to_owned(),
        };
        if let Some(available) = cost::available_memory_bytes()
            && cost.memory_bytes > available
        {
            return Err(CliError::usage(format!(
                "{what} needs about {} of memory ({}), and this machine has {} available \
                 (MemAvailable in /proc/meminfo): lower --size",
                format_bytes(cost.memory_bytes),
                cost.memory_basis,
                format_bytes(available)
            )));
        }
        // --once is one run; a sweep is every configuration of every round.
        let (factor, runs) = if self.once {
            (1.0, "one run".to_owned())
        } else {
            let rounds = self.runs + self.warmup;
            let sizes = self.sizes_or_default();
            let factor = cost::sweep_factor(rounds, &sizes, !self.no_sequential, num_cpus::get());
            // With --pin every pool size runs twice a round.
            let factor = if self.pin { factor * 2.0 } else { factor };
            (factor, format!("{rounds} rounds"))
        };
        let total_secs = cost.run_secs * factor;
        let limit_secs = self.max_minutes * 60.0;
        if total_secs > limit_secs {
            let largest = if workload == Workload::Fib {
                // Each step down in n divides the time by the golden ratio.
                let mut n = size;
                let mut secs = total_secs;
                while n > 1 && secs > limit_secs {
                    n -= 1;
                    secs /= 1.618_034;
                }
                format!("; fib({n}) fits")
            } else {
                String::new()
            };
            return Err(CliError::usage(format!(
                "{what} would run for at least {} ({} a sequential run, from {}; {runs}), more \
                 than --max-minutes {}{largest}: lower --size{}",
                format_duration_words(total_secs),
                format_duration_words(cost.run_secs),
                cost.time_basis,
                self.max_minutes,
                if self.once { "" } else { " or --runs" },
            )));
        }
        Ok(())
    }
}

/// clap's message in one line: the error and its tip, if it gave one.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let tips: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("tip: "))
        .collect();
    if tips.is_empty() {
        format!("{first} (see --help)")
    } else {
        format!("{first} (tip: {}; see --help)", tips.join("; "))
    }
}

/// A one-line error and the exit code that goes with it: 2 for bad arguments, 1 when the
/// sweep or its output failed.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 2,
        }
    }

    pub(crate) fn failed(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 1,
        }
    }

    /// Prints `weft-tune: error: ...` on stderr and returns the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("weft-tune: error: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl From<SweepError> for CliError {
    fn from(error: SweepError) -> CliError {
        match error {
            SweepError::NoSizes
            | SweepError::ZeroThreads
            | SweepError::TooManyThreads(_)
            | SweepError::ZeroRuns => CliError::usage(error.to_string()),
            _ => CliError::failed(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_single_values_ranges_and_lists() {
        assert_eq!(parse_sizes("4"), Ok(Sizes(vec![4])));
        assert_eq!(parse_sizes("1..=3"), Ok(Sizes(vec![1, 2, 3])));
        assert_eq!(parse_sizes("2..4"), Ok(Sizes(vec![2, 3])));
        assert_eq!(parse_sizes("1, 2,8"), Ok(Sizes(vec![1, 2, 8])));
    }

    #[test]
    fn workload_sizes_job_sizes_runs_and_tolerances_parse() {
        assert_eq!(parse_size("1e9"), Ok(1_000_000_000));
        assert_eq!(parse_size("10_000"), Ok(10_000));
        assert_eq!(parse_job_us("1,10,100"), Ok(JobSizes(vec![1, 10, 100])));
        assert_eq!(parse_runs("3"), Ok(3));
        assert_eq!(parse_tolerance("5"), Ok(5.0));
        assert_eq!(parse_tolerance("2.5%"), Ok(2.5));
    }

    #[test]
    fn bad_values_are_refused_with_what_is_wrong() {
        let refusals: [(Result<(), String>, &str); 17] = [
            (parse_sizes("0").map(drop), "start at 1"),
            (parse_sizes("0..=2").map(drop), "start at 1"),
            (parse_sizes("3..1").map(drop), "empty"),
            (parse_sizes("2..2").map(drop), "empty"),
            (parse_sizes("x").map(drop), "not a pool size"),
            (parse_sizes("-2").map(drop), "negative"),
            (parse_sizes("1,,2").map(drop), "not a pool size"),
            (parse_sizes("5000").map(drop), "too large"),
            (parse_size("1e30").map(drop), "too large"),
            (parse_size("-3").map(drop), "negative"),
            (parse_size("-1e3").map(drop), "negative"),
            (parse_size("ten").map(drop), "not a size"),
            (parse_job_us("0").map(drop), "start at 1"),
            (parse_job_us("5,-1").map(drop), "negative"),
            (parse_runs("0").map(drop), "at least 1"),
            (parse_runs("-1").map(drop), "negative"),
            (parse_tolerance("-1").map(drop), "negative"),
        ];
        for (index, (result, needle)) in refusals.into_iter().enumerate() {
            let error = result.expect_err("refused");
            assert!(error.contains(needle), "case {index}: {error}");
        }
        assert!(parse_tolerance("200").is_err());
    }

    #[test]
    fn clap_errors_keep_their_tip_in_one_line() {
        let rendered = "error: unexpected argument '-5' found\n\n  tip: to pass '-5' as a value, \
                        use '-- -5'\n\nUsage: weft-tune [OPTIONS]\n\nFor more information, try \
                        '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "unexpected argument '-5' found (tip: to pass '-5' as a value, use '-- -5'; see --help)"
        );
        assert_eq!(one_line("error: bad\n"), "bad (see --help)");
    }
}
