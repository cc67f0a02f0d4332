//! Every public name of weft-cluster (its contract with users), with its shape (a
//! compile-time check, plus the one-process behaviour that needs no network).

use std::net::SocketAddr;
use std::time::Duration;

use weft_cluster::{Cluster, ClusterBuilder, ClusterError};
use weft_core::{BuildError, ThreadPool};

#[test]
fn every_name_of_the_scale_out_contract_exists_with_its_shape() {
    let _local: fn() -> Result<Cluster, ClusterError> = Cluster::local;
    let _from_args =
        |args: Vec<String>| -> Result<Cluster, ClusterError> { Cluster::from_args(args) };
    let _builder: fn() -> ClusterBuilder = Cluster::builder;
    let builder: ClusterBuilder = Cluster::builder()
        .processes(1)
        .index(0)
        .hosts(vec!["127.0.0.1:2101".parse::<SocketAddr>().unwrap()])
        .threads(2)
        .connect_timeout(Duration::from_secs(1));
    let cluster: Cluster = builder.build().unwrap();
    let _: usize = cluster.index();
    let _: usize = cluster.processes();
    let _: bool = cluster.is_leader();
    let _: &ThreadPool = cluster.pool();
    let _: Result<Option<Vec<u64>>, ClusterError> = cluster.map(vec![1u64], |x: u64| x);

    fn error_traits<E: std::fmt::Debug + std::fmt::Display + std::error::Error + Send + Sync>() {}
    error_traits::<ClusterError>();
    let errors = [
        ClusterError::Args("-n".into()),
        ClusterError::Build(BuildError::ZeroThreads),
        ClusterError::Connect {
            peer: 1,
            addr: "127.0.0.1:1".parse().unwrap(),
            waited: Duration::ZERO,
        },
        ClusterError::PeerLost { peer: 1 },
        ClusterError::Panicked {
            item: 3,
            message: "boom".into(),
        },
    ];
    for error in &errors {
        assert!(!error.to_string().is_empty());
    }
    fn cluster_is_send_sync<C: Send + Sync>() {}
    cluster_is_send_sync::<Cluster>();
}

#[test]
fn a_local_cluster_maps_in_input_order_on_its_pool_and_leads() {
    let cluster = Cluster::builder().threads(2).build().unwrap();
    assert_eq!(
        (cluster.index(), cluster.processes(), cluster.is_leader()),
        (0, 1, true)
    );
    assert_eq!(cluster.pool().num_threads(), 2);
    let squares = cluster
        .map((0..1000u64).collect(), |x| x * x)
        .unwrap()
        .unwrap();
    assert_eq!(squares, (0..1000u64).map(|x| x * x).collect::<Vec<_>>());
    assert_eq!(cluster.map(Vec::<u64>::new(), |x| x).unwrap(), Some(vec![]));
}

#[test]
fn a_local_cluster_reports_the_first_panicking_item_and_stays_usable() {
    let cluster = Cluster::builder().threads(2).build().unwrap();
    let error = cluster
        .map((0..50u32).collect(), |x| {
            if x % 20 == 7 {
                panic!("bad item {x}");
            }
            x
        })
        .unwrap_err();
    assert!(
        matches!(&error, ClusterError::Panicked { item: 7, message } if message == "bad item 7"),
        "{error:?}"
    );
    assert_eq!(
        cluster.map(vec![1u32, 2], |x| x + 1).unwrap(),
        Some(vec![2, 3])
    );
}

#[test]
fn from_args_without_n_is_a_local_cluster_with_the_given_threads() {
    let args = ["prog", "--size", "10", "-w", "3"].map(String::from);
    let cluster = Cluster::from_args(args).unwrap();
    assert_eq!((cluster.processes(), cluster.pool().num_threads()), (1, 3));
}

#[test]
fn bad_builder_settings_are_errors_not_panics() {
    let error = Cluster::builder().processes(0).build().unwrap_err();
    assert!(matches!(error, ClusterError::Args(_)), "{error:?}");
    let error = Cluster::builder()
        .processes(2)
        .index(2)
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, ClusterError::Args(m) if m.contains("index 2")),
        "{error:?}"
    );
    let one: SocketAddr = "127.0.0.1:2101".parse().unwrap();
    let error = Cluster::builder()
        .processes(2)
        .index(0)
        .hosts(vec![one])
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, ClusterError::Args(m) if m.contains("1 host")),
        "{error:?}"
    );
    let error = Cluster::builder()
        .processes(2)
        .index(0)
        .hosts(vec![one, one])
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, ClusterError::Args(m) if m.contains("twice")),
        "{error:?}"
    );
    let error = Cluster::builder().threads(0).build().unwrap_err();
    assert!(
        matches!(error, ClusterError::Build(BuildError::ZeroThreads)),
        "{error:?}"
    );
    let error = Cluster::builder()
        .connect_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(matches!(error, ClusterError::Args(_)), "{error:?}");
}

#[test]
fn a_port_that_is_taken_is_a_listen_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let other: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let error = Cluster::builder()
        .processes(2)
        .index(0)
        .hosts(vec![addr, other])
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, ClusterError::Listen { addr: a, .. } if *a == addr),
        "{error:?}"
    );
}
