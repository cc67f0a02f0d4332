//! The command line: arguments, their validation, output files, and one-line errors.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use weft_tune::workloads::Workload;
use weft_tune::{MAX_THREADS, Report, SweepError};

/// Sweeps weft pool sizes on a built-in workload: times each size (warm-up, then several
/// runs), prints medians, spreads, throughput, speed-up, efficiency and CPU time, and
/// recommends the smallest pool within 5% of the best median.
#[derive(Debug, Parser)]
#[command(name = "weft-tune", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The workload: sum, sort, fib, tiny or spin.
    #[arg(default_value = "sum", value_parser = parse_workload, hide_default_value = false)]
    pub(crate) workload: Workload,

    /// Pool sizes: N, A..=B, A..B (B excluded) or a list like 1,2,4 [default: 1..=2 x logical
    /// cores].
    #[arg(long, value_name = "SIZES", value_parser = parse_sizes)]
    pub(crate) sizes: Option<Sizes>,

    /// Timed runs per pool size.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = parse_runs)]
    pub(crate) runs: usize,

    /// Untimed warm-up runs per pool size.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) warmup: usize,

    /// The workload's size: numbers to sum, keys to sort, n of fib(n), or jobs for tiny and
    /// spin [defaults: 1e9, 1e7, 32, 1e6, 0.4 s of spin jobs].
    #[arg(long, short = 'n', value_name = "N", value_parser = parse_size)]
    pub(crate) size: Option<u64>,

    /// spin only: the length of one job in microseconds [default: 50].
    #[arg(long, value_name = "US")]
    pub(crate) job_us: Option<u64>,

    /// Write the whole report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Draw throughput and efficiency against pool size as an SVG chart in FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<PathBuf>,

    /// Skip the sequential baseline (no "vs sequential" columns).
    #[arg(long)]
    pub(crate) no_sequential: bool,

    /// Recommend the smallest pool within this many percent of the best median.
    #[arg(long, default_value_t = 5.0, value_name = "PERCENT", value_parser = parse_tolerance)]
    pub(crate) tolerance: f64,
}

const AFTER_HELP: &str = "\
Workloads:
  sum   the sum of 0..1e9, every number black-boxed, split with join (the seed's example)
  sort  10M random u64, merge sort on join (sort_unstable pieces, parallel merges)
  fib   fib(32) with a join at every level, no cutoff
  tiny  1,000,000 trivial jobs spawned from outside, each joined through its handle
  spin  jobs of --job-us microseconds each, to find the break-even job size

Examples:
  weft-tune
  weft-tune sort --sizes 1..=4 --runs 7 --json sort.json --svg sort.svg
  weft-tune spin --job-us 10 --sizes 1,2";

/// Pool sizes from `--sizes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sizes(pub(crate) Vec<usize>);

fn parse_workload(text: &str) -> Result<Workload, String> {
    text.parse().map_err(|_| {
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        format!("no such workload (expected one of: {})", names.join(", "))
    })
}

fn parse_count(text: &str, what: &str) -> Result<usize, String> {
    let text = text.trim();
    text.parse::<usize>()
        .map_err(|_| format!("'{text}' is not a {what} (a whole number)"))
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

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim().replace('_', "");
    // Accept 1e9-style sizes too.
    let value = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let mantissa: u64 = mantissa
                .parse()
                .map_err(|_| format!("'{text}' is not a size"))?;
            let exponent: u32 = exponent
                .parse()
                .map_err(|_| format!("'{text}' is not a size"))?;
            10u64
                .checked_pow(exponent)
                .and_then(|scale| mantissa.checked_mul(scale))
                .ok_or_else(|| format!("'{text}' is too large"))?
        }
        None => text
            .parse()
            .map_err(|_| format!("'{text}' is not a size (a whole number)"))?,
    };
    Ok(value)
}

fn parse_tolerance(text: &str) -> Result<f64, String> {
    match text.trim().trim_end_matches('%').parse::<f64>() {
        Ok(percent) if (0.0..=100.0).contains(&percent) => Ok(percent),
        _ => Err("the tolerance is a percentage from 0 to 100".to_owned()),
    }
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
                // clap's first line says what is wrong; the rest is usage, shortened to a hint.
                let rendered = error.to_string();
                let first = rendered.lines().next().unwrap_or("invalid arguments");
                let first = first.strip_prefix("error: ").unwrap_or(first);
                return Err(CliError::usage(format!("{first} (see --help)")));
            }
        };
        if cli.job_us.is_some() && cli.workload != Workload::Spin {
            return Err(CliError::usage(format!(
                "--job-us only applies to the spin workload, not {}",
                cli.workload
            )));
        }
        if cli.job_us == Some(0) {
            return Err(CliError::usage("--job-us must be at least 1"));
        }
        Ok(cli)
    }
}

/// The output files, created before the sweep so a bad path fails at once, not after it.
pub(crate) struct Outputs {
    json: Option<(PathBuf, File)>,
    svg: Option<(PathBuf, File)>,
}

fn create(flag: &str, path: &Path) -> Result<(PathBuf, File), CliError> {
    File::create(path)
        .map(|file| (path.to_owned(), file))
        .map_err(|error| {
            CliError::failed(format!(
                "cannot write the {flag} file '{}': {error}",
                path.display()
            ))
        })
}

impl Outputs {
    pub(crate) fn open(cli: &Cli) -> Result<Outputs, CliError> {
        let json = cli
            .json
            .as_deref()
            .map(|path| create("--json", path))
            .transpose()?;
        let svg = match cli
            .svg
            .as_deref()
            .map(|path| create("--svg", path))
            .transpose()
        {
            Ok(svg) => svg,
            Err(error) => {
                Outputs { json, svg: None }.discard();
                return Err(error);
            }
        };
        Ok(Outputs { json, svg })
    }

    /// Removes the files made for a sweep that did not finish.
    pub(crate) fn discard(self) {
        for (path, file) in self.json.into_iter().chain(self.svg) {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }

    pub(crate) fn write(self, report: &Report) -> Result<(), CliError> {
        if let Some((path, mut file)) = self.json {
            let json = serde_json::to_string_pretty(report)
                .map_err(|error| CliError::failed(format!("cannot encode the report: {error}")))?;
            writeln!(file, "{json}")
                .and_then(|()| file.flush())
                .map_err(|error| {
                    CliError::failed(format!("cannot write '{}': {error}", path.display()))
                })?;
            eprintln!("weft-tune: wrote the report to {}", path.display());
        }
        if let Some((path, mut file)) = self.svg {
            let svg = report
                .to_svg(960, 540)
                .map_err(|error| CliError::failed(error.to_string()))?;
            file.write_all(svg.as_bytes())
                .and_then(|()| file.flush())
                .map_err(|error| {
                    CliError::failed(format!("cannot write '{}': {error}", path.display()))
                })?;
            eprintln!("weft-tune: wrote the chart to {}", path.display());
        }
        Ok(())
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
            SweepError::Pool { .. } | SweepError::Check { .. } => {
                CliError::failed(error.to_string())
            }
            _ => CliError::usage(error.to_string()),
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
    fn sizes_reject_zero_empty_ranges_and_junk() {
        assert!(parse_sizes("0").unwrap_err().contains("start at 1"));
        assert!(parse_sizes("0..=2").unwrap_err().contains("start at 1"));
        assert!(parse_sizes("3..1").unwrap_err().contains("empty"));
        assert!(parse_sizes("2..2").unwrap_err().contains("empty"));
        assert!(parse_sizes("x").unwrap_err().contains("not a pool size"));
        assert!(parse_sizes("1,,2").is_err());
        assert!(parse_sizes("5000").unwrap_err().contains("too large"));
    }

    #[test]
    fn sizes_of_the_workload_accept_exponents_and_underscores() {
        assert_eq!(parse_size("1e9"), Ok(1_000_000_000));
        assert_eq!(parse_size("10_000"), Ok(10_000));
        assert!(parse_size("1e30").unwrap_err().contains("too large"));
        assert!(parse_size("-3").is_err());
    }

    #[test]
    fn runs_must_be_positive() {
        assert_eq!(parse_runs("3"), Ok(3));
        assert!(parse_runs("0").unwrap_err().contains("at least 1"));
    }

    #[test]
    fn tolerance_is_a_percentage() {
        assert_eq!(parse_tolerance("5"), Ok(5.0));
        assert_eq!(parse_tolerance("2.5%"), Ok(2.5));
        assert!(parse_tolerance("-1").is_err());
        assert!(parse_tolerance("200").is_err());
    }
}
