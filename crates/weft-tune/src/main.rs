//! `weft-tune`: sweep pool sizes on a built-in workload and recommend one.
//!
//! ```text
//! cargo run --release -p weft-tune                    # sum of 0..1e9 on 1..=2 x cores threads
//! cargo run --release -p weft-tune -- sort --sizes 1..=4 --runs 7 --json sort.json --svg sort.svg
//! cargo run --release -p weft-tune -- spin --job-us 20
//! ```

#![forbid(unsafe_code)]

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use weft_tune::workloads::spin::Spin;
use weft_tune::workloads::{Workload, fib, sort, sum, tiny};
use weft_tune::{Report, Sweep};

use crate::cli::{Cli, CliError, Outputs};

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(error) => return error.report(),
    };
    let outputs = match Outputs::open(&cli) {
        Ok(outputs) => outputs,
        Err(error) => return error.report(),
    };
    let report = match run(&cli) {
        Ok(report) => report,
        Err(error) => {
            outputs.discard();
            return error.report();
        }
    };
    print!("{report}");
    match outputs.write(&report) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(),
    }
}

/// Builds the workload's sweep and runs it.
fn run(cli: &Cli) -> Result<Report, CliError> {
    let size = cli.size;
    match cli.workload {
        Workload::Sum => drive(cli, sum::sweep(size.unwrap_or(sum::DEFAULT_N))),
        Workload::Sort => {
            let len = size.map_or(Ok(sort::DEFAULT_LEN), usize::try_from);
            let len = len.map_err(|_| CliError::usage("--size is too large for this machine"))?;
            drive(cli, sort::sweep(len))
        }
        Workload::Fib => {
            let n = size.unwrap_or(u64::from(fib::DEFAULT_N));
            let n = u32::try_from(n)
                .ok()
                .filter(|&n| n <= 90)
                .ok_or_else(|| CliError::usage("fib --size is n of fib(n), at most 90"))?;
            drive(cli, fib::sweep(n))
        }
        Workload::Tiny => drive(cli, tiny::sweep(size.unwrap_or(tiny::DEFAULT_JOBS))),
        Workload::Spin => {
            let spin = Spin::calibrate(
                cli.job_us
                    .unwrap_or(weft_tune::workloads::spin::DEFAULT_JOB_US),
            );
            let jobs = size.unwrap_or_else(|| spin.default_jobs());
            drive(cli, spin.sweep(jobs))
        }
    }
}

/// Applies the command line's settings to a sweep, runs it with a progress bar.
fn drive<R: 'static>(cli: &Cli, sweep: Sweep<'_, R>) -> Result<Report, CliError> {
    let mut sweep = sweep
        .runs(cli.runs)
        .warmup(cli.warmup)
        .tolerance(cli.tolerance / 100.0);
    if let Some(sizes) = &cli.sizes {
        sweep = sweep.sizes(sizes.0.iter().copied());
    }
    if cli.no_sequential {
        sweep = sweep.without_sequential();
    }
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(sweep.total_runs() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>3} [{bar:30}] {pos}/{len} runs  {msg}")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let progress_bar = bar.clone();
    let result = sweep
        .on_progress(move |progress| {
            progress_bar.set_position(progress.done as u64);
            progress_bar.set_message(progress.label.clone());
        })
        .try_run();
    bar.finish_and_clear();
    result.map_err(CliError::from)
}
