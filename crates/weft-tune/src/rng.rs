//! splitmix64: the one pseudo-random generator of the crate (random sort keys, the shuffled
//! order of each round, bootstrap resamples). Fast, well spread, reproducible from a seed.

/// A splitmix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`), by the multiply-shift method (its bias is below
    /// `bound / 2^64`, nothing at the sizes used here).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0);
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            let pick = self.below(last + 1);
            items.swap(last, pick);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let a: Vec<u64> = {
            let mut rng = SplitMix64::new(7);
            (0..5).map(|_| rng.next_u64()).collect()
        };
        let mut rng = SplitMix64::new(7);
        assert!(a.iter().all(|&x| x == rng.next_u64()));
        assert_ne!(a[0], SplitMix64::new(8).next_u64());
    }

    #[test]
    fn below_stays_in_bounds_and_reaches_every_value() {
        let mut rng = SplitMix64::new(1);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[rng.below(5)] = true;
        }
        assert!(seen.iter().all(|&hit| hit));
    }

    #[test]
    fn a_shuffle_is_a_permutation_and_moves_things() {
        let mut rng = SplitMix64::new(3);
        let mut items: Vec<usize> = (0..20).collect();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..20).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..20).collect::<Vec<_>>());
    }
}
