//! Idle pool: CPU time an idle pool burns in one second, weft against rayon (target: under
//! 1 ms in total). Not a criterion bench: it measures CPU time, not wall time, and prints
//! the figures.
//!
//! CPU time is the sum over the process's threads of `/proc/self/task/*/schedstat`'s first
//! field (nanoseconds on a CPU), read before and after a 1 s sleep of the main thread. Each
//! pool is measured twice: fresh (built, one job run, then 200 ms to settle before the
//! second starts) and right after a job (the second starts as the job returns, so it
//! includes the workers spinning down and going to sleep).
//!
//! `cargo bench --bench idle`

mod common;

use std::time::Duration;

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

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  weft idle CPU: {:.3} ms settled, {:.3} ms after a job (target < 1 ms); rayon {:.3} / {:.3} ms",
        ms(weft_settled),
        ms(weft_after_job),
        ms(rayon_settled),
        ms(rayon_after_job)
    );
}
