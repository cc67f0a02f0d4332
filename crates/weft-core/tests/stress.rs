//! Stress: nothing is lost under a heavy mixed load.
//!
//! Several threads submit a mix of detached jobs to one pool, in all three priority lanes:
//! values, panics, cancels right away and late, handles dropped at once, `execute`
//! (completing and panicking), jobs that spawn and join children, jobs that fork with
//! `weft::join`, jobs that open a `scope`, `spawn_worker` jobs that exchange messages
//! (completing, panicking while holding their port, and with the main side gone), and jobs
//! with run timeouts and queue timeouts. Every handle is resolved, through `join`,
//! `join_timeout`, `.await` or a spin on `is_finished`.
//!
//! Every value in play (each closure's captured token, each result, each panic payload,
//! each message) carries a mark with its own id in a [`Ledger`]: created once, dropped
//! once. Once the pool is quiet, `stats()` must add up exactly to what the submitters
//! expect (`completed + panicked + cancelled + timed_out == submitted`,
//! `queued == running == 0`), and
//! after shutdown every mark must have been dropped exactly as often as it was created.
//!
//! Size: `WEFT_STRESS_JOBS` detached jobs in the main test (default 1,000,000; miri runs
//! a token size). The shutdown test runs rounds of `WEFT_STRESS_JOBS / 50` jobs with a
//! `shutdown` or `shutdown_now` racing the handles, alternately.
//!
//! Counting touches only per-id relaxed atomics: no shared counter (or `Arc`) adds
//! synchronisation between threads that the pool itself does not provide, so the
//! ThreadSanitizer run (`scripts/tsan.sh`) sees the pool's own happens-before edges only.

mod common;

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Weak, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use weft::channel::RecvError;
use weft::{JobError, JobHandle, PoolStats, Priority, ThreadPool, WorkerContext, WorkerHandle};

use common::{block_on, eventually, with_timeout_of};

/// Detached jobs of the main test unless `WEFT_STRESS_JOBS` says otherwise.
const DEFAULT_JOBS: usize = 1_000_000;

/// Threads submitting at once (the pool has two workers: the machine's cores).
const SUBMITTERS: usize = 4;

/// Handles a submitter keeps in flight before it resolves them.
const WINDOW: usize = 64;

/// Ids per operation: every value one operation creates has an id `op * IDS + k`, `k < IDS`.
const IDS: usize = 8;

/// Messages each way of a worker job.
const MESSAGES: usize = 3;

/// How long the whole of one test may take before the hang guard fails it. Only turns a
/// deadlock into a failure: no duration is asserted.
const HANG_LIMIT: Duration = Duration::from_secs(600);

fn target_jobs() -> usize {
    if cfg!(miri) {
        return 2_000;
    }
    match std::env::var("WEFT_STRESS_JOBS") {
        Ok(text) => text
            .trim()
            .replace('_', "")
            .parse()
            .expect("WEFT_STRESS_JOBS must be a number of jobs"),
        Err(_) => DEFAULT_JOBS,
    }
}

// ---------------------------------------------------------------------------------------
// Ledger: created and dropped counts per id.

/// Per-id counts of marks created and dropped. Leaked, so marks are two words and need no
/// reference count (an `Arc` would be one contended cache line, and for ThreadSanitizer a
/// synchronisation point between every pair of threads).
struct Ledger {
    created: Box<[AtomicU8]>,
    dropped: Box<[AtomicU8]>,
}

/// A value with an id: counted once when made, once when dropped.
#[derive(Debug)]
struct Mark {
    ledger: &'static Ledger,
    id: usize,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("len", &self.created.len())
            .finish()
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        // ORDERING: Relaxed: a count, read after every thread involved was joined.
        self.ledger.dropped[self.id].fetch_add(1, Relaxed);
    }
}

/// What a ledger says at the end.
#[derive(Debug)]
struct LedgerSummary {
    /// Marks created (each exactly once).
    values: usize,
    /// Ids whose drop count differs from their create count: `(id, created, dropped)`.
    wrong: Vec<(usize, u8, u8)>,
    wrong_total: usize,
}

impl Ledger {
    fn new(len: usize) -> &'static Ledger {
        let zeros = |len| (0..len).map(|_| AtomicU8::new(0)).collect();
        Box::leak(Box::new(Ledger {
            created: zeros(len),
            dropped: zeros(len),
        }))
    }

    fn mark(&'static self, id: usize) -> Mark {
        // ORDERING: Relaxed, as in `Mark::drop`.
        self.created[id].fetch_add(1, Relaxed);
        Mark { ledger: self, id }
    }

    /// Call once every thread that could hold a mark was joined.
    fn summary(&self) -> LedgerSummary {
        let mut values = 0;
        let mut wrong = Vec::new();
        let mut wrong_total = 0;
        for (id, (created, dropped)) in self.created.iter().zip(self.dropped.iter()).enumerate() {
            let (created, dropped) = (created.load(Relaxed), dropped.load(Relaxed));
            assert!(created <= 1, "id {id} was made {created} times (test bug)");
            values += usize::from(created);
            if created != dropped {
                wrong_total += 1;
                if wrong.len() < 16 {
                    wrong.push((id, created, dropped));
                }
            }
        }
        LedgerSummary {
            values,
            wrong,
            wrong_total,
        }
    }

    fn assert_every_value_dropped_once(&self) -> usize {
        let summary = self.summary();
        assert!(
            summary.wrong.is_empty(),
            "{} values not dropped exactly once; first (id, created, dropped): {:?}",
            summary.wrong_total,
            summary.wrong
        );
        summary.values
    }
}

/// The ids of one operation.
#[derive(Debug, Clone, Copy)]
struct Op {
    ledger: &'static Ledger,
    base: usize,
}

impl Op {
    fn id(self, k: usize) -> usize {
        assert!(k < IDS, "an operation uses at most {IDS} ids");
        self.base + k
    }

    fn mark(self, k: usize) -> Mark {
        self.ledger.mark(self.id(k))
    }

    /// A panic whose payload is a mark (a non-string payload: the quiet hook says nothing).
    fn panic(self, k: usize) -> ! {
        panic::panic_any(self.mark(k))
    }

    fn assert_payload(self, payload: Box<dyn Any + Send>, k: usize) {
        let mark = payload
            .downcast::<Mark>()
            .expect("the panic payload is the job's mark");
        assert_eq!(mark.id, self.id(k), "the payload of this very job");
    }
}

// ---------------------------------------------------------------------------------------
// The mix.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `spawn` returning a mark.
    Value,
    /// `spawn` that panics with a mark.
    Panic,
    /// `spawn`, then `cancel` at once (usually still queued).
    CancelEarly,
    /// `spawn`, `cancel` only when resolving (usually running or done).
    CancelLate,
    /// `spawn`, handle dropped at once: the result is dropped by whoever lets go last.
    DroppedHandle,
    /// `execute`.
    Execute,
    /// `execute` that panics.
    ExecutePanic,
    /// A job that spawns a child and joins it, and spawns a grandchild it never joins.
    Nested,
    /// A job that forks with `weft::join` two levels deep, then forks into a panicking half.
    Join,
    /// A job that opens a `scope` with two scoped jobs, one of them panicking.
    Scope,
    /// `spawn_worker`: messages in, replies out, a value at the end.
    Worker,
    /// `spawn_worker` that replies twice and then panics holding its port.
    WorkerPanic,
    /// `spawn_worker` whose main side sends and then drops the handle.
    WorkerDropped,
    /// A job with a run timeout: usually it returns in time; one in 64 runs until its
    /// timeout fires (then its late value is dropped by the pool).
    RunTimeout,
    /// A job with a zero queue timeout: it runs if a worker claims it before the timer.
    QueueTimeout,
}

/// The mix, in submission order; repeated entries weigh more.
const MIX: [Kind; 18] = [
    Kind::Value,
    Kind::Panic,
    Kind::CancelEarly,
    Kind::DroppedHandle,
    Kind::Execute,
    Kind::Nested,
    Kind::Value,
    Kind::Join,
    Kind::CancelLate,
    Kind::ExecutePanic,
    Kind::Worker,
    Kind::Scope,
    Kind::Value,
    Kind::WorkerPanic,
    Kind::CancelEarly,
    Kind::WorkerDropped,
    Kind::RunTimeout,
    Kind::QueueTimeout,
];

impl Kind {
    /// Detached jobs (as `stats().submitted` counts them) one operation submits.
    fn jobs(self) -> u64 {
        match self {
            Kind::Nested => 3,
            _ => 1,
        }
    }
}

fn jobs_per_mix() -> u64 {
    MIX.iter().map(|kind| kind.jobs()).sum()
}

/// What the submitters expect the pool's counters to say.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    submitted: u64,
    completed: u64,
    panicked: u64,
    cancelled: u64,
    timed_out: u64,
    handles: u64,
    /// Cancels that won against the worker.
    cancel_won: u64,
    /// Cancels that came too late (the job ran).
    cancel_lost: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.submitted += other.submitted;
        self.completed += other.completed;
        self.panicked += other.panicked;
        self.cancelled += other.cancelled;
        self.timed_out += other.timed_out;
        self.handles += other.handles;
        self.cancel_won += other.cancel_won;
        self.cancel_lost += other.cancel_lost;
    }
}

/// How a handle is waited for.
#[derive(Debug, Clone, Copy)]
enum Resolve {
    Join,
    JoinTimeout,
    Await,
    SpinThenJoin,
}

impl Resolve {
    /// Cycles through the four ways.
    fn nth(n: usize) -> Resolve {
        match n % 4 {
            0 => Resolve::Join,
            1 => Resolve::JoinTimeout,
            2 => Resolve::Await,
            _ => Resolve::SpinThenJoin,
        }
    }

    fn resolve<T>(self, mut handle: JobHandle<T>) -> Result<T, JobError> {
        match self {
            Resolve::Join => handle.join(),
            Resolve::JoinTimeout => loop {
                match handle.join_timeout(Duration::from_micros(50)) {
                    Ok(outcome) => break outcome,
                    Err(again) => handle = again,
                }
            },
            Resolve::Await => block_on(handle),
            Resolve::SpinThenJoin => {
                while !handle.is_finished() {
                    thread::yield_now();
                }
                handle.join()
            }
        }
    }
}

type Messages = WorkerHandle<Mark, Mark, Mark>;

/// A submitted operation whose handle is still to be resolved.
enum Pending {
    Job {
        kind: Kind,
        op: Op,
        handle: JobHandle<Mark>,
        resolve: Resolve,
        /// What an early `cancel` returned.
        cancelled: Option<bool>,
    },
    Worker {
        kind: Kind,
        op: Op,
        handle: Messages,
    },
}

// Job bodies. Each creates its marks with the ids its kind owns:
//   0 the closure's captured token, 1 the result (or panic payload), 2.. what it needs.

fn value_job(op: Op) -> impl FnOnce() -> Mark + Send + 'static {
    let token = op.mark(0);
    move || {
        let _token = token;
        op.mark(1)
    }
}

fn panic_job(op: Op) -> impl FnOnce() -> Mark + Send + 'static {
    let token = op.mark(0);
    move || {
        let _token = token;
        op.panic(1)
    }
}

/// A job that, given `wait`, runs until its run timeout fires (bounded, in case it never does).
fn timed_job(op: Op, wait: bool) -> impl FnOnce() -> Mark + Send + 'static {
    let token = op.mark(0);
    move || {
        let _token = token;
        if wait {
            let start = Instant::now();
            while !weft::is_cancelled() && start.elapsed() < Duration::from_secs(10) {
                thread::yield_now();
            }
        }
        op.mark(1)
    }
}

fn nested_job(op: Op, pool: Arc<ThreadPool>) -> impl FnOnce() -> Mark + Send + 'static {
    let token = op.mark(0);
    move || {
        let _token = token;
        let child = pool.spawn(value_job(Op {
            base: op.id(2),
            ..op
        }));
        // The grandchild is never joined: its result is dropped by whoever lets go last.
        drop(pool.spawn(value_job(Op {
            base: op.id(4),
            ..op
        })));
        let value = child.join().expect("the child completes");
        assert_eq!(value.id, op.id(3));
        op.mark(1)
    }
}

fn join_job(op: Op) -> impl FnOnce() -> Mark + Send + 'static {
    let token = op.mark(0);
    move || {
        let _token = token;
        let ((a, b), (c, d)) = weft::join(
            || weft::join(|| op.mark(2), || op.mark(3)),
            || weft::join(|| op.mark(4), || op.mark(5)),
        );
        assert_eq!(
            (a.id, b.id, c.id, d.id),
            (op.id(2), op.id(3), op.id(4), op.id(5))
        );
        // A half that panics: the other half's result is dropped, the panic comes out once
        // both ended.
        let forked = panic::catch_unwind(AssertUnwindSafe(|| {
            weft::join(|| op.mark(6), || -> Mark { op.panic(7) })
        }));
        op.assert_payload(forked.expect_err("the second half panicked"), 7);
        op.mark(1)
    }
}

fn scope_job(op: Op, pool: Arc<ThreadPool>) -> impl FnOnce() -> Mark + Send + 'static {
    let token = op.mark(0);
    move || {
        let _token = token;
        let borrowed = op.mark(2);
        pool.scope(|s| {
            let borrowed = &borrowed;
            let first = s.spawn(move || {
                assert_eq!(borrowed.id, op.id(2));
                op.mark(3)
            });
            let second = s.spawn(move || -> Mark {
                let _seen = borrowed;
                op.panic(4)
            });
            assert_eq!(first.join().expect("the first scoped job").id, op.id(3));
            match second.join() {
                Err(JobError::Panicked(payload)) => op.assert_payload(payload, 4),
                other => panic!("the second scoped job panicked, got {other:?}"),
            }
        });
        op.mark(1)
    }
}

/// A worker job: reads up to [`MESSAGES`] messages, replies to each (ids 5..), returns a
/// mark; with `panics`, replies to the first two and panics holding its port.
fn worker_job(op: Op, panics: bool) -> impl FnOnce(WorkerContext<Mark, Mark>) -> Mark + Send {
    let token = op.mark(0);
    move |ctx| {
        let _token = token;
        for k in 0..MESSAGES {
            if panics && k == 2 {
                op.panic(1);
            }
            match ctx.recv() {
                Ok(message) => assert_eq!(message.id, op.id(2 + k)),
                Err(RecvError) => break,
            }
            // With the main side gone the reply comes back in the error and is dropped.
            let _ = ctx.send(op.mark(5 + k));
        }
        op.mark(1)
    }
}

/// Submits one operation; returns what is left to resolve.
fn submit(
    pool: &Arc<ThreadPool>,
    kind: Kind,
    op: Op,
    index: usize,
    tally: &mut Tally,
) -> Option<Pending> {
    tally.submitted += kind.jobs();
    let resolve = Resolve::nth(index / MIX.len());
    let job = |handle, cancelled| {
        Some(Pending::Job {
            kind,
            op,
            handle,
            resolve,
            cancelled,
        })
    };
    // Every spawned job goes in a lane, in turn.
    let priority = [
        Priority::Normal,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ][index % 4];
    let lane = || pool.job().priority(priority);
    match kind {
        Kind::Value | Kind::CancelLate => job(lane().spawn(value_job(op)), None),
        Kind::Panic => job(lane().spawn(panic_job(op)), None),
        Kind::RunTimeout => {
            let wait = (index / MIX.len()).is_multiple_of(64);
            let timeout = Duration::from_millis(if wait { 1 } else { 10_000 });
            job(lane().timeout(timeout).spawn(timed_job(op, wait)), None)
        }
        Kind::QueueTimeout => job(
            lane()
                .queue_timeout(Duration::ZERO)
                .spawn(timed_job(op, false)),
            None,
        ),
        Kind::CancelEarly => {
            let handle = lane().spawn(value_job(op));
            let cancelled = handle.cancel();
            job(handle, Some(cancelled))
        }
        Kind::DroppedHandle => {
            drop(lane().spawn(value_job(op)));
            tally.completed += 1;
            None
        }
        Kind::Execute => {
            let token = op.mark(0);
            pool.execute(move || drop(token));
            tally.completed += 1;
            None
        }
        Kind::ExecutePanic => {
            let token = op.mark(0);
            pool.execute(move || {
                let _token = token;
                op.panic(1)
            });
            tally.panicked += 1;
            None
        }
        Kind::Nested => job(lane().spawn(nested_job(op, Arc::clone(pool))), None),
        Kind::Join => job(lane().spawn(join_job(op)), None),
        Kind::Scope => job(lane().spawn(scope_job(op, Arc::clone(pool))), None),
        Kind::Worker | Kind::WorkerPanic | Kind::WorkerDropped => {
            let handle = pool.spawn_worker(worker_job(op, kind == Kind::WorkerPanic));
            for k in 0..MESSAGES {
                let sent = handle.send(op.mark(2 + k));
                // A panicking worker job may end (closing its port) before the last one
                // is sent: it comes back in the error and is dropped here.
                if kind != Kind::WorkerPanic {
                    sent.map_err(drop)
                        .expect("the job reads every message before it ends");
                }
            }
            if kind == Kind::WorkerDropped {
                drop(handle);
                tally.completed += 1;
                return None;
            }
            Some(Pending::Worker { kind, op, handle })
        }
    }
}

/// Resolves one pending operation and counts its outcome.
fn resolve(pending: Pending, tally: &mut Tally) {
    tally.handles += 1;
    match pending {
        Pending::Job {
            kind,
            op,
            handle,
            resolve,
            cancelled,
        } => {
            let cancelled = match kind {
                Kind::CancelLate => Some(handle.cancel()),
                _ => cancelled,
            };
            let outcome = resolve.resolve(handle);
            match (kind, cancelled, outcome) {
                (Kind::Panic, _, Err(JobError::Panicked(payload))) => {
                    op.assert_payload(payload, 1);
                    tally.panicked += 1;
                }
                (_, Some(true), Err(JobError::Cancelled)) => {
                    tally.cancelled += 1;
                    tally.cancel_won += 1;
                }
                (Kind::RunTimeout | Kind::QueueTimeout, None, Err(JobError::TimedOut)) => {
                    tally.timed_out += 1;
                }
                (Kind::Panic, _, other) => panic!("{kind:?} op {}: {other:?}", op.base),
                (_, _, Ok(value)) if cancelled != Some(true) => {
                    assert_eq!(value.id, op.id(1), "{kind:?}: the value of this very job");
                    // `Nested` counts its child and grandchild too: both completed.
                    tally.completed += kind.jobs();
                    tally.cancel_lost += u64::from(cancelled == Some(false));
                }
                (_, _, other) => panic!(
                    "{kind:?} op {} (cancel said {cancelled:?}): {other:?}",
                    op.base
                ),
            }
        }
        Pending::Worker { kind, op, handle } => {
            let replies = if kind == Kind::WorkerPanic {
                2
            } else {
                MESSAGES
            };
            for k in 0..replies {
                let reply = handle.recv().expect("a reply for every message read");
                assert_eq!(reply.id, op.id(5 + k));
            }
            // The job's port ends when the job does, after its messages were drained.
            assert_eq!(handle.recv().map(drop), Err(RecvError));
            match (kind, handle.join()) {
                (Kind::Worker, Ok(value)) => {
                    assert_eq!(value.id, op.id(1));
                    tally.completed += 1;
                }
                (Kind::WorkerPanic, Err(JobError::Panicked(payload))) => {
                    op.assert_payload(payload, 1);
                    tally.panicked += 1;
                }
                (kind, other) => panic!("{kind:?} op {}: {other:?}", op.base),
            }
        }
    }
}

fn assert_adds_up(stats: &PoolStats, expected: &Tally) {
    assert_eq!(stats.submitted, expected.submitted, "submitted: {stats:?}");
    assert_eq!(stats.completed, expected.completed, "completed: {stats:?}");
    assert_eq!(stats.panicked, expected.panicked, "panicked: {stats:?}");
    assert_eq!(stats.cancelled, expected.cancelled, "cancelled: {stats:?}");
    assert_eq!(stats.timed_out, expected.timed_out, "timed_out: {stats:?}");
    assert_eq!(
        stats.completed + stats.panicked + stats.cancelled + stats.timed_out,
        stats.submitted,
        "completed + panicked + cancelled + timed_out == submitted: {stats:?}"
    );
    assert_eq!((stats.queued, stats.running), (0, 0), "quiet: {stats:?}");
}

/// Takes the pool back from the `Arc` once the last job that held a clone dropped it.
fn unwrap_pool(mut pool: Arc<ThreadPool>) -> ThreadPool {
    loop {
        match Arc::try_unwrap(pool) {
            Ok(pool) => return pool,
            Err(shared) => {
                pool = shared;
                thread::yield_now();
            }
        }
    }
}

#[test]
fn a_million_mixed_jobs_from_several_threads_are_all_accounted_for() {
    let target = target_jobs();
    let per_mix = jobs_per_mix() as usize;
    let mixes_per_thread = target.div_ceil(per_mix * SUBMITTERS);
    let ops_per_thread = mixes_per_thread * MIX.len();
    let ledger = Ledger::new(SUBMITTERS * ops_per_thread * IDS);
    let started = Instant::now();
    let (expected, stats) = with_timeout_of(HANG_LIMIT, move || {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let expected = thread::scope(|s| {
            let submitters: Vec<_> = (0..SUBMITTERS)
                .map(|t| {
                    let pool = &pool;
                    s.spawn(move || {
                        let mut tally = Tally::default();
                        let mut pending = Vec::with_capacity(WINDOW);
                        for index in 0..ops_per_thread {
                            let op = Op {
                                ledger,
                                base: (t * ops_per_thread + index) * IDS,
                            };
                            let kind = MIX[index % MIX.len()];
                            pending.extend(submit(pool, kind, op, index, &mut tally));
                            if pending.len() >= WINDOW {
                                for p in pending.drain(..) {
                                    resolve(p, &mut tally);
                                }
                            }
                        }
                        for p in pending.drain(..) {
                            resolve(p, &mut tally);
                        }
                        tally
                    })
                })
                .collect();
            let mut expected = Tally::default();
            for submitter in submitters {
                expected.add(submitter.join().expect("a submitter failed"));
            }
            expected
        });
        // Quiescence: dropped handles and `execute` jobs may still be running.
        eventually("every submitted job ended", || {
            let stats = pool.stats();
            stats.completed + stats.panicked + stats.cancelled + stats.timed_out
                >= expected.submitted
        });
        let stats = pool.stats();
        assert_adds_up(&stats, &expected);
        unwrap_pool(pool).shutdown();
        (expected, stats)
    });
    let seconds = started.elapsed().as_secs_f64();
    // Every worker was joined: every value that was made has been dropped by now.
    let values = ledger.assert_every_value_dropped_once();
    assert!(
        expected.submitted >= target as u64,
        "ran {} jobs, fewer than the {target} asked for",
        expected.submitted
    );
    println!(
        "stress: {} detached jobs ({} completed, {} panicked, {} cancelled, {} timed out; cancels won {}, \
         lost {}), {} handles resolved, {} values each dropped exactly once, {:.2} s, \
         {:.0} jobs/s; {} steals",
        stats.submitted,
        stats.completed,
        stats.panicked,
        stats.cancelled,
        stats.timed_out,
        expected.cancel_won,
        expected.cancel_lost,
        expected.handles,
        values,
        seconds,
        stats.submitted as f64 / seconds,
        stats.steals,
    );
}

// ---------------------------------------------------------------------------------------
// Shutdown racing the handles.

/// Whether each operation's job ran (its closure was called), per op.
struct Ran(Box<[AtomicU8]>);

impl Ran {
    fn new(len: usize) -> &'static Ran {
        Box::leak(Box::new(Ran((0..len).map(|_| AtomicU8::new(0)).collect())))
    }

    fn set(&self, op: usize) {
        // ORDERING: Relaxed: published to the handle with the result (or to the test after
        // the threads were joined).
        self.0[op].store(1, Relaxed);
    }

    fn get(&self, op: usize) -> bool {
        // ORDERING: as above.
        self.0[op].load(Relaxed) == 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// `shutdown`: every queued job still runs.
    Drain,
    /// `shutdown_now`: queued jobs are cancelled.
    Now,
}

/// What happened to the jobs of one round.
#[derive(Debug, Default, Clone, Copy)]
struct RoundTally {
    handles: u64,
    ran: u64,
    cancelled_by_handle: u64,
    cancelled_by_pool: u64,
    panicked: u64,
    /// Children a job tried to spawn after the pool had started closing (skipped).
    children_skipped: u64,
}

impl RoundTally {
    fn add(&mut self, other: RoundTally) {
        self.handles += other.handles;
        self.ran += other.ran;
        self.cancelled_by_handle += other.cancelled_by_handle;
        self.cancelled_by_pool += other.cancelled_by_pool;
        self.panicked += other.panicked;
        self.children_skipped += other.children_skipped;
    }
}

/// The shutdown mix. `Nested` spawns a child through a `Weak` pool (only while the pool is
/// still shared) and lets go of the pool before joining it, so the close can begin while
/// it waits.
const SHUTDOWN_MIX: [Kind; 8] = [
    Kind::Value,
    Kind::Panic,
    Kind::CancelLate,
    Kind::DroppedHandle,
    Kind::Execute,
    Kind::Nested,
    Kind::Join,
    Kind::Worker,
];

enum ShutdownPending {
    Job(Kind, usize, JobHandle<Mark>),
    Worker(usize, Messages),
}

/// Submits `ops` operations of the shutdown mix from one thread, then lets go of the pool
/// and resolves the handles while the pool closes.
fn shutdown_submitter(
    pool: Arc<ThreadPool>,
    first_op: usize,
    ops: usize,
    ledger: &'static Ledger,
    ran: &'static Ran,
    close: Close,
    submitted: mpsc::Sender<()>,
) -> RoundTally {
    let weak: Weak<ThreadPool> = Arc::downgrade(&pool);
    let mut pending = Vec::with_capacity(ops);
    // Ops whose job has no handle (execute, dropped handle): checked after the close.
    for index in 0..ops {
        let n = first_op + index;
        let op = Op {
            ledger,
            base: n * IDS,
        };
        let kind = SHUTDOWN_MIX[index % SHUTDOWN_MIX.len()];
        let token = op.mark(0);
        match kind {
            Kind::Value | Kind::CancelLate => pending.push(ShutdownPending::Job(
                kind,
                n,
                pool.spawn(move || {
                    let _token = token;
                    ran.set(n);
                    op.mark(1)
                }),
            )),
            Kind::Panic => pending.push(ShutdownPending::Job(
                kind,
                n,
                pool.spawn(move || -> Mark {
                    let _token = token;
                    ran.set(n);
                    op.panic(1)
                }),
            )),
            Kind::DroppedHandle => drop(pool.spawn(move || {
                let _token = token;
                ran.set(n);
                op.mark(1)
            })),
            Kind::Execute => pool.execute(move || {
                let _token = token;
                ran.set(n);
            }),
            Kind::Nested => {
                let weak = weak.clone();
                pending.push(ShutdownPending::Job(
                    kind,
                    n,
                    pool.spawn(move || {
                        let _token = token;
                        ran.set(n);
                        // Spawn only while the pool is shared; let go of it before waiting.
                        let child = weak.upgrade().map(|pool| {
                            let child_token = op.mark(2);
                            pool.spawn(move || {
                                let _token = child_token;
                                op.mark(3)
                            })
                        });
                        match child.map(JobHandle::join) {
                            // A `shutdown_now` may cancel the child while we wait for it.
                            Some(Ok(value)) => drop(value),
                            Some(Err(JobError::Cancelled)) if close == Close::Now => {}
                            Some(other) => panic!("the child: {other:?}"),
                            None => return op.mark(4), // the pool was already closing
                        }
                        op.mark(1)
                    }),
                ))
            }
            Kind::Join => pending.push(ShutdownPending::Job(
                kind,
                n,
                pool.spawn(move || {
                    let _token = token;
                    ran.set(n);
                    fn leaves(level: u32) -> u32 {
                        if level == 0 {
                            return 1;
                        }
                        let (a, b) = weft::join(|| leaves(level - 1), || leaves(level - 1));
                        a + b
                    }
                    assert_eq!(leaves(6), 64);
                    op.mark(1)
                }),
            )),
            Kind::Worker => {
                let handle = pool.spawn_worker(move |ctx: WorkerContext<Mark, Mark>| {
                    let _token = token;
                    ran.set(n);
                    for k in 0..MESSAGES {
                        match ctx.recv() {
                            Ok(message) => drop(message),
                            Err(RecvError) => break,
                        }
                        let _ = ctx.send(op.mark(5 + k));
                    }
                    op.mark(1)
                });
                for k in 0..MESSAGES {
                    // Refused only if the job is already gone; the message comes back.
                    let _ = handle.send(op.mark(2 + k));
                }
                pending.push(ShutdownPending::Worker(n, handle));
            }
            _ => unreachable!("not in the shutdown mix"),
        }
    }
    drop(weak);
    drop(pool);
    submitted.send(()).unwrap();
    // While the pool closes: cancel some (racing the workers, which run them or, under
    // `shutdown_now`, cancel them), then resolve every handle.
    let cancels: Vec<Option<bool>> = pending
        .iter()
        .map(|p| match p {
            ShutdownPending::Job(Kind::CancelLate, _, handle) => Some(handle.cancel()),
            _ => None,
        })
        .collect();
    let mut tally = RoundTally::default();
    for (i, (p, cancel)) in pending.into_iter().zip(cancels).enumerate() {
        tally.handles += 1;
        let (kind, n, outcome) = match p {
            ShutdownPending::Job(kind, n, handle) => (kind, n, Resolve::nth(i).resolve(handle)),
            ShutdownPending::Worker(n, handle) => {
                // Whatever it replied, then the end (it ended, or never ran).
                while let Ok(reply) = handle.recv() {
                    drop(reply);
                }
                (Kind::Worker, n, handle.join())
            }
        };
        let ran_it = ran.get(n);
        match outcome {
            Ok(value) => {
                assert!(ran_it, "{kind:?} op {n}: a value without running");
                if kind == Kind::Nested && value.id == n * IDS + 4 {
                    tally.children_skipped += 1;
                }
                tally.ran += 1;
            }
            Err(JobError::Panicked(payload)) => {
                assert_eq!(kind, Kind::Panic, "op {n}: only the panic kind panics");
                assert!(ran_it);
                drop(payload);
                tally.ran += 1;
                tally.panicked += 1;
            }
            Err(JobError::Cancelled) => {
                assert!(!ran_it, "{kind:?} op {n}: cancelled, yet its closure ran");
                if cancel == Some(true) {
                    tally.cancelled_by_handle += 1;
                } else {
                    assert_eq!(
                        close,
                        Close::Now,
                        "{kind:?} op {n}: only shutdown_now cancels a job its handle did not"
                    );
                    tally.cancelled_by_pool += 1;
                }
            }
            Err(other) => panic!("{kind:?} op {n}: no such outcome in this run: {other:?}"),
        }
        if cancel == Some(true) {
            assert!(!ran_it, "op {n}: cancel() said true, yet the job ran");
        }
    }
    tally
}

#[test]
fn shutdown_and_shutdown_now_racing_the_handles_lose_nothing() {
    const ROUNDS: usize = 6;
    const THREADS: usize = 3;
    let per_round = (target_jobs() / 50).max(THREADS * SHUTDOWN_MIX.len());
    let ops_per_thread = per_round.div_ceil(THREADS);
    let ops = ROUNDS * THREADS * ops_per_thread;
    let ledger = Ledger::new(ops * IDS);
    let ran = Ran::new(ops);
    let started = Instant::now();
    let totals = with_timeout_of(HANG_LIMIT, move || {
        let mut totals = [RoundTally::default(); 2];
        for round in 0..ROUNDS {
            let close = if round % 2 == 0 {
                Close::Now
            } else {
                Close::Drain
            };
            let pool = Arc::new(ThreadPool::new(2).unwrap());
            let (submitted_tx, submitted_rx) = mpsc::channel();
            let submitters: Vec<_> = (0..THREADS)
                .map(|t| {
                    let pool = Arc::clone(&pool);
                    let first_op = (round * THREADS + t) * ops_per_thread;
                    let submitted = submitted_tx.clone();
                    thread::spawn(move || {
                        shutdown_submitter(
                            pool,
                            first_op,
                            ops_per_thread,
                            ledger,
                            ran,
                            close,
                            submitted,
                        )
                    })
                })
                .collect();
            for _ in 0..THREADS {
                submitted_rx.recv().expect("a submitter failed");
            }
            // The submitters are resolving their handles now; close while they do.
            let pool = unwrap_pool(pool);
            match close {
                Close::Now => pool.shutdown_now(),
                Close::Drain => pool.shutdown(),
            }
            let mut round_tally = RoundTally::default();
            for submitter in submitters {
                round_tally.add(submitter.join().expect("a submitter failed"));
            }
            if close == Close::Drain {
                // Every job without a handle ran too.
                let first = round * THREADS * ops_per_thread;
                for t in 0..THREADS {
                    for index in 0..ops_per_thread {
                        let kind = SHUTDOWN_MIX[index % SHUTDOWN_MIX.len()];
                        let n = first + t * ops_per_thread + index;
                        if matches!(kind, Kind::Execute | Kind::DroppedHandle) {
                            assert!(ran.get(n), "{kind:?} op {n}: shutdown dropped a queued job");
                        }
                    }
                }
            }
            totals[usize::from(close == Close::Drain)].add(round_tally);
        }
        totals
    });
    let values = ledger.assert_every_value_dropped_once();
    let [now, drain] = totals;
    println!(
        "shutdown stress: {ROUNDS} rounds of {} ops, {:.2} s, {values} values each dropped \
         exactly once; shutdown_now rounds: {now:?}; shutdown rounds: {drain:?}",
        THREADS * ops_per_thread,
        started.elapsed().as_secs_f64(),
    );
}
