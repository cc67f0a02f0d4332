//! `fib`: fork-join at its finest grain, `fib(n)` with a [`weft::join`] at every level and no
//! sequential cutoff, so nearly all the time goes into `join` itself (about
//! `2 x fib(n + 1)` calls: 7 million for the default n = 32).
//!
//! ```
//! let pool = weft::ThreadPool::new(2).unwrap();
//! assert_eq!(pool.install(|| weft_tune::workloads::fib::fib_join(20)), 6765);
//! ```

use weft::ThreadPool;

use crate::sweep::Sweep;

/// The default `n`: the size of the fork-join row of the performance targets.
pub const DEFAULT_N: u32 = 32;

/// `fib(n)` with a `weft::join` at every level (on the current pool when called on a
/// worker, else on weft's global pool).
pub fn fib_join(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    let (a, b) = weft::join(|| fib_join(n - 1), || fib_join(n - 2));
    a + b
}

/// The same recursion without `join`: the sequential baseline.
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
    2 * expected(n + 1) - 1
}

/// The built-in `fib` sweep: `pool.install(|| fib_join(n))`, against the plain recursion.
///
/// # Panics
///
/// If `n > 90` (`fib(n)` would overflow `u64`).
pub fn sweep<'a>(n: u32) -> Sweep<'a, u64> {
    assert!(n <= 90, "fib({n}) does not fit in u64");
    let want = expected(n);
    Sweep::new(move |pool: &ThreadPool| pool.install(|| fib_join(n)))
        .name("fib")
        .description(format!(
            "fib({n}) with a join at every level and no cutoff ({} joins)",
            super::group_digits(calls(n) / 2)
        ))
        .items(calls(n), "calls")
        .sequential(move || fib_sequential(std::hint::black_box(n)))
        .check(move |fib| {
            if fib == want {
                Ok(())
            } else {
                Err(format!("fib({n}) is {fib}, expected {want}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_join_fib_matches_the_iteration() {
        let pool = ThreadPool::new(2).unwrap();
        for n in 0..=22 {
            assert_eq!(pool.install(|| fib_join(n)), expected(n), "n = {n}");
            assert_eq!(fib_sequential(n), expected(n), "n = {n}");
        }
    }

    #[test]
    fn call_counts_follow_the_recursion() {
        assert_eq!(calls(0), 1);
        assert_eq!(calls(1), 1);
        assert_eq!(calls(2), 3);
        assert_eq!(calls(5), 15);
    }
}
