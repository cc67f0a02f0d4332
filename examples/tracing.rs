//! What weft tells `tracing`: a `fmt` subscriber shows the pool's spans and events.
//!
//! - every worker thread runs inside a `weft worker{pool, index}` span (debug level), with
//!   "worker started" / "worker exited" events;
//! - every detached job runs inside a `job` span (trace level), so the job's own events
//!   carry `weft worker{..}:job:` in front;
//! - a job that panics produces an error event "job panicked" with the worker and the
//!   panic message (the panic itself goes to the job's handle; the worker lives on).
//!
//! ```text
//! cargo run --release --example tracing         # 4 jobs
//! cargo run --release --example tracing -- 2    # 2 jobs; or WEFT_EXAMPLE_SIZE=2
//! ```

mod common;

use std::io::IsTerminal;

use tracing::{Level, info};
use weft::ThreadPool;

fn main() {
    let jobs: u64 = common::size_from_args("jobs", 4);
    tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_thread_names(true)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    // The default panic hook would print the deliberate panic below as well; the pool's
    // "job panicked" event already records it, so keep the output to the subscriber's.
    std::panic::set_hook(Box::new(|_| {}));

    info!(jobs, "starting a pool of 2 threads");
    let pool = ThreadPool::new(2).expect("a pool");

    let handles: Vec<_> = (0..jobs)
        .map(|job| {
            pool.spawn(move || {
                let square = job * job;
                info!(job, square, "working inside a job span");
                square
            })
        })
        .collect();
    let squares: Vec<u64> = handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .collect();
    assert_eq!(squares, (0..jobs).map(|j| j * j).collect::<Vec<_>>());

    let failing = pool.spawn(|| -> u64 { panic!("deliberate panic to show the error event") });
    let error = failing.join().expect_err("the job panicked");
    assert!(error.is_panic());
    info!(%error, "the panic reached its handle as JobError; the pool lives on");

    let after = pool.spawn(|| 42).join().expect("the worker survived");
    assert_eq!(after, 42);
    let stats = pool.stats();
    assert_eq!(stats.panicked, 1);
    info!(
        submitted = stats.submitted,
        completed = stats.completed,
        panicked = stats.panicked,
        "shutting down"
    );
    pool.shutdown();
}
