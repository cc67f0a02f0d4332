//! [`Lane`]: one element's bits inside its 8-byte atomic word.
//!
//! This is the crate's soundness choice (one atomic width: see the crate docs and the
//! repository's `docs/design.md`) in one place. An element of `size` bytes at byte offset
//! `o` lives in word `o / 8` at bit shift `8 * (o % 8)` (little-endian, like JS), and views
//! keep their offsets aligned to their element size, so an element never straddles two
//! words. Every operation below is one or more atomic operations on the whole containing
//! `AtomicU64`, never a narrower atomic, so views of different widths over the same bytes
//! never make mixed-size atomic accesses (undefined behaviour in Rust's memory model).
//!
//! Values cross this module as `u64` "lane bits": the element's bits in the low
//! `8 * size` bits, zero above. Wrapping two's-complement arithmetic on those bits is
//! the same for signed and unsigned kinds, so the typed layer only converts.
//!
//! Where one native instruction is exact it is used:
//! - whole-word lanes (64-bit kinds): native `load`/`store`/`swap`/`fetch_*`/CAS;
//! - `and`/`or`/`xor` of any lane: one `fetch_and`/`fetch_or`/`fetch_xor` with the value
//!   shifted into place and the other lanes' bits neutral (ones for `and`, zeros else);
//! - `add`/`sub` of the top lane of a word: one `fetch_add`/`fetch_sub` of the shifted
//!   value; the carry or borrow out of bit 63 is discarded, exactly the lane's wrap;
//! - `load` of any lane: one word load and a shift.
//!
//! Everything else (narrow `store`, `exchange`, `compare_exchange`, `add`/`sub` of a
//! lower lane, float `add`) is a `compare_exchange_weak` loop that replaces only the
//! lane's bits. The loop is lock-free: it retries only when the word changed, which
//! means another thread made progress.
//!
//! Memory ordering: every operation is `SeqCst`, because every JS `Atomics` operation
//! is sequentially consistent and the views promise JS semantics: all of them, on all
//! elements of all buffers, fall into one total order that every thread agrees on.
//! That also makes a narrow `store` (an RMW here) at least as strong as JS's store.
//! Each CAS loop's failure ordering is `SeqCst` too, since the value it reads back on
//! failure is the one a failed `compare_exchange` reports, i.e. a JS load.

use crate::buffer::WORD_BYTES;
use crate::sync::{AtomicU64, Ordering::SeqCst};

/// One element's bits inside its word.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lane<'a> {
    word: &'a AtomicU64,
    /// Bit position of the lane's lowest bit in the word.
    shift: u32,
    /// The lane's bits, unshifted: `2^(8 * size) - 1`.
    mask: u64,
}

impl<'a> Lane<'a> {
    /// The lane of `size` bytes (1, 2, 4 or 8) starting `byte_in_word` bytes into
    /// `word`; the lane must lie inside the word.
    pub(crate) fn new(word: &'a AtomicU64, byte_in_word: usize, size: usize) -> Self {
        debug_assert!(matches!(size, 1 | 2 | 4 | 8), "lane size {size}");
        debug_assert!(byte_in_word.is_multiple_of(size) && byte_in_word + size <= WORD_BYTES);
        let mask = if size == WORD_BYTES {
            u64::MAX
        } else {
            (1u64 << (8 * size)) - 1
        };
        Self {
            word,
            // A byte offset below 8, so the shift is below 64.
            shift: (8 * byte_in_word) as u32,
            mask,
        }
    }

    /// Whether the lane is the whole word (a 64-bit element).
    fn is_whole_word(&self) -> bool {
        self.mask == u64::MAX
    }

    /// Whether the lane holds bit 63, so a carry out of it leaves the word.
    fn is_top(&self) -> bool {
        (self.mask << self.shift) >> 63 == 1
    }

    /// The lane's bits of `word`.
    fn extract(&self, word: u64) -> u64 {
        (word >> self.shift) & self.mask
    }

    /// `bits` (truncated to the lane) moved into the lane's place, zeros elsewhere.
    fn place(&self, bits: u64) -> u64 {
        (bits & self.mask) << self.shift
    }

    /// `word` with the lane's bits replaced by `bits`.
    fn replace(&self, word: u64, bits: u64) -> u64 {
        (word & !(self.mask << self.shift)) | self.place(bits)
    }

    /// Loads the lane.
    pub(crate) fn load(&self) -> u64 {
        // ORDERING: SeqCst, as JS Atomics.load (see the module docs).
        self.extract(self.word.load(SeqCst))
    }

    /// Stores `bits` into the lane.
    pub(crate) fn store(&self, bits: u64) {
        if self.is_whole_word() {
            // ORDERING: SeqCst, as JS Atomics.store.
            self.word.store(bits, SeqCst);
        } else {
            self.update(|_| bits);
        }
    }

    /// Stores `bits` into the lane and returns the old lane bits.
    pub(crate) fn swap(&self, bits: u64) -> u64 {
        if self.is_whole_word() {
            // ORDERING: SeqCst, as JS Atomics.exchange.
            self.word.swap(bits, SeqCst)
        } else {
            self.update(|_| bits)
        }
    }

    /// Stores `new` if the lane holds `expected`; returns the old lane bits either way.
    pub(crate) fn compare_exchange(&self, expected: u64, new: u64) -> u64 {
        let expected = expected & self.mask;
        if self.is_whole_word() {
            // ORDERING: SeqCst on success and failure, as JS Atomics.compareExchange:
            // a failed exchange is still a sequentially consistent read.
            match self.word.compare_exchange(expected, new, SeqCst, SeqCst) {
                Ok(old) | Err(old) => old,
            }
        } else {
            // ORDERING: SeqCst, as JS Atomics.compareExchange; this load is the read
            // that decides whether the lane matches.
            let mut current = self.word.load(SeqCst);
            loop {
                let old = self.extract(current);
                if old != expected {
                    return old;
                }
                // ORDERING: SeqCst on success (the exchange) and on failure (the
                // re-read that the next iteration decides on, as the load above).
                match self.word.compare_exchange_weak(
                    current,
                    self.replace(current, new),
                    SeqCst,
                    SeqCst,
                ) {
                    Ok(_) => return old,
                    Err(actual) => current = actual,
                }
            }
        }
    }

    /// Wrapping-adds `bits` to the lane; returns the old lane bits.
    pub(crate) fn fetch_add(&self, bits: u64) -> u64 {
        if self.is_top() {
            // ORDERING: SeqCst, as JS Atomics.add. Exact: lower lanes get zeros added
            // and no carry, the carry out of bit 63 is dropped like the lane's wrap.
            self.extract(self.word.fetch_add(self.place(bits), SeqCst))
        } else {
            self.update(|old| old.wrapping_add(bits))
        }
    }

    /// Wrapping-subtracts `bits` from the lane; returns the old lane bits.
    pub(crate) fn fetch_sub(&self, bits: u64) -> u64 {
        if self.is_top() {
            // ORDERING: SeqCst, as JS Atomics.sub. Exact for the same reason as add.
            self.extract(self.word.fetch_sub(self.place(bits), SeqCst))
        } else {
            self.update(|old| old.wrapping_sub(bits))
        }
    }

    /// Bitwise-ands `bits` into the lane; returns the old lane bits.
    pub(crate) fn fetch_and(&self, bits: u64) -> u64 {
        let keep_others = !(self.mask << self.shift);
        // ORDERING: SeqCst, as JS Atomics.and. Other lanes are anded with ones.
        self.extract(self.word.fetch_and(keep_others | self.place(bits), SeqCst))
    }

    /// Bitwise-ors `bits` into the lane; returns the old lane bits.
    pub(crate) fn fetch_or(&self, bits: u64) -> u64 {
        // ORDERING: SeqCst, as JS Atomics.or. Other lanes are ored with zeros.
        self.extract(self.word.fetch_or(self.place(bits), SeqCst))
    }

    /// Bitwise-xors `bits` into the lane; returns the old lane bits.
    pub(crate) fn fetch_xor(&self, bits: u64) -> u64 {
        // ORDERING: SeqCst, as JS Atomics.xor. Other lanes are xored with zeros.
        self.extract(self.word.fetch_xor(self.place(bits), SeqCst))
    }

    /// Replaces the lane's bits with `f(old)` atomically (a CAS loop on the word that
    /// leaves the other lanes alone); returns the old lane bits. `f` may run several
    /// times and must not have side effects that matter.
    pub(crate) fn update(&self, mut f: impl FnMut(u64) -> u64) -> u64 {
        // ORDERING: SeqCst; this read only seeds the loop, the CAS below decides.
        let mut current = self.word.load(SeqCst);
        loop {
            let old = self.extract(current);
            // ORDERING: SeqCst on success, as the JS operation this implements; SeqCst
            // on failure, the value the next attempt is computed from.
            match self.word.compare_exchange_weak(
                current,
                self.replace(current, f(old)),
                SeqCst,
                SeqCst,
            ) {
                Ok(_) => return old,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::Lane;
    use crate::sync::{AtomicU64, Ordering::SeqCst};

    #[test]
    fn lanes_touch_only_their_own_bits() {
        let word = AtomicU64::new(0x1122_3344_5566_7788);
        let lane = Lane::new(&word, 2, 2);
        assert_eq!(lane.load(), 0x5566);
        lane.store(0xabcd);
        assert_eq!(word.load(SeqCst), 0x1122_3344_abcd_7788);
        assert_eq!(lane.fetch_add(0x5433), 0xabcd); // wraps to 0x0000, no carry out
        assert_eq!(word.load(SeqCst), 0x1122_3344_0000_7788);
        assert_eq!(lane.fetch_sub(1), 0);
        assert_eq!(word.load(SeqCst), 0x1122_3344_ffff_7788);
    }

    #[test]
    fn top_lane_add_drops_the_carry_out_of_bit_63() {
        let word = AtomicU64::new(0xff00_0000_0000_0001);
        let lane = Lane::new(&word, 7, 1);
        assert!(lane.is_top());
        assert_eq!(lane.fetch_add(1), 0xff);
        assert_eq!(word.load(SeqCst), 0x0000_0000_0000_0001);
        assert_eq!(lane.fetch_sub(2), 0);
        assert_eq!(word.load(SeqCst), 0xfe00_0000_0000_0001);
    }

    #[test]
    fn bit_ops_leave_other_lanes_alone() {
        let word = AtomicU64::new(u64::MAX);
        let lane = Lane::new(&word, 4, 4);
        assert_eq!(lane.fetch_and(0x0f0f_0f0f), 0xffff_ffff);
        assert_eq!(word.load(SeqCst), 0x0f0f_0f0f_ffff_ffff);
        assert_eq!(lane.fetch_xor(0xffff_ffff), 0x0f0f_0f0f);
        assert_eq!(lane.fetch_or(0x0f0f_0f0f), 0xf0f0_f0f0);
        assert_eq!(word.load(SeqCst), 0xffff_ffff_ffff_ffff);
    }

    #[test]
    fn narrow_compare_exchange_compares_only_the_lane() {
        let word = AtomicU64::new(0x0000_0000_0000_ff00);
        let lane = Lane::new(&word, 1, 1);
        assert_eq!(lane.compare_exchange(0xfe, 1), 0xff); // mismatch: nothing stored
        assert_eq!(word.load(SeqCst), 0xff00);
        assert_eq!(lane.compare_exchange(0xff, 1), 0xff);
        assert_eq!(word.load(SeqCst), 0x0100);
    }

    #[test]
    fn whole_word_lane_uses_every_bit() {
        let word = AtomicU64::new(0);
        let lane = Lane::new(&word, 0, 8);
        assert!(lane.is_whole_word() && lane.is_top());
        assert_eq!(lane.fetch_sub(1), 0);
        assert_eq!(lane.load(), u64::MAX);
        assert_eq!(lane.swap(7), u64::MAX);
        assert_eq!(lane.compare_exchange(7, 9), 7);
        assert_eq!(lane.load(), 9);
    }
}

#[cfg(all(test, weft_loom))]
mod loom_tests {
    use super::Lane;
    use crate::sync::{AtomicU64, Ordering::SeqCst};
    use std::sync::Arc;

    /// Guards against a CAS loop on a low lane overwriting a concurrent native
    /// `fetch_add` on the top lane of the same word (a lost neighbour update).
    #[test]
    fn loom_narrow_lane_cas_does_not_lose_neighbour_update() {
        loom::model(|| {
            let word = Arc::new(AtomicU64::new(0x0000_0001_0000_00ff));
            let other = Arc::clone(&word);
            let low = loom::thread::spawn(move || {
                let lane = Lane::new(&other, 0, 1);
                (lane.fetch_add(1), lane.swap(5))
            });
            let high = Lane::new(&word, 4, 4).fetch_add(1);
            let (low_add, low_swap) = low.join().unwrap();
            assert_eq!((low_add, low_swap, high), (0xff, 0, 1));
            assert_eq!(word.load(SeqCst), 0x0000_0002_0000_0005);
        });
    }
}
