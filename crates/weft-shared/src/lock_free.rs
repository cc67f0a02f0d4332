//! [`is_lock_free`]: JS `Atomics.isLockFree`.

/// Whether atomic operations on elements of `size_in_bytes` bytes are lock-free (JS:
/// `Atomics.isLockFree(size)`).
///
/// JS's rules: 4 is always `true`; 1, 2 and 8 are as the platform says; every other
/// size is `false`. In weft every element, whatever its size, is accessed through the
/// 8-byte atomic word that holds it, so 1, 2, 4 and 8 are lock-free exactly when the
/// platform has native 64-bit atomics. This crate needs those to build at all, so in
/// practice all four are `true`. (Narrow read-modify-writes may retry a
/// compare-exchange when a neighbouring element in the same word changes; that is
/// lock-free, though not wait-free.)
///
/// # Examples
///
/// ```
/// use weft::shared::is_lock_free;
///
/// assert!(is_lock_free(4));
/// assert!(is_lock_free(1) && is_lock_free(2) && is_lock_free(8));
/// assert!(!is_lock_free(3) && !is_lock_free(16));
/// ```
pub const fn is_lock_free(size_in_bytes: usize) -> bool {
    size_in_bytes == 4 || (matches!(size_in_bytes, 1 | 2 | 8) && cfg!(target_has_atomic = "64"))
}
