//! [`SlotSet`]: a set of thread slots, one bit each, packed 64 to a word, so that finding
//! the members of a large pool reads a few cache lines instead of one per thread.
//!
//! A pool keeps two: the slots that may hold queued work (a thread joins before its first
//! push after waking and leaves when it goes to sleep, with its deques empty), and the
//! slots whose thread sleeps. Steals and the re-check before sleeping visit only the first;
//! waking a sleeper looks only at the second. With most of a big pool asleep both stay
//! small, which keeps every idle and wake path from growing with the pool's size.

use crate::sync::{AtomicU64, Ordering};

const BITS: usize = 64;

/// A set of slot indices below a fixed bound.
#[derive(Debug)]
pub(crate) struct SlotSet {
    words: Box<[AtomicU64]>,
}

impl SlotSet {
    pub(crate) fn new(slots: usize) -> Self {
        SlotSet {
            words: (0..slots.div_ceil(BITS))
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// Adds `index`.
    #[inline]
    pub(crate) fn insert(&self, index: usize) {
        // ORDERING: SeqCst: joining a set is one side of a Dekker pair with the readers
        // that follow a SeqCst fence (see `Sleep`): either they see the bit, or the joiner's
        // later fence-and-check sees what they did.
        self.words[index / BITS].fetch_or(1 << (index % BITS), Ordering::SeqCst);
    }

    /// Removes `index`.
    #[inline]
    pub(crate) fn remove(&self, index: usize) {
        // ORDERING: SeqCst, as in `insert`.
        self.words[index / BITS].fetch_and(!(1 << (index % BITS)), Ordering::SeqCst);
    }

    /// Calls `visit` on each member below `limit`, starting at `start` (wrapping), until it
    /// returns `Some`.
    pub(crate) fn find_from<R>(
        &self,
        start: usize,
        limit: usize,
        mut visit: impl FnMut(usize) -> Option<R>,
    ) -> Option<R> {
        if limit == 0 {
            return None;
        }
        let start = start % limit;
        let words = limit.div_ceil(BITS);
        let first = start / BITS;
        for k in 0..=words {
            let word_index = (first + k) % words;
            // ORDERING: SeqCst: read after the caller's SeqCst fence when it re-checks
            // before sleeping (see `insert`); elsewhere a hint, checked by what follows.
            let mut word = self.words[word_index].load(Ordering::SeqCst);
            // The first word is visited twice: from `start` on first, below `start` last.
            if k == 0 {
                word &= u64::MAX << (start % BITS);
            } else if k == words {
                word &= !(u64::MAX << (start % BITS));
            }
            while word != 0 {
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                let index = word_index * BITS + bit;
                if index >= limit {
                    break;
                }
                if let Some(found) = visit(index) {
                    return Some(found);
                }
            }
        }
        None
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    fn members(set: &SlotSet, start: usize, limit: usize) -> Vec<usize> {
        let mut seen = Vec::new();
        set.find_from(start, limit, |index| {
            seen.push(index);
            None::<()>
        });
        seen
    }

    #[test]
    fn every_member_is_visited_once_from_any_start() {
        let set = SlotSet::new(200);
        for index in [0, 5, 63, 64, 65, 127, 128, 199] {
            set.insert(index);
        }
        for start in [0, 1, 63, 64, 100, 199, 250] {
            let mut seen = members(&set, start, 200);
            let first = seen[0];
            assert!(first >= start % 200 || seen.iter().all(|&i| i < start % 200));
            seen.sort_unstable();
            assert_eq!(seen, [0, 5, 63, 64, 65, 127, 128, 199], "start {start}");
        }
    }

    #[test]
    fn removed_and_out_of_limit_members_are_not_visited() {
        let set = SlotSet::new(130);
        for index in [1, 70, 129] {
            set.insert(index);
        }
        set.remove(70);
        assert_eq!(members(&set, 0, 130), [1, 129]);
        assert_eq!(members(&set, 0, 100), [1]);
        assert_eq!(members(&set, 0, 0), Vec::<usize>::new());
    }

    #[test]
    fn the_search_stops_at_the_first_find() {
        let set = SlotSet::new(10);
        set.insert(3);
        set.insert(7);
        assert_eq!(set.find_from(4, 10, Some), Some(7));
        assert_eq!(set.find_from(8, 10, Some), Some(3));
    }
}
