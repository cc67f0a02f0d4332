//! Order statistics of run times and the recommendation rule.

use serde::{Deserialize, Serialize};

/// The spread of one measured configuration: every sample and its order statistics, in
/// seconds.
///
/// Percentiles interpolate linearly between the two nearest samples (the "linear" method of
/// numpy and R's type 7), so the median of an even number of samples is the mean of the two
/// middle ones.
///
/// ```
/// use weft_tune::Timing;
///
/// let timing = Timing::from_secs(vec![0.5, 0.1, 0.3, 0.2, 0.4]);
/// assert_eq!(timing.median_secs, 0.3);
/// assert!((timing.p10_secs - 0.14).abs() < 1e-12);
/// assert!((timing.p90_secs - 0.46).abs() < 1e-12);
/// assert_eq!((timing.min_secs, timing.max_secs), (0.1, 0.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Every measured run, in the order it ran.
    pub samples_secs: Vec<f64>,
    /// The median run time.
    pub median_secs: f64,
    /// The 10th percentile: 9 runs in 10 were slower than this.
    pub p10_secs: f64,
    /// The 90th percentile: 9 runs in 10 were faster than this.
    pub p90_secs: f64,
    /// The fastest run.
    pub min_secs: f64,
    /// The slowest run.
    pub max_secs: f64,
}

impl Timing {
    /// Summarises the samples (seconds, any order).
    ///
    /// # Panics
    ///
    /// If `samples` is empty or holds a NaN.
    pub fn from_secs(samples: Vec<f64>) -> Timing {
        let mut sorted = samples.clone();
        assert!(!sorted.is_empty(), "a timing needs at least one sample");
        assert!(sorted.iter().all(|s| !s.is_nan()), "a timing sample is NaN");
        sorted.sort_by(f64::total_cmp);
        Timing {
            median_secs: percentile(&sorted, 0.5),
            p10_secs: percentile(&sorted, 0.1),
            p90_secs: percentile(&sorted, 0.9),
            min_secs: sorted[0],
            max_secs: sorted[sorted.len() - 1],
            samples_secs: samples,
        }
    }
}

/// The `q`-quantile (`0.0..=1.0`) of sorted, non-empty samples, interpolating linearly.
///
/// ```
/// assert_eq!(weft_tune::percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
/// assert_eq!(weft_tune::percentile(&[7.0], 0.9), 7.0);
/// ```
///
/// # Panics
///
/// If `sorted` is empty or `q` is outside `0.0..=1.0`.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no samples");
    assert!((0.0..=1.0).contains(&q), "quantile {q} outside 0..=1");
    let rank = q * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let weight = rank - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * weight
}

/// The pool size to use, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The recommended number of threads.
    pub threads: usize,
    /// Its median run time.
    pub median_secs: f64,
    /// The size with the best (lowest) median.
    pub best_threads: usize,
    /// The best median.
    pub best_median_secs: f64,
    /// How far from the best a size may be and still count as good enough (0.05 = 5%).
    pub tolerance: f64,
    /// The rule applied to these numbers, in a sentence.
    pub reason: String,
}

/// The default tolerance of [`recommend`]: 5%.
pub const DEFAULT_TOLERANCE: f64 = 0.05;

/// Recommends the smallest pool size whose median is within `tolerance` (0.05 = 5%) of the
/// best median: more threads than that cost memory and CPU for less than `tolerance` of
/// speed.
///
/// `medians` holds `(threads, median seconds)` pairs in any order. Returns `None` when it is
/// empty.
///
/// ```
/// // 2 threads are within 5% of the best (3 threads); 1 thread is not.
/// let pick = weft_tune::recommend(&[(1, 2.0), (2, 1.04), (3, 1.0), (4, 1.1)], 0.05).unwrap();
/// assert_eq!((pick.threads, pick.best_threads), (2, 3));
/// println!("{}", pick.reason);
/// ```
pub fn recommend(medians: &[(usize, f64)], tolerance: f64) -> Option<Recommendation> {
    let &(best_threads, best_median_secs) = medians
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))?;
    let limit = best_median_secs * (1.0 + tolerance);
    let &(threads, median_secs) = medians
        .iter()
        .filter(|&&(_, median)| median <= limit)
        .min_by_key(|&&(threads, _)| threads)
        .expect("the best size is within any non-negative tolerance of itself");
    let percent = tolerance * 100.0;
    let reason = if threads == best_threads {
        format!(
            "{threads} {} had the best median ({}) and no smaller pool came within {percent:.0}% of it",
            threads_word(threads),
            format_secs(best_median_secs),
        )
    } else {
        format!(
            "{threads} {} took {}, within {percent:.0}% of the best median ({} with {best_threads} \
             threads, {:.1}% faster); the smallest pool that close, so more threads buy less than \
             {percent:.0}%",
            threads_word(threads),
            format_secs(median_secs),
            format_secs(best_median_secs),
            (median_secs / best_median_secs - 1.0) * 100.0,
        )
    };
    Some(Recommendation {
        threads,
        median_secs,
        best_threads,
        best_median_secs,
        tolerance,
        reason,
    })
}

fn threads_word(threads: usize) -> &'static str {
    if threads == 1 { "thread" } else { "threads" }
}

/// Formats seconds with a unit that keeps three or four significant digits: `1.23 s`,
/// `45.6 ms`, `789 us`, `12.0 ns`.
///
/// ```
/// assert_eq!(weft_tune::format_secs(1.234), "1.23 s");
/// assert_eq!(weft_tune::format_secs(0.0456), "45.6 ms");
/// assert_eq!(weft_tune::format_secs(0.000_000_012), "12.0 ns");
/// ```
pub fn format_secs(secs: f64) -> String {
    if secs == 0.0 {
        return "0 s".to_owned();
    }
    let (value, unit) = if secs >= 1.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "us")
    } else {
        (secs * 1e9, "ns")
    };
    if value >= 100.0 {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_an_odd_count_is_the_middle_sample() {
        let timing = Timing::from_secs(vec![3.0, 1.0, 2.0]);
        assert_eq!(timing.median_secs, 2.0);
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let timing = Timing::from_secs(vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!(timing.median_secs, 2.5);
    }

    #[test]
    fn percentiles_interpolate_between_neighbours() {
        // 11 samples 0..=10: the rank of q is q * 10 exactly.
        let samples: Vec<f64> = (0..=10).rev().map(f64::from).collect();
        let timing = Timing::from_secs(samples);
        assert_eq!(timing.p10_secs, 1.0);
        assert_eq!(timing.p90_secs, 9.0);
        let sorted = [0.0, 10.0];
        assert_eq!(percentile(&sorted, 0.25), 2.5);
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let timing = Timing::from_secs(vec![0.25]);
        assert_eq!(
            (timing.p10_secs, timing.median_secs, timing.p90_secs),
            (0.25, 0.25, 0.25)
        );
    }

    #[test]
    fn samples_keep_their_run_order() {
        let timing = Timing::from_secs(vec![3.0, 1.0, 2.0]);
        assert_eq!(timing.samples_secs, vec![3.0, 1.0, 2.0]);
        assert_eq!((timing.min_secs, timing.max_secs), (1.0, 3.0));
    }

    #[test]
    #[should_panic(expected = "at least one sample")]
    fn a_timing_without_samples_panics() {
        Timing::from_secs(Vec::new());
    }

    #[test]
    fn recommends_the_best_size_when_nothing_smaller_is_close() {
        let pick = recommend(&[(1, 2.0), (2, 1.0), (4, 1.2)], 0.05).unwrap();
        assert_eq!(pick.threads, 2);
        assert_eq!(pick.best_threads, 2);
        assert!(pick.reason.contains("best median"), "{}", pick.reason);
    }

    #[test]
    fn recommends_the_smallest_size_within_tolerance_of_the_best() {
        let pick = recommend(&[(4, 1.00), (3, 1.01), (2, 1.049), (1, 1.9)], 0.05).unwrap();
        assert_eq!((pick.threads, pick.best_threads), (2, 4));
        assert_eq!((pick.median_secs, pick.best_median_secs), (1.049, 1.00));
        assert!(pick.reason.contains("within 5%"), "{}", pick.reason);
    }

    #[test]
    fn a_size_just_outside_tolerance_is_not_recommended() {
        let pick = recommend(&[(1, 1.06), (2, 1.0)], 0.05).unwrap();
        assert_eq!(pick.threads, 2);
    }

    #[test]
    fn a_size_exactly_at_the_tolerance_counts_as_close() {
        let pick = recommend(&[(1, 1.5), (2, 1.0)], 0.5).unwrap();
        assert_eq!(pick.threads, 1);
    }

    #[test]
    fn ties_on_the_best_median_go_to_the_smaller_pool() {
        let pick = recommend(&[(3, 1.0), (2, 1.0)], 0.0).unwrap();
        assert_eq!((pick.threads, pick.best_threads), (2, 2));
    }

    #[test]
    fn nothing_to_recommend_without_sizes() {
        assert_eq!(recommend(&[], 0.05), None);
    }

    #[test]
    fn seconds_are_formatted_with_a_fitting_unit() {
        assert_eq!(format_secs(12.345), "12.3 s");
        assert_eq!(format_secs(0.2625), "262 ms");
        assert_eq!(format_secs(0.000_123_4), "123 us");
        assert_eq!(format_secs(0.000_000_095), "95.0 ns");
        assert_eq!(format_secs(0.0), "0 s");
    }
}
