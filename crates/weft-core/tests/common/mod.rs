//! Helpers shared by the integration tests: drop counters, a hang guard, a way to keep
//! workers busy until released, a tiny `block_on`, and (on Linux) a look at the process's
//! threads by name.
//!
//! Every test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use weft::{JobHandle, ThreadPool};

/// How long a test may take before the hang guard fails it. Generous: the machine is noisy,
/// and this only turns a deadlock into a failure instead of a hung test run.
pub(crate) const HANG_LIMIT: Duration = Duration::from_secs(30);

/// `n` normally, a small fraction of it under miri.
pub(crate) fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 50).max(2) } else { n }
}

/// Runs `body` on its own thread and fails the test if it does not finish within
/// [`HANG_LIMIT`]. A panic of `body` is re-raised as is.
pub(crate) fn with_timeout<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    with_timeout_of(HANG_LIMIT, body)
}

/// [`with_timeout`] with an explicit limit.
pub(crate) fn with_timeout_of<R: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> R + Send + 'static,
) -> R {
    quiet_expected_panics();
    let (tx, rx) = mpsc::channel();
    let runner = thread::Builder::new()
        .name("test-body".into())
        .spawn(move || {
            let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(body)));
        })
        .expect("cannot start the test-body thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => {
            runner.join().expect("test-body thread");
            value
        }
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(RecvTimeoutError::Timeout) => {
            panic!(
                "hang guard: the test did not finish within {limit:?} (deadlock or lost wake-up?)"
            )
        }
        Err(RecvTimeoutError::Disconnected) => unreachable!("the body thread always reports"),
    }
}

/// Spins (yielding) until `condition` holds; fails after [`HANG_LIMIT`] with `what`.
pub(crate) fn eventually(what: &str, condition: impl FnMut() -> bool) {
    eventually_within(HANG_LIMIT, what, condition);
}

/// [`eventually`] with an explicit limit.
pub(crate) fn eventually_within(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        thread::yield_now();
    }
}

/// Marker for panics the tests provoke on purpose: messages containing it are not printed.
pub(crate) const EXPECTED: &str = "(expected panic)";

/// Installs (once per test binary) a panic hook that stays quiet about panics the tests
/// provoke on purpose (messages containing [`EXPECTED`], and non-string payloads, which only
/// the tests throw), and prints everything else as the default hook does.
pub(crate) fn quiet_expected_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            match message {
                Some(message) if message.contains(EXPECTED) => {}
                None => {}
                Some(_) => default(info),
            }
        }));
    });
}

/// Counts drops of the [`Token`]s it hands out.
#[derive(Debug, Clone, Default)]
pub(crate) struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A token that counts one drop when dropped.
    pub(crate) fn token(&self) -> Token {
        Token(Some(Arc::clone(&self.0)))
    }

    /// Drops so far.
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Dropped once, counted once.
#[derive(Debug)]
pub(crate) struct Token(Option<Arc<AtomicUsize>>);

impl Drop for Token {
    fn drop(&mut self) {
        if let Some(count) = self.0.take() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Per-index drop counts, to check that each of many values is dropped exactly once.
#[derive(Debug, Clone)]
pub(crate) struct DropLedger(Arc<Vec<AtomicUsize>>);

impl DropLedger {
    pub(crate) fn new(n: usize) -> Self {
        DropLedger(Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()))
    }

    pub(crate) fn item(&self, index: usize) -> Tracked {
        Tracked {
            index,
            ledger: Arc::clone(&self.0),
        }
    }

    /// Drops so far, per index.
    pub(crate) fn counts(&self) -> Vec<usize> {
        self.0
            .iter()
            .map(|count| count.load(Ordering::SeqCst))
            .collect()
    }

    /// Indices not dropped exactly once, with their counts.
    pub(crate) fn not_dropped_once(&self) -> Vec<(usize, usize)> {
        self.0
            .iter()
            .enumerate()
            .map(|(index, count)| (index, count.load(Ordering::SeqCst)))
            .filter(|&(_, count)| count != 1)
            .collect()
    }
}

/// A value with an index whose drop is recorded in its [`DropLedger`].
#[derive(Debug)]
pub(crate) struct Tracked {
    pub(crate) index: usize,
    ledger: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger[self.index].fetch_add(1, Ordering::SeqCst);
    }
}

/// Keeps one worker busy until released: dropping (or sending on) `release` lets it finish.
#[derive(Debug)]
pub(crate) struct Blocker {
    pub(crate) handle: JobHandle<()>,
    pub(crate) release: mpsc::Sender<()>,
}

impl Blocker {
    /// Lets the job finish and waits for it.
    pub(crate) fn finish(self) {
        drop(self.release);
        self.handle.join().expect("blocker job");
    }
}

/// Occupies every worker of `pool` with a job that waits to be released; returns once all
/// of them are running, so anything spawned afterwards stays queued. The blockers are
/// started one at a time, so each lands on its own worker.
pub(crate) fn block_all_workers(pool: &ThreadPool) -> Vec<Blocker> {
    (0..pool.num_threads())
        .map(|_| block_one_worker(pool))
        .collect()
}

/// Occupies one (more) worker of `pool` until released; returns once the job is running.
pub(crate) fn block_one_worker(pool: &ThreadPool) -> Blocker {
    let (started_tx, started_rx) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let handle = pool.spawn(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    started_rx
        .recv_timeout(HANG_LIMIT)
        .expect("a blocker job never started");
    Blocker { handle, release }
}

/// Jobs that keep every worker of a pool busy until the pool is being closed.
///
/// Closing is observed through the wake-up a closing pool sends to every worker: each gate
/// job parks, and leaves only when it is unparked after the test announced the close. So jobs queued
/// behind the gates are still queued when `shutdown_now` sets its "cancel queued jobs" flag,
/// and the gates (running jobs) finish only after it.
///
/// Unpark tokens carry no identity, so the gates first make sure none is left over from the
/// pool's own wake-ups: they spin (without parking) until every gate runs, by which time
/// every wake-up the pool sent while they were being picked up has landed; then each drops
/// any pending token, and only then parks. From there on nothing but the closing pool
/// unparks a worker that is busy with a job. Should the pool ever stop unparking busy
/// workers on close, tests using this fail by the hang guard instead of passing by luck.
#[derive(Debug)]
pub(crate) struct CloseGate {
    closing: Arc<AtomicBool>,
    pub(crate) handles: Vec<JobHandle<()>>,
}

impl CloseGate {
    /// Say that the pool is about to be closed: call right before `shutdown_now`/`shutdown`.
    pub(crate) fn announce_close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// Waits for the gate jobs, which must have completed normally.
    pub(crate) fn join(self) {
        for handle in self.handles {
            handle
                .join()
                .expect("a gate job (a running job) finishes normally");
        }
    }
}

/// See [`CloseGate`]; returns once a gate job runs on every worker, parked.
pub(crate) fn hold_workers_until_close(pool: &ThreadPool) -> CloseGate {
    let closing = Arc::new(AtomicBool::new(false));
    let drain_now = Arc::new(AtomicBool::new(false));
    let (drained_tx, drained_rx) = mpsc::channel();
    let handles = (0..pool.num_threads())
        .map(|_| {
            let (started_tx, started_rx) = mpsc::channel();
            let (closing, drain_now, drained_tx) = (
                Arc::clone(&closing),
                Arc::clone(&drain_now),
                drained_tx.clone(),
            );
            let handle = pool.spawn(move || {
                started_tx.send(()).unwrap();
                while !drain_now.load(Ordering::SeqCst) {
                    thread::yield_now();
                }
                thread::park_timeout(Duration::ZERO);
                drained_tx.send(()).unwrap();
                // Park before looking at `closing`: the test announces the close before
                // the pool closes, so only a wake-up counts, not the flag alone.
                loop {
                    thread::park();
                    if closing.load(Ordering::SeqCst) {
                        break;
                    }
                }
            });
            started_rx
                .recv_timeout(HANG_LIMIT)
                .expect("a gate job never started");
            handle
        })
        .collect();
    drain_now.store(true, Ordering::SeqCst);
    for _ in 0..pool.num_threads() {
        drained_rx
            .recv_timeout(HANG_LIMIT)
            .expect("a gate job never got ready");
    }
    CloseGate { closing, handles }
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: polls `future` on this thread, parking between polls.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    block_on_with(future, |_| {}).0
}

/// [`block_on`], calling `on_pending(n)` after the `n`-th poll returned `Pending` (before
/// parking); also returns how many polls it took.
pub(crate) fn block_on_with<F: Future>(
    future: F,
    mut on_pending: impl FnMut(usize),
) -> (F::Output, usize) {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    loop {
        polls += 1;
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return (output, polls),
            Poll::Pending => {
                on_pending(polls);
                thread::park();
            }
        }
    }
}

/// Number of live threads of this process whose name starts with `prefix` (Linux only:
/// thread names as the kernel keeps them, at most 15 bytes).
#[cfg(target_os = "linux")]
pub(crate) fn threads_named(prefix: &str) -> usize {
    count_threads_named(prefix)
}

/// Waits until no thread of this process is named `prefix*` any more. A joined thread can
/// stay listed for a moment after `join` returned (the kernel reaps it just after it wakes
/// the joiner), hence "eventually"; a leaked worker fails after [`HANG_LIMIT`].
#[cfg(target_os = "linux")]
pub(crate) fn assert_no_thread_named(prefix: &str) {
    eventually(&format!("threads named {prefix}* are gone"), || {
        count_threads_named(prefix) == 0
    });
}

/// [`assert_no_thread_named`] on Linux; elsewhere (no way to list threads by name) nothing
/// is checked.
pub(crate) fn assert_threads_gone(prefix: &str) {
    #[cfg(target_os = "linux")]
    assert_no_thread_named(prefix);
    let _ = prefix;
}

#[cfg(target_os = "linux")]
fn count_threads_named(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

/// The message of a panic payload, if it is a string.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Runs `f`, expecting it to panic; returns the payload.
pub(crate) fn expect_panic<R>(f: impl FnOnce() -> R) -> Box<dyn std::any::Any + Send> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, got a value"),
        Err(payload) => payload,
    }
}
