//! The built-in workloads: the one home of these algorithms, used by the `weft-tune`
//! binary, weft's examples and its benchmarks against rayon.
//!
//! | name | what one run does | module |
//! |---|---|---|
//! | `sum` | the sum of `0..1e9`, every number black-boxed, split with `join` | [`sum`] |
//! | `sort` | a merge sort of 10M random `u64` on `join` | [`sort`] |
//! | `fib` | `fib(32)` with a `join` at every level | [`fib`] |
//! | `tiny` | 1,000,000 trivial jobs, each joined through its handle | [`tiny`] |
//! | `spin` | jobs of a chosen length in microseconds | [`spin`] |
//!
//! Every module has the algorithm, a sequential baseline, a check of the result and a
//! `sweep` constructor that puts them together into a [`Sweep`](crate::Sweep).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod fib;
pub mod sort;
pub mod spin;
pub mod sum;
pub mod tiny;

/// A built-in workload, by name.
///
/// ```
/// use weft_tune::workloads::Workload;
///
/// assert_eq!("sort".parse::<Workload>().unwrap(), Workload::Sort);
/// let error = "merge".parse::<Workload>().unwrap_err();
/// assert_eq!(error.to_string(), "unknown workload 'merge' (expected one of: sum, sort, fib, tiny, spin)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// [`sum`]: the seed's sum of `0..1e9`.
    Sum,
    /// [`sort`]: 10M random `u64`.
    Sort,
    /// [`fib`]: fork-join at every level.
    Fib,
    /// [`tiny`]: the overhead of a job.
    Tiny,
    /// [`spin`]: jobs of a chosen length.
    Spin,
}

impl Workload {
    /// Every built-in workload, in the order `--help` lists them.
    pub const ALL: [Workload; 5] = [
        Workload::Sum,
        Workload::Sort,
        Workload::Fib,
        Workload::Tiny,
        Workload::Spin,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Sum => "sum",
            Workload::Sort => "sort",
            Workload::Fib => "fib",
            Workload::Tiny => "tiny",
            Workload::Spin => "spin",
        }
    }

    /// What `--size` means for this workload, and its default.
    pub fn size_meaning(self) -> (&'static str, u64) {
        match self {
            Workload::Sum => ("numbers to sum", sum::DEFAULT_N),
            Workload::Sort => ("keys to sort", sort::DEFAULT_LEN as u64),
            Workload::Fib => ("n of fib(n)", u64::from(fib::DEFAULT_N)),
            Workload::Tiny => ("jobs", tiny::DEFAULT_JOBS),
            Workload::Spin => ("jobs (default: 0.4 s of work)", 0),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A workload name that is not one of [`Workload::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWorkload(pub String);

impl fmt::Display for UnknownWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        write!(
            f,
            "unknown workload '{}' (expected one of: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownWorkload {}

impl FromStr for Workload {
    type Err = UnknownWorkload;

    fn from_str(name: &str) -> Result<Workload, UnknownWorkload> {
        Workload::ALL
            .into_iter()
            .find(|workload| workload.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownWorkload(name.to_owned()))
    }
}

/// `1000000` as `1,000,000`.
pub(crate) fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1_000_000_000), "1,000,000,000");
    }

    #[test]
    fn every_workload_parses_from_its_name() {
        for workload in Workload::ALL {
            assert_eq!(workload.name().parse::<Workload>(), Ok(workload));
        }
        assert_eq!("SUM".parse::<Workload>(), Ok(Workload::Sum));
    }
}
