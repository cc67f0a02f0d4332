//! Node-style worker jobs: [`ThreadPool::spawn_worker`](crate::ThreadPool::spawn_worker), a
//! job with a two-way message port.
//!
//! A *worker job* is a Node-style job (a `Worker` in Node's terms); a *worker thread* is one of
//! the pool's threads. A worker job runs on one worker thread for its whole life.
//!
//! | Node (`worker_threads`)              | weft                                        |
//! |--------------------------------------|---------------------------------------------|
//! | `new Worker(file)`                   | `pool.spawn_worker(\|ctx\| ..)`               |
//! | `worker.postMessage(v)`              | [`WorkerHandle::send`]                      |
//! | `worker.on('message', f)`            | [`WorkerHandle::recv`] / [`WorkerHandle::iter`] |
//! | `worker.on('error')` / `'exit'`      | [`WorkerHandle::join`] (`Err(JobError::Panicked)` / `Ok(value)`) |
//! | `worker.terminate()`                 | [`WorkerHandle::cancel`]                    |
//! | `parentPort.postMessage(v)`          | [`WorkerContext::send`]                     |
//! | `parentPort.on('message', f)`        | [`WorkerContext::recv`]                     |
//!
//! Each worker job is one pool job (counted like `spawn`) plus a
//! [`duplex`](weft_channel::duplex) pair of ports. The job's port is closed when the job
//! ends, however it ends: the main side reads every message the job sent, then `recv`
//! reports the end. `cancel` half-closes the main side's port, so a job blocked in
//! `ctx.recv()` wakes with `Err(RecvError)` once it read what was sent before.
//!
//! Every worker job is also registered with its pool (`engine/worker_jobs.rs`) through a
//! [`Link`], which reaches the main side's port weakly: closing the pool half-closes it in
//! the same way (and `shutdown_now` sets the cancel flags first), so a job looping on
//! `ctx.recv()` never keeps the pool's shutdown waiting.

use std::fmt;
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use weft_channel::{Port, RecvError, RecvTimeoutError, SendError, TryRecvError, duplex};

use crate::engine::worker::WorkerThread;
use crate::engine::worker_jobs::WorkerJobInput;
use crate::error::JobError;
use crate::handle::JobHandle;
use crate::job::Tree;
use crate::sync::{AtomicBool, Mutex, Ordering};

/// The main side of a worker job: send it messages, receive its messages, join it.
///
/// ```
/// let pool = weft::ThreadPool::new(2).unwrap();
/// let worker = pool.spawn_worker(|ctx: weft::WorkerContext<String, String>| {
///     let task = ctx.recv().unwrap();
///     ctx.send(format!("{task}: done")).unwrap();
///     task.len()
/// });
/// worker.send("Start computation".to_string()).unwrap();
/// assert_eq!(worker.recv().unwrap(), "Start computation: done");
/// assert_eq!(worker.join().unwrap(), 17);
/// ```
///
/// # Dropping the handle
///
/// Dropping a `WorkerHandle` without [`join`](Self::join) detaches the worker job: it keeps
/// running (and keeps its worker thread) until it returns. Its [`WorkerContext::recv`]
/// returns `Err(RecvError)` once it has read every message sent before the drop, its
/// [`WorkerContext::send`] hands each message back in `SendError`, messages it sent that
/// nobody read are dropped, and its return value is dropped when it ends. A worker job that
/// loops on `ctx.recv()` therefore ends on its own once its handle is gone.
///
/// # Shutdown
///
/// Closing the pool ([`shutdown`](crate::ThreadPool::shutdown),
/// [`shutdown_now`](crate::ThreadPool::shutdown_now), dropping it) ends the job's input as
/// [`join`](Self::join) does, even while this handle is alive: the job reads every message
/// sent before, then its `ctx.recv()` returns `Err(RecvError)`, and later sends on this
/// handle come back in [`SendError`]. `shutdown_now` also sets the job's cancel flag first.
/// So the pool's shutdown never waits forever for a job looping on `ctx.recv()`. The job's
/// messages to this handle keep flowing until it ends.
pub struct WorkerHandle<In, Out, T> {
    /// The only strong reference: the pool reaches it through [`Link::input`].
    port: Arc<Port<In, Out>>,
    job: JobHandle<T>,
    link: Arc<Link<In, Out>>,
}

/// The job side of a worker job: Node's `parentPort`.
pub struct WorkerContext<In, Out> {
    port: Arc<Port<Out, In>>,
    link: Arc<Link<In, Out>>,
}

/// What the handle, the job and the pool share about one worker job; the pool holds it
/// weakly (see `engine/worker_jobs.rs`).
struct Link<In, Out> {
    /// The main side's port, owned by the handle: gone once the handle is.
    input: Weak<Port<In, Out>>,
    /// `ctx.is_cancelled()`: set by `WorkerHandle::cancel` or by `shutdown_now`.
    cancelled: AtomicBool,
    /// The job's tree (its state word) while it runs, [`Tree::OUTSIDE`] otherwise, for
    /// `shutdown_now` to set its stop request (`weft::is_cancelled()`).
    running: Mutex<Tree>,
}

impl<In, Out> Link<In, Out> {
    /// Marks the job as cancelled: `ctx.is_cancelled()` and, while it runs,
    /// `weft::is_cancelled()`.
    fn cancel(&self) {
        // ORDERING: Release pairs with the Acquire in `WorkerContext::is_cancelled`; the flag
        // carries no data beyond itself. A close after this (of the port) orders it before
        // the job's wake-up.
        self.cancelled.store(true, Ordering::Release);
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        request_stop(&running);
    }

    /// Records the tree of the job running on this thread until the returned guard
    /// drops (at the end of the job); a cancel that came before it still reaches it.
    fn enter(&self) -> Running<'_, In, Out> {
        let tree = WorkerThread::current().map_or(Tree::OUTSIDE, WorkerThread::current_tree);
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        *running = tree;
        // ORDERING: Acquire pairs with the Release in `cancel`; the lock orders the two: a
        // `cancel` that took the lock before us stored the flag before, and one that takes it
        // after us finds the run state.
        if self.cancelled.load(Ordering::Acquire) {
            request_stop(&running);
        }
        Running(self)
    }
}

/// Sets the stop request of the running job `running` (what `JobHandle::cancel` does to a
/// running job); nothing when it is [`Tree::OUTSIDE`] (not running).
fn request_stop(running: &Tree) {
    // SAFETY: a tree other than OUTSIDE is set by `Link::enter` while its job runs and reset
    // (under the same lock, which the caller holds) before it ends, so the job runs.
    unsafe { running.request_stop() };
}

/// Clears [`Link::running`] when the job ends, however it ends.
struct Running<'a, In, Out>(&'a Link<In, Out>);

impl<In, Out> Drop for Running<'_, In, Out> {
    fn drop(&mut self) {
        let mut running = self
            .0
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *running = Tree::OUTSIDE;
    }
}

impl<In: Send, Out: Send> WorkerJobInput for Link<In, Out> {
    fn close_input(&self, cancel: bool) {
        if cancel {
            self.cancel();
        }
        if let Some(port) = self.input.upgrade() {
            port.close_send();
        }
    }
}

impl<In, Out, T> fmt::Debug for WorkerHandle<In, Out, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("finished", &self.job.is_finished())
            .finish_non_exhaustive()
    }
}

impl<In, Out> fmt::Debug for WorkerContext<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerContext")
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// Closes the job's port when the job ends, even by a panic.
struct ClosePort<Out, In>(Arc<Port<Out, In>>);

impl<Out, In> Drop for ClosePort<Out, In> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A worker job before it was submitted: the closure the pool runs, and the main side's
/// parts of the handle.
pub(crate) struct Unstarted<In, Out> {
    port: Arc<Port<In, Out>>,
    link: Arc<Link<In, Out>>,
}

/// Splits `func` into the job the pool runs (which gives `func` its [`WorkerContext`] and
/// closes the job's port when it ends, however it ends) and the main side's parts.
pub(crate) fn prepare<F, In, Out, T>(
    func: F,
) -> (impl FnOnce() -> T + Send + 'static, Unstarted<In, Out>)
where
    F: FnOnce(WorkerContext<In, Out>) -> T + Send + 'static,
    In: Send + 'static,
    Out: Send + 'static,
    T: Send + 'static,
{
    let (port, job_port) = duplex::<In, Out>();
    let port = Arc::new(port);
    let job_port = Arc::new(job_port);
    let link = Arc::new(Link {
        input: Arc::downgrade(&port),
        cancelled: AtomicBool::new(false),
        running: Mutex::new(Tree::OUTSIDE),
    });
    let context = WorkerContext {
        port: Arc::clone(&job_port),
        link: Arc::clone(&link),
    };
    let job = move || {
        let job_link = Arc::clone(&context.link);
        let _running = job_link.enter();
        // Closed when the job ends, not when `func` drops the context: the main side's
        // `recv` reports the end only once the job is over.
        let _close = ClosePort(job_port);
        func(context)
    };
    (job, Unstarted { port, link })
}

impl<In: Send + 'static, Out: Send + 'static> Unstarted<In, Out> {
    /// What the pool registers to end the job's input when it closes.
    pub(crate) fn input(&self) -> Weak<dyn WorkerJobInput> {
        let link: Arc<dyn WorkerJobInput> = self.link.clone();
        Arc::downgrade(&link)
    }

    /// The handle, once the job was submitted as `job`.
    pub(crate) fn started<T>(self, job: JobHandle<T>) -> WorkerHandle<In, Out, T> {
        WorkerHandle {
            port: self.port,
            job,
            link: self.link,
        }
    }
}

impl<In, Out, T> WorkerHandle<In, Out, T> {
    /// Sends a message to the job (Node's `worker.postMessage`).
    ///
    /// # Errors
    ///
    /// The message comes back in [`SendError`] when the job has ended (or was cancelled,
    /// or closed its port).
    pub fn send(&self, message: In) -> Result<(), SendError<In>> {
        self.port.send(message)
    }

    /// Waits for the job's next message (Node's `worker.on('message')`).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the job has ended and every message it sent was read.
    pub fn recv(&self) -> Result<Out, RecvError> {
        self.port.recv()
    }

    /// The job's next message if one is waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if none is waiting yet, [`TryRecvError::Disconnected`] once
    /// the job has ended and every message was read.
    pub fn try_recv(&self) -> Result<Out, TryRecvError> {
        self.port.try_recv()
    }

    /// Waits at most `timeout` for the job's next message.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when nothing came in time,
    /// [`RecvTimeoutError::Disconnected`] once the job has ended and every message was read.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Out, RecvTimeoutError> {
        self.port.recv_timeout(timeout)
    }

    /// The job's messages as they come, until it ended and all were read.
    pub fn iter(&self) -> impl Iterator<Item = Out> + '_ {
        self.port.iter()
    }

    /// Ends the input (the job's `ctx.recv()` returns `Err` once it read what was sent),
    /// waits for the job and returns its value (Node's `'exit'`, or `'error'` for a panic).
    /// Messages the job sent and nobody read are dropped.
    ///
    /// # Errors
    ///
    /// [`JobError::Panicked`] if the job panicked, [`JobError::Cancelled`] if it was cancelled
    /// before it started.
    pub fn join(self) -> Result<T, JobError> {
        self.port.close_send();
        self.job.join()
    }

    /// Asks the job to stop (Node's `worker.terminate()`, but cooperative): a job that has not
    /// started never runs (then `true` is returned); a running job sees
    /// [`WorkerContext::is_cancelled`] (and [`crate::is_cancelled`]) turn true, and its
    /// `ctx.recv()` returns `Err(RecvError)` once it read what was sent before. Messages sent
    /// after `cancel` come back in [`SendError`].
    pub fn cancel(&self) -> bool {
        // Both stop requests before the wake-up: a job woken in `ctx.recv()` by the close
        // below must already see `ctx.is_cancelled()` and `weft::is_cancelled()` true.
        self.link.cancel();
        let never_runs = self.job.cancel();
        self.port.close_send();
        never_runs
    }

    /// `true` once the job finished (completed, panicked or cancelled).
    pub fn is_finished(&self) -> bool {
        self.job.is_finished()
    }
}

impl<In, Out> WorkerContext<In, Out> {
    /// Sends a message to the main side (Node's `parentPort.postMessage`).
    ///
    /// # Errors
    ///
    /// The message comes back in [`SendError`] when the main side dropped its handle.
    pub fn send(&self, message: Out) -> Result<(), SendError<Out>> {
        self.port.send(message)
    }

    /// Waits for the next message from the main side (Node's `parentPort.on('message')`).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the main side stopped sending (its handle was joined, cancelled
    /// or dropped) and every message it sent was read.
    pub fn recv(&self) -> Result<In, RecvError> {
        self.port.recv()
    }

    /// The next message if one is waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if none is waiting, [`TryRecvError::Disconnected`] once the
    /// main side stopped sending and every message was read.
    pub fn try_recv(&self) -> Result<In, TryRecvError> {
        self.port.try_recv()
    }

    /// Waits at most `timeout` for the next message.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when nothing came in time,
    /// [`RecvTimeoutError::Disconnected`] once the main side stopped sending and every
    /// message was read.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<In, RecvTimeoutError> {
        self.port.recv_timeout(timeout)
    }

    /// `true` once the main side called [`WorkerHandle::cancel`], or the pool was closed
    /// with [`shutdown_now`](crate::ThreadPool::shutdown_now).
    pub fn is_cancelled(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store in `Link::cancel`.
        self.link.cancelled.load(Ordering::Acquire)
    }
}
