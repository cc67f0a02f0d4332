//! Wake latency: submit one job to an idle pool (its workers asleep) and get the result.
//! Before every timed iteration the bench sleeps 3 ms, untimed, so the workers of both
//! pools have gone to sleep; the time is the submit-wake-run-reply round trip.
//!
//! Criterion sizes its runs by the timed part only, so the warm-up and measurement times
//! below are short: the sleeps make the wall-clock time about 30x longer.
//!
//! `cargo bench --bench wake`

mod common;

use std::time::Duration;

use weft::ThreadPool;

const PAUSE: Duration = Duration::from_millis(3);

fn main() {
    let mut c = common::criterion()
        .warm_up_time(Duration::from_millis(40))
        .measurement_time(Duration::from_millis(120));
    let threads = common::threads();
    let (weft_pool, rayon_pool) = common::pools(threads);
    let pause = || std::thread::sleep(PAUSE);

    let mut group = c.benchmark_group("wake_idle_pool");
    group.bench_function("weft_spawn_join", |b| {
        common::bench_after_pause(b, "weft_spawn", pause, || {
            weft_pool.spawn(|| 1u64).join().unwrap()
        })
    });
    group.bench_function("weft_install", |b| {
        common::bench_after_pause(b, "weft_install", pause, || weft_pool.install(|| 1u64))
    });
    group.bench_function("rayon_install", |b| {
        common::bench_after_pause(b, "rayon_install", pause, || rayon_pool.install(|| 1u64))
    });
    group.finish();
    c.final_summary();

    common::summary_heading(&format!("wake latency, idle pool of {threads}"));
    common::print_time("weft spawn + join", "weft_spawn", 1);
    common::print_time("weft install", "weft_install", 1);
    common::print_time("rayon install", "rayon_install", 1);
    common::print_ratio(
        "weft spawn+join / rayon install",
        ("weft_spawn", 1),
        ("rayon_install", 1),
        Some("<= 0.25"),
    );
    common::print_ratio(
        "weft install / rayon install",
        ("weft_install", 1),
        ("rayon_install", 1),
        Some("<= 0.25"),
    );
    interleaved_percentiles(&weft_pool, &rayon_pool);
}

/// Criterion averages the iterations of a sample, so one preemption on a busy machine
/// moves a whole sample. Here every round trip is timed on its own, the three kinds take
/// turns (so drifting background load hits them alike), and the percentiles are printed.
fn interleaved_percentiles(weft_pool: &ThreadPool, rayon_pool: &rayon::ThreadPool) {
    const ROUNDS: usize = 300;
    let mut times: [Vec<f64>; 3] = Default::default();
    for _ in 0..ROUNDS {
        for (kind, samples) in times.iter_mut().enumerate() {
            std::thread::sleep(PAUSE);
            let start = std::time::Instant::now();
            let value = match kind {
                0 => weft_pool.spawn(|| 1u64).join().unwrap(),
                1 => weft_pool.install(|| 1u64),
                _ => rayon_pool.install(|| 1u64),
            };
            samples.push(start.elapsed().as_nanos() as f64);
            assert_eq!(value, 1);
        }
    }
    println!("  per round trip, {ROUNDS} rounds taking turns:      p10        p50        p90");
    let mut medians = [0.0; 3];
    for (index, (label, samples)) in ["weft spawn + join", "weft install", "rayon install"]
        .iter()
        .zip(times.iter_mut())
        .enumerate()
    {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        medians[index] = at(0.5);
        println!(
            "  {label:<44} {:>10} {:>10} {:>10}",
            common::format_ns(at(0.1)),
            common::format_ns(at(0.5)),
            common::format_ns(at(0.9))
        );
    }
    println!(
        "  ratio of p50s: weft spawn+join / rayon install {:.3}x, weft install / rayon install {:.3}x   (target <= 0.25)",
        medians[0] / medians[2],
        medians[1] / medians[2]
    );
}
