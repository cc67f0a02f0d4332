//! Connecting the processes, with a deadline.
//!
//! timely's own `create_sockets` retries a refused connection forever (once a second,
//! printing each try) and panics on a bad handshake. Here every process connects to each
//! lower-indexed peer and accepts the higher-indexed ones (the same shape as timely's, so
//! the sockets can be handed to `initialize_networking_from_sockets`), with a handshake
//! that checks who is on the other end, and gives up with [`ClusterError::Connect`] at the
//! deadline.
//!
//! Handshake: the connecting process sends `MAGIC`, the cluster's fingerprint (a hash of
//! the process count and the address list, so a process of another cluster, or a stale one
//! on a reused port, is turned away) and its index; the accepting one answers `MAGIC`,
//! the fingerprint and its own index. All numbers are big-endian u64.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::error::ClusterError;

const MAGIC: [u8; 8] = *b"weftclu1";
const HELLO_LEN: usize = 24;

/// How long one connect attempt or one handshake read may take.
const ATTEMPT: Duration = Duration::from_millis(1000);
/// Pause between connect attempts to a peer that refused (doubling up to `MAX_BACKOFF`).
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(100);
/// Pause when a round of accepting and connecting made no progress.
const IDLE_POLL: Duration = Duration::from_millis(2);

/// FNV-1a over the process count and the addresses, in order: equal for the processes of
/// one cluster (they read the same hostfile), different for another cluster's.
fn fingerprint(hosts: &[SocketAddr]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{}|{hosts:?}", hosts.len());
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn hello(fingerprint: u64, index: usize) -> [u8; HELLO_LEN] {
    let mut bytes = [0u8; HELLO_LEN];
    bytes[..8].copy_from_slice(&MAGIC);
    bytes[8..16].copy_from_slice(&fingerprint.to_be_bytes());
    bytes[16..].copy_from_slice(&(index as u64).to_be_bytes());
    bytes
}

/// Reads a hello and returns the index in it, if magic and fingerprint match.
fn read_hello(stream: &mut TcpStream, fingerprint: u64) -> io::Result<Option<usize>> {
    let mut bytes = [0u8; HELLO_LEN];
    stream.read_exact(&mut bytes)?;
    let their_fingerprint = u64::from_be_bytes(bytes[8..16].try_into().expect("8 bytes"));
    if bytes[..8] != MAGIC || their_fingerprint != fingerprint {
        return Ok(None);
    }
    let index = u64::from_be_bytes(bytes[16..].try_into().expect("8 bytes"));
    Ok(usize::try_from(index).ok())
}

/// One connection to a lower-indexed peer: connect, say hello, hear it answer.
fn try_connect(
    addr: SocketAddr,
    peer: usize,
    me: usize,
    fp: u64,
    budget: Duration,
) -> Option<TcpStream> {
    let budget = budget.clamp(Duration::from_millis(1), ATTEMPT);
    let mut stream = TcpStream::connect_timeout(&addr, budget).ok()?;
    stream.set_read_timeout(Some(budget)).ok()?;
    stream.write_all(&hello(fp, me)).ok()?;
    match read_hello(&mut stream, fp) {
        Ok(Some(index)) if index == peer => Some(stream),
        _ => None,
    }
}

/// One accepted connection: hear its hello, answer. Returns the peer's index.
fn answer(
    stream: &mut TcpStream,
    me: usize,
    processes: usize,
    fp: u64,
    budget: Duration,
) -> Option<usize> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(budget.clamp(Duration::from_millis(1), ATTEMPT)))
        .ok()?;
    let index = read_hello(stream, fp).ok()??;
    if index <= me || index >= processes {
        return None;
    }
    stream.write_all(&hello(fp, me)).ok()?;
    Some(index)
}

/// Connects process `me` to every other process of `hosts` within `timeout`.
///
/// Returns one stream per process, `None` at `me`, ready for timely (blocking, no read
/// timeout, `TCP_NODELAY`, keepalive probes on).
pub(crate) fn connect_all(
    me: usize,
    hosts: &[SocketAddr],
    timeout: Duration,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let processes = hosts.len();
    let fp = fingerprint(hosts);
    let start = Instant::now();
    let deadline = start + timeout;
    let mut streams: Vec<Option<TcpStream>> = (0..processes).map(|_| None).collect();

    // Only a process with higher-indexed peers listens (they connect to it).
    let listener = if me + 1 < processes {
        let listener = TcpListener::bind(hosts[me]).map_err(|error| ClusterError::Listen {
            addr: hosts[me],
            message: error.to_string(),
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|error| ClusterError::Listen {
                addr: hosts[me],
                message: error.to_string(),
            })?;
        Some(listener)
    } else {
        None
    };

    let mut backoff = vec![FIRST_BACKOFF; processes];
    let mut next_try = vec![start; processes];
    loop {
        let mut progressed = false;
        let now = Instant::now();
        let budget = deadline.saturating_duration_since(now);

        if let Some(listener) = &listener {
            while let Ok((mut stream, _)) = listener.accept() {
                if let Some(peer) = answer(&mut stream, me, processes, fp, budget) {
                    // A peer that gave up on an earlier attempt connects again: the newest wins.
                    streams[peer] = Some(stream);
                    progressed = true;
                }
            }
        }

        // Lower peers one at a time, in order, each when its back-off has passed.
        if let Some(peer) = (0..me).find(|&peer| streams[peer].is_none())
            && now >= next_try[peer]
        {
            match try_connect(hosts[peer], peer, me, fp, budget) {
                Some(stream) => {
                    streams[peer] = Some(stream);
                    progressed = true;
                }
                None => {
                    next_try[peer] = Instant::now() + backoff[peer];
                    backoff[peer] = (backoff[peer] * 2).min(MAX_BACKOFF);
                }
            }
        }

        let missing = (0..processes).find(|&peer| peer != me && streams[peer].is_none());
        let Some(missing) = missing else { break };
        if Instant::now() >= deadline {
            return Err(ClusterError::Connect {
                peer: missing,
                addr: hosts[missing],
                waited: start.elapsed(),
            });
        }
        if !progressed {
            std::thread::sleep(IDLE_POLL);
        }
    }

    for (peer, stream) in streams.iter().enumerate() {
        if let Some(stream) = stream {
            prepare(stream).map_err(|_| ClusterError::Connect {
                peer,
                addr: hosts[peer],
                waited: start.elapsed(),
            })?;
        }
    }
    Ok(streams)
}

/// Blocking, no read timeout, no Nagle, and TCP keepalive so that a peer whose machine or
/// link dies (no FIN ever comes) is noticed: probes after 2 s idle, every 1 s, 3 misses.
/// Unacknowledged data gives up after 10 s (`TCP_USER_TIMEOUT`, Linux).
fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    stream.set_nodelay(true)?;
    let socket = socket2::SockRef::from(stream);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(2))
        .with_interval(Duration::from_secs(1));
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "freebsd"
    ))]
    let keepalive = keepalive.with_retries(3);
    socket.set_tcp_keepalive(&keepalive)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_user_timeout(Some(Duration::from_secs(10)))?;
    Ok(())
}
