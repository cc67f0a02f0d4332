//! The built-in workloads: the one home of these algorithms, used by the `weft-tune`
//! binary, weft's examples and its benchmarks against rayon.
//!
//! | name | what one run does | module |
//! |---|---|---|
//! | `sum` | the sum of `0..1e9`, every number black-boxed, split with `join` | [`sum`] |
//! | `sort` | a merge sort of 10M random `u64` on `join` | [`sort`] |
//! | `fib` | `fib(40)` with a `join` at every level down to `fib(8)` | [`fib`] |
//! | `tiny` | 1,000,000 trivial jobs, each joined through its handle | [`tiny`] |
//! | `spin` | jobs of 1, 10, 100 and 1000 microseconds: the break-even job size | [`spin`] |
//!
//! Every module has the algorithm, a sequential baseline, a check of the result and a
//! `sweep` constructor that puts them together into a [`Sweep`]. The
//! sequential baseline and the pool's pieces call one `#[inline(never)]` kernel, so both
//! time the same machine code: the same loop inlined into two callers was measured to run
//! up to 1.5x apart on the build machine, which a sweep would report as pool overhead (or
//! as a one-thread pool beating sequential code). [`cost`] estimates what a run needs
//! before anything runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use weft::ThreadPool;

use crate::sweep::Sweep;

pub mod cost;
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
            Workload::Spin => ("jobs per job size (default: 0.4 s of work in all)", 0),
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

/// A built-in sweep whose runs return one `u64` that must equal `want`: the check is
/// `Err("{what} is {got}, expected {want}")` otherwise.
pub(crate) fn checked_sweep<'a>(
    name: &str,
    description: String,
    (items, unit): (u64, &str),
    work: impl FnMut(&ThreadPool) -> u64 + 'a,
    sequential: impl FnMut() -> u64 + 'a,
    (want, what): (u64, String),
) -> Sweep<'a, u64> {
    Sweep::new(work)
        .name(name)
        .description(description)
        .items(items, unit)
        .sequential(sequential)
        .check(move |got| {
            if got == want {
                Ok(())
            } else {
                Err(format!("{what} is {got}, expected {want}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_sweep_names_what_it_checked_when_it_is_wrong() {
        let error = checked_sweep(
            "three",
            "returns 3".to_owned(),
            (1, "numbers"),
            |_| 3,
            || 3,
            (4, "the answer".to_owned()),
        )
        .sizes([1])
        .runs(1)
        .without_calibration()
        .try_run()
        .unwrap_err();
        assert!(
            error.to_string().ends_with("the answer is 3, expected 4"),
            "{error}"
        );
    }

    #[test]
    fn every_workload_parses_from_its_name() {
        for workload in Workload::ALL {
            assert_eq!(workload.name().parse::<Workload>(), Ok(workload));
        }
        assert_eq!("SUM".parse::<Workload>(), Ok(Workload::Sum));
    }
}
