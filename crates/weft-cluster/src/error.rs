//! [`ClusterError`]: everything that can go wrong in a cluster, as data.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use weft_core::BuildError;

/// What went wrong in [`Cluster`](crate::Cluster) construction or in
/// [`Cluster::map`](crate::Cluster::map).
///
/// Every fault of a cluster ends as one of these within a stated time; none is a hang and
/// none is a panic. After [`PeerLost`](ClusterError::PeerLost) (and
/// [`Engine`](ClusterError::Engine)) the cluster is broken for good: every later `map`
/// returns the same error at once.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClusterError {
    /// A bad flag, flag value or hostfile, named in the message.
    Args(String),
    /// This process's weft pool could not be built.
    Build(BuildError),
    /// Peer `peer` at `addr` did not come up (connect and handshake) within the
    /// connect timeout; `waited` is how long this process waited for it.
    Connect {
        /// The index of the peer that never answered.
        peer: usize,
        /// Its address, from the hostfile.
        addr: SocketAddr,
        /// How long this process waited for it.
        waited: Duration,
    },
    /// This process could not listen on its own address (for instance: the port is taken).
    Listen {
        /// This process's address, from the hostfile.
        addr: SocketAddr,
        /// What the operating system said.
        message: String,
    },
    /// Process `peer` died, or its connection broke, or it left the cluster while a
    /// `map` still needed it. Every surviving process reports it.
    PeerLost {
        /// The index of the process that was lost (the first one this process noticed).
        peer: usize,
    },
    /// The job for item `item` (its index in the input) panicked, with this message; the
    /// first (lowest-index) such item is reported. No process crashed.
    Panicked {
        /// The index of the item in the input `Vec`.
        item: usize,
        /// The panic message (`"<non-string panic payload>"` when it was not a string).
        message: String,
    },
    /// Item `item` or its result could not be serialized or deserialized (serde/bincode
    /// said `message`).
    Codec {
        /// The index of the item in the input `Vec`.
        item: usize,
        /// What serde/bincode said.
        message: String,
    },
    /// The timely dataflow worker thread of this process failed (a bug in timely or in
    /// weft-cluster, never the user's job).
    Engine(String),
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Args(message) => write!(f, "bad cluster arguments: {message}"),
            ClusterError::Build(error) => write!(f, "could not build this process's pool: {error}"),
            ClusterError::Connect { peer, addr, waited } => write!(
                f,
                "cluster peer {peer} at {addr} did not come up within {waited:.1?}"
            ),
            ClusterError::Listen { addr, message } => {
                write!(f, "cannot listen on {addr}: {message}")
            }
            ClusterError::PeerLost { peer } => {
                write!(
                    f,
                    "cluster peer {peer} was lost (it died or its connection broke)"
                )
            }
            ClusterError::Panicked { item, message } => {
                write!(f, "the job for item {item} panicked: {message}")
            }
            ClusterError::Codec { item, message } => {
                write!(
                    f,
                    "item {item} or its result could not be (de)serialized: {message}"
                )
            }
            ClusterError::Engine(message) => {
                write!(f, "the cluster's dataflow worker failed: {message}")
            }
        }
    }
}

impl std::error::Error for ClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClusterError::Build(error) => Some(error),
            _ => None,
        }
    }
}

impl From<BuildError> for ClusterError {
    fn from(error: BuildError) -> Self {
        ClusterError::Build(error)
    }
}

/// The `&str` or `String` inside a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
