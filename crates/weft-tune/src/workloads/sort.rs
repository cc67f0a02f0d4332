//! `sort`: a parallel sort built on fork-join, for 10 million random `u64` by default.
//!
//! [`par_sort`] is a merge sort on [`weft::join`]:
//!
//! 1. split the slice in halves, recursively, down to pieces of about `len / (2 x threads)`
//!    (see [`LEAVES_PER_THREAD`]), and sort the halves in parallel
//!    (`join`), each piece with `sort_unstable`;
//! 2. merge each pair of sorted halves in parallel too: split the longer half at its middle,
//!    binary-search that key in the other half, and merge the two low parts and the two
//!    high parts side by side (`join` again), down to pieces of [`MERGE_GRAIN`] keys.
//!
//! Merges go back and forth between the slice and one scratch buffer of the same length,
//! so no level copies: a piece that ends up in the buffer is sorted in place and copied
//! once, on its own thread, and the top merge lands in the slice.
//!
//! Few levels is the point: with 2 threads there are 4 pieces and 2 merge levels, two passes
//! over memory on top of the sequential sorts, where a parallel quicksort first partitions
//! the whole slice on one thread.
//!
//! ```
//! use weft_tune::workloads::sort::{par_sort, random_keys};
//!
//! let pool = weft::ThreadPool::new(2).unwrap();
//! let mut keys = random_keys(100_000, 7);
//! let mut expected = keys.clone();
//! expected.sort_unstable();
//! par_sort(&pool, &mut keys);
//! assert_eq!(keys, expected);
//! ```

use weft::ThreadPool;

use crate::sweep::Sweep;

/// The default key count: the size of the sort row of the performance targets.
pub const DEFAULT_LEN: usize = 10_000_000;

/// Sorted pieces per pool thread (rounded up to the power of two the halving gives). Two
/// rather than one: if a thread is slowed down (a noisy neighbour, a preemption), the
/// others can steal one of its pieces; an extra merge level costs about what sorting the
/// smaller pieces saves (n log n).
pub const LEAVES_PER_THREAD: usize = 2;

/// Merges of at most this many keys run on one thread.
pub const MERGE_GRAIN: usize = 1 << 16;

/// How many vectors of the keys a sort sweep holds at once: the input it copies from, the
/// sequential baseline's input, the copy a run sorts, and that run's scratch buffer.
pub const MEMORY_COPIES: u64 = 4;

/// Slices up to this length are sorted with `sort_unstable` on one thread.
pub const SEQUENTIAL_CUTOFF: usize = 1 << 14;

/// Sorts one piece on the calling thread: `sort_unstable`, never inlined, so the sequential
/// baseline (which sorts the whole slice with it) and every piece of [`par_sort`] run the
/// same machine code.
#[inline(never)]
pub fn sort_piece<T: Ord>(keys: &mut [T]) {
    keys.sort_unstable();
}

/// Sorts `keys` on `pool` (unstable: equal keys may be reordered).
///
/// Allocates one scratch buffer of `keys.len()` elements (`T::default()`; for integers
/// the zeroed memory comes straight from the allocator, and its pages are faulted in by
/// the threads that fill it, in parallel). [`par_sort_with_scratch`] reuses a buffer instead. With
/// one thread, or for short slices, it is `sort_unstable` on a worker.
pub fn par_sort<T>(pool: &ThreadPool, keys: &mut [T])
where
    T: Ord + Copy + Default + Send + Sync,
{
    par_sort_with_scratch(pool, keys, &mut Vec::new());
}

/// [`par_sort`] with a scratch buffer the caller keeps between calls: it is grown to
/// `keys.len()` when shorter, and its memory is reused (no allocation, no page faults)
/// when sorting again.
///
/// ```
/// use weft_tune::workloads::sort::{par_sort_with_scratch, random_keys};
///
/// let pool = weft::ThreadPool::new(2).unwrap();
/// let mut scratch = Vec::new();
/// for seed in 0..3 {
///     let mut keys = random_keys(50_000, seed);
///     par_sort_with_scratch(&pool, &mut keys, &mut scratch);
///     assert!(keys.is_sorted());
/// }
/// ```
pub fn par_sort_with_scratch<T>(pool: &ThreadPool, keys: &mut [T], scratch: &mut Vec<T>)
where
    T: Ord + Copy + Default + Send + Sync,
{
    let threads = pool.num_threads();
    if threads == 1 || keys.len() <= SEQUENTIAL_CUTOFF {
        pool.install(|| sort_piece(keys));
        return;
    }
    let leaf = keys
        .len()
        .div_ceil(threads * LEAVES_PER_THREAD)
        .max(SEQUENTIAL_CUTOFF);
    if scratch.len() < keys.len() {
        // A fresh `vec!` rather than `resize`: for integers it is one zeroed allocation whose
        // pages are faulted in later by the threads that merge into them, in parallel;
        // `resize` would write every element first, on this thread alone.
        *scratch = vec![T::default(); keys.len()];
    }
    let buf = &mut scratch[..keys.len()];
    pool.install(|| sort_into(keys, buf, false, leaf));
}

/// Sorts `src`, leaving the result in `buf` when `into_buf`, else in `src`.
fn sort_into<T>(src: &mut [T], buf: &mut [T], into_buf: bool, leaf: usize)
where
    T: Ord + Copy + Send + Sync,
{
    if src.len() <= leaf {
        sort_piece(src);
        if into_buf {
            buf.copy_from_slice(src);
        }
        return;
    }
    let mid = src.len() / 2;
    {
        let (src_low, src_high) = src.split_at_mut(mid);
        let (buf_low, buf_high) = buf.split_at_mut(mid);
        // The halves end up where this level's merge reads from: the other array.
        weft::join(
            || sort_into(src_low, buf_low, !into_buf, leaf),
            || sort_into(src_high, buf_high, !into_buf, leaf),
        );
    }
    if into_buf {
        let (low, high) = src.split_at(mid);
        par_merge(low, high, buf);
    } else {
        let (low, high) = buf.split_at(mid);
        par_merge(low, high, src);
    }
}

/// Merges sorted `a` and `b` into `out` (`out.len() == a.len() + b.len()`) in parallel.
pub fn par_merge<T>(a: &[T], b: &[T], out: &mut [T])
where
    T: Ord + Copy + Send + Sync,
{
    debug_assert_eq!(a.len() + b.len(), out.len());
    if out.len() <= MERGE_GRAIN {
        merge(a, b, out);
        return;
    }
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let long_mid = long.len() / 2;
    let pivot = long[long_mid];
    let short_mid = short.partition_point(|key| *key < pivot);
    let (out_low, out_high) = out.split_at_mut(long_mid + short_mid);
    weft::join(
        || par_merge(&long[..long_mid], &short[..short_mid], out_low),
        || par_merge(&long[long_mid..], &short[short_mid..], out_high),
    );
}

/// Merges sorted `a` and `b` into `out` on the calling thread, without branches on the
/// data in the inner loop.
pub fn merge<T: Ord + Copy>(a: &[T], b: &[T], out: &mut [T]) {
    debug_assert_eq!(a.len() + b.len(), out.len());
    let (mut i, mut j) = (0, 0);
    let mut slots = out.iter_mut();
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let take_b = y < x;
        // `slots` has exactly a.len() + b.len() - i - j > 0 entries left.
        if let Some(slot) = slots.next() {
            *slot = if take_b { y } else { x };
        }
        i += usize::from(!take_b);
        j += usize::from(take_b);
    }
    let rest = slots.into_slice();
    if i < a.len() {
        rest.copy_from_slice(&a[i..]);
    } else {
        rest.copy_from_slice(&b[j..]);
    }
}

/// `n` pseudo-random `u64` from `seed` (splitmix64: fast, well spread, reproducible).
pub fn random_keys(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = crate::rng::SplitMix64::new(seed);
    (0..n).map(|_| rng.next_u64()).collect()
}

/// An order-independent fingerprint of a multiset of keys: equal for a slice and any
/// permutation of it, and almost surely different after a key was lost or duplicated.
pub fn fingerprint(keys: &[u64]) -> (u64, u64, usize) {
    keys.iter()
        .fold((0u64, 0u64, 0usize), |(sum, mix, len), &key| {
            let mixed = (key ^ (key >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            (sum.wrapping_add(key), mix.wrapping_add(mixed), len + 1)
        })
}

/// Checks that `sorted` is in order and holds the keys whose [`fingerprint`] is `want`.
///
/// # Errors
///
/// A message saying what is wrong.
pub fn check_sorted(sorted: &[u64], want: (u64, u64, usize)) -> Result<(), String> {
    if let Some(index) = sorted.windows(2).position(|pair| pair[0] > pair[1]) {
        return Err(format!("out of order at index {index}"));
    }
    if fingerprint(sorted) != want {
        return Err("keys were lost or duplicated".to_owned());
    }
    Ok(())
}

/// The built-in `sort` sweep: [`par_sort`] of `len` random keys (a fresh copy per run,
/// made outside the timed span), against [`sort_piece`] of the whole; every result is
/// checked. It holds four vectors of `len` keys at its peak ([`MEMORY_COPIES`]).
pub fn sweep<'a>(len: usize) -> Sweep<'a, Vec<u64>> {
    let keys = random_keys(len, 0x5eed);
    let want = fingerprint(&keys);
    let sequential_keys = keys.clone();
    Sweep::with_input(
        move || keys.clone(),
        |pool, mut keys: Vec<u64>| {
            par_sort(pool, &mut keys);
            keys
        },
    )
    .name("sort")
    .description(format!(
        "{} random u64 sorted with a merge sort on join (sort_unstable pieces, parallel merges)",
        crate::units::group_digits(len as u64)
    ))
    .items(len as u64, "keys")
    .sequential_with_input(
        move || sequential_keys.clone(),
        |mut keys: Vec<u64>| {
            sort_piece(&mut keys);
            keys
        },
    )
    .check(move |sorted| check_sorted(&sorted, want))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_copy(keys: &[u64]) -> Vec<u64> {
        let mut copy = keys.to_vec();
        copy.sort_unstable();
        copy
    }

    #[test]
    fn sorts_like_sort_unstable_for_many_lengths_and_pool_sizes() {
        for threads in [1, 2, 3, 4] {
            let pool = ThreadPool::new(threads).unwrap();
            for len in [
                0,
                1,
                2,
                17,
                SEQUENTIAL_CUTOFF,
                SEQUENTIAL_CUTOFF + 1,
                100_003,
                300_000,
            ] {
                let mut keys = random_keys(len, len as u64 + threads as u64);
                let expected = sorted_copy(&keys);
                par_sort(&pool, &mut keys);
                assert_eq!(keys, expected, "len {len}, {threads} threads");
            }
        }
    }

    #[test]
    fn sorts_keys_with_many_duplicates_and_presorted_runs() {
        let pool = ThreadPool::new(3).unwrap();
        let mut few_values: Vec<u64> = random_keys(200_000, 1).iter().map(|k| k % 5).collect();
        let expected = sorted_copy(&few_values);
        par_sort(&pool, &mut few_values);
        assert_eq!(few_values, expected);
        let mut descending: Vec<u64> = (0..200_000).rev().collect();
        par_sort(&pool, &mut descending);
        assert!(descending.iter().copied().eq(0..200_000));
    }

    #[test]
    fn a_reused_scratch_buffer_of_any_length_works() {
        let pool = ThreadPool::new(2).unwrap();
        let mut scratch = vec![7u64; 10];
        for len in [100_000, 30_000, 200_000] {
            let mut keys = random_keys(len, len as u64);
            let expected = sorted_copy(&keys);
            par_sort_with_scratch(&pool, &mut keys, &mut scratch);
            assert_eq!(keys, expected, "len {len}");
        }
        assert_eq!(scratch.len(), 200_000);
    }

    #[test]
    fn merge_interleaves_and_keeps_tails() {
        let mut out = [0; 7];
        merge(&[1, 4, 9], &[2, 3, 10, 11], &mut out);
        assert_eq!(out, [1, 2, 3, 4, 9, 10, 11]);
        let mut out = [0; 3];
        merge(&[], &[1, 2, 3], &mut out);
        assert_eq!(out, [1, 2, 3]);
    }

    #[test]
    fn parallel_merge_of_uneven_halves_is_sorted() {
        let pool = ThreadPool::new(2).unwrap();
        let a = sorted_copy(&random_keys(300_000, 3));
        let b = sorted_copy(&random_keys(50_000, 4));
        let mut out = vec![0; a.len() + b.len()];
        pool.install(|| par_merge(&a, &b, &mut out));
        let mut expected = [a, b].concat();
        expected.sort_unstable();
        assert_eq!(out, expected);
    }

    #[test]
    fn the_check_catches_disorder_and_lost_keys() {
        let keys = random_keys(1000, 9);
        let want = fingerprint(&keys);
        let sorted = sorted_copy(&keys);
        assert_eq!(check_sorted(&sorted, want), Ok(()));
        let mut swapped = sorted.clone();
        swapped.swap(10, 11);
        assert!(
            check_sorted(&swapped, want)
                .unwrap_err()
                .contains("out of order")
        );
        let mut duplicated = sorted.clone();
        duplicated[1] = duplicated[0];
        assert!(
            check_sorted(&duplicated, want)
                .unwrap_err()
                .contains("lost")
        );
    }
}
