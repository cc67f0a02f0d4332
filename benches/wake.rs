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
    let weft_pool = ThreadPool::new(threads).unwrap();
    let rayon_pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let pause = || std::thread::sleep(PAUSE);

    let mut group = c.benchmark_group("wake_idle_pool");
    group.bench_function("weft_spawn_join", |b| {
        common::bench_after_pause(b, "weft_spawn", pause, || weft_pool.spawn(|| 1u64).join().unwrap())
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
    common::print_ratio("weft spawn+join / rayon install", ("weft_spawn", 1), ("rayon_install", 1), Some("<= 1.0"));
    common::print_ratio("weft install / rayon install", ("weft_install", 1), ("rayon_install", 1), Some("<= 1.0"));
}
