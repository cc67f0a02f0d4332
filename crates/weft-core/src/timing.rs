//! `record_timing`: wait and run times of detached jobs, in log-bucketed histograms kept per
//! thread slot, summed into [`Timing`] summaries by `stats()`.
//!
//! # Recording
//!
//! A detached job's submission time (a [`Clock`] reading) is written into the job when it
//! is allocated (`job/heap.rs`, in the job's outcome cell, which is unused until the job
//! ends); the thread that starts the job reads the clock again, records `start -
//! submission` as the job's wait, runs it, and records `end - start` as its run: three
//! clock reads per job.
//! Each thread slot (worker threads, then spares) has its own pair of histograms, written
//! only by that slot's thread with plain loads and stores (no RMW, no lock, no shared cache
//! line); a slot's histograms are allocated the first time its thread records.
//!
//! # Buckets
//!
//! Durations are recorded in clock ticks (nanoseconds, or time-stamp counter ticks of
//! about 0.3 to 0.5 ns) and turned into time when summarised. Values below 16 ticks have a
//! bucket each; above, every power of two is split into 16 buckets, so a bucket spans at
//! most 1/16 of its lower bound and a percentile read from its midpoint is off by at most
//! about 3%. Values from 2^44 ticks (hours) up share the last bucket (the maximum is kept
//! exactly). 656 buckets, about 5 KiB per histogram.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::stats::Timing;
use crate::sync::{AtomicU64, Ordering};

/// Sub-buckets per power of two, as bits.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// The largest power of two with buckets of its own.
const MAX_EXP: u32 = 43;
const BUCKETS: usize = SUB + (MAX_EXP - SUB_BITS + 1) as usize * SUB;

/// The bucket of `value`.
fn bucket(value: u64) -> usize {
    if value < SUB as u64 {
        return value as usize;
    }
    let exp = 63 - value.leading_zeros();
    if exp > MAX_EXP {
        return BUCKETS - 1;
    }
    let mantissa = (value >> (exp - SUB_BITS)) as usize & (SUB - 1);
    SUB + (exp - SUB_BITS) as usize * SUB + mantissa
}

/// The smallest and largest value of bucket `index` (the last bucket is open-ended: its
/// upper bound is `u64::MAX`).
fn bucket_bounds(index: usize) -> (u64, u64) {
    if index < SUB {
        return (index as u64, index as u64);
    }
    if index == BUCKETS - 1 {
        return (((2 * SUB - 1) as u64) << (MAX_EXP - SUB_BITS), u64::MAX);
    }
    let shift = ((index - SUB) / SUB) as u32;
    let mantissa = ((index - SUB) % SUB) as u64;
    let low = (SUB as u64 + mantissa) << shift;
    (low, low + (1u64 << shift) - 1)
}

/// Single-writer increment: a load and a store (see `stats.rs`'s `bump`).
#[inline]
fn bump(counter: &AtomicU64, by: u64) {
    // ORDERING: Relaxed: only the slot's thread writes, so it reads its own last store.
    let value = counter.load(Ordering::Relaxed).wrapping_add(by);
    // ORDERING: Relaxed: readers sum a statistic and need no order between its counters (a
    // snapshot taken while jobs run may be a little smeared).
    counter.store(value, Ordering::Relaxed);
}

#[inline]
fn read(counter: &AtomicU64) -> u64 {
    // ORDERING: Relaxed: see `bump`.
    counter.load(Ordering::Relaxed)
}

/// One histogram of durations in clock ticks, written by one thread.
struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum: AtomicU64,
    max: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    #[inline]
    fn record(&self, ticks: u64) {
        bump(&self.buckets[bucket(ticks)], 1);
        bump(&self.sum, ticks);
        if ticks > read(&self.max) {
            // ORDERING: Relaxed: single writer, see `bump`.
            self.max.store(ticks, Ordering::Relaxed);
        }
    }
}

/// The two histograms of one thread slot.
struct SlotTiming {
    wait: Histogram,
    run: Histogram,
}

/// A running job's start, from [`Timings::start`].
pub(crate) struct Stopwatch<'a> {
    clock: &'a Clock,
    slot: &'a SlotTiming,
    start: u64,
}

impl Stopwatch<'_> {
    /// The job ended: records its run.
    #[inline]
    pub(crate) fn stop(self) {
        let end = self.clock.now();
        self.slot.run.record(end.saturating_sub(self.start));
    }
}

/// Which of a job's durations.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Span {
    /// Submission to start.
    Wait,
    /// Start to end.
    Run,
}

/// The clock of the records: the CPU's time-stamp counter where it runs at a constant rate
/// (x86_64 with an invariant TSC: one instruction, about 20 ns here, where `Instant::now`
/// takes 50 to 100 ns in this VM), else the system's monotonic clock in nanoseconds since
/// the pool's epoch (also under miri, which has no time-stamp counter). Counter ticks
/// become time with a rate measured against the system clock when a summary is made, over
/// the pool's whole life so far.
#[derive(Debug)]
enum Clock {
    /// Time-stamp counter ticks; the counter and the system clock read together at the start.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    Tsc { origin: Instant, origin_ticks: u64 },
    /// Nanoseconds since `epoch`.
    System { epoch: Instant },
}

impl Clock {
    fn new(epoch: Instant) -> Self {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if has_invariant_tsc() {
            let (origin, origin_ticks) = instant_and_ticks();
            return Clock::Tsc {
                origin,
                origin_ticks,
            };
        }
        Clock::System { epoch }
    }

    #[inline]
    fn now(&self) -> u64 {
        match self {
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            Clock::Tsc { .. } => tsc(),
            Clock::System { epoch } => {
                u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
            }
        }
    }

    /// Nanoseconds per tick.
    fn nanos_per_tick(&self) -> f64 {
        match self {
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            Clock::Tsc {
                origin,
                origin_ticks,
            } => {
                let (now, ticks) = instant_and_ticks();
                let ticks = ticks.saturating_sub(*origin_ticks);
                if ticks == 0 {
                    return 1.0;
                }
                now.duration_since(*origin).as_nanos() as f64 / ticks as f64
            }
            Clock::System { .. } => 1.0,
        }
    }
}

/// The time-stamp counter.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline]
fn tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86_64 CPU and has no preconditions.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// The system clock and the time-stamp counter read together (the counter at the midpoint
/// of two reads around the clock's).
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn instant_and_ticks() -> (Instant, u64) {
    let before = tsc();
    let now = Instant::now();
    let after = tsc();
    (now, before + (after.saturating_sub(before)) / 2)
}

/// `true` if the time-stamp counter runs at a constant rate in every power state (CPUID
/// 0x8000_0007, EDX bit 8): then its ticks measure time.
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn has_invariant_tsc() -> bool {
    use std::arch::x86_64::__cpuid;
    // SAFETY: `cpuid` exists on every x86_64 CPU; leaf 0x8000_0000 says how many extended
    // leaves there are, and 0x8000_0007 is read only if it is one of them. (`__cpuid` is a
    // safe function from Rust 1.87 on; older compilers need the block.)
    #[allow(unused_unsafe)]
    unsafe {
        __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
    }
}

/// A pool's timing records, one slot per thread slot.
pub(crate) struct Timings {
    clock: Clock,
    slots: Box<[OnceLock<Box<SlotTiming>>]>,
}

impl std::fmt::Debug for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timings")
            .field("clock", &self.clock)
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl Timings {
    pub(crate) fn new(epoch: Instant, slots: usize) -> Self {
        Timings {
            clock: Clock::new(epoch),
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Now, in clock ticks (one read of the clock; see [`Clock`]).
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// A detached job submitted at `submitted` (a [`now`](Self::now) reading) starts on the
    /// thread of slot `index` (only that thread calls this with its index): records its
    /// wait, and returns the stopwatch that records its run.
    #[inline]
    pub(crate) fn start(&self, index: usize, submitted: u64) -> Stopwatch<'_> {
        let now = self.clock.now();
        let slot = self.slot(index);
        slot.wait.record(now.saturating_sub(submitted));
        Stopwatch {
            clock: &self.clock,
            slot,
            start: now,
        }
    }

    /// The histograms of slot `index`, allocated on first use (by that slot's thread).
    #[inline]
    fn slot(&self, index: usize) -> &SlotTiming {
        self.slots[index].get_or_init(|| {
            Box::new(SlotTiming {
                wait: Histogram::new(),
                run: Histogram::new(),
            })
        })
    }

    /// The summary of one span over every thread slot.
    pub(crate) fn summary(&self, span: Span) -> Timing {
        let mut buckets = vec![0u64; BUCKETS];
        let (mut sum, mut max) = (0u64, 0u64);
        for slot in self.slots.iter().filter_map(OnceLock::get) {
            let histogram = match span {
                Span::Wait => &slot.wait,
                Span::Run => &slot.run,
            };
            for (total, bucket) in buckets.iter_mut().zip(&histogram.buckets) {
                *total += read(bucket);
            }
            sum = sum.wrapping_add(read(&histogram.sum));
            max = max.max(read(&histogram.max));
        }
        summarise(&buckets, sum, max, self.clock.nanos_per_tick())
    }
}

/// Count, mean and percentiles from summed buckets of ticks.
fn summarise(buckets: &[u64], sum: u64, max: u64, nanos_per_tick: f64) -> Timing {
    let count: u64 = buckets.iter().sum();
    if count == 0 {
        return Timing::default();
    }
    let time = |ticks: f64| Duration::from_nanos((ticks * nanos_per_tick) as u64);
    let percentile = |q: f64| -> Duration {
        // The smallest value with at least q of the records at or below it.
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0;
        for (index, &n) in buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                // The bucket's midpoint, within what was recorded.
                let (low, high) = bucket_bounds(index);
                let high = high.min(max);
                let low = low.min(high);
                return time((low + (high - low) / 2) as f64);
            }
        }
        time(max as f64)
    };
    Timing {
        count,
        mean: time(sum as f64 / count as f64),
        p50: percentile(0.50),
        p90: percentile(0.90),
        p99: percentile(0.99),
        max: time(max as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_the_bucket_whose_bounds_hold_it() {
        let mut values: Vec<u64> = (0..5000).collect();
        for exp in 4..64 {
            let base = 1u64 << exp;
            values.extend([base - 1, base, base + 1, base + base / 3, base | (base - 1)]);
        }
        for value in values {
            let index = bucket(value);
            assert!(index < BUCKETS, "{value}: bucket {index}");
            let (low, high) = bucket_bounds(index);
            assert!(
                low <= value && value <= high,
                "{value} not in {low}..={high}"
            );
        }
    }

    #[test]
    fn buckets_are_ordered_and_at_most_a_sixteenth_wide() {
        let mut previous_high = None;
        for index in 0..BUCKETS - 1 {
            let (low, high) = bucket_bounds(index);
            if let Some(previous) = previous_high {
                assert_eq!(low, previous + 1, "bucket {index} does not follow on");
            }
            assert!((high - low) * 16 <= low.max(1), "bucket {index} too wide");
            previous_high = Some(high);
        }
    }

    impl Timings {
        /// Records `ticks` as a `span` on slot `index`.
        fn record(&self, index: usize, span: Span, ticks: u64) {
            let slot = self.slot(index);
            match span {
                Span::Wait => slot.wait.record(ticks),
                Span::Run => slot.run.record(ticks),
            }
        }
    }

    /// Records in nanoseconds, whatever the machine's clock.
    fn in_nanos(slots: usize) -> Timings {
        Timings {
            clock: Clock::System {
                epoch: Instant::now(),
            },
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
        }
    }

    #[test]
    fn percentiles_of_known_values_are_within_a_bucket() {
        let timings = in_nanos(2);
        // 1..=1000 us, spread over two slots.
        for us in 1..=1000u64 {
            timings.record((us % 2) as usize, Span::Run, us * 1000);
        }
        timings.record(0, Span::Wait, 5);
        let run = timings.summary(Span::Run);
        assert_eq!(run.count, 1000);
        assert_eq!(run.max, Duration::from_micros(1000));
        assert_eq!(run.mean, Duration::from_nanos(500_500));
        let close = |actual: Duration, expected_us: f64| {
            let ratio = actual.as_secs_f64() * 1e6 / expected_us;
            assert!(
                (0.96..=1.04).contains(&ratio),
                "{actual:?} vs {expected_us} us"
            );
        };
        close(run.p50, 500.0);
        close(run.p90, 900.0);
        close(run.p99, 990.0);
        let wait = timings.summary(Span::Wait);
        assert_eq!(
            (wait.count, wait.p50, wait.max),
            (1, Duration::from_nanos(5), Duration::from_nanos(5))
        );
        assert_eq!(in_nanos(1).summary(Span::Wait), Timing::default());
    }

    #[test]
    fn clock_ticks_convert_to_the_time_the_system_clock_measured() {
        let clock = Clock::new(Instant::now());
        std::thread::sleep(Duration::from_millis(1));
        let outer = Instant::now();
        let start = clock.now();
        let inner = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let inner = inner.elapsed();
        let end = clock.now();
        let outer = outer.elapsed();
        let measured = (end - start) as f64 * clock.nanos_per_tick();
        let (inner, outer) = (inner.as_nanos() as f64, outer.as_nanos() as f64);
        assert!(
            measured >= inner * 0.99 && measured <= outer * 1.01,
            "{clock:?}: {measured} ns measured, between {inner} and {outer} expected"
        );
    }
}
