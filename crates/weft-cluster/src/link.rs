//! The links between processes: a socket wrapper that turns timely's socket panics into
//! data, and the [`Watch`] where faults, replies and shutdown meet.
//!
//! timely's network threads (`timely:send-i`, `timely:recv-i`) panic on any socket error
//! ("timely communication error: ..."), and the receive thread panics when a stream ends
//! without timely's end-of-stream frame (a zero-length header). Both would print through
//! the panic hook, and the panic would come back at the user when timely's guard is
//! dropped. [`GuardedStream`] is the `Stream` handed to timely instead of a `TcpStream`:
//!
//! - its reads hand timely only whole frames. On an error or an end of stream before the
//!   end-of-stream frame, it records the peer as lost in the [`Watch`], drops the partial
//!   frame, and hands timely a clean end-of-stream frame and then EOF, so the receive
//!   thread ends as if the peer had shut down cleanly;
//! - its writes, after a socket error, record the loss and swallow everything (the bytes
//!   could never arrive anyway), so the send thread never panics and ends when its
//!   workers do;
//! - the reading clone, when dropped (after the receive thread handed timely every byte
//!   it got), marks the peer as gone.
//!
//! Frame layout (timely's `MessageHeader`): six big-endian u64s (channel, source,
//! target_lower, target_upper, length, seqno), then `length` bytes.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

use timely::communication::allocator::zero_copy::stream::Stream;

use crate::wire::Outcome;

/// The size of timely's frame header.
const HEADER: usize = 48;
/// Where the payload length sits in the header.
const LENGTH_AT: usize = 32;
/// Read at least this much from the socket at once.
const READ_CHUNK: usize = 1 << 16;

/// What a finished call hands back to the waiting `map`: the leader's results, or `None`
/// on the other processes.
pub(crate) type Reply = Option<Vec<(u64, Outcome)>>;

/// The state shared by the socket wrappers, the dataflow worker thread and the callers of
/// `map`. One mutex, one condition variable; every change wakes the waiters and unparks
/// the worker thread.
#[derive(Debug)]
pub(crate) struct Watch {
    state: Mutex<WatchState>,
    changed: Condvar,
    worker: OnceLock<Thread>,
}

#[derive(Debug)]
pub(crate) struct WatchState {
    /// The first peer found lost: the cluster is broken for good.
    pub(crate) lost: Option<usize>,
    /// `gone[p]`: the receive thread for peer `p` ended (every byte `p` sent was handed
    /// to timely), cleanly or not.
    pub(crate) gone: Vec<bool>,
    /// The peer whose receive thread ended first: the one to blame when a call cannot
    /// finish (the others may only have left because of it).
    pub(crate) first_gone: Option<usize>,
    /// `goodbye[p]`: timely's send thread for peer `p` wrote its end-of-stream frame and
    /// shut the socket's write side: everything this process had for `p` is on its way.
    pub(crate) goodbye: Vec<bool>,
    /// This process is shutting down: ends of streams are expected, not losses.
    pub(crate) stopping: bool,
    /// The dataflow worker thread panicked (with this message).
    pub(crate) engine_failed: Option<String>,
    /// Finished calls, by call number, until their `map` picks them up.
    pub(crate) replies: HashMap<u64, Reply>,
}

impl Watch {
    pub(crate) fn new(processes: usize) -> Watch {
        Watch {
            state: Mutex::new(WatchState {
                lost: None,
                gone: vec![false; processes],
                first_gone: None,
                goodbye: vec![false; processes],
                stopping: false,
                engine_failed: None,
                replies: HashMap::new(),
            }),
            changed: Condvar::new(),
            worker: OnceLock::new(),
        }
    }

    /// The state; a poisoned lock is still the state (nothing here can be half-updated).
    pub(crate) fn lock(&self) -> MutexGuard<'_, WatchState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the next change (or a spurious wake-up).
    pub(crate) fn wait<'a>(&self, guard: MutexGuard<'a, WatchState>) -> MutexGuard<'a, WatchState> {
        self.changed
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the next change, at most `timeout`.
    pub(crate) fn wait_timeout<'a>(
        &self,
        guard: MutexGuard<'a, WatchState>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, WatchState> {
        match self.changed.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    pub(crate) fn set_worker(&self, thread: Thread) {
        let _ = self.worker.set(thread);
    }

    /// Changes the state under the lock, then wakes everyone who may care.
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut WatchState) -> R) -> R {
        let result = change(&mut self.lock());
        self.changed.notify_all();
        if let Some(worker) = self.worker.get() {
            worker.unpark();
        }
        result
    }

    /// Records `peer` as lost, unless this process is stopping or already lost one.
    pub(crate) fn lose(&self, peer: usize) {
        self.update(|state| {
            if !state.stopping && state.lost.is_none() {
                state.lost = Some(peer);
            }
        });
    }
}

/// Reading state of the clone that timely's receive thread owns.
#[derive(Debug, Default)]
struct Framer {
    /// Storage (initialised; it only grows): `buf[..end]` came from the socket, and
    /// `buf[handed..end]` is not yet handed to timely.
    buf: Vec<u8>,
    end: usize,
    handed: usize,
    /// `buf[..whole]` is whole frames; the next frame's header starts at `whole`.
    whole: usize,
    /// Bytes the frame at `whole` needs in all, once its header is in.
    next_frame: usize,
    /// The end-of-stream frame went by: after it, only EOF.
    saw_end: bool,
    /// The stream is over (EOF or error); what is left is `buf[handed..whole]`, then
    /// `inject` (an end-of-stream frame of our own, when the peer sent none), then EOF.
    over: bool,
    inject: Vec<u8>,
}

impl Framer {
    /// Advances `whole` over the frames now complete in `buf[..end]`.
    fn scan(&mut self) {
        while !self.saw_end && self.end - self.whole >= HEADER {
            let at = self.whole + LENGTH_AT;
            let length = u64::from_be_bytes(self.buf[at..at + 8].try_into().expect("8 bytes"));
            let Some(frame) = usize::try_from(length)
                .ok()
                .and_then(|l| l.checked_add(HEADER))
            else {
                // Nonsense length: treat the stream as broken from here.
                self.end = self.whole;
                self.over = true;
                return;
            };
            if length == 0 {
                self.whole += HEADER;
                self.saw_end = true;
                // Nothing may follow timely's end-of-stream frame.
                self.end = self.whole;
            } else if self.end - self.whole >= frame {
                self.whole += frame;
            } else {
                self.next_frame = frame;
                return;
            }
        }
        self.next_frame = HEADER;
    }

    /// Room to read into: at least `READ_CHUNK`, or the rest of the frame being read.
    fn room(&mut self) -> &mut [u8] {
        if self.handed > 0 && self.handed == self.end {
            // Everything handed out: start over at the front (cheap, nothing to move).
            self.whole -= self.handed;
            self.end = 0;
            self.handed = 0;
        } else if self.handed >= self.buf.len() / 2 {
            // Most of the storage is handed out: move the rest to the front.
            self.buf.copy_within(self.handed..self.end, 0);
            self.whole -= self.handed;
            self.end -= self.handed;
            self.handed = 0;
        }
        let frame_end = self.whole + self.next_frame.max(HEADER);
        let want = (frame_end.saturating_sub(self.end)).max(READ_CHUNK);
        if self.buf.len() - self.end < want {
            self.buf.resize(self.end + want, 0);
        }
        &mut self.buf[self.end..]
    }
}

/// A `TcpStream` to one peer, as timely's network threads see it. See the module docs.
#[derive(Debug)]
pub(crate) struct GuardedStream {
    stream: TcpStream,
    peer: usize,
    watch: Arc<Watch>,
    framer: Framer,
    /// This clone has been read from: it is the receive thread's.
    reader: bool,
    /// A write failed: every later write is swallowed.
    write_broken: bool,
}

impl GuardedStream {
    pub(crate) fn new(stream: TcpStream, peer: usize, watch: Arc<Watch>) -> GuardedStream {
        GuardedStream {
            stream,
            peer,
            watch,
            framer: Framer::default(),
            reader: false,
            write_broken: false,
        }
    }

    /// The stream ended or failed: a loss unless the peer said goodbye or we are stopping.
    fn end(&mut self) {
        let framer = &mut self.framer;
        framer.over = true;
        if !framer.saw_end {
            self.watch.lose(self.peer);
            framer.end = framer.whole;
            framer.inject = vec![0u8; HEADER];
            framer.saw_end = true;
        }
    }
}

impl Read for GuardedStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.reader = true;
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let framer = &mut self.framer;
            if framer.whole > framer.handed {
                let n = out.len().min(framer.whole - framer.handed);
                out[..n].copy_from_slice(&framer.buf[framer.handed..framer.handed + n]);
                framer.handed += n;
                return Ok(n);
            }
            if !framer.inject.is_empty() {
                let n = out.len().min(framer.inject.len());
                out[..n].copy_from_slice(&framer.inject[..n]);
                framer.inject.drain(..n);
                return Ok(n);
            }
            if framer.over {
                return Ok(0);
            }
            // Need more bytes from the socket.
            let got = self.stream.read(framer.room());
            let framer = &mut self.framer;
            match got {
                Ok(0) => self.end(),
                Ok(n) => {
                    framer.end += n;
                    if framer.saw_end {
                        // Nothing may follow the end-of-stream frame: drop it if anything does.
                        framer.end = framer.whole;
                    }
                    framer.scan();
                    if framer.over {
                        self.end();
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.end(),
            }
        }
    }
}

impl Write for GuardedStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.write_broken {
            return Ok(data.len());
        }
        loop {
            match self.stream.write(data) {
                Ok(n) => return Ok(n),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.write_broken = true;
                    self.watch.lose(self.peer);
                    return Ok(data.len());
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for GuardedStream {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(GuardedStream::new(
            self.stream.try_clone()?,
            self.peer,
            Arc::clone(&self.watch),
        ))
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.stream.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        // A peer that is already gone cannot be told goodbye; that is no error here.
        let _ = self.stream.shutdown(how);
        if how == Shutdown::Write {
            // timely's send loop does this last, after its end-of-stream frame.
            let peer = self.peer;
            self.watch.update(|state| state.goodbye[peer] = true);
        }
        Ok(())
    }
}

impl Drop for GuardedStream {
    fn drop(&mut self) {
        if self.reader {
            let peer = self.peer;
            self.watch.update(|state| {
                state.gone[peer] = true;
                state.first_gone.get_or_insert(peer);
            });
        }
    }
}
