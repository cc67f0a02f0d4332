//! The seed's sum of 0..1,000,000,000 as a cluster job: the range is cut into 64 items,
//! the items are spread over the processes, each process sums its share on its own weft
//! pool, and the leader adds up the 64 partial sums. Every number goes through
//! `std::hint::black_box`, as in the `sum` example: about a nanosecond per number.
//!
//! Alone (one process, `Cluster::local`, a pool of all cores):
//!
//! ```text
//! cargo run --release --features cluster --example cluster_sum              # 0..1e9
//! cargo run --release --features cluster --example cluster_sum -- 10000000  # a smaller n
//! ```
//!
//! As two processes of one thread each, under the launcher:
//!
//! ```text
//! cargo build --release --features cluster --example cluster_sum
//! cargo run --release -p weft-cluster -- -n 2 -- target/release/examples/cluster_sum 10000000 -w 1
//! ```
//!
//! Run: `cluster_sum [N]` (default 1e9), plus the cluster's own flags (`-n -p -h -w`).

use std::hint::black_box;
use std::ops::Range;
use std::time::Instant;

use weft::cluster::{Cluster, ClusterError, program_args};

/// Items the range is cut into.
const ITEMS: u64 = 64;

/// The sum of `range`, one black-boxed number at a time (wrapping). Never inlined: every
/// process and every thread runs the same machine code.
#[inline(never)]
fn sum_chunk(range: Range<u64>) -> u64 {
    let mut sum = 0u64;
    for number in range {
        sum = sum.wrapping_add(black_box(number));
    }
    sum
}

fn main() -> Result<(), ClusterError> {
    let args = program_args(std::env::args())?;
    let n: u64 = match args.get(1) {
        Some(text) => text
            .replace('_', "")
            .parse()
            .map_err(|_| ClusterError::Args(format!("N {text:?}: not a whole number")))?,
        None => 1_000_000_000,
    };
    let cluster = Cluster::from_args(std::env::args())?;
    println!(
        "process {} of {}, a pool of {} threads",
        cluster.index(),
        cluster.processes(),
        cluster.pool().num_threads()
    );

    // Only the leader's items count; the others pass none.
    let items: Vec<(u64, u64)> = if cluster.is_leader() {
        (0..ITEMS)
            .map(|i| (i * n / ITEMS, (i + 1) * n / ITEMS))
            .collect()
    } else {
        Vec::new()
    };
    let start = Instant::now();
    let sums = cluster.map(items, |(start, end)| sum_chunk(start..end))?;
    let took = start.elapsed();

    if let Some(sums) = sums {
        let total = sums.iter().fold(0u64, |a, &b| a.wrapping_add(b));
        let want = (u128::from(n) * u128::from(n.saturating_sub(1)) / 2) as u64;
        assert_eq!(total, want, "the sum of 0..{n}");
        println!(
            "sum of 0..{n} = {total} in {took:.2?} ({ITEMS} items over {} processes)",
            cluster.processes()
        );
    }
    Ok(())
}
