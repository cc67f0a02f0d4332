//! Timeout lateness: how long after its deadline a timed-out job's `join` returns
//! `TimedOut` (target: a job of 500 ms with `timeout(20 ms)` has its `join` return within
//! 25 ms of the job's start, i.e. at most 5 ms late).
//!
//! Run timeouts count from the job's start, which the job itself records (its first act is
//! to read the clock); the lateness is the moment `join` returns in the submitting thread,
//! blocked in it since the spawn, minus (start + 20 ms). Four kinds, each round on a fresh
//! pool of the machine's thread count, taking turns (A B C D A B C D ...):
//!
//! - `run, idle pool`: a job of 500 ms of busy loop that checks `weft::is_cancelled()`
//!   every 100 us and stops when it turns true (as a cooperative job does); the pool's
//!   other workers are idle.
//! - `run, busy pool`: the same, while every other worker runs a busy loop until the round
//!   ends, so the timer thread competes for the CPUs with spinning workers.
//! - `run, runaway`: a job of 500 ms of busy loop that never looks at `is_cancelled`: the
//!   handle still resolves at the deadline, and the pool waits out the job when it is
//!   dropped (fewer rounds: each costs 500 ms).
//! - `queue`: every worker is held (blocked on a channel), then a job with
//!   `queue_timeout(20 ms)` is queued; its lateness counts from the moment just before its
//!   `spawn` call, and it must never run.
//!
//! Not a criterion bench: each round measures one event.
//!
//! `cargo bench --bench timeouts`

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use weft::{JobError, Priority};

const DEADLINE: Duration = Duration::from_millis(20);
const JOB_TIME: Duration = Duration::from_millis(500);
/// The target: `join` returns within this much of the job's start.
const WITHIN: Duration = Duration::from_millis(25);
const ROUNDS: usize = 40;
const RUNAWAY_ROUNDS: usize = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    RunIdle,
    RunBusy,
    Runaway,
    Queue,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::RunIdle, Kind::RunBusy, Kind::Runaway, Kind::Queue];

    fn label(self) -> &'static str {
        match self {
            Kind::RunIdle => "run timeout, idle pool, job checks is_cancelled",
            Kind::RunBusy => "run timeout, busy pool, job checks is_cancelled",
            Kind::Runaway => "run timeout, runaway job (never checks)",
            Kind::Queue => "queue timeout, every worker held",
        }
    }
}

/// Busy loop for `time`, or until the job is cancelled when `cooperative`; checks every
/// ~100 us. Returns when it saw the cancellation, if it did.
fn work(time: Duration, cooperative: bool, chunk: u64) -> Option<Instant> {
    let start = Instant::now();
    while start.elapsed() < time {
        if cooperative && weft::is_cancelled() {
            return Some(Instant::now());
        }
        common::spin_kernel(chunk);
    }
    None
}

/// How late things happened after a deadline.
struct Late {
    /// `join` returned `TimedOut` in the waiting thread.
    join: Duration,
    /// The job saw `weft::is_cancelled()` turn true (cooperative jobs only): about when the
    /// timer thread fired, give or take the job's 100 us between checks.
    seen: Option<Duration>,
}

/// One run-timeout round: how late `join` returned after the job's start + `DEADLINE`.
fn run_round(threads: usize, kind: Kind, chunk: u64) -> Late {
    let pool = common::weft_pool(threads);
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = if kind == Kind::RunBusy {
        (1..threads)
            .map(|_| {
                let stop = Arc::clone(&stop);
                pool.job().priority(Priority::High).spawn(move || {
                    // ORDERING: a flag with no data behind it.
                    while !stop.load(Ordering::Relaxed) {
                        common::spin_kernel(chunk);
                    }
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let started_at = Arc::new(OnceLock::new());
    let seen_at = Arc::new(OnceLock::new());
    let cooperative = kind != Kind::Runaway;
    let handle = {
        let (started_at, seen_at) = (Arc::clone(&started_at), Arc::clone(&seen_at));
        pool.job().timeout(DEADLINE).spawn(move || {
            started_at.set(Instant::now()).expect("the job starts once");
            if let Some(seen) = work(JOB_TIME, cooperative, chunk) {
                seen_at.set(seen).expect("the job ends once");
            }
        })
    };
    let outcome = handle.join();
    let returned = Instant::now();
    // ORDERING: as above.
    stop.store(true, Ordering::Relaxed);
    match outcome {
        Err(JobError::TimedOut) => {}
        Err(error) => panic!("the job should time out, not fail with {error}"),
        Ok(()) => panic!("the job should time out, not finish"),
    }
    let start = *started_at
        .get()
        .expect("a job timed out while running has started");
    for spinner in spinners {
        spinner.join().expect("a spinner finishes");
    }
    drop(pool);
    let deadline = start + DEADLINE;
    Late {
        join: returned.saturating_duration_since(deadline),
        seen: seen_at
            .get()
            .map(|seen| seen.saturating_duration_since(deadline)),
    }
}

/// One queue-timeout round: how late `join` returned after the submission + `DEADLINE`.
fn queue_round(threads: usize) -> Duration {
    let pool = common::weft_pool(threads);
    let (release, held) = mpsc::channel::<()>();
    let held = Arc::new(std::sync::Mutex::new(held));
    let (arrived_tx, arrived) = mpsc::channel();
    let holders: Vec<_> = (0..threads)
        .map(|_| {
            let held = Arc::clone(&held);
            let arrived_tx = arrived_tx.clone();
            pool.spawn(move || {
                arrived_tx.send(()).expect("the bench waits for it");
                // Blocked in a plain channel: the pool does not know, so no spare steps in.
                let _ = held.lock().expect("not poisoned").recv();
            })
        })
        .collect();
    // The holder that has the lock blocks in `recv`; the others block on the lock.
    for _ in 0..threads {
        arrived.recv().expect("every holder starts");
    }
    let ran = Arc::new(AtomicBool::new(false));
    let submitted = Instant::now();
    let handle = {
        let ran = Arc::clone(&ran);
        // ORDERING: read after `join` below, which synchronises with the job's end.
        pool.job()
            .queue_timeout(DEADLINE)
            .spawn(move || ran.store(true, Ordering::Relaxed))
    };
    let outcome = handle.join();
    let returned = Instant::now();
    assert!(
        matches!(outcome, Err(JobError::TimedOut)),
        "the queued job should expire"
    );
    for _ in 0..threads {
        release.send(()).expect("a holder waits");
    }
    for holder in holders {
        holder.join().expect("a holder finishes");
    }
    let stats = pool.stats();
    drop(pool);
    // ORDERING: every job has finished (the pool is dropped).
    assert!(
        !ran.load(Ordering::Relaxed),
        "a queue-expired job never runs"
    );
    assert_eq!(
        stats.timed_out, 1,
        "the expired job is counted as timed out"
    );
    returned.saturating_duration_since(submitted + DEADLINE)
}

fn main() {
    if !common::run_as_bench() {
        return;
    }
    let threads = common::threads();
    let chunk = common::calibrate_spin(Duration::from_micros(100));
    println!(
        "timeout lateness: {DEADLINE:?} timeouts, pool of {threads} threads (load average {})",
        common::load_average()
    );
    let one = |kind: Kind| match kind {
        Kind::Queue => Late {
            join: queue_round(threads),
            seen: None,
        },
        _ => run_round(threads, kind, chunk),
    };
    // One untimed round of the cheap kinds warms up the code.
    for kind in [Kind::RunIdle, Kind::RunBusy, Kind::Queue] {
        one(kind);
    }
    let mut late: Vec<Vec<f64>> = vec![Vec::new(); Kind::ALL.len()];
    let mut seen: Vec<Vec<f64>> = vec![Vec::new(); Kind::ALL.len()];
    for round in 0..ROUNDS {
        for (index, kind) in Kind::ALL.into_iter().enumerate() {
            if kind == Kind::Runaway && round % (ROUNDS / RUNAWAY_ROUNDS) != 0 {
                continue;
            }
            let figures = one(kind);
            late[index].push(figures.join.as_nanos() as f64);
            if let Some(at) = figures.seen {
                seen[index].push(at.as_nanos() as f64);
            }
        }
    }
    common::percentiles_heading(&format!(
        "how late join returned TimedOut after the deadline (rounds: {ROUNDS}, runaway {RUNAWAY_ROUNDS})"
    ));
    let figures: Vec<_> = Kind::ALL
        .iter()
        .zip(late.iter_mut())
        .map(|(kind, samples)| (kind, common::print_percentiles(kind.label(), samples)))
        .collect();
    println!("  how late the job saw weft::is_cancelled() turn true (it checks every 100 us):");
    for (kind, samples) in Kind::ALL.iter().zip(seen.iter_mut()) {
        if !samples.is_empty() {
            common::print_percentiles(kind.label(), samples);
        }
    }
    let budget = (WITHIN - DEADLINE).as_nanos() as f64;
    for (kind, p) in figures {
        println!(
            "  {:<52} join returns {} (p90 {}, max {}) after the {}   (target <= {}: {})",
            kind.label(),
            common::format_ns(DEADLINE.as_nanos() as f64 + p.p50),
            common::format_ns(DEADLINE.as_nanos() as f64 + p.p90),
            common::format_ns(DEADLINE.as_nanos() as f64 + p.max),
            if *kind == Kind::Queue {
                "submission"
            } else {
                "job's start"
            },
            common::format_ns(WITHIN.as_nanos() as f64),
            if p.max <= budget {
                "met at max"
            } else if p.p90 <= budget {
                "met at p90"
            } else if p.p50 <= budget {
                "met at p50 only"
            } else {
                "missed"
            }
        );
    }
    println!("  load average at the end: {}", common::load_average());
}
