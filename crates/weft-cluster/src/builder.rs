//! [`ClusterBuilder`]: how many processes, which one this is, where they listen.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use weft_core::ThreadPoolBuilder;

use crate::cluster::Cluster;
use crate::error::ClusterError;

/// The first port of the default addresses: process `i` listens on `127.0.0.1:2101 + i`
/// (timely's convention).
pub const DEFAULT_BASE_PORT: u16 = 2101;

/// How long [`ClusterBuilder::build`] waits for the other processes by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures and builds a [`Cluster`]; from [`Cluster::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// # fn main() -> Result<(), weft_cluster::ClusterError> {
/// let cluster = weft_cluster::Cluster::builder()
///     .processes(2)
///     .index(0)
///     .hosts(vec!["127.0.0.1:4000".parse().unwrap(), "127.0.0.1:4001".parse().unwrap()])
///     .threads(2)
///     .connect_timeout(Duration::from_secs(5))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct ClusterBuilder {
    processes: usize,
    index: usize,
    hosts: Option<Vec<SocketAddr>>,
    threads: Option<usize>,
    connect_timeout: Duration,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder::new()
    }
}

impl ClusterBuilder {
    /// One process (index 0), the default addresses, a pool of the default size
    /// (the CPU count, or `WEFT_NUM_THREADS`), a connect timeout of 10 s.
    pub fn new() -> ClusterBuilder {
        ClusterBuilder {
            processes: 1,
            index: 0,
            hosts: None,
            threads: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// A builder set from a command line, as [`Cluster::from_args`] reads it; set more
    /// (say, [`connect_timeout`](ClusterBuilder::connect_timeout)) before `build`.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Args`] for a bad flag, flag value or hostfile, named.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
    ) -> Result<ClusterBuilder, ClusterError> {
        crate::args::builder_from_args(args)
    }

    /// The number of processes in the cluster (`-n`). 1 means [`Cluster::local`].
    pub fn processes(mut self, processes: usize) -> ClusterBuilder {
        self.processes = processes;
        self
    }

    /// This process's index, `0..processes` (`-p`); index 0 leads.
    pub fn index(mut self, index: usize) -> ClusterBuilder {
        self.index = index;
        self
    }

    /// Every process's address, by index (`-h`). Default: `127.0.0.1:2101 + index`.
    /// Every process must be given the same list.
    pub fn hosts(mut self, hosts: Vec<SocketAddr>) -> ClusterBuilder {
        self.hosts = Some(hosts);
        self
    }

    /// The number of threads of this process's weft pool (`-w`). Default: the CPU count.
    pub fn threads(mut self, threads: usize) -> ClusterBuilder {
        self.threads = Some(threads);
        self
    }

    /// How long to wait for every other process to come up. Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClusterBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// Builds this process's pool, connects to every other process and starts the
    /// dataflow worker. Returns once all processes are connected.
    ///
    /// # Errors
    ///
    /// - [`ClusterError::Args`]: 0 processes, an index out of range, a host list of the
    ///   wrong length or with an address twice, a zero connect timeout;
    /// - [`ClusterError::Build`]: the pool could not be built (0 threads, ...);
    /// - [`ClusterError::Listen`]: this process's address cannot be listened on;
    /// - [`ClusterError::Connect`]: a peer did not come up within the connect timeout.
    pub fn build(self) -> Result<Cluster, ClusterError> {
        let ClusterBuilder {
            processes,
            index,
            hosts,
            threads,
            connect_timeout,
        } = self;
        if processes == 0 {
            return Err(ClusterError::Args(
                "a cluster needs at least one process".to_owned(),
            ));
        }
        if index >= processes {
            return Err(ClusterError::Args(format!(
                "process index {index} is out of range for {processes} processes (0..{processes})"
            )));
        }
        if connect_timeout.is_zero() {
            return Err(ClusterError::Args(
                "the connect timeout must be more than zero".to_owned(),
            ));
        }
        let hosts = match hosts {
            Some(hosts) => hosts,
            None => default_hosts(processes)?,
        };
        if hosts.len() != processes {
            return Err(ClusterError::Args(format!(
                "{} host addresses for {processes} processes",
                hosts.len()
            )));
        }
        let mut seen = HashSet::new();
        if let Some(twice) = hosts.iter().find(|addr| !seen.insert(**addr)) {
            return Err(ClusterError::Args(format!(
                "host address {twice} is listed twice"
            )));
        }
        let mut pool = ThreadPoolBuilder::new()
            .thread_name(move |worker| format!("weft-cluster-{index}-{worker}"));
        if let Some(threads) = threads {
            pool = pool.num_threads(threads);
        }
        let pool = pool.build()?;
        if processes == 1 {
            return Ok(Cluster::alone(pool));
        }
        Cluster::connect(pool, index, hosts, connect_timeout)
    }
}

fn default_hosts(processes: usize) -> Result<Vec<SocketAddr>, ClusterError> {
    (0..processes)
        .map(|index| {
            u16::try_from(index)
                .ok()
                .and_then(|index| DEFAULT_BASE_PORT.checked_add(index))
                .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                .ok_or_else(|| {
                    ClusterError::Args(format!(
                        "{processes} processes do not fit the default ports"
                    ))
                })
        })
        .collect()
}
