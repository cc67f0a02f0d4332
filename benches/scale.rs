//! Scale: what a pool costs as its thread count grows (issue 10, fault 5). Targets:
//!
//! - build + drop of a 1024-thread pool under 100 ms (also measured: 256 and 2 threads, and
//!   as the floor, 1024 plain `std::thread`s spawned and joined);
//! - an idle 1024-thread pool under 2 ms of CPU per second (rayon's idle 1024-thread pool
//!   beside it);
//! - spawn + join latency on a 256-thread pool within 2x of a 2-thread pool's (also 1024).
//!
//! Each round, with fresh pools, one after the other (never two weft pools at once, so an
//! idle pool's CPU use cannot slow another's figures):
//!
//! 1. an idle window with no pool at all (the baseline);
//! 2. for 2, 256 and 1024 threads: build the pool (timed), run one job, let it settle
//!    200 ms, an idle window; for 1024 also the next second's window and one right after a
//!    job; spawn + join round trips from this thread, each timed alone, back to back and
//!    after a 3 ms pause (the workers asleep); drop the pool (timed);
//! 3. rayon's 1024-thread pool: built, one `install`, 200 ms to settle, two idle windows;
//! 4. 1024 plain `std::thread`s spawned and joined (timed): the floor for build + drop.
//!
//! An idle window is `getrusage(RUSAGE_SELF)` (user + system CPU of every thread of the
//! process, finished ones included) read before and after a 1 s sleep of this thread; the
//! figures are net of the baseline's median. Rounds stop after `MIN_ROUNDS` once
//! `BUDGET` has gone, and each pool's round trips stop after `LATENCY_BUDGET`, so a slow
//! engine makes the bench report fewer samples rather than run for many minutes.
//!
//! It starts 1024 threads at a time (never more than 1025 at once), so it runs only under
//! `cargo bench`, never as a test.
//!
//! `cargo bench --bench scale`

mod common;

use std::time::{Duration, Instant};

use weft::ThreadPool;

const SIZES: [usize; 3] = [2, 256, 1024];
const MAX_ROUNDS: usize = 5;
const MIN_ROUNDS: usize = 2;
/// No round starts after this much time has gone (once `MIN_ROUNDS` are done).
const BUDGET: Duration = Duration::from_secs(60);
const IDLE_WINDOW: Duration = Duration::from_secs(1);
const SETTLE: Duration = Duration::from_millis(200);
/// Back-to-back round trips per pool per round (each timed on its own).
const BACK_TO_BACK: usize = 300;
/// Round trips after a pause (the workers asleep) per pool per round.
const AFTER_PAUSE: usize = 40;
const PAUSE: Duration = Duration::from_millis(3);
/// Each kind of round trip stops after this long in a round.
const LATENCY_BUDGET: Duration = Duration::from_millis(1500);

/// User + system CPU time of the whole process so far.
fn process_cpu() -> Duration {
    // SAFETY: `rusage` is plain old data (integers and timevals); all-zero bytes are a
    // valid value of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call to fill in.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(status, 0, "getrusage(RUSAGE_SELF) failed");
    let micros = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// CPU time of the process over `IDLE_WINDOW` of sleep of this thread, in nanoseconds.
fn idle_window_cpu() -> f64 {
    let before = process_cpu();
    std::thread::sleep(IDLE_WINDOW);
    process_cpu().saturating_sub(before).as_nanos() as f64
}

/// Spawn + join round trips from this thread, each timed alone, `count` of them or until
/// `LATENCY_BUDGET` has gone, after `pause` each.
fn round_trips(pool: &ThreadPool, count: usize, pause: Duration, samples: &mut Vec<f64>) {
    let began = Instant::now();
    for _ in 0..count {
        if began.elapsed() > LATENCY_BUDGET {
            break;
        }
        std::thread::sleep(pause);
        let start = Instant::now();
        let value = pool.spawn(|| 1u64).join().expect("a job");
        samples.push(start.elapsed().as_nanos() as f64);
        assert_eq!(value, 1);
    }
}

/// Everything measured, in nanoseconds.
#[derive(Default)]
struct Figures {
    baseline_cpu: Vec<f64>,
    build: [Vec<f64>; 3],
    drop: [Vec<f64>; 3],
    build_and_drop: [Vec<f64>; 3],
    idle_cpu: [Vec<f64>; 3],
    idle_cpu_second_later: Vec<f64>,
    idle_cpu_after_job: Vec<f64>,
    back_to_back: [Vec<f64>; 3],
    after_pause: [Vec<f64>; 3],
    rayon_idle_cpu: Vec<f64>,
    rayon_idle_cpu_second_later: Vec<f64>,
    plain_threads: Vec<f64>,
}

fn round(figures: &mut Figures) {
    figures.baseline_cpu.push(idle_window_cpu());
    for (index, &size) in SIZES.iter().enumerate() {
        let start = Instant::now();
        let pool = ThreadPool::new(size).expect("build the pool");
        let built = start.elapsed();
        pool.spawn(|| 1).join().expect("a job");
        std::thread::sleep(SETTLE);
        figures.idle_cpu[index].push(idle_window_cpu());
        if size == 1024 {
            figures.idle_cpu_second_later.push(idle_window_cpu());
            pool.spawn(|| 1).join().expect("a job");
            figures.idle_cpu_after_job.push(idle_window_cpu());
        }
        round_trips(
            &pool,
            BACK_TO_BACK,
            Duration::ZERO,
            &mut figures.back_to_back[index],
        );
        round_trips(&pool, AFTER_PAUSE, PAUSE, &mut figures.after_pause[index]);
        let start = Instant::now();
        drop(pool);
        let gone = start.elapsed();
        figures.build[index].push(built.as_nanos() as f64);
        figures.drop[index].push(gone.as_nanos() as f64);
        figures.build_and_drop[index].push((built + gone).as_nanos() as f64);
    }

    let pool = common::rayon_pool(1024);
    pool.install(|| 1);
    std::thread::sleep(SETTLE);
    figures.rayon_idle_cpu.push(idle_window_cpu());
    figures.rayon_idle_cpu_second_later.push(idle_window_cpu());
    drop(pool);
    // rayon's drop does not wait for its threads: let them exit before what follows.
    std::thread::sleep(Duration::from_millis(500));

    let start = Instant::now();
    let threads: Vec<_> = (0..1024).map(|_| std::thread::spawn(|| {})).collect();
    for thread in threads {
        thread.join().expect("a plain thread");
    }
    figures
        .plain_threads
        .push(start.elapsed().as_nanos() as f64);
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

fn report(figures: &mut Figures, rounds: usize) {
    println!();
    common::percentiles_heading(&format!(
        "build and drop ({rounds} rounds; drop after the round's measurements)"
    ));
    let mut build_and_drop = Vec::new();
    for (index, size) in SIZES.iter().enumerate() {
        common::print_percentiles(
            &format!("weft {size:>4} threads: build"),
            &mut figures.build[index],
        );
        common::print_percentiles(
            &format!("weft {size:>4} threads: drop"),
            &mut figures.drop[index],
        );
        build_and_drop.push(common::print_percentiles(
            &format!("weft {size:>4} threads: build + drop"),
            &mut figures.build_and_drop[index],
        ));
    }
    let plain = common::print_percentiles(
        "1024 plain std threads: spawn + join",
        &mut figures.plain_threads,
    );
    let big = build_and_drop[2];
    println!(
        "  1024 threads build + drop: p50 {}, max {} ({:.2}x the plain threads' p50)   (target < 100 ms: {})",
        common::format_ns(big.p50),
        common::format_ns(big.max),
        big.p50 / plain.p50,
        verdict(big.max < 100e6)
    );

    println!();
    println!("  idle CPU over {IDLE_WINDOW:?} (getrusage, the whole process), ms:");
    let baseline = common::percentiles(&mut figures.baseline_cpu).p50;
    let line = |label: &str, samples: &mut Vec<f64>| -> f64 {
        let each: Vec<String> = samples.iter().map(|v| format!("{:.3}", v / 1e6)).collect();
        let median = common::percentiles(samples).p50;
        let net = (median - baseline).max(0.0) / 1e6;
        println!(
            "  {label:<44} rounds: {:<32} net of the baseline: {net:.3}",
            each.join(" ")
        );
        net
    };
    line(
        "no pool at all (the baseline)",
        &mut figures.baseline_cpu.clone(),
    );
    let mut idle = Vec::new();
    for (index, size) in SIZES.iter().enumerate() {
        idle.push(line(
            &format!("weft {size:>4} threads, settled"),
            &mut figures.idle_cpu[index],
        ));
    }
    let second_later = line(
        "weft 1024 threads, settled, the next second",
        &mut figures.idle_cpu_second_later,
    );
    let after_job = line(
        "weft 1024 threads, right after a job",
        &mut figures.idle_cpu_after_job,
    );
    let rayon = line("rayon 1024 threads, settled", &mut figures.rayon_idle_cpu);
    let rayon_later = line(
        "rayon 1024 threads, settled, the next second",
        &mut figures.rayon_idle_cpu_second_later,
    );
    println!(
        "  weft 1024 idle: {:.3} ms settled, {second_later:.3} ms the next second, {after_job:.3} ms right after a job; rayon {rayon:.3} / {rayon_later:.3} ms   (target < 2 ms: {})",
        idle[2],
        verdict(idle[2] < 2.0 && second_later < 2.0 && after_job < 2.0)
    );

    println!();
    common::percentiles_heading("spawn + join from outside, each round trip timed alone");
    let mut back = Vec::new();
    let mut pause = Vec::new();
    for (index, size) in SIZES.iter().enumerate() {
        back.push(common::print_percentiles(
            &format!("weft {size:>4} threads, back to back"),
            &mut figures.back_to_back[index],
        ));
        pause.push(common::print_percentiles(
            &format!("weft {size:>4} threads, after a {PAUSE:?} pause"),
            &mut figures.after_pause[index],
        ));
    }
    for (index, size) in SIZES.iter().enumerate().skip(1) {
        let b = back[index].p50 / back[0].p50;
        let p = pause[index].p50 / pause[0].p50;
        println!(
            "  ratio {size} / 2 threads (p50s): back to back {b:.2}x, after a pause {p:.2}x   (target <= 2x{})",
            if *size == 256 {
                format!(": {}", verdict(b <= 2.0 && p <= 2.0))
            } else {
                " at 256; 1024 for the record".to_owned()
            }
        );
    }
    println!(
        "  samples: back to back {:?}, after a pause {:?} (per size; each kind stops after {LATENCY_BUDGET:?} a round)",
        figures
            .back_to_back
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        figures.after_pause.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

fn main() {
    if !common::run_as_bench() {
        return;
    }
    println!(
        "scale: pools of 2, 256 and 1024 threads, one at a time (load average {})",
        common::load_average()
    );
    let started = Instant::now();
    let mut figures = Figures::default();
    let mut rounds = 0;
    while rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || started.elapsed() < BUDGET) {
        let began = Instant::now();
        round(&mut figures);
        rounds += 1;
        println!(
            "  round {rounds} took {:.1?} (load average {})",
            began.elapsed(),
            common::load_average()
        );
    }
    report(&mut figures, rounds);
    println!();
    println!(
        "scale bench took {:.1?} (load average now {})",
        started.elapsed(),
        common::load_average()
    );
}
