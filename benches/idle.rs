//! Idle pool: CPU time an idle pool burns in one second, weft against rayon (target: under
//! 0.5 ms in total, with or without timed jobs far in the future). Not a criterion bench: it
//! measures CPU time, not wall time, and prints the figures.
//!
//! CPU time is the sum over the process's threads of `/proc/self/task/*/schedstat`'s first
//! field (nanoseconds on a CPU), read before and after a 1 s sleep of the main thread. Each
//! pool is measured twice: fresh (built, one job run, then 200 ms to settle before the
//! second starts) and right after a job (the second starts as the job returns, so it
//! includes the workers spinning down and going to sleep).
//!
//! Then two weft pools with timers (issue 11): one that has run a timed job (its timer
//! thread started, no entries left), and one whose every worker is held, blocked in a plain
//! channel, by a job with `timeout(1 h)`, with a job of `queue_timeout(1 h)` queued behind
//! them: a timer entry per worker and one more, none due.
//!
//! `cargo bench --bench idle`

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft::ThreadPool;

const WINDOW: Duration = Duration::from_secs(1);

/// Nanoseconds on a CPU, summed over the process's threads now.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// CPU time of the process during a `WINDOW` sleep of the calling thread.
fn idle_cpu(settle: Duration) -> Duration {
    idle_cpu_for(settle, WINDOW)
}

fn idle_cpu_for(settle: Duration, window: Duration) -> Duration {
    std::thread::sleep(settle);
    let before = process_cpu_ns();
    std::thread::sleep(window);
    Duration::from_nanos(process_cpu_ns().saturating_sub(before))
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let threads = common::threads();
    println!("idle pool of {threads} threads, CPU time over {WINDOW:?} (the whole process)");
    // Warm up the /proc reading itself (code pages, first allocations).
    idle_cpu_for(Duration::ZERO, Duration::from_millis(10));

    let baseline = idle_cpu(Duration::ZERO);
    println!("  no pool at all                       {:>10.3?}", baseline);

    let weft_pool = common::weft_pool(threads);
    weft_pool.spawn(|| 1).join().unwrap();
    let weft_settled = idle_cpu(Duration::from_millis(200));
    weft_pool.spawn(|| 1).join().unwrap();
    let weft_after_job = idle_cpu(Duration::ZERO);
    println!("  weft, settled                        {weft_settled:>10.3?}");
    println!("  weft, right after a job              {weft_after_job:>10.3?}");
    drop(weft_pool);

    let rayon_pool = common::rayon_pool(threads);
    rayon_pool.install(|| 1);
    let rayon_settled = idle_cpu(Duration::from_millis(200));
    rayon_pool.install(|| 1);
    let rayon_after_job = idle_cpu(Duration::ZERO);
    println!("  rayon, settled                       {rayon_settled:>10.3?}");
    println!("  rayon, right after a job             {rayon_after_job:>10.3?}");

    drop(rayon_pool);
    // rayon's drop does not wait for its threads: let them exit before the next window.
    std::thread::sleep(Duration::from_millis(200));

    let weft_pool = common::weft_pool(threads);
    weft_pool
        .job()
        .timeout(Duration::from_secs(3600))
        .spawn(|| 1)
        .join()
        .unwrap();
    let weft_timer_started = idle_cpu(Duration::from_millis(200));
    println!("  weft, after a timed job (timer idle) {weft_timer_started:>10.3?}");
    drop(weft_pool);

    let weft_timers_armed = with_timers_armed(threads);
    println!(
        "  {:<36} {weft_timers_armed:>10.3?}",
        format!("weft, {} timed jobs due in an hour", threads + 1)
    );

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  weft idle CPU: {:.3} ms settled, {:.3} ms after a job, {:.3} ms with a timer thread, {:.3} ms with timers armed (target < 0.5 ms); rayon {:.3} / {:.3} ms",
        ms(weft_settled),
        ms(weft_after_job),
        ms(weft_timer_started),
        ms(weft_timers_armed),
        ms(rayon_settled),
        ms(rayon_after_job)
    );
}

/// The idle CPU of a pool whose every worker is held by a job with a run timeout of an hour
/// (blocked in a plain channel, so the pool sees a running job, not a wait), with a job of
/// queue timeout an hour queued behind them.
fn with_timers_armed(threads: usize) -> Duration {
    let pool: ThreadPool = common::weft_pool(threads);
    let hour = Duration::from_secs(3600);
    let (release, held) = mpsc::channel::<()>();
    let held = Arc::new(Mutex::new(held));
    let (arrived_tx, arrived) = mpsc::channel();
    let holders: Vec<_> = (0..threads)
        .map(|_| {
            let held = Arc::clone(&held);
            let arrived_tx = arrived_tx.clone();
            pool.job().timeout(hour).spawn(move || {
                arrived_tx.send(()).unwrap();
                let _ = held.lock().unwrap().recv();
            })
        })
        .collect();
    for _ in 0..threads {
        arrived.recv().unwrap();
    }
    let queued = pool.job().queue_timeout(hour).spawn(|| 2);
    let cpu = idle_cpu(Duration::from_millis(200));
    let stats = pool.stats();
    assert_eq!(
        (stats.running, stats.queued),
        (threads as u64, 1),
        "every worker held, one job queued"
    );
    for _ in 0..threads {
        release.send(()).unwrap();
    }
    for holder in holders {
        holder.join().unwrap();
    }
    assert_eq!(queued.join().unwrap(), 2);
    cpu
}
