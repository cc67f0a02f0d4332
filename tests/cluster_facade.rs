//! `weft::cluster` is `weft-cluster`, behind the `cluster` feature (off by default).
//! `cargo test -p weft --features cluster --test cluster_facade`.

#![cfg(feature = "cluster")]

use weft::cluster::{Cluster, ClusterBuilder, ClusterError};

#[test]
fn the_facade_reexports_the_cluster_and_a_pool_map_becomes_a_cluster_map() {
    let pool = weft::ThreadPool::new(2).unwrap();
    let by_pool = pool.map(0..100u64, |x| x * 3);
    let cluster: Cluster = ClusterBuilder::new().threads(2).build().unwrap();
    let by_cluster: Result<Option<Vec<u64>>, ClusterError> =
        cluster.map((0..100u64).collect(), |x| x * 3);
    assert_eq!(by_cluster.unwrap(), Some(by_pool));
}
