//! `sum`: the seed's first workload, the sum of `0..n` (n = 1e9 by default), every number
//! passed through [`black_box`] so the compiler can neither vectorise the loop nor fold it
//! into `n * (n - 1) / 2`.
//!
//! The range is split in halves with [`weft::join`] down to pieces of about
//! `n / (64 x threads)` numbers; work stealing spreads the pieces, so a thread slowed down by
//! a noisy neighbour simply takes fewer of them.
//!
//! ```
//! let pool = weft::ThreadPool::new(2).unwrap();
//! assert_eq!(weft_tune::workloads::sum::par_sum(&pool, 0..1_000_000), 499_999_500_000);
//! ```

use std::hint::black_box;
use std::ops::Range;

use weft::ThreadPool;

use crate::sweep::Sweep;

/// The seed's size: the sum of `0..1_000_000_000`.
pub const DEFAULT_N: u64 = 1_000_000_000;

/// Pieces per pool thread: enough for stealing to even out a slow thread.
const PIECES_PER_THREAD: u64 = 64;

/// The sum of `range` on the calling thread, one black-boxed number at a time (wrapping).
///
/// Never inlined: the sequential baseline and every piece of [`par_sum`] run the very same
/// machine code. Inlined copies of this tight loop were measured to differ by up to 1.5x
/// in speed from one call site to another (code placement), which would show up as a
/// fake pool overhead.
#[inline(never)]
pub fn sum_sequential(range: Range<u64>) -> u64 {
    let mut sum = 0u64;
    for number in range {
        sum = sum.wrapping_add(black_box(number));
    }
    sum
}

/// The sum of `range` (wrapping) on `pool`, split with [`weft::join`].
pub fn par_sum(pool: &ThreadPool, range: Range<u64>) -> u64 {
    let len = range.end.saturating_sub(range.start);
    let piece = (len / (pool.num_threads() as u64 * PIECES_PER_THREAD)).max(4096);
    pool.install(|| sum_split(range, piece))
}

fn sum_split(range: Range<u64>, piece: u64) -> u64 {
    let len = range.end.saturating_sub(range.start);
    if len <= piece {
        return sum_sequential(range);
    }
    let mid = range.start + len / 2;
    let (low, high) = weft::join(
        || sum_split(range.start..mid, piece),
        || sum_split(mid..range.end, piece),
    );
    low.wrapping_add(high)
}

/// The right answer for `0..n`, in closed form (wrapping like the sums).
pub fn expected(n: u64) -> u64 {
    let n = u128::from(n);
    (n * n.saturating_sub(1) / 2) as u64
}

/// The built-in `sum` sweep of `0..n`, with the sequential loop as baseline; every result
/// is checked against [`expected`].
pub fn sweep<'a>(n: u64) -> Sweep<'a, u64> {
    let description = format!(
        "the sum of 0..{}, every number black-boxed, split over the pool with join",
        crate::units::group_digits(n)
    );
    super::checked_sweep(
        "sum",
        description,
        (n, "numbers"),
        move |pool| par_sum(pool, 0..n),
        move || sum_sequential(0..n),
        (expected(n), "the sum".to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_and_sequential_sums_match_the_closed_form() {
        let pool = ThreadPool::new(3).unwrap();
        for n in [0, 1, 2, 4095, 4096, 4097, 1_000_003] {
            assert_eq!(sum_sequential(0..n), expected(n), "n = {n}");
            assert_eq!(par_sum(&pool, 0..n), expected(n), "n = {n}");
        }
    }

    #[test]
    fn sums_of_offset_ranges_are_right() {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(par_sum(&pool, 10..20), (10..20).sum());
        let (low, high) = (20, 10);
        assert_eq!(par_sum(&pool, low..high), 0, "an empty range sums to 0");
    }

    #[test]
    fn the_closed_form_wraps_like_the_loop() {
        assert_eq!(expected(1_000_000_000), 499_999_999_500_000_000);
        let huge = 1u64 << 40;
        let exact = u128::from(huge) * u128::from(huge - 1) / 2;
        assert_eq!(expected(huge), exact as u64);
    }
}
