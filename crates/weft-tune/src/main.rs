//! `weft-tune`: sweep pool sizes on a built-in workload or on any program built on weft,
//! and recommend one.
//!
//! ```text
//! cargo run --release -p weft-tune                    # sum of 0..1e9 on 1..=2 x cores threads
//! cargo run --release -p weft-tune -- sort --sizes 1..=4 --runs 7 --json sort.json --svg sort.svg
//! cargo run --release -p weft-tune -- spin --job-us 1,10,100,1000
//! cargo run --release -p weft-tune -- sort --pin                  # pinned workers beside unpinned
//! cargo run --release -p weft-tune -- exec -- ./target/release/my-batch-job input.csv
//! ```

#![forbid(unsafe_code)]

mod cli;
mod output;
mod progress;

use std::process::ExitCode;

use weft::ThreadPool;
use weft_tune::workloads::{Workload, fib, sort, spin, sum, tiny};
use weft_tune::{Report, Sweep};

use crate::cli::{Cli, CliError, Target};
use crate::output::Outputs;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(),
    }
}

fn run() -> Result<(), CliError> {
    let cli = Cli::parse_args()?;
    if cli.once {
        return once(&cli);
    }
    let outputs = Outputs::check(&cli)?;
    let report = match cli.workload {
        Target::Exec => {
            let (program, args) = cli.command.split_first().expect("checked: a command");
            drive(&cli, Sweep::command(program, args).timeout(cli.timeout()))?
        }
        Target::Builtin(workload) => {
            let size = cli.size.unwrap_or_else(|| default_size(workload));
            cli.check_cost(workload, size)?;
            builtin(&cli, workload, size)?
        }
    };
    print!("{report}");
    outputs.write(&report)
}

/// The default `--size` of a workload (for spin: 0, meaning "derived from the job size").
fn default_size(workload: Workload) -> u64 {
    workload.size_meaning().1
}

/// Builds a built-in workload's sweep and runs it.
fn builtin(cli: &Cli, workload: Workload, size: u64) -> Result<Report, CliError> {
    let too_large = || CliError::usage("--size is too large for this machine");
    match workload {
        Workload::Sum => drive(cli, sum::sweep(size)),
        Workload::Sort => drive(
            cli,
            sort::sweep(usize::try_from(size).map_err(|_| too_large())?),
        ),
        Workload::Fib => drive(
            cli,
            fib::sweep(u32::try_from(size).map_err(|_| too_large())?),
        ),
        Workload::Tiny => drive(cli, tiny::sweep(size)),
        Workload::Spin => drive(cli, spin::job_size_sweep(&cli.job_sizes(), cli.size)),
    }
}

/// Applies the command line's settings to a sweep and runs it, showing progress.
fn drive<R: 'static>(cli: &Cli, sweep: Sweep<'_, R>) -> Result<Report, CliError> {
    let mut sweep = sweep
        .runs(cli.runs)
        .warmup(cli.warmup)
        .tolerance_percent(cli.tolerance)
        .pin(cli.pin);
    if let Some(sizes) = &cli.sizes {
        sweep = sweep.sizes(sizes.0.iter().copied());
    }
    if cli.no_sequential {
        sweep = sweep.without_sequential();
    }
    if cli.no_calibration {
        sweep = sweep.without_calibration();
    }
    let mut display = progress::Display::new(sweep.total_runs());
    let result = sweep
        .on_progress(|progress| display.update(progress))
        .try_run();
    result.map_err(CliError::from)
}

/// `--once`: one run on weft's default pool, checked and timed.
fn once(cli: &Cli) -> Result<(), CliError> {
    let Target::Builtin(workload) = cli.workload else {
        unreachable!("cross_check refuses --once with exec");
    };
    let size = cli.size.unwrap_or_else(|| default_size(workload));
    cli.check_cost(workload, size)?;
    let pool = ThreadPool::builder()
        .build()
        .map_err(|error| CliError::failed(format!("cannot build weft's default pool: {error}")))?;
    let too_large = || CliError::usage("--size is too large for this machine");
    let times = match workload {
        Workload::Sum => sum::sweep(size).run_once(&pool),
        Workload::Sort => {
            sort::sweep(usize::try_from(size).map_err(|_| too_large())?).run_once(&pool)
        }
        Workload::Fib => fib::sweep(u32::try_from(size).map_err(|_| too_large())?).run_once(&pool),
        Workload::Tiny => tiny::sweep(size).run_once(&pool),
        Workload::Spin => spin::job_size_sweep(&cli.job_sizes(), cli.size).run_once(&pool),
    }?;
    let times: Vec<String> = times
        .iter()
        .map(|time| weft_tune::format_secs(time.as_secs_f64()))
        .collect();
    let source = match std::env::var(weft::NUM_THREADS_ENV) {
        Ok(value) => format!("{}={value}", weft::NUM_THREADS_ENV),
        Err(_) => "the logical core count".to_owned(),
    };
    println!(
        "weft-tune: {workload} once on weft's default pool of {} threads ({source}): {}; the \
         result is right",
        pool.num_threads(),
        times.join(" + ")
    );
    Ok(())
}
