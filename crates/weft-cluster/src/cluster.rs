//! [`Cluster`]: this process's place in the cluster, its pool, and `map`.

use std::any::Any;
use std::fmt;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use timely::communication::Hooks;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use weft_core::ThreadPool;

use crate::builder::ClusterBuilder;
use crate::connect::connect_all;
use crate::engine::{self, Call};
use crate::error::{ClusterError, panic_message};
use crate::link::{GuardedStream, Watch};
use crate::wire::{decode_results, encode_items, job};

/// How long dropping a [`Cluster`] waits for the other processes to say goodbye before it
/// closes the connections anyway.
pub const LINGER: Duration = Duration::from_secs(5);

/// This process's place in a cluster of processes that run the same program (SPMD, as
/// with MPI), and its weft pool.
///
/// Build one with [`Cluster::from_args`] (the `-n -p -h -w` flags that the `weft-cluster`
/// launcher passes), [`Cluster::builder`], or [`Cluster::local`] for one process. Then
/// [`map`](Cluster::map) spreads a batch over every process's pool.
///
/// `Cluster` is `Send + Sync`; `map` calls from several threads are run one at a time,
/// but the order must still be the same on every process, so make them from one thread.
///
/// # Shutdown
///
/// Dropping a `Cluster` sends this process's last bytes, then waits up to [`LINGER`] for
/// every other process to close its end (they drop theirs at the end of the same
/// program), then closes the connections, joins timely's threads and shuts the pool down.
/// Drop it (return from `main`) rather than calling `std::process::exit` while peers may
/// still read from this process.
pub struct Cluster {
    index: usize,
    processes: usize,
    pool: Arc<ThreadPool>,
    net: Option<Net>,
}

/// The multi-process part of a cluster.
struct Net {
    watch: Arc<Watch>,
    calls: Mutex<Calls>,
    worker: Option<JoinHandle<()>>,
    /// timely's network threads; dropping it joins them.
    comms: Mutex<Option<Box<dyn Any + Send>>>,
    /// A handle on every socket, to force them shut at the end of `Drop`.
    sockets: Vec<TcpStream>,
}

struct Calls {
    next: u64,
    sender: Option<Sender<Call>>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("index", &self.index)
            .field("processes", &self.processes)
            .field("threads", &self.pool.num_threads())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A cluster of this one process: `map` runs on its pool (of the default size: the
    /// CPU count, or `WEFT_NUM_THREADS`), with no network and no timely.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Build`] when the pool cannot be built.
    pub fn local() -> Result<Cluster, ClusterError> {
        ClusterBuilder::new().build()
    }

    /// A cluster from a command line: `-n PROCESSES -p INDEX -h HOSTFILE -w THREADS`
    /// (also `-n3`, `--processes 3`, `--processes=3`, and so on). The hostfile has one
    /// `host:port` a line (default: `127.0.0.1:2101 + index`); `-w` is this process's
    /// pool size (default: the CPU count). Every other argument is left for the program
    /// (see [`program_args`](crate::program_args)). Without `-n`, this is
    /// [`Cluster::local`] (with `-w` threads if given).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), weft_cluster::ClusterError> {
    /// let cluster = weft_cluster::Cluster::from_args(std::env::args())?;
    /// if let Some(squares) = cluster.map((0..100u64).collect(), |x| x * x)? {
    ///     println!("{}", squares.iter().sum::<u64>());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClusterError::Args`] for a bad flag, flag value or hostfile (named in the
    /// message), and everything [`ClusterBuilder::build`] returns.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Cluster, ClusterError> {
        ClusterBuilder::from_args(args)?.build()
    }

    /// A builder, to set every option in code.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::new()
    }

    /// This process's index, `0..processes()`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The number of processes in the cluster.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// Whether this is process 0, the one that reads the items and gets the results.
    pub fn is_leader(&self) -> bool {
        self.index == 0
    }

    /// This process's weft pool: its share of every `map` runs here, and it is free for
    /// any other work of this process.
    pub fn pool(&self) -> &ThreadPool {
        &self.pool
    }

    pub(crate) fn alone(pool: ThreadPool) -> Cluster {
        Cluster {
            index: 0,
            processes: 1,
            pool: Arc::new(pool),
            net: None,
        }
    }

    pub(crate) fn connect(
        pool: ThreadPool,
        index: usize,
        hosts: Vec<SocketAddr>,
        connect_timeout: Duration,
    ) -> Result<Cluster, ClusterError> {
        let processes = hosts.len();
        let streams = connect_all(index, &hosts, connect_timeout)?;
        let engine_error = |error: std::io::Error| ClusterError::Engine(error.to_string());
        let sockets = streams
            .iter()
            .flatten()
            .map(TcpStream::try_clone)
            .collect::<Result<Vec<_>, _>>()
            .map_err(engine_error)?;
        let watch = Arc::new(Watch::new(processes));
        let guarded = streams
            .into_iter()
            .enumerate()
            .map(|(peer, stream)| stream.map(|s| GuardedStream::new(s, peer, Arc::clone(&watch))))
            .collect();
        let hooks = Hooks::default();
        let local = ProcessBuilder::new_typed_vector(1, hooks.refill.clone(), None);
        let (builders, comms) = initialize_networking_from_sockets(local, guarded, index, 1, hooks)
            .map_err(engine_error)?;
        let builder = builders
            .into_iter()
            .next()
            .expect("one builder for one worker thread");

        let pool = Arc::new(pool);
        let (sender, receiver) = mpsc::channel();
        let worker = {
            let watch = Arc::clone(&watch);
            let pool = Arc::clone(&pool);
            std::thread::Builder::new()
                .name(format!("weft-cluster-dataflow-{index}"))
                .spawn(move || engine::serve(builder, receiver, watch, pool))
                .map_err(engine_error)?
        };
        watch.set_worker(worker.thread().clone());
        let net = Net {
            watch,
            calls: Mutex::new(Calls {
                next: 0,
                sender: Some(sender),
            }),
            worker: Some(worker),
            comms: Mutex::new(Some(Box::new(comms))),
            sockets,
        };
        Ok(Cluster {
            index,
            processes,
            pool,
            net: Some(net),
        })
    }

    /// Runs `f` on every item, spread over the processes, each running its share on its
    /// own pool. The leader (process 0) gets `Some(results)` in input order; the others
    /// get `None`.
    ///
    /// Every process must make the same cluster calls in the same order (SPMD): the
    /// `n`-th `map` of one process meets the `n`-th `map` of every other. `items` are
    /// read on the leader only (the others pass an empty `Vec`; what they pass is
    /// ignored). `f` reaches the other processes as code, not data: they run the same
    /// program and pass the same `f` to their `map`. Items and results cross the network
    /// as bincode; item `i` goes to process `i % processes`.
    ///
    /// # Errors
    ///
    /// - [`ClusterError::Panicked`]: the job for an item panicked (the lowest such item;
    ///   every item still ran, and no process crashed);
    /// - [`ClusterError::Codec`]: an item or a result could not be (de)serialized;
    /// - [`ClusterError::PeerLost`]: a process died, its connection broke, or it left
    ///   while this call needed it. A process killed mid-call is reported as soon as
    ///   its socket closes (milliseconds; on another machine whose link dies silently, by
    ///   TCP keepalive within about 5 s when idle); a process that left cleanly but too
    ///   early, within [`GONE_GRACE`](crate::GONE_GRACE) after this process's share is
    ///   done. Once lost, every later call returns the same error at once;
    /// - [`ClusterError::Engine`]: timely's worker thread failed (a bug).
    pub fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Result<Option<Vec<R>>, ClusterError>
    where
        F: Fn(T) -> R + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        match &self.net {
            None => self.map_here(items, f).map(Some),
            Some(net) => net.map(self.is_leader(), items, f),
        }
    }

    /// One process: the pool, every item under its own catch.
    fn map_here<T, R, F>(&self, items: Vec<T>, f: F) -> Result<Vec<R>, ClusterError>
    where
        F: Fn(T) -> R + Send + Sync,
        T: Send,
        R: Send,
    {
        let outcomes = self.pool.map(items, |item| {
            catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|payload| {
                let message = panic_message(&*payload);
                let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
                message
            })
        });
        outcomes
            .into_iter()
            .enumerate()
            .map(|(item, outcome)| {
                outcome.map_err(|message| ClusterError::Panicked { item, message })
            })
            .collect()
    }
}

impl Net {
    /// The error of a broken cluster, if it is.
    fn broken(&self) -> Option<ClusterError> {
        let state = self.watch.lock();
        if let Some(peer) = state.lost {
            return Some(ClusterError::PeerLost { peer });
        }
        state
            .engine_failed
            .as_ref()
            .map(|message| ClusterError::Engine(message.clone()))
    }

    fn map<T, R, F>(
        &self,
        leader: bool,
        items: Vec<T>,
        f: F,
    ) -> Result<Option<Vec<R>>, ClusterError>
    where
        F: Fn(T) -> R + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(error) = self.broken() {
            return Err(error);
        }
        // An item that cannot be encoded still makes the leader take part in the call
        // (with no items), so that the other processes' calls end too.
        let (wire_items, encode_error) = match leader.then(|| encode_items(&items)) {
            Some(Ok(wire_items)) => (wire_items, None),
            Some(Err(error)) => (Vec::new(), Some(error)),
            None => (Vec::new(), None),
        };
        drop(items);
        let count = wire_items.len();
        let number = calls.next;
        calls.next += 1;
        let call = Call {
            number,
            items: wire_items,
            job: job(f),
        };
        let sent = calls.sender.as_ref().map(|sender| sender.send(call));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.broken().unwrap_or_else(|| {
                ClusterError::Engine("the dataflow worker thread has stopped".to_owned())
            }));
        }
        self.watch.update(|_| ());

        let reply = {
            let mut state = self.watch.lock();
            loop {
                if let Some(reply) = state.replies.remove(&number) {
                    break reply;
                }
                if let Some(peer) = state.lost {
                    return Err(ClusterError::PeerLost { peer });
                }
                if let Some(message) = &state.engine_failed {
                    return Err(ClusterError::Engine(message.clone()));
                }
                state = self.watch.wait(state);
            }
        };
        drop(calls);
        if let Some(error) = encode_error {
            return Err(error);
        }
        match reply {
            Some(results) if leader => decode_results(results, count).map(Some),
            _ => Ok(None),
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // 1. No more calls; the worker leaves (it has no unfinished call unless the
        //    cluster broke) and timely's send threads write their last frames.
        let calls = self
            .calls
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        drop(calls.sender.take());
        self.watch.update(|state| state.stopping = true);
        if let Some(worker) = self.worker.take() {
            // It catches its own panics: a join error cannot carry anything new.
            let _ = worker.join();
        }
        // 2. Linger until every peer closed its end and every goodbye of ours went out.
        let deadline = Instant::now() + LINGER;
        let mut state = self.watch.lock();
        let peers = self.sockets.len();
        loop {
            let gone = state.gone.iter().filter(|&&gone| gone).count();
            let goodbyes = state.goodbye.iter().filter(|&&bye| bye).count();
            let done = gone == peers && goodbyes == peers;
            let now = Instant::now();
            if done || now >= deadline {
                break;
            }
            state = self.watch.wait_timeout(state, deadline - now);
        }
        drop(state);
        // 3. Force whatever is left (a peer that never closed, a write to a stuck peer).
        for socket in &self.sockets {
            let _ = socket.shutdown(Shutdown::Both);
        }
        // 4. Join timely's network threads.
        let comms = self
            .comms
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(comms) = comms {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(comms)));
        }
    }
}
