//! Priorities and timeouts: a batch where urgent requests overtake background work, and a
//! runaway job is stopped by its timeout.
//!
//! A pool of 2 threads gets, in this order:
//!
//! - BACKGROUND `Low` jobs (the argument; at least 8) of 5 ms each (re-indexing, say), and
//!   one `Low` report with `queue_timeout(5 ms)`: queued behind all of them, it goes stale
//!   and never runs;
//! - a runaway `Normal` job with `timeout(30 ms)` that would loop forever: its handle
//!   resolves with `TimedOut` 30 ms after it started, and it stops itself because it checks
//!   `weft::is_cancelled()`;
//! - BACKGROUND / 4 `Normal` batch jobs of 5 ms each;
//! - last, 4 urgent `High` requests of 1 ms each.
//!
//! The first background jobs to start (one per thread) hold the pool until everything is
//! queued, so that the order does not depend on how fast the main thread submits on a
//! loaded machine.
//!
//! Every job logs when it started; the example prints the order of starts, the runaway's
//! and the stale report's outcomes and the pool's stats, and checks that the urgent
//! requests overtook the queued work and the stats add up.
//!
//! ```text
//! Run: cargo run --release --example priorities           # 40 background jobs
//!      cargo run --release --example priorities -- 12     # 12 (CI); or WEFT_EXAMPLE_SIZE=12
//! ```

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use weft::{JobError, JobHandle, Priority, ThreadPool};

/// The fewest background jobs: enough queued work that the stale report expires unrun.
const MIN_BACKGROUND: usize = 8;
const BACKGROUND_WORK: Duration = Duration::from_millis(5);
const URGENT_WORK: Duration = Duration::from_millis(1);
const URGENT: usize = 4;
const RUNAWAY_TIMEOUT: Duration = Duration::from_millis(30);
const STALE_AFTER: Duration = Duration::from_millis(5);

/// When each job started: (name, lane, time since the batch began).
type StartLog = Arc<Mutex<Vec<(String, Priority, Duration)>>>;

/// CPU work for about `time` (a stand-in for a real request): a hash loop.
fn busy_for(time: Duration) -> u64 {
    let start = Instant::now();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    while start.elapsed() < time {
        for _ in 0..1000 {
            hash = (hash ^ 0x9e).wrapping_mul(0x100_0000_01b3);
        }
    }
    hash
}

/// Shut until `open`; `pass` waits for that.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn pass(&self) {
        let open = self.open.lock().expect("the gate");
        let _open = self
            .opened
            .wait_while(open, |open| !*open)
            .expect("the gate");
    }

    fn open(&self) {
        *self.open.lock().expect("the gate") = true;
        self.opened.notify_all();
    }
}

struct Batch {
    pool: ThreadPool,
    log: StartLog,
    epoch: Instant,
}

impl Batch {
    /// Submits a job that logs its start, then runs `work`.
    fn submit<T: Send + 'static>(
        &self,
        name: String,
        priority: Priority,
        options: impl FnOnce(weft::JobBuilder<'_>) -> weft::JobBuilder<'_>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> JobHandle<T> {
        let (log, epoch) = (Arc::clone(&self.log), self.epoch);
        let logged_name = name.clone();
        options(self.pool.job().priority(priority).name(name)).spawn(move || {
            log.lock()
                .expect("the log")
                .push((logged_name, priority, epoch.elapsed()));
            work()
        })
    }
}

fn main() {
    let background: usize = common::size_from_args("background jobs", 40).max(MIN_BACKGROUND);
    let batch_jobs = background / 4;
    let batch = Batch {
        pool: ThreadPool::new(2).expect("a pool"),
        log: Arc::default(),
        epoch: Instant::now(),
    };
    println!(
        "a pool of 2 threads: {background} Low background jobs and a stale Low report, a runaway \
         Normal job with timeout({RUNAWAY_TIMEOUT:?}), {batch_jobs} Normal batch jobs, then {URGENT} High \
         urgent requests"
    );

    // The first background jobs to start (one per thread) hold the pool until everything is
    // queued, so the order below does not depend on how fast this thread submits.
    let gate = Arc::new(Gate::default());
    let mut handles: Vec<JobHandle<u64>> = Vec::new();
    for i in 0..background {
        let gate = Arc::clone(&gate);
        handles.push(batch.submit(
            format!("background-{i}"),
            Priority::Low,
            |job| job,
            move || {
                gate.pass();
                busy_for(BACKGROUND_WORK)
            },
        ));
    }
    let stale = batch.submit(
        "stale-report".to_owned(),
        Priority::Low,
        |job| job.queue_timeout(STALE_AFTER),
        || busy_for(BACKGROUND_WORK),
    );
    let runaway_stopped = Arc::new(AtomicBool::new(false));
    let runaway = {
        let stopped = Arc::clone(&runaway_stopped);
        batch.submit(
            "runaway".to_owned(),
            Priority::Normal,
            |job| job.timeout(RUNAWAY_TIMEOUT),
            move || {
                let mut rounds = 0u64;
                // Would loop forever; its timeout makes `is_cancelled` true.
                while !weft::is_cancelled() {
                    busy_for(Duration::from_micros(100));
                    rounds += 1;
                }
                // ORDERING: read after the pool is dropped, which joined this thread.
                stopped.store(true, Ordering::Relaxed);
                rounds
            },
        )
    };
    for i in 0..batch_jobs {
        handles.push(batch.submit(
            format!("batch-{i}"),
            Priority::Normal,
            |job| job,
            || busy_for(BACKGROUND_WORK),
        ));
    }
    // The urgent requests arrive last, while the queue is full of work.
    let urgent_submitted = batch.epoch.elapsed();
    let urgent: Vec<_> = (0..URGENT)
        .map(|i| {
            batch.submit(
                format!("urgent-{i}"),
                Priority::High,
                |job| job,
                || busy_for(URGENT_WORK),
            )
        })
        .collect();
    gate.open();

    for handle in urgent {
        handle.join().expect("an urgent request runs to the end");
    }
    // The runaway's handle resolves at its deadline, while the batch still runs.
    let runaway_name = runaway.name().unwrap_or("?").to_owned();
    let runaway_outcome = runaway.join();
    let runaway_returned = batch.epoch.elapsed();
    for handle in handles {
        handle.join().expect("a job of the batch runs to the end");
    }
    let stale_outcome = stale.join();
    let stats = batch.pool.stats();
    drop(batch.pool);
    let log = std::mem::take(&mut *batch.log.lock().expect("the log"));

    print_order(&log, urgent_submitted);
    check_urgent_overtook(&log);

    let runaway_started = started_at(&log, "runaway").expect("the runaway ran");
    assert!(
        matches!(runaway_outcome, Err(JobError::TimedOut)),
        "the runaway is stopped by its timeout, not {runaway_outcome:?}"
    );
    // ORDERING: the pool is dropped: every job, the runaway too, has returned.
    assert!(
        runaway_stopped.load(Ordering::Relaxed),
        "the runaway returned"
    );
    println!(
        "{runaway_name}: {:?} after {:.1?} of running (timeout {RUNAWAY_TIMEOUT:?}); it saw weft::is_cancelled() and stopped",
        runaway_outcome.unwrap_err(),
        runaway_returned.saturating_sub(runaway_started)
    );
    assert!(
        matches!(stale_outcome, Err(JobError::TimedOut)),
        "the stale report expires in the queue, not {stale_outcome:?}"
    );
    assert!(
        started_at(&log, "stale-report").is_none(),
        "a job whose queue timeout passed never runs"
    );
    println!(
        "stale-report: {:?}: its queue_timeout({STALE_AFTER:?}) passed before a thread was free for it; it never ran",
        stale_outcome.unwrap_err()
    );

    println!(
        "pool stats: submitted {}, completed {}, timed_out {}, panicked {}, cancelled {}, queued {}, running {}",
        stats.submitted,
        stats.completed,
        stats.timed_out,
        stats.panicked,
        stats.cancelled,
        stats.queued,
        stats.running
    );
    assert_eq!(stats.timed_out, 2, "the runaway and the stale report");
    let accounted: u64 = [
        stats.completed,
        stats.panicked,
        stats.cancelled,
        stats.timed_out,
        stats.queued,
        stats.running,
    ]
    .iter()
    .sum();
    assert_eq!(accounted, stats.submitted, "every job is accounted for");
    assert_eq!(
        stats.submitted as usize,
        background + batch_jobs + URGENT + 2
    );
}

/// When the job named `name` started, if it did.
fn started_at(log: &[(String, Priority, Duration)], name: &str) -> Option<Duration> {
    log.iter()
        .find(|(logged, _, _)| logged == name)
        .map(|&(_, _, at)| at)
}

/// The kind of a job: its name up to the `-` and number.
fn kind(name: &str) -> &str {
    name.rsplit_once('-')
        .filter(|(_, number)| number.parse::<usize>().is_ok())
        .map_or(name, |(kind, _)| kind)
}

/// Prints the order in which the jobs started, one line per run of jobs of one kind.
fn print_order(log: &[(String, Priority, Duration)], urgent_submitted: Duration) {
    println!("order of starts (time since the batch began):");
    let mut index = 0;
    while index < log.len() {
        let (first, priority, at) = &log[index];
        let mut end = index + 1;
        while end < log.len() && kind(&log[end].0) == kind(first) {
            end += 1;
        }
        let names = if end - index <= 4 {
            let run: Vec<&str> = log[index..end]
                .iter()
                .map(|(name, _, _)| &name[..])
                .collect();
            run.join(", ")
        } else {
            format!("{first} .. {}", log[end - 1].0)
        };
        let note = if kind(first) == "urgent" {
            format!("   <- submitted last, at {urgent_submitted:.1?}")
        } else {
            String::new()
        };
        println!(
            "  {:>4}-{:<4} {:>9.1?}  {names:<44} {priority:?}{note}",
            index + 1,
            end,
            at
        );
        index = end;
    }
}

/// The urgent requests were submitted while background and batch jobs were queued: they
/// must all have started before the last of those did.
fn check_urgent_overtook(log: &[(String, Priority, Duration)]) {
    let last = |wanted: &str| {
        log.iter()
            .rposition(|(name, _, _)| kind(name) == wanted)
            .expect("a job of that kind ran")
    };
    let (urgent, batch, background) = (last("urgent"), last("batch"), last("background"));
    assert!(
        urgent < batch && batch < background,
        "High before Normal before Low: the last urgent request started {}th, the last batch job {}th, the last background job {}th",
        urgent + 1,
        batch + 1,
        background + 1
    );
    println!(
        "the {URGENT} urgent requests overtook {} queued jobs; all of them started before the last Normal and Low jobs",
        log.len() - urgent - 1
    );
}
