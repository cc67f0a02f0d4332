//! Order statistics of run times, bootstrap intervals and the recommendation rule.

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

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

    /// The p10 to p90 range as a percentage of the median: how widely the runs spread.
    pub fn spread_percent(&self) -> f64 {
        if self.median_secs > 0.0 {
            (self.p90_secs - self.p10_secs) / self.median_secs * 100.0
        } else {
            0.0
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

/// A range of plausible values, `low <= high`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The lower end.
    pub low: f64,
    /// The upper end.
    pub high: f64,
}

impl Interval {
    /// `true` when the two intervals share at least one value.
    ///
    /// ```
    /// use weft_tune::Interval;
    ///
    /// let a = Interval { low: 1.0, high: 2.0 };
    /// assert!(a.overlaps(&Interval { low: 2.0, high: 3.0 }));
    /// assert!(!a.overlaps(&Interval { low: 2.5, high: 3.0 }));
    /// ```
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.low <= other.high && other.low <= self.high
    }

    /// `true` when `value` lies in the interval (ends included).
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// The confidence of every interval weft-tune reports, in percent.
pub const CONFIDENCE_PERCENT: f64 = 95.0;

/// Bootstrap resamples behind each interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// The median of some samples, their p10 and p90, and a bootstrap confidence interval of the
/// median.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The median of the samples.
    pub median: f64,
    /// The 10th percentile of the samples.
    pub p10: f64,
    /// The 90th percentile of the samples.
    pub p90: f64,
    /// Where the median of the process behind the samples lies, with
    /// [`CONFIDENCE_PERCENT`] confidence (percentile bootstrap: [`BOOTSTRAP_RESAMPLES`]
    /// resamples with replacement, the median of each).
    pub ci95: Interval,
}

impl Estimate {
    /// Estimates the median of `samples` (any order, not empty, no NaN) with a bootstrap
    /// interval; the same `seed` gives the same interval.
    ///
    /// ```
    /// let speedups = [1.81, 1.77, 1.85, 1.79, 1.60, 1.83, 1.80, 1.78];
    /// let estimate = weft_tune::Estimate::of_median(&speedups, 1);
    /// assert!(estimate.ci95.low <= estimate.median && estimate.median <= estimate.ci95.high);
    /// assert!(estimate.ci95.low >= 1.60 && estimate.ci95.high <= 1.85);
    /// ```
    ///
    /// # Panics
    ///
    /// If `samples` is empty or holds a NaN.
    pub fn of_median(samples: &[f64], seed: u64) -> Estimate {
        assert!(!samples.is_empty(), "an estimate needs at least one sample");
        assert!(samples.iter().all(|s| !s.is_nan()), "a sample is NaN");
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut rng = SplitMix64::new(seed);
        let mut resample = vec![0.0; samples.len()];
        let mut medians: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .map(|_| {
                for slot in resample.iter_mut() {
                    *slot = samples[rng.below(samples.len())];
                }
                resample.sort_by(f64::total_cmp);
                percentile(&resample, 0.5)
            })
            .collect();
        medians.sort_by(f64::total_cmp);
        let tail = (1.0 - CONFIDENCE_PERCENT / 100.0) / 2.0;
        Estimate {
            median: percentile(&sorted, 0.5),
            p10: percentile(&sorted, 0.1),
            p90: percentile(&sorted, 0.9),
            ci95: Interval {
                low: percentile(&medians, tail),
                high: percentile(&medians, 1.0 - tail),
            },
        }
    }
}

/// One pool size as [`recommend`] sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The pool size.
    pub threads: usize,
    /// Its speed-up over the reference (median and interval).
    pub speedup: Estimate,
    /// Its median run time, in seconds.
    pub median_secs: f64,
}

/// The pool size to use, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The recommended number of threads.
    pub threads: usize,
    /// Its speed-up over one pool thread: median of the rounds, and interval.
    pub speedup: Estimate,
    /// Its median run time.
    pub median_secs: f64,
    /// The size with the best (highest) median speed-up.
    pub best_threads: usize,
    /// The best size's speed-up.
    pub best_speedup: Estimate,
    /// The best size's median run time.
    pub best_median_secs: f64,
    /// How much slower than the best a size may be and still count as good enough, in
    /// percent (as `--tolerance` takes it).
    pub tolerance_percent: f64,
    /// The rule applied to these numbers, in a sentence.
    pub reason: String,
}

/// The default tolerance of [`recommend`], in percent.
pub const DEFAULT_TOLERANCE_PERCENT: f64 = 5.0;

/// Recommends the smallest pool size that cannot be told apart from the best one: the
/// smallest size whose speed-up interval overlaps the best size's interval, once widened
/// by `tolerance_percent` (`high x (1 + tolerance / 100) >= best.low`). With a tolerance of
/// 0 that is plain overlap. More threads than that cost memory and CPU for a gain the runs
/// cannot show (or one below the tolerance).
///
/// The best size is the one with the highest median speed-up (the smaller one on a tie).
/// Returns `None` when there are no candidates.
///
/// ```
/// use weft_tune::{Candidate, Estimate, Interval, recommend};
///
/// let size = |threads, median, low, high| Candidate {
///     threads,
///     speedup: Estimate { median, p10: low, p90: high, ci95: Interval { low, high } },
///     median_secs: 1.0 / median,
/// };
/// // 3 threads have the best median, but 2 threads' interval reaches into 3's.
/// let candidates = [size(1, 1.0, 1.0, 1.0), size(2, 1.78, 1.70, 1.85), size(3, 1.82, 1.80, 1.86)];
/// let pick = recommend(&candidates, 0.0).unwrap();
/// assert_eq!((pick.threads, pick.best_threads), (2, 3));
/// println!("{}", pick.reason);
/// ```
pub fn recommend(candidates: &[Candidate], tolerance_percent: f64) -> Option<Recommendation> {
    let best = candidates.iter().min_by(|a, b| {
        b.speedup
            .median
            .total_cmp(&a.speedup.median)
            .then(a.threads.cmp(&b.threads))
    })?;
    let widen = 1.0 + tolerance_percent / 100.0;
    let pick = candidates
        .iter()
        .filter(|candidate| candidate.speedup.ci95.high * widen >= best.speedup.ci95.low)
        .min_by_key(|candidate| candidate.threads)
        .expect("the best size overlaps itself");
    let widened = if tolerance_percent > 0.0 {
        format!(", raised by the {tolerance_percent}% tolerance,")
    } else {
        String::new()
    };
    let reason = if pick.threads == best.threads {
        format!("the best speed-up; no smaller pool's interval{widened} reached its interval")
    } else {
        format!(
            "its interval{widened} reaches that of the best median, {} at {}: the runs cannot \
             tell them apart, so the smaller pool",
            threads_phrase(best.threads),
            format_estimate(&best.speedup),
        )
    };
    Some(Recommendation {
        threads: pick.threads,
        speedup: pick.speedup,
        median_secs: pick.median_secs,
        best_threads: best.threads,
        best_speedup: best.speedup,
        best_median_secs: best.median_secs,
        tolerance_percent,
        reason,
    })
}

/// `1.78x (95% interval 1.70x-1.85x)`.
pub(crate) fn format_estimate(estimate: &Estimate) -> String {
    format!(
        "{:.2}x ({CONFIDENCE_PERCENT:.0}% interval {:.2}x-{:.2}x)",
        estimate.median, estimate.ci95.low, estimate.ci95.high
    )
}

/// `1 thread`, `4 threads`.
pub(crate) fn threads_phrase(threads: usize) -> String {
    format!("{threads} thread{}", if threads == 1 { "" } else { "s" })
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

    /// The recommendation among `(threads, median speed-up, interval low, interval high)`.
    fn pick(sizes: &[(usize, f64, f64, f64)], tolerance_percent: f64) -> Recommendation {
        let candidates: Vec<Candidate> = sizes
            .iter()
            .map(|&(threads, median, low, high)| Candidate {
                threads,
                speedup: Estimate {
                    median,
                    p10: low,
                    p90: high,
                    ci95: Interval { low, high },
                },
                median_secs: 1.0 / median,
            })
            .collect();
        recommend(&candidates, tolerance_percent).expect("some sizes")
    }

    fn assert_says(pick: &Recommendation, text: &str) {
        assert!(
            pick.reason.contains(text),
            "{text:?} not in: {}",
            pick.reason
        );
    }

    #[test]
    fn recommends_the_best_size_when_no_smaller_interval_reaches_it() {
        let pick = pick(
            &[(1, 1.0, 1.0, 1.0), (2, 1.9, 1.85, 1.95), (4, 1.5, 1.4, 1.6)],
            0.0,
        );
        assert_eq!((pick.threads, pick.best_threads), (2, 2));
        assert_says(&pick, "best speed-up");
    }

    #[test]
    fn recommends_the_smallest_size_whose_interval_overlaps_the_best() {
        let sizes = [
            (4, 1.84, 1.79, 1.88),
            (3, 1.83, 1.70, 1.90),
            (2, 1.78, 1.60, 1.80),
            (1, 1.0, 1.0, 1.0),
        ];
        let pick = pick(&sizes, 0.0);
        assert_eq!((pick.threads, pick.best_threads), (2, 4));
        assert_says(&pick, "cannot tell them apart");
        assert_says(&pick, "4 threads at 1.84x");
    }

    #[test]
    fn a_size_whose_interval_stops_short_of_the_best_is_not_recommended() {
        assert_eq!(
            pick(&[(2, 1.5, 1.45, 1.55), (3, 1.8, 1.6, 1.9)], 0.0).threads,
            3
        );
    }

    #[test]
    fn the_tolerance_widens_the_interval_in_percent() {
        let sizes = [(1, 1.0, 0.98, 1.02), (2, 1.1, 1.07, 1.12)];
        assert_eq!(pick(&sizes, 0.0).threads, 2);
        // 1.02 x 1.05 = 1.071 >= 1.07: close enough with 5%.
        let tolerant = pick(&sizes, 5.0);
        assert_eq!((tolerant.threads, tolerant.tolerance_percent), (1, 5.0));
        assert_says(&tolerant, "5% tolerance");
    }

    #[test]
    fn ties_on_the_best_median_go_to_the_smaller_pool() {
        let pick = pick(&[(3, 1.0, 1.0, 1.0), (2, 1.0, 1.0, 1.0)], 0.0);
        assert_eq!((pick.threads, pick.best_threads), (2, 2));
    }

    #[test]
    fn nothing_to_recommend_without_sizes() {
        assert_eq!(recommend(&[], 5.0), None);
    }

    #[test]
    fn bootstrap_intervals_hold_the_median_and_narrow_with_agreeing_samples() {
        let tight = Estimate::of_median(&[2.0, 2.01, 1.99, 2.0, 2.02, 1.98, 2.0], 9);
        let loose = Estimate::of_median(&[2.0, 2.6, 1.4, 2.2, 1.1, 2.9, 2.0], 9);
        for estimate in [tight, loose] {
            assert!(estimate.ci95.contains(estimate.median), "{estimate:?}");
        }
        let width = |e: Estimate| e.ci95.high - e.ci95.low;
        assert!(width(tight) < 0.05, "{tight:?}");
        assert!(width(loose) > 0.3, "{loose:?}");
    }

    #[test]
    fn one_sample_gives_a_point_interval() {
        let estimate = Estimate::of_median(&[1.5], 1);
        assert_eq!(
            estimate.ci95,
            Interval {
                low: 1.5,
                high: 1.5
            }
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_interval() {
        let samples = [1.0, 1.3, 0.9, 1.2, 1.1];
        assert_eq!(
            Estimate::of_median(&samples, 4),
            Estimate::of_median(&samples, 4)
        );
    }
}
