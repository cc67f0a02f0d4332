//! `fib`: fork-join at a fine grain. The tuner's `fib(n)` ([`fib_split`]) has a
//! [`weft::join`] at every level down to `fib(LEAF_N)`, whose leaves run
//! [`fib_sequential`], the `#[inline(never)]` kernel that the sequential baseline runs
//! whole: both time the same machine code, and a leaf is about a hundred calls, so the
//! joins (one per leaf) still cost a good share of the time. [`fib_join`] joins at every
//! level with no leaves at all, for the fork-join benchmark against rayon.
//!
//! ```
//! let pool = weft::ThreadPool::new(2).unwrap();
//! assert_eq!(pool.install(|| weft_tune::workloads::fib::fib_join(20)), 6765);
//! assert_eq!(pool.install(|| weft_tune::workloads::fib::fib_split(20)), 6765);
//! ```

use weft::ThreadPool;

use crate::sweep::Sweep;

/// The default `n`: fib(40) runs for about a second on one core of the build machine, long
/// enough to time (fib(32), 7.6 ms with joins at every level, was not).
pub const DEFAULT_N: u32 = 40;

/// [`fib_split`] computes `fib(n)` for `n <= LEAF_N` with [`fib_sequential`], without
/// joins: `fib(8)` is 67 calls of the recursion.
pub const LEAF_N: u32 = 8;

/// `fib(n)` with a `weft::join` at every level (on the current pool when called on a
/// worker, else on weft's global pool).
pub fn fib_join(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    let (a, b) = weft::join(|| fib_join(n - 1), || fib_join(n - 2));
    a + b
}

/// `fib(n)` with a `weft::join` at every level above [`LEAF_N`] (on the current pool when
/// called on a worker, else on weft's global pool), the leaves by [`fib_sequential`].
pub fn fib_split(n: u32) -> u64 {
    if n <= LEAF_N {
        return fib_sequential(n);
    }
    let (a, b) = weft::join(|| fib_split(n - 1), || fib_split(n - 2));
    a + b
}

/// The same recursion without `join`: the sequential baseline and [`fib_split`]'s leaves.
/// Never inlined, so both run this one piece of machine code.
#[inline(never)]
pub fn fib_sequential(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    fib_sequential(n - 1) + fib_sequential(n - 2)
}

/// `fib(n)` by iteration: the right answer, for checks.
pub fn expected(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

/// Calls of the recursion for `fib(n)`: `2 x fib(n + 1) - 1`.
pub fn calls(n: u32) -> u64 {
    expected(n + 1).saturating_mul(2) - 1
}

/// The joins [`fib_split`] makes for `fib(n)`: one per call above [`LEAF_N`],
/// `joins(k) = 1 + joins(k - 1) + joins(k - 2)`.
pub fn split_joins(n: u32) -> u64 {
    // (joins(k - 1), joins(k)), starting at k = LEAF_N, where both are 0.
    let (mut previous, mut current) = (0u64, 0u64);
    for _ in LEAF_N..n {
        (previous, current) = (current, current.saturating_add(previous).saturating_add(1));
    }
    current
}

/// The largest `n` the sweep takes: `fib(n)` and its call count fit in `u64`.
pub const MAX_N: u32 = 92;

/// The built-in `fib` sweep: `pool.install(|| fib_split(n))`, against
/// [`fib_sequential`]`(n)`.
///
/// # Panics
///
/// If `n > MAX_N` (`fib(n)` would overflow `u64`).
pub fn sweep<'a>(n: u32) -> Sweep<'a, u64> {
    assert!(n <= MAX_N, "fib({n}) does not fit in u64");
    let joins = crate::units::group_digits(split_joins(n));
    super::checked_sweep(
        "fib",
        format!(
            "fib({n}) with a join at every level down to fib({LEAF_N}) ({joins} joins), the \
             leaves and the sequential baseline on one #[inline(never)] recursion"
        ),
        (calls(n), "calls"),
        move |pool: &ThreadPool| pool.install(|| fib_split(n)),
        move || fib_sequential(std::hint::black_box(n)),
        (expected(n), format!("fib({n})")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_join_fib_matches_the_iteration() {
        let pool = ThreadPool::new(2).unwrap();
        for n in 0..=22 {
            assert_eq!(pool.install(|| fib_join(n)), expected(n), "n = {n}");
            assert_eq!(pool.install(|| fib_split(n)), expected(n), "n = {n}");
            assert_eq!(fib_sequential(n), expected(n), "n = {n}");
        }
        assert_eq!(expected(MAX_N + 1), 12_200_160_415_121_876_738);
    }

    #[test]
    fn split_joins_count_the_calls_above_the_leaves() {
        assert_eq!(split_joins(LEAF_N), 0);
        assert_eq!(split_joins(LEAF_N + 1), 1);
        assert_eq!(split_joins(LEAF_N + 2), 2, "the root and its left child");
        assert_eq!(split_joins(LEAF_N + 3), 4);
    }

    #[test]
    fn call_counts_follow_the_recursion() {
        assert_eq!(calls(0), 1);
        assert_eq!(calls(1), 1);
        assert_eq!(calls(2), 3);
        assert_eq!(calls(5), 15);
    }
}
