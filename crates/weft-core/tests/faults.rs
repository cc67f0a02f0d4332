//! Fault tests: things going wrong at the worst moment, and nothing lost because of it.
//!
//! - a job that panics while holding a message port: the peer reads every message the job
//!   sent, then sees the end; the pool lives on;
//! - a panic inside the `Drop` of a job's result (handle joined, dropped early, dropped
//!   late, dropped while racing the job), of a panic payload, and of a message;
//! - a thread-spawn failure at build: what `build.rs` and `build_spawn_failure.rs` do not
//!   already cover (the `thread_name` callback of a failed build is dropped once, and the
//!   process can build pools afterwards);
//! - `shutdown_now` while running jobs are deep inside `join`, and inside a `scope` (of
//!   another pool: a job cannot hold its own pool in a scope while that pool is being shut
//!   down, since `scope` borrows the pool and `shutdown_now` takes it by value): they
//!   finish, queued jobs are cancelled and their handles resolve `Cancelled`.
//!
//! Every test runs under a hang guard; none asserts a duration.
//!
//! Two tests pin bugs found here, since fixed (see their docs):
//! `a_panicking_message_drop_does_not_leak_the_unread_messages_behind_it` (weft-channel's
//! `Port` drop) and `a_worker_job_woken_by_cancel_already_sees_is_cancelled`
//! (`WorkerHandle::cancel`).

mod common;

use std::panic;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use weft::channel::{RecvError, SendError, duplex};
use weft::{BuildError, JobError, JobHandle, ThreadPool, WorkerContext};

use common::{DropCounter, EXPECTED, Token, eventually, expect_panic, panic_text, with_timeout};

/// A value whose `Drop` panics; its token counts the drop (it is dropped during the unwind).
#[derive(Debug)]
struct PanicsOnDrop(#[allow(dead_code)] Token);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        // The token (a field) is dropped after this body, during the unwind: still counted.
        panic!("dropped {EXPECTED}");
    }
}

/// A message that may panic when dropped.
#[derive(Debug)]
#[allow(dead_code)] // the fields are only there to be dropped
enum Message {
    Panics(PanicsOnDrop),
    Plain(Token),
}

/// The pool still runs jobs on every worker.
fn assert_pool_alive(pool: &ThreadPool) {
    let workers = pool.broadcast(|index| index);
    assert_eq!(workers, (0..pool.num_threads()).collect::<Vec<_>>());
    assert_eq!(pool.spawn(|| "alive").join().unwrap(), "alive");
}

// ---------------------------------------------------------------------------------------
// A job that panics while holding a message port.

#[test]
fn a_worker_job_panicking_with_its_port_lets_the_main_side_drain_then_see_the_end() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let (release, release_rx) = mpsc::channel::<()>();
        let replies = drops.clone();
        let worker = pool.spawn_worker(move |ctx: WorkerContext<Token, Token>| -> u32 {
            let _first = ctx.recv().expect("the first message");
            for _ in 0..3 {
                ctx.send(replies.token()).unwrap();
            }
            release_rx.recv().unwrap();
            let _holding = &ctx; // the port is alive in this frame when the panic starts
            panic!("worker job {EXPECTED}")
        });
        for _ in 0..3 {
            worker.send(drops.token()).unwrap();
        }
        release.send(()).unwrap();
        // Every message the job sent is still there after it died, then the end.
        for _ in 0..3 {
            drop(worker.recv().expect("a message sent before the panic"));
        }
        assert_eq!(worker.recv().map(drop), Err(RecvError));
        // A message sent to the dead job comes back.
        let refused = worker.send(drops.token()).expect_err("the job is gone");
        drop(refused.into_inner());
        let error = worker.join().expect_err("the job panicked");
        assert!(error.panic_message().unwrap().contains("worker job"));
        assert_pool_alive(&pool);
        let stats = pool.stats();
        assert_eq!((stats.panicked, stats.completed), (1, 1), "{stats:?}");
        pool.shutdown();
        // Three sent by main (one read, two left unread in the port), three replies, one
        // refused.
        assert_eq!(drops.get(), 3 + 3 + 1, "every message dropped exactly once");
    });
}

#[test]
fn a_job_panicking_with_a_duplex_port_lets_the_peer_drain_then_see_the_end() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let (main_port, job_port) = duplex::<Token, Token>();
        let tokens: Vec<Token> = (0..4).map(|_| drops.token()).collect();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let job = pool.spawn(move || {
            let port = job_port;
            for token in tokens {
                port.send(token).unwrap();
            }
            started_tx.send(()).unwrap();
            // Blocks until the main side sends: the panic happens with the port in use.
            let _incoming = port.recv();
            panic!("port holder {EXPECTED}")
        });
        started_rx.recv().unwrap();
        main_port.send(drops.token()).unwrap();
        let received: Vec<Token> = main_port.iter().collect();
        assert_eq!(received.len(), 4, "every message sent before the panic");
        assert_eq!(main_port.recv().map(drop), Err(RecvError));
        assert!(main_port.is_send_closed(), "the peer's port is gone");
        match main_port.send(drops.token()) {
            Err(SendError(token)) => drop(token),
            Ok(()) => panic!("a send to a dead port was accepted"),
        }
        assert!(job.join().unwrap_err().is_panic());
        drop(received);
        assert_eq!(drops.get(), 6, "4 received, 1 read by the job, 1 refused");
        assert_pool_alive(&pool);
    });
}

// ---------------------------------------------------------------------------------------
// A panic inside the `Drop` of a job's result.

#[test]
fn a_result_whose_drop_panics_reaches_the_caller_that_joined_it() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let token = drops.token();
        let value = pool
            .spawn(move || PanicsOnDrop(token))
            .join()
            .expect("the job completed");
        // The value is the caller's now: its panic is the caller's too.
        let payload = expect_panic(move || drop(value));
        assert!(panic_text(&*payload).unwrap().contains("dropped"));
        assert_eq!(drops.get(), 1);
        assert_pool_alive(&pool);
        assert_eq!(pool.stats().completed, 2, "the job and the liveness check");
    });
}

#[test]
fn a_result_whose_drop_panics_is_dropped_on_the_worker_when_the_handle_left_early() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let drops = DropCounter::new();
        let blocker = common::block_one_worker(&pool);
        // Queued behind the blocker, its handle gone before it ever runs.
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let token = drops.token();
                pool.spawn(move || PanicsOnDrop(token))
            })
            .collect();
        drop(handles);
        blocker.finish();
        eventually("every result was dropped", || drops.get() == 10);
        assert_pool_alive(&pool);
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.panicked),
            (1 + 10 + 1, 0),
            "{stats:?}"
        );
    });
}

#[test]
fn a_result_whose_drop_panics_reaches_the_thread_that_drops_a_finished_handle() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let drops = DropCounter::new();
        let token = drops.token();
        let handle = pool.spawn(move || PanicsOnDrop(token));
        while !handle.is_finished() {
            thread::yield_now();
        }
        // The result is untaken in the job's allocation; the handle is the last one out, so
        // dropping it drops the result, on this thread.
        let payload = expect_panic(move || drop(handle));
        assert!(panic_text(&*payload).unwrap().contains("dropped"));
        assert_eq!(drops.get(), 1, "dropped exactly once");
        assert_pool_alive(&pool);
    });
}

#[test]
fn a_result_whose_drop_panics_is_dropped_exactly_once_whoever_lets_go_last() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let rounds = common::scaled(2_000);
        let mut on_this_thread = 0;
        for round in 0..rounds {
            let token = drops.token();
            let handle = pool.spawn(move || PanicsOnDrop(token));
            // Races the job's end: the worker or this thread drops the result.
            for _ in 0..round % 16 {
                thread::yield_now();
            }
            if panic::catch_unwind(panic::AssertUnwindSafe(move || drop(handle))).is_err() {
                on_this_thread += 1;
            }
        }
        eventually("every result was dropped", || drops.get() == rounds);
        assert_pool_alive(&pool);
        pool.shutdown();
        assert_eq!(drops.get(), rounds, "no result dropped twice");
        println!("{on_this_thread} of {rounds} results were dropped by the handle");
    });
}

#[test]
fn a_panic_payload_whose_drop_panics_does_not_kill_the_worker() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let drops = DropCounter::new();
        // `execute`: the pool drops the payload.
        let token = drops.token();
        pool.execute(move || panic::panic_any(PanicsOnDrop(token)));
        // A spawned job whose handle is gone: the pool drops the payload.
        let token = drops.token();
        drop(pool.spawn(move || -> u8 { panic::panic_any(PanicsOnDrop(token)) }));
        // Joined: the payload reaches the caller, whose drop of it panics on the caller.
        let token = drops.token();
        let error = pool
            .spawn(move || -> u8 { panic::panic_any(PanicsOnDrop(token)) })
            .join()
            .unwrap_err();
        assert!(error.is_panic());
        expect_panic(move || drop(error));
        eventually("every payload was dropped", || drops.get() == 3);
        assert_pool_alive(&pool);
        let stats = pool.stats();
        assert_eq!((stats.panicked, stats.completed), (3, 1), "{stats:?}");
    });
}

#[test]
fn a_scoped_result_whose_drop_panics_is_dropped_once_and_the_scope_ends() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let outcome = panic::catch_unwind(panic::AssertUnwindSafe(|| {
            pool.scope(|s| {
                for _ in 0..8 {
                    let token = drops.token();
                    // Handles dropped at once: the worker or the dropping body frees.
                    drop(s.spawn(move || PanicsOnDrop(token)));
                }
            })
        }));
        // Whether the body saw a panic (it dropped a finished handle) or not, every result
        // was dropped once and the scope waited for every job.
        drop(outcome);
        assert_eq!(drops.get(), 8);
        assert_pool_alive(&pool);
    });
}

// ---------------------------------------------------------------------------------------
// A panic inside the `Drop` of a message.

#[test]
fn a_message_whose_drop_panics_in_a_worker_job_makes_that_job_panic_only() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let worker = pool.spawn_worker(|ctx: WorkerContext<PanicsOnDrop, ()>| {
            let message = ctx.recv().unwrap();
            drop(message); // the job's own drop: its panic is the job's
        });
        worker.send(PanicsOnDrop(drops.token())).unwrap();
        let error = worker.join().unwrap_err();
        assert!(error.panic_message().unwrap().contains("dropped"));
        assert_eq!(drops.get(), 1);
        assert_pool_alive(&pool);
    });
}

#[test]
fn an_unread_message_whose_drop_panics_is_dropped_by_the_last_port_out() {
    with_timeout(|| {
        let pool = ThreadPool::new(2).unwrap();
        let drops = DropCounter::new();
        let (sent, sent_rx) = mpsc::channel::<()>();
        let (release, release_rx) = mpsc::channel::<()>();
        // The job sends a message the main side never reads, and the main side lets go of
        // its handle (and port) while the job still runs.
        let worker = pool.spawn_worker({
            let token = drops.token();
            move |ctx: WorkerContext<(), PanicsOnDrop>| {
                ctx.send(PanicsOnDrop(token)).unwrap();
                sent.send(()).unwrap();
                release_rx.recv().unwrap();
                7
            }
        });
        sent_rx.recv().unwrap();
        // Whichever port goes last drops the unread message: here, or at the end of the job
        // (inside the job, which then ends in that panic).
        let dropped_here = panic::catch_unwind(panic::AssertUnwindSafe(move || drop(worker)));
        release.send(()).unwrap();
        eventually("the job is counted", || {
            let stats = pool.stats();
            stats.completed + stats.panicked == 1
        });
        let stats = pool.stats();
        println!(
            "the unread message was dropped {}; the job {}",
            if dropped_here.is_err() {
                "by the main side"
            } else {
                "by the job"
            },
            if stats.panicked == 1 {
                "panicked"
            } else {
                "completed"
            },
        );
        assert_pool_alive(&pool);
        pool.shutdown();
        assert_eq!(drops.get(), 1, "the message was dropped exactly once");
    });
}

/// Regression, found by this test: `Port`'s drop left its unread messages to
/// crossbeam-channel, whose disconnect drops them in a loop that stops at the first panicking
/// drop, so the messages behind it were never dropped.
#[test]
fn a_panicking_message_drop_does_not_leak_the_unread_messages_behind_it() {
    with_timeout(|| {
        let drops = DropCounter::new();
        let (a, b) = duplex::<Message, ()>();
        a.send(Message::Panics(PanicsOnDrop(drops.token())))
            .unwrap();
        for _ in 0..3 {
            a.send(Message::Plain(drops.token())).unwrap();
        }
        drop(a);
        // The receiving port drops the four unread messages; the first one's panic comes
        // out here. The others must still be dropped, as a `Vec` drops the elements after
        // one whose drop panicked.
        let payload = expect_panic(move || drop(b));
        assert!(panic_text(&*payload).unwrap().contains("dropped"));
        assert_eq!(
            drops.get(),
            4,
            "messages after the panicking one were not dropped"
        );
    });
}

// ---------------------------------------------------------------------------------------
// A thread-spawn failure at build (what build.rs and build_spawn_failure.rs do not cover).

#[test]
fn a_failed_build_drops_its_thread_name_callback_once_and_pools_still_build_after_it() {
    with_timeout(|| {
        let drops = DropCounter::new();
        let token = drops.token();
        let result = ThreadPool::builder()
            .num_threads(2)
            .thread_name(move |index| {
                let _keep = &token;
                format!("fault-{index}")
            })
            .stack_size(1 << 46) // 64 TiB: refused by the kernel (see build.rs)
            .build();
        match result {
            Err(BuildError::Spawn { index, .. }) => assert_eq!(index, 0),
            Err(other) => panic!("expected BuildError::Spawn, got {other:?}"),
            Ok(_) => {
                eprintln!("this machine accepted a 64 TiB thread stack; nothing checked");
                return;
            }
        }
        assert_eq!(
            drops.get(),
            1,
            "the callback was dropped once, with the builder"
        );
        let pool = ThreadPool::new(2).expect("a pool builds after a failed build");
        assert_pool_alive(&pool);
        assert_eq!(weft::join(|| 1, || 2), (1, 2), "the global pool starts too");
    });
}

// ---------------------------------------------------------------------------------------
// `shutdown_now` while running jobs are deep inside `join` and `scope`.

/// Parks the first job to call [`LeafGate::pass`] on each worker until the pool closing
/// unparks it, as `common::CloseGate` does for whole jobs: here the gate is a leaf deep
/// inside a `join` tree (or a scope body), so the worker is deep inside `join` when the
/// close begins. Only the closing pool's wake-up releases a parked gate (stale unpark
/// tokens are drained first, and a parked gate leaves only once `closing` is set), so jobs
/// queued meanwhile are still queued when `shutdown_now` sets its flag.
#[derive(Debug, Default)]
struct LeafGate {
    /// Per worker: a gate is (or was) parked there.
    taken: [AtomicBool; 2],
    arrived: AtomicUsize,
    drain_now: AtomicBool,
    drained: AtomicUsize,
    closing: AtomicBool,
}

impl LeafGate {
    fn pass(&self) {
        let index = weft::current_thread_index().expect("gates run on workers");
        if self.taken[index].swap(true, Ordering::SeqCst) {
            return;
        }
        self.arrived.fetch_add(1, Ordering::SeqCst);
        while !self.drain_now.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        thread::park_timeout(std::time::Duration::ZERO);
        self.drained.fetch_add(1, Ordering::SeqCst);
        loop {
            thread::park();
            if self.closing.load(Ordering::SeqCst) {
                break;
            }
        }
    }

    /// Waits until `workers` gates are parked with no stale wake-up pending.
    fn wait_parked(&self, workers: usize) {
        eventually("a gate on every worker", || {
            self.arrived.load(Ordering::SeqCst) == workers
        });
        self.drain_now.store(true, Ordering::SeqCst);
        eventually("every gate drained its wake-ups", || {
            self.drained.load(Ordering::SeqCst) == workers
        });
    }

    fn announce_close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }
}

/// A `join` tree of `depth` levels whose leaves pass the gate; returns the leaves it ran.
fn gated_tree(gate: &LeafGate, depth: u32) -> u64 {
    if depth == 0 {
        gate.pass();
        assert!(
            !weft::is_cancelled(),
            "shutdown_now does not cancel running jobs"
        );
        return 1;
    }
    let (a, b) = weft::join(
        || gated_tree(gate, depth - 1),
        || gated_tree(gate, depth - 1),
    );
    a + b
}

/// Queues jobs of every kind behind busy workers; returns their handles, the worker job's
/// handle, and a flag any of them sets if it runs.
struct Queued {
    handles: Vec<JobHandle<u32>>,
    worker: weft::WorkerHandle<u32, u32, u32>,
    ran: Arc<AtomicBool>,
}

fn queue_jobs(pool: &ThreadPool, drops: &DropCounter) -> Queued {
    let ran = Arc::new(AtomicBool::new(false));
    let handles = (0..100)
        .map(|i| {
            let (token, ran) = (drops.token(), Arc::clone(&ran));
            pool.spawn(move || {
                let _token = token;
                ran.store(true, Ordering::SeqCst);
                i
            })
        })
        .collect();
    for _ in 0..20 {
        let (token, ran) = (drops.token(), Arc::clone(&ran));
        pool.execute(move || {
            let _token = token;
            ran.store(true, Ordering::SeqCst);
        });
    }
    let worker = {
        let (token, ran) = (drops.token(), Arc::clone(&ran));
        pool.spawn_worker(move |ctx: WorkerContext<u32, u32>| {
            let _token = token;
            ran.store(true, Ordering::SeqCst);
            ctx.recv().unwrap_or(0)
        })
    };
    worker.send(1).unwrap();
    Queued {
        handles,
        worker,
        ran,
    }
}

impl Queued {
    fn assert_all_cancelled(self, drops: &DropCounter, expected_drops: usize) {
        assert!(!self.ran.load(Ordering::SeqCst), "a queued job ran");
        for handle in self.handles {
            assert!(handle.is_finished(), "resolved by the shutdown");
            assert!(matches!(handle.join(), Err(JobError::Cancelled)));
        }
        assert_eq!(self.worker.recv(), Err(RecvError), "the job's port is gone");
        assert!(matches!(self.worker.join(), Err(JobError::Cancelled)));
        assert_eq!(
            drops.get(),
            expected_drops,
            "every cancelled closure dropped once"
        );
    }
}

#[test]
fn shutdown_now_while_jobs_are_deep_inside_join_lets_them_finish_and_cancels_the_queue() {
    with_timeout(|| {
        const DEPTH: u32 = 10;
        let pool = ThreadPool::new(2).unwrap();
        let gate = Arc::new(LeafGate::default());
        // Each tree's root waits until both roots run, so each worker runs one tree. Without
        // it, one worker may take both trees from the queue in one batch, and the other
        // worker then rather helps with the first tree's join halves (structured work comes
        // before new detached jobs), leaving the second tree queued when `shutdown_now`
        // comes: this test failed about once in a hundred runs for that reason.
        let roots_running = Arc::new(AtomicUsize::new(0));
        let trees: Vec<JobHandle<u64>> = (0..2)
            .map(|_| {
                let (gate, roots_running) = (Arc::clone(&gate), Arc::clone(&roots_running));
                pool.spawn(move || {
                    roots_running.fetch_add(1, Ordering::SeqCst);
                    while roots_running.load(Ordering::SeqCst) < 2 {
                        thread::yield_now();
                    }
                    gated_tree(&gate, DEPTH)
                })
            })
            .collect();
        gate.wait_parked(2);
        let drops = DropCounter::new();
        let queued = queue_jobs(&pool, &drops);
        gate.announce_close();
        pool.shutdown_now();
        for tree in trees {
            assert_eq!(
                tree.join().expect("a running job finishes normally"),
                1 << DEPTH,
                "every half of every join ran"
            );
        }
        queued.assert_all_cancelled(&drops, 121);
    });
}

#[test]
fn shutdown_now_while_a_job_is_inside_a_scope_lets_it_finish_and_cancels_the_queue() {
    with_timeout(|| {
        const DEPTH: u32 = 6;
        let pool = ThreadPool::new(1).unwrap();
        // The scope belongs to another pool; the job running it belongs to `pool`, and waits
        // for the scoped jobs on `pool`'s worker (running `pool`'s queue meanwhile).
        let other = Arc::new(ThreadPool::new(2).unwrap());
        let gate = Arc::new(LeafGate::default());
        let scoped_leaves = Arc::new(AtomicUsize::new(0));
        let job = {
            let (other, gate, scoped_leaves) = (
                Arc::clone(&other),
                Arc::clone(&gate),
                Arc::clone(&scoped_leaves),
            );
            pool.spawn(move || {
                let borrowed = vec![1u64; 4];
                other.scope(|s| {
                    let handles: Vec<_> = (0..4)
                        .map(|i| {
                            let (borrowed, gate, scoped_leaves) =
                                (&borrowed, &gate, &scoped_leaves);
                            s.spawn(move || {
                                // Busy until the close begins, then deep inside `join`.
                                while !gate.closing.load(Ordering::SeqCst) {
                                    thread::yield_now();
                                }
                                fn tree(depth: u32, leaves: &AtomicUsize) -> u64 {
                                    if depth == 0 {
                                        leaves.fetch_add(1, Ordering::SeqCst);
                                        return 1;
                                    }
                                    let (a, b) = weft::join(
                                        || tree(depth - 1, leaves),
                                        || tree(depth - 1, leaves),
                                    );
                                    a + b
                                }
                                tree(DEPTH, scoped_leaves) * borrowed[i]
                            })
                        })
                        .collect();
                    // The scope body, on `pool`'s only worker: parked here when the close
                    // begins.
                    gate.pass();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("a scoped job"))
                        .sum::<u64>()
                })
            })
        };
        gate.wait_parked(1);
        let drops = DropCounter::new();
        let queued = queue_jobs(&pool, &drops);
        gate.announce_close();
        pool.shutdown_now();
        assert_eq!(
            job.join().expect("the job inside the scope finished"),
            4 << DEPTH
        );
        assert_eq!(scoped_leaves.load(Ordering::SeqCst), 4 << DEPTH);
        queued.assert_all_cancelled(&drops, 121);
        // The other pool was not touched.
        assert_eq!(other.spawn(|| 5).join().unwrap(), 5);
    });
}

// ---------------------------------------------------------------------------------------
// Found while running the suite: `WorkerHandle::cancel` wakes the job before asking it to
// stop.

/// Regression, found by CI (a flaky `worker.rs::cancel_wakes_a_job_blocked_in_recv_with_an_error`):
/// `WorkerHandle::cancel` half-closed the port first, which wakes a job blocked in
/// `ctx.recv()`, and only then set the job's stop request (`JobHandle::cancel`), so the
/// woken job could read `weft::is_cancelled() == false`. The window is a few instructions on
/// the cancelling thread; busy threads make it likelier to be descheduled inside it.
#[test]
fn a_worker_job_woken_by_cancel_already_sees_is_cancelled() {
    with_timeout(|| {
        let pool = ThreadPool::new(1).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let noise: Vec<_> = (0..2)
            .map(|_| {
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        // Up to 20,000 rounds, but no more than 8 s of them: a loaded machine (the spinning
        // noise threads compete with everything else on it) must not turn this into a hang.
        let max_rounds = common::scaled(20_000);
        let time_limit = std::time::Instant::now() + std::time::Duration::from_secs(8);
        let mut rounds = 0;
        let mut missed = 0;
        while rounds < max_rounds && (rounds < 100 || std::time::Instant::now() < time_limit) {
            rounds += 1;
            let (blocked_tx, blocked_rx) = mpsc::channel::<()>();
            let worker = pool.spawn_worker(move |ctx: WorkerContext<(), ()>| {
                blocked_tx.send(()).unwrap();
                let end = ctx.recv();
                (end, weft::is_cancelled())
            });
            blocked_rx.recv().unwrap();
            assert!(!worker.cancel(), "running: asked to stop");
            let (end, saw_cancel) = worker.join().unwrap();
            assert_eq!(end, Err(RecvError));
            missed += usize::from(!saw_cancel);
        }
        stop.store(true, Ordering::Relaxed);
        for thread in noise {
            thread.join().unwrap();
        }
        assert_eq!(
            missed, 0,
            "{missed} of {rounds} jobs woken by cancel saw is_cancelled() == false"
        );
    });
}
