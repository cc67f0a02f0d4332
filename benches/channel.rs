//! weft's channels side by side with crossbeam-channel and the `oneshot` crate.
//!
//! `cargo bench --bench channel -- --warm-up-time 1 --measurement-time 3`
//!
//! - `oneshot_pipelined`: a helper thread sends on `n` one-value channels while this thread
//!   receives them in order (the cost of one send + recv across threads, streamed).
//! - `oneshot_request_reply`: this thread makes a channel, hands its sender to the helper
//!   thread (over one crossbeam channel shared by all contenders) and blocks in `recv` for
//!   the reply: a job result's round trip.
//! - `port_ping_pong`: a round trip over a `duplex()` pair versus two crossbeam channels.
//! - `port_same_thread`: send + `try_recv` on one thread, the uncontended fast path.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossbeam_channel as cb;

/// A helper thread that runs the closures it is given.
struct Helper {
    jobs: Option<cb::Sender<Box<dyn FnOnce() + Send>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Helper {
    fn new() -> Self {
        let (jobs, inbox) = cb::unbounded::<Box<dyn FnOnce() + Send>>();
        let thread = thread::spawn(move || {
            for job in inbox {
                job();
            }
        });
        Helper {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }

    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.jobs.as_ref().unwrap().send(Box::new(job)).unwrap();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        drop(self.jobs.take());
        self.thread.take().unwrap().join().unwrap();
    }
}

/// Times receiving `iters` values in order while the helper sends them.
fn pipelined<Tx: Send + 'static, Rx>(
    helper: &Helper,
    iters: u64,
    make: impl Fn() -> (Tx, Rx),
    send: fn(Tx, u64),
    recv: fn(Rx) -> u64,
) -> Duration {
    let (txs, rxs): (Vec<Tx>, Vec<Rx>) = (0..iters).map(|_| make()).unzip();
    let (done_tx, done_rx) = cb::bounded(1);
    let start = Instant::now();
    helper.run(move || {
        for (i, tx) in (0..).zip(txs) {
            send(tx, i);
        }
        done_tx.send(()).unwrap();
    });
    for (i, rx) in (0..).zip(rxs) {
        assert_eq!(recv(rx), i);
    }
    let elapsed = start.elapsed();
    done_rx.recv().unwrap();
    elapsed
}

fn oneshot_pipelined(c: &mut Criterion) {
    let helper = Helper::new();
    let mut group = c.benchmark_group("oneshot_pipelined");
    group.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            pipelined(
                &helper,
                iters,
                weft::channel::oneshot::<u64>,
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap(),
            )
        })
    });
    group.bench_function("crossbeam_bounded_1", |b| {
        b.iter_custom(|iters| {
            pipelined(
                &helper,
                iters,
                || cb::bounded::<u64>(1),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap(),
            )
        })
    });
    group.bench_function("oneshot_crate", |b| {
        b.iter_custom(|iters| {
            pipelined(
                &helper,
                iters,
                oneshot::channel::<u64>,
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap(),
            )
        })
    });
    group.finish();
}

/// A request to the helper: reply to it with a value.
type Request = Box<dyn FnOnce(u64) + Send>;

/// Times `iters` request/reply round trips: make a channel, hand the sender to the
/// helper, block until it replies.
fn request_reply<Tx: Send + 'static, Rx>(
    iters: u64,
    make: impl Fn() -> (Tx, Rx),
    send: fn(Tx, u64),
    recv: fn(Rx) -> u64,
) -> Duration {
    let (requests, inbox) = cb::unbounded::<Request>();
    let server = thread::spawn(move || {
        for (i, reply) in (0..).zip(inbox) {
            reply(i);
        }
    });
    let start = Instant::now();
    for i in 0..iters {
        let (tx, rx) = make();
        requests.send(Box::new(move |v| send(tx, v))).unwrap();
        assert_eq!(recv(rx), i);
    }
    let elapsed = start.elapsed();
    drop(requests);
    server.join().unwrap();
    elapsed
}

fn oneshot_request_reply(c: &mut Criterion) {
    let mut group = c.benchmark_group("oneshot_request_reply");
    group.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            request_reply(
                iters,
                weft::channel::oneshot::<u64>,
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap(),
            )
        })
    });
    group.bench_function("crossbeam_bounded_1", |b| {
        b.iter_custom(|iters| {
            request_reply(
                iters,
                || cb::bounded::<u64>(1),
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap(),
            )
        })
    });
    group.bench_function("oneshot_crate", |b| {
        b.iter_custom(|iters| {
            request_reply(
                iters,
                oneshot::channel::<u64>,
                |tx, v| tx.send(v).unwrap(),
                |rx| rx.recv().unwrap(),
            )
        })
    });
    group.finish();
}

fn port_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("port_ping_pong");
    group.bench_function("weft_duplex", |b| {
        b.iter_custom(|iters| {
            let (main, echo) = weft::channel::duplex::<u64, u64>();
            let server = thread::spawn(move || {
                for n in echo.iter() {
                    if echo.send(n + 1).is_err() {
                        break;
                    }
                }
            });
            let start = Instant::now();
            let mut n = 0;
            for _ in 0..iters {
                main.send(n).unwrap();
                n = main.recv().unwrap();
            }
            let elapsed = start.elapsed();
            assert_eq!(n, iters);
            drop(main);
            server.join().unwrap();
            elapsed
        })
    });
    group.bench_function("crossbeam_pair", |b| {
        b.iter_custom(|iters| {
            let (to_echo, echo_inbox) = cb::unbounded::<u64>();
            let (to_main, main_inbox) = cb::unbounded::<u64>();
            let server = thread::spawn(move || {
                for n in echo_inbox {
                    if to_main.send(n + 1).is_err() {
                        break;
                    }
                }
            });
            let start = Instant::now();
            let mut n = 0;
            for _ in 0..iters {
                to_echo.send(n).unwrap();
                n = main_inbox.recv().unwrap();
            }
            let elapsed = start.elapsed();
            assert_eq!(n, iters);
            drop(to_echo);
            server.join().unwrap();
            elapsed
        })
    });
    group.finish();
}

fn port_same_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("port_same_thread");
    let (a, b_port) = weft::channel::duplex::<u64, u64>();
    group.bench_function("weft_duplex", |b| {
        b.iter(|| {
            a.send(black_box(1)).unwrap();
            b_port.try_recv().unwrap()
        })
    });
    let (tx, rx) = cb::unbounded::<u64>();
    group.bench_function("crossbeam_unbounded", |b| {
        b.iter(|| {
            tx.send(black_box(1)).unwrap();
            rx.try_recv().unwrap()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    oneshot_pipelined,
    oneshot_request_reply,
    port_ping_pong,
    port_same_thread
);
criterion_main!(benches);
