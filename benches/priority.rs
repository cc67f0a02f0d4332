//! Priority lanes: how soon a job starts when 10,000 `Normal` jobs of about 10 us each are
//! queued before it, submitted as `High` against the same job submitted as `Normal`
//! (target: the `High` one starts within 50 us of its submission, at least 100x sooner).
//!
//! Each round builds a fresh pool, queues the 10,000 fillers from this thread (a busy loop,
//! `#[inline(never)]`, calibrated to about 10 us), waits until every worker runs one, then
//! submits the probe, a job whose first
//! act is to read the clock and the count of fillers started so far. Its latency is that
//! clock reading minus the one taken just before the probe's `spawn` call. Then
//! `shutdown_now` cancels what is still queued, so a round costs what it measures. The kinds
//! take turns, one round each (A B C A B C ...), so drifting load on this shared machine hits
//! them alike:
//!
//! - `High`, submitted from outside the pool;
//! - `High`, submitted from a worker thread (from inside a job that is itself `High`);
//! - `Normal`, submitted from outside the pool: it queues behind every filler.
//!
//! Not a criterion bench: each round measures one latency after 100 ms of set-up.
//!
//! `cargo bench --bench priority`

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use weft::{Priority, ThreadPool};

/// Fillers queued before the probe.
const FILLERS: u64 = 10_000;
/// How long one filler runs.
const FILLER_TIME: Duration = Duration::from_micros(10);
/// Rounds per kind.
const ROUNDS: usize = 41;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Probe {
    HighOutside,
    HighFromWorker,
    NormalOutside,
}

impl Probe {
    const ALL: [Probe; 3] = [
        Probe::HighOutside,
        Probe::HighFromWorker,
        Probe::NormalOutside,
    ];

    fn label(self) -> &'static str {
        match self {
            Probe::HighOutside => "High, submitted from outside",
            Probe::HighFromWorker => "High, submitted from a worker",
            Probe::NormalOutside => "Normal, submitted from outside",
        }
    }
}

/// What the probe saw when it started.
struct Started {
    at: Instant,
    fillers_started: u64,
}

/// One round: a fresh pool, the fillers, then the probe. Returns (latency from submission
/// to start, fillers started before the probe).
fn round(threads: usize, kind: Probe, spin_rounds: u64) -> (Duration, u64) {
    let pool = Arc::new(common::weft_pool(threads));
    let started = Arc::new(AtomicU64::new(0));
    let fillers: Vec<_> = (0..FILLERS)
        .map(|_| {
            let started = Arc::clone(&started);
            pool.spawn(move || {
                // ORDERING: a count for the report only; nothing is published through it.
                started.fetch_add(1, Ordering::Relaxed);
                common::spin_kernel(spin_rounds)
            })
        })
        .collect();
    // The pool is busy before the probe comes: every worker is inside a filler (on a loaded
    // machine the workers may not have run at all while this thread submitted).
    let busy_since = Instant::now();
    // ORDERING: a count only; the probe's timing does not depend on what it publishes.
    while started.load(Ordering::Relaxed) < threads as u64 {
        assert!(
            busy_since.elapsed() < Duration::from_secs(10),
            "the workers never started the fillers"
        );
        std::thread::yield_now();
    }
    let probe = {
        let started = Arc::clone(&started);
        move || Started {
            at: Instant::now(),
            // ORDERING: as above, a count for the report.
            fillers_started: started.load(Ordering::Relaxed),
        }
    };
    let (submitted, seen) = match kind {
        Probe::HighOutside | Probe::NormalOutside => {
            let priority = if kind == Probe::HighOutside {
                Priority::High
            } else {
                Priority::Normal
            };
            let submitted = Instant::now();
            let handle = pool.job().priority(priority).spawn(probe);
            (submitted, handle.join().expect("the probe runs"))
        }
        Probe::HighFromWorker => {
            let inner_pool = Arc::clone(&pool);
            let submitter = pool.job().priority(Priority::High).spawn(move || {
                let submitted = Instant::now();
                let handle = inner_pool.job().priority(Priority::High).spawn(probe);
                (submitted, handle)
            });
            let (submitted, handle) = submitter.join().expect("the submitter runs");
            (submitted, handle.join().expect("the probe runs"))
        }
    };
    drop(fillers);
    Arc::into_inner(pool)
        .expect("no job holds the pool any more")
        .shutdown_now();
    (
        seen.at.saturating_duration_since(submitted),
        seen.fillers_started,
    )
}

/// The fillers' own running time, on a worker (median of 200), to check the calibration.
fn filler_time(threads: usize, spin_rounds: u64) -> Duration {
    let pool: ThreadPool = common::weft_pool(threads);
    let mut times: Vec<f64> = (0..200)
        .map(|_| {
            pool.spawn(move || {
                let start = Instant::now();
                common::spin_kernel(spin_rounds);
                start.elapsed().as_nanos() as f64
            })
            .join()
            .expect("a filler runs")
        })
        .collect();
    Duration::from_nanos(common::percentiles(&mut times).p50 as u64)
}

fn main() {
    if !common::run_as_bench() {
        return;
    }
    let threads = common::threads();
    let spin_rounds = common::calibrate_spin(FILLER_TIME);
    println!(
        "priority lanes: a probe job queued behind {FILLERS} Normal jobs, pool of {threads} threads (load average {})",
        common::load_average()
    );
    println!(
        "  one filler runs {:.2?} on a worker (median of 200; aimed at {FILLER_TIME:?})",
        filler_time(threads, spin_rounds)
    );

    // One untimed round of each kind warms up code and allocator.
    for kind in Probe::ALL {
        round(threads, kind, spin_rounds);
    }
    let mut latencies: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); Probe::ALL.len()];
    let mut overtaken: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); Probe::ALL.len()];
    for _ in 0..ROUNDS {
        for (index, kind) in Probe::ALL.into_iter().enumerate() {
            let (latency, fillers_started) = round(threads, kind, spin_rounds);
            latencies[index].push(latency.as_nanos() as f64);
            overtaken[index].push((FILLERS - fillers_started.min(FILLERS)) as f64);
        }
    }

    common::percentiles_heading(&format!(
        "from submission to start, {ROUNDS} rounds taking turns"
    ));
    let p: Vec<_> = Probe::ALL
        .iter()
        .zip(latencies.iter_mut())
        .map(|(kind, samples)| common::print_percentiles(kind.label(), samples))
        .collect();
    println!("  fillers still queued (not started) when the probe started, p10 / p50 / p90:");
    for (kind, samples) in Probe::ALL.iter().zip(overtaken.iter_mut()) {
        let q = common::percentiles(samples);
        println!(
            "  {:<52} {:>10} {:>10} {:>10}",
            kind.label(),
            q.p10,
            q.p50,
            q.p90
        );
    }
    let high = p[0];
    let normal = p[2];
    println!(
        "  High from outside starts {:.0}x sooner than Normal (p50s; p90s: {:.0}x)   (target >= 100x)",
        normal.p50 / high.p50,
        normal.p90 / high.p90
    );
    println!(
        "  High from outside: p50 {}, p90 {} after submission   (target <= 50 us: {})",
        common::format_ns(high.p50),
        common::format_ns(high.p90),
        if high.p90 <= 50e3 {
            "met at p90"
        } else if high.p50 <= 50e3 {
            "met at p50, missed at p90"
        } else {
            "missed"
        }
    );
    println!(
        "  High from a worker: p50 {}, p90 {}; ratio High from outside / Normal (p50s) {:.5}x",
        common::format_ns(p[1].p50),
        common::format_ns(p[1].p90),
        high.p50 / normal.p50
    );
    println!("  load average at the end: {}", common::load_average());
}
